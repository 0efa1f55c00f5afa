/* Parameter sets: named tensors declared first, then backed by one
 * allocation for values and one for gradients (llm.c), so zeroing gradients
 * is one call and a checkpoint is one contiguous array. Trainable parameters
 * come first in the flat arrays, buffers (running statistics) after them. */
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "ops/op.h"

typedef struct param_entry {
    char *name;
    vg_tensor *t;
    int is_buffer;
} param_entry;

struct vg_params {
    vg_ctx *ctx;
    param_entry *items;
    int count, cap;
    int finalized;
    int requires_grad;
    int64_t numel_trainable, numel_all;
    vg_real *data; /* numel_all */
    vg_real *grad; /* numel_trainable */
    struct grad_owner *grad_owner; /* non-NULL: grad is a buffer shared with another set */
};

/* A gradient buffer two sets share: released with the last of them. */
struct grad_owner {
    vg_real *grad;
    int users;
};

vg_status vg_params_new(vg_params **out, vg_ctx *ctx) {
    *out = calloc(1, sizeof **out);
    if (!*out) return vg_fail(VG_ERR_NOMEM, "out of memory creating a parameter set");
    (*out)->ctx = ctx;
    (*out)->requires_grad = 1;
    return VG_OK;
}

void vg_params_free(vg_params *p) {
    if (!p) return;
    for (int i = 0; i < p->count; i++) {
        free(p->items[i].name);
        free(p->items[i].t);
    }
    free(p->items);
    if (p->data) p->ctx->be->release(p->data);
    if (p->grad_owner) {
        if (--p->grad_owner->users == 0) {
            p->ctx->be->release(p->grad_owner->grad);
            free(p->grad_owner);
        }
    } else if (p->grad) {
        p->ctx->be->release(p->grad);
    }
    free(p);
}

static vg_tensor *params_add(vg_params *p, const char *name, int ndim, const int64_t *shape, int is_buffer) {
    int64_t numel;
    if (p->finalized) {
        vg_fail(VG_ERR_INVALID, "param_add: '%s' declared after the set was finalized", name);
        return NULL;
    }
    if (ndim < 0 || ndim > VG_MAX_DIMS || !vg_shape_numel(ndim, shape, &numel)) {
        vg_fail(VG_ERR_INVALID, "param_add: '%s' has a bad shape", name);
        return NULL;
    }
    if (vg_params_find(p, name)) {
        vg_fail(VG_ERR_INVALID, "param_add: '%s' declared twice", name);
        return NULL;
    }
    if (p->count == p->cap) {
        int cap = p->cap ? 2 * p->cap : 32;
        param_entry *items = realloc(p->items, (size_t)cap * sizeof *items);
        if (!items) goto nomem;
        p->items = items;
        p->cap = cap;
    }
    vg_tensor *t = calloc(1, sizeof *t);
    char *copy = malloc(strlen(name) + 1);
    if (!t || !copy) {
        free(t);
        free(copy);
        goto nomem;
    }
    strcpy(copy, name);
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->numel = numel;
    t->ctx = p->ctx;
    t->is_param = 1;
    t->requires_grad = !is_buffer;
    t->op_name = copy;
    p->items[p->count++] = (param_entry){copy, t, is_buffer};
    return t;
nomem:
    vg_fail(VG_ERR_NOMEM, "param_add: out of memory declaring '%s'", name);
    return NULL;
}

vg_tensor *vg_param_add(vg_params *p, const char *name, int ndim, const int64_t *shape) {
    return params_add(p, name, ndim, shape, 0);
}

vg_tensor *vg_buffer_add(vg_params *p, const char *name, int ndim, const int64_t *shape) {
    return params_add(p, name, ndim, shape, 1);
}

/* Points p's trainable tensors into its flat gradient array. */
static void point_grads(vg_params *p) {
    int64_t off = 0;
    for (int i = 0; i < p->count; i++) {
        if (p->items[i].is_buffer) continue;
        p->items[i].t->grad = p->grad + off;
        off += p->items[i].t->numel;
    }
}

