/* Resampling and pooling on (N, C, H, W) or (N, C, T, H, W) inputs:
 * vg_upsample = F.interpolate(x, size=out_size, mode='nearest' |
 * 'bilinear' / 'trilinear', align_corners), vg_avg_pool = F.avg_pool2d/3d and
 * vg_max_pool = F.max_pool2d/3d (ceil_mode=False, dilation 1). 2-D inputs
 * run through the 3-D kernels with T = 1. */
#include "ops/op.h"

#include "core/checked.h"

/* ---- upsample ------------------------------------------------------------------ */

typedef struct upsample_saved {
    struct vg_upsample_desc d;
} upsample_saved;

static void upsample_backward(vg_ctx *ctx, vg_tensor *node) {
    const upsample_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, node->src[0]);
    if (dx) ctx->be->upsample_backward(dx, node->grad, &s->d);
}

vg_tensor *vg_upsample(vg_ctx *ctx, vg_tensor *x, const int64_t *out_size, vg_interp mode, int align_corners) {
    const char *op = "upsample";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, upsample_forward);
    VG_NEED_KERNEL(ctx, op, upsample_backward);
    char s1[96];
    if (x->ndim != 4 && x->ndim != 5)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "input must be 4-D (N, C, H, W) or 5-D (N, C, T, H, W), got %s",
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
    if (!out_size) return vg_op_fail(ctx, VG_ERR_INVALID, op, "out_size is NULL");
    if (mode != VG_INTERP_NEAREST && mode != VG_INTERP_LINEAR)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "unknown mode %d (expected nearest or linear)", (int)mode);
    if (mode == VG_INTERP_NEAREST && align_corners)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "align_corners only applies to linear modes, not nearest");
    int spatial = x->ndim - 2;
    upsample_saved *sv = vg_op_saved(ctx, op, sizeof *sv);
    if (!sv) return NULL;
    struct vg_upsample_desc *d = &sv->d;
    *d = (struct vg_upsample_desc){.NC = x->shape[0] * x->shape[1],
                                   .mode = mode == VG_INTERP_NEAREST ? VG_UPSAMPLE_NEAREST : VG_UPSAMPLE_LINEAR,
                                   .align_corners = align_corners != 0};
    int64_t out_shape[5] = {x->shape[0], x->shape[1]};
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - spatial); /* < 0: the T axis of a 2-D input */
        if (j < 0) {
            d->in[i] = d->out[i] = 1;
            continue;
        }
        if (x->shape[2 + j] <= 0 || out_size[j] <= 0)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "input %s to out_size %lld in spatial dim %d: sizes must be > 0",
                              vg_shape_str(s1, sizeof s1, x->ndim, x->shape), (long long)out_size[j], j);
        d->in[i] = x->shape[2 + j];
        d->out[i] = out_shape[2 + j] = out_size[j];
    }
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, out_shape, &x, 1, upsample_backward);
    if (!out) return NULL;
    out->saved = sv;
    if (out->numel > 0) ctx->be->upsample_forward(out->data, x->data, d);
    return out;
}

/* ---- pooling ------------------------------------------------------------------- */

typedef struct pool_saved {
    struct vg_pool_desc d;
    int64_t *argmax; /* max pooling: (N, C, out...) indices within each input plane */
} pool_saved;

static void avgpool_backward(vg_ctx *ctx, vg_tensor *node) {
    const pool_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, node->src[0]);
    if (dx) ctx->be->avgpool_backward(dx, node->grad, &s->d);
}

static void maxpool_backward(vg_ctx *ctx, vg_tensor *node) {
    const pool_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, node->src[0]);
    if (dx) ctx->be->maxpool_backward(dx, node->grad, s->argmax, &s->d);
}

/* Checks the arguments as torch does and fills the descriptor; returns the
 * saved record or NULL (failure recorded). */
