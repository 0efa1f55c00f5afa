/* op_fixture.h — what every op parity test does with a fixture case: load
 * a reference tensor into a step tensor, and compare a result (values or
 * gradient) with a reference, shape first, then values within VT_RTOL of the
 * reference's largest magnitude (plus VT_ATOL). Include after fixture.h's
 * dependencies; header-only. */
#ifndef VG_TEST_OP_FIXTURE_H
#define VG_TEST_OP_FIXTURE_H

#include "fixture.h"
#include "vidgan.h"

#define VT_RTOL 1e-4
#define VT_ATOL 1e-6

static inline vg_tensor *vt_load(vg_ctx *ctx, vt_fixture *fx, const char *c, const char *name, int requires_grad) {
    int ndim;
    int64_t shape[VG_ST_MAX_DIMS];
    float *host = vt_fixture_tensor(fx, c, name, &ndim, shape);
    vg_tensor *t = vg_tensor_new(ctx, ndim, shape, requires_grad);
    if (t) vg_tensor_write(t, host);
    free(host);
    return t;
}

/* The tensor if the case has it, else NULL (an optional weight or bias). */
static inline vg_tensor *vt_load_opt(vg_ctx *ctx, vt_fixture *fx, const char *c, const char *name, int requires_grad) {
    return vt_fixture_has(fx, c, name) ? vt_load(ctx, fx, c, name, requires_grad) : NULL;
}

/* grad: 0 compares t's values, 1 its gradient, with the reference ref_name. */
static inline void vt_compare(vt_fixture *fx, const char *c, const char *ref_name, vg_tensor *t, int grad) {
    int ndim;
    int64_t shape[VG_ST_MAX_DIMS];
    float *want = vt_fixture_tensor(fx, c, ref_name, &ndim, shape);
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    char what[160];
    snprintf(what, sizeof what, "%s: %s", c, ref_name);
    int same_shape = t && vg_tensor_ndim(t) == ndim;
    for (int i = 0; same_shape && i < ndim; i++) same_shape = vg_tensor_dim(t, i) == shape[i];
    if (!same_shape) {
        CHECK(0, "%s: missing or wrong shape (%lld vs %lld elements)", what, t ? (long long)vg_tensor_numel(t) : -1LL,
              (long long)n);
        free(want);
        return;
    }
    float *got = malloc((size_t)(n > 0 ? n : 1) * sizeof *got);
    if (grad)
        vg_tensor_read_grad(t, got);
    else
        vg_tensor_read(t, got);
    CHECK_CLOSE(what, got, want, n, VT_RTOL, VT_ATOL);
    free(got);
    free(want);
}

#endif
