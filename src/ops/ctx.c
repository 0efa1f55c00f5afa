/* Contexts, step tensors and the op-building helpers of ops/op.h. */
#include "ops/op.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/checked.h"

static void *host_alloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) & ~(size_t)63); }
static void host_release(void *p) { free(p); }

const char *vg_precision_name(vg_precision p) {
    return p == VG_PRECISION_FP32 ? "fp32" : p == VG_PRECISION_BF16 ? "bf16" : NULL;
}

int vg_precision_parse(const char *name, vg_precision *out) {
    for (int p = 0; name && p < VG_PRECISION_COUNT; p++)
        if (strcmp(name, vg_precision_name((vg_precision)p)) == 0) {
            *out = (vg_precision)p;
            return 1;
        }
    return 0;
}

vg_status vg_ctx_new(vg_ctx **out, const vg_ctx_opts *opts) {
    *out = NULL;
    const char *device = (opts && opts->device) ? opts->device : vg_get_device();
    const vg_precision precision = opts ? opts->precision : VG_PRECISION_FP32;
    if ((int)precision < 0 || precision >= VG_PRECISION_COUNT)
        return vg_fail(VG_ERR_INVALID, "context: unknown precision %d (have: fp32, bf16)", (int)precision);
    const vg_backend *be = vg_backend_by_name(device);
    if (!be) return strcmp(device, "cuda") == 0 ? VG_ERR_UNSUPPORTED : VG_ERR_INVALID; /* message set */
    if (precision == VG_PRECISION_BF16 && !be->has_bf16)
        return vg_fail(VG_ERR_UNSUPPORTED,
                       "bf16 mixed precision needs the CUDA backend on a GPU of compute capability 8.0 or newer; "
                       "device '%s' computes in float32 only", be->name);
    vg_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return vg_fail(VG_ERR_NOMEM, "out of memory creating a context");
    ctx->be = be;
    ctx->precision = precision;
    vg_arena_init(&ctx->host, host_alloc, host_release, (size_t)1 << 18);
    vg_arena_init(&ctx->device, be->alloc, be->release, opts ? opts->arena_bytes : 0);
    ctx->grad_enabled = 1;
    ctx->status = VG_OK;
    *out = ctx;
    return VG_OK;
}

void vg_ctx_free(vg_ctx *ctx) {
    if (!ctx) return;
    vg_arena_free(&ctx->host);
    vg_arena_free(&ctx->device);
    free(ctx->tape);
    free(ctx->free_grads);
    free(ctx);
}

void vg_ctx_reset(vg_ctx *ctx) {
    vg_arena_reset(&ctx->host);
    vg_arena_reset(&ctx->device);
    ctx->tape_len = 0;
    ctx->status = VG_OK;
}

vg_ctx_mark vg_ctx_get_mark(const vg_ctx *ctx) {
    vg_arena_mark h = vg_arena_get_mark(&ctx->host), d = vg_arena_get_mark(&ctx->device);
    return (vg_ctx_mark){ctx->tape_len, h.block, d.block, h.used, d.used};
}

void vg_ctx_release(vg_ctx *ctx, vg_ctx_mark m) {
    VG_ASSERT(m.tape_len <= ctx->tape_len);
    ctx->tape_len = m.tape_len;
    vg_arena_rewind(&ctx->host, (vg_arena_mark){m.host_block, m.host_used});
    vg_arena_rewind(&ctx->device, (vg_arena_mark){m.device_block, m.device_used});
}

void vg_ctx_set_grad_enabled(vg_ctx *ctx, int enabled) { ctx->grad_enabled = enabled != 0; }
size_t vg_ctx_arena_used(const vg_ctx *ctx) { return vg_arena_used(&ctx->device); }
size_t vg_ctx_arena_reserved(const vg_ctx *ctx) { return vg_arena_reserved(&ctx->device); }

