/* test_feature_stats.c — the statistics behind vidgan's video-quality
 * metrics against independent numpy/scipy references
 * (tools/fixtures/make_feature_stats.py -> tests/fixtures/feature_stats.safetensors):
 * Jacobi eigen-decomposition vs numpy.linalg.eigh, Fréchet distance vs
 * scipy.linalg.sqrtm (pytorch-fid's formula), KID vs StyleGAN2-ADA's formula
 * with the same Philox subsets, precision/recall vs brute force, and
 * L1/MSE/PSNR/SSIM per frame vs a scipy.ndimage SSIM. Plus properties
 * (FD(a, a) = 0, FD symmetric, the subset KID averages to the full-set
 * U-statistic) and the error messages for bad input. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "core/rng.h"
#include "core/status.h"
#include "eval/feature_stats.h"
#include "eval/frame_metrics.h"
#include "io/safetensors.h"

#define FIXTURE "tests/fixtures/feature_stats.safetensors"

static vg_st_file *fx;

/* Tensor "<case>.<name>" (F32 or F64) as doubles; count receives its size. */
static double *get(const char *c, const char *name, int64_t *count) {
    char full[256];
    snprintf(full, sizeof full, "%s.%s", c, name);
    int i = vg_st_find(fx, full);
    if (i < 0) {
        fprintf(stderr, "FAIL fixture: %s: no tensor %s (regenerate with `make fixtures`)\n", FIXTURE, full);
        exit(1);
    }
    int64_t n = vg_st_numel(fx, i);
    double *out = malloc((size_t)(n > 0 ? n : 1) * sizeof *out);
    const unsigned char *p = vg_st_data(fx, i);
    for (int64_t k = 0; k < n; k++) {
        if (vg_st_dtype_of(fx, i) == VG_ST_F64) {
            memcpy(&out[k], p + 8 * k, 8);
        } else {
            float f;
            memcpy(&f, p + 4 * k, 4);
            out[k] = f;
        }
    }
    if (count) *count = n;
    return out;
}

static int64_t rows_of(const char *c, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s.%s", c, name);
    int i = vg_st_find(fx, full);
    return i < 0 ? 0 : vg_st_shape(fx, i)[0];
}

static int64_t cols_of(const char *c, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s.%s", c, name);
    int i = vg_st_find(fx, full);
    return i < 0 || vg_st_ndim(fx, i) < 2 ? 1 : vg_st_shape(fx, i)[1];
}

static double rel_err(double got, double want) { return fabs(got - want) / fmax(fabs(want), 1e-300); }

/* ---- eigen-decomposition vs numpy.linalg.eigh -------------------------------- */

static void test_eigen_case(const char *c) {
    int64_t nn;
    double *a = get(c, "a", &nn), *w_ref = get(c, "w", NULL), *v_ref = get(c, "v", NULL);
    const int64_t n = rows_of(c, "a");
    double *w = malloc((size_t)n * sizeof *w), *v = malloc((size_t)nn * sizeof *v);
    vg_status s = vg_sym_eigen(w, v, a, n);
    CHECK(s == VG_OK, "%s: sym_eigen: %s", c, vg_last_error());
    double scale = 0;
    for (int64_t i = 0; i < n; i++) scale = fmax(scale, fabs(w_ref[i]));
    double werr = 0, rec = 0, orth = 0, proj = 0;
    for (int64_t i = 0; i < n; i++) werr = fmax(werr, fabs(w[i] - w_ref[i]));
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++) {
            double r = 0, o = 0;
            for (int64_t k = 0; k < n; k++) r += v[i * n + k] * w[k] * v[j * n + k], o += v[k * n + i] * v[k * n + j];
            rec = fmax(rec, fabs(r - a[i * n + j]));
            orth = fmax(orth, fabs(o - (i == j)));
        }
    /* eigenvectors up to sign, and for repeated eigenvalues up to a rotation
     * inside their eigenspace: compare the projector of each cluster */
    for (int64_t i0 = 0; i0 < n;) {
        int64_t i1 = i0 + 1;
        while (i1 < n && w_ref[i1] - w_ref[i1 - 1] <= 1e-8 * fmax(scale, 1e-300)) i1++;
        for (int64_t r = 0; r < n; r++)
            for (int64_t q = 0; q < n; q++) {
                double pg = 0, pw = 0;
                for (int64_t k = i0; k < i1; k++) pg += v[r * n + k] * v[q * n + k], pw += v_ref[r * n + k] * v_ref[q * n + k];
                proj = fmax(proj, fabs(pg - pw));
            }
        i0 = i1;
    }
    CHECK(werr <= 1e-12 * fmax(scale, 1.0), "%s: eigenvalues differ from eigh by %.3g (scale %g)", c, werr, scale);
    CHECK(rec <= 1e-12 * fmax(scale, 1.0), "%s: |A - V W V^T| = %.3g", c, rec);
    CHECK(orth <= 1e-12, "%s: |V^T V - I| = %.3g", c, orth);
    CHECK(proj <= 1e-9, "%s: eigenspace projectors differ from eigh's by %.3g", c, proj);
    for (int64_t i = 1; i < n; i++) CHECK(w[i - 1] <= w[i], "%s: eigenvalues not ascending at %lld", c, (long long)i);
    free(a), free(w_ref), free(v_ref), free(w), free(v);
}

