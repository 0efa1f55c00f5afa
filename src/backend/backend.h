/* The backend boundary: every kernel the ops layer (src/ops/) may call.
 *
 * The ops layer never touches tensor memory itself; it only calls through a
 * vg_backend table. Kernels receive raw pointers plus a small descriptor and
 * nothing else (ggml style). Argument order (llm.c style): outputs first, then
 * inputs, then the descriptor.
 *
 * Gradient convention, stated once: every backward kernel ACCUMULATES (+=)
 * into every gradient pointer it is given, parameters and activations alike
 * (the ops layer zeroes activation gradients when it allocates them). A NULL
 * gradient pointer means "not needed": skip that work entirely. The one
 * exception is the optional *_inplace backward kernels: their g holds dout
 * on entry and receives dinp, written as 0 + (what the accumulating kernel
 * adds), so that the result is bit for bit that of the accumulating kernel
 * on a zeroed buffer (+0 + -0 is +0); they let an input take over its
 * output's gradient buffer (see vg_op_grad_take).
 *
 * A NULL entry in the table means the backend does not support that kernel;
 * the ops layer then fails with a message naming the op and the backend.
 *
 * Precision: the gemm and convolution descriptors carry the context's
 * vg_precision. A backend with has_bf16 runs VG_PRECISION_BF16 on bfloat16
 * copies of the operands with float32 accumulation; pointers, results and
 * the accumulate convention stay float32 either way. The ops layer never
 * hands BF16 to a backend without has_bf16 (vg_ctx_new refuses), which
 * would compute in float32 regardless.
 *
 * Dimension letters: N batch, C channels, T frames, H height, W width,
 * K kernel, S stride, P padding. 2-D ops use the 3-D descriptors with T = 1. */
#ifndef VG_BACKEND_H
#define VG_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "vidgan.h"

/* ---- elementwise ------------------------------------------------------ */

enum vg_unary_kind {
    VG_UNARY_RELU,
    VG_UNARY_LEAKY_RELU, /* alpha = negative slope */
    VG_UNARY_TANH,
    VG_UNARY_SIGMOID,
    VG_UNARY_SOFTPLUS,   /* alpha = beta, beta = threshold (torch: 1, 20) */
    VG_UNARY_SCALE,      /* out = alpha * x + beta */
    VG_UNARY_EXP,
    VG_UNARY_LOG,
    VG_UNARY_SQUARE,
    VG_UNARY_ABS,        /* d/dx at 0 is 0, as torch */
    VG_UNARY_SQRT,
    VG_UNARY_COUNT
};

struct vg_unary_desc {
    enum vg_unary_kind kind;
    double alpha, beta;
};

enum vg_binary_kind { VG_BINARY_ADD, VG_BINARY_SUB, VG_BINARY_MUL, VG_BINARY_DIV, VG_BINARY_COUNT };

/* Broadcasting binary op over VG_MAX_DIMS dims (shapes right-aligned and
 * padded with leading 1s by the ops layer). a_stride/b_stride are element
 * strides of the inputs per output dim, 0 on broadcast dims. */
struct vg_binary_desc {
    enum vg_binary_kind kind;
    int64_t shape[VG_MAX_DIMS];    /* output shape */
    int64_t a_stride[VG_MAX_DIMS];
    int64_t b_stride[VG_MAX_DIMS];
    int64_t a_numel, b_numel;      /* sizes of the (unbroadcast) inputs */
};

/* inp viewed as (outer, len, inner); out (outer, inner) = scale * sum over len. */
struct vg_reduce_desc {
    int64_t outer, len, inner;
    double scale;
};

/* General permutation of up to VG_MAX_DIMS dims: out dim i is inp dim perm[i]. */
struct vg_permute_desc {
    int ndim;
    int64_t in_shape[VG_MAX_DIMS];
    int perm[VG_MAX_DIMS];
};

/* A block along one axis: big viewed as (outer, big_len, inner), small as
 * (outer, small_len, inner); small[o, i, j] <-> big[o, offset + i * step, j]. */
struct vg_block_desc {
    int64_t outer, inner, big_len, small_len, offset, step;
};

/* ---- linear algebra --------------------------------------------------- */