/* An accelerator backend's first failure (a kernel's or library call's)
 * becomes the context's status, like a failed op's; returns that failure
 * (VG_OK when none, always on the CPU). */
static vg_status poll_backend(vg_ctx *ctx) {
    if (!ctx->be->poll_error) return VG_OK;
    vg_status s = ctx->be->poll_error();
    if (s != VG_OK && ctx->status == VG_OK) ctx->status = s;
    return s;
}

vg_precision vg_ctx_precision(const vg_ctx *ctx) { return ctx->precision; }

vg_status vg_ctx_status(const vg_ctx *ctx) {
    poll_backend((vg_ctx *)ctx);
    return ctx->status;
}

vg_tensor *vg_op_fail(vg_ctx *ctx, vg_status s, const char *op, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->status == VG_OK) {
        ctx->status = s;
        vg_fail(s, "%s: %s", op, msg);
    }
    return NULL;
}

int vg_op_inputs_ok(vg_ctx *ctx, const char *op, int n, vg_tensor *const *xs) {
    for (int i = 0; i < n; i++) {
        if (!xs[i]) {
            if (ctx->status == VG_OK) vg_op_fail(ctx, VG_ERR_INVALID, op, "input %d is NULL", i);
            return 0;
        }
        if (xs[i]->ctx != ctx) {
            vg_op_fail(ctx, VG_ERR_INVALID, op, "input %d belongs to another context", i);
            return 0;
        }
    }
    return 1;
}

const char *vg_shape_str(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, ")");
    return buf;
}

void *vg_op_saved(vg_ctx *ctx, const char *op, size_t bytes) {
    void *p = vg_arena_alloc(&ctx->host, bytes);
    if (!p) vg_op_fail(ctx, VG_ERR_NOMEM, op, "out of host memory (%zu bytes)", bytes);
    return p;
}

vg_real *vg_op_buffer(vg_ctx *ctx, const char *op, int64_t n) {
    int64_t bytes;
    if (!vg_mul_ok(n, (int64_t)sizeof(vg_real), &bytes)) {
        vg_op_fail(ctx, VG_ERR_NOMEM, op, "buffer of %lld elements overflows", (long long)n);
        return NULL;
    }
    void *p = vg_arena_alloc(&ctx->device, (size_t)bytes);
    if (!p)
        vg_op_fail(ctx, VG_ERR_NOMEM, op, "out of %s memory (%lld bytes; arena holds %zu)", ctx->be->name,
                   (long long)bytes, vg_arena_reserved(&ctx->device));
    return p;
}

static int tape_push(vg_ctx *ctx, vg_tensor *t) {
    if (ctx->tape_len == ctx->tape_cap) {
        int64_t cap = ctx->tape_cap ? 2 * ctx->tape_cap : 256;
        vg_tensor **tape = realloc(ctx->tape, (size_t)cap * sizeof *tape);
        if (!tape) return 0;
        ctx->tape = tape;
        ctx->tape_cap = cap;
    }
    ctx->tape[ctx->tape_len++] = t;
    return 1;
}

static vg_tensor *tensor_record(vg_ctx *ctx, const char *op, int ndim, const int64_t *shape) {
    char buf[128];
    int64_t numel;
    if (ndim < 0 || ndim > VG_MAX_DIMS)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "%d dims (at most %d supported)", ndim, VG_MAX_DIMS);
    if (!vg_shape_numel(ndim, shape, &numel))
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "shape %s is negative or overflows",
                          vg_shape_str(buf, sizeof buf, ndim, shape));
    if (poll_backend(ctx) != VG_OK) return NULL; /* an earlier kernel failed */
    vg_tensor *t = vg_op_saved(ctx, op, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->ctx = ctx;
    t->op_name = op;
    t->data = vg_op_buffer(ctx, op, numel);
    return t->data ? t : NULL;
}

