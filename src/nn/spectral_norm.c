/* Spectral normalisation, written as forward code over the engine's ops;
 * see spectral_norm.h. */
#include "nn/spectral_norm.h"

#include "ops/ctx.h"

/* x / (|x| + eps); torch divides by max(|x|, eps): the same for any vector
 * that is not already (numerically) zero. */
static vg_tensor *normalize(vg_ctx *ctx, vg_tensor *x, double eps) {
    return vg_div(ctx, x, vg_affine(ctx, vg_sqrt(ctx, vg_sum(ctx, vg_square(ctx, x))), 1.0, eps));
}

vg_tensor *vg_spectral_norm(vg_ctx *ctx, vg_tensor *weight, vg_tensor *u, vg_tensor *v, int training, double eps) {
    if (!weight || !u || !v) return NULL;
    int64_t out = vg_tensor_dim(weight, 0), rest = vg_tensor_numel(weight) / (out > 0 ? out : 1);
    if (training) {
        int grad = ctx->grad_enabled;
        vg_ctx_set_grad_enabled(ctx, 0);
        vg_tensor *W = vg_reshape(ctx, vg_detach(ctx, weight), 2, (int64_t[]){out, rest});
        vg_tensor *u_row = vg_reshape(ctx, u, 2, (int64_t[]){1, out});
        vg_tensor *v_new = normalize(ctx, vg_matmul(ctx, u_row, W), eps);                      /* (1, rest) */
        vg_tensor *Wv = vg_matmul(ctx, W, vg_reshape(ctx, v_new, 2, (int64_t[]){rest, 1})); /* (out, 1) */
        vg_tensor *u_new = normalize(ctx, Wv, eps);
        vg_ctx_set_grad_enabled(ctx, grad);
        if (!u_new) return NULL;
        vg_tensor_copy(v, v_new);
        vg_tensor_copy(u, u_new);
    }
    vg_tensor *W = vg_reshape(ctx, weight, 2, (int64_t[]){out, rest});
    vg_tensor *Wv = vg_matmul(ctx, W, vg_reshape(ctx, vg_detach(ctx, v), 2, (int64_t[]){rest, 1}));
    vg_tensor *sigma = vg_sum(ctx, vg_mul(ctx, vg_reshape(ctx, vg_detach(ctx, u), 2, (int64_t[]){out, 1}), Wv));
    return vg_div(ctx, weight, sigma);
}