/* Row-major, strided-batched: for b in [0, batch):
 * C_b = alpha * op(A_b) op(B_b) + beta * C_b, op(A) is (M, K), op(B) is (K, N). */
struct vg_gemm_desc {
    int trans_a, trans_b;
    int64_t M, N, K;
    int64_t lda, ldb, ldc;
    int64_t batch, stride_a, stride_b, stride_c;
    double alpha, beta;
    vg_precision precision;
};

/* ---- convolution ------------------------------------------------------ */

/* Matches torch.nn.Conv3d / ConvTranspose3d (groups = 1, dilation = 1).
 * conv:        inp (N, C_in, in), weight (C_out, C_in, k), bias (C_out) -> out (N, C_out, out)
 *              out = (in + 2p - k) / s + 1
 * transposed:  inp (N, C_in, in), weight (C_in, C_out, k) [torch layout], bias (C_out)
 *              out = (in - 1) s - 2p + k + op
 * Axes of in/out/k/s/p/op are (T, H, W). */
struct vg_conv_desc {
    int64_t N, C_in, C_out;
    int64_t in[3], out[3];
    int k[3], s[3], p[3], op[3];
    int transposed;
    vg_precision precision;
};

/* ---- normalisation ---------------------------------------------------- */

/* torch.nn.BatchNorm{1,2,3}d: inp (N, C, S) with S the product of the spatial
 * dims. Training: batch statistics (biased variance for normalising), running
 * stats updated as r = (1 - momentum) r + momentum * stat with the unbiased
 * variance. Eval: running stats used. weight/bias may be NULL (affine=False);
 * running_* may be NULL (track_running_stats=False, always batch stats).
 * save_mean/save_invstd (C) are written in training mode for the backward. */
struct vg_batchnorm_desc {
    int64_t N, C, S;
    double eps, momentum;
    int training;
};

/* Normalise each row of inp (rows, cols) by its own mean and variance
 * (biased). affine: NONE; PER_COL weight/bias of length cols (layer norm);
 * PER_CHANNEL weight/bias of length C applied to row r as channel r % C
 * (instance norm on (N*C, S) rows). save_mean/save_invstd have length rows. */
enum vg_rownorm_affine { VG_AFFINE_NONE, VG_AFFINE_PER_COL, VG_AFFINE_PER_CHANNEL };
struct vg_rownorm_desc {
    int64_t rows, cols, C;
    double eps;
    enum vg_rownorm_affine affine;
};

/* ---- resampling and pooling ------------------------------------------- */

enum vg_upsample_mode { VG_UPSAMPLE_NEAREST, VG_UPSAMPLE_LINEAR };
/* torch.nn.functional.interpolate on (NC, in) -> (NC, out), axes (T, H, W).
 * NEAREST: src = floor(dst * in / out) (torch 'nearest'). LINEAR: (tri)linear
 * with align_corners as given; scale taken as in/out. */
struct vg_upsample_desc {
    int64_t NC;
    int64_t in[3], out[3];
    enum vg_upsample_mode mode;
    int align_corners;
};

/* torch avg_pool3d / max_pool3d on (NC, in) -> (NC, out). Average pooling
 * with count_include_pad as given. Max pooling pads with -inf and records
 * the flat input index of each maximum in argmax (same length as out). */
struct vg_pool_desc {
    int64_t NC;
    int64_t in[3], out[3];
    int k[3], s[3], p[3];
    int count_include_pad;
};

/* ---- optimisation ----------------------------------------------------- */

/* torch.optim.Adam (amsgrad off) step number `step` (1-based), same order of
 * float operations as torch 1.13's single-tensor implementation:
 * g += wd p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
struct vg_adam_desc {
    double lr, beta1, beta2, eps, weight_decay;
    int64_t step;
};

/* ---- the table -------------------------------------------------------- */

typedef struct vg_backend vg_backend;
struct vg_backend {
    const char *name;
    int has_bf16; /* gemm and conv_* honour VG_PRECISION_BF16 (see the top) */
    int host_memory; /* alloc returns host memory the caller may read directly (the CPU) */

