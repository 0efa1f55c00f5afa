/* PyTorch parity of vg_linear, vg_matmul, vg_softmax, vg_embedding and
 * vg_gru_cell: output and every gradient for each case of
 * tests/fixtures/linalg.safetensors (made by tools/fixtures/make_linalg.py,
 * in float64 from the same float32 inputs; the GRU reference is
 * torch.nn.GRUCell itself). Tolerance: 1e-4 of the reference's largest
 * magnitude. Also checks error messages and that embedding's scatter-add is
 * bit-identical across thread counts. */
#include "op_fixture.h"


static void run_case(vg_ctx *ctx, vt_fixture *fx, const char *c) {
    json_t *args = vt_fixture_args(fx, c);
    const char *op = vt_arg_str(args, "op");
    vg_ctx_reset(ctx);
    /* the inputs that get a gradient, with their fixture names */
    const char *names[6] = {0};
    vg_tensor *ins[6] = {0};
    int nin = 0;
    vg_tensor *out = NULL;
    if (strcmp(op, "linear") == 0) {
        names[0] = "input", names[1] = "weight", names[2] = "bias";
        ins[0] = vt_load(ctx, fx, c, "input", 1), ins[1] = vt_load(ctx, fx, c, "weight", 1), ins[2] = vt_load_opt(ctx, fx, c, "bias", 1);
        nin = 3;
        out = vg_linear(ctx, ins[0], ins[1], ins[2]);
    } else if (strcmp(op, "matmul") == 0) {
        names[0] = "a", names[1] = "b";
        ins[0] = vt_load(ctx, fx, c, "a", 1), ins[1] = vt_load(ctx, fx, c, "b", 1);
        nin = 2;
        out = vg_matmul(ctx, ins[0], ins[1]);
    } else if (strcmp(op, "softmax") == 0) {
        names[0] = "input";
        ins[0] = vt_load(ctx, fx, c, "input", 1);
        nin = 1;
        out = vg_softmax(ctx, ins[0]);
    } else if (strcmp(op, "embedding") == 0) {
        int ndim;
        int64_t shape[VG_ST_MAX_DIMS];
        float *fidx = vt_fixture_tensor(fx, c, "idx", &ndim, shape);
        int64_t n = shape[0], idx[64];
        for (int64_t i = 0; i < n && i < 64; i++) idx[i] = (int64_t)fidx[i];
        free(fidx);
        names[0] = "weight";
        ins[0] = vt_load(ctx, fx, c, "weight", 1);
        nin = 1;
        out = vg_embedding(ctx, ins[0], idx, n < 64 ? n : 64);
    } else if (strcmp(op, "gru_cell") == 0) {
        const char *g[6] = {"input", "hx", "weight_ih", "weight_hh", "bias_ih", "bias_hh"};
        for (int i = 0; i < 6; i++) {
            names[i] = g[i];
            ins[i] = i < 4 ? vt_load(ctx, fx, c, g[i], 1) : vt_load_opt(ctx, fx, c, g[i], 1);
        }
        nin = 6;
        out = vg_gru_cell(ctx, ins[0], ins[1], ins[2], ins[3], ins[4], ins[5]);
    }
    CHECK(out != NULL, "%s: %s failed: %s", c, op, vg_last_error());
    if (out) {
        vt_compare(fx, c, "out", out, 0);
        float *gout = vt_fixture_tensor(fx, c, "gout", NULL, NULL);
        vg_status s = vg_backward_with(ctx, out, gout);
        CHECK(s == VG_OK, "%s: backward: %s", c, vg_last_error());
        free(gout);
        for (int i = 0; i < nin; i++) {
            if (!ins[i]) continue;
            char ref[64];
            snprintf(ref, sizeof ref, "grad.%s", names[i]);
            vt_compare(fx, c, ref, ins[i], 1);
        }
    }
    json_decref(args);
}

