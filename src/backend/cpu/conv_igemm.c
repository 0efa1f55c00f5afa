/* Indirect-GEMM convolution passes (see conv_igemm.h).
 *
 * Layout. The operand a pass reads through taps ("the source": U for fwd and
 * wgrad, V for adj) is copied to P (N, T', H', W', C) channels-last with
 * zero borders wide enough that no tap ever leaves it, so a kernel row
 * (fixed t and h taps, all W taps) is ONE contiguous run of nt_W * C floats.
 *
 * fwd / adj: output tile = MR output positions x NR output channels, the K
 * loop runs over tap rows x (W taps, channels) reading the MR positions
 * through row pointers. The weights are packed once per call as
 * (NR-column block, tap row, W tap, channel, NR). adj is split into the
 * stride's sub-pixel phases: along an axis, u with (u + p) mod s == r takes
 * the taps k = r + j s from v = (u + p - r) / s - j, a dense conv with
 * ceil((k - r) / s) taps whose outputs land on a stride-s grid of U; each U
 * position belongs to exactly one phase (no scatter, no wasted taps).
 * With few output channels (Cu <= VG_CONV_IGEMM_NARROW_CU) adj instead
 * vectorises over the reduction (adj_narrow): 4 positions x 3 channels of
 * 8-float accumulators, summed horizontally at the end.
 *
 * fwd writes each block of tiles to a per-thread buffer and transposes it
 * into NCDHW right away (no full-size channels-last result); adj, whose
 * phases land on strided grids, goes through a full channels-last result.
 *
 * Taps that read only padding for every output are left out (a tap row
 * count or W tap count below the kernel's), as the gathers of conv_gather.c
 * do.
 *
 * wgrad: D[tap row][Cv][W tap, Cu] += sum over positions of
 * V_cl(position) (x) P-row(position): MR channels of channels-last V
 * (broadcast) times NR consecutive (W tap, cu) of the position's source row
 * (two loads), summed over blocks of PB positions, then added into Wc's
 * layout. Threads own disjoint tiles of D and all sum over the positions in
 * the same order: no cross-thread reduction. (conv.c does not pick this
 * pass by default: it measured no faster than the packed GEMM.) */
#include "backend/cpu/conv_igemm.h"

#ifndef VG_REAL_F64

#include <string.h>

#include "backend/cpu/gemm_engine.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IG_X86 1
#endif

#define MR 6        /* output positions (fwd/adj) or V channels (wgrad) per tile */
#define NR 16       /* output channels (fwd/adj) or (W tap, cu) (wgrad) per tile: two ymm */
#define KCT 256     /* target K (floats of a source row run) per block */
#define MB_FWD 32   /* tiles per block sharing a packed-weight panel (measured) */
#define MB_ADJ 16
#define MB MB_FWD   /* the most of either */
#define PB 48       /* positions per wgrad block (measured 32..256: best) */
#define MAX_PARTS 64

/* scratch slots (engine work uses 0..63, conv.c 64..66) */
#define SLOT_SRC 67
#define SLOT_OUT 68
#define SLOT_WPK 69
#define SLOT_VCL 70
#define SLOT_THR 72 /* one per part, up to SLOT_THR + MAX_PARTS - 1 */

static int g_force = -1;

void vg_conv_igemm_force(int mode) { g_force = mode; }

#ifdef IG_X86

