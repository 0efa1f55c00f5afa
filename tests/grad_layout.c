/* Central-difference gradient checks (double precision) of the layout ops
 * (reshape, permute, concat, slice, broadcast_to, pad) and the reductions (sum,
 * mean, sum_dim, mean_dim), on small odd shapes with 1-sized dims. */
#include "gradcheck.h"

typedef struct op_case {
    int kind;
    int ndim;
    int64_t shape[VG_MAX_DIMS]; /* reshape / broadcast_to target */
    int perm[VG_MAX_DIMS];
    int dim, keepdim;
    int64_t start, end, step;
    int n; /* concat inputs */
    int npad;
    int64_t pad[2 * VG_MAX_DIMS];
    double value;
} op_case;

enum { RESHAPE, PERMUTE, CONCAT, SLICE, BROADCAST, PAD, SUM, MEAN, SUM_DIM, MEAN_DIM };

static vg_tensor *call(vg_ctx *ctx, vg_tensor **in, void *user) {
    const op_case *c = user;
    switch (c->kind) {
    case RESHAPE: return vg_reshape(ctx, in[0], c->ndim, c->shape);
    case PERMUTE: return vg_permute(ctx, in[0], c->perm);
    case CONCAT: return vg_concat(ctx, in, c->n, c->dim);
    case SLICE: return vg_slice(ctx, in[0], c->dim, c->start, c->end, c->step);
    case BROADCAST: return vg_broadcast_to(ctx, in[0], c->ndim, c->shape);
    case PAD: return vg_pad(ctx, in[0], c->pad, c->npad, c->value);
    case SUM: return vg_sum(ctx, in[0]);
    case MEAN: return vg_mean(ctx, in[0]);
    case SUM_DIM: return vg_sum_dim(ctx, in[0], c->dim, c->keepdim);
    case MEAN_DIM: return vg_mean_dim(ctx, in[0], c->dim, c->keepdim);
    default: return NULL;
    }
}

/* A random-normal input of the given shape. */
static gc_input in_of(int ndim, const int64_t *shape, int requires_grad) {
    gc_input g = {.ndim = ndim, .requires_grad = requires_grad};
    for (int i = 0; i < ndim; i++) g.shape[i] = shape[i];
    return g;
}

static void check1(const char *name, op_case c, int ndim, const int64_t *shape, uint64_t seed) {
    gc_input in = in_of(ndim, shape, 1);
    gc_check(name, call, &c, 1, &in, seed);
}

