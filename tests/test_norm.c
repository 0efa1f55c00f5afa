/* PyTorch parity of batch_norm, instance_norm and layer_norm: outputs, the
 * input/weight/bias gradients and, for batch norm, the running buffers after
 * one forward and backward (updated exactly once, by the forward) for every
 * case of tests/fixtures/norm.safetensors (made by
 * tools/fixtures/make_norm.py in float64 from the same float32 inputs).
 * Tolerance: 1e-4 of the reference's largest magnitude.
 *
 * Also: statistics stay accurate for data far from zero and for rows longer
 * than one statistics block (against a double-precision reference computed
 * here), results are bit-identical for 1 and 2 threads, and bad arguments
 * fail with a message naming the op and the argument. */
#include "op_fixture.h"

#define RTOL 1e-4
#define ATOL 1e-6

static void run_case(vg_ctx *ctx, vt_fixture *fx, const char *c) {
    json_t *args = vt_fixture_args(fx, c);
    const char *op = vt_arg_str(args, "op");
    double eps = vt_arg_double(args, "eps");
    vg_ctx_reset(ctx);
    vg_tensor *x = vt_load(ctx, fx, c, "input", 1);
    vg_tensor *w = vt_load_opt(ctx, fx, c, "weight", 1);
    vg_tensor *b = vt_load_opt(ctx, fx, c, "bias", 1);
    vg_tensor *rm = vt_load_opt(ctx, fx, c, "running_mean", 0);
    vg_tensor *rv = vt_load_opt(ctx, fx, c, "running_var", 0);
    vg_tensor *out = NULL;
    if (strcmp(op, "batch_norm") == 0)
        out = vg_batch_norm(ctx, x, w, b, rm, rv, vt_arg_bool(args, "training"), vt_arg_double(args, "momentum"), eps);
    else if (strcmp(op, "instance_norm") == 0)
        out = vg_instance_norm(ctx, x, w, b, eps);
    else if (strcmp(op, "layer_norm") == 0)
        out = vg_layer_norm(ctx, x, (int)vt_arg_int(args, "norm_ndim"), w, b, eps);
    else
        CHECK(0, "%s: unknown op '%s' in the fixture", c, op);
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
        if (w) vt_compare(fx, c, "grad.weight", w, 1);
        if (b) vt_compare(fx, c, "grad.bias", b, 1);
        /* after forward and backward: the buffers moved exactly once */
        if (rm) vt_compare(fx, c, "running_mean_after", rm, 0);
        if (rv) vt_compare(fx, c, "running_var_after", rv, 0);
    }
    json_decref(args);
}

/* ---- accuracy far from zero, long rows -------------------------------------- */

/* x (N, C, S) as (groups of `len` values): out = (x - mean) / sqrt(var + eps)
 * in double, where group g's values are x[n, c, :] for all n (batch norm,
 * per channel) or one row (row norm). */
static void reference_norm(float *out, double *means, double *vars, const float *x, int64_t N, int64_t C, int64_t S,
                           int per_channel, double eps) {
    int64_t groups = per_channel ? C : N * C;
    for (int64_t g = 0; g < groups; g++) {
        int64_t reps = per_channel ? N : 1;
        double sum = 0, sq = 0, M = (double)(reps * S);
        for (int64_t n = 0; n < reps; n++) {
            const float *p = per_channel ? x + (n * C + g) * S : x + g * S;
            for (int64_t s = 0; s < S; s++) sum += p[s];
        }
        double mean = sum / M;
        for (int64_t n = 0; n < reps; n++) {
            const float *p = per_channel ? x + (n * C + g) * S : x + g * S;
            for (int64_t s = 0; s < S; s++) sq += (p[s] - mean) * (p[s] - mean);
        }
        double var = sq / M, invstd = 1 / sqrt(var + eps);
        means[g] = mean;
        vars[g] = var;
        for (int64_t n = 0; n < reps; n++) {
            int64_t off = per_channel ? (n * C + g) * S : g * S;
            for (int64_t s = 0; s < S; s++) out[off + s] = (float)((x[off + s] - mean) * invstd);
        }
    }
}