    /* memory (device memory for an accelerator backend) */
    void *(*alloc)(size_t bytes); /* 64-byte aligned; NULL on failure */
    void (*release)(void *ptr);
    void (*zero)(void *dst, size_t bytes);
    void (*copy)(void *dst, const void *src, size_t bytes);
    void (*upload)(void *dst, const void *host_src, size_t bytes);
    void (*download)(void *host_dst, const void *src, size_t bytes);
    void (*fill)(vg_real *dst, int64_t n, double value);
    void (*accumulate)(vg_real *dst, const vg_real *src, int64_t n); /* dst += src */

    /* counter-based random numbers (Philox4x32-10, see src/core/rng.h):
     * element i of the stream (seed, offset) is a pure function of
     * (seed, offset + i), whatever the thread count or device. */
    void (*rng_uniform)(vg_real *dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi);
    void (*rng_normal)(vg_real *dst, int64_t n, uint64_t seed, uint64_t offset, double mean, double std);

    /* elementwise (backward: out is the forward output, inp the forward input) */
    void (*unary_forward)(vg_real *out, const vg_real *inp, int64_t n, const struct vg_unary_desc *d);
    void (*unary_backward)(vg_real *dinp, const vg_real *dout, const vg_real *inp, const vg_real *out,
                           int64_t n, const struct vg_unary_desc *d);
    /* optional (NULL: the ops layer uses unary_backward): g is dout in, dinp out */
    void (*unary_backward_inplace)(vg_real *g, const vg_real *inp, const vg_real *out, int64_t n,
                                   const struct vg_unary_desc *d);
    void (*binary_forward)(vg_real *out, const vg_real *a, const vg_real *b, const struct vg_binary_desc *d);
    void (*binary_backward)(vg_real *da, vg_real *db, const vg_real *dout, const vg_real *a,
                            const vg_real *b, const struct vg_binary_desc *d);

    /* reductions, layout */
    void (*reduce_forward)(vg_real *out, const vg_real *inp, const struct vg_reduce_desc *d);
    void (*reduce_backward)(vg_real *dinp, const vg_real *dout, const struct vg_reduce_desc *d);
    void (*permute_forward)(vg_real *out, const vg_real *inp, const struct vg_permute_desc *d);
    void (*permute_backward)(vg_real *dinp, const vg_real *dout, const struct vg_permute_desc *d);
    /* small = big block (accumulate: small +=); big block = small (accumulate: big +=) */
    void (*block_extract)(vg_real *small, const vg_real *big, const struct vg_block_desc *d, int accumulate);
    void (*block_insert)(vg_real *big, const vg_real *small, const struct vg_block_desc *d, int accumulate);

    /* linear algebra */
    void (*gemm)(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d);
    /* rows of length cols; softmax over each row */
    void (*softmax_forward)(vg_real *out, const vg_real *inp, int64_t rows, int64_t cols);
    void (*softmax_backward)(vg_real *dinp, const vg_real *dout, const vg_real *out, int64_t rows, int64_t cols);

    /* convolution (any of dinp/dweight/dbias may be NULL; bias may be NULL) */
    void (*conv_forward)(vg_real *out, const vg_real *inp, const vg_real *weight, const vg_real *bias,
                         const struct vg_conv_desc *d);
    void (*conv_backward)(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                          const vg_real *inp, const vg_real *weight, const struct vg_conv_desc *d);

    /* normalisation */
    void (*batchnorm_forward)(vg_real *out, vg_real *save_mean, vg_real *save_invstd, const vg_real *inp,
                              const vg_real *weight, const vg_real *bias, vg_real *running_mean,
                              vg_real *running_var, const struct vg_batchnorm_desc *d);
    /* training-mode backward uses save_mean/save_invstd; eval-mode backward
     * (d->training == 0) uses running stats passed as save_mean = running_mean,
     * save_invstd = 1/sqrt(running_var + eps) computed by the forward. */
    void (*batchnorm_backward)(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                               const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                               const vg_real *save_invstd, const struct vg_batchnorm_desc *d);
    /* optional (NULL: the ops layer uses batchnorm_backward): g is dout in,
     * dinp out; dweight and dbias accumulate as usual */
    void (*batchnorm_backward_inplace)(vg_real *g, vg_real *dweight, vg_real *dbias, const vg_real *inp,
                                       const vg_real *weight, const vg_real *save_mean, const vg_real *save_invstd,
                                       const struct vg_batchnorm_desc *d);
    void (*rownorm_forward)(vg_real *out, vg_real *save_mean, vg_real *save_invstd, const vg_real *inp,
                            const vg_real *weight, const vg_real *bias, const struct vg_rownorm_desc *d);
    void (*rownorm_backward)(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                             const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                             const vg_real *save_invstd, const struct vg_rownorm_desc *d);

