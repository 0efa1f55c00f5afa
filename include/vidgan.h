/* vidgan.h — the public API of libvidgan: tensors, reverse-mode autograd and
 * the ops that video GAN models are written with.
 *
 * Usage (one training step of a tiny model):
 *
 *     vg_ctx *ctx; vg_params *P;
 *     if (vg_ctx_new(&ctx, NULL) != VG_OK) { puts(vg_last_error()); return 1; }
 *     vg_params_new(&P, ctx);
 *     vg_tensor *w = vg_param_add(P, "net.0.weight", 2, (int64_t[]){8, 4});
 *     vg_tensor *b = vg_param_add(P, "net.0.bias", 1, (int64_t[]){8});
 *     vg_params_finalize(P);                          // one allocation for all
 *     vg_params_init_normal(P, 1234, 0.0, 0.02);
 *     for (int step = 0; step < 100; step++) {
 *         vg_ctx_reset(ctx);                           // step arena back to empty
 *         vg_tensor *x = vg_tensor_from(ctx, 2, (int64_t[]){16, 4}, host_batch);
 *         vg_tensor *loss = vg_mean(ctx, vg_square(ctx, vg_linear(ctx, x, w, b)));
 *         vg_params_zero_grad(P);
 *         if (vg_backward(ctx, loss) != VG_OK) { puts(vg_last_error()); break; }
 *         // ... optimizer step on vg_params_data / vg_params_grad ...
 *     }
 *     vg_params_free(P); vg_ctx_free(ctx);
 *
 * Conventions
 * - Tensors are float32, contiguous, row-major, up to 5 dims (N, C, T, H, W);
 *   semantics of every op follow PyTorch's functional of the same name.
 * - Tensors made during a step live in the context's arena and are valid
 *   until the next vg_ctx_reset(); parameters live in a vg_params set.
 * - Errors: functions return a vg_status, or NULL for tensors; the reason is
 *   in vg_last_error() (thread-local). Ops given a NULL input return NULL, so a
 *   whole forward pass can be checked once at the end. The library never
 *   prints and never exits.
 * - Threads: VIDGAN_THREADS in the environment, or vg_set_threads(). Results
 *   are bit-for-bit reproducible for the same seed and thread count. */
#ifndef VIDGAN_H
#define VIDGAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VG_VERSION "0.1.0"
#define VG_MAX_DIMS 5

/* float in every build users get; double only in the gradient-check build
 * of the tests (compiled with -DVG_REAL_F64). */
#ifdef VG_REAL_F64
typedef double vg_real;
#else
typedef float vg_real;
#endif

typedef enum vg_status {
    VG_OK = 0,
    VG_ERR_INVALID,     /* bad argument or shape */
    VG_ERR_NOMEM,       /* allocation failed or size overflow */
    VG_ERR_IO,          /* file system or stream error */
    VG_ERR_FORMAT,      /* malformed or foreign file */
    VG_ERR_UNSUPPORTED, /* not implemented by this backend / build */
    VG_ERR_NUMERIC,     /* non-finite values where finite ones are required */
    VG_ERR_INTERRUPTED, /* stopped by a signal */
    VG_ERR_COUNT
} vg_status;

/* The message of the last failure on this thread ("" if none). */
const char *vg_last_error(void);
const char *vg_status_name(vg_status s);

/* Threads used by CPU kernels (default: VIDGAN_THREADS, else all cores). */
void vg_set_threads(int n);
int vg_get_threads(void);

typedef struct vg_ctx vg_ctx;
typedef struct vg_tensor vg_tensor;
typedef struct vg_params vg_params;

/* ---- contexts ---------------------------------------------------------- */

/* VG_OK if `device` ("cpu", "cuda") can compute here; otherwise why not is
 * in vg_last_error() ("no CUDA device: cudaGetDeviceCount: ..."). */
vg_status vg_device_probe(const char *device);
/* The device of contexts made without one (vg_ctx_new with NULL opts or
 * device): "cpu" until set. Fails, changing nothing, when the device cannot
 * be used (see vg_device_probe). */
vg_status vg_set_device(const char *device);
const char *vg_get_device(void);

/* The arithmetic of a context's convolutions and matrix products.
 * BF16 is mixed precision: they read bfloat16 copies of their operands
 * (rounded to nearest even) and accumulate in float32; their results, the
 * parameters, gradients, optimizer state and every other op stay float32,
 * so checkpoints are the same either way. Only the CUDA backend has it (on
 * a GPU of compute capability 8.0 or newer). */