static void test_accuracy(vg_ctx *ctx) {
    /* S = 5000 > one statistics block; values 1000 + N(0, 1) */
    const int64_t N = 2, C = 3, S = 5000, n = N * C * S;
    float *x = malloc((size_t)n * sizeof *x), *got = malloc((size_t)n * sizeof *got);
    float *want = malloc((size_t)n * sizeof *want);
    double means[6], vars[6];
    vg_ctx_reset(ctx);
    vg_tensor *xt = vg_tensor_new(ctx, 3, (int64_t[]){N, C, S}, 0);
    vg_tensor_fill_normal(xt, 42, 0, 1000.0, 1.0);
    vg_tensor_read(xt, x);

    vg_tensor *rm = vg_tensor_zeros(ctx, 1, (int64_t[]){C}, 0), *rv = vg_tensor_zeros(ctx, 1, (int64_t[]){C}, 0);
    vg_tensor *out = vg_batch_norm(ctx, xt, NULL, NULL, rm, rv, 1, 1.0, 1e-5);
    CHECK(out != NULL, "batch_norm far from zero: %s", vg_last_error());
    if (out) {
        reference_norm(want, means, vars, x, N, C, S, 1, 1e-5);
        vg_tensor_read(out, got);
        CHECK_CLOSE("batch_norm far from zero: out", got, want, n, RTOL, ATOL);
        float r[3], wm[3], wv[3];
        for (int c = 0; c < C; c++) {
            wm[c] = (float)means[c];
            wv[c] = (float)(vars[c] * (double)(N * S) / (double)(N * S - 1)); /* momentum 1: the unbiased variance */
        }
        vg_tensor_read(rm, r);
        CHECK_CLOSE("batch_norm far from zero: running_mean", r, wm, C, 1e-6, 0);
        vg_tensor_read(rv, r);
        CHECK_CLOSE("batch_norm far from zero: running_var", r, wv, C, 1e-4, 0);
    }
    /* the same data as rows of 5000 (instance norm) and as rows of 15000 (layer norm over 2 dims) */
    out = vg_instance_norm(ctx, xt, NULL, NULL, 1e-5);
    CHECK(out != NULL, "instance_norm far from zero: %s", vg_last_error());
    if (out) {
        reference_norm(want, means, vars, x, N, C, S, 0, 1e-5);
        vg_tensor_read(out, got);
        CHECK_CLOSE("instance_norm far from zero: out", got, want, n, RTOL, ATOL);
    }
    out = vg_layer_norm(ctx, xt, 2, NULL, NULL, 1e-5);
    CHECK(out != NULL, "layer_norm far from zero: %s", vg_last_error());
    if (out) {
        reference_norm(want, means, vars, x, N, 1, C * S, 0, 1e-5);
        vg_tensor_read(out, got);
        CHECK_CLOSE("layer_norm far from zero: out", got, want, n, RTOL, ATOL);
    }
    free(x);
    free(got);
    free(want);
}

/* ---- determinism across thread counts ---------------------------------------- */

enum { DET_BN, DET_IN, DET_LN };

/* Forward + backward of one op on fixed random data; writes out, dx, dw, db
 * (and the running buffers for batch norm) into res, in that order. */
static int64_t det_run(vg_ctx *ctx, int kind, int threads, float *res) {
    const int64_t shape[5] = {4, 6, 2, 40, 40}, C = 6;
    vg_set_threads(threads);
    vg_ctx_reset(ctx);
    vg_tensor *x = vg_tensor_new(ctx, 5, shape, 1);
    vg_tensor_fill_normal(x, 7, 0, 0.5, 2.0);
    int64_t pshape[2] = {kind == DET_LN ? 40 : C, 40};
    int pndim = kind == DET_LN ? 2 : 1;
    vg_tensor *w = vg_tensor_new(ctx, pndim, pshape, 1), *b = vg_tensor_new(ctx, pndim, pshape, 1);
    vg_tensor_fill_uniform(w, 8, 0, 0.5, 1.5);
    vg_tensor_fill_normal(b, 9, 0, 0, 1);
    vg_tensor *rm = vg_tensor_zeros(ctx, 1, &C, 0), *rv = vg_tensor_zeros(ctx, 1, &C, 0);
    vg_tensor *out = kind == DET_BN   ? vg_batch_norm(ctx, x, w, b, rm, rv, 1, 0.1, 1e-5)
                     : kind == DET_IN ? vg_instance_norm(ctx, x, w, b, 1e-5)
                                      : vg_layer_norm(ctx, x, 2, w, b, 1e-5);
    if (!out) return -1;
    vg_tensor *loss = vg_sum(ctx, vg_square(ctx, vg_mul(ctx, out, vg_tanh(ctx, x))));
    if (vg_backward(ctx, loss) != VG_OK) return -1;
    int64_t k = 0;
    vg_tensor_read(out, res + k);
    k += vg_tensor_numel(out);
    vg_tensor_read_grad(x, res + k);
    k += vg_tensor_numel(x);
    vg_tensor_read_grad(w, res + k);
    k += vg_tensor_numel(w);
    vg_tensor_read_grad(b, res + k);
    k += vg_tensor_numel(b);
    vg_tensor_read(rm, res + k);
    vg_tensor_read(rv, res + k + C);
    return k + 2 * C;
}