    /* resampling, pooling */
    void (*upsample_forward)(vg_real *out, const vg_real *inp, const struct vg_upsample_desc *d);
    void (*upsample_backward)(vg_real *dinp, const vg_real *dout, const struct vg_upsample_desc *d);
    void (*avgpool_forward)(vg_real *out, const vg_real *inp, const struct vg_pool_desc *d);
    void (*avgpool_backward)(vg_real *dinp, const vg_real *dout, const struct vg_pool_desc *d);
    void (*maxpool_forward)(vg_real *out, int64_t *argmax, const vg_real *inp, const struct vg_pool_desc *d);
    void (*maxpool_backward)(vg_real *dinp, const vg_real *dout, const int64_t *argmax,
                             const struct vg_pool_desc *d);

    /* optimisation: Adam; EMA ema = decay ema + (1 - decay) p (torch lerp);
     * the number of NaN/inf elements */
    void (*adam_update)(vg_real *param, vg_real *m, vg_real *v, const vg_real *grad, int64_t n,
                        const struct vg_adam_desc *d);
    void (*ema_update)(vg_real *ema, const vg_real *param, int64_t n, double decay);
    int64_t (*count_nonfinite)(const vg_real *x, int64_t n);

    /* embedding: out (n, dim) = weight[idx[i]] ; idx already validated */
    void (*embedding_forward)(vg_real *out, const vg_real *weight, const int64_t *idx, int64_t n, int64_t dim);
    void (*embedding_backward)(vg_real *dweight, const vg_real *dout, const int64_t *idx, int64_t n, int64_t dim);

    /* Errors of a backend whose kernels can fail (an accelerator: a failed
     * launch, a library call, an asynchronous fault). The kernels above
     * return void, so such a backend records its first failure and this
     * hands it over once: VG_OK, or the status with the message set through
     * vg_fail (naming the failed call), after which the record is cleared.
     * NULL for a backend that cannot fail (the CPU). */
    vg_status (*poll_error)(void);

    /* Lends the kernels that run next on the calling thread `bytes` of free
     * memory at p (NULL with 0: none) for their scratch, until
     * end_workspace: the free end of the step arena, whose pages serve the
     * step's biggest moment anyway. Scratch that fits there costs no memory
     * of its own; the rest is allocated for the call and released at
     * end_workspace, so no scratch stays resident between calls. NULL
     * hooks: the backend keeps its own scratch (the CUDA backend's
     * workspaces). */
    void (*lend_workspace)(void *p, size_t bytes);
    void (*end_workspace)(void);
};

/* The CPU backend (always present). */
const vg_backend *vg_backend_cpu(void);
/* The CUDA backend, or NULL with the reason in vg_last_error() ("no CUDA
 * device: ..."). Started on first call: from the CUDA objects when the
 * program links them (test_backend_parity, bench_train_cuda), otherwise
 * from the plugin libvidgan_cuda.so, loaded only then (see registry.c). */
const vg_backend *vg_backend_cuda(void);

/* The CUDA backend's entry points, linked in or resolved from the plugin:
 * start(fail) probes the device and builds the table once, reporting
 * through `fail` (vg_fail of the caller's library: the plugin has no
 * status module of its own); device_name() as below. */
typedef vg_status (*vg_fail_fn)(vg_status s, const char *fmt, ...);
typedef const vg_backend *(*vg_cuda_start_fn)(vg_fail_fn fail);
typedef const char *(*vg_cuda_device_name_fn)(void);
/* The started CUDA device ("NVIDIA H100 ... (sm_90, 79.1 GiB)"), or "". */
const char *vg_backend_cuda_device_name(void);
/* "cpu" or "cuda"; NULL with the reason in vg_last_error(). */
const vg_backend *vg_backend_by_name(const char *name);

#endif
