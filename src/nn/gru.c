/* vg_gru_cell = torch.nn.GRUCell, written as forward code over public ops
 * (autograd does the rest). Gate order in the stacked weights is (r, z, n):
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h */
#include "ops/op.h"

vg_tensor *vg_gru_cell(vg_ctx *ctx, vg_tensor *x, vg_tensor *h, vg_tensor *w_ih, vg_tensor *w_hh, vg_tensor *b_ih,
                       vg_tensor *b_hh) {
    const char *op = "gru_cell";
    vg_tensor *in[4] = {x, h, w_ih, w_hh};
    if (!vg_op_inputs_ok(ctx, op, 4, in)) return NULL;
    char s1[96], s2[96];
    if (x->ndim != 2 || h->ndim != 2 || x->shape[0] != h->shape[0])
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "x must be (N, in) and h (N, hidden), got %s and %s",
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape), vg_shape_str(s2, sizeof s2, h->ndim, h->shape));
    int64_t I = x->shape[1], H = h->shape[1];
    if (w_ih->ndim != 2 || w_ih->shape[0] != 3 * H || w_ih->shape[1] != I)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "w_ih must be (%lld, %lld), got %s", (long long)(3 * H),
                          (long long)I, vg_shape_str(s1, sizeof s1, w_ih->ndim, w_ih->shape));
    if (w_hh->ndim != 2 || w_hh->shape[0] != 3 * H || w_hh->shape[1] != H)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "w_hh must be (%lld, %lld), got %s", (long long)(3 * H),
                          (long long)H, vg_shape_str(s1, sizeof s1, w_hh->ndim, w_hh->shape));
    vg_tensor *bias[2] = {b_ih, b_hh};
    for (int i = 0; i < 2; i++)
        if (bias[i] && (bias[i]->ndim != 1 || bias[i]->shape[0] != 3 * H))
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "%s must be (%lld), got %s", i ? "b_hh" : "b_ih",
                              (long long)(3 * H), vg_shape_str(s1, sizeof s1, bias[i]->ndim, bias[i]->shape));

    vg_tensor *gi = vg_linear(ctx, x, w_ih, b_ih); /* (N, 3H) */
    vg_tensor *gh = vg_linear(ctx, h, w_hh, b_hh); /* (N, 3H) */
    vg_tensor *r = vg_sigmoid(ctx, vg_add(ctx, vg_slice(ctx, gi, 1, 0, H, 1), vg_slice(ctx, gh, 1, 0, H, 1)));
    vg_tensor *z = vg_sigmoid(ctx, vg_add(ctx, vg_slice(ctx, gi, 1, H, 2 * H, 1), vg_slice(ctx, gh, 1, H, 2 * H, 1)));
    vg_tensor *n = vg_tanh(ctx, vg_add(ctx, vg_slice(ctx, gi, 1, 2 * H, 3 * H, 1),
                                       vg_mul(ctx, r, vg_slice(ctx, gh, 1, 2 * H, 3 * H, 1))));
    return vg_add(ctx, vg_mul(ctx, vg_affine(ctx, z, -1.0, 1.0), n), vg_mul(ctx, z, h));
}
