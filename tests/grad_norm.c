/* Central-difference gradient checks (double precision) of the
 * normalisation ops: batch norm in training mode (batch statistics, with
 * and without running buffers) and eval mode (running statistics as
 * constants), instance norm and layer norm, with and without affine
 * parameters, on odd shapes (batch 1, T = 1, 2-D batch norm input). Running
 * buffers are inputs without gradient; the check writes them afresh before
 * every evaluation, so the in-place update never disturbs the loss. */
#include "gradcheck.h"

enum norm_kind { BATCH, INSTANCE, LAYER };

/* One case: which op, which optional inputs exist (in this order after x:
 * weight, bias, running_mean, running_var), and the op's arguments. */
typedef struct norm_case {
    const char *name;
    enum norm_kind kind;
    int ndim;
    int64_t shape[VG_MAX_DIMS];
    int has_weight, has_bias, has_running;
    int training;  /* batch norm */
    int norm_ndim; /* layer norm */
} norm_case;

static vg_tensor *call_norm(vg_ctx *ctx, vg_tensor **in, void *user) {
    const norm_case *c = user;
    int k = 1;
    vg_tensor *w = c->has_weight ? in[k++] : NULL;
    vg_tensor *b = c->has_bias ? in[k++] : NULL;
    vg_tensor *rm = c->has_running ? in[k++] : NULL;
    vg_tensor *rv = c->has_running ? in[k++] : NULL;
    switch (c->kind) {
    case BATCH: return vg_batch_norm(ctx, in[0], w, b, rm, rv, c->training, 0.1, 1e-5);
    case INSTANCE: return vg_instance_norm(ctx, in[0], w, b, 1e-5);
    case LAYER: return vg_layer_norm(ctx, in[0], c->norm_ndim, w, b, 1e-5);
    }
    return NULL;
}

static void run(norm_case *c, uint64_t seed) {
    gc_input in[5];
    int n = 0;
    in[n++] = (gc_input){.ndim = c->ndim, .requires_grad = 1, .lo = -1, .hi = 3};
    for (int i = 0; i < c->ndim; i++) in[0].shape[i] = c->shape[i];
    /* parameter shape: (C) for batch/instance norm, the last norm_ndim dims for layer norm */
    gc_input param = {.ndim = 1, .shape = {c->ndim > 1 ? c->shape[1] : 1}, .requires_grad = 1, .lo = 0.5, .hi = 1.5};
    if (c->kind == LAYER) {
        param.ndim = c->norm_ndim;
        for (int i = 0; i < c->norm_ndim; i++) param.shape[i] = c->shape[c->ndim - c->norm_ndim + i];
    }
    if (c->has_weight) in[n++] = param;
    if (c->has_bias) {
        in[n] = param;
        in[n].lo = in[n].hi = 0; /* normal */
        n++;
    }
    if (c->has_running) {
        in[n++] = (gc_input){.ndim = 1, .shape = {c->shape[1]}, .requires_grad = 0, .lo = -0.5, .hi = 0.5};
        in[n++] = (gc_input){.ndim = 1, .shape = {c->shape[1]}, .requires_grad = 0, .lo = 0.5, .hi = 2};
    }
    gc_check(c->name, call_norm, c, n, in, seed);
}

int main(void) {
    norm_case cases[] = {
        /* batch norm, training */
        {"bn_train_1d_affine_running", BATCH, 3, {3, 4, 5}, 1, 1, 1, 1, 0},
        {"bn_train_2d_input", BATCH, 2, {5, 3}, 1, 1, 1, 1, 0},
        {"bn_train_3d_batch1", BATCH, 5, {1, 3, 2, 3, 5}, 1, 1, 1, 1, 0},
        {"bn_train_3d_T1_plain", BATCH, 5, {2, 3, 1, 3, 4}, 0, 0, 0, 1, 0},
        {"bn_train_weight_only", BATCH, 4, {2, 3, 3, 5}, 1, 0, 0, 1, 0},
        {"bn_train_bias_only", BATCH, 4, {2, 2, 3, 3}, 0, 1, 1, 1, 0},
        /* batch norm, eval: running statistics are constants */
        {"bn_eval_2d_affine", BATCH, 4, {2, 3, 4, 5}, 1, 1, 1, 0, 0},
        {"bn_eval_3d_plain", BATCH, 5, {2, 3, 1, 2, 3}, 0, 0, 1, 0, 0},
        {"bn_eval_2d_input", BATCH, 2, {1, 4}, 1, 1, 1, 0, 0},
        /* eval without running buffers falls back to batch statistics */
        {"bn_eval_no_running", BATCH, 3, {3, 2, 5}, 1, 1, 0, 0, 0},
        /* instance norm */
        {"in_1d_affine", INSTANCE, 3, {2, 3, 5}, 1, 1, 0, 0, 0},
        {"in_3d_batch1_T1_affine", INSTANCE, 5, {1, 2, 1, 3, 4}, 1, 1, 0, 0, 0},
        {"in_3d_plain", INSTANCE, 5, {2, 3, 2, 3, 3}, 0, 0, 0, 0, 0},
        {"in_2d_weight_only", INSTANCE, 4, {2, 3, 3, 3}, 1, 0, 0, 0, 0},
        /* layer norm */
        {"ln_last1_affine", LAYER, 2, {3, 5}, 1, 1, 0, 0, 1},
        {"ln_last2_affine", LAYER, 3, {2, 3, 4}, 1, 1, 0, 0, 2},
        {"ln_last3_plain", LAYER, 4, {2, 2, 3, 4}, 0, 0, 0, 0, 3},
        {"ln_last3_affine_5d", LAYER, 5, {1, 1, 2, 3, 3}, 1, 1, 0, 0, 3},
        {"ln_all_dims_bias_only", LAYER, 2, {3, 7}, 0, 1, 0, 0, 2},
        {"ln_last1_weight_only", LAYER, 3, {4, 1, 6}, 1, 0, 0, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run(&cases[i], 500 + i);
    TEST_END();
}
