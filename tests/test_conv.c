/* PyTorch parity of conv2d, conv3d, conv_transpose2d, conv_transpose3d:
 * output and the input, weight and bias gradients for every case of
 * tests/fixtures/conv.safetensors (made by tools/fixtures/make_conv.py, in
 * float64 from the same float32 inputs). Tolerance: 1e-4 of the reference's
 * largest magnitude. Also checks that bad shapes fail with a message. */
#include "op_fixture.h"


static void run_case(vg_ctx *ctx, vt_fixture *fx, const char *c) {
    json_t *args = vt_fixture_args(fx, c);
    const char *op = vt_arg_str(args, "op");
    int64_t v[3];
    vg_conv_args a = {0};
    int ns = vt_arg_ints(args, "stride", v, 3);
    for (int i = 0; i < ns; i++) a.stride[i] = (int)v[i];
    vt_arg_ints(args, "padding", v, 3);
    for (int i = 0; i < ns; i++) a.padding[i] = (int)v[i];
    if (vt_arg_has(args, "output_padding")) {
        vt_arg_ints(args, "output_padding", v, 3);
        for (int i = 0; i < ns; i++) a.output_padding[i] = (int)v[i];
    }
    vg_ctx_reset(ctx);
    vg_tensor *x = vt_load(ctx, fx, c, "input", 1);
    vg_tensor *w = vt_load(ctx, fx, c, "weight", 1);
    vg_tensor *b = vt_fixture_has(fx, c, "bias") ? vt_load(ctx, fx, c, "bias", 1) : NULL;
    vg_tensor *out = NULL;
    if (strcmp(op, "conv2d") == 0) out = vg_conv2d(ctx, x, w, b, a);
    else if (strcmp(op, "conv3d") == 0) out = vg_conv3d(ctx, x, w, b, a);
    else if (strcmp(op, "conv_transpose2d") == 0) out = vg_conv_transpose2d(ctx, x, w, b, a);
    else if (strcmp(op, "conv_transpose3d") == 0) out = vg_conv_transpose3d(ctx, x, w, b, a);
    CHECK(out != NULL, "%s: %s failed: %s", c, op, vg_last_error());
    if (out) {
        vt_compare(fx, c, "out", out, 0);
        int ndim;
        int64_t shape[VG_ST_MAX_DIMS];
        float *gout = vt_fixture_tensor(fx, c, "gout", &ndim, shape);
        vg_status s = vg_backward_with(ctx, out, gout);
        CHECK(s == VG_OK, "%s: backward: %s", c, vg_last_error());
        free(gout);
        vt_compare(fx, c, "grad.input", x, 1);
        vt_compare(fx, c, "grad.weight", w, 1);
        if (b) vt_compare(fx, c, "grad.bias", b, 1);
    }
    json_decref(args);
}

/* Bad shapes are errors with messages, never crashes. */
static void check_errors(vg_ctx *ctx) {
    vg_ctx_reset(ctx);
    vg_tensor *x = vg_tensor_zeros(ctx, 5, (int64_t[]){1, 3, 4, 4, 4}, 0);
    vg_tensor *w_bad_c = vg_tensor_zeros(ctx, 5, (int64_t[]){2, 4, 3, 3, 3}, 0);
    vg_tensor *out = vg_conv3d(ctx, x, w_bad_c, NULL, (vg_conv_args){{1, 1, 1}, {0}, {0}});
    CHECK(out == NULL && strstr(vg_last_error(), "channels") != NULL, "channel mismatch: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 5, (int64_t[]){1, 3, 2, 2, 2}, 0);
    vg_tensor *w_big = vg_tensor_zeros(ctx, 5, (int64_t[]){2, 3, 4, 4, 4}, 0);
    out = vg_conv3d(ctx, x, w_big, NULL, (vg_conv_args){{1, 1, 1}, {0}, {0}});
    CHECK(out == NULL && strstr(vg_last_error(), "no output") != NULL, "kernel larger than input: '%s'", vg_last_error());
    /* an error propagates: the next op given NULL returns NULL, the first message stays */
    vg_tensor *y = vg_relu(ctx, out);
    CHECK(y == NULL && strstr(vg_last_error(), "no output") != NULL, "NULL propagation keeps the first error: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    x = vg_tensor_zeros(ctx, 4, (int64_t[]){1, 2, 3, 3}, 0);
    vg_tensor *wt = vg_tensor_zeros(ctx, 4, (int64_t[]){2, 2, 3, 3}, 0);
    out = vg_conv_transpose2d(ctx, x, wt, NULL, (vg_conv_args){{2, 2}, {1, 1}, {2, 0}});
    CHECK(out == NULL && strstr(vg_last_error(), "output_padding") != NULL, "output_padding >= stride: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    out = vg_conv3d(ctx, x, wt, NULL, (vg_conv_args){{0}, {0}, {0}});
    CHECK(out == NULL && strstr(vg_last_error(), "5-D") != NULL, "4-D input to conv3d: '%s'", vg_last_error());
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        fprintf(stderr, "%s\n", vg_last_error());
        return 1;
    }
    vt_fixture *fx = vt_fixture_open("tests/fixtures/conv.safetensors");
    for (int i = 0; i < vt_fixture_ncases(fx); i++) run_case(ctx, fx, vt_fixture_case(fx, i));
    vt_fixture_close(fx);
    check_errors(ctx);
    vg_ctx_free(ctx);
    TEST_END();
}
