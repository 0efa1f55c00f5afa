/* Central-difference gradient checks (double precision) of conv2d, conv3d,
 * conv_transpose2d and conv_transpose3d: input, weight and bias gradients on
 * odd shapes (stride 2 with odd sizes, non-cubic kernels, batch 1, T = 1,
 * output_padding, no bias). */
#include "gradcheck.h"

typedef struct conv_case {
    const char *name;
    int spatial, transposed, has_bias;
    int64_t N, C_in, C_out;
    int64_t size[3]; /* input spatial dims */
    int k[3], s[3], p[3], op[3];
} conv_case;

static vg_tensor *run_conv(vg_ctx *ctx, vg_tensor **in, void *user) {
    const conv_case *c = user;
    vg_conv_args a = {0};
    for (int i = 0; i < c->spatial; i++) {
        a.stride[i] = c->s[i];
        a.padding[i] = c->p[i];
        a.output_padding[i] = c->op[i];
    }
    vg_tensor *b = c->has_bias ? in[2] : NULL;
    if (c->spatial == 2)
        return c->transposed ? vg_conv_transpose2d(ctx, in[0], in[1], b, a) : vg_conv2d(ctx, in[0], in[1], b, a);
    return c->transposed ? vg_conv_transpose3d(ctx, in[0], in[1], b, a) : vg_conv3d(ctx, in[0], in[1], b, a);
}

static void check_case(const conv_case *c, uint64_t seed) {
    gc_input in[3] = {{0}};
    in[0].ndim = c->spatial + 2;
    in[0].shape[0] = c->N;
    in[0].shape[1] = c->C_in;
    in[1].ndim = c->spatial + 2;
    in[1].shape[0] = c->transposed ? c->C_in : c->C_out;
    in[1].shape[1] = c->transposed ? c->C_out : c->C_in;
    for (int i = 0; i < c->spatial; i++) {
        in[0].shape[2 + i] = c->size[i];
        in[1].shape[2 + i] = c->k[i];
    }
    in[2].ndim = 1;
    in[2].shape[0] = c->C_out;
    for (int i = 0; i < 3; i++) in[i].requires_grad = 1;
    gc_check(c->name, run_conv, (void *)c, c->has_bias ? 3 : 2, in, seed);
}

int main(void) {
    const conv_case cases[] = {
        {"conv2d_basic", 2, 0, 1, 2, 3, 4, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {0}},
        {"conv2d_s2_odd_nobias", 2, 0, 0, 1, 2, 3, {7, 5}, {3, 2}, {2, 2}, {1, 0}, {0}},
        {"conv3d_k4s2p1", 3, 0, 1, 2, 2, 3, {4, 6, 6}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {0}},
        {"conv3d_odd_noncubic", 3, 0, 1, 1, 3, 2, {3, 5, 7}, {1, 3, 2}, {1, 2, 3}, {0, 1, 1}, {0}},
        {"conv3d_T1", 3, 0, 1, 2, 2, 2, {1, 5, 5}, {1, 3, 3}, {1, 2, 2}, {0, 1, 1}, {0}},
        {"conv3d_full_kernel", 3, 0, 0, 2, 4, 1, {1, 4, 4}, {1, 4, 4}, {1, 1, 1}, {0, 0, 0}, {0}},
        {"convT2d_basic", 2, 1, 1, 2, 3, 2, {3, 4}, {3, 3}, {1, 1}, {1, 1}, {0}},
        {"convT2d_s2_op1", 2, 1, 0, 1, 2, 3, {3, 2}, {3, 4}, {2, 2}, {1, 1}, {1, 1}},
        {"convT3d_k4s2p1", 3, 1, 1, 2, 3, 2, {2, 3, 3}, {4, 4, 4}, {2, 2, 2}, {1, 1, 1}, {0}},
        {"convT3d_z_to_video", 3, 1, 1, 2, 5, 3, {1, 1, 1}, {2, 4, 4}, {1, 1, 1}, {0, 0, 0}, {0}},
        {"convT3d_odd_op", 3, 1, 1, 1, 2, 2, {2, 3, 2}, {3, 2, 3}, {2, 3, 2}, {1, 0, 1}, {1, 2, 0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i], 1000 + i);
    TEST_END();
}
