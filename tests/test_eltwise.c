/* PyTorch parity of the elementwise ops: every activation and map (relu,
 * leaky_relu, tanh, sigmoid, softplus with default and non-default
 * beta/threshold, exp, log, square, abs, sqrt, scale, affine) and the
 * broadcasting add/sub/mul/div, output and every input gradient, for each
 * case of tests/fixtures/eltwise.safetensors (made by
 * tools/fixtures/make_eltwise.py, in float64 from the same float32 inputs).
 * Tolerance: 1e-4 of the reference's largest magnitude. Also checks that
 * shapes which do not broadcast fail with a message. */
#include "op_fixture.h"


static vg_tensor *unary(vg_ctx *ctx, const char *op, vg_tensor *x, const json_t *args) {
    if (!strcmp(op, "relu")) return vg_relu(ctx, x);
    if (!strcmp(op, "leaky_relu")) return vg_leaky_relu(ctx, x, vt_arg_double(args, "negative_slope"));
    if (!strcmp(op, "tanh")) return vg_tanh(ctx, x);
    if (!strcmp(op, "sigmoid")) return vg_sigmoid(ctx, x);
    if (!strcmp(op, "softplus"))
        return vg_softplus(ctx, x, vt_arg_double(args, "beta"), vt_arg_double(args, "threshold"));
    if (!strcmp(op, "exp")) return vg_exp(ctx, x);
    if (!strcmp(op, "log")) return vg_log(ctx, x);
    if (!strcmp(op, "square")) return vg_square(ctx, x);
    if (!strcmp(op, "abs")) return vg_abs(ctx, x);
    if (!strcmp(op, "sqrt")) return vg_sqrt(ctx, x);
    if (!strcmp(op, "scale")) return vg_scale(ctx, x, vt_arg_double(args, "alpha"));
    if (!strcmp(op, "affine")) return vg_affine(ctx, x, vt_arg_double(args, "alpha"), vt_arg_double(args, "beta"));
    CHECK(0, "unknown unary op '%s' in the fixture", op);
    return NULL;
}

static vg_tensor *binary(vg_ctx *ctx, const char *op, vg_tensor *a, vg_tensor *b) {
    if (!strcmp(op, "add")) return vg_add(ctx, a, b);
    if (!strcmp(op, "sub")) return vg_sub(ctx, a, b);
    if (!strcmp(op, "mul")) return vg_mul(ctx, a, b);
    if (!strcmp(op, "div")) return vg_div(ctx, a, b);
    CHECK(0, "unknown binary op '%s' in the fixture", op);
    return NULL;
}

static void run_case(vg_ctx *ctx, vt_fixture *fx, const char *c) {
    json_t *args = vt_fixture_args(fx, c);
    const char *op = vt_arg_str(args, "op");
    vg_ctx_reset(ctx);
    int is_binary = vt_fixture_has(fx, c, "a");
    vg_tensor *x = NULL, *a = NULL, *b = NULL, *out;
    if (is_binary) {
        a = vt_load(ctx, fx, c, "a", 1);
        b = vt_load(ctx, fx, c, "b", 1);
        out = binary(ctx, op, a, b);
    } else {
        x = vt_load(ctx, fx, c, "x", 1);
        out = unary(ctx, op, x, args);
    }
    CHECK(out != NULL, "%s: %s failed: %s", c, op, vg_last_error());
    if (out) {
        vt_compare(fx, c, "out", out, 0);
        float *gout = vt_fixture_tensor(fx, c, "gout", NULL, NULL);
        vg_status s = vg_backward_with(ctx, out, gout);
        CHECK(s == VG_OK, "%s: backward: %s", c, vg_last_error());
        free(gout);
        if (is_binary) {
            vt_compare(fx, c, "grad.a", a, 1);
            vt_compare(fx, c, "grad.b", b, 1);
        } else {
            vt_compare(fx, c, "grad.x", x, 1);
        }
    }
    json_decref(args);
}

static void check_errors(vg_ctx *ctx) {
    vg_ctx_reset(ctx);
    vg_tensor *a = vg_tensor_zeros(ctx, 2, (int64_t[]){3, 4}, 0);
    vg_tensor *b = vg_tensor_zeros(ctx, 2, (int64_t[]){2, 4}, 0);
    vg_tensor *out = vg_mul(ctx, a, b);
    CHECK(out == NULL && strstr(vg_last_error(), "mul: shapes (3, 4) and (2, 4) do not broadcast") != NULL,
          "non-broadcastable shapes: '%s'", vg_last_error());
    vg_ctx_reset(ctx);
    out = vg_softplus(ctx, a, 0.0, 20.0);
    CHECK(out == NULL && strstr(vg_last_error(), "beta") != NULL, "softplus beta 0: '%s'", vg_last_error());
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        fprintf(stderr, "%s\n", vg_last_error());
        return 1;
    }
    vt_fixture *fx = vt_fixture_open("tests/fixtures/eltwise.safetensors");
    for (int i = 0; i < vt_fixture_ncases(fx); i++) run_case(ctx, fx, vt_fixture_case(fx, i));
    vt_fixture_close(fx);
    check_errors(ctx);
    vg_ctx_free(ctx);
    TEST_END();
}