vg_status vg_params_finalize(vg_params *p) {
    if (p->finalized) return VG_OK;
    int64_t trainable = 0, all = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->count; i++) {
            if (p->items[i].is_buffer != pass) continue;
            if (!vg_add_ok(all, p->items[i].t->numel, &all))
                return vg_fail(VG_ERR_NOMEM, "params_finalize: total size overflows");
            if (!pass) trainable = all;
        }
    const vg_backend *be = p->ctx->be;
    size_t data_bytes = (size_t)(all > 0 ? all : 1) * sizeof(vg_real);
    size_t grad_bytes = (size_t)(trainable > 0 ? trainable : 1) * sizeof(vg_real);
    p->data = be->alloc(data_bytes);
    p->grad = be->alloc(grad_bytes);
    if (!p->data || !p->grad)
        return vg_fail(VG_ERR_NOMEM, "params_finalize: out of memory for %lld parameters", (long long)all);
    be->zero(p->data, data_bytes);
    be->zero(p->grad, grad_bytes);
    int64_t off = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->count; i++) {
            if (p->items[i].is_buffer != pass) continue;
            p->items[i].t->data = p->data + off;
            off += p->items[i].t->numel;
        }
    point_grads(p); /* buffers keep grad NULL */
    p->numel_trainable = trainable;
    p->numel_all = all;
    p->finalized = 1;
    return VG_OK;
}

int vg_params_count(const vg_params *p) { return p->count; }
vg_tensor *vg_params_get(const vg_params *p, int i) { return (i >= 0 && i < p->count) ? p->items[i].t : NULL; }
const char *vg_params_name(const vg_params *p, int i) { return (i >= 0 && i < p->count) ? p->items[i].name : NULL; }
int vg_params_is_buffer(const vg_params *p, int i) { return (i >= 0 && i < p->count) ? p->items[i].is_buffer : 0; }

vg_tensor *vg_params_find(const vg_params *p, const char *name) {
    for (int i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0) return p->items[i].t;
    return NULL;
}

int64_t vg_params_numel(const vg_params *p) { return p->numel_trainable; }
vg_real *vg_params_data(vg_params *p) { return p->data; }
vg_real *vg_params_grad(vg_params *p) { return p->grad; }

void vg_params_zero_grad(vg_params *p) {
    if (p->grad) p->ctx->be->zero(p->grad, (size_t)p->numel_trainable * sizeof(vg_real));
}

vg_status vg_params_share_grad(vg_params *a, vg_params *b) {
    if (!a || !b || a == b || !a->finalized || !b->finalized || a->ctx->be != b->ctx->be)
        return vg_fail(VG_ERR_INVALID, "params_share_grad: needs two different finalized sets of one backend");
    if (a->grad_owner || b->grad_owner) return vg_fail(VG_ERR_INVALID, "params_share_grad: a set already shares its gradients");
    struct grad_owner *o = malloc(sizeof *o);
    if (!o) return vg_fail(VG_ERR_NOMEM, "params_share_grad: out of memory");
    vg_params *big = a->numel_trainable >= b->numel_trainable ? a : b, *small = big == a ? b : a;
    *o = (struct grad_owner){big->grad, 2};
    small->ctx->be->release(small->grad);
    small->grad = big->grad;
    a->grad_owner = b->grad_owner = o;
    point_grads(small);
    return VG_OK;
}

void vg_params_set_requires_grad(vg_params *p, int requires_grad) {
    p->requires_grad = requires_grad != 0;
    for (int i = 0; i < p->count; i++)
        if (!p->items[i].is_buffer) p->items[i].t->requires_grad = (unsigned)p->requires_grad;
}

int64_t vg_params_numel_all(const vg_params *p) { return p->numel_all; }
vg_ctx *vg_params_ctx(const vg_params *p) { return p->ctx; }

void vg_params_swap_data(vg_params *p, vg_real **other) {
    vg_real *old = p->data;
    p->data = *other;
    *other = old;
    int64_t off = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < p->count; i++) {
            if (p->items[i].is_buffer != pass) continue;
            p->items[i].t->data = p->data + off;
            off += p->items[i].t->numel;
        }
}

vg_status vg_params_init_normal(vg_params *p, uint64_t seed, double mean, double std) {
    if (!p->finalized) return vg_fail(VG_ERR_INVALID, "params_init_normal: set not finalized");
    p->ctx->be->rng_normal(p->data, p->numel_trainable, seed, 0, mean, std);
    return VG_OK;
}
