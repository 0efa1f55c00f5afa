/* Linear algebra: vg_linear = F.linear, vg_matmul = torch.matmul for
 * (M, K) @ (K, N), (B, M, K) @ (B, K, N) and (B, M, K) @ (K, N), and
 * vg_softmax = F.softmax(x, -1). Every product runs through the backend's
 * gemm (row-major, accumulating with beta = 1 in the backward passes), in
 * the context's precision; bias sums are a gemm with a ones vector, so they
 * are as deterministic as the gemm itself. */
#include "ops/op.h"

/* C = alpha op(A) op(B) + beta C for one product or a strided batch; lda,
 * ldb, ldc are the row lengths of A, B, C as stored. */
static void gemm(vg_ctx *ctx, vg_real *C, const vg_real *A, const vg_real *B, int ta, int tb, int64_t M, int64_t N,
                 int64_t K, int64_t batch, int64_t sa, int64_t sb, double beta) {
    struct vg_gemm_desc d = {
        .trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K,
        .lda = ta ? M : K, .ldb = tb ? K : N, .ldc = N,
        .batch = batch, .stride_a = sa, .stride_b = sb, .stride_c = M * N,
        .alpha = 1.0, .beta = beta, .precision = ctx->precision,
    };
    if (M > 0 && N > 0 && batch > 0) ctx->be->gemm(C, A, B, &d);
}

/* ---- linear ------------------------------------------------------------------------ */

typedef struct linear_saved {
    int64_t M, K, N; /* x viewed as (M, K), w (N, K), out (M, N) */
    vg_real *ones;   /* (M) when there is a bias */
} linear_saved;

static void linear_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0], *w = node->src[1], *b = node->src[2];
    const linear_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x), *dw = vg_op_grad(ctx, w), *db = vg_op_grad(ctx, b);
    const vg_real *g = node->grad; /* (M, N) */
    if (dx) gemm(ctx, dx, g, w->data, 0, 0, s->M, s->K, s->N, 1, 0, 0, 1.0);       /* (M, N) @ (N, K) */
    if (dw) gemm(ctx, dw, g, x->data, 1, 0, s->N, s->K, s->M, 1, 0, 0, 1.0);       /* (M, N)^T @ (M, K) */
    if (db) gemm(ctx, db, s->ones, g, 0, 0, 1, s->N, s->M, 1, 0, 0, 1.0);          /* (1, M) @ (M, N) */
}

vg_tensor *vg_linear(vg_ctx *ctx, vg_tensor *x, vg_tensor *w, vg_tensor *b) {
    const char *op = "linear";
    vg_tensor *in[3] = {x, w, b};
    if (!vg_op_inputs_ok(ctx, op, b ? 3 : 2, in)) return NULL;
    VG_NEED_KERNEL(ctx, op, gemm);
    char s1[96], s2[96];
    if (w->ndim != 2)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "weight must be 2-D (out, in), got %s",
                          vg_shape_str(s1, sizeof s1, w->ndim, w->shape));
    int64_t N = w->shape[0], K = w->shape[1];
    if (x->ndim < 1 || x->shape[x->ndim - 1] != K)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "input %s must end in %lld features to match weight %s",
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape), (long long)K,
                          vg_shape_str(s2, sizeof s2, w->ndim, w->shape));
    if (b && (b->ndim != 1 || b->shape[0] != N))
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "bias must be (%lld), got %s", (long long)N,
                          vg_shape_str(s1, sizeof s1, b->ndim, b->shape));
    linear_saved *sv = vg_op_saved(ctx, op, sizeof *sv);
    if (!sv) return NULL;
    sv->K = K;
    sv->N = N;
    sv->M = 1;
    for (int i = 0; i < x->ndim - 1; i++) sv->M *= x->shape[i];
    sv->ones = NULL;
    int64_t out_shape[VG_MAX_DIMS];
    for (int i = 0; i < x->ndim - 1; i++) out_shape[i] = x->shape[i];
    out_shape[x->ndim - 1] = N;
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, out_shape, in, 3, linear_backward);
    if (!out) return NULL;
    out->saved = sv;
    double beta = 0;
    if (b) { /* out = ones (M, 1) @ b (1, N), then out += x @ w^T */
        sv->ones = vg_op_buffer(ctx, op, sv->M);
        if (!sv->ones) return NULL;
        ctx->be->fill(sv->ones, sv->M, 1.0);
        gemm(ctx, out->data, sv->ones, b->data, 0, 0, sv->M, N, 1, 1, 0, 0, 0.0);
        beta = 1;
    }
    if (K > 0)
        gemm(ctx, out->data, x->data, w->data, 0, 1, sv->M, N, K, 1, 0, 0, beta);
    else if (!b)
        ctx->be->zero(out->data, (size_t)out->numel * sizeof(vg_real));
    return out;
}

