/* Elementwise ops: activations and other unary maps, and the broadcasting
 * binary ops add/sub/mul/div (numpy broadcasting rules, as torch). */
#include "ops/op.h"

typedef struct unary_saved {
    struct vg_unary_desc d;
} unary_saved;

/* x's gradient: in place in node's buffer when x has none yet (see
 * vg_op_grad_take), else accumulated into x's own; inp is the input the
 * kernel is given. */
static void unary_grad(vg_ctx *ctx, vg_tensor *node, const vg_real *inp) {
    vg_tensor *x = node->src[0];
    const unary_saved *s = node->saved;
    vg_real *g = ctx->be->unary_backward_inplace ? vg_op_grad_take(x, node) : NULL;
    if (g) {
        ctx->be->unary_backward_inplace(g, inp, node->data, x->numel, &s->d);
        return;
    }
    vg_real *dx = vg_op_grad(ctx, x);
    if (dx) ctx->be->unary_backward(dx, node->grad, inp, node->data, x->numel, &s->d);
}

static void unary_backward(vg_ctx *ctx, vg_tensor *node) { unary_grad(ctx, node, node->src[0]->data); }

static vg_tensor *unary(vg_ctx *ctx, const char *op, vg_tensor *x, enum vg_unary_kind kind, double alpha,
                        double beta) {
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, unary_forward);
    VG_NEED_KERNEL(ctx, op, unary_backward);
    unary_saved *s = vg_op_saved(ctx, op, sizeof *s);
    vg_tensor *out = s ? vg_op_output(ctx, op, x->ndim, x->shape, &x, 1, unary_backward) : NULL;
    if (!out) return NULL;
    s->d = (struct vg_unary_desc){kind, alpha, beta};
    out->saved = s;
    ctx->be->unary_forward(out->data, x->data, x->numel, &s->d);
    return out;
}

/* In place: the input's memory now holds the output; relu and leaky relu
 * (slope > 0) have the same sign pattern in both, and the slopes of tanh
 * and sigmoid are functions of the output alone, so the backward kernel is
 * given the output as its input. */
static void unary_inplace_backward(vg_ctx *ctx, vg_tensor *node) { unary_grad(ctx, node, node->data); }

static vg_tensor *unary_inplace(vg_ctx *ctx, const char *op, vg_tensor *x, enum vg_unary_kind kind, double alpha) {
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, unary_forward);
    VG_NEED_KERNEL(ctx, op, unary_backward);
    unary_saved *s = vg_op_saved(ctx, op, sizeof *s);
    vg_tensor *out = s ? vg_op_output_inplace(ctx, op, x, unary_inplace_backward) : NULL;
    if (!out) return NULL;
    s->d = (struct vg_unary_desc){kind, alpha, 0};
    out->saved = s;
    ctx->be->unary_forward(out->data, x->data, x->numel, &s->d);
    return out;
}

vg_tensor *vg_relu_inplace(vg_ctx *ctx, vg_tensor *x) { return unary_inplace(ctx, "relu_inplace", x, VG_UNARY_RELU, 0); }
vg_tensor *vg_leaky_relu_inplace(vg_ctx *ctx, vg_tensor *x, double slope) {
    if (!(slope > 0))
        return vg_op_fail(ctx, VG_ERR_INVALID, "leaky_relu_inplace", "negative_slope must be > 0 (got %g)", slope);
    return unary_inplace(ctx, "leaky_relu_inplace", x, VG_UNARY_LEAKY_RELU, slope);
}

vg_tensor *vg_tanh_inplace(vg_ctx *ctx, vg_tensor *x) { return unary_inplace(ctx, "tanh_inplace", x, VG_UNARY_TANH, 0); }
vg_tensor *vg_sigmoid_inplace(vg_ctx *ctx, vg_tensor *x) {
    return unary_inplace(ctx, "sigmoid_inplace", x, VG_UNARY_SIGMOID, 0);
}