/* ---- Fréchet distance -------------------------------------------------------- */

static double fd_of(const double *a, int64_t na, const double *b, int64_t nb, int64_t dim) {
    double out = NAN;
    vg_status s = vg_frechet_distance_features(&out, a, na, b, nb, dim);
    CHECK(s == VG_OK, "frechet_distance_features: %s", vg_last_error());
    return out;
}

static void test_fd_case(const char *c) {
    double *a = get(c, "a", NULL), *b = get(c, "b", NULL), *want = get(c, "fd", NULL), *alt = get(c, "fd_eigh", NULL);
    double *mu_ref = get(c, "mu_a", NULL), *cov_ref = get(c, "cov_a", NULL), *cov_b = get(c, "cov_b", NULL),
           *mu_b = get(c, "mu_b", NULL);
    const int64_t na = rows_of(c, "a"), nb = rows_of(c, "b"), dim = cols_of(c, "a");
    const double got = fd_of(a, na, b, nb, dim);
    /* with fewer rows than dims the covariances are singular: their zero
     * eigenvalues come out as +-1e-16-ish and their square roots as 1e-8, so
     * two correct methods agree only to ~1e-9 relative there */
    const double tight = na <= dim || nb <= dim ? 1e-7 : 1e-9;
    CHECK(rel_err(got, want[0]) <= 1e-6, "%s: FD %.12g, scipy sqrtm %.12g", c, got, want[0]);
    CHECK(rel_err(got, alt[0]) <= tight, "%s: FD %.12g, numpy eigh %.12g", c, got, alt[0]);
    /* moments vs numpy.cov, and the distance from the stored moments */
    double *mu = malloc((size_t)dim * sizeof *mu), *cov = malloc((size_t)(dim * dim) * sizeof *cov);
    CHECK(vg_feature_moments(mu, cov, a, na, dim) == VG_OK, "%s: moments: %s", c, vg_last_error());
    double em = 0, ec = 0, sc = 0;
    for (int64_t i = 0; i < dim; i++) em = fmax(em, fabs(mu[i] - mu_ref[i]));
    for (int64_t i = 0; i < dim * dim; i++) ec = fmax(ec, fabs(cov[i] - cov_ref[i])), sc = fmax(sc, fabs(cov_ref[i]));
    CHECK(em <= 1e-13 && ec <= 1e-12 * sc, "%s: moments differ from numpy: mean %.3g cov %.3g", c, em, ec);
    double from_moments = NAN;
    CHECK(vg_frechet_distance(&from_moments, mu_ref, cov_ref, mu_b, cov_b, dim) == VG_OK, "%s: %s", c, vg_last_error());
    CHECK(rel_err(from_moments, want[0]) <= 1e-6, "%s: FD from moments %.12g, want %.12g", c, from_moments, want[0]);
    /* properties: symmetric, zero against itself */
    const double ba = fd_of(b, nb, a, na, dim), aa = fd_of(a, na, a, na, dim);
    double tr = 0;
    for (int64_t i = 0; i < dim; i++) tr += cov_ref[i * dim + i];
    CHECK(rel_err(ba, got) <= tight, "%s: FD(b, a) %.12g != FD(a, b) %.12g", c, ba, got);
    CHECK(fabs(aa) <= 1e-9 * tr, "%s: FD(a, a) = %.3g, trace %g", c, aa, tr);
    free(a), free(b), free(want), free(alt), free(mu_ref), free(cov_ref), free(cov_b), free(mu_b), free(mu), free(cov);
}

/* ---- KID --------------------------------------------------------------------- */

