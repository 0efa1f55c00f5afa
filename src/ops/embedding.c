/* vg_embedding = torch.nn.functional.embedding(idx, weight) without
 * padding_idx or max_norm: out (n, D) = weight[idx]. The host indices are
 * checked here and copied into the step arena for the kernels; the backward
 * scatter-adds into the weight gradient (repeated indices accumulate). */
#include "ops/op.h"

#include "core/checked.h"

typedef struct embedding_saved {
    int64_t *idx; /* (n) in backend memory */
    int64_t n, dim;
} embedding_saved;

static void embedding_backward(vg_ctx *ctx, vg_tensor *node) {
    const embedding_saved *s = node->saved;
    vg_real *dw = vg_op_grad(ctx, node->src[0]);
    if (dw && s->n > 0) ctx->be->embedding_backward(dw, node->grad, s->idx, s->n, s->dim);
}

vg_tensor *vg_embedding(vg_ctx *ctx, vg_tensor *weight, const int64_t *idx, int64_t n) {
    const char *op = "embedding";
    if (!vg_op_inputs_ok(ctx, op, 1, &weight)) return NULL;
    VG_NEED_KERNEL(ctx, op, embedding_forward);
    VG_NEED_KERNEL(ctx, op, embedding_backward);
    char s1[96];
    if (weight->ndim != 2)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "weight must be 2-D (V, D), got %s",
                          vg_shape_str(s1, sizeof s1, weight->ndim, weight->shape));
    if (n < 0 || (n > 0 && !idx))
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "%lld indices at %p", (long long)n, (const void *)idx);
    int64_t V = weight->shape[0], D = weight->shape[1];
    for (int64_t i = 0; i < n; i++)
        if (idx[i] < 0 || idx[i] >= V)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "index %lld at position %lld is out of range [0, %lld)",
                              (long long)idx[i], (long long)i, (long long)V);
    embedding_saved *sv = vg_op_saved(ctx, op, sizeof *sv);
    if (!sv) return NULL;
    sv->n = n;
    sv->dim = D;
    int64_t bytes;
    if (!vg_mul_ok(n, (int64_t)sizeof(int64_t), &bytes))
        return vg_op_fail(ctx, VG_ERR_NOMEM, op, "%lld indices overflow", (long long)n);
    /* int64 indices in a buffer of vg_real elements (the arena is 64-byte aligned) */
    sv->idx = (int64_t *)vg_op_buffer(ctx, op, (bytes + (int64_t)sizeof(vg_real) - 1) / (int64_t)sizeof(vg_real));
    if (!sv->idx) return NULL;
    if (n > 0) ctx->be->upload(sv->idx, idx, (size_t)bytes);
    int64_t out_shape[2] = {n, D};
    vg_tensor *out = vg_op_output(ctx, op, 2, out_shape, &weight, 1, embedding_backward);
    if (!out) return NULL;
    out->saved = sv;
    if (n > 0) ctx->be->embedding_forward(out->data, weight->data, sv->idx, n, D);
    return out;
}