typedef enum vg_precision {
    VG_PRECISION_FP32, /* float32 throughout (the default) */
    VG_PRECISION_BF16, /* bf16 operands, float32 accumulation and storage */
    VG_PRECISION_COUNT
} vg_precision;
/* "fp32" / "bf16" (NULL for anything else), and back: 1 when name is one. */
const char *vg_precision_name(vg_precision p);
int vg_precision_parse(const char *name, vg_precision *out);

typedef struct vg_ctx_opts {
    const char *device;  /* "cpu" or "cuda"; NULL: vg_get_device() */
    size_t arena_bytes;  /* initial step arena; 0 = grow on demand. After the
                            first step the arena is one block: no allocation
                            happens inside later steps. */
    vg_precision precision; /* FP32 (0) unless asked; BF16 on a backend
                               without it fails with VG_ERR_UNSUPPORTED */
} vg_ctx_opts;

vg_status vg_ctx_new(vg_ctx **out, const vg_ctx_opts *opts);
void vg_ctx_free(vg_ctx *ctx);
/* Forget the recorded graph and all step tensors; keep the memory. */
void vg_ctx_reset(vg_ctx *ctx);
/* Record ops for autograd (default on). Off: forward only, no tape. */
void vg_ctx_set_grad_enabled(vg_ctx *ctx, int enabled);
/* Bytes of arena memory in use / reserved. */
size_t vg_ctx_arena_used(const vg_ctx *ctx);
size_t vg_ctx_arena_reserved(const vg_ctx *ctx);
/* A point in a step to come back to: vg_ctx_release frees every tensor made
 * after the mark (they must not be used again) and forgets their ops, so a
 * finished phase of a step (the discriminator's update, say) gives its memory
 * to the next one. */
typedef struct vg_ctx_mark {
    int64_t tape_len;
    int host_block, device_block;
    size_t host_used, device_used;
} vg_ctx_mark;
vg_ctx_mark vg_ctx_get_mark(const vg_ctx *ctx);
void vg_ctx_release(vg_ctx *ctx, vg_ctx_mark mark);
/* The first error an op hit since the last reset (VG_OK if none). */
vg_status vg_ctx_status(const vg_ctx *ctx);
/* The precision the context was made with. */
vg_precision vg_ctx_precision(const vg_ctx *ctx);

/* ---- tensors ------------------------------------------------------------ */

/* Uninitialised / zero / copied-from-host step tensors. requires_grad marks
 * an input whose gradient vg_backward should produce. */
vg_tensor *vg_tensor_new(vg_ctx *ctx, int ndim, const int64_t *shape, int requires_grad);
vg_tensor *vg_tensor_zeros(vg_ctx *ctx, int ndim, const int64_t *shape, int requires_grad);
vg_tensor *vg_tensor_from(vg_ctx *ctx, int ndim, const int64_t *shape, const vg_real *host);
/* Fill with N(mean, std) or U(lo, hi) from the counter-based generator:
 * element i depends only on (seed, offset + i). */
vg_status vg_tensor_fill_normal(vg_tensor *t, uint64_t seed, uint64_t offset, double mean, double std);
vg_status vg_tensor_fill_uniform(vg_tensor *t, uint64_t seed, uint64_t offset, double lo, double hi);

int vg_tensor_ndim(const vg_tensor *t);
int64_t vg_tensor_dim(const vg_tensor *t, int i); /* negative i counts from the end */
int64_t vg_tensor_numel(const vg_tensor *t);
/* Copy data / gradient to and from host memory (numel elements). */
vg_status vg_tensor_read(const vg_tensor *t, vg_real *host);
vg_status vg_tensor_write(vg_tensor *t, const vg_real *host);
vg_status vg_tensor_read_grad(const vg_tensor *t, vg_real *host);
/* Copy src's values into dst (same number of elements), outside autograd:
 * for updating buffers such as spectral norm's singular vectors. */
vg_status vg_tensor_copy(vg_tensor *dst, const vg_tensor *src);
/* First element as a double (for scalar losses). */
double vg_tensor_item(const vg_tensor *t);

/* ---- parameters --------------------------------------------------------- */

/* A named set of parameters with one allocation for the values and one for
 * the gradients. Declare every parameter, then finalize. */
vg_status vg_params_new(vg_params **out, vg_ctx *ctx);
void vg_params_free(vg_params *p);
vg_tensor *vg_param_add(vg_params *p, const char *name, int ndim, const int64_t *shape);
/* A buffer saved with the parameters but never trained (running statistics). */
vg_tensor *vg_buffer_add(vg_params *p, const char *name, int ndim, const int64_t *shape);
vg_status vg_params_finalize(vg_params *p);
int vg_params_count(const vg_params *p);
vg_tensor *vg_params_get(const vg_params *p, int i);
vg_tensor *vg_params_find(const vg_params *p, const char *name);
const char *vg_params_name(const vg_params *p, int i);
int vg_params_is_buffer(const vg_params *p, int i);
/* Total trainable elements; the flat value and gradient arrays (trainable
 * parameters first, in declaration order, then buffers). */
