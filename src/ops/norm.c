/* Normalisation ops: batch norm (torch.nn.functional.batch_norm), instance
 * norm (instance_norm with use_input_stats=True) and layer norm (layer_norm).
 * Batch norm runs on the batchnorm kernels over (N, C, S); instance and
 * layer norm are both the rownorm kernel, over (N*C, S) rows with a
 * per-channel affine and over (rows, prod(normalized dims)) with a
 * per-column affine. Running statistics are inputs the forward updates in
 * place; they never receive gradients. */
#include "ops/op.h"

typedef struct bn_saved {
    struct vg_batchnorm_desc d;
    vg_real *mean, *invstd; /* (C): the statistics the forward used */
} bn_saved;

typedef struct rownorm_saved {
    struct vg_rownorm_desc d;
    vg_real *mean, *invstd; /* (rows) */
} rownorm_saved;

/* An optional input: NULL is allowed, otherwise it must belong to ctx. */
static int optional_ok(vg_ctx *ctx, const char *op, vg_tensor *t, const char *name) {
    if (t && t->ctx != ctx) {
        vg_op_fail(ctx, VG_ERR_INVALID, op, "%s belongs to another context", name);
        return 0;
    }
    return 1;
}

/* NULL, or a 1-D tensor of length C. */
static int channel_vec_ok(vg_ctx *ctx, const char *op, vg_tensor *t, const char *name, int64_t C) {
    if (!optional_ok(ctx, op, t, name)) return 0;
    if (t && (t->ndim != 1 || t->shape[0] != C)) {
        char buf[96];
        vg_op_fail(ctx, VG_ERR_INVALID, op, "%s must have shape (%lld), got %s", name, (long long)C,
                   vg_shape_str(buf, sizeof buf, t->ndim, t->shape));
        return 0;
    }
    return 1;
}

static int eps_ok(vg_ctx *ctx, const char *op, double eps) {
    if (eps >= 0) return 1;
    vg_op_fail(ctx, VG_ERR_INVALID, op, "eps must be >= 0, got %g", eps);
    return 0;
}

/* ---- batch norm ------------------------------------------------------------ */

/* dx in place in the output's gradient buffer when x has none yet (see
 * vg_op_grad_take) */
static void batch_norm_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0], *w = node->src[1], *b = node->src[2];
    const bn_saved *s = node->saved;
    vg_real *g = ctx->be->batchnorm_backward_inplace ? vg_op_grad_take(x, node) : NULL;
    vg_real *dw = vg_op_grad(ctx, w), *db = vg_op_grad(ctx, b);
    if (g) {
        ctx->be->batchnorm_backward_inplace(g, dw, db, x->data, w ? w->data : NULL, s->mean, s->invstd, &s->d);
        return;
    }
    vg_real *dx = vg_op_grad(ctx, x);
    if (dx || dw || db)
        ctx->be->batchnorm_backward(dx, dw, db, node->grad, x->data, w ? w->data : NULL, s->mean, s->invstd, &s->d);
}

vg_tensor *vg_batch_norm(vg_ctx *ctx, vg_tensor *x, vg_tensor *weight, vg_tensor *bias, vg_tensor *running_mean,
                         vg_tensor *running_var, int training, double momentum, double eps) {
    const char *op = "batch_norm";
    char buf[128];
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, batchnorm_forward);
    VG_NEED_KERNEL(ctx, op, batchnorm_backward);
    if (x->ndim < 2)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "input must be (N, C, ...), got shape %s",
                          vg_shape_str(buf, sizeof buf, x->ndim, x->shape));
    const int64_t N = x->shape[0], C = x->shape[1];
    int64_t S = 1;
    for (int i = 2; i < x->ndim; i++) S *= x->shape[i]; /* numel already checked */
    if (!channel_vec_ok(ctx, op, weight, "weight", C) || !channel_vec_ok(ctx, op, bias, "bias", C) ||
        !channel_vec_ok(ctx, op, running_mean, "running_mean", C) ||
        !channel_vec_ok(ctx, op, running_var, "running_var", C) || !eps_ok(ctx, op, eps))
        return NULL;
    if (!running_mean != !running_var)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "running_mean and running_var must both be given or both be NULL");
    /* without running buffers there is nothing else to normalise with */
    const int batch_stats = training || !running_mean;
    if (batch_stats && N * S <= 1)
        return vg_op_fail(ctx, VG_ERR_INVALID, op,
                          "expected more than 1 value per channel when using batch statistics, got input shape %s",
                          vg_shape_str(buf, sizeof buf, x->ndim, x->shape));
    bn_saved *s = vg_op_saved(ctx, op, sizeof *s);
    vg_real *stats = s ? vg_op_buffer(ctx, op, 2 * (C > 0 ? C : 1)) : NULL;
    vg_tensor *srcs[3] = {x, weight, bias};
    vg_tensor *out = stats ? vg_op_output(ctx, op, x->ndim, x->shape, srcs, 3, batch_norm_backward) : NULL;
    if (!out) return NULL;
    s->d = (struct vg_batchnorm_desc){.N = N, .C = C, .S = S, .eps = eps, .momentum = momentum, .training = batch_stats};
    s->mean = stats;
    s->invstd = stats + C;
    out->saved = s;
    ctx->be->batchnorm_forward(out->data, s->mean, s->invstd, x->data, weight ? weight->data : NULL,
                               bias ? bias->data : NULL, running_mean ? running_mean->data : NULL,
                               running_var ? running_var->data : NULL, &s->d);
    return out;
}

