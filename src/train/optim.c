/* Adam and weight EMA on flat parameter arrays; see optim.h. */
#include "train/optim.h"

#include "core/status.h"
#include "ops/ctx.h"

static const vg_backend *backend_of(vg_params *p) { return vg_ctx_backend(vg_params_ctx(p)); }

static vg_real *alloc_zeroed(const vg_backend *be, int64_t n) {
    size_t bytes = (size_t)(n > 0 ? n : 1) * sizeof(vg_real);
    vg_real *x = be->alloc(bytes);
    if (x) be->zero(x, bytes);
    return x;
}

vg_status vg_adam_init(vg_adam *a, vg_params *p, double lr, double beta1, double beta2, double eps,
                       double weight_decay) {
    *a = (vg_adam){.params = p, .n = vg_params_numel(p), .lr = lr, .beta1 = beta1, .beta2 = beta2, .eps = eps,
                   .weight_decay = weight_decay};
    if (!(lr > 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0))
        return vg_fail(VG_ERR_INVALID, "adam: need lr > 0, 0 <= betas < 1, eps > 0 (got lr %g, betas %g %g, eps %g)", lr,
                       beta1, beta2, eps);
    const vg_backend *be = backend_of(p);
    a->m = alloc_zeroed(be, a->n);
    a->v = alloc_zeroed(be, a->n);
    if (!a->m || !a->v) {
        vg_adam_free(a);
        return vg_fail(VG_ERR_NOMEM, "adam: out of memory for %lld moments", (long long)a->n);
    }
    return VG_OK;
}

void vg_adam_free(vg_adam *a) {
    if (!a->params) return;
    const vg_backend *be = backend_of(a->params);
    if (a->m) be->release(a->m);
    if (a->v) be->release(a->v);
    a->m = a->v = NULL;
}

void vg_adam_step(vg_adam *a) {
    a->step++;
    struct vg_adam_desc d = {a->lr, a->beta1, a->beta2, a->eps, a->weight_decay, a->step};
    backend_of(a->params)->adam_update(vg_params_data(a->params), a->m, a->v, vg_params_grad(a->params), a->n, &d);
}

vg_status vg_ema_init(vg_ema *e, vg_params *p, double decay) {
    *e = (vg_ema){.params = p, .n_trainable = vg_params_numel(p), .n_all = vg_params_numel_all(p), .decay = decay};
    if (!(decay >= 0 && decay < 1)) return vg_fail(VG_ERR_INVALID, "ema: decay must be in [0, 1), got %g", decay);
    const vg_backend *be = backend_of(p);
    e->shadow = alloc_zeroed(be, e->n_all);
    if (!e->shadow) return vg_fail(VG_ERR_NOMEM, "ema: out of memory");
    be->copy(e->shadow, vg_params_data(p), (size_t)e->n_all * sizeof(vg_real));
    return VG_OK;
}

void vg_ema_free(vg_ema *e) {
    if (e->params && e->shadow) backend_of(e->params)->release(e->shadow);
    e->shadow = NULL;
}

void vg_ema_update(vg_ema *e, int64_t updates) {
    const vg_backend *be = backend_of(e->params);
    vg_real *w = vg_params_data(e->params);
    double warm = (1.0 + (double)updates) / (10.0 + (double)updates);
    be->ema_update(e->shadow, w, e->n_trainable, warm < e->decay ? warm : e->decay);
    if (e->n_all > e->n_trainable)
        be->copy(e->shadow + e->n_trainable, w + e->n_trainable, (size_t)(e->n_all - e->n_trainable) * sizeof(vg_real));
}

void vg_ema_swap(vg_ema *e) { vg_params_swap_data(e->params, &e->shadow); }
