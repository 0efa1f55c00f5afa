/* The autograd machinery itself: gradients accumulate where a tensor feeds
 * several ops, parameter gradients accumulate across backward calls while
 * activation gradients start over, frozen parameters get no gradient while
 * gradients still flow through them to inputs, unreached inputs read as
 * zero gradient, errors propagate as NULL with the first message kept, an
 * elementwise op's input takes over its output's gradient buffer (and the
 * in-place kernels that allows give the accumulating kernels' bits), and a
 * training loop reaches a steady state with no new allocations. Expected
 * values are derived by hand from the chain rule. */
#include "backend/backend.h"
#include "test.h"
#include "vidgan.h"

/* The in-place backward kernels against the accumulating ones on a zeroed
 * buffer, bit for bit: signed zeros among the upstream gradients (+0 + -0
 * is +0, which the in-place kernels must reproduce). */
static void check_inplace_kernels(void) {
    const vg_backend *be = vg_backend_cpu();
    enum { n = 8 };
    const float x[n] = {-1.5f, 0.0f, 2.0f, -0.0f, 0.75f, -2.0f, 0.5f, 3.0f};
    const float dy[n] = {-0.0f, 0.5f, -0.0f, 1.0f, -0.0f, 0.25f, -3.0f, 0.0f};
    const struct vg_unary_desc kinds[] = {{VG_UNARY_RELU, 0, 0},    {VG_UNARY_LEAKY_RELU, 0.2, 0},
                                          {VG_UNARY_TANH, 0, 0},    {VG_UNARY_SIGMOID, 0, 0},
                                          {VG_UNARY_SQUARE, 0, 0},  {VG_UNARY_SCALE, -1.0, 0.5}};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        float y[n], acc[n] = {0}, g[n];
        be->unary_forward(y, x, n, &kinds[k]);
        be->unary_backward(acc, dy, x, y, n, &kinds[k]);
        memcpy(g, dy, sizeof g);
        be->unary_backward_inplace(g, x, y, n, &kinds[k]);
        CHECK(memcmp(acc, g, sizeof g) == 0, "unary kind %d: in-place backward differs from accumulating", kinds[k].kind);
    }
    /* batch norm (N 2, C 2, S 2), batch statistics and running ones */
    const float w[2] = {1.5f, -0.5f};
    for (int training = 0; training < 2; training++) {
        struct vg_batchnorm_desc d = {.N = 2, .C = 2, .S = 2, .eps = 1e-5, .momentum = 0.1, .training = training};
        float mean[2], invstd[2], rm[2] = {0.1f, -0.2f}, rv[2] = {1.0f, 2.0f}, y[n];
        float acc[n] = {0}, g[n], dw1[2] = {0}, db1[2] = {0}, dw2[2] = {0}, db2[2] = {0};
        be->batchnorm_forward(y, mean, invstd, x, w, NULL, rm, rv, &d);
        be->batchnorm_backward(acc, dw1, db1, dy, x, w, mean, invstd, &d);
        memcpy(g, dy, sizeof g);
        be->batchnorm_backward_inplace(g, dw2, db2, x, w, mean, invstd, &d);
        CHECK(memcmp(acc, g, sizeof g) == 0 && memcmp(dw1, dw2, sizeof dw1) == 0 && memcmp(db1, db2, sizeof db1) == 0,
              "batch norm (training %d): in-place backward differs from accumulating", training);
    }
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) return 1;
    const int64_t n = 5;
    float xv[5] = {-2.0f, -0.5f, 0.25f, 1.0f, 3.0f}, g[5];

    /* y = x*x + 3x -> dy/dx = 2x + 3 (x used by two ops, and twice by one) */
    vg_tensor *x = vg_tensor_new(ctx, 1, &n, 1);
    vg_tensor_write(x, xv);
    vg_tensor *y = vg_sum(ctx, vg_add(ctx, vg_mul(ctx, x, x), vg_scale(ctx, x, 3.0)));
    CHECK(vg_backward(ctx, y) == VG_OK, "backward: %s", vg_last_error());
    vg_tensor_read_grad(x, g);
    int ok = 1;
    for (int i = 0; i < 5; i++) ok &= fabsf(g[i] - (2 * xv[i] + 3)) < 1e-6f;
    CHECK(ok, "fan-out gradient 2x + 3: got %g %g %g %g %g", g[0], g[1], g[2], g[3], g[4]);
    /* a second backward in the same step recomputes activation grads (no doubling) */
    CHECK(vg_backward(ctx, y) == VG_OK, "second backward: %s", vg_last_error());
    vg_tensor_read_grad(x, g);
    ok = 1;
    for (int i = 0; i < 5; i++) ok &= fabsf(g[i] - (2 * xv[i] + 3)) < 1e-6f;
    CHECK(ok, "second backward gives the same input gradient: got %g", g[0]);

    /* parameters: w * x summed; dL/dw = x, accumulating over backward calls */
    vg_params *P;
    vg_params_new(&P, ctx);
    vg_tensor *w = vg_param_add(P, "w", 1, &n);
    vg_tensor *rm = vg_buffer_add(P, "running", 1, &n);
    CHECK(w && rm && vg_params_finalize(P) == VG_OK, "params: %s", vg_last_error());
    CHECK(vg_params_numel(P) == 5 && vg_params_count(P) == 2 && vg_params_is_buffer(P, 1), "param bookkeeping");
    vg_params_init_normal(P, 1, 0.0, 1.0);
    vg_params_zero_grad(P);
    vg_ctx_reset(ctx);
    x = vg_tensor_from(ctx, 1, &n, xv);
    vg_backward(ctx, vg_sum(ctx, vg_mul(ctx, w, x)));
    vg_backward(ctx, vg_sum(ctx, vg_mul(ctx, w, x)));
    vg_tensor_read_grad(w, g);
    ok = 1;
    for (int i = 0; i < 5; i++) ok &= fabsf(g[i] - 2 * xv[i]) < 1e-6f;
    CHECK(ok, "parameter gradients accumulate: got %g want %g", g[0], 2 * xv[0]);

    /* freezing: w gets nothing, the input still gets w */
    vg_params_zero_grad(P);
    vg_params_set_requires_grad(P, 0);
    vg_ctx_reset(ctx);
    x = vg_tensor_new(ctx, 1, &n, 1);
    vg_tensor_write(x, xv);
    CHECK(vg_backward(ctx, vg_sum(ctx, vg_mul(ctx, w, x))) == VG_OK, "frozen backward: %s", vg_last_error());
    vg_tensor_read_grad(w, g);
    ok = 1;
    for (int i = 0; i < 5; i++) ok &= g[i] == 0;
    CHECK(ok, "a frozen parameter's gradient stays zero");
    float wv[5];
    vg_tensor_read(w, wv);
    vg_tensor_read_grad(x, g);
    ok = 1;
    for (int i = 0; i < 5; i++) ok &= g[i] == wv[i];
    CHECK(ok, "the gradient flows through a frozen parameter to the input");
    /* nothing requires grad -> backward is a clear error */
    vg_ctx_reset(ctx);
    x = vg_tensor_from(ctx, 1, &n, xv);
    CHECK(vg_backward(ctx, vg_sum(ctx, vg_mul(ctx, w, x))) == VG_ERR_INVALID, "backward with nothing to differentiate");
    vg_params_set_requires_grad(P, 1);

    /* two sets sharing one gradient buffer (a GAN's G and D): each set's
     * backward still lands in its own tensors; the smaller set's gradients
     * live in the larger's buffer; freeing either first is safe (ASan) */
    for (int order = 0; order < 2; order++) {
        vg_params *A, *B;
        vg_params_new(&A, ctx);
        vg_params_new(&B, ctx);
        const int64_t na = 7, nb = 3;
        vg_tensor *wa = vg_param_add(A, "wa", 1, &na), *wb = vg_param_add(B, "wb", 1, &nb);
        CHECK(wa && wb && vg_params_finalize(A) == VG_OK && vg_params_finalize(B) == VG_OK, "sets: %s", vg_last_error());
        CHECK(vg_params_share_grad(A, B) == VG_OK, "share: %s", vg_last_error());
        CHECK(vg_params_grad(A) == vg_params_grad(B), "one buffer backs both sets' gradients");
        CHECK(vg_params_share_grad(A, B) == VG_ERR_INVALID, "sharing twice is refused");
        const float av[7] = {1, 2, 3, 4, 5, 6, 7}, bv[3] = {-1, 0.5f, 2};
        vg_tensor_write(wa, av);
        vg_tensor_write(wb, bv);
        vg_params_zero_grad(B);
        vg_params_set_requires_grad(A, 0);
        vg_ctx_reset(ctx);
        x = vg_tensor_from(ctx, 1, &nb, xv);
        CHECK(vg_backward(ctx, vg_sum(ctx, vg_mul(ctx, vg_mul(ctx, wb, wb), x))) == VG_OK, "B: %s", vg_last_error());
        float gb[3], ga[7];
        vg_tensor_read_grad(wb, gb);
        ok = 1;
        for (int i = 0; i < 3; i++) ok &= gb[i] == 2 * bv[i] * xv[i];
        CHECK(ok, "B's gradient d(sum(wb^2 x))/dwb = 2 wb x: got %g", gb[0]);
        vg_params_set_requires_grad(A, 1);
        vg_params_set_requires_grad(B, 0);
        vg_params_zero_grad(A);
        vg_ctx_reset(ctx);
        const int64_t n7 = 7;
        vg_tensor *ones = vg_tensor_zeros(ctx, 1, &n7, 0);
        CHECK(vg_backward(ctx, vg_sum(ctx, vg_mul(ctx, wa, vg_affine(ctx, ones, 1.0, 3.0)))) == VG_OK, "A: %s",
              vg_last_error());
        vg_tensor_read_grad(wa, ga);
        ok = 1;
        for (int i = 0; i < 7; i++) ok &= ga[i] == 3;
        CHECK(ok, "A's gradient after B's: got %g", ga[0]);
        vg_tensor_read_grad(wb, gb);
        CHECK(gb[0] == 3, "B's gradient tensor reads A's gradient: the buffer is shared");
        if (order) {
            vg_params_free(A);
            vg_params_free(B);
        } else {
            vg_params_free(B);
            vg_params_free(A);
        }
    }

    /* an input that the loss does not reach reads as a zero gradient */
    vg_ctx_reset(ctx);
    vg_tensor *a = vg_tensor_new(ctx, 1, &n, 1), *b = vg_tensor_new(ctx, 1, &n, 1);
    vg_tensor_write(a, xv);
    vg_tensor_write(b, xv);
    vg_backward(ctx, vg_sum(ctx, vg_square(ctx, a)));
    vg_tensor_read_grad(b, g);
    CHECK(g[0] == 0 && g[4] == 0, "unreached input has zero gradient");

    /* errors: non-scalar loss; incompatible broadcast propagates NULL */
    CHECK(vg_backward(ctx, a) != VG_OK && strstr(vg_last_error(), "elements"), "non-scalar loss: %s", vg_last_error());
    vg_ctx_reset(ctx);
    const int64_t s3 = 3;
    vg_tensor *bad = vg_add(ctx, vg_tensor_zeros(ctx, 1, &n, 0), vg_tensor_zeros(ctx, 1, &s3, 0));
    vg_tensor *after = vg_relu(ctx, bad);
    CHECK(bad == NULL && after == NULL && strstr(vg_last_error(), "broadcast"), "broadcast error: %s", vg_last_error());
    CHECK(vg_ctx_status(ctx) == VG_ERR_INVALID, "context remembers the failure");
    CHECK(vg_backward(ctx, after) != VG_OK, "backward from a failed graph fails");
    vg_ctx_reset(ctx);
    CHECK(vg_ctx_status(ctx) == VG_OK, "reset clears the failure");

    /* in-place activations: same values and gradients as the copying ones,
     * refused on parameters and on leaf inputs */
    {
        vg_ctx_reset(ctx);
        static const char *names[3] = {"leaky relu", "tanh", "sigmoid"};
        for (int f = 0; f < 3; f++) {
            float a1[5], a2[5], g1[5], g2[5];
            for (int variant = 0; variant < 2; variant++) {
                vg_tensor *in = vg_tensor_new(ctx, 1, &n, 1);
                vg_tensor_write(in, xv);
                vg_tensor *h = vg_scale(ctx, in, 2.0), *y2;
                if (f == 0)
                    y2 = variant ? vg_leaky_relu_inplace(ctx, h, 0.2) : vg_leaky_relu(ctx, h, 0.2);
                else if (f == 1)
                    y2 = variant ? vg_tanh_inplace(ctx, h) : vg_tanh(ctx, h);
                else
                    y2 = variant ? vg_sigmoid_inplace(ctx, h) : vg_sigmoid(ctx, h);
                vg_tensor_read(y2, variant ? a2 : a1);
                vg_backward(ctx, vg_sum(ctx, vg_square(ctx, y2)));
                vg_tensor_read_grad(in, variant ? g2 : g1);
            }
            CHECK(memcmp(a1, a2, sizeof a1) == 0 && memcmp(g1, g2, sizeof g1) == 0,
                  "in-place %s matches the copying one", names[f]);
        }
        vg_tensor *leaf = vg_tensor_new(ctx, 1, &n, 1);
        CHECK(vg_relu_inplace(ctx, leaf) == NULL && strstr(vg_last_error(), "leaf"), "in-place on a leaf: %s", vg_last_error());
        vg_ctx_reset(ctx);
        CHECK(vg_relu_inplace(ctx, w) == NULL && strstr(vg_last_error(), "parameter"), "in-place on a parameter: %s", vg_last_error());
    }

    /* gradient hand-over: scale -> batch norm -> leaky relu (in place) ->
     * tanh backpropagates through one activation-sized buffer, each input
     * taking over its output's (a fresh buffer per input needs two at once) */
    {
        vg_ctx_reset(ctx);
        const int64_t shape[3] = {4, 3, 4096};
        vg_tensor *in = vg_tensor_new(ctx, 3, shape, 1);
        vg_tensor_fill_normal(in, 7, 0, 0.0, 1.0);
        vg_tensor *h = vg_batch_norm(ctx, vg_scale(ctx, in, 2.0), NULL, NULL, NULL, NULL, 1, 0.1, 1e-5);
        vg_tensor *l = vg_sum(ctx, vg_tanh(ctx, vg_leaky_relu_inplace(ctx, h, 0.2)));
        size_t before = vg_ctx_arena_used(ctx), one = (size_t)vg_tensor_numel(in) * sizeof(float);
        CHECK(l && vg_backward(ctx, l) == VG_OK, "hand-over chain: %s", vg_last_error());
        size_t grown = vg_ctx_arena_used(ctx) - before;
        CHECK(grown >= one && grown < one + one / 2, "backward through the chain took %zu bytes (one buffer is %zu)",
              grown, one);
        check_inplace_kernels();
    }

    /* marks: release frees what came after, earlier tensors stay valid */
    {
        vg_ctx_reset(ctx);
        vg_tensor *keep = vg_tensor_from(ctx, 1, &n, xv);
        vg_ctx_mark m = vg_ctx_get_mark(ctx);
        size_t used = vg_ctx_arena_used(ctx);
        const int64_t big = 1 << 20;
        vg_tensor *tmp = vg_tensor_zeros(ctx, 1, &big, 0);
        CHECK(tmp && vg_ctx_arena_used(ctx) > used, "allocation after the mark");
        vg_ctx_release(ctx, m);
        CHECK(vg_ctx_arena_used(ctx) == used, "release gives the memory back (%zu vs %zu)", vg_ctx_arena_used(ctx), used);
        float back[5];
        vg_tensor_read(keep, back);
        CHECK(memcmp(back, xv, sizeof back) == 0, "a tensor from before the mark is intact");
    }

    /* steady state: after the first step, steps allocate nothing new */
    size_t reserved_after_first = 0;
    for (int step = 0; step < 5; step++) {
        vg_ctx_reset(ctx);
        const int64_t big = 100000;
        vg_tensor *t = vg_tensor_zeros(ctx, 1, &big, 1);
        vg_tensor *l = vg_mean(ctx, vg_tanh(ctx, vg_mul(ctx, vg_sigmoid(ctx, t), vg_exp(ctx, t))));
        CHECK(l && vg_backward(ctx, l) == VG_OK, "step %d: %s", step, vg_last_error());
        if (step == 1) reserved_after_first = vg_ctx_arena_reserved(ctx);
        if (step > 1)
            CHECK(vg_ctx_arena_reserved(ctx) == reserved_after_first, "step %d reserved %zu, step 1 %zu", step,
                  vg_ctx_arena_reserved(ctx), reserved_after_first);
    }
    vg_params_free(P);
    vg_ctx_free(ctx);
    TEST_END();
}