/* ---- instance norm and layer norm: row norm -------------------------------- */

static void rownorm_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0], *w = node->src[1], *b = node->src[2];
    const rownorm_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x), *dw = vg_op_grad(ctx, w), *db = vg_op_grad(ctx, b);
    if (dx || dw || db)
        ctx->be->rownorm_backward(dx, dw, db, node->grad, x->data, w ? w->data : NULL, s->mean, s->invstd, &s->d);
}

static vg_tensor *rownorm(vg_ctx *ctx, const char *op, vg_tensor *x, vg_tensor *weight, vg_tensor *bias,
                          struct vg_rownorm_desc d) {
    VG_NEED_KERNEL(ctx, op, rownorm_forward);
    VG_NEED_KERNEL(ctx, op, rownorm_backward);
    rownorm_saved *s = vg_op_saved(ctx, op, sizeof *s);
    vg_real *stats = s ? vg_op_buffer(ctx, op, 2 * (d.rows > 0 ? d.rows : 1)) : NULL;
    vg_tensor *srcs[3] = {x, weight, bias};
    vg_tensor *out = stats ? vg_op_output(ctx, op, x->ndim, x->shape, srcs, 3, rownorm_backward) : NULL;
    if (!out) return NULL;
    s->d = d;
    s->mean = stats;
    s->invstd = stats + d.rows;
    out->saved = s;
    ctx->be->rownorm_forward(out->data, s->mean, s->invstd, x->data, weight ? weight->data : NULL,
                             bias ? bias->data : NULL, &s->d);
    return out;
}

vg_tensor *vg_instance_norm(vg_ctx *ctx, vg_tensor *x, vg_tensor *weight, vg_tensor *bias, double eps) {
    const char *op = "instance_norm";
    char buf[128];
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    if (x->ndim < 3)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "input must be (N, C, spatial...), got shape %s",
                          vg_shape_str(buf, sizeof buf, x->ndim, x->shape));
    const int64_t N = x->shape[0], C = x->shape[1];
    int64_t S = 1;
    for (int i = 2; i < x->ndim; i++) S *= x->shape[i];
    if (!channel_vec_ok(ctx, op, weight, "weight", C) || !channel_vec_ok(ctx, op, bias, "bias", C) ||
        !eps_ok(ctx, op, eps))
        return NULL;
    if (S <= 1) /* as torch: one value per instance has no variance */
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "expected more than 1 spatial element, got input shape %s",
                          vg_shape_str(buf, sizeof buf, x->ndim, x->shape));
    struct vg_rownorm_desc d = {.rows = N * C, .cols = S, .C = C, .eps = eps,
                                .affine = (weight || bias) ? VG_AFFINE_PER_CHANNEL : VG_AFFINE_NONE};
    return rownorm(ctx, op, x, weight, bias, d);
}

vg_tensor *vg_layer_norm(vg_ctx *ctx, vg_tensor *x, int norm_ndim, vg_tensor *weight, vg_tensor *bias, double eps) {
    const char *op = "layer_norm";
    char bx[128], bn[128], bw[128];
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    if (norm_ndim < 1 || norm_ndim > x->ndim)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "norm_ndim must be in [1, %d] for input shape %s, got %d",
                          x->ndim, vg_shape_str(bx, sizeof bx, x->ndim, x->shape), norm_ndim);
    const int64_t *norm_shape = x->shape + (x->ndim - norm_ndim);
    int64_t cols = 1;
    for (int i = 0; i < norm_ndim; i++) cols *= norm_shape[i];
    vg_tensor *affine[2] = {weight, bias};
    const char *names[2] = {"weight", "bias"};
    for (int k = 0; k < 2; k++) {
        vg_tensor *t = affine[k];
        if (!optional_ok(ctx, op, t, names[k])) return NULL;
        int same = t && t->ndim == norm_ndim;
        for (int i = 0; same && i < norm_ndim; i++) same = t->shape[i] == norm_shape[i];
        if (t && !same)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "%s must have shape %s (the last %d dims of input %s), got %s",
                              names[k], vg_shape_str(bn, sizeof bn, norm_ndim, norm_shape), norm_ndim,
                              vg_shape_str(bx, sizeof bx, x->ndim, x->shape),
                              vg_shape_str(bw, sizeof bw, t->ndim, t->shape));
    }
    if (!eps_ok(ctx, op, eps)) return NULL;
    struct vg_rownorm_desc d = {.rows = cols > 0 ? x->numel / cols : 0, .cols = cols, .C = 1, .eps = eps,
                                .affine = (weight || bias) ? VG_AFFINE_PER_COL : VG_AFFINE_NONE};
    return rownorm(ctx, op, x, weight, bias, d);
}
