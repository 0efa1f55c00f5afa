/* Gather packers and scatter stores for the implicit-GEMM convolutions
 * (see conv_gather.h). The column grid is walked in segments: runs of
 * consecutive jw inside one (n, jt, jh), read from one source row at a fixed
 * step, with only the ends of a run ever falling into the padding. */
#include "backend/cpu/conv_gather.h"

#ifndef VG_REAL_F64

#include <string.h>

#include "backend/cpu/gemm_engine.h"

static int cpu_has_avx2(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

void vg_gather_init_conv(struct vg_gather *g, const float *src, int64_t C, const int64_t sd[3], const int64_t vd[3],
                         const int k[3], const int s[3], const int p[3]) {
    g->src = src;
    g->C = C;
    g->avx2 = cpu_has_avx2();
    for (int a = 0; a < 3; a++) {
        /* kernel index m reads m - p .. s (vd - 1) - p + m: keep the m for
         * which that span meets [0, sd) */
        int lo = 0, hi = k[a];
        while (lo < hi && ((int64_t)s[a] * (vd[a] - 1) - p[a] + lo < 0)) lo++;
        while (hi > lo && ((int64_t)hi - 1 - p[a] >= sd[a])) hi--;
        g->sd[a] = sd[a];
        g->g[a] = vd[a];
        g->tap0[a] = lo;
        g->nt[a] = hi - lo;
        g->step[a] = s[a];
        for (int m = 0; m < hi - lo; m++) g->off[a][m] = (int64_t)(lo + m) - p[a];
    }
    g->sg = sd[0] * sd[1] * sd[2];
    g->gg = vd[0] * vd[1] * vd[2];
}

int vg_gather_init_phase(struct vg_gather *g, const float *src, int64_t C, const int64_t vd[3],
                         const int64_t ud[3], const int k[3], const int s[3], const int p[3], const int r[3],
                         int64_t u0[3]) {
    g->src = src;
    g->C = C;
    g->avx2 = cpu_has_avx2();
    for (int a = 0; a < 3; a++) {
        if (r[a] >= k[a]) return 0;
        u0[a] = (((int64_t)r[a] - p[a]) % s[a] + s[a]) % s[a];
        if (ud[a] <= u0[a]) return 0;
        g->sd[a] = vd[a];
        g->g[a] = (ud[a] - u0[a] + s[a] - 1) / s[a];
        g->nt[a] = (k[a] - r[a] + s[a] - 1) / s[a];
        g->step[a] = 1;
        g->tap0[a] = r[a];
        int64_t base = (u0[a] + p[a] - r[a]) / s[a]; /* exact: u0 + p == r (mod s) */
        for (int m = 0; m < g->nt[a]; m++) g->off[a][m] = base - m;
    }
    g->sg = vd[0] * vd[1] * vd[2];
    g->gg = g->g[0] * g->g[1] * g->g[2];
    return 1;
}

/* o[i * os] = row[w0 + i * st] for i < len, 0 where the index leaves [0, W) */
static inline void read_seg(float *o, int64_t os, const float *row, int64_t w0, int64_t st, int64_t len, int64_t W) {
    if (w0 >= 0 && w0 + (len - 1) * st < W) {
        if (os == 1 && st == 1) {
            memcpy(o, row + w0, sizeof(float) * (size_t)len);
        } else if (os == 1 && st == 2) {
            const float *x = row + w0;
            for (int64_t i = 0; i < len; i++) o[i] = x[2 * i];
        } else {
            const float *x = row + w0;
            for (int64_t i = 0; i < len; i++) o[i * os] = x[i * st];
        }
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        int64_t w = w0 + i * st;
        o[i * os] = (w >= 0 && w < W) ? row[w] : 0.0f;
    }
}

static inline void zero_seg(float *o, int64_t os, int64_t len) {
    for (int64_t i = 0; i < len; i++) o[i * os] = 0.0f;
}

struct seg {
    int64_t base; /* n * C * sg */
    int64_t jt, jh, jw;
    int64_t len, pos;
};

/* Splits grid columns [j, j + cnt) into runs along W; returns the count. */
static int64_t make_segs(const struct vg_gather *g, int64_t j, int64_t cnt, struct seg *s) {
    const int64_t g12 = g->g[1] * g->g[2];
    int64_t ns = 0, pos = 0;
    while (pos < cnt) {
        int64_t n = j / g->gg, rr = j - n * g->gg;
        int64_t jt = rr / g12;
        rr -= jt * g12;
        int64_t jh = rr / g->g[2], jw = rr - jh * g->g[2];
        int64_t len = g->g[2] - jw < cnt - pos ? g->g[2] - jw : cnt - pos;
        s[ns].base = n * g->C * g->sg;
        s[ns].jt = jt;
        s[ns].jh = jh;
        s[ns].jw = jw;
        s[ns].len = len;
        s[ns].pos = pos;
        ns++;
        pos += len;
        j += len;
    }
    return ns;
}

/* The packer body, instantiated twice: portable, and with AVX2 copies of the
 * in-range runs (the hot loop of every implicit-GEMM pass). */
#define PACK_B_BODY(READ)                                                                                        \
    const struct vg_gather *g = ctx;                                                                             \
    const int64_t nt12 = (int64_t)g->nt[1] * g->nt[2], ntt = g->nt[0] * nt12;                                    \
    struct seg segs[64];                                                                                         \
    for (int64_t q = 0; q < nc; q += nr) {                                                                       \
        int64_t cols = nc - q < nr ? nc - q : nr;                                                                \
        float *d = dst + q * kc;                                                                                 \
        int64_t ns = make_segs(g, j0 + q, cols, segs);                                                           \
        int64_t c = k0 / ntt, m = k0 % ntt;                                                                      \
        int64_t mt = m / nt12, mh = (m / g->nt[2]) % g->nt[1], mw = m % g->nt[2];                                \
        for (int64_t kk = 0; kk < kc; kk++) {                                                                    \
            float *o = d + kk * nr;                                                                              \
            const float *chan = g->src + c * g->sg;                                                              \
            for (int64_t si = 0; si < ns; si++) {                                                                \
                const struct seg *s = &segs[si];                                                                 \
                int64_t t = g->step[0] * s->jt + g->off[0][mt], h = g->step[1] * s->jh + g->off[1][mh];          \
                if (t < 0 || t >= g->sd[0] || h < 0 || h >= g->sd[1]) {                                          \
                    zero_seg(o + s->pos, 1, s->len);                                                             \
                } else {                                                                                         \
                    const float *row = chan + s->base + (t * g->sd[1] + h) * g->sd[2];                           \
                    READ(o + s->pos, row, g->step[2] * s->jw + g->off[2][mw], g->step[2], s->len, g->sd[2]);     \
                }                                                                                                \
            }                                                                                                    \
            for (int64_t j = cols; j < nr; j++) o[j] = 0.0f;                                                     \
            if (++mw == g->nt[2]) { /* next tap, then next channel */                                          \
                mw = 0;                                                                                          \
                if (++mh == g->nt[1]) {                                                                          \
                    mh = 0;                                                                                      \
                    if (++mt == g->nt[0]) {                                                                      \
                        mt = 0;                                                                                  \
                        c++;                                                                                     \
                    }                                                                                            \
                }                                                                                                \
            }                                                                                                    \
        }                                                                                                        \
    }

static inline void read_seg1(float *o, const float *row, int64_t w0, int64_t st, int64_t len, int64_t W) {
    read_seg(o, 1, row, w0, st, len, W);
}

static void pack_b_c(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr) {
    PACK_B_BODY(read_seg1)
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* read_seg for os == 1 with 8-wide copies of the part inside [0, W);
 * strides 1 and 2 vectorised (stride 2: even lanes of two loads). */
__attribute__((target("avx2"), always_inline)) static inline void read_seg_avx2(float *o, const float *row, int64_t w0, int64_t st,
                                                                  int64_t len, int64_t W) {
    if (st != 1 && st != 2) {
        read_seg(o, 1, row, w0, st, len, W);
        return;
    }
    /* i in [lo, hi) reads inside the row (st is 1 or 2: shifts, no division) */
    const int sh = st == 2;
    int64_t lo = 0, hi = len;
    if (w0 < 0) lo = (-w0 + st - 1) >> sh;
    if (w0 + (len - 1) * st >= W) hi = (W - w0 + st - 1) >> sh;
    if (lo > len) lo = len;
    if (hi < lo) hi = lo;
    for (int64_t i = 0; i < lo; i++) o[i] = 0.0f;
    for (int64_t i = hi; i < len; i++) o[i] = 0.0f;
    const float *x = row + w0;
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int64_t i = lo;
    if (st == 1) {
        for (; i + 8 <= hi; i += 8) _mm256_storeu_ps(o + i, _mm256_loadu_ps(x + i));
        if (i < hi) { /* masked lanes are neither read nor written */
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(hi - i)), iota);
            _mm256_maskstore_ps(o + i, m, _mm256_maskload_ps(x + i, m));
        }
        return;
    }
    /* stride 2: the two loads cover x[2i .. 2i+15]; read only below x[2 hi - 1] */
    for (; i < hi; i += 8) {
        int64_t rem = hi - i < 8 ? hi - i : 8;
        __m256 a, b;
        if (rem == 8 && w0 + 2 * i + 16 <= W) {
            a = _mm256_loadu_ps(x + 2 * i);
            b = _mm256_loadu_ps(x + 2 * i + 8);
        } else {
            __m256i n = _mm256_set1_epi32((int)(2 * rem - 1));
            a = _mm256_maskload_ps(x + 2 * i, _mm256_cmpgt_epi32(n, iota));
            b = _mm256_maskload_ps(x + 2 * i + 8, _mm256_cmpgt_epi32(n, _mm256_add_epi32(iota, _mm256_set1_epi32(8))));
        }
        __m256 e = _mm256_shuffle_ps(a, b, 0x88); /* a0 a2 b0 b2 | a4 a6 b4 b6 */
        e = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(e), 0xD8));
        if (rem == 8) {
            _mm256_storeu_ps(o + i, e);
        } else {
            _mm256_maskstore_ps(o + i, _mm256_cmpgt_epi32(_mm256_set1_epi32((int)rem), iota), e);
        }
    }
}

