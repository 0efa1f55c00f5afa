/* Indirect-GEMM convolutions on channels-last copies (float builds, AVX2+FMA).
 *
 * Every pass of a convolution is one of three "canonical" products of
 * V = conv(U, Wc) (see conv.c): fwd (V from U), adj (U from V, by sub-pixel
 * phases) and wgrad (Wc from U and V). Here the operand that would be
 * expanded into im2col panels is instead copied once, channels-last and
 * zero-padded, and the micro-kernels read it through row pointers (one per
 * output position and kernel (t, h) tap row, covering the W taps times the
 * channels contiguously): XNNPACK's indirect GEMM. Results are computed
 * channels-last and transposed back into NCDHW (bias or accumulate folded
 * into that pass): per block of tiles for fwd, through a whole-result
 * scratch for adj (the narrow adj kernel writes NCDHW directly). Scratch per
 * calling thread, in steady state: the padded copy of the source, the
 * channels-last result (or dW), the packed weights, and small per-part
 * pointer tables and result blocks.
 *
 * Every output element is summed by one thread in an order fixed by the
 * shape alone, so results are bit-identical for any thread count. Scratch
 * comes from vg_gemm_scratch (grows once, then reused). */
#ifndef VG_CONV_IGEMM_H
#define VG_CONV_IGEMM_H

#include <stdint.h>

#ifndef VG_REAL_F64

#define VG_CONV_IGEMM_MAX_S 4 /* larger strides take the packed-GEMM lowering */
#define VG_CONV_IGEMM_NARROW_CU 8 /* adj with at most this many U channels: the narrow kernel */

/* V (N, Cv, vd) = conv(U (N, Cu, ud), Wc (Cv, Cu, k)), stride s, padding p */
struct vg_conv_canon {
    int64_t N, Cu, Cv;
    int64_t ud[3], vd[3];
    int k[3], s[3], p[3];
    int64_t Ug, Vg, Kv;
};

/* Path selection for tests and measurements: -1 automatic (default), 0 never
 * use the indirect GEMM, 1 use it wherever the CPU can (ignoring the size
 * heuristics). Call before any kernel runs, not concurrently with one. */
void vg_conv_igemm_force(int mode);
/* The passes run in chunks of samples whose channels-last copies hold
 * about this many floats (0: the default, 2^21); tests set it small to
 * run every sample as a chunk of its own. Not concurrently with a kernel. */
void vg_conv_igemm_set_chunk(int64_t floats);
/* 0: never; 1: automatic; 2: forced (see above; 0 too when the CPU lacks AVX2+FMA). */
int vg_conv_igemm_mode(void);

/* The three passes. `overwrite`: dst = bias (or 0 when bias is NULL) +
 * result, else dst += result. Each returns 0, having written nothing, when
 * out of memory or when the shape is outside what the path handles. */
int vg_conv_igemm_fwd(float *V, const float *U, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts);
int vg_conv_igemm_adj(float *U, const float *V, const float *Wc, const float *bias, int overwrite,
                      const struct vg_conv_canon *c, int parts);
/* dWc += */
int vg_conv_igemm_wgrad(float *dWc, const float *V, const float *U, const struct vg_conv_canon *c, int parts);

#endif
#endif
