/* The packed single-precision GEMM engine behind vg_cpu_gemm and the fast
 * convolutions (float builds only).
 *
 * One call computes a dense block  W = A (M, K) * B (K, N)  for a range of
 * columns of B, BLIS style: B is packed in panels of NR columns, A in panels
 * of MR rows, and an MR x NR register-tile micro-kernel (AVX-512, AVX2+FMA or
 * portable C, picked once at run time) does the arithmetic. The operands are
 * never read directly: callbacks pack them, so a convolution can hand over
 * an im2col matrix that is never built (the "implicit GEMM" lowering), and a
 * store callback puts each finished block of W where it belongs (a plain C
 * with alpha/beta, or a scatter into a convolution's output).
 *
 * Every sum over K happens in a fixed order that depends only on the shape,
 * so results are bit-identical run to run; threads split the columns and
 * never share a sum. Scratch lives in a per-calling-thread buffer that grows
 * once and is then reused (vg_gemm_scratch). */
#ifndef VG_GEMM_ENGINE_H
#define VG_GEMM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifndef VG_REAL_F64

#define VG_GEMM_MR 6   /* rows of the register tile, every kernel */
#define VG_GEMM_KC 256 /* the most rows of B one pack_b call is asked for */

/* Pack rows [i0, i0 + mc) x cols [k0, k0 + kc) of A into ceil(mc/MR) panels,
 * panel p at dst + p*kc*MR, element (i, k) at [k*MR + i]; rows past mc are 0. */
typedef void (*vg_pack_a_fn)(const void *ctx, float *dst, int64_t i0, int64_t mc, int64_t k0, int64_t kc);
/* Pack rows [k0, k0 + kc) x cols [j0, j0 + nc) of B into ceil(nc/nr) panels,
 * panel q at dst + q*kc*nr, element (k, j) at [k*nr + j]; cols past nc are 0. */
typedef void (*vg_pack_b_fn)(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc,
                             int nr);
/* Receive the finished block W[i0 .. i0+mc) x [j0 .. j0+nc), element (i, j)
 * at blk[(i - i0) * ld + (j - j0)], summed over all of K. */
typedef void (*vg_store_fn)(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0,
                            int64_t nc);

struct vg_gemm_task {
    int64_t M, N, K;
    vg_pack_a_fn pack_a;
    const void *actx;
    vg_pack_b_fn pack_b;
    const void *bctx;
    vg_store_fn store;
    const void *sctx;
};

/* NR of the micro-kernel in use (32 with AVX-512, else 16). */
int vg_gemm_nr(void);

/* Runs the task for columns [j_begin, j_end) on the calling thread; work
 * holds at least vg_gemm_work_floats(M, j_end - j_begin) floats, 64-byte
 * aligned (take it from vg_gemm_scratch before a parallel region). */
void vg_gemm_run(const struct vg_gemm_task *t, int64_t j_begin, int64_t j_end, float *work);

/* Scratch buffer `slot` (0 .. VG_SCRATCH_SLOTS-1) of the calling thread, at
 * least `floats` long, 64-byte aligned; it only grows, and lives as long as
 * the thread. Call it from the thread that called the kernel, before a
 * parallel region, and hand the pointers to the workers. NULL if out of
 * memory. Slots 0..63: engine work of part p; 64 and up: conv tables and
 * copies (conv.c, conv_igemm.c). */
#define VG_SCRATCH_SLOTS 160
float *vg_gemm_scratch(int slot, size_t floats);
/* The backend's lend_workspace / end_workspace (backend.h): during a loan
 * vg_gemm_scratch carves the calling thread's slots from the `bytes` at p
 * (64-byte aligned offsets of a 64-byte aligned p), and allocates what
 * does not fit for the loan only, freed when it ends. */
void vg_gemm_lend_workspace(void *p, size_t bytes);
void vg_gemm_end_workspace(void);
/* Between two kernels of one call (a convolution's input gradient, then its
 * weight gradient): the scratch handed out so far is no longer needed, so
 * a loan is carved again from its start (and what was allocated for it is
 * freed); the call then needs the larger of the kernels' scratch, not their
 * sum. No effect outside a loan. */
void vg_gemm_scratch_restart(void);
/* Floats of work vg_gemm_run needs for M rows and ncols columns. */
size_t vg_gemm_work_floats(int64_t M, int64_t ncols);

/* Packers for A given as a row stride plus a per-column offset table:
 * A(i, k) = base[i * rs + coff[k]]. */
struct vg_pack_rows {
    const float *base;
    int64_t rs;
    const int64_t *coff;
};
void vg_pack_a_rows(const void *ctx, float *dst, int64_t i0, int64_t mc, int64_t k0, int64_t kc);

/* Split [0, n) into `parts` ranges aligned to `align`; range p is [*b, *e). */
void vg_gemm_split(int64_t n, int parts, int p, int64_t align, int64_t *b, int64_t *e);

#endif
#endif