static double arg_of(const char *c, const char *key) {
    const char *text = vg_st_meta(fx, c);
    const char *p = text ? strstr(text, key) : NULL;
    if (!p) {
        fprintf(stderr, "FAIL fixture: case %s has no argument %s\n", c, key);
        exit(1);
    }
    return strtod(p + strlen(key) + 3, NULL); /* "key": value */
}

static void test_kid_case(const char *c) {
    double *a = get(c, "a", NULL), *b = get(c, "b", NULL), *want = get(c, "kid", NULL);
    const int64_t na = rows_of(c, "a"), nb = rows_of(c, "b"), dim = cols_of(c, "a");
    const int subsets = (int)arg_of(c, "num_subsets");
    const int64_t msub = (int64_t)arg_of(c, "max_subset_size");
    const uint64_t seed = (uint64_t)arg_of(c, "seed");
    double mean = NAN, std = NAN;
    vg_status s = vg_kid(&mean, &std, a, na, b, nb, dim, subsets, msub, seed);
    CHECK(s == VG_OK, "%s: kid: %s", c, vg_last_error());
    CHECK(fabs(mean - want[0]) <= 1e-9 * fabs(want[0]) + 1e-13, "%s: KID %.12g, numpy %.12g", c, mean, want[0]);
    CHECK(fabs(std - want[1]) <= 1e-8 * fabs(want[1]) + 1e-12, "%s: KID std %.12g, numpy %.12g", c, std, want[1]);
    free(a), free(b), free(want);
}

/* Subset KID is an unbiased estimate of the full-sample U-statistic: over
 * many subsets its mean must approach it (a statistical test of the draws). */
static void test_kid_subsets_unbiased(void) {
    const int64_t n = 160, dim = 6;
    double *a = malloc((size_t)(n * dim) * sizeof *a), *b = malloc((size_t)(n * dim) * sizeof *b);
    for (int64_t i = 0; i < n * dim; i++) a[i] = vg_rng_normal_at(11, (uint64_t)i), b[i] = 1.3 * vg_rng_normal_at(12, (uint64_t)i) + 0.2;
    double full = NAN, full_std = NAN, sub = NAN, sub_std = NAN;
    CHECK(vg_kid(&full, &full_std, a, n, b, n, dim, 3, n, 1) == VG_OK, "kid full: %s", vg_last_error());
    CHECK(full_std < 1e-12 * fabs(full), "kid with subset = n depends on the draw: std %.3g", full_std);
    const int subsets = 400;
    CHECK(vg_kid(&sub, &sub_std, a, n, b, n, dim, subsets, 40, 99) == VG_OK, "kid subsets: %s", vg_last_error());
    const double se = sub_std / sqrt((double)subsets);
    CHECK(fabs(sub - full) <= 4 * se, "subset KID %.6g vs full-sample %.6g: %.1f standard errors", sub, full,
          fabs(sub - full) / se);
    /* a different seed draws different subsets */
    double other = NAN;
    CHECK(vg_kid(&other, NULL, a, n, b, n, dim, subsets, 40, 100) == VG_OK && other != sub,
          "kid: seeds 99 and 100 gave the same mean %.12g", other);
    free(a), free(b);
}

/* ---- precision / recall -------------------------------------------------------- */

static void test_pr_case(const char *c) {
    double *a = get(c, "a", NULL), *b = get(c, "b", NULL), *want = get(c, "pr", NULL);
    const int64_t na = rows_of(c, "a"), nb = rows_of(c, "b"), dim = cols_of(c, "a");
    double p = NAN, r = NAN;
    vg_status s = vg_precision_recall(&p, &r, a, na, b, nb, dim, (int)arg_of(c, "k"));
    CHECK(s == VG_OK, "%s: precision_recall: %s", c, vg_last_error());
    CHECK(fabs(p - want[0]) < 1e-12 && fabs(r - want[1]) < 1e-12, "%s: precision %.6f recall %.6f, numpy %.6f %.6f",
          c, p, r, want[0], want[1]);
    free(a), free(b), free(want);
}

/* ---- frame metrics --------------------------------------------------------------- */