static pool_saved *pool_setup(vg_ctx *ctx, const char *op, vg_tensor *x, vg_pool_args a, int64_t *out_shape) {
    char s1[96];
    if (x->ndim != 4 && x->ndim != 5) {
        vg_op_fail(ctx, VG_ERR_INVALID, op, "input must be 4-D (N, C, H, W) or 5-D (N, C, T, H, W), got %s",
                   vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
        return NULL;
    }
    int spatial = x->ndim - 2;
    pool_saved *sv = vg_op_saved(ctx, op, sizeof *sv);
    if (!sv) return NULL;
    struct vg_pool_desc *d = &sv->d;
    *d = (struct vg_pool_desc){.NC = x->shape[0] * x->shape[1], .count_include_pad = a.count_include_pad != 0};
    sv->argmax = NULL;
    out_shape[0] = x->shape[0];
    out_shape[1] = x->shape[1];
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - spatial);
        if (j < 0) {
            d->in[i] = d->out[i] = 1;
            d->k[i] = d->s[i] = 1;
            d->p[i] = 0;
            continue;
        }
        int k = a.kernel[j], s = a.stride[j] ? a.stride[j] : k, p = a.padding[j];
        int64_t n = x->shape[2 + j];
        if (k <= 0 || s < 0 || p < 0) {
            vg_op_fail(ctx, VG_ERR_INVALID, op, "kernel %d, stride %d, padding %d in spatial dim %d: kernel must be > 0, "
                       "stride and padding >= 0", k, a.stride[j], p, j);
            return NULL;
        }
        if (p > k / 2) {
            vg_op_fail(ctx, VG_ERR_INVALID, op, "padding %d must be at most half the kernel %d (spatial dim %d)", p, k, j);
            return NULL;
        }
        if (n + 2 * (int64_t)p < k) {
            vg_op_fail(ctx, VG_ERR_INVALID, op, "input %s is smaller than kernel %d with padding %d in spatial dim %d",
                       vg_shape_str(s1, sizeof s1, x->ndim, x->shape), k, p, j);
            return NULL;
        }
        d->in[i] = n;
        d->out[i] = out_shape[2 + j] = (n + 2 * (int64_t)p - k) / s + 1;
        d->k[i] = k;
        d->s[i] = s;
        d->p[i] = p;
    }
    return sv;
}

vg_tensor *vg_avg_pool(vg_ctx *ctx, vg_tensor *x, vg_pool_args a) {
    const char *op = "avg_pool";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, avgpool_forward);
    VG_NEED_KERNEL(ctx, op, avgpool_backward);
    int64_t out_shape[5];
    pool_saved *sv = pool_setup(ctx, op, x, a, out_shape);
    if (!sv) return NULL;
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, out_shape, &x, 1, avgpool_backward);
    if (!out) return NULL;
    out->saved = sv;
    if (out->numel > 0) ctx->be->avgpool_forward(out->data, x->data, &sv->d);
    return out;
}

vg_tensor *vg_max_pool(vg_ctx *ctx, vg_tensor *x, vg_pool_args a) {
    const char *op = "max_pool";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, maxpool_forward);
    VG_NEED_KERNEL(ctx, op, maxpool_backward);
    int64_t out_shape[5];
    pool_saved *sv = pool_setup(ctx, op, x, a, out_shape);
    if (!sv) return NULL;
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, out_shape, &x, 1, maxpool_backward);
    if (!out) return NULL;
    out->saved = sv;
    /* int64 indices in a buffer of vg_real elements (the arena is 64-byte aligned) */
    int64_t bytes;
    if (!vg_mul_ok(out->numel, (int64_t)sizeof(int64_t), &bytes))
        return vg_op_fail(ctx, VG_ERR_NOMEM, op, "argmax of %lld elements overflows", (long long)out->numel);
    sv->argmax = (int64_t *)vg_op_buffer(ctx, op, (bytes + (int64_t)sizeof(vg_real) - 1) / (int64_t)sizeof(vg_real));
    if (!sv->argmax) return NULL;
    if (out->numel > 0) ctx->be->maxpool_forward(out->data, sv->argmax, x->data, &sv->d);
    return out;
}
