/* Central-difference gradient checks (double precision) of vg_upsample
 * (nearest and linear, align_corners both ways, up and down by non-integer
 * factors), vg_avg_pool (count_include_pad both ways) and vg_max_pool, on
 * 4-D and 5-D inputs with odd sizes, batch 1 and T = 1. */
#include "gradcheck.h"

typedef struct {
    int64_t size[3];
    vg_interp mode;
    int align_corners;
} up_box;

static vg_tensor *call_upsample(vg_ctx *ctx, vg_tensor **in, void *user) {
    const up_box *b = user;
    return vg_upsample(ctx, in[0], b->size, b->mode, b->align_corners);
}

typedef struct {
    vg_pool_args a;
    int max;
} pool_box;

static vg_tensor *call_pool(vg_ctx *ctx, vg_tensor **in, void *user) {
    const pool_box *b = user;
    return b->max ? vg_max_pool(ctx, in[0], b->a) : vg_avg_pool(ctx, in[0], b->a);
}

int main(void) {
    struct {
        const char *name;
        int ndim;
        int64_t shape[5];
        up_box box;
    } up[] = {
        {"nearest2d_5x7_to_7x3", 4, {1, 2, 5, 7}, {{7, 3}, VG_INTERP_NEAREST, 0}},
        {"nearest2d_x2", 4, {2, 1, 3, 2}, {{6, 4}, VG_INTERP_NEAREST, 0}},
        {"nearest3d_odd", 5, {1, 1, 3, 5, 4}, {{5, 3, 6}, VG_INTERP_NEAREST, 0}},
        {"bilinear_5x7_to_7x3", 4, {1, 2, 5, 7}, {{7, 3}, VG_INTERP_LINEAR, 0}},
        {"bilinear_5x7_to_7x3_ac", 4, {1, 2, 5, 7}, {{7, 3}, VG_INTERP_LINEAR, 1}},
        {"bilinear_to_1_ac", 4, {2, 1, 3, 4}, {{1, 5}, VG_INTERP_LINEAR, 1}},
        {"trilinear_odd", 5, {1, 1, 3, 5, 4}, {{5, 3, 6}, VG_INTERP_LINEAR, 0}},
        {"trilinear_odd_ac", 5, {1, 1, 3, 5, 4}, {{5, 3, 6}, VG_INTERP_LINEAR, 1}},
        {"trilinear_T1", 5, {2, 1, 1, 3, 2}, {{1, 5, 3}, VG_INTERP_LINEAR, 0}},
    };
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++) {
        gc_input in = {.ndim = up[i].ndim, .requires_grad = 1};
        for (int d = 0; d < up[i].ndim; d++) in.shape[d] = up[i].shape[d];
        gc_check(up[i].name, call_upsample, &up[i].box, 1, &in, 31 + i);
    }
    struct {
        const char *name;
        int ndim;
        int64_t shape[5];
        pool_box box;
    } pool[] = {
        {"avg2d_k3s2p1", 4, {1, 2, 7, 6}, {{{3, 3}, {2, 2}, {1, 1}, 1}, 0}},
        {"avg2d_k3s2p1_nopad", 4, {1, 2, 7, 6}, {{{3, 3}, {2, 2}, {1, 1}, 0}, 0}},
        {"avg2d_k32_s12", 4, {2, 1, 5, 7}, {{{3, 2}, {1, 2}, {1, 0}, 0}, 0}},
        {"avg3d_odd", 5, {1, 1, 5, 4, 5}, {{{2, 3, 3}, {1, 2, 2}, {1, 1, 0}, 1}, 0}},
        {"avg3d_odd_nopad", 5, {1, 1, 5, 4, 5}, {{{2, 3, 3}, {1, 2, 2}, {1, 1, 0}, 0}, 0}},
        {"avg3d_T1", 5, {2, 1, 1, 4, 5}, {{{1, 2, 2}, {0}, {0, 1, 1}, 0}, 0}},
        {"max2d_k3s2p1", 4, {1, 2, 7, 6}, {{{3, 3}, {2, 2}, {1, 1}, 1}, 1}},
        {"max2d_k23", 4, {2, 1, 5, 7}, {{{2, 3}, {0}, {0, 1}, 1}, 1}},
        {"max3d_k3s2p1", 5, {1, 1, 5, 4, 5}, {{{3, 3, 3}, {2, 2, 2}, {1, 1, 1}, 1}, 1}},
        {"max3d_T1", 5, {2, 1, 1, 4, 5}, {{{1, 2, 2}, {1, 1, 2}, {0, 1, 0}, 1}, 1}},
    };
    for (size_t i = 0; i < sizeof pool / sizeof pool[0]; i++) {
        gc_input in = {.ndim = pool[i].ndim, .requires_grad = 1};
        for (int d = 0; d < pool[i].ndim; d++) in.shape[d] = pool[i].shape[d];
        gc_check(pool[i].name, call_pool, &pool[i].box, 1, &in, 61 + i);
    }
    TEST_END();
}