/* Bad shapes and indices are errors with messages, never crashes. */
static void check_errors(vg_ctx *ctx) {
    vg_ctx_reset(ctx);
    vg_tensor *x = vg_tensor_zeros(ctx, 2, (int64_t[]){3, 4}, 0);
    vg_tensor *w = vg_tensor_zeros(ctx, 2, (int64_t[]){5, 3}, 0);
    vg_tensor *out = vg_linear(ctx, x, w, NULL);
    CHECK(out == NULL && strstr(vg_last_error(), "features") != NULL, "linear in mismatch: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 2, (int64_t[]){3, 4}, 0);
    w = vg_tensor_zeros(ctx, 2, (int64_t[]){5, 4}, 0);
    vg_tensor *b = vg_tensor_zeros(ctx, 1, (int64_t[]){4}, 0);
    out = vg_linear(ctx, x, w, b);
    CHECK(out == NULL && strstr(vg_last_error(), "bias must be (5)") != NULL, "linear bias: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    vg_tensor *a3 = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 3, 4}, 0);
    vg_tensor *b3 = vg_tensor_zeros(ctx, 3, (int64_t[]){3, 4, 5}, 0);
    out = vg_matmul(ctx, a3, b3);
    CHECK(out == NULL && strstr(vg_last_error(), "(2, 3, 4) @ (3, 4, 5)") != NULL, "matmul batch mismatch: '%s'",
          vg_last_error());
    vg_ctx_reset(ctx);
    vg_tensor *a2 = vg_tensor_zeros(ctx, 2, (int64_t[]){3, 4}, 0);
    vg_tensor *b2 = vg_tensor_zeros(ctx, 2, (int64_t[]){5, 2}, 0);
    out = vg_matmul(ctx, a2, b2);
    CHECK(out == NULL && strstr(vg_last_error(), "matmul") != NULL, "matmul K mismatch: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    b3 = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 4, 5}, 0);
    a2 = vg_tensor_zeros(ctx, 2, (int64_t[]){3, 4}, 0);
    out = vg_matmul(ctx, a2, b3);
    CHECK(out == NULL && strstr(vg_last_error(), "supports") != NULL, "matmul 2-D @ 3-D: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    w = vg_tensor_zeros(ctx, 2, (int64_t[]){6, 3}, 0);
    out = vg_embedding(ctx, w, (int64_t[]){0, 5, 6, 1}, 4);
    CHECK(out == NULL && strstr(vg_last_error(), "index 6 at position 2") != NULL, "embedding range: '%s'",
          vg_last_error());
    vg_ctx_reset(ctx);
    w = vg_tensor_zeros(ctx, 2, (int64_t[]){6, 3}, 0);
    out = vg_embedding(ctx, w, (int64_t[]){-1}, 1);
    CHECK(out == NULL && strstr(vg_last_error(), "index -1") != NULL, "embedding negative: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 2, (int64_t[]){2, 3}, 0);
    vg_tensor *h = vg_tensor_zeros(ctx, 2, (int64_t[]){2, 4}, 0);
    vg_tensor *wih = vg_tensor_zeros(ctx, 2, (int64_t[]){12, 3}, 0);
    vg_tensor *whh = vg_tensor_zeros(ctx, 2, (int64_t[]){12, 3}, 0);
    out = vg_gru_cell(ctx, x, h, wih, whh, NULL, NULL);
    CHECK(out == NULL && strstr(vg_last_error(), "w_hh must be (12, 4)") != NULL, "gru w_hh: '%s'", vg_last_error());
}

/* Repeated embedding indices scatter into one row: the sum must not depend
 * on the thread count. */
static void check_threads(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) return;
    enum { V = 7, D = 300, N = 400 };
    static int64_t idx[N];
    for (int i = 0; i < N; i++) idx[i] = (i * 5) % V;
    float *grads[2];
    for (int t = 0; t < 2; t++) {
        vg_set_threads(t ? 2 : 1);
        vg_ctx_reset(ctx);
        vg_tensor *w = vg_tensor_new(ctx, 2, (int64_t[]){V, D}, 1);
        vg_tensor_fill_normal(w, 3, 0, 0, 1);
        vg_tensor *y = vg_embedding(ctx, w, idx, N);
        float *g = malloc((size_t)N * D * sizeof(float));
        for (int64_t i = 0; i < (int64_t)N * D; i++) g[i] = (float)((i * 7919) % 101) / 37.0f - 1.3f;
        grads[t] = calloc((size_t)V * D, sizeof(float));
        vg_status s = y ? vg_backward_with(ctx, y, g) : VG_ERR_INVALID;
        CHECK(s == VG_OK, "embedding threads: %s", vg_last_error());
        if (s == VG_OK) vg_tensor_read_grad(w, grads[t]);
        free(g);
    }
    CHECK(memcmp(grads[0], grads[1], (size_t)V * D * sizeof(float)) == 0, "embedding backward: 1 vs 2 threads differ");
    free(grads[0]);
    free(grads[1]);
    vg_set_threads(0);
    vg_ctx_free(ctx);
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        fprintf(stderr, "%s\n", vg_last_error());
        return 1;
    }
    vt_fixture *fx = vt_fixture_open("tests/fixtures/linalg.safetensors");
    for (int i = 0; i < vt_fixture_ncases(fx); i++) run_case(ctx, fx, vt_fixture_case(fx, i));
    vt_fixture_close(fx);
    check_errors(ctx);
    vg_ctx_free(ctx);
    check_threads();
    TEST_END();
}