static void test_frame_case(const char *c) {
    int64_t n;
    double *pd = get(c, "pred", &n), *td = get(c, "target", NULL), *want = get(c, "scores", NULL);
    char full[256];
    snprintf(full, sizeof full, "%s.pred", c);
    const int64_t *sh = vg_st_shape(fx, vg_st_find(fx, full));
    const int64_t C = sh[0], T = sh[1], H = sh[2], W = sh[3];
    float *pred = malloc((size_t)n * sizeof *pred), *target = malloc((size_t)n * sizeof *target);
    for (int64_t i = 0; i < n; i++) pred[i] = (float)pd[i], target[i] = (float)td[i];
    vg_frame_scores *f = malloc((size_t)T * sizeof *f), mean;
    vg_status s = vg_frame_metrics(f, &mean, pred, target, C, T, H, W, arg_of(c, "data_range"));
    CHECK(s == VG_OK, "%s: frame_metrics: %s", c, vg_last_error());
    double sum[4] = {0, 0, 0, 0};
    for (int64_t t = 0; t < T; t++) {
        const double got[4] = {f[t].l1, f[t].mse, f[t].psnr, f[t].ssim};
        static const char *names[4] = {"l1", "mse", "psnr", "ssim"};
        for (int q = 0; q < 4; q++) {
            const double w = want[t * 4 + q];
            sum[q] += w;
            if (isinf(w))
                CHECK(isinf(got[q]) && got[q] > 0, "%s: frame %lld %s %g, want +inf", c, (long long)t, names[q], got[q]);
            else
                CHECK(fabs(got[q] - w) <= 1e-10 * fmax(fabs(w), 1.0), "%s: frame %lld %s %.12g, scipy %.12g", c,
                      (long long)t, names[q], got[q], w);
        }
    }
    CHECK(fabs(mean.l1 - sum[0] / T) <= 1e-10 && fabs(mean.ssim - sum[3] / T) <= 1e-10, "%s: clip means", c);
    CHECK(isinf(sum[2]) ? isinf(mean.psnr) : fabs(mean.psnr - sum[2] / T) <= 1e-9, "%s: clip PSNR %g", c, mean.psnr);
    free(pd), free(td), free(want), free(pred), free(target), free(f);
}

/* ---- bad input ------------------------------------------------------------------------ */

#define CHECK_FAILS(call, status, text)                                                                  \
    do {                                                                                                 \
        vg_clear_error();                                                                                \
        vg_status s_ = (call);                                                                           \
        CHECK(s_ == (status) && strstr(vg_last_error(), (text)) != NULL, "%s: status %d, message '%s'", \
              #call, (int)s_, vg_last_error());                                                          \
    } while (0)

static void test_errors(void) {
    double x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13}, out = 0, out2 = 0, m[4] = {1, 2, 3, 4};
    double w[2], v[4];
    CHECK_FAILS(vg_frechet_distance_features(&out, x, 1, x, 4, 3), VG_ERR_INVALID, "1 rows, expected at least 2");
    CHECK_FAILS(vg_frechet_distance_features(&out, x, 4, x, 4, 0), VG_ERR_INVALID, "dim 0");
    CHECK_FAILS(vg_frechet_distance_features(&out, NULL, 4, x, 4, 3), VG_ERR_INVALID, "features a is NULL");
    CHECK_FAILS(vg_frechet_distance_features(NULL, x, 4, x, 4, 3), VG_ERR_INVALID, "output is NULL");
    CHECK_FAILS(vg_feature_moments(m, NULL, x, 4, 3), VG_ERR_INVALID, "NULL");
    CHECK_FAILS(vg_frechet_distance(&out, m, m, m, m, -1), VG_ERR_INVALID, "dim -1");
    CHECK_FAILS(vg_sym_eigen(w, v, m, 2), VG_ERR_INVALID, "not symmetric");
    CHECK_FAILS(vg_sym_eigen(w, v, m, 0), VG_ERR_INVALID, "dim 0");
    CHECK_FAILS(vg_kid(&out, NULL, x, 4, x, 4, 3, 0, 100, 1), VG_ERR_INVALID, "num_subsets 0");
    CHECK_FAILS(vg_kid(&out, NULL, x, 4, x, 4, 3, 5, 1, 1), VG_ERR_INVALID, "max_subset_size 1");
    CHECK_FAILS(vg_precision_recall(&out, &out2, x, 4, x, 4, 3, 0), VG_ERR_INVALID, "k 0");
    CHECK_FAILS(vg_precision_recall(&out, &out2, x, 3, x, 4, 1, 3), VG_ERR_INVALID, "3 rows, expected at least 4");
    double bad[12];
    memcpy(bad, x, sizeof bad);
    bad[7] = NAN;
    CHECK_FAILS(vg_frechet_distance_features(&out, x, 4, bad, 4, 3), VG_ERR_NUMERIC, "features b: element 7 is not finite");
    bad[7] = INFINITY;
    CHECK_FAILS(vg_kid(&out, NULL, bad, 4, x, 4, 3, 2, 4, 1), VG_ERR_NUMERIC, "not finite");
    CHECK_FAILS(vg_precision_recall(&out, &out2, x, 6, bad, 6, 2, 3), VG_ERR_NUMERIC, "not finite");
    double sym_nan[4] = {1, NAN, NAN, 1};
    CHECK_FAILS(vg_sym_eigen(w, v, sym_nan, 2), VG_ERR_NUMERIC, "not finite");

    float clip[2 * 11 * 11] = {0}, other[2 * 11 * 11] = {0};
    vg_frame_scores fs[2];
    CHECK_FAILS(vg_frame_metrics(fs, NULL, clip, other, 1, 2, 11, 10, 1.0), VG_ERR_INVALID, "needs at least 11x11");
    CHECK_FAILS(vg_frame_metrics(fs, NULL, clip, other, 1, 2, 11, 11, 0.0), VG_ERR_INVALID, "data_range 0");
    CHECK_FAILS(vg_frame_metrics(fs, NULL, NULL, other, 1, 2, 11, 11, 1.0), VG_ERR_INVALID, "NULL");
    CHECK_FAILS(vg_frame_metrics(fs, NULL, clip, other, 0, 2, 11, 11, 1.0), VG_ERR_INVALID, "positive sizes");
    other[130] = NAN;
    CHECK_FAILS(vg_frame_metrics(fs, NULL, clip, other, 1, 2, 11, 11, 1.0), VG_ERR_NUMERIC, "target element 130");
    other[130] = 0;
    /* identical frames: PSNR +inf, SSIM 1, no NaN even on a constant frame */
    vg_frame_scores mean;
    CHECK(vg_frame_metrics(fs, &mean, clip, other, 1, 2, 11, 11, 1.0) == VG_OK, "%s", vg_last_error());
    CHECK(isinf(fs[0].psnr) && fs[0].psnr > 0 && fs[0].ssim == 1 && fs[0].mse == 0 && isinf(mean.psnr),
          "identical frames: psnr %g ssim %g", fs[0].psnr, fs[0].ssim);
}