int main(void) {
    uint64_t seed = 1;
    /* reshape */
    check1("reshape/infer", (op_case){.kind = RESHAPE, .ndim = 2, .shape = {4, -1}}, 3, (int64_t[]){2, 3, 2}, seed++);
    check1("reshape/5d", (op_case){.kind = RESHAPE, .ndim = 5, .shape = {1, 3, 1, 5, 1}}, 2, (int64_t[]){5, 3}, seed++);

    /* permute, including the video swap (N, C, T, H, W) -> (N, T, C, H, W) */
    struct {
        const char *name;
        int perm[VG_MAX_DIMS];
    } perms[] = {
        {"permute/nctwh_swap", {0, 2, 1, 3, 4}}, {"permute/reverse", {4, 3, 2, 1, 0}},
        {"permute/channels_last", {0, 2, 3, 4, 1}}, {"permute/negative", {-1, 0, 1, -2, 2}},
        {"permute/identity", {0, 1, 2, 3, 4}},
    };
    for (size_t i = 0; i < sizeof perms / sizeof perms[0]; i++) {
        op_case c = {.kind = PERMUTE};
        for (int k = 0; k < 5; k++) c.perm[k] = perms[i].perm[k];
        check1(perms[i].name, c, 5, (int64_t[]){2, 3, 1, 2, 3}, seed++);
    }
    check1("permute/3d", (op_case){.kind = PERMUTE, .perm = {2, 0, 1}}, 3, (int64_t[]){3, 1, 4}, seed++);

    /* concat: three inputs of different sizes along a middle dim, negative
     * dim, one input without gradient, and more inputs than a node holds */
    {
        gc_input in[3] = {in_of(3, (int64_t[]){2, 1, 3}, 1), in_of(3, (int64_t[]){2, 4, 3}, 1),
                          in_of(3, (int64_t[]){2, 2, 3}, 1)};
        op_case c = {.kind = CONCAT, .n = 3, .dim = 1};
        gc_check("concat/middle", call, &c, 3, in, seed++);
        c.dim = -2;
        in[1].requires_grad = 0;
        gc_check("concat/negative_dim_partial_grad", call, &c, 3, in, seed++);
    }
    {
        gc_input in[6];
        for (int i = 0; i < 6; i++) in[i] = in_of(2, (int64_t[]){3, 1 + i % 3}, 1);
        op_case c = {.kind = CONCAT, .n = 6, .dim = -1};
        gc_check("concat/six_inputs", call, &c, 6, in, seed++);
        for (int i = 0; i < 6; i++) in[i] = in_of(2, (int64_t[]){1 + i % 2, 2}, 1);
        c.dim = 0;
        gc_check("concat/six_inputs_dim0", call, &c, 6, in, seed++);
    }

    /* slice: step 2 and 3, negative and out-of-range bounds */
    int64_t xs[3] = {4, 7, 3};
    check1("slice/step2_neg_start", (op_case){.kind = SLICE, .dim = 1, .start = -5, .end = 100, .step = 2}, 3, xs, seed++);
    check1("slice/step3_last_dim", (op_case){.kind = SLICE, .dim = -1, .start = 0, .end = 3, .step = 3}, 3, xs, seed++);
    check1("slice/neg_end", (op_case){.kind = SLICE, .dim = 0, .start = 1, .end = -1, .step = 1}, 3, xs, seed++);
    check1("slice/clamped_start", (op_case){.kind = SLICE, .dim = 1, .start = -100, .end = 6, .step = 3}, 3, xs, seed++);

    /* broadcast_to: new leading dims, several broadcast runs, -1 */
    check1("broadcast/runs", (op_case){.kind = BROADCAST, .ndim = 5, .shape = {2, 3, 4, 5, 2}}, 4,
           (int64_t[]){3, 1, 1, 2}, seed++);
    check1("broadcast/lead_and_inner", (op_case){.kind = BROADCAST, .ndim = 4, .shape = {2, 3, 5, 4}}, 3,
           (int64_t[]){3, 1, 4}, seed++);
    check1("broadcast/scalar_like", (op_case){.kind = BROADCAST, .ndim = 2, .shape = {2, 3}}, 1, (int64_t[]){1}, seed++);
    check1("broadcast/minus_one", (op_case){.kind = BROADCAST, .ndim = 3, .shape = {3, -1, 4}}, 2, (int64_t[]){2, 1},
           seed++);
    check1("broadcast/same", (op_case){.kind = BROADCAST, .ndim = 2, .shape = {2, 3}}, 2, (int64_t[]){2, 3}, seed++);

    /* pad: TF "SAME" style asymmetric pads on three dims of a 5-D tensor, one
     * dim only, zero pads in between, a non-zero value, nothing padded */
    int64_t ps[5] = {2, 2, 3, 2, 3};
    check1("pad/5d_asym", (op_case){.kind = PAD, .npad = 6, .pad = {2, 3, 0, 1, 1, 0}}, 5, ps, seed++);
    check1("pad/last_only", (op_case){.kind = PAD, .npad = 2, .pad = {0, 2}, .value = 1.5}, 5, ps, seed++);
    check1("pad/skip_middle", (op_case){.kind = PAD, .npad = 8, .pad = {1, 1, 0, 0, 0, 0, 2, 1}, .value = -2}, 5, ps,
           seed++);
    check1("pad/none", (op_case){.kind = PAD, .npad = 4, .pad = {0, 0, 0, 0}}, 3, (int64_t[]){2, 3, 4}, seed++);

    /* reductions over everything and over every dim, keepdim both ways */
    int64_t rs[4] = {2, 3, 1, 5};
    check1("sum", (op_case){.kind = SUM}, 4, rs, seed++);
    check1("mean", (op_case){.kind = MEAN}, 4, rs, seed++);
    for (int dim = -4; dim < 4; dim++)
        for (int keep = 0; keep < 2; keep++) {
            char name[64];
            snprintf(name, sizeof name, "sum_dim/%d/keep%d", dim, keep);
            check1(name, (op_case){.kind = SUM_DIM, .dim = dim, .keepdim = keep}, 4, rs, seed++);
            snprintf(name, sizeof name, "mean_dim/%d/keep%d", dim, keep);
            check1(name, (op_case){.kind = MEAN_DIM, .dim = dim, .keepdim = keep}, 4, rs, seed++);
        }
    check1("sum_dim/1d", (op_case){.kind = SUM_DIM, .dim = 0}, 1, (int64_t[]){7}, seed++);
    check1("mean_dim/wide_inner", (op_case){.kind = MEAN_DIM, .dim = 1}, 3, (int64_t[]){2, 5, 131}, seed++);
    TEST_END();
}
