/* Gather packers and scatter stores for the implicit-GEMM convolutions
 * (see conv_gather.h). The column grid is walked in segments: runs of
 * consecutive jw inside one (n, jt, jh), read from one source row at a fixed
 * step, with only the ends of a run ever falling into the padding. */
#include "backend/cpu/conv_gather.h"

#ifndef VG_REAL_F64

#include <string.h>

#include "backend/cpu/gemm_engine.h"

void vg_gather_init_conv(struct vg_gather *g, const float *src, int64_t C, const int64_t sd[3], const int64_t vd[3],
                         const int k[3], const int s[3], const int p[3]) {
    g->src = src;
    g->C = C;
    for (int a = 0; a < 3; a++) {
        g->sd[a] = sd[a];
        g->g[a] = vd[a];
        g->nt[a] = k[a];
        g->step[a] = s[a];
        for (int m = 0; m < k[a]; m++) g->off[a][m] = (int64_t)m - p[a];
    }
    g->sg = sd[0] * sd[1] * sd[2];
    g->gg = vd[0] * vd[1] * vd[2];
}

int vg_gather_init_phase(struct vg_gather *g, const float *src, int64_t C, const int64_t vd[3],
                         const int64_t ud[3], const int k[3], const int s[3], const int p[3], const int r[3],
                         int64_t u0[3]) {
    g->src = src;
    g->C = C;
    for (int a = 0; a < 3; a++) {
        if (r[a] >= k[a]) return 0;
        u0[a] = (((int64_t)r[a] - p[a]) % s[a] + s[a]) % s[a];
        if (ud[a] <= u0[a]) return 0;
        g->sd[a] = vd[a];
        g->g[a] = (ud[a] - u0[a] + s[a] - 1) / s[a];
        g->nt[a] = (k[a] - r[a] + s[a] - 1) / s[a];
        g->step[a] = 1;
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

void vg_gather_pack_b(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr) {
    const struct vg_gather *g = ctx;
    const int64_t nt12 = (int64_t)g->nt[1] * g->nt[2], ntt = g->nt[0] * nt12;
    struct seg segs[64];
    for (int64_t q = 0; q < nc; q += nr) {
        int64_t cols = nc - q < nr ? nc - q : nr;
        float *d = dst + q * kc;
        int64_t ns = make_segs(g, j0 + q, cols, segs);
        int64_t c = k0 / ntt, m = k0 % ntt;
        for (int64_t kk = 0; kk < kc; kk++) {
            int64_t mt = m / nt12, mh = (m / g->nt[2]) % g->nt[1], mw = m % g->nt[2];
            float *o = d + kk * nr;
            const float *chan = g->src + c * g->sg;
            for (int64_t si = 0; si < ns; si++) {
                const struct seg *s = &segs[si];
                int64_t t = g->step[0] * s->jt + g->off[0][mt], h = g->step[1] * s->jh + g->off[1][mh];
                if (t < 0 || t >= g->sd[0] || h < 0 || h >= g->sd[1]) {
                    zero_seg(o + s->pos, 1, s->len);
                } else {
                    const float *row = chan + s->base + (t * g->sd[1] + h) * g->sd[2];
                    read_seg(o + s->pos, 1, row, g->step[2] * s->jw + g->off[2][mw], g->step[2], s->len, g->sd[2]);
                }
            }
            for (int64_t j = cols; j < nr; j++) o[j] = 0.0f;
            if (++m == ntt) {
                m = 0;
                c++;
            }
        }
    }
}

void vg_gather_pack_bt(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr) {
    const struct vg_gather *g = ctx;
    const int64_t nt12 = (int64_t)g->nt[1] * g->nt[2], ntt = g->nt[0] * nt12;
    struct seg segs[VG_GEMM_KC];
    int64_t ns = make_segs(g, k0, kc, segs);
    for (int64_t q = 0; q < nc; q++) {
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

void vg_store_col2im_fn(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0,
                        int64_t nc) {
    const struct vg_store_col2im *s = ctx;
    const int64_t Kv = (int64_t)s->k[0] * s->k[1] * s->k[2];
    const int64_t Ug = s->ud[0] * s->ud[1] * s->ud[2], Vg = s->vd[0] * s->vd[1] * s->vd[2];
    const int64_t v12 = s->vd[1] * s->vd[2];
    for (int64_t i = 0; i < mc; i++) {
        int64_t r = i0 + i, cu = r / Kv, kr = r % Kv;
        int64_t kt = kr / ((int64_t)s->k[1] * s->k[2]), kh = (kr / s->k[2]) % s->k[1], kw = kr % s->k[2];
        const float *w = blk + i * ld;
        int64_t j = j0;
        while (j < j0 + nc) {
            int64_t n = j / Vg, v = j - n * Vg;
            int64_t vt = v / v12, vh = (v / s->vd[2]) % s->vd[1], vw = v % s->vd[2];
            int64_t len = s->vd[2] - vw < j0 + nc - j ? s->vd[2] - vw : j0 + nc - j;
            int64_t ut = vt * s->s[0] - s->p[0] + kt, uh = vh * s->s[1] - s->p[1] + kh;
            if (ut >= 0 && ut < s->ud[0] && uh >= 0 && uh < s->ud[1]) {
                float *row = s->U + (n * s->Cu + cu) * Ug + (ut * s->ud[1] + uh) * s->ud[2];
                const float *x = w + (j - j0);
                for (int64_t q = 0; q < len; q++) {
                    int64_t uw = (vw + q) * s->s[2] - s->p[2] + kw;
                    if (uw >= 0 && uw < s->ud[2]) row[uw] += x[q];
                }
            }
            j += len;
        }
    }
}

#endif