/* ---- matmul ------------------------------------------------------------------------ */

typedef struct matmul_saved {
    int64_t B, M, K, N; /* B products of (M, K) @ (K, N); B = 1 when b is shared */
} matmul_saved;

static void matmul_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *a = node->src[0], *b = node->src[1];
    const matmul_saved *s = node->saved;
    vg_real *da = vg_op_grad(ctx, a), *db = vg_op_grad(ctx, b);
    const vg_real *g = node->grad; /* (B, M, N) */
    int64_t B = s->B, M = s->M, K = s->K, N = s->N;
    if (da) gemm(ctx, da, g, b->data, 0, 1, M, K, N, B, M * N, K * N, 1.0); /* dout @ b^T */
    if (db) gemm(ctx, db, a->data, g, 1, 0, K, N, M, B, M * K, M * N, 1.0); /* a^T @ dout */
}

vg_tensor *vg_matmul(vg_ctx *ctx, vg_tensor *a, vg_tensor *b) {
    const char *op = "matmul";
    vg_tensor *in[2] = {a, b};
    if (!vg_op_inputs_ok(ctx, op, 2, in)) return NULL;
    VG_NEED_KERNEL(ctx, op, gemm);
    char s1[96], s2[96];
    int ok = (a->ndim == 2 && b->ndim == 2) || (a->ndim == 3 && b->ndim == 3 && a->shape[0] == b->shape[0]) ||
             (a->ndim == 3 && b->ndim == 2);
    if (ok) ok = a->shape[a->ndim - 1] == b->shape[b->ndim - 2];
    if (!ok)
        return vg_op_fail(ctx, VG_ERR_INVALID, op,
                          "supports (M, K) @ (K, N), (B, M, K) @ (B, K, N) and (B, M, K) @ (K, N); got %s @ %s",
                          vg_shape_str(s1, sizeof s1, a->ndim, a->shape), vg_shape_str(s2, sizeof s2, b->ndim, b->shape));
    matmul_saved *sv = vg_op_saved(ctx, op, sizeof *sv);
    if (!sv) return NULL;
    sv->K = a->shape[a->ndim - 1];
    sv->N = b->shape[b->ndim - 1];
    if (a->ndim == 3 && b->ndim == 3) {
        sv->B = a->shape[0];
        sv->M = a->shape[1];
    } else { /* b shared by every row of a: one (B * M, K) @ (K, N) product */
        sv->B = 1;
        sv->M = a->ndim == 3 ? a->shape[0] * a->shape[1] : a->shape[0];
    }
    int64_t out_shape[3];
    for (int i = 0; i < a->ndim - 1; i++) out_shape[i] = a->shape[i];
    out_shape[a->ndim - 1] = sv->N;
    vg_tensor *out = vg_op_output(ctx, op, a->ndim, out_shape, in, 2, matmul_backward);
    if (!out) return NULL;
    out->saved = sv;
    if (sv->K == 0)
        ctx->be->zero(out->data, (size_t)out->numel * sizeof(vg_real));
    else
        gemm(ctx, out->data, a->data, b->data, 0, 0, sv->M, sv->N, sv->K, sv->B, sv->M * sv->K, sv->K * sv->N, 0.0);
    return out;
}

/* ---- softmax ----------------------------------------------------------------------- */

static void softmax_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    vg_real *dx = vg_op_grad(ctx, x);
    int64_t cols = x->shape[x->ndim - 1];
    if (dx && cols > 0) ctx->be->softmax_backward(dx, node->grad, node->data, x->numel / cols, cols);
}

vg_tensor *vg_softmax(vg_ctx *ctx, vg_tensor *x) {
    const char *op = "softmax";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, softmax_forward);
    VG_NEED_KERNEL(ctx, op, softmax_backward);
    if (x->ndim < 1) return vg_op_fail(ctx, VG_ERR_INVALID, op, "input must have at least 1 dim");
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, x->shape, &x, 1, softmax_backward);
    if (!out) return NULL;
    int64_t cols = x->shape[x->ndim - 1];
    if (cols > 0) ctx->be->softmax_forward(out->data, x->data, x->numel / cols, cols);
    return out;
}
