/* PyTorch parity of the layout ops (reshape, permute, concat, slice,
 * broadcast_to, pad) and the reductions (sum, mean, sum_dim, mean_dim): output
 * and every input gradient for each case of tests/fixtures/layout.safetensors
 * (made by tools/fixtures/make_layout.py, in float64 from the same float32
 * inputs). Tolerance: 1e-4 of the reference's largest magnitude.
 *
 * Also: large reductions are bit-identical for 1, 2 and 3 threads and agree
 * with a double-precision sum; large permutations (both kernel paths) match
 * a naive index computation, forward and backward; bad arguments fail with
 * messages naming the op. */
#include "op_fixture.h"


static void run_case(vg_ctx *ctx, vt_fixture *fx, const char *c) {
    json_t *args = vt_fixture_args(fx, c);
    const char *op = vt_arg_str(args, "op");
    vg_ctx_reset(ctx);
    vg_tensor *in[8];
    int n = 0;
    if (strcmp(op, "cat") == 0) {
        char name[24];
        for (; n < 8; n++) {
            snprintf(name, sizeof name, "x%d", n);
            if (!vt_fixture_has(fx, c, name)) break;
            in[n] = vt_load(ctx, fx, c, name, 1);
        }
    } else {
        in[n++] = vt_load(ctx, fx, c, "x", 1);
    }
    int64_t v[VG_MAX_DIMS];
    vg_tensor *out = NULL;
    if (strcmp(op, "reshape") == 0) {
        int nd = vt_arg_ints(args, "shape", v, VG_MAX_DIMS);
        out = vg_reshape(ctx, in[0], nd, v);
    } else if (strcmp(op, "permute") == 0) {
        int nd = vt_arg_ints(args, "perm", v, VG_MAX_DIMS), perm[VG_MAX_DIMS];
        for (int i = 0; i < nd; i++) perm[i] = (int)v[i];
        out = vg_permute(ctx, in[0], perm);
    } else if (strcmp(op, "cat") == 0) {
        out = vg_concat(ctx, in, n, (int)vt_arg_int(args, "dim"));
    } else if (strcmp(op, "slice") == 0) {
        out = vg_slice(ctx, in[0], (int)vt_arg_int(args, "dim"), vt_arg_int(args, "start"), vt_arg_int(args, "end"),
                       vt_arg_int(args, "step"));
    } else if (strcmp(op, "broadcast_to") == 0) {
        int nd = vt_arg_ints(args, "shape", v, VG_MAX_DIMS);
        out = vg_broadcast_to(ctx, in[0], nd, v);
    } else if (strcmp(op, "pad") == 0) {
        int64_t pv[2 * VG_MAX_DIMS];
        int np = vt_arg_ints(args, "pad", pv, 2 * VG_MAX_DIMS);
        out = vg_pad(ctx, in[0], pv, np, vt_arg_double(args, "value"));
    } else if (strcmp(op, "sum") == 0) {
        out = vg_sum(ctx, in[0]);
    } else if (strcmp(op, "mean") == 0) {
        out = vg_mean(ctx, in[0]);
    } else if (strcmp(op, "sum_dim") == 0 || strcmp(op, "mean_dim") == 0) {
        int dim = (int)vt_arg_int(args, "dim"), keep = vt_arg_bool(args, "keepdim");
        out = op[0] == 's' ? vg_sum_dim(ctx, in[0], dim, keep) : vg_mean_dim(ctx, in[0], dim, keep);
    } else {
        CHECK(0, "%s: unknown op '%s' in the fixture", c, op);
    }
    CHECK(out != NULL, "%s: %s failed: %s", c, op, vg_last_error());
    if (out) {
        vt_compare(fx, c, "out", out, 0);
        float *gout = vt_fixture_tensor(fx, c, "gout", NULL, NULL);
        vg_status s = vg_backward_with(ctx, out, gout);
        CHECK(s == VG_OK, "%s: backward: %s", c, vg_last_error());
        free(gout);
        if (strcmp(op, "cat") == 0) {
            for (int i = 0; i < n; i++) {
                char name[24];
                snprintf(name, sizeof name, "grad.x%d", i);
                vt_compare(fx, c, name, in[i], 1);
            }
        } else {
            vt_compare(fx, c, "grad.x", in[0], 1);
        }
    }
    json_decref(args);
}

/* ---- kernels on large tensors ---------------------------------------------- */