vg_tensor *vg_op_output(vg_ctx *ctx, const char *op, int ndim, const int64_t *shape, vg_tensor *const *srcs,
                        int nsrc, vg_backward_fn bw) {
    VG_ASSERT(nsrc <= VG_MAX_SRC);
    vg_tensor *t = tensor_record(ctx, op, ndim, shape);
    if (!t) return NULL;
    int needs = 0;
    for (int i = 0; i < nsrc; i++) needs |= srcs[i] && srcs[i]->requires_grad;
    if (ctx->grad_enabled && needs && bw) {
        for (int i = 0; i < nsrc; i++) t->src[i] = srcs[i];
        t->backward = bw;
        t->requires_grad = 1;
        if (!tape_push(ctx, t)) return vg_op_fail(ctx, VG_ERR_NOMEM, op, "out of memory growing the tape");
    }
    return t;
}

void vg_op_lend_workspace(vg_ctx *ctx) {
    if (!ctx->be->lend_workspace) return;
    size_t bytes;
    void *p = vg_arena_tail(&ctx->device, &bytes);
    /* during a backward, an idle recycled gradient buffer may be bigger */
    for (int64_t i = 0; i < ctx->n_free; i++)
        if ((size_t)ctx->free_grads[i].numel * sizeof(vg_real) > bytes) {
            p = ctx->free_grads[i].ptr;
            bytes = (size_t)ctx->free_grads[i].numel * sizeof(vg_real);
        }
    ctx->be->lend_workspace(p, bytes);
}

void vg_op_end_workspace(vg_ctx *ctx) {
    if (ctx->be->end_workspace) ctx->be->end_workspace();
}

/* A recycled gradient buffer of at least numel elements (the smallest
 * that fits), or NULL. */
static vg_real *take_free_grad(vg_ctx *ctx, int64_t numel) {
    int64_t best = -1;
    for (int64_t i = 0; i < ctx->n_free; i++)
        if (ctx->free_grads[i].numel >= numel && (best < 0 || ctx->free_grads[i].numel < ctx->free_grads[best].numel))
            best = i;
    if (best < 0) return NULL;
    vg_real *p = ctx->free_grads[best].ptr;
    ctx->free_grads[best] = ctx->free_grads[--ctx->n_free];
    return p;
}

static void give_free_grad(vg_ctx *ctx, vg_real *ptr, int64_t numel) {
    if (ctx->n_free == ctx->cap_free) {
        int64_t cap = ctx->cap_free ? 2 * ctx->cap_free : 64;
        struct vg_free_grad *f = realloc(ctx->free_grads, (size_t)cap * sizeof *f);
        if (!f) return; /* not recycled: only costs memory */
        ctx->free_grads = f;
        ctx->cap_free = cap;
    }
    ctx->free_grads[ctx->n_free++] = (struct vg_free_grad){ptr, numel};
}

/* A record with x's shape that shares x's memory (no autograd links). */
static vg_tensor *view_record(vg_ctx *ctx, const char *op, const vg_tensor *x) {
    vg_tensor *t = vg_op_saved(ctx, op, sizeof *t);
    if (!t) return NULL;
    memset(t, 0, sizeof *t);
    t->ndim = x->ndim;
    memcpy(t->shape, x->shape, sizeof t->shape);
    t->numel = x->numel;
    t->data = x->data;
    t->ctx = ctx;
    t->op_name = op;
    return t;
}

vg_tensor *vg_op_output_inplace(vg_ctx *ctx, const char *op, vg_tensor *x, vg_backward_fn bw) {
    if (x->is_param || x->is_leaf_input)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "in-place op on a %s", x->is_param ? "parameter" : "leaf input that requires grad");
    vg_tensor *t = view_record(ctx, op, x);
    if (!t) return NULL;
    if (ctx->grad_enabled && x->requires_grad && bw) {
        t->src[0] = x;
        t->backward = bw;
        t->requires_grad = 1;
        if (!tape_push(ctx, t)) return vg_op_fail(ctx, VG_ERR_NOMEM, op, "out of memory growing the tape");
    }
    return t;
}

