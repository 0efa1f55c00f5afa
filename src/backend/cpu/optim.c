/* CPU kernels for optimisation: the Adam update (matching torch.optim.Adam's
 * float arithmetic), the EMA of weights, and counting non-finite values. */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

static void adam_update(vg_real *param, vg_real *m, vg_real *v, const vg_real *grad, int64_t n,
                        const struct vg_adam_desc *d) {
    const vg_real b1 = (vg_real)d->beta1, b2 = (vg_real)d->beta2, wd = (vg_real)d->weight_decay;
    const vg_real eps = (vg_real)d->eps;
    const double bc1 = 1.0 - pow(d->beta1, (double)d->step), bc2 = 1.0 - pow(d->beta2, (double)d->step);
    const vg_real step_size = (vg_real)(d->lr / bc1), bc2_sqrt = (vg_real)sqrt(bc2);
    const vg_real one_b1 = (vg_real)(1.0 - d->beta1), one_b2 = (vg_real)(1.0 - d->beta2);
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 32768)
    for (int64_t i = 0; i < n; i++) {
        vg_real g = grad[i];
        if (wd != 0) g += wd * param[i];
        m[i] = m[i] * b1 + g * one_b1;
        v[i] = v[i] * b2 + g * g * one_b2;
        vg_real denom = sqrt(v[i]) / bc2_sqrt + eps;
        param[i] -= step_size * (m[i] / denom);
    }
}

static void ema_update(vg_real *ema, const vg_real *param, int64_t n, double decay) {
    const vg_real w = (vg_real)(1.0 - decay);
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 32768)
    for (int64_t i = 0; i < n; i++) ema[i] += w * (param[i] - ema[i]);
}

static int64_t count_nonfinite(const vg_real *x, int64_t n) {
    int64_t bad = 0;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) reduction(+ : bad) if (n > 32768)
    for (int64_t i = 0; i < n; i++) bad += !isfinite(x[i]);
    return bad;
}

void vg_cpu_register_optim(vg_backend *be) {
    be->adam_update = adam_update;
    be->ema_update = ema_update;
    be->count_nonfinite = count_nonfinite;
}