int64_t vg_params_numel(const vg_params *p);
vg_real *vg_params_data(vg_params *p);
vg_real *vg_params_grad(vg_params *p);
void vg_params_zero_grad(vg_params *p);
/* Freeze (0) or unfreeze (1): a frozen set gets no gradient and costs no
 * gradient work, while gradients still flow through it to its inputs. */
void vg_params_set_requires_grad(vg_params *p, int requires_grad);
/* Back the gradients of two finalized sets with one buffer (the larger
 * set's; the other's is released): for sets trained in turn, never
 * together, such as a GAN's generator and discriminator. Zeroing or
 * accumulating one set's gradients then overwrites the other's, so use each
 * set's gradients (optimizer step) before the other's backward. Free the
 * sets in any order. */
vg_status vg_params_share_grad(vg_params *a, vg_params *b);
vg_status vg_params_init_normal(vg_params *p, uint64_t seed, double mean, double std);
/* Elements of the flat value array including buffers (>= vg_params_numel). */
int64_t vg_params_numel_all(const vg_params *p);
vg_ctx *vg_params_ctx(const vg_params *p);
/* Exchange the set's value array with another of vg_params_numel_all
 * elements in the same backend (e.g. EMA weights for sampling): the tensors
 * point into *other afterwards, and *other receives the old array. */
void vg_params_swap_data(vg_params *p, vg_real **other);

/* ---- autograd ----------------------------------------------------------- */

/* Backpropagate from a scalar loss: parameter gradients accumulate (+=),
 * inputs created with requires_grad receive their gradient. Gradients of
 * intermediate tensors are recycled as soon as their op's backward has run
 * (as PyTorch frees non-leaf gradients), so only leaves keep theirs. */
vg_status vg_backward(vg_ctx *ctx, vg_tensor *loss);
/* Same, from a non-scalar output with a given upstream gradient (host). */
vg_status vg_backward_with(vg_ctx *ctx, vg_tensor *out, const vg_real *host_grad);

/* ---- ops ------------------------------------------------------------------ */

/* The same values, cut from the graph: no gradient flows back through it
 * (torch's .detach()). Shares x's memory; costs nothing. */
vg_tensor *vg_detach(vg_ctx *ctx, vg_tensor *x);

/* Spatial arguments list the spatial dims in order: (H, W) for 4-D inputs,
 * (T, H, W) for 5-D. A stride of 0 means 1. */
typedef struct vg_conv_args {
    int stride[3], padding[3], output_padding[3];
} vg_conv_args;

/* torch.nn.functional.conv2d/conv3d/conv_transpose2d/conv_transpose3d with
 * groups = 1, dilation = 1. Weight layouts as torch's; bias may be NULL. */
vg_tensor *vg_conv2d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a);
vg_tensor *vg_conv3d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a);
vg_tensor *vg_conv_transpose2d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a);
vg_tensor *vg_conv_transpose3d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a);

/* x (..., in), w (out, in), b (out) or NULL -> (..., out) */
vg_tensor *vg_linear(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b);
/* (M, K) @ (K, N), or batched (B, M, K) @ (B, K, N) / (K, N) */
vg_tensor *vg_matmul(vg_ctx *ctx, vg_tensor *a, vg_tensor *b);
/* softmax over the last dim */
vg_tensor *vg_softmax(vg_ctx *ctx, vg_tensor *x);
/* weight (V, D), idx[n] in [0, V) -> (n, D) */
vg_tensor *vg_embedding(vg_ctx *ctx, vg_tensor *weight, const int64_t *idx, int64_t n);

/* Normalisation. x (N, C, ...). weight/bias may be NULL. batch norm: training
 * uses batch statistics and updates the running buffers (may be NULL);
 * eval uses the running buffers. layer norm normalises the last norm_ndim dims. */
vg_tensor *vg_batch_norm(vg_ctx *ctx, vg_tensor *x, vg_tensor *weight, vg_tensor *bias,
                         vg_tensor *running_mean, vg_tensor *running_var, int training,
                         double momentum, double eps);
vg_tensor *vg_instance_norm(vg_ctx *ctx, vg_tensor *x, vg_tensor *weight, vg_tensor *bias, double eps);
vg_tensor *vg_layer_norm(vg_ctx *ctx, vg_tensor *x, int norm_ndim, vg_tensor *weight, vg_tensor *bias,
                         double eps);