static void fill(float *x, int64_t n, uint32_t seed) {
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)((int32_t)(s >> 8) - (1 << 23)) / (float)(1 << 23) + 0.25f; /* not zero-mean: sums grow */
    }
}

/* sum_dim of x (shape) over dim with 1, 2 and 3 threads: bit-identical, and
 * within float rounding of a double-precision sum. */
static void check_reduce_large(vg_ctx *ctx, const char *what, int ndim, const int64_t *shape, int dim) {
    int64_t n = 1, outer = 1, inner = 1;
    for (int i = 0; i < ndim; i++) {
        n *= shape[i];
        if (i < dim) outer *= shape[i];
        if (i > dim) inner *= shape[i];
    }
    int64_t len = shape[dim], m = outer * inner;
    float *x = malloc((size_t)n * sizeof *x), *got[3], *want = malloc((size_t)m * sizeof *want);
    fill(x, n, (uint32_t)n);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0;
            for (int64_t l = 0; l < len; l++) s += x[(o * len + l) * inner + i];
            want[o * inner + i] = (float)s;
        }
    int threads_before = vg_get_threads();
    for (int t = 0; t < 3; t++) {
        vg_set_threads(t + 1);
        vg_ctx_reset(ctx);
        vg_tensor *xt = vg_tensor_from(ctx, ndim, shape, x);
        vg_tensor *out = vg_sum_dim(ctx, xt, dim, 1);
        got[t] = malloc((size_t)m * sizeof *got[t]);
        CHECK(out && vg_tensor_numel(out) == m, "%s: sum failed: %s", what, vg_last_error());
        if (out) vg_tensor_read(out, got[t]);
    }
    vg_set_threads(threads_before);
    CHECK(memcmp(got[0], got[1], (size_t)m * sizeof(float)) == 0 && memcmp(got[0], got[2], (size_t)m * sizeof(float)) == 0,
          "%s: results differ between 1, 2 and 3 threads", what);
    CHECK_CLOSE(what, got[0], want, m, 1e-6, 0);
    for (int t = 0; t < 3; t++) free(got[t]);
    free(x);
    free(want);
}

/* The full sum of a (16, 3, 16, 64, 64) video batch: deterministic and exact
 * to float rounding. */
static void check_sum_video(vg_ctx *ctx) {
    int64_t shape[5] = {16, 3, 16, 64, 64}, n = 16 * 3 * 16 * 64 * 64;
    float *x = malloc((size_t)n * sizeof *x);
    fill(x, n, 7);
    double want = 0;
    for (int64_t i = 0; i < n; i++) want += x[i];
    float got[3];
    int threads_before = vg_get_threads();
    for (int t = 0; t < 3; t++) {
        vg_set_threads(t + 1);
        vg_ctx_reset(ctx);
        vg_tensor *out = vg_sum(ctx, vg_tensor_from(ctx, 5, shape, x));
        CHECK(out && vg_tensor_ndim(out) == 1 && vg_tensor_dim(out, 0) == 1, "sum of video: %s", vg_last_error());
        got[t] = out ? (float)vg_tensor_item(out) : NAN;
    }
    vg_set_threads(threads_before);
    CHECK(got[0] == got[1] && got[0] == got[2], "sum of video differs between thread counts: %.9g %.9g %.9g", got[0],
          got[1], got[2]);
    float w = (float)want;
    CHECK_CLOSE("sum of video", got, &w, 1, 1e-7, 0);
    free(x);
}

/* Permutation vs a naive gather, forward, and backward (dx = dout permuted back). */
static void check_permute_large(vg_ctx *ctx, const int64_t *shape, const int *perm) {
    int64_t n = 1, os[5], is[5], s = 1;
    for (int i = 4; i >= 0; i--) {
        is[i] = s;
        s *= shape[i];
    }
    n = s;
    for (int i = 0; i < 5; i++) os[i] = shape[perm[i]];
    float *x = malloc((size_t)n * sizeof *x), *g = malloc((size_t)n * sizeof *g);
    float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
    float *want_dx = malloc((size_t)n * sizeof *want_dx);
    fill(x, n, 3);
    fill(g, n, 4);
    int64_t idx[5];
    for (int64_t j = 0; j < n; j++) { /* j is the output's flat index */
        int64_t r = j, off = 0;
        for (int i = 4; i >= 0; i--) {
            idx[i] = r % os[i];
            r /= os[i];
        }
        for (int i = 0; i < 5; i++) off += idx[i] * is[perm[i]];
        want[j] = x[off];
        want_dx[off] = g[j];
    }
    char what[96];
    snprintf(what, sizeof what, "permute (%d %d %d %d %d)", perm[0], perm[1], perm[2], perm[3], perm[4]);
    vg_ctx_reset(ctx);
    vg_tensor *xt = vg_tensor_new(ctx, 5, shape, 1);
    vg_tensor_write(xt, x);
    vg_tensor *out = vg_permute(ctx, xt, perm);
    CHECK(out != NULL, "%s: %s", what, vg_last_error());
    if (out) {
        vg_tensor_read(out, got);
        CHECK(memcmp(got, want, (size_t)n * sizeof *got) == 0, "%s: forward differs from the naive gather", what);
        CHECK(vg_backward_with(ctx, out, g) == VG_OK, "%s: backward: %s", what, vg_last_error());
        vg_tensor_read_grad(xt, got);
        CHECK(memcmp(got, want_dx, (size_t)n * sizeof *got) == 0, "%s: backward differs from the naive scatter", what);
    }
    free(x);
    free(g);
    free(want);
    free(got);
    free(want_dx);
}