vg_real *vg_op_grad(vg_ctx *ctx, vg_tensor *t) {
    if (!t || !t->requires_grad) return NULL;
    if (!t->grad) {
        t->grad = take_free_grad(ctx, t->numel);
        if (!t->grad) t->grad = vg_op_buffer(ctx, "backward", t->numel);
        if (t->grad) ctx->be->zero(t->grad, (size_t)t->numel * sizeof(vg_real));
    }
    return t->grad;
}

vg_real *vg_op_grad_take(vg_tensor *x, vg_tensor *node) {
    if (!x || !x->requires_grad || x->grad || x->is_param || !node->grad || x->numel != node->numel) return NULL;
    x->grad = node->grad;
    node->grad = NULL; /* run_backward then leaves it off the free list */
    return x->grad;
}

/* ---- public tensor functions --------------------------------------------- */

vg_tensor *vg_tensor_new(vg_ctx *ctx, int ndim, const int64_t *shape, int requires_grad) {
    vg_tensor *t = tensor_record(ctx, "tensor_new", ndim, shape);
    if (t && requires_grad) {
        t->requires_grad = 1;
        t->is_leaf_input = 1;
        if (!tape_push(ctx, t)) return vg_op_fail(ctx, VG_ERR_NOMEM, "tensor_new", "out of memory growing the tape");
    }
    return t;
}

vg_tensor *vg_detach(vg_ctx *ctx, vg_tensor *x) {
    if (!vg_op_inputs_ok(ctx, "detach", 1, &x)) return NULL;
    return view_record(ctx, "detach", x);
}

vg_tensor *vg_tensor_zeros(vg_ctx *ctx, int ndim, const int64_t *shape, int requires_grad) {
    vg_tensor *t = vg_tensor_new(ctx, ndim, shape, requires_grad);
    if (t) ctx->be->zero(t->data, (size_t)t->numel * sizeof(vg_real));
    return t;
}

vg_tensor *vg_tensor_from(vg_ctx *ctx, int ndim, const int64_t *shape, const vg_real *host) {
    vg_tensor *t = vg_tensor_new(ctx, ndim, shape, 0);
    if (t) ctx->be->upload(t->data, host, (size_t)t->numel * sizeof(vg_real));
    return t;
}

vg_status vg_tensor_fill_normal(vg_tensor *t, uint64_t seed, uint64_t offset, double mean, double std) {
    if (!t) return vg_fail(VG_ERR_INVALID, "fill_normal: NULL tensor");
    t->ctx->be->rng_normal(t->data, t->numel, seed, offset, mean, std);
    return VG_OK;
}

vg_status vg_tensor_fill_uniform(vg_tensor *t, uint64_t seed, uint64_t offset, double lo, double hi) {
    if (!t) return vg_fail(VG_ERR_INVALID, "fill_uniform: NULL tensor");
    t->ctx->be->rng_uniform(t->data, t->numel, seed, offset, lo, hi);
    return VG_OK;
}

int vg_tensor_ndim(const vg_tensor *t) { return t->ndim; }
int64_t vg_tensor_numel(const vg_tensor *t) { return t->numel; }
int64_t vg_tensor_dim(const vg_tensor *t, int i) {
    int d = vg_op_dim(i, t->ndim);
    return d < 0 ? -1 : t->shape[d];
}

vg_status vg_tensor_read(const vg_tensor *t, vg_real *host) {
    if (!t) return vg_fail(VG_ERR_INVALID, "tensor_read: NULL tensor");
    t->ctx->be->download(host, t->data, (size_t)t->numel * sizeof(vg_real));
    return poll_backend(t->ctx);
}

vg_status vg_tensor_write(vg_tensor *t, const vg_real *host) {
    if (!t) return vg_fail(VG_ERR_INVALID, "tensor_write: NULL tensor");
    t->ctx->be->upload(t->data, host, (size_t)t->numel * sizeof(vg_real));
    return poll_backend(t->ctx);
}

