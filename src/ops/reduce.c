/* Reductions: vg_sum / vg_mean over every element and vg_sum_dim /
 * vg_mean_dim over one dim, matching torch.sum / torch.mean (with dim and
 * keepdim). Differences from torch, by design (the engine has no 0-d
 * tensors): a reduction over everything returns shape (1), where torch
 * returns a 0-d tensor, and so does sum_dim/mean_dim of a 1-D tensor with
 * keepdim = 0. The mean of an empty tensor is NaN, as torch.
 *
 * The kernels accumulate in double and are deterministic (see
 * backend/cpu/layout.c). */
#include <math.h>

#include "ops/op.h"

typedef struct reduce_saved {
    struct vg_reduce_desc d;
} reduce_saved;

static void reduce_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    const reduce_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x);
    if (dx) ctx->be->reduce_backward(dx, node->grad, &s->d);
}

/* x viewed as (outer, len, inner) -> out of the given shape. */
static vg_tensor *reduce(vg_ctx *ctx, const char *op, vg_tensor *x, int64_t outer, int64_t len, int64_t inner,
                         int mean, int ndim, const int64_t *shape) {
    VG_NEED_KERNEL(ctx, op, reduce_forward);
    VG_NEED_KERNEL(ctx, op, reduce_backward);
    reduce_saved *s = vg_op_saved(ctx, op, sizeof *s);
    vg_tensor *out = s ? vg_op_output(ctx, op, ndim, shape, &x, 1, reduce_backward) : NULL;
    if (!out) return NULL;
    s->d = (struct vg_reduce_desc){.outer = outer, .len = len, .inner = inner,
                                   .scale = !mean ? 1.0 : len > 0 ? 1.0 / (double)len : NAN};
    out->saved = s;
    ctx->be->reduce_forward(out->data, x->data, &s->d);
    return out;
}

static vg_tensor *reduce_all(vg_ctx *ctx, const char *op, vg_tensor *x, int mean) {
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    int64_t one = 1;
    return reduce(ctx, op, x, 1, x->numel, 1, mean, 1, &one);
}

static vg_tensor *reduce_dim(vg_ctx *ctx, const char *op, vg_tensor *x, int dim, int keepdim, int mean) {
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    char s1[128];
    int d = vg_op_dim(dim, x->ndim);
    if (d < 0)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "dim %d out of range for input %s", dim,
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
    int64_t shape[VG_MAX_DIMS], outer = 1, inner = 1;
    int nd = 0;
    for (int k = 0; k < x->ndim; k++) {
        if (k < d) outer *= x->shape[k];
        if (k > d) inner *= x->shape[k];
        if (k != d)
            shape[nd++] = x->shape[k];
        else if (keepdim)
            shape[nd++] = 1;
    }
    if (nd == 0) shape[nd++] = 1; /* torch: 0-d */
    return reduce(ctx, op, x, outer, x->shape[d], inner, mean, nd, shape);
}

vg_tensor *vg_sum(vg_ctx *ctx, vg_tensor *x) { return reduce_all(ctx, "sum", x, 0); }
vg_tensor *vg_mean(vg_ctx *ctx, vg_tensor *x) { return reduce_all(ctx, "mean", x, 1); }
vg_tensor *vg_sum_dim(vg_ctx *ctx, vg_tensor *x, int dim, int keepdim) {
    return reduce_dim(ctx, "sum_dim", x, dim, keepdim, 0);
}
vg_tensor *vg_mean_dim(vg_ctx *ctx, vg_tensor *x, int dim, int keepdim) {
    return reduce_dim(ctx, "mean_dim", x, dim, keepdim, 1);
}
