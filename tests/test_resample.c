/* PyTorch parity of vg_upsample (nearest, bilinear, trilinear), vg_avg_pool
 * and vg_max_pool: output and input gradient for every case of
 * tests/fixtures/resample.safetensors (made by tools/fixtures/make_resample.py,
 * in float64 from the same float32 inputs). Tolerance: 1e-4 of the
 * reference's largest magnitude. Also checks that bad arguments fail with a
 * message and that the backward is bit-identical across thread counts. */
#include "op_fixture.h"


static vg_pool_args pool_args(const json_t *args) {
    vg_pool_args a = {{0}, {0}, {0}, 0};
    int64_t v[3];
    int n = vt_arg_ints(args, "kernel", v, 3);
    for (int i = 0; i < n; i++) a.kernel[i] = (int)v[i];
    n = vt_arg_ints(args, "stride", v, 3);
    for (int i = 0; i < n; i++) a.stride[i] = (int)v[i];
    n = vt_arg_ints(args, "padding", v, 3);
    for (int i = 0; i < n; i++) a.padding[i] = (int)v[i];
    a.count_include_pad = vt_arg_bool(args, "count_include_pad");
    return a;
}

static void run_case(vg_ctx *ctx, vt_fixture *fx, const char *c) {
    json_t *args = vt_fixture_args(fx, c);
    const char *op = vt_arg_str(args, "op");
    vg_ctx_reset(ctx);
    vg_tensor *x = vt_load(ctx, fx, c, "input", 1);
    vg_tensor *out = NULL;
    if (strcmp(op, "upsample") == 0) {
        int64_t size[3];
        vt_arg_ints(args, "size", size, 3);
        vg_interp mode = strcmp(vt_arg_str(args, "mode"), "nearest") == 0 ? VG_INTERP_NEAREST : VG_INTERP_LINEAR;
        out = vg_upsample(ctx, x, size, mode, vt_arg_bool(args, "align_corners"));
    } else if (strcmp(op, "avg_pool") == 0) {
        out = vg_avg_pool(ctx, x, pool_args(args));
    } else if (strcmp(op, "max_pool") == 0) {
        out = vg_max_pool(ctx, x, pool_args(args));
    }
    CHECK(out != NULL, "%s: %s failed: %s", c, op, vg_last_error());
    if (out) {
        vt_compare(fx, c, "out", out, 0);
        float *gout = vt_fixture_tensor(fx, c, "gout", NULL, NULL);
        vg_status s = vg_backward_with(ctx, out, gout);
        CHECK(s == VG_OK, "%s: backward: %s", c, vg_last_error());
        free(gout);
        vt_compare(fx, c, "grad.input", x, 1);
    }
    json_decref(args);
}

/* Bad arguments are errors with messages, never crashes. */
static void check_errors(vg_ctx *ctx) {
    vg_ctx_reset(ctx);
    vg_tensor *x = vg_tensor_zeros(ctx, 4, (int64_t[]){1, 2, 5, 5}, 0);
    vg_tensor *out = vg_max_pool(ctx, x, (vg_pool_args){{3, 3}, {1, 1}, {2, 1}, 1});
    CHECK(out == NULL && strstr(vg_last_error(), "half the kernel") != NULL, "padding > kernel/2: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 4, (int64_t[]){1, 2, 2, 5}, 0);
    out = vg_avg_pool(ctx, x, (vg_pool_args){{3, 3}, {0}, {0}, 1});
    CHECK(out == NULL && strstr(vg_last_error(), "smaller than kernel") != NULL, "kernel > input: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 4, (int64_t[]){1, 2, 2, 5}, 0);
    out = vg_avg_pool(ctx, x, (vg_pool_args){{0, 1}, {0}, {0}, 1});
    CHECK(out == NULL && strstr(vg_last_error(), "kernel must be > 0") != NULL, "zero kernel: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 4, (int64_t[]){1, 2, 2, 5}, 0);
    out = vg_upsample(ctx, x, (int64_t[]){4, 4}, VG_INTERP_NEAREST, 1);
    CHECK(out == NULL && strstr(vg_last_error(), "align_corners") != NULL, "nearest + align_corners: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 4, (int64_t[]){1, 2, 2, 5}, 0);
    out = vg_upsample(ctx, x, (int64_t[]){4, 0}, VG_INTERP_LINEAR, 0);
    CHECK(out == NULL && strstr(vg_last_error(), "> 0") != NULL, "zero out size: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    vg_tensor *x3 = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 5, 5}, 0);
    out = vg_upsample(ctx, x3, (int64_t[]){4, 4}, VG_INTERP_LINEAR, 0);
    CHECK(out == NULL && strstr(vg_last_error(), "4-D") != NULL, "3-D upsample: '%s'", vg_last_error());
    out = vg_max_pool(ctx, NULL, (vg_pool_args){{2, 2}, {0}, {0}, 1});
    CHECK(out == NULL && strstr(vg_last_error(), "4-D") != NULL, "NULL keeps the first error: '%s'", vg_last_error());
}

/* The scatter-add backward kernels must give the same bits for any thread
 * count (a size big enough for the parallel paths). */
static void check_threads(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) return;
    int64_t shape[5] = {2, 3, 4, 40, 36};
    int64_t n = 2 * 3 * 4 * 40 * 36;
    float *grads[2][3];
    for (int t = 0; t < 2; t++) {
        vg_set_threads(t ? 2 : 1);
        for (int op = 0; op < 3; op++) {
            vg_ctx_reset(ctx);
            vg_tensor *x = vg_tensor_new(ctx, 5, shape, 1);
            vg_tensor_fill_normal(x, 5, 0, 0, 1);
            vg_tensor *y = op == 0   ? vg_upsample(ctx, x, (int64_t[]){7, 61, 53}, VG_INTERP_LINEAR, 0)
                           : op == 1 ? vg_avg_pool(ctx, x, (vg_pool_args){{3, 3, 3}, {1, 2, 1}, {1, 1, 1}, 0})
                                     : vg_max_pool(ctx, x, (vg_pool_args){{2, 3, 3}, {1, 1, 2}, {1, 1, 1}, 1});
            grads[t][op] = malloc((size_t)n * sizeof(float));
            int64_t m = y ? vg_tensor_numel(y) : 0;
            float *g = malloc((size_t)(m > 0 ? m : 1) * sizeof(float));
            for (int64_t i = 0; i < m; i++) g[i] = (float)((i * 7919) % 101) / 50.0f - 1.0f;
            vg_status s = y ? vg_backward_with(ctx, y, g) : VG_ERR_INVALID;
            CHECK(s == VG_OK, "threads op %d: %s", op, vg_last_error());
            if (s == VG_OK) vg_tensor_read_grad(x, grads[t][op]);
            else memset(grads[t][op], 0, (size_t)n * sizeof(float));
            free(g);
        }
    }
    for (int op = 0; op < 3; op++) {
        CHECK(memcmp(grads[0][op], grads[1][op], (size_t)n * sizeof(float)) == 0, "op %d: 1 vs 2 threads differ", op);
        free(grads[0][op]);
        free(grads[1][op]);
    }
    vg_set_threads(0);
    vg_ctx_free(ctx);
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        fprintf(stderr, "%s\n", vg_last_error());
        return 1;
    }
    vt_fixture *fx = vt_fixture_open("tests/fixtures/resample.safetensors");
    for (int i = 0; i < vt_fixture_ncases(fx); i++) run_case(ctx, fx, vt_fixture_case(fx, i));
    vt_fixture_close(fx);
    check_errors(ctx);
    vg_ctx_free(ctx);
    check_threads();
    TEST_END();
}