/* Activations and elementwise maps */
vg_tensor *vg_relu(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_leaky_relu(vg_ctx *ctx, vg_tensor *x, double negative_slope);
/* In-place variants (torch's inplace=True): the result overwrites x's
 * memory, so x must not be used afterwards, and x must not be a parameter or
 * an input that requires grad. Their gradient is computed from the output.
 * Safe after ops whose backward does not need their output (convolutions,
 * normalisation, add); saves one activation. negative_slope must be > 0. */
vg_tensor *vg_relu_inplace(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_leaky_relu_inplace(vg_ctx *ctx, vg_tensor *x, double negative_slope);
vg_tensor *vg_tanh_inplace(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_sigmoid_inplace(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_tanh(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_sigmoid(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_softplus(vg_ctx *ctx, vg_tensor *x, double beta, double threshold);
vg_tensor *vg_exp(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_log(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_square(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_abs(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_sqrt(vg_ctx *ctx, vg_tensor *x);
/* alpha * x */
vg_tensor *vg_scale(vg_ctx *ctx, vg_tensor *x, double alpha);
/* alpha * x + beta */
vg_tensor *vg_affine(vg_ctx *ctx, vg_tensor *x, double alpha, double beta);

/* Broadcasting binary ops (numpy rules) */
vg_tensor *vg_add(vg_ctx *ctx, vg_tensor *a, vg_tensor *b);
vg_tensor *vg_sub(vg_ctx *ctx, vg_tensor *a, vg_tensor *b);
vg_tensor *vg_mul(vg_ctx *ctx, vg_tensor *a, vg_tensor *b);
vg_tensor *vg_div(vg_ctx *ctx, vg_tensor *a, vg_tensor *b);

/* Reductions: over everything (-> shape (1)) or one dim */
vg_tensor *vg_sum(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_mean(vg_ctx *ctx, vg_tensor *x);
vg_tensor *vg_sum_dim(vg_ctx *ctx, vg_tensor *x, int dim, int keepdim);
vg_tensor *vg_mean_dim(vg_ctx *ctx, vg_tensor *x, int dim, int keepdim);

/* Layout. reshape accepts one -1. slice: [start, end) with step along dim
 * (negative start/end count from the end, as Python). */
vg_tensor *vg_reshape(vg_ctx *ctx, vg_tensor *x, int ndim, const int64_t *shape);
vg_tensor *vg_permute(vg_ctx *ctx, vg_tensor *x, const int *perm);
vg_tensor *vg_concat(vg_ctx *ctx, vg_tensor *const *xs, int n, int dim);
vg_tensor *vg_slice(vg_ctx *ctx, vg_tensor *x, int dim, int64_t start, int64_t end, int64_t step);
vg_tensor *vg_broadcast_to(vg_ctx *ctx, vg_tensor *x, int ndim, const int64_t *shape);
/* torch.nn.functional.pad, mode "constant": pad holds npad (even) values,
 * (front, back) pairs starting from the LAST dim, as torch lists them; all
 * >= 0 (torch's negative pads crop: use vg_slice). Padded cells get value. */
vg_tensor *vg_pad(vg_ctx *ctx, vg_tensor *x, const int64_t *pad, int npad, double value);

/* Resampling and pooling on 4-D (N, C, H, W) or 5-D (N, C, T, H, W) inputs. */
typedef enum vg_interp { VG_INTERP_NEAREST, VG_INTERP_LINEAR } vg_interp;
vg_tensor *vg_upsample(vg_ctx *ctx, vg_tensor *x, const int64_t *out_size, vg_interp mode, int align_corners);
typedef struct vg_pool_args {
    int kernel[3], stride[3], padding[3]; /* stride 0 means = kernel */
    int count_include_pad;                /* avg pool only (torch default 1) */
} vg_pool_args;
vg_tensor *vg_avg_pool(vg_ctx *ctx, vg_tensor *x, vg_pool_args a);
vg_tensor *vg_max_pool(vg_ctx *ctx, vg_tensor *x, vg_pool_args a);

/* Composite blocks, written as forward code over the ops above. */
/* torch.nn.GRUCell: x (N, in), h (N, hidden), w_ih (3h, in), w_hh (3h, h), biases (3h) or NULL */
vg_tensor *vg_gru_cell(vg_ctx *ctx, vg_tensor *x, vg_tensor *h, vg_tensor *w_ih, vg_tensor *w_hh,
                       vg_tensor *b_ih, vg_tensor *b_hh);

#ifdef __cplusplus
}
#endif
#endif
