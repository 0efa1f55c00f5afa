/* Central-difference gradient checks, compiled with -DVG_REAL_F64 (the
 * tests/grad_*.c binaries link a double-precision build of the engine).
 *
 * For an op f and fixed random weights r, L(x) = sum(f(x) * r). The
 * analytical gradient comes from vg_backward_with(out, r); the numerical one
 * from (L(x + eps e_j) - L(x - eps e_j)) / 2 eps for every element j of every
 * input that requires grad. In double with eps = 1e-6 the two agree to
 * about 1e-8 relative for smooth ops; the tolerance is 1e-6 of the
 * gradient's scale. */
#ifndef VG_GRADCHECK_H
#define VG_GRADCHECK_H

#include "test.h"
#include "vidgan.h"
#include "core/rng.h"

#ifndef VG_REAL_F64
#error "gradcheck.h needs the double-precision build (-DVG_REAL_F64)"
#endif

#define GC_MAX_INPUTS 8

/* Builds the op's output from its inputs; returns NULL on failure. */
typedef vg_tensor *(*gc_fn)(vg_ctx *ctx, vg_tensor **in, void *user);

typedef struct gc_input {
    int ndim;
    int64_t shape[VG_MAX_DIMS];
    int requires_grad;
    double lo, hi;        /* uniform range of the random values (lo == hi: normal(0, 1)) */
    const double *values; /* fixed values instead of random ones (e.g. positive variances) */
} gc_input;

static inline int64_t gc_numel(const gc_input *in) {
    int64_t n = 1;
    for (int i = 0; i < in->ndim; i++) n *= in->shape[i];
    return n;
}

/* Forward with the given host inputs; returns L = sum(out * r) (r generated
 * on first use with the output's size) and stores the output size. */
static inline double gc_loss(vg_ctx *ctx, gc_fn fn, void *user, int n, const gc_input *spec, double **host,
                             int with_grad, double **r, int64_t *out_numel, vg_tensor **in_t, vg_tensor **out_t) {
    vg_ctx_reset(ctx);
    for (int i = 0; i < n; i++) {
        in_t[i] = vg_tensor_new(ctx, spec[i].ndim, spec[i].shape, with_grad && spec[i].requires_grad);
        if (!in_t[i]) return NAN;
        vg_tensor_write(in_t[i], host[i]);
    }
    vg_tensor *out = fn(ctx, in_t, user);
    if (!out) return NAN;
    int64_t m = vg_tensor_numel(out);
    if (!*r) {
        *r = malloc((size_t)m * sizeof(double));
        for (int64_t j = 0; j < m; j++) (*r)[j] = vg_rng_normal_at(777, (uint64_t)j);
        *out_numel = m;
    }
    double *o = malloc((size_t)m * sizeof(double));
    vg_tensor_read(out, o);
    double L = 0;
    for (int64_t j = 0; j < m; j++) L += o[j] * (*r)[j];
    free(o);
    *out_t = out;
    return L;
}

/* Runs the check; records one CHECK per input that requires grad. */
static inline void gc_check(const char *name, gc_fn fn, void *user, int n, const gc_input *spec, uint64_t seed) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) {
        CHECK(0, "%s: %s", name, vg_last_error());
        return;
    }
    double *host[GC_MAX_INPUTS];
    for (int i = 0; i < n; i++) {
        int64_t m = gc_numel(&spec[i]);
        host[i] = malloc((size_t)(m > 0 ? m : 1) * sizeof(double));
        for (int64_t j = 0; j < m; j++) {
            uint64_t idx = ((uint64_t)i << 40) + (uint64_t)j;
            host[i][j] = spec[i].values ? spec[i].values[j]
                         : spec[i].lo == spec[i].hi
                             ? vg_rng_normal_at(seed, idx)
                             : spec[i].lo + (spec[i].hi - spec[i].lo) * vg_rng_uniform_at(seed, idx);
        }
    }
    double *r = NULL;
    int64_t out_numel = 0;
    vg_tensor *in_t[GC_MAX_INPUTS], *out_t;
    double L = gc_loss(ctx, fn, user, n, spec, host, 1, &r, &out_numel, in_t, &out_t);
    if (!(L == L)) {
        CHECK(0, "%s: forward failed: %s", name, vg_last_error());
        goto done;
    }
    if (vg_backward_with(ctx, out_t, r) != VG_OK) {
        CHECK(0, "%s: backward failed: %s", name, vg_last_error());
        goto done;
    }
    double *ana[GC_MAX_INPUTS] = {0};
    for (int i = 0; i < n; i++) {
        if (!spec[i].requires_grad) continue;
        int64_t m = gc_numel(&spec[i]);
        ana[i] = malloc((size_t)(m > 0 ? m : 1) * sizeof(double));
        vg_tensor_read_grad(in_t[i], ana[i]);
    }
    const double eps = 1e-6;
    for (int i = 0; i < n; i++) {
        if (!spec[i].requires_grad) continue;
        int64_t m = gc_numel(&spec[i]);
        double worst = 0, scale = 0;
        int64_t worst_j = 0;
        double worst_num = 0;
        for (int64_t j = 0; j < m; j++) {
            double keep = host[i][j];
            host[i][j] = keep + eps;
            double Lp = gc_loss(ctx, fn, user, n, spec, host, 0, &r, &out_numel, in_t, &out_t);
            host[i][j] = keep - eps;
            double Lm = gc_loss(ctx, fn, user, n, spec, host, 0, &r, &out_numel, in_t, &out_t);
            host[i][j] = keep;
            double num = (Lp - Lm) / (2 * eps);
            double d = fabs(num - ana[i][j]);
            scale = fmax(scale, fabs(num));
            if (!(d <= worst)) {
                worst = d;
                worst_j = j;
                worst_num = num;
            }
        }
        CHECK(worst <= 1e-6 * fmax(scale, 1e-3), "%s: input %d: |numerical - analytical| = %.3g (scale %.3g), at %lld: num %.10g ana %.10g",
              name, i, worst, scale, (long long)worst_j, worst_num, m ? ana[i][worst_j] : 0.0);
        free(ana[i]);
    }
done:
    free(r);
    for (int i = 0; i < n; i++) free(host[i]);
    vg_ctx_free(ctx);
}

#endif