/* A matrix whose Jacobi needs care: all off-diagonal entries equal (eigenvalues
 * n - 1 + d and d - 1 repeated n - 1 times), odd size (an idle round-robin slot). */
static void test_eigen_constant(void) {
    const int64_t n = 7;
    double a[49], w[7], v[49];
    for (int64_t i = 0; i < n * n; i++) a[i] = (i % (n + 1) == 0) ? 2.0 : 1.0;
    CHECK(vg_sym_eigen(w, v, a, n) == VG_OK, "%s", vg_last_error());
    double e = fabs(w[n - 1] - 8.0);
    for (int64_t i = 0; i < n - 1; i++) e = fmax(e, fabs(w[i] - 1.0));
    CHECK(e <= 1e-13, "ones + I: eigenvalues off by %.3g", e);
}

int main(void) {
    if (vg_st_open(&fx, FIXTURE) != VG_OK) {
        fprintf(stderr, "FAIL fixture: %s (regenerate with `make fixtures`)\n", vg_last_error());
        return 1;
    }
    const char *list = vg_st_meta(fx, "cases");
    CHECK(list != NULL, "%s: no cases metadata", FIXTURE);
    int seen[5] = {0, 0, 0, 0, 0};
    char *copy = strdup(list ? list : "");
    for (char *c = strtok(copy, ","); c; c = strtok(NULL, ",")) {
        if (!strncmp(c, "eig_", 4)) test_eigen_case(c), seen[0]++;
        else if (!strncmp(c, "fd_", 3)) test_fd_case(c), seen[1]++;
        else if (!strncmp(c, "kid_", 4)) test_kid_case(c), seen[2]++;
        else if (!strncmp(c, "pr_", 3)) test_pr_case(c), seen[3]++;
        else if (!strncmp(c, "ssim_", 5)) test_frame_case(c), seen[4]++;
        else CHECK(0, "unknown fixture case %s", c);
    }
    free(copy);
    for (int i = 0; i < 5; i++) CHECK(seen[i] >= 2 || (i == 0 && seen[i] >= 4), "fixture family %d has %d cases", i, seen[i]);
    test_kid_subsets_unbiased();
    test_eigen_constant();
    test_errors();
    vg_st_close(fx);
    TEST_END();
}
