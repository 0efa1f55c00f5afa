/* Central-difference gradient checks (double precision) of vg_linear (2-D,
 * 3-D and 1-D inputs, with and without bias), vg_matmul (plain, batched,
 * broadcast), vg_softmax (including large inputs), vg_embedding (repeated
 * indices) and vg_gru_cell (every input, weight and bias). */
#include "gradcheck.h"

static vg_tensor *call_linear(vg_ctx *ctx, vg_tensor **in, void *user) {
    (void)user;
    return vg_linear(ctx, in[0], in[1], in[2]);
}
static vg_tensor *call_linear_nobias(vg_ctx *ctx, vg_tensor **in, void *user) {
    (void)user;
    return vg_linear(ctx, in[0], in[1], NULL);
}
static vg_tensor *call_matmul(vg_ctx *ctx, vg_tensor **in, void *user) {
    (void)user;
    return vg_matmul(ctx, in[0], in[1]);
}
static vg_tensor *call_softmax(vg_ctx *ctx, vg_tensor **in, void *user) {
    (void)user;
    return vg_softmax(ctx, in[0]);
}

typedef struct {
    const int64_t *idx;
    int64_t n;
} emb_box;
static vg_tensor *call_embedding(vg_ctx *ctx, vg_tensor **in, void *user) {
    const emb_box *b = user;
    return vg_embedding(ctx, in[0], b->idx, b->n);
}

static vg_tensor *call_gru(vg_ctx *ctx, vg_tensor **in, void *user) {
    (void)user;
    return vg_gru_cell(ctx, in[0], in[1], in[2], in[3], in[4], in[5]);
}
static vg_tensor *call_gru_nobias(vg_ctx *ctx, vg_tensor **in, void *user) {
    (void)user;
    return vg_gru_cell(ctx, in[0], in[1], in[2], in[3], NULL, NULL);
}

#define T(nd, ...) {.ndim = nd, .shape = {__VA_ARGS__}, .requires_grad = 1}

int main(void) {
    gc_input lin2[] = {T(2, 4, 7), T(2, 5, 7), T(1, 5)};
    gc_check("linear_2d", call_linear, NULL, 3, lin2, 1);
    gc_input lin3[] = {T(3, 2, 3, 5), T(2, 3, 5), T(1, 3)};
    gc_check("linear_3d", call_linear, NULL, 3, lin3, 2);
    gc_input lin1[] = {T(1, 6), T(2, 4, 6), T(1, 4)};
    gc_check("linear_1d", call_linear, NULL, 3, lin1, 3);
    gc_input lin_nb[] = {T(2, 1, 9), T(2, 3, 9)};
    gc_check("linear_batch1_nobias", call_linear_nobias, NULL, 2, lin_nb, 4);

    gc_input mm2[] = {T(2, 3, 5), T(2, 5, 4)};
    gc_check("matmul_2d", call_matmul, NULL, 2, mm2, 5);
    gc_input mmb[] = {T(3, 2, 3, 5), T(3, 2, 5, 4)};
    gc_check("matmul_batched", call_matmul, NULL, 2, mmb, 6);
    gc_input mmc[] = {T(3, 3, 2, 5), T(2, 5, 3)};
    gc_check("matmul_broadcast", call_matmul, NULL, 2, mmc, 7);
    gc_input mm1[] = {T(3, 1, 7, 1), T(3, 1, 1, 3)};
    gc_check("matmul_batch1_k1", call_matmul, NULL, 2, mm1, 8);

    gc_input sm[] = {T(3, 2, 3, 5)};
    gc_check("softmax_3d", call_softmax, NULL, 1, sm, 9);
    gc_input sm_big = {.ndim = 2, .shape = {3, 6}, .requires_grad = 1, .lo = 990, .hi = 1010};
    gc_check("softmax_large", call_softmax, NULL, 1, &sm_big, 10);
    gc_input sm1[] = {T(2, 3, 1)};
    gc_check("softmax_one_col", call_softmax, NULL, 1, sm1, 11);

    static const int64_t idx[] = {3, 1, 3, 6, 0, 3, 1};
    emb_box eb = {idx, 7};
    gc_input emb[] = {T(2, 7, 4)};
    gc_check("embedding_repeats", call_embedding, &eb, 1, emb, 12);

    gc_input gru[] = {T(2, 3, 5), T(2, 3, 4), T(2, 12, 5), T(2, 12, 4), T(1, 12), T(1, 12)};
    gc_check("gru_cell", call_gru, NULL, 6, gru, 13);
    gc_input gru1[] = {T(2, 1, 3), T(2, 1, 2), T(2, 6, 3), T(2, 6, 2), T(1, 6), T(1, 6)};
    gc_check("gru_cell_batch1", call_gru, NULL, 6, gru1, 14);
    gc_input gru_nb[] = {T(2, 2, 3), T(2, 2, 3), T(2, 9, 3), T(2, 9, 3)};
    gc_check("gru_cell_nobias", call_gru_nobias, NULL, 4, gru_nb, 15);
    TEST_END();
}