vg_tensor *vg_relu(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "relu", x, VG_UNARY_RELU, 0, 0); }
vg_tensor *vg_leaky_relu(vg_ctx *ctx, vg_tensor *x, double slope) {
    return unary(ctx, "leaky_relu", x, VG_UNARY_LEAKY_RELU, slope, 0);
}
vg_tensor *vg_tanh(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "tanh", x, VG_UNARY_TANH, 0, 0); }
vg_tensor *vg_sigmoid(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "sigmoid", x, VG_UNARY_SIGMOID, 0, 0); }
vg_tensor *vg_softplus(vg_ctx *ctx, vg_tensor *x, double beta, double threshold) {
    if (!(beta > 0)) return vg_op_fail(ctx, VG_ERR_INVALID, "softplus", "beta must be > 0, got %g", beta);
    return unary(ctx, "softplus", x, VG_UNARY_SOFTPLUS, beta, threshold);
}
vg_tensor *vg_exp(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "exp", x, VG_UNARY_EXP, 0, 0); }
vg_tensor *vg_log(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "log", x, VG_UNARY_LOG, 0, 0); }
vg_tensor *vg_square(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "square", x, VG_UNARY_SQUARE, 0, 0); }
vg_tensor *vg_abs(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "abs", x, VG_UNARY_ABS, 0, 0); }
vg_tensor *vg_sqrt(vg_ctx *ctx, vg_tensor *x) { return unary(ctx, "sqrt", x, VG_UNARY_SQRT, 0, 0); }
vg_tensor *vg_scale(vg_ctx *ctx, vg_tensor *x, double alpha) { return unary(ctx, "scale", x, VG_UNARY_SCALE, alpha, 0); }
vg_tensor *vg_affine(vg_ctx *ctx, vg_tensor *x, double alpha, double beta) {
    return unary(ctx, "affine", x, VG_UNARY_SCALE, alpha, beta);
}

/* ---- binary ---------------------------------------------------------------- */

typedef struct binary_saved {
    struct vg_binary_desc d;
} binary_saved;

static void binary_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *a = node->src[0], *b = node->src[1];
    const binary_saved *s = node->saved;
    vg_real *da = vg_op_grad(ctx, a), *db = vg_op_grad(ctx, b);
    if (da || db) ctx->be->binary_backward(da, db, node->grad, a->data, b->data, &s->d);
}

/* Right-align both shapes to VG_MAX_DIMS and derive the broadcast output
 * shape and per-dim strides; 0 on incompatible shapes. */
static int broadcast_desc(struct vg_binary_desc *d, const vg_tensor *a, const vg_tensor *b, int *out_ndim) {
    int64_t as[VG_MAX_DIMS], bs[VG_MAX_DIMS];
    for (int k = 0; k < VG_MAX_DIMS; k++) {
        int ka = k - (VG_MAX_DIMS - a->ndim), kb = k - (VG_MAX_DIMS - b->ndim);
        as[k] = ka >= 0 ? a->shape[ka] : 1;
        bs[k] = kb >= 0 ? b->shape[kb] : 1;
        if (as[k] != bs[k] && as[k] != 1 && bs[k] != 1) return 0;
        d->shape[k] = as[k] == 1 ? bs[k] : as[k];
    }
    int64_t sa = 1, sb = 1;
    for (int k = VG_MAX_DIMS - 1; k >= 0; k--) {
        d->a_stride[k] = as[k] == 1 ? 0 : sa;
        d->b_stride[k] = bs[k] == 1 ? 0 : sb;
        sa *= as[k];
        sb *= bs[k];
    }
    d->a_numel = a->numel;
    d->b_numel = b->numel;
    *out_ndim = a->ndim > b->ndim ? a->ndim : b->ndim;
    return 1;
}

static vg_tensor *binary(vg_ctx *ctx, const char *op, vg_tensor *a, vg_tensor *b, enum vg_binary_kind kind) {
    vg_tensor *in[2] = {a, b};
    if (!vg_op_inputs_ok(ctx, op, 2, in)) return NULL;
    VG_NEED_KERNEL(ctx, op, binary_forward);
    VG_NEED_KERNEL(ctx, op, binary_backward);
    binary_saved *s = vg_op_saved(ctx, op, sizeof *s);
    if (!s) return NULL;
    int ndim;
    s->d.kind = kind;
    if (!broadcast_desc(&s->d, a, b, &ndim)) {
        char sa[96], sb[96];
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "shapes %s and %s do not broadcast",
                          vg_shape_str(sa, sizeof sa, a->ndim, a->shape), vg_shape_str(sb, sizeof sb, b->ndim, b->shape));
    }
    vg_tensor *out = vg_op_output(ctx, op, ndim, s->d.shape + (VG_MAX_DIMS - ndim), in, 2, binary_backward);
    if (!out) return NULL;
    out->saved = s;
    ctx->be->binary_forward(out->data, a->data, b->data, &s->d);
    return out;
}

vg_tensor *vg_add(vg_ctx *ctx, vg_tensor *a, vg_tensor *b) { return binary(ctx, "add", a, b, VG_BINARY_ADD); }
vg_tensor *vg_sub(vg_ctx *ctx, vg_tensor *a, vg_tensor *b) { return binary(ctx, "sub", a, b, VG_BINARY_SUB); }
vg_tensor *vg_mul(vg_ctx *ctx, vg_tensor *a, vg_tensor *b) { return binary(ctx, "mul", a, b, VG_BINARY_MUL); }
vg_tensor *vg_div(vg_ctx *ctx, vg_tensor *a, vg_tensor *b) { return binary(ctx, "div", a, b, VG_BINARY_DIV); }
