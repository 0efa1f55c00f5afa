/* Packers and stores that let the GEMM engine (gemm_engine.h) run a
 * convolution without building an im2col matrix (float builds only).
 *
 * A gather describes a virtual matrix over a source tensor src (N, C, sd):
 *   rows    k = (c, mt, mh, mw)      channel and tap, taps nt[a] per axis
 *   columns j = (n, jt, jh, jw)      sample and grid point, grid g[a]
 *   value   src[n, c, x_T, x_H, x_W] with x_a = step[a] * j_a + off[a][m_a],
 *           0 where x_a falls outside [0, sd[a]) (the zero padding).
 * A convolution's im2col matrix is the gather with step = s, off = m - p;
 * one sub-pixel phase of a transposed convolution is the gather with
 * step = 1, off = const - m. */
#ifndef VG_CONV_GATHER_H
#define VG_CONV_GATHER_H

#include <stdint.h>

#ifndef VG_REAL_F64

#define VG_GATHER_MAX_TAPS 32 /* per axis; larger kernels use the reference */

struct vg_gather {
    const float *src;
    int64_t C;
    int64_t sd[3], sg; /* source spatial dims and their product */
    int64_t g[3], gg;  /* column grid per sample and its product */
    int nt[3];
    int64_t step[3];
    int64_t off[3][VG_GATHER_MAX_TAPS];
    int tap0[3]; /* kernel index of tap 0 (conv gathers drop taps that only ever read padding) */
    int avx2; /* the packers may use AVX2 (set by the init functions) */
};

/* im2col of a convolution: grid vd (the conv output), taps k, stride s, pad p.
 * Taps that read only padding for every grid point are left out: tap m of
 * the gather is kernel index tap0 + m, nt[a] <= k[a] (possibly 0). */
void vg_gather_init_conv(struct vg_gather *g, const float *src, int64_t C, const int64_t sd[3], const int64_t vd[3],
                         const int k[3], const int s[3], const int p[3]);
/* Phase r of the adjoint of conv(U -> V): gathers V (sd = vd) for the points
 * u = u0 + s j of U (dims ud) with (u + p) mod s == r, taps k = r + m s.
 * Writes u0; returns 0 when the phase has no taps or no points. */
int vg_gather_init_phase(struct vg_gather *g, const float *src, int64_t C, const int64_t vd[3],
                         const int64_t ud[3], const int k[3], const int s[3], const int p[3], const int r[3],
                         int64_t u0[3]);

/* Whether this CPU runs the AVX2 paths (call before a parallel region). */
int vg_gather_cpu_avx2(void);

/* B = the gather (vg_pack_b_fn), and B = its transpose (rows j, columns k). */
void vg_gather_pack_b(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr);
void vg_gather_pack_bt(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr);

/* base[i * rs + coff[j]] += W(i, j) */
struct vg_store_add {
    float *base;
    int64_t rs;
    const int64_t *coff;
};
void vg_store_add_fn(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0, int64_t nc);

/* col2im: W rows (cu, kt, kh, kw), columns (n, v) of the grid vd; adds
 * W into U[n, cu, v*s - p + k] where that lies inside ud. */
struct vg_store_col2im {
    float *U;
    int64_t Cu;
    int64_t ud[3], vd[3];
    int k[3], s[3], p[3];
    int avx2; /* may use AVX2 (set with vg_gather_cpu_avx2()) */
};
void vg_store_col2im_fn(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0,
                        int64_t nc);

#endif
#endif
