/* The CPU backend's parts. Each kernel group lives in its own file and fills
 * its entries of the vg_backend table through a register function;
 * cpu_backend.c calls them all. Kernels parallelise with OpenMP
 * (schedule(static), see core/threads.h); fast SIMD paths exist only for
 * float (never in the -DVG_REAL_F64 gradient-check build). */
#ifndef VG_CPU_H
#define VG_CPU_H

#include "backend/backend.h"

void vg_cpu_register_eltwise(vg_backend *be);  /* eltwise.c: unary, binary */
void vg_cpu_register_layout(vg_backend *be);   /* layout.c: reduce, permute, block */
void vg_cpu_register_gemm(vg_backend *be);     /* gemm.c: gemm */
void vg_cpu_register_conv(vg_backend *be);     /* conv.c: conv forward/backward */
void vg_cpu_register_norm(vg_backend *be);     /* norm.c: batchnorm, rownorm */
void vg_cpu_register_resample(vg_backend *be); /* resample.c: upsample, pooling */
void vg_cpu_register_misc(vg_backend *be);     /* misc.c: softmax, embedding */
void vg_cpu_register_optim(vg_backend *be);    /* optim.c: adam, ema, non-finite count */

/* Direct entry points used by other CPU kernels and by tests/benchmarks. */
void vg_cpu_gemm(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d);
/* Naive reference kernels kept beside the fast ones (llm.c habit): an
 * algorithmic reference and a fallback; tests compare the two. */
void vg_cpu_gemm_reference(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d);
void vg_cpu_conv_forward_reference(vg_real *out, const vg_real *inp, const vg_real *weight,
                                   const vg_real *bias, const struct vg_conv_desc *d);
void vg_cpu_conv_backward_reference(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                                    const vg_real *inp, const vg_real *weight, const struct vg_conv_desc *d);

#endif