vg_status vg_tensor_read_grad(const vg_tensor *t, vg_real *host) {
    if (!t) return vg_fail(VG_ERR_INVALID, "tensor_read_grad: NULL tensor");
    if (!t->grad) {
        /* requires_grad but unreached by the loss: its gradient is zero */
        if (!t->requires_grad && !t->is_param)
            return vg_fail(VG_ERR_INVALID, "tensor_read_grad: tensor does not require grad");
        memset(host, 0, (size_t)t->numel * sizeof(vg_real));
        return VG_OK;
    }
    t->ctx->be->download(host, t->grad, (size_t)t->numel * sizeof(vg_real));
    return poll_backend(t->ctx);
}

vg_status vg_tensor_copy(vg_tensor *dst, const vg_tensor *src) {
    if (!dst || !src) return vg_fail(VG_ERR_INVALID, "tensor_copy: NULL tensor");
    if (dst->numel != src->numel)
        return vg_fail(VG_ERR_INVALID, "tensor_copy: %lld elements into %lld", (long long)src->numel, (long long)dst->numel);
    dst->ctx->be->copy(dst->data, src->data, (size_t)dst->numel * sizeof(vg_real));
    return VG_OK;
}

double vg_tensor_item(const vg_tensor *t) {
    vg_real v = 0;
    if (t && t->numel > 0) t->ctx->be->download(&v, t->data, sizeof v);
    return (double)v;
}

/* ---- backward ------------------------------------------------------------ */

static vg_status run_backward(vg_ctx *ctx, vg_tensor *out, const vg_real *host_grad, int scalar) {
    if (!out) return vg_fail(ctx->status != VG_OK ? ctx->status : VG_ERR_INVALID,
                             "backward: output is NULL (an earlier op failed: %s)", vg_last_error());
    if (ctx->status != VG_OK) return ctx->status;
    if (scalar && out->numel != 1)
        return vg_fail(VG_ERR_INVALID, "backward: loss has %lld elements; use vg_backward_with for non-scalars",
                       (long long)out->numel);
    if (!out->requires_grad) return vg_fail(VG_ERR_INVALID, "backward: output does not depend on anything that requires grad");
    /* Activation gradients from an earlier backward in this step start over. */
    for (int64_t i = 0; i < ctx->tape_len; i++) ctx->tape[i]->grad = NULL;
    vg_real *g = vg_op_grad(ctx, out);
    if (!g) return ctx->status != VG_OK ? ctx->status : vg_fail(VG_ERR_NOMEM, "backward: out of memory");
    if (host_grad)
        ctx->be->upload(g, host_grad, (size_t)out->numel * sizeof(vg_real));
    else
        ctx->be->fill(g, 1, 1.0);
    ctx->n_free = 0;
    vg_status st = VG_OK;
    for (int64_t i = ctx->tape_len - 1; i >= 0; i--) {
        vg_tensor *node = ctx->tape[i];
        if (!node->grad || !node->backward) continue; /* unreached, or a leaf */
        node->backward(ctx, node);
        poll_backend(ctx);
        if (ctx->status != VG_OK) {
            st = ctx->status;
            break;
        }
        /* nothing reads an intermediate gradient after its op's backward
         * (unless the op handed it to an input: then it is the input's) */
        if (node->grad) give_free_grad(ctx, node->grad, node->numel);
        node->grad = NULL;
    }
    ctx->n_free = 0; /* the buffers stay in the arena until the next reset or release */
    return st;
}

vg_status vg_backward(vg_ctx *ctx, vg_tensor *loss) { return run_backward(ctx, loss, NULL, 1); }

vg_status vg_backward_with(vg_ctx *ctx, vg_tensor *out, const vg_real *host_grad) {
    if (!host_grad) return vg_fail(VG_ERR_INVALID, "backward_with: no upstream gradient given");
    return run_backward(ctx, out, host_grad, 0);
}