int vg_conv_igemm_mode(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma") || g_force == 0) return 0;
    if (g_force == 1) return 2;
    /* the same per-pass choice on AVX-512 machines: on a 2-core AMD EPYC
     * with AVX-512 (2026-12-07, 1 thread, CPU time) these AVX2 kernels ran
     * the passes use_igemm() picks 1.1-1.8x faster than the packed GEMM
     * with the engine's AVX-512 micro-kernel, and the others no faster */
    return 1;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- transposes ------------------------------------------------------------ */

/* 8 x 8 block: d[j * ldd + i] = s[i * lds + j] */
__attribute__((target("avx2"), always_inline)) static inline void tr8_load(const float *s, int64_t lds, __m256 o[8]) {
    __m256 r0 = _mm256_loadu_ps(s), r1 = _mm256_loadu_ps(s + lds), r2 = _mm256_loadu_ps(s + 2 * lds);
    __m256 r3 = _mm256_loadu_ps(s + 3 * lds), r4 = _mm256_loadu_ps(s + 4 * lds), r5 = _mm256_loadu_ps(s + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(s + 6 * lds), r7 = _mm256_loadu_ps(s + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    o[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    o[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    o[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    o[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    o[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    o[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    o[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    o[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

/* d[w * ldd + c] = s[c * lds + w] for c < C, w < W */
__attribute__((target("avx2"))) static void tr_to_cl(float *d, int64_t ldd, const float *s, int64_t lds, int64_t C,
                                                      int64_t W) {
    int64_t c = 0;
    for (; c + 8 <= C; c += 8) {
        int64_t w = 0;
        for (; w + 8 <= W; w += 8) {
            __m256 o[8];
            tr8_load(s + c * lds + w, lds, o);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(d + (w + j) * ldd + c, o[j]);
        }
        for (; w < W; w++)
            for (int i = 0; i < 8; i++) d[w * ldd + c + i] = s[(c + i) * lds + w];
    }
    for (; c < C; c++)
        for (int64_t w = 0; w < W; w++) d[w * ldd + c] = s[c * lds + w];
}

/* P (N, pd, ldc) = S (N, C, sd) channels-last, placed at lo inside the
 * padded grid pd; zero everywhere else (borders and channels C .. ldc). */
struct cl_copy {
    float *P;
    const float *S;
    int64_t N, C, ldc;
    int64_t sd[3], lo[3], pd[3];
};

__attribute__((target("avx2"))) static void cl_copy_row(const struct cl_copy *k, int64_t row) {
    const int64_t n = row / (k->pd[0] * k->pd[1]), th = row % (k->pd[0] * k->pd[1]);
    const int64_t t = th / k->pd[1] - k->lo[0], h = th % k->pd[1] - k->lo[1];
    float *d = k->P + row * k->pd[2] * k->ldc;
    if (t < 0 || t >= k->sd[0] || h < 0 || h >= k->sd[1]) {
        memset(d, 0, sizeof(float) * (size_t)(k->pd[2] * k->ldc));
        return;
    }
    const int64_t W = k->sd[2], pre = k->lo[2], post = k->pd[2] - pre - W;
    memset(d, 0, sizeof(float) * (size_t)(pre * k->ldc));
    memset(d + (pre + W) * k->ldc, 0, sizeof(float) * (size_t)(post * k->ldc));
    const int64_t sg = k->sd[0] * k->sd[1] * k->sd[2];
    const float *s = k->S + n * k->C * sg + (t * k->sd[1] + h) * W;
    float *di = d + pre * k->ldc;
    tr_to_cl(di, k->ldc, s, sg, k->C, W);
    if (k->ldc > k->C)
        for (int64_t w = 0; w < W; w++) memset(di + w * k->ldc + k->C, 0, sizeof(float) * (size_t)(k->ldc - k->C));
}

/* D[n, c, s] = (overwrite ? bias[c] or 0 : D[n, c, s]) + O[(n S + s) ldo + c] */
struct cl_back {
    float *D;
    const float *O;
    const float *bias;
    int64_t N, C, S, ldo;
    int overwrite;
};

/* Positions s0 .. s1 of sample n, channels c0 .. c0+cn (cn <= 8), from O
 * rows o (row q: position s0 + q). */
__attribute__((target("avx2"))) static void cl_back_rows(const struct cl_back *k, const float *o, int64_t n, int64_t c0,
                                                          int64_t cn, int64_t s0, int64_t s1) {
    float *d = k->D + (n * k->C + c0) * k->S;
    int64_t s = s0;
    if (cn == 8) {
        for (; s + 8 <= s1; s += 8) {
            __m256 v[8];
            tr8_load(o + (s - s0) * k->ldo, k->ldo, v);
            for (int j = 0; j < 8; j++) {
                float *dr = d + j * k->S + s;
                __m256 base = k->overwrite ? _mm256_set1_ps(k->bias ? k->bias[c0 + j] : 0.0f) : _mm256_loadu_ps(dr);
                _mm256_storeu_ps(dr, _mm256_add_ps(base, v[j]));
            }
        }
    }
    for (int64_t j = 0; j < cn; j++) {
        float b = k->bias ? k->bias[c0 + j] : 0.0f;
        float *dr = d + j * k->S;
        for (int64_t q = s; q < s1; q++) dr[q] = (k->overwrite ? b : dr[q]) + o[(q - s0) * k->ldo + j];
    }
}

static void cl_back_item(const struct cl_back *k, int64_t item) {
    const int64_t ncb = cdiv(k->C, 8), n = item / ncb, c0 = (item % ncb) * 8;
    cl_back_rows(k, k->O + n * k->S * k->ldo + c0, n, c0, min64(8, k->C - c0), 0, k->S);
}

/* Positions p0 .. p1 of (N S) from O rows o (row q: position p0 + q), all channels. */
static void cl_back_range(const struct cl_back *k, const float *o, int64_t p0, int64_t p1) {
    while (p0 < p1) {
        const int64_t n = p0 / k->S, s0 = p0 % k->S, s1 = min64(k->S, s0 + p1 - p0);
        for (int64_t c0 = 0; c0 < k->C; c0 += 8) cl_back_rows(k, o + c0, n, c0, min64(8, k->C - c0), s0, s1);
        o += (s1 - s0) * k->ldo;
        p0 += s1 - s0;
    }
}

/* ---- micro-kernels --------------------------------------------------------- */

/* c[i][jc .. jc+16) (=, or += when acc) sum over rows r < nrows, k < len of
 * ap[r*MR + i][aoff + k] * b[r * bstride + k * NR + j] */
__attribute__((target("avx2,fma"))) static void ukr_ig(int64_t nrows, int64_t len, const float *const *ap,
                                                        int64_t aoff, const float *b, int64_t bstride,
                                                        float *const *cp, int64_t jc, int acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t r = 0; r < nrows; r++) {
        const float *a0 = ap[r * MR + 0] + aoff, *a1 = ap[r * MR + 1] + aoff, *a2 = ap[r * MR + 2] + aoff;
        const float *a3 = ap[r * MR + 3] + aoff, *a4 = ap[r * MR + 4] + aoff, *a5 = ap[r * MR + 5] + aoff;
        const float *bb = b + r * bstride;
#pragma GCC unroll 4
        for (int64_t k = 0; k < len; k++) {
            __m256 b0 = _mm256_loadu_ps(bb + NR * k), b1 = _mm256_loadu_ps(bb + NR * k + 8), x;
            x = _mm256_broadcast_ss(a0 + k); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
            x = _mm256_broadcast_ss(a1 + k); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
            x = _mm256_broadcast_ss(a2 + k); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
            x = _mm256_broadcast_ss(a3 + k); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
            x = _mm256_broadcast_ss(a4 + k); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
            x = _mm256_broadcast_ss(a5 + k); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
        }
    }
#define ST2(i, v0, v1)                                                   \
    do {                                                                 \
        float *cr = cp[i] + jc;                                          \
        if (acc) {                                                       \
            v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);                 \
            v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);             \
        }                                                                \
        _mm256_storeu_ps(cr, v0);                                        \
        _mm256_storeu_ps(cr + 8, v1);                                    \
    } while (0)
    ST2(0, c00, c01); ST2(1, c10, c11); ST2(2, c20, c21);
    ST2(3, c30, c31); ST2(4, c40, c41); ST2(5, c50, c51);
#undef ST2
}

/* c[i * ldc + j] (=, or += when acc) sum over q < np of a[q * lda + i] * bp[q][l0 + j] */
__attribute__((target("avx2,fma"))) static void ukr_wg(int64_t np, const float *a, int64_t lda,
                                                        const float *const *bp, int64_t l0, float *c, int64_t ldc,
                                                        int acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#pragma GCC unroll 4
    for (int64_t q = 0; q < np; q++) {
        const float *aa = a + q * lda, *bb = bp[q] + l0;
        __m256 b0 = _mm256_loadu_ps(bb), b1 = _mm256_loadu_ps(bb + 8), x;
        x = _mm256_broadcast_ss(aa + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
        x = _mm256_broadcast_ss(aa + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
        x = _mm256_broadcast_ss(aa + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
        x = _mm256_broadcast_ss(aa + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
        x = _mm256_broadcast_ss(aa + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
        x = _mm256_broadcast_ss(aa + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
    }
#define ST2(i, v0, v1)                                                   \
    do {                                                                 \
        float *cr = c + (i) * ldc;                                       \
        if (acc) {                                                       \
            v0 = _mm256_add_ps(_mm256_loadu_ps(cr), v0);                 \
            v1 = _mm256_add_ps(_mm256_loadu_ps(cr + 8), v1);             \
        }                                                                \
        _mm256_storeu_ps(cr, v0);                                        \
        _mm256_storeu_ps(cr + 8, v1);                                    \
    } while (0)
    ST2(0, c00, c01); ST2(1, c10, c11); ST2(2, c20, c21);
    ST2(3, c30, c31); ST2(4, c40, c41); ST2(5, c50, c51);
#undef ST2
}

/* ---- fwd / adj driver ------------------------------------------------------ */

/* One dense conv over the padded channels-last source P: output grid point
 * g of sample n reads rows starting at P[n, base + g * step] (padded
 * coordinates), tap rows (rt, rh) < (nt0, nt1), each L = nt_W * C floats,
 * and lands on output row n * Og + ((o0 + g * ostep) in od) of O. */
struct ig_task {
    const float *P;
    int64_t pd[3], C;
    int64_t N, g[3], G;
    int64_t step[3], base[3];
    int64_t nt0, nt1, L;
    float *O;
    int64_t ldo, od[3], o0[3], ostep[3], Og;
    const float *B; /* (nb, nt0 nt1, L, NR) */
    int64_t nb, ntiles;
    int64_t mb; /* tiles per block, <= MB */
    const struct cl_back *back; /* non-NULL (fwd): O is unused, each block of
                                 * tiles goes to a per-thread buffer and from
                                 * there straight into back->D */
};

static size_t thr_floats(int64_t rows, int64_t ldo) {
    return (size_t)(MB * rows * MR + MB * MR) * (sizeof(void *) / sizeof(float)) + (size_t)ldo + 16 +
           (size_t)(MB * MR * ldo);
}

static void ig_run(const struct ig_task *t, int64_t t0, int64_t t1, float *thr) {
    const int64_t rows = t->nt0 * t->nt1, L = t->L, NG = t->N * t->G, g12 = t->g[1] * t->g[2];
    const float **ptr = (const float **)(void *)thr;
    float **crow = (float **)(ptr + MB * rows * MR);
    float *dummy = (float *)(void *)(crow + MB * MR);
    float *oblk = dummy + t->ldo + 16; /* (MB MR, ldo) when t->back */
    const int64_t rb = L <= KCT ? max64(1, KCT / L) : 1;
    for (int64_t tb = t0; tb < t1; tb += t->mb) {
        const int64_t ntl = min64(t->mb, t1 - tb);
        for (int64_t ti = 0; ti < ntl; ti++)
            for (int i = 0; i < MR; i++) {
                int64_t pos = (tb + ti) * MR + i;
                const int valid = pos < NG;
                if (!valid) pos = (tb + ti) * MR; /* a real position: reads stay in P */
                const int64_t n = pos / t->G, r = pos % t->G;
                const int64_t g0 = r / g12, g1 = (r / t->g[2]) % t->g[1], g2 = r % t->g[2];
                const int64_t s0 = t->base[0] + g0 * t->step[0], s1 = t->base[1] + g1 * t->step[1];
                const int64_t s2 = t->base[2] + g2 * t->step[2];
                for (int64_t rt = 0; rt < t->nt0; rt++)
                    for (int64_t rh = 0; rh < t->nt1; rh++)
                        ptr[(ti * rows + rt * t->nt1 + rh) * MR + i] =
                            t->P + (((n * t->pd[0] + s0 + rt) * t->pd[1] + s1 + rh) * t->pd[2] + s2) * t->C;
                crow[ti * MR + i] =
                    t->back ? oblk + (ti * MR + i) * t->ldo :
                    valid ? t->O + (n * t->Og + ((t->o0[0] + g0 * t->ostep[0]) * t->od[1] + t->o0[1] +
                                                 g1 * t->ostep[1]) * t->od[2] + t->o0[2] + g2 * t->ostep[2]) * t->ldo
                          : dummy;
            }
        if (L <= KCT) {
            for (int64_t r0 = 0; r0 < rows; r0 += rb) {
                const int64_t nrw = min64(rb, rows - r0);
                for (int64_t jb = 0; jb < t->nb; jb++) {
                    const float *bj = t->B + (jb * rows + r0) * L * NR;
                    for (int64_t ti = 0; ti < ntl; ti++)
                        ukr_ig(nrw, L, ptr + (ti * rows + r0) * MR, 0, bj, L * NR, crow + ti * MR, jb * NR, r0 > 0);
                }
            }
        } else {
            for (int64_t r = 0; r < rows; r++)
                for (int64_t off = 0; off < L; off += KCT) {
                    const int64_t len = min64(KCT, L - off);
                    for (int64_t jb = 0; jb < t->nb; jb++) {
                        const float *bj = t->B + ((jb * rows + r) * L + off) * NR;
                        for (int64_t ti = 0; ti < ntl; ti++)
                            ukr_ig(1, len, ptr + (ti * rows + r) * MR, off, bj, 0, crow + ti * MR, jb * NR,
                                   r > 0 || off > 0);
                    }
                }
        }
        if (t->back) cl_back_range(t->back, oblk, tb * MR, min64(NG, (tb + ntl) * MR));
    }
}

static void split(int64_t n, int64_t parts, int64_t p, int64_t *b, int64_t *e) {
    *b = n * p / parts;
    *e = n * (p + 1) / parts;
}

static int reserve_thr(float **thr, int parts, int64_t rows, int64_t ldo) {
    for (int p = 0; p < parts; p++) {
        thr[p] = vg_gemm_scratch(SLOT_THR + p, thr_floats(rows, ldo));
        if (!thr[p]) return 0;
    }
    return 1;
}

static int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

/* Taps of conv(U -> V) that read U somewhere: kernel index m0 + m, m < nt
 * per axis (the others read only padding, for every output: left out, as
 * the gather of conv_gather.c does); 0 if some axis keeps none. Also the
 * zero-padded copy of U they need: origin lo, dims pd. */
static int fwd_taps(const struct vg_conv_canon *c, int64_t m0[3], int64_t nt[3], int64_t lo[3], int64_t pd[3]) {
    int ok = 1;
    for (int a = 0; a < 3; a++) {
        m0[a] = max64(0, c->p[a] - (c->vd[a] - 1) * c->s[a]);
        nt[a] = min64(c->k[a], c->ud[a] + c->p[a]) - m0[a];
        if (nt[a] <= 0) ok = 0;
        lo[a] = c->p[a];
        int64_t hi = max64(0, (c->vd[a] - 1) * c->s[a] - c->p[a] + c->k[a] - c->ud[a]);
        pd[a] = c->ud[a] + lo[a] + hi;
    }
    return ok;
}

static int igemm_fwd(float *V, const float *U, const float *Wc, const float *bias, int overwrite,
                     const struct vg_conv_canon *c, int parts) {
    if (parts < 1) parts = 1;
    if (parts > MAX_PARTS) parts = MAX_PARTS;
    const int64_t NV = c->N * c->Vg;
    if (c->Cv == 0 || NV == 0) return 1;
    int64_t m0[3], nt[3], lo[3], pd[3];
    if (!fwd_taps(c, m0, nt, lo, pd)) return 0;
    const int64_t nb = cdiv(c->Cv, NR), ldo = nb * NR, rows = nt[0] * nt[1], L = nt[2] * c->Cu;
    float *P = vg_gemm_scratch(SLOT_SRC, (size_t)(c->N * prod3(pd) * c->Cu + 16));
    float *B = vg_gemm_scratch(SLOT_WPK, (size_t)(nb * rows * L * NR + 1));
    float *thr[MAX_PARTS];
    if (!P || !B || !reserve_thr(thr, parts, rows, ldo)) return 0;
    memset(P + c->N * prod3(pd) * c->Cu, 0, 16 * sizeof(float));
    struct cl_copy cp = {P, U, c->N, c->Cu, c->Cu, {c->ud[0], c->ud[1], c->ud[2]}, {lo[0], lo[1], lo[2]},
                         {pd[0], pd[1], pd[2]}};
    struct cl_back bk = {V, NULL, bias, c->N, c->Cv, c->Vg, ldo, overwrite};
    /* padded coordinates: v s - p + (m0 + m) + lo = v s + m0 + m */
    struct ig_task t = {P, {pd[0], pd[1], pd[2]}, c->Cu, c->N, {c->vd[0], c->vd[1], c->vd[2]}, c->Vg,
                        {c->s[0], c->s[1], c->s[2]}, {m0[0], m0[1], m0[2]}, nt[0], nt[1], L, NULL, ldo,
                        {c->vd[0], c->vd[1], c->vd[2]}, {0, 0, 0}, {1, 1, 1}, c->Vg, B, nb, cdiv(NV, MR), MB_FWD,
                        &bk};
    const int64_t Kv = c->Kv, Cu = c->Cu, Cv = c->Cv, k1 = c->k[1], k2 = c->k[2];
    const int64_t crows = c->N * pd[0] * pd[1];
#pragma omp parallel num_threads(parts) if (parts > 1)
    {
#pragma omp for schedule(static)
        for (int64_t r = 0; r < crows; r++) cl_copy_row(&cp, r);
#pragma omp for schedule(static) nowait
        for (int64_t jr = 0; jr < nb * rows; jr++) { /* B[jb][mt mh][mw cu][j] = Wc[cv, cu, m0 + m] */
            const int64_t jb = jr / rows, r = jr % rows;
            const int64_t tap = ((m0[0] + r / nt[1]) * k1 + m0[1] + r % nt[1]) * k2 + m0[2];
            float *b = B + jr * L * NR;
            for (int64_t mw = 0; mw < nt[2]; mw++)
                for (int64_t cu = 0; cu < Cu; cu++)
                    for (int64_t j = 0; j < NR; j++) {
                        const int64_t cv = jb * NR + j;
                        b[(mw * Cu + cu) * NR + j] = cv < Cv ? Wc[(cv * Cu + cu) * Kv + tap + mw] : 0.0f;
                    }
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int p = 0; p < parts; p++) {
            int64_t b, e;
            split(t.ntiles, parts, p, &b, &e);
            ig_run(&t, b, e, thr[p]);
        }
    }
    return 1;
}

/* ---- adj with few output channels ------------------------------------------ */

/* With Cu <= NARROW_CU the 16-channel tile above would leave most of its
 * registers empty (Cu = 3: 13 of 16 lanes). Here the vector axis is the
 * reduction instead: a tile is NW_POS output positions x up to 3 output
 * channels, one ymm accumulator each, over 8-float chunks of the source rows
 * (channels padded to a multiple of 8 with zeros, in the source and in the
 * weights), reduced horizontally at the end. Each output is summed by one
 * thread in an order fixed by the shape; results go straight into U (NCDHW). */
#define NW_POS 4
#define NW_CHUNK 64 /* tiles of a phase per chunk (see adj_narrow) */

/* out[i][j] = sum over tap rows (rt, rh) < (nt0, nt1) and k < L of
 * a[i][rt * rs0 + rh * rs1 + k] * b[j * bs + (rt nt1 + rh) * L + k], j < jc */
__attribute__((target("avx2,fma"), always_inline)) static inline void nw_tile(
    const int jc, const float *const *a, int64_t nt0, int64_t nt1, int64_t rs0, int64_t rs1, int64_t L,
    const float *b, int64_t bs, float out[NW_POS][4]) {
    const __m256 z = _mm256_setzero_ps();
    __m256 c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z, c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;
    for (int64_t rt = 0; rt < nt0; rt++)
        for (int64_t rh = 0; rh < nt1; rh++) {
            const int64_t off = rt * rs0 + rh * rs1;
            const float *b0 = b + (rt * nt1 + rh) * L, *b1 = b0 + bs, *b2 = b1 + bs;
            const float *a0 = a[0] + off, *a1 = a[1] + off, *a2 = a[2] + off, *a3 = a[3] + off;
            for (int64_t k = 0; k < L; k += 8) {
                const __m256 w0 = _mm256_loadu_ps(b0 + k);
                const __m256 w1 = jc > 1 ? _mm256_loadu_ps(b1 + k) : z, w2 = jc > 2 ? _mm256_loadu_ps(b2 + k) : z;
#define NW_ROW(x, c0, c1, c2)                                                 \
    do {                                                                      \
        c0 = _mm256_fmadd_ps(x, w0, c0);                                      \
        if (jc > 1) c1 = _mm256_fmadd_ps(x, w1, c1);                          \
        if (jc > 2) c2 = _mm256_fmadd_ps(x, w2, c2);                          \
    } while (0)
                __m256 x = _mm256_loadu_ps(a0 + k);
                NW_ROW(x, c00, c01, c02);
                x = _mm256_loadu_ps(a1 + k);
                NW_ROW(x, c10, c11, c12);
                x = _mm256_loadu_ps(a2 + k);
                NW_ROW(x, c20, c21, c22);
                x = _mm256_loadu_ps(a3 + k);
                NW_ROW(x, c30, c31, c32);
#undef NW_ROW
            }
        }
    const __m256 acc[NW_POS][3] = {{c00, c01, c02}, {c10, c11, c12}, {c20, c21, c22}, {c30, c31, c32}};
    for (int i = 0; i < NW_POS; i++) { /* lanes of (sum j0, sum j1, sum j2, 0) */
        __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(acc[i][0], acc[i][1]), _mm256_hadd_ps(acc[i][2], _mm256_setzero_ps()));
        _mm_storeu_ps(out[i], _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
    }
}

/* Tiles t0 .. t1 of phase t (t->C is the padded channel stride of P, t->L
 * its row run; t->B is (Cu, rows, L)); U (N, Cu, Ug) = (overwrite ? bias or
 * 0 : U) + result. */
__attribute__((target("avx2,fma"))) static void nw_run(const struct ig_task *t, int64_t t0, int64_t t1, float *U,
                                                        int64_t Cu, const float *bias, int overwrite) {
    const int64_t NG = t->N * t->G, g12 = t->g[1] * t->g[2], rows = t->nt0 * t->nt1;
    const int64_t rs1 = t->pd[2] * t->C, rs0 = t->pd[1] * rs1;
    if (t0 >= t1) return;
    /* the position of the tile's first entry, then stepped (no divisions per position) */
    int64_t n = t0 * NW_POS / t->G, r0 = t0 * NW_POS % t->G;
    int64_t g0 = r0 / g12, g1 = (r0 / t->g[2]) % t->g[1], g2 = r0 % t->g[2];
    for (int64_t ti = t0; ti < t1; ti++) {
        const float *a[NW_POS];
        int64_t uoff[NW_POS];
        for (int i = 0; i < NW_POS; i++) {
            a[i] = t->P + (((n * t->pd[0] + t->base[0] + g0 * t->step[0]) * t->pd[1] + t->base[1] + g1 * t->step[1]) *
                              t->pd[2] + t->base[2] + g2 * t->step[2]) * t->C;
            uoff[i] = n * Cu * t->Og + ((t->o0[0] + g0 * t->ostep[0]) * t->od[1] + t->o0[1] + g1 * t->ostep[1]) *
                                           t->od[2] + t->o0[2] + g2 * t->ostep[2];
            /* step to the next position; past the last one, the tile repeats it */
            if (ti * NW_POS + i + 1 < NG && ++g2 == t->g[2]) {
                g2 = 0;
                if (++g1 == t->g[1]) {
                    g1 = 0;
                    if (++g0 == t->g[0]) g0 = 0, n++;
                }
            }
        }
        const int nvalid = (int)min64(NW_POS, NG - ti * NW_POS);
        for (int64_t c0 = 0; c0 < Cu; c0 += 3) {
            float out[NW_POS][4];
            const float *b = t->B + c0 * rows * t->L;
            switch (min64(3, Cu - c0)) {
            case 1: nw_tile(1, a, t->nt0, t->nt1, rs0, rs1, t->L, b, rows * t->L, out); break;
            case 2: nw_tile(2, a, t->nt0, t->nt1, rs0, rs1, t->L, b, rows * t->L, out); break;
            default: nw_tile(3, a, t->nt0, t->nt1, rs0, rs1, t->L, b, rows * t->L, out); break;
            }
            for (int i = 0; i < nvalid; i++)
                for (int64_t j = 0; j < min64(3, Cu - c0); j++) {
                    float *u = U + uoff[i] + (c0 + j) * t->Og;
                    *u = (overwrite ? (bias ? bias[c0 + j] : 0.0f) : *u) + out[i][j];
                }
        }
    }
}

/* adj for Cu <= VG_CONV_IGEMM_NARROW_CU, given the phases vg_conv_igemm_adj
 * set up (rr: residues, jh: first tap counted down, per phase and axis). */
static int adj_narrow(float *U, const float *V, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts, struct ig_task *ph, int np, int64_t (*rr)[3],
                      int64_t (*jh)[3], const int64_t lo[3], const int64_t pd[3], int need_zero) {
    const int64_t ldc = cdiv(c->Cv, 8) * 8, Cu = c->Cu, Cv = c->Cv, Kv = c->Kv;
    size_t boff[VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S], bsize = 1;
    for (int i = 0; i < np; i++) {
        ph[i].L = ph[i].L / Cv * ldc;
        ph[i].C = ldc;
        ph[i].ntiles = cdiv(c->N * ph[i].G, NW_POS);
        boff[i] = bsize;
        bsize += (size_t)(Cu * ph[i].nt0 * ph[i].nt1 * ph[i].L);
    }
    float *P = vg_gemm_scratch(SLOT_SRC, (size_t)(c->N * prod3(pd) * ldc));
    float *B = vg_gemm_scratch(SLOT_WPK, bsize);
    if (!P || !B) return 0;
    for (int i = 0; i < np; i++) {
        ph[i].P = P;
        ph[i].B = B + boff[i];
    }
    struct cl_copy cp = {P, V, c->N, Cv, ldc, {c->vd[0], c->vd[1], c->vd[2]}, {lo[0], lo[1], lo[2]},
                         {pd[0], pd[1], pd[2]}};
    const int64_t crows = c->N * pd[0] * pd[1];
    const int k1 = c->k[1], k2 = c->k[2], s0 = c->s[0], s1 = c->s[1], s2 = c->s[2];
    const int prefill = need_zero && overwrite; /* U positions no phase reaches get bias or 0 */
    int64_t nchunks = 1;
    for (int i = 0; i < np; i++) nchunks = max64(nchunks, cdiv(ph[i].ntiles, NW_CHUNK));
#pragma omp parallel num_threads(parts) if (parts > 1)
    {
        if (prefill) {
#pragma omp for schedule(static) nowait
            for (int64_t r = 0; r < c->N * Cu; r++) {
                const float b = bias ? bias[r % Cu] : 0.0f;
                for (int64_t q = 0; q < c->Ug; q++) U[r * c->Ug + q] = b;
            }
        }
#pragma omp for schedule(static) nowait
        for (int64_t r = 0; r < crows; r++) cl_copy_row(&cp, r);
        /* B[cu][jt' jh'][jw' cv] = Wc[cv, cu, taps counted down from jhi], 0 for cv >= Cv */
        for (int i = 0; i < np; i++) {
            const struct ig_task *t = &ph[i];
            const int64_t rows = t->nt0 * t->nt1, ntw = t->L / ldc;
#pragma omp for schedule(static) nowait
            for (int64_t cr = 0; cr < Cu * rows; cr++) {
                const int64_t cu = cr / rows, r = cr % rows;
                const int64_t jt = jh[i][0] - 1 - r / t->nt1, jhh = jh[i][1] - 1 - r % t->nt1;
                const int64_t kt = rr[i][0] + jt * s0, kh = rr[i][1] + jhh * s1;
                float *b = (float *)t->B + cr * t->L;
                for (int64_t jw = 0; jw < ntw; jw++) {
                    const int64_t kw = rr[i][2] + (jh[i][2] - 1 - jw) * s2;
                    for (int64_t cv = 0; cv < ldc; cv++)
                        b[jw * ldc + cv] = cv < Cv ? Wc[(cv * Cu + cu) * Kv + (kt * k1 + kh) * k2 + kw] : 0.0f;
                }
            }
        }
#pragma omp barrier
        /* chunk j of every phase covers about the same region of P: running
         * the phases chunk by chunk reads P from memory once, not once per
         * phase */
#pragma omp for schedule(static)
        for (int64_t j = 0; j < nchunks; j++)
            for (int i = 0; i < np; i++) {
                int64_t b, e;
                split(ph[i].ntiles, nchunks, j, &b, &e);
                nw_run(&ph[i], b, e, U, Cu, bias, overwrite && !prefill);
            }
    }
    return 1;
}

static int igemm_adj(float *U, const float *V, const float *Wc, const float *bias, int overwrite,
                     const struct vg_conv_canon *c, int parts) {
    if (parts < 1) parts = 1;
    if (parts > MAX_PARTS) parts = MAX_PARTS;
    const int64_t NU = c->N * c->Ug;
    if (c->Cu == 0 || NU == 0) return 1;
    if (c->N * c->Vg == 0 || c->Cv == 0) return 0; /* nothing to read: let the caller's path handle it */
    /* per axis and residue r: taps, grid points, first u and first v */
    int64_t nt[3][VG_CONV_IGEMM_MAX_S], G[3][VG_CONV_IGEMM_MAX_S], u0[3][VG_CONV_IGEMM_MAX_S],
        b0[3][VG_CONV_IGEMM_MAX_S], jlo[3][VG_CONV_IGEMM_MAX_S], jhi[3][VG_CONV_IGEMM_MAX_S];
    int64_t lo[3], pd[3];
    int need_zero = 0;
    for (int a = 0; a < 3; a++) {
        if (c->s[a] > VG_CONV_IGEMM_MAX_S) return 0;
        int64_t mn = 0, mx = c->vd[a] - 1;
        for (int r = 0; r < c->s[a]; r++) {
            /* taps j in [jlo, jhi) of kernel index r + j s; only those that
             * read v = b0 + g - j inside [0, vd) for some grid point g */
            u0[a][r] = (((int64_t)r - c->p[a]) % c->s[a] + c->s[a]) % c->s[a];
            G[a][r] = c->ud[a] > u0[a][r] ? cdiv(c->ud[a] - u0[a][r], c->s[a]) : 0;
            b0[a][r] = (u0[a][r] + c->p[a] - r) / c->s[a];
            const int64_t ntap = r < c->k[a] ? cdiv(c->k[a] - r, c->s[a]) : 0;
            jlo[a][r] = max64(0, b0[a][r] - c->vd[a] + 1);
            jhi[a][r] = min64(ntap, b0[a][r] + G[a][r]);
            nt[a][r] = max64(0, jhi[a][r] - jlo[a][r]);
            if (G[a][r] > 0 && nt[a][r] == 0) need_zero = 1;
            if (G[a][r] > 0 && nt[a][r] > 0) {
                mn = min64(mn, b0[a][r] - (jhi[a][r] - 1));
                mx = max64(mx, b0[a][r] + G[a][r] - 1 - jlo[a][r]);
            }
        }
        lo[a] = -mn;
        pd[a] = lo[a] + mx + 1;
    }
    const int64_t nb = cdiv(c->Cu, NR), ldo = nb * NR;
    int64_t maxrows = 1;
    size_t bsize = 1;
    struct ig_task ph[VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S];
    size_t boff[VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S];
    int64_t rr[VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S][3];
    int64_t jh[VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S * VG_CONV_IGEMM_MAX_S][3]; /* jhi of each phase */
    int np = 0;
    for (int r0 = 0; r0 < c->s[0]; r0++)
        for (int r1 = 0; r1 < c->s[1]; r1++)
            for (int r2 = 0; r2 < c->s[2]; r2++) {
                const int r[3] = {r0, r1, r2};
                struct ig_task *t = &ph[np];
                int ok = 1;
                for (int a = 0; a < 3; a++) {
                    if (nt[a][r[a]] == 0 || G[a][r[a]] == 0) ok = 0;
                    t->g[a] = G[a][r[a]];
                    t->step[a] = 1;
                    t->base[a] = lo[a] + b0[a][r[a]] - (jhi[a][r[a]] - 1);
                    t->pd[a] = pd[a];
                    t->od[a] = c->ud[a];
                    t->o0[a] = u0[a][r[a]];
                    t->ostep[a] = c->s[a];
                    rr[np][a] = r[a];
                    jh[np][a] = jhi[a][r[a]];
                }
                if (!ok) continue;
                t->C = c->Cv;
                t->N = c->N;
                t->G = t->g[0] * t->g[1] * t->g[2];
                t->nt0 = nt[0][r0];
                t->nt1 = nt[1][r1];
                t->L = nt[2][r2] * c->Cv;
                t->ldo = ldo;
                t->Og = c->Ug;
                t->nb = nb;
                t->ntiles = cdiv(c->N * t->G, MR);
                t->mb = MB_ADJ;
                t->back = NULL;
                boff[np] = bsize;
                bsize += (size_t)(nb * t->nt0 * t->nt1 * t->L * NR);
                maxrows = max64(maxrows, t->nt0 * t->nt1);
                np++;
            }
    if (c->Cu <= VG_CONV_IGEMM_NARROW_CU)
        return adj_narrow(U, V, Wc, bias, overwrite, c, parts, ph, np, rr, jh, lo, pd, need_zero);
    float *P = vg_gemm_scratch(SLOT_SRC, (size_t)(c->N * prod3(pd) * c->Cv + 16));
    float *O = vg_gemm_scratch(SLOT_OUT, (size_t)(NU * ldo));
    float *B = vg_gemm_scratch(SLOT_WPK, bsize);
    float *thr[MAX_PARTS];
    if (!P || !O || !B || !reserve_thr(thr, parts, maxrows, ldo)) return 0;
    memset(P + c->N * prod3(pd) * c->Cv, 0, 16 * sizeof(float));
    for (int i = 0; i < np; i++) {
        ph[i].P = P;
        ph[i].O = O;
        ph[i].B = B + boff[i];
    }
    struct cl_copy cp = {P, V, c->N, c->Cv, c->Cv, {c->vd[0], c->vd[1], c->vd[2]}, {lo[0], lo[1], lo[2]},
                         {pd[0], pd[1], pd[2]}};
    struct cl_back bk = {U, O, bias, c->N, c->Cu, c->Ug, ldo, overwrite};
    const int64_t crows = c->N * pd[0] * pd[1], bitems = c->N * cdiv(c->Cu, 8);
    const int64_t Kv = c->Kv, Cu = c->Cu, Cv = c->Cv;
    const int k1 = c->k[1], k2 = c->k[2], s0 = c->s[0], s1 = c->s[1], s2 = c->s[2];
#pragma omp parallel num_threads(parts) if (parts > 1)
    {
        if (need_zero) {
#pragma omp for schedule(static) nowait
            for (int64_t i = 0; i < NU; i++) memset(O + i * ldo, 0, sizeof(float) * (size_t)ldo);
        }
#pragma omp for schedule(static) nowait
        for (int64_t r = 0; r < crows; r++) cl_copy_row(&cp, r);
        /* phase weights: B[jb][jt' jh'][jw' cv][j] = Wc[cv, cu, taps counted down from jhi] */
        for (int i = 0; i < np; i++) {
            const struct ig_task *t = &ph[i];
            const int64_t rows = t->nt0 * t->nt1, ntw = t->L / Cv;
#pragma omp for schedule(static) nowait
            for (int64_t jr = 0; jr < nb * rows; jr++) {
                const int64_t jb = jr / rows, r = jr % rows;
                const int64_t jt = jh[i][0] - 1 - r / t->nt1, jhh = jh[i][1] - 1 - r % t->nt1;
                const int64_t kt = rr[i][0] + jt * s0, kh = rr[i][1] + jhh * s1;
                float *b = (float *)t->B + jr * t->L * NR;
                for (int64_t jw = 0; jw < ntw; jw++) {
                    const int64_t kw = rr[i][2] + (jh[i][2] - 1 - jw) * s2;
                    for (int64_t cv = 0; cv < Cv; cv++)
                        for (int64_t j = 0; j < NR; j++) {
                            const int64_t cu = jb * NR + j;
                            b[(jw * Cv + cv) * NR + j] =
                                cu < Cu ? Wc[(cv * Cu + cu) * Kv + (kt * k1 + kh) * k2 + kw] : 0.0f;
                        }
                }
            }
        }
#pragma omp barrier
#pragma omp for schedule(static)
        for (int p = 0; p < parts; p++)
            for (int i = 0; i < np; i++) {
                int64_t b, e;
                split(ph[i].ntiles, parts, p, &b, &e);
                ig_run(&ph[i], b, e, thr[p]);
            }
#pragma omp for schedule(static)
        for (int64_t it = 0; it < bitems; it++) cl_back_item(&bk, it);
    }
    return 1;
}

/* ---- wgrad ------------------------------------------------------------------ */

/* fwd and adj in chunks of whole samples, so that the channels-last copies
 * (source, result) stay near CHUNK_FLOATS whatever the batch: their scratch
 * would otherwise hold the whole batch's activations (45 MiB for a layer of
 * the 64x64 model). No output sum runs over samples, so the results are the
 * same as in one piece. */
#define CHUNK_FLOATS ((int64_t)1 << 21)

static int64_t g_chunk_floats = CHUNK_FLOATS;

void vg_conv_igemm_set_chunk(int64_t floats) { g_chunk_floats = floats > 0 ? floats : CHUNK_FLOATS; }

static int64_t chunk_samples(const struct vg_conv_canon *c) {
    int64_t per = max64(c->Cu * c->Ug, c->Cv * c->Vg) * 3 / 2 + 1; /* padding of the source copy */
    return max64(1, min64(c->N, g_chunk_floats / per));
}

/* out from in by `pass`, one chunk of samples at a time; *_sample: the
 * floats of one sample of each */
typedef int (*igemm_pass)(float *out, const float *in, const float *Wc, const float *bias, int overwrite,
                          const struct vg_conv_canon *c, int parts);
static int in_chunks(igemm_pass pass, float *out, int64_t out_sample, const float *in, int64_t in_sample,
                     const float *Wc, const float *bias, int overwrite, const struct vg_conv_canon *c, int parts) {
    const int64_t step = chunk_samples(c);
    for (int64_t n0 = 0; n0 < c->N; n0 += step) {
        struct vg_conv_canon part = *c;
        part.N = min64(step, c->N - n0);
        if (!pass(out + n0 * out_sample, in + n0 * in_sample, Wc, bias, overwrite, &part, parts)) return 0;
    }
    return 1;
}

int vg_conv_igemm_fwd(float *V, const float *U, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts) {
    return in_chunks(igemm_fwd, V, c->Cv * c->Vg, U, c->Cu * c->Ug, Wc, bias, overwrite, c, parts);
}

int vg_conv_igemm_adj(float *U, const float *V, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts) {
    return in_chunks(igemm_adj, U, c->Cu * c->Ug, V, c->Cv * c->Vg, Wc, bias, overwrite, c, parts);
}

int vg_conv_igemm_wgrad(float *dWc, const float *V, const float *U, const struct vg_conv_canon *c, int parts) {
    if (parts < 1) parts = 1;
    if (parts > MAX_PARTS) parts = MAX_PARTS;
    if (c->Cv == 0 || c->Cu == 0 || c->N * c->Vg == 0) return 1;
    int64_t m0[3], nt[3], lo[3], pd[3];
    if (!fwd_taps(c, m0, nt, lo, pd)) return 1; /* every tap reads only padding: no gradient */
    /* tile: MR channels of V (broadcast from channels-last V) x NR
     * consecutive (W tap, cu) of a source row (two loads, every float of a
     * cache line used). ldv: an odd number of cache lines, so that a
     * block's V rows spread over the L1 sets. The samples go through in
     * chunks (the channels-last copies hold one chunk); every tile sums
     * its positions in order into D across the chunks, so the order of
     * each sum is fixed by the shapes alone. */
    const int64_t rows = nt[0] * nt[1], L = nt[2] * c->Cu;
    const int64_t ncb = cdiv(c->Cv, MR), CvP = ncb * MR, ldv = (cdiv(CvP, NR) | 1) * NR;
    const int64_t nlt = cdiv(L, NR), Lp = nlt * NR, ntiles = ncb * rows * nlt;
    const int64_t step = chunk_samples(c), src_sample = prod3(pd) * c->Cu;
    float *P = vg_gemm_scratch(SLOT_SRC, (size_t)(step * src_sample + NR));
    float *Vc = vg_gemm_scratch(SLOT_VCL, (size_t)(step * c->Vg * ldv));
    float *D = vg_gemm_scratch(SLOT_OUT, (size_t)(rows * CvP * Lp));
    float *thr[MAX_PARTS];
    for (int p = 0; p < parts; p++) {
        thr[p] = vg_gemm_scratch(SLOT_THR + p, (size_t)(rows * PB) * (sizeof(void *) / sizeof(float)));
        if (!thr[p]) return 0;
    }
    if (!P || !Vc || !D) return 0;
    const int64_t v12 = c->vd[1] * c->vd[2], k1 = c->k[1], Cu = c->Cu, Cv = c->Cv, Kv = c->Kv, k2 = c->k[2];
    for (int64_t n0 = 0; n0 < c->N; n0 += step) {
        const int64_t nn = min64(step, c->N - n0), NV = nn * c->Vg;
        memset(P + nn * src_sample, 0, NR * sizeof(float)); /* the last row's tile may read past L */
        struct cl_copy cu_cp = {P, U + n0 * c->Cu * c->Ug, nn, c->Cu, c->Cu, {c->ud[0], c->ud[1], c->ud[2]},
                                {lo[0], lo[1], lo[2]}, {pd[0], pd[1], pd[2]}};
        struct cl_copy cv_cp = {Vc, V + n0 * c->Cv * c->Vg, nn, c->Cv, ldv, {c->vd[0], c->vd[1], c->vd[2]}, {0, 0, 0},
                                {c->vd[0], c->vd[1], c->vd[2]}};
        const int64_t urows = nn * pd[0] * pd[1], vrows = nn * c->vd[0] * c->vd[1];
#pragma omp parallel num_threads(parts) if (parts > 1)
        {
#pragma omp for schedule(static) nowait
            for (int64_t r = 0; r < urows; r++) cl_copy_row(&cu_cp, r);
#pragma omp for schedule(static)
            for (int64_t r = 0; r < vrows; r++) cl_copy_row(&cv_cp, r);
#pragma omp for schedule(static)
            for (int p = 0; p < parts; p++) {
                int64_t t0, t1;
                split(ntiles, parts, p, &t0, &t1);
                if (t0 < t1) {
                    /* tiles (row, l block, channel block): a block's PB
                     * source-row lines (one per position) stay in L1 while
                     * the channel blocks of V (also in L1) run over them */
                    const float **ptr = (const float **)(void *)thr[p];
                    for (int64_t q0 = 0; q0 < NV; q0 += PB) {
                        const int64_t np = min64(PB, NV - q0);
                        for (int64_t q = 0; q < np; q++) {
                            const int64_t pos = q0 + q, n = pos / c->Vg, v = pos % c->Vg;
                            const int64_t s0 = v / v12 * c->s[0], s1 = (v / c->vd[2]) % c->vd[1] * c->s[1];
                            const int64_t s2 = v % c->vd[2] * c->s[2];
                            for (int64_t r = 0; r < rows; r++)
                                ptr[r * PB + q] = P + (((n * pd[0] + s0 + m0[0] + r / nt[1]) * pd[1] + s1 + m0[1] +
                                                        r % nt[1]) * pd[2] + s2 + m0[2]) * Cu;
                        }
                        for (int64_t ti = t0; ti < t1; ti++) {
                            const int64_t r = ti / (nlt * ncb), lt = ti / ncb % nlt, cb = ti % ncb;
                            ukr_wg(np, Vc + q0 * ldv + cb * MR, ldv, ptr + r * PB, lt * NR,
                                   D + (r * CvP + cb * MR) * Lp + lt * NR, Lp, n0 > 0 || q0 > 0);
                        }
                    }
                }
            }
        }
    }
    /* dWc[cv, cu, m0 + m] += D[mt mh][cv][mw cu] */
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int64_t cv = 0; cv < Cv; cv++)
        for (int64_t cu = 0; cu < Cu; cu++) {
            float *w = dWc + (cv * Cu + cu) * Kv;
            for (int64_t r = 0; r < rows; r++) {
                float *wr = w + ((m0[0] + r / nt[1]) * k1 + m0[1] + r % nt[1]) * k2 + m0[2];
                const float *dr = D + (r * CvP + cv) * Lp + cu;
                for (int64_t mw = 0; mw < nt[2]; mw++) wr[mw] += dr[mw * Cu];
            }
        }
    return 1;
}

#else /* not x86: the packed-GEMM lowering everywhere */

int vg_conv_igemm_mode(void) { return 0; }
void vg_conv_igemm_set_chunk(int64_t floats) { (void)floats; }
int vg_conv_igemm_fwd(float *V, const float *U, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts) {
    (void)V, (void)U, (void)Wc, (void)bias, (void)overwrite, (void)c, (void)parts;
    return 0;
}
int vg_conv_igemm_adj(float *U, const float *V, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts) {
    (void)V, (void)U, (void)Wc, (void)bias, (void)overwrite, (void)c, (void)parts;
    return 0;
}
int vg_conv_igemm_wgrad(float *dWc, const float *V, const float *U, const struct vg_conv_canon *c, int parts) {
    (void)dWc, (void)V, (void)U, (void)c, (void)parts;
    return 0;
}

#endif
#endif