static void test_threads(vg_ctx *ctx) {
    const char *names[3] = {"batch_norm", "instance_norm", "layer_norm"};
    size_t cap = 2 * 4 * 6 * 2 * 40 * 40 + 4 * 1600 + 64;
    float *one = malloc(cap * sizeof *one), *two = malloc(cap * sizeof *two);
    int saved = vg_get_threads();
    for (int kind = 0; kind < 3; kind++) {
        int64_t n1 = det_run(ctx, kind, 1, one), n2 = det_run(ctx, kind, 2, two);
        CHECK(n1 > 0 && n1 == n2, "%s: threads run failed: %s", names[kind], vg_last_error());
        if (n1 > 0 && n1 == n2)
            CHECK(memcmp(one, two, (size_t)n1 * sizeof *one) == 0, "%s: 1 and 2 threads differ", names[kind]);
    }
    vg_set_threads(saved);
    free(one);
    free(two);
}

/* ---- bad arguments ------------------------------------------------------------ */

static void expect_fail(vg_ctx *ctx, vg_tensor *out, const char *what, const char *needle) {
    CHECK(out == NULL && vg_ctx_status(ctx) == VG_ERR_INVALID, "%s: expected a failure", what);
    CHECK(strstr(vg_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", what, vg_last_error(), needle);
    vg_ctx_reset(ctx);
}

static void test_errors(vg_ctx *ctx) {
    vg_ctx_reset(ctx);
    vg_tensor *x = vg_tensor_zeros(ctx, 4, (int64_t[]){2, 3, 4, 5}, 0);
    vg_tensor *v4 = vg_tensor_zeros(ctx, 1, (int64_t[]){4}, 0);
    expect_fail(ctx, vg_batch_norm(ctx, x, v4, NULL, NULL, NULL, 1, 0.1, 1e-5), "bn weight shape", "batch_norm: weight");

    x = vg_tensor_zeros(ctx, 4, (int64_t[]){2, 3, 4, 5}, 0);
    vg_tensor *v3 = vg_tensor_zeros(ctx, 1, (int64_t[]){3}, 0);
    expect_fail(ctx, vg_batch_norm(ctx, x, NULL, NULL, v3, NULL, 0, 0.1, 1e-5), "bn one running buffer",
                "running_var");

    x = vg_tensor_zeros(ctx, 2, (int64_t[]){1, 3}, 0);
    expect_fail(ctx, vg_batch_norm(ctx, x, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5), "bn one value per channel",
                "more than 1 value per channel");

    x = vg_tensor_zeros(ctx, 1, (int64_t[]){3}, 0);
    expect_fail(ctx, vg_batch_norm(ctx, x, NULL, NULL, NULL, NULL, 1, 0.1, 1e-5), "bn 1-D input", "(N, C, ...)");

    x = vg_tensor_zeros(ctx, 2, (int64_t[]){2, 3}, 0);
    expect_fail(ctx, vg_instance_norm(ctx, x, NULL, NULL, 1e-5), "in 2-D input", "instance_norm");

    x = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 3, 1}, 0);
    expect_fail(ctx, vg_instance_norm(ctx, x, NULL, NULL, 1e-5), "in one spatial element", "spatial");

    x = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 3, 4}, 0);
    expect_fail(ctx, vg_layer_norm(ctx, x, 4, NULL, NULL, 1e-5), "ln norm_ndim", "norm_ndim");

    x = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 3, 4}, 0);
    vg_tensor *w = vg_tensor_zeros(ctx, 2, (int64_t[]){4, 3}, 0);
    expect_fail(ctx, vg_layer_norm(ctx, x, 2, w, NULL, 1e-5), "ln weight shape", "weight must have shape (3, 4)");

    /* an earlier failure (NULL input) propagates without a new message */
    CHECK(vg_layer_norm(ctx, NULL, 1, NULL, NULL, 1e-5) == NULL, "NULL input must give NULL");
    vg_ctx_reset(ctx);
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        fprintf(stderr, "FAIL: %s\n", vg_last_error());
        return 1;
    }
    vt_fixture *fx = vt_fixture_open("tests/fixtures/norm.safetensors");
    for (int i = 0; i < vt_fixture_ncases(fx); i++) run_case(ctx, fx, vt_fixture_case(fx, i));
    CHECK(vt_fixture_ncases(fx) >= 20, "expected at least 20 fixture cases, got %d", vt_fixture_ncases(fx));
    vt_fixture_close(fx);
    test_accuracy(ctx);
    test_threads(ctx);
    test_errors(ctx);
    vg_ctx_free(ctx);
    TEST_END();
}
