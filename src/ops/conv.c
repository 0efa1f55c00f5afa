/* Convolutions: conv2d, conv3d, conv_transpose2d, conv_transpose3d, matching
 * torch.nn.functional's (groups = 1, dilation = 1). 2-D convs run as 3-D with
 * T = 1 and a 1-frame kernel, so one pair of kernels serves all four. */
#include "ops/op.h"

typedef struct conv_saved {
    struct vg_conv_desc d;
} conv_saved;

static void conv_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0], *w = node->src[1], *b = node->src[2];
    const conv_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x), *dw = vg_op_grad(ctx, w), *db = vg_op_grad(ctx, b);
    if (!dx && !dw && !db) return;
    vg_op_lend_workspace(ctx);
    ctx->be->conv_backward(dx, dw, db, node->grad, x->data, w->data, &s->d);
    vg_op_end_workspace(ctx);
}

static vg_tensor *conv(vg_ctx *ctx, const char *op, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a,
                       int spatial, int transposed) {
    vg_tensor *in[3] = {x, w, b};
    if (!vg_op_inputs_ok(ctx, op, b ? 3 : 2, in)) return NULL;
    VG_NEED_KERNEL(ctx, op, conv_forward);
    VG_NEED_KERNEL(ctx, op, conv_backward);
    char s1[96], s2[96];
    int nd = spatial + 2;
    if (x->ndim != nd)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "input must be %d-D (N, C, %s), got %s", nd,
                          spatial == 3 ? "T, H, W" : "H, W", vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
    if (w->ndim != nd)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "weight must be %d-D, got %s", nd,
                          vg_shape_str(s1, sizeof s1, w->ndim, w->shape));
    int64_t c_in = x->shape[1];
    int64_t w_in = transposed ? w->shape[0] : w->shape[1];
    int64_t c_out = transposed ? w->shape[1] : w->shape[0];
    if (w_in != c_in)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "input has %lld channels but weight %s expects %lld (layout %s)",
                          (long long)c_in, vg_shape_str(s1, sizeof s1, w->ndim, w->shape), (long long)w_in,
                          transposed ? "(C_in, C_out, k...)" : "(C_out, C_in, k...)");
    if (b && (b->ndim != 1 || b->shape[0] != c_out))
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "bias must be (%lld), got %s", (long long)c_out,
                          vg_shape_str(s1, sizeof s1, b->ndim, b->shape));
    conv_saved *sv = vg_op_saved(ctx, op, sizeof *sv);
    if (!sv) return NULL;
    struct vg_conv_desc *d = &sv->d;
    *d = (struct vg_conv_desc){.N = x->shape[0], .C_in = c_in, .C_out = c_out, .transposed = transposed,
                                .precision = ctx->precision};
    int64_t out_shape[5] = {x->shape[0], c_out};
    for (int i = 0; i < 3; i++) {
        int j = i - (3 - spatial); /* index into the op's spatial arguments; < 0 is the T axis of a 2-D conv */
        if (j < 0) {
            d->in[i] = d->out[i] = 1;
            d->k[i] = d->s[i] = 1;
            continue;
        }
        int k = (int)w->shape[2 + j], s = a.stride[j] ? a.stride[j] : 1, p = a.padding[j], op_ = a.output_padding[j];
        int64_t n = x->shape[2 + j];
        if (s < 0 || p < 0 || op_ < 0)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "negative stride/padding in spatial dim %d", j);
        if (!transposed && op_ != 0)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "output_padding is only for transposed convolutions");
        if (transposed && op_ >= s)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "output_padding %d must be smaller than stride %d (dim %d)", op_, s, j);
        int64_t o = transposed ? (n - 1) * s - 2 * (int64_t)p + k + op_ : (n + 2 * (int64_t)p - k) / s + 1;
        if (n <= 0 || o <= 0 || (!transposed && n + 2 * (int64_t)p < k))
            return vg_op_fail(ctx, VG_ERR_INVALID, op,
                              "input %s with kernel %s, stride %d, padding %d gives no output in spatial dim %d",
                              vg_shape_str(s1, sizeof s1, x->ndim, x->shape), vg_shape_str(s2, sizeof s2, w->ndim, w->shape),
                              s, p, j);
        d->in[i] = n;
        d->out[i] = o;
        d->k[i] = k;
        d->s[i] = s;
        d->p[i] = p;
        d->op[i] = op_;
        out_shape[2 + j] = o;
    }
    vg_tensor *out = vg_op_output(ctx, op, nd, out_shape, in, 3, conv_backward);
    if (!out) return NULL;
    out->saved = sv;
    vg_op_lend_workspace(ctx);
    ctx->be->conv_forward(out->data, x->data, w->data, b ? b->data : NULL, d);
    vg_op_end_workspace(ctx);
    return out;
}

vg_tensor *vg_conv2d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a) {
    return conv(ctx, "conv2d", x, w, b, a, 2, 0);
}
vg_tensor *vg_conv3d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a) {
    return conv(ctx, "conv3d", x, w, b, a, 3, 0);
}
vg_tensor *vg_conv_transpose2d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a) {
    return conv(ctx, "conv_transpose2d", x, w, b, a, 2, 1);
}
vg_tensor *vg_conv_transpose3d(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b, vg_conv_args a) {
    return conv(ctx, "conv_transpose3d", x, w, b, a, 3, 1);
}