__attribute__((target("avx2"))) static void pack_b_avx2(const void *ctx, float *dst, int64_t k0, int64_t kc,
                                                         int64_t j0, int64_t nc, int nr) {
    PACK_B_BODY(read_seg_avx2)
}
#endif

void vg_gather_pack_b(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr) {
#if defined(__x86_64__) || defined(__i386__)
    if (((const struct vg_gather *)ctx)->avx2) {
        pack_b_avx2(ctx, dst, k0, kc, j0, nc, nr);
        return;
    }
#endif
    pack_b_c(ctx, dst, k0, kc, j0, nc, nr);
}

/* columns [q0, nc) of the transposed gather, one at a time */
static void pack_bt_cols(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr, int64_t q0) {
    const struct vg_gather *g = ctx;
    const int64_t nt12 = (int64_t)g->nt[1] * g->nt[2], ntt = g->nt[0] * nt12;
    struct seg segs[VG_GEMM_KC];
    int64_t ns = make_segs(g, k0, kc, segs);
    for (int64_t q = q0; q < nc; q++) {
        float *d = dst + (q / nr) * kc * nr + q % nr;
        int64_t c = (j0 + q) / ntt, m = (j0 + q) % ntt;
        int64_t mt = m / nt12, mh = (m / g->nt[2]) % g->nt[1], mw = m % g->nt[2];
        const float *chan = g->src + c * g->sg;
        for (int64_t si = 0; si < ns; si++) {
            const struct seg *s = &segs[si];
            int64_t t = g->step[0] * s->jt + g->off[0][mt], h = g->step[1] * s->jh + g->off[1][mh];
            if (t < 0 || t >= g->sd[0] || h < 0 || h >= g->sd[1]) {
                zero_seg(d + s->pos * nr, nr, s->len);
            } else {
                const float *row = chan + s->base + (t * g->sd[1] + h) * g->sd[2];
                read_seg(d + s->pos * nr, nr, row, g->step[2] * s->jw + g->off[2][mw], g->step[2], s->len, g->sd[2]);
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
/* Eight columns at a time: each column's run of rows is read (vectorised)
 * into tmp, then 8 x 8 blocks are transposed into the panel's lanes. */
__attribute__((target("avx2"))) static int64_t pack_bt_avx2(const void *ctx, float *dst, int64_t k0, int64_t kc,
                                                            int64_t j0, int64_t nc, int nr) {
    const struct vg_gather *g = ctx;
    const int64_t nt12 = (int64_t)g->nt[1] * g->nt[2], ntt = g->nt[0] * nt12;
    struct seg segs[VG_GEMM_KC];
    static _Thread_local float tmp[8][VG_GEMM_KC + 8] __attribute__((aligned(32)));
    int64_t ns = make_segs(g, k0, kc, segs);
    int64_t q = 0;
    if (nr % 8 != 0) return 0;
    for (; q + 8 <= nc; q += 8) {
        float *d = dst + (q / nr) * kc * nr + q % nr;
        const float *chan[8];
        int64_t mt[8], mh[8], mw[8];
        for (int l = 0; l < 8; l++) {
            int64_t cc = (j0 + q + l) / ntt, m = (j0 + q + l) % ntt;
            mt[l] = m / nt12, mh[l] = (m / g->nt[2]) % g->nt[1], mw[l] = m % g->nt[2];
            chan[l] = g->src + cc * g->sg;
        }
        for (int64_t si = 0; si < ns; si++) {
            const struct seg *s = &segs[si];
            for (int l = 0; l < 8; l++) {
                int64_t t = g->step[0] * s->jt + g->off[0][mt[l]], h = g->step[1] * s->jh + g->off[1][mh[l]];
                if (t < 0 || t >= g->sd[0] || h < 0 || h >= g->sd[1]) {
                    zero_seg(tmp[l], 1, s->len);
                } else {
                    const float *row = chan[l] + s->base + (t * g->sd[1] + h) * g->sd[2];
                    read_seg_avx2(tmp[l], row, g->step[2] * s->jw + g->off[2][mw[l]], g->step[2], s->len, g->sd[2]);
                }
            }
            for (int64_t r = 0; r < s->len; r += 8) {
                __m256 r0 = _mm256_loadu_ps(tmp[0] + r), r1 = _mm256_loadu_ps(tmp[1] + r);
                __m256 r2 = _mm256_loadu_ps(tmp[2] + r), r3 = _mm256_loadu_ps(tmp[3] + r);
                __m256 r4 = _mm256_loadu_ps(tmp[4] + r), r5 = _mm256_loadu_ps(tmp[5] + r);
                __m256 r6 = _mm256_loadu_ps(tmp[6] + r), r7 = _mm256_loadu_ps(tmp[7] + r);
                __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
                __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
                __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
                __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
                __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
                __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
                __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
                __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
                __m256 o[8];
                o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
                o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
                o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
                o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
                o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
                o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
                o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
                o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
                int64_t rows = s->len - r < 8 ? s->len - r : 8;
                float *out = d + (s->pos + r) * nr;
                for (int64_t i = 0; i < rows; i++) _mm256_storeu_ps(out + i * nr, o[i]);
            }
        }
    }
    return q;
}
#endif

void vg_gather_pack_bt(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr) {
    int64_t done = 0;
#if defined(__x86_64__) || defined(__i386__)
    if (((const struct vg_gather *)ctx)->avx2) done = pack_bt_avx2(ctx, dst, k0, kc, j0, nc, nr);
#endif
    pack_bt_cols(ctx, dst, k0, kc, j0, nc, nr, done);
    /* zero lanes past nc in the last panel */
    int64_t last = (nc - 1) / nr, used = nc - last * nr;
    float *d = dst + last * kc * nr;
    for (int64_t kk = 0; kk < kc; kk++)
        for (int64_t l = used; l < nr; l++) d[kk * nr + l] = 0.0f;
}

void vg_store_add_fn(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0, int64_t nc) {
    const struct vg_store_add *s = ctx;
    const int64_t *coff = s->coff + j0;
    for (int64_t i = 0; i < mc; i++) {
        float *row = s->base + (i0 + i) * s->rs;
        const float *w = blk + i * ld;
        for (int64_t j = 0; j < nc; j++) row[coff[j]] += w[j];
    }
}

/* row[b + q*st] += x[q] for the q in [0, len) that land inside [0, W) */
static inline void add_run(float *row, int64_t b, int64_t st, const float *x, int64_t len, int64_t W) {
    for (int64_t q = 0; q < len; q++) {
        int64_t u = b + q * st;
        if (u >= 0 && u < W) row[u] += x[q];
    }
}

#if defined(__x86_64__) || defined(__i386__)
/* add_run with 8-wide adds for strides 1 and 2 (stride 2: x spread over
 * the even lanes and blended, so the odd elements keep their exact bits) */
__attribute__((target("avx2"), always_inline)) static inline void add_run_avx2(float *row, int64_t b, int64_t st,
                                                                              const float *x, int64_t len, int64_t W) {
    if (st != 1 && st != 2) {
        add_run(row, b, st, x, len, W);
        return;
    }
    const int sh = st == 2;
    int64_t lo = 0, hi = len;
    if (b < 0) lo = (-b + st - 1) >> sh;
    if (b + (len - 1) * st >= W) hi = (W - b + st - 1) >> sh;
    if (lo > len) lo = len;
    if (hi < lo) hi = lo;
    float *r = row + b;
    int64_t q = lo;
    if (st == 1) {
        for (; q + 8 <= hi; q += 8) _mm256_storeu_ps(r + q, _mm256_add_ps(_mm256_loadu_ps(r + q), _mm256_loadu_ps(x + q)));
    } else {
        const __m256 z = _mm256_setzero_ps();
        for (; q + 8 <= hi && b + 2 * q + 16 <= W; q += 8) {
            __m256 xv = _mm256_loadu_ps(x + q);
            __m256 xl = _mm256_unpacklo_ps(xv, z), xh = _mm256_unpackhi_ps(xv, z);
            __m256 a0 = _mm256_permute2f128_ps(xl, xh, 0x20), a1 = _mm256_permute2f128_ps(xl, xh, 0x31);
            __m256 r0 = _mm256_loadu_ps(r + 2 * q), r1 = _mm256_loadu_ps(r + 2 * q + 8);
            _mm256_storeu_ps(r + 2 * q, _mm256_blend_ps(r0, _mm256_add_ps(r0, a0), 0x55));
            _mm256_storeu_ps(r + 2 * q + 8, _mm256_blend_ps(r1, _mm256_add_ps(r1, a1), 0x55));
        }
    }
    for (; q < hi; q++) r[q * st] += x[q];
}
#endif

#define COL2IM_BODY(ADD)                                                                                       \
    const struct vg_store_col2im *s = ctx;                                                                     \
    const int64_t Kv = (int64_t)s->k[0] * s->k[1] * s->k[2];                                                   \
    const int64_t Ug = s->ud[0] * s->ud[1] * s->ud[2], Vg = s->vd[0] * s->vd[1] * s->vd[2];                    \
    const int64_t v12 = s->vd[1] * s->vd[2];                                                                   \
    for (int64_t i = 0; i < mc; i++) {                                                                         \
        int64_t r = i0 + i, cu = r / Kv, kr = r % Kv;                                                          \
        int64_t kt = kr / ((int64_t)s->k[1] * s->k[2]), kh = (kr / s->k[2]) % s->k[1], kw = kr % s->k[2];      \
        const float *w = blk + i * ld;                                                                         \
        int64_t j = j0;                                                                                        \
        while (j < j0 + nc) {                                                                                  \
            int64_t n = j / Vg, v = j - n * Vg;                                                                \
            int64_t vt = v / v12, vh = (v / s->vd[2]) % s->vd[1], vw = v % s->vd[2];                           \
            int64_t len = s->vd[2] - vw < j0 + nc - j ? s->vd[2] - vw : j0 + nc - j;                           \
            int64_t ut = vt * s->s[0] - s->p[0] + kt, uh = vh * s->s[1] - s->p[1] + kh;                        \
            if (ut >= 0 && ut < s->ud[0] && uh >= 0 && uh < s->ud[1]) {                                        \
                float *row = s->U + (n * s->Cu + cu) * Ug + (ut * s->ud[1] + uh) * s->ud[2];                   \
                ADD(row, vw * s->s[2] - s->p[2] + kw, s->s[2], w + (j - j0), len, s->ud[2]);                   \
            }                                                                                                  \
            j += len;                                                                                          \
        }                                                                                                      \
    }

static void col2im_c(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0, int64_t nc) {
    COL2IM_BODY(add_run)
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2"))) static void col2im_avx2(const void *ctx, const float *blk, int64_t ld, int64_t i0,
                                                         int64_t mc, int64_t j0, int64_t nc) {
    COL2IM_BODY(add_run_avx2)
}
#endif

void vg_store_col2im_fn(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0,
                        int64_t nc) {
#if defined(__x86_64__) || defined(__i386__)
    if (((const struct vg_store_col2im *)ctx)->avx2) {
        col2im_avx2(ctx, blk, ld, i0, mc, j0, nc);
        return;
    }
#endif
    col2im_c(ctx, blk, ld, i0, mc, j0, nc);
}

int vg_gather_cpu_avx2(void) { return cpu_has_avx2(); }

#endif