/* ---- shapes and errors --------------------------------------------------------- */

#define EXPECT_FAIL(expr, needle)                                                                 \
    do {                                                                                          \
        vg_ctx_reset(ctx);                                                                        \
        vg_tensor *x_ = vg_tensor_zeros(ctx, 3, (int64_t[]){2, 3, 4}, 0);                         \
        (void)x_;                                                                                 \
        vg_tensor *r_ = (expr);                                                                   \
        CHECK(r_ == NULL && strstr(vg_last_error(), (needle)) != NULL, "%s: got '%s'", #expr,     \
              vg_last_error());                                                                   \
    } while (0)

static void check_errors(vg_ctx *ctx) {
    EXPECT_FAIL(vg_reshape(ctx, x_, 2, (int64_t[]){5, 5}), "reshape: cannot reshape (2, 3, 4)");
    EXPECT_FAIL(vg_reshape(ctx, x_, 2, (int64_t[]){-1, -1}), "more than one -1");
    EXPECT_FAIL(vg_reshape(ctx, x_, 2, (int64_t[]){5, -1}), "cannot reshape");
    EXPECT_FAIL(vg_reshape(ctx, x_, 2, (int64_t[]){-2, 12}), "negative");
    EXPECT_FAIL(vg_permute(ctx, x_, (int[]){0, 0, 1}), "permute: perm entry 1");
    EXPECT_FAIL(vg_permute(ctx, x_, (int[]){0, 1, 3}), "permutation of 0..2");
    EXPECT_FAIL(vg_concat(ctx, (vg_tensor *[]){x_, vg_tensor_zeros(ctx, 3, (int64_t[]){2, 5, 5}, 0)}, 2, 1),
                "all dims but 1 must match");
    EXPECT_FAIL(vg_concat(ctx, (vg_tensor *[]){x_, vg_tensor_zeros(ctx, 2, (int64_t[]){2, 3}, 0)}, 2, 0),
                "input 1 has shape (2, 3)");
    EXPECT_FAIL(vg_concat(ctx, &x_, 1, 3), "dim 3 out of range");
    EXPECT_FAIL(vg_concat(ctx, &x_, 0, 0), "at least one input");
    EXPECT_FAIL(vg_slice(ctx, x_, 1, 0, 2, 0), "step must be >= 1");
    EXPECT_FAIL(vg_slice(ctx, x_, -4, 0, 2, 1), "dim -4 out of range");
    EXPECT_FAIL(vg_broadcast_to(ctx, x_, 3, (int64_t[]){2, 5, 4}), "cannot broadcast (2, 3, 4) to (2, 5, 4)");
    EXPECT_FAIL(vg_broadcast_to(ctx, x_, 2, (int64_t[]){3, 4}), "to 2 dims");
    EXPECT_FAIL(vg_broadcast_to(ctx, x_, 4, (int64_t[]){-1, 2, 3, 4}), "dim 0");
    EXPECT_FAIL(vg_sum_dim(ctx, x_, 3, 0), "sum_dim: dim 3 out of range");
    EXPECT_FAIL(vg_mean_dim(ctx, x_, -4, 1), "mean_dim: dim -4");
    EXPECT_FAIL(vg_pad(ctx, x_, (int64_t[]){1, 1, 1}, 3, 0.0), "pad: 3 pad values for input (2, 3, 4)");
    EXPECT_FAIL(vg_pad(ctx, x_, (int64_t[]){0, 0, 0, 0, 0, 0, 1, 1}, 8, 0.0), "at most 2 per dim");
    EXPECT_FAIL(vg_pad(ctx, x_, (int64_t[]){0, 0, -1, 0}, 4, 0.0), "pad (-1, 0) of dim 1");
    /* NULL propagates and keeps the first message */
    EXPECT_FAIL(vg_sum(ctx, vg_permute(ctx, vg_slice(ctx, x_, 0, 0, 1, 0), (int[]){0, 1, 2})), "step must be");

    /* an empty slice is a valid (0-sized) tensor, and its gradient is zero */
    vg_ctx_reset(ctx);
    vg_tensor *x = vg_tensor_new(ctx, 2, (int64_t[]){3, 4}, 1);
    vg_tensor_fill_normal(x, 1, 0, 0, 1);
    vg_tensor *e = vg_slice(ctx, x, 1, 3, 1, 1);
    CHECK(e && vg_tensor_numel(e) == 0 && vg_tensor_dim(e, 0) == 3 && vg_tensor_dim(e, 1) == 0, "empty slice: %s",
          vg_last_error());
    vg_tensor *loss = vg_add(ctx, vg_sum(ctx, e), vg_sum(ctx, vg_slice(ctx, x, 0, -1, 99, 1)));
    CHECK(loss && vg_backward(ctx, loss) == VG_OK, "empty slice backward: %s", vg_last_error());
    float g[12];
    vg_tensor_read_grad(x, g);
    int ok = 1;
    for (int i = 0; i < 12; i++) ok &= g[i] == (i >= 8 ? 1.0f : 0.0f);
    CHECK(ok, "gradient through an empty slice and a last-row slice");
    /* mean of an empty tensor is NaN, as torch */
    vg_tensor *m = vg_mean(ctx, e);
    CHECK(m && isnan(vg_tensor_item(m)), "mean of an empty tensor is NaN");
    /* broadcasting to a 0-sized dim: an empty result, a zero gradient */
    vg_ctx_reset(ctx);
    x = vg_tensor_new(ctx, 2, (int64_t[]){2, 1}, 1);
    vg_tensor_fill_normal(x, 1, 0, 0, 1);
    e = vg_broadcast_to(ctx, x, 3, (int64_t[]){0, 2, 3});
    CHECK(e && vg_tensor_numel(e) == 0 && vg_tensor_dim(e, 2) == 3, "broadcast to (0, 2, 3): %s", vg_last_error());
    loss = vg_add(ctx, vg_sum(ctx, e), vg_sum(ctx, x));
    CHECK(loss && vg_backward(ctx, loss) == VG_OK, "broadcast to empty, backward: %s", vg_last_error());
    vg_tensor_read_grad(x, g);
    CHECK(g[0] == 1.0f && g[1] == 1.0f, "gradient through an empty broadcast: %g %g", g[0], g[1]);
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        fprintf(stderr, "%s\n", vg_last_error());
        return 1;
    }
    vt_fixture *fx = vt_fixture_open("tests/fixtures/layout.safetensors");
    for (int i = 0; i < vt_fixture_ncases(fx); i++) run_case(ctx, fx, vt_fixture_case(fx, i));
    vt_fixture_close(fx);

    check_sum_video(ctx);
    /* one row per output, many outputs / few outputs and a long axis (pieces) /
     * wide inner tiles */
    check_reduce_large(ctx, "sum_dim (64, 1000) dim 1", 2, (int64_t[]){64, 1000}, 1);
    check_reduce_large(ctx, "sum_dim (2, 60000) dim 1", 2, (int64_t[]){2, 60000}, 1);
    check_reduce_large(ctx, "sum_dim (1, 20000, 3) dim 1", 3, (int64_t[]){1, 20000, 3}, 1);
    check_reduce_large(ctx, "sum_dim (3, 500, 700) dim 1", 3, (int64_t[]){3, 500, 700}, 1);
    check_reduce_large(ctx, "sum_dim (4000, 130) dim 0", 2, (int64_t[]){4000, 130}, 0);
    int64_t video[5] = {2, 3, 8, 17, 19};
    int perms[][5] = {{0, 2, 1, 3, 4}, {0, 2, 3, 4, 1}, {0, 1, 2, 4, 3}, {4, 3, 2, 1, 0}, {1, 4, 0, 3, 2}, {0, 1, 2, 3, 4}};
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) check_permute_large(ctx, video, perms[i]);

    check_errors(ctx);
    vg_ctx_free(ctx);
    TEST_END();
}
