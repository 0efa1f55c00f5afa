/* A minimal test harness: CHECK counts passes and failures, prints every
 * failure with file:line, and TEST_END prints "N passed, N failed" and makes
 * the process exit non-zero when anything failed. Also array comparison by
 * relative error, used by every parity test. */
#ifndef VG_TEST_H
#define VG_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int vt_passed, vt_failed;

#define CHECK(cond, ...)                                                  \
    do {                                                                  \
        if (cond) {                                                       \
            vt_passed++;                                                  \
        } else {                                                          \
            vt_failed++;                                                  \
            fprintf(stderr, "FAIL %s:%d: (%s) ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                 \
            fputc('\n', stderr);                                          \
        }                                                                 \
    } while (0)

#define TEST_END()                                                        \
    do {                                                                  \
        printf("%d passed, %d failed\n", vt_passed, vt_failed);           \
        return vt_failed != 0 || vt_passed == 0;                          \
    } while (0)

/* Error of got vs want: max |got - want| / (atol + rtol * max|want|), i.e.
 * <= 1 means within tolerance, relative to the scale of the reference. */
static inline double vt_err_ratio(const float *got, const float *want, long n, double rtol, double atol) {
    double scale = 0, worst = 0;
    for (long i = 0; i < n; i++) scale = fmax(scale, fabs((double)want[i]));
    for (long i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d == d)) return INFINITY; /* NaN */
        worst = fmax(worst, d);
    }
    return worst / (atol + rtol * scale);
}

/* CHECK that two float arrays agree; prints the worst element on failure. */
#define CHECK_CLOSE(what, got, want, n, rtol, atol)                                      \
    do {                                                                                 \
        double vt_r_ = vt_err_ratio((got), (want), (long)(n), (rtol), (atol));           \
        long vt_i_ = 0; double vt_d_ = -1;                                               \
        for (long vt_k_ = 0; vt_k_ < (long)(n); vt_k_++) {                               \
            double dd = fabs((double)(got)[vt_k_] - (double)(want)[vt_k_]);              \
            if (!(dd <= vt_d_)) { vt_d_ = dd; vt_i_ = vt_k_; }                           \
        }                                                                                \
        CHECK(vt_r_ <= 1.0, "%s: error %.3g x tolerance (rtol %g atol %g), worst at %ld: got %.7g want %.7g", \
              (what), vt_r_, (double)(rtol), (double)(atol), vt_i_,                      \
              (n) > 0 ? (double)(got)[vt_i_] : 0.0, (n) > 0 ? (double)(want)[vt_i_] : 0.0); \
    } while (0)

#endif
