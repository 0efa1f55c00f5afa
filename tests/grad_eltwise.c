/* Central-difference gradient checks (double precision) of the elementwise
 * ops: every activation and map, and the broadcasting binary ops. */
#include "gradcheck.h"

typedef vg_tensor *(*unary_fn)(vg_ctx *, vg_tensor *);

static vg_tensor *leaky(vg_ctx *c, vg_tensor *x) { return vg_leaky_relu(c, x, 0.2); }
static vg_tensor *softplus_default(vg_ctx *c, vg_tensor *x) { return vg_softplus(c, x, 1.0, 20.0); }
/* beta 2, threshold 1: both branches of the threshold are exercised */
static vg_tensor *softplus_beta(vg_ctx *c, vg_tensor *x) { return vg_softplus(c, x, 2.0, 1.0); }
static vg_tensor *scale(vg_ctx *c, vg_tensor *x) { return vg_scale(c, x, -1.7); }
static vg_tensor *affine(vg_ctx *c, vg_tensor *x) { return vg_affine(c, x, 0.3, 2.0); }
/* in-place ops act on an intermediate (a leaf input may not be overwritten) */
static vg_tensor *relu_inplace(vg_ctx *c, vg_tensor *x) { return vg_relu_inplace(c, vg_scale(c, x, 1.5)); }
static vg_tensor *leaky_inplace(vg_ctx *c, vg_tensor *x) { return vg_leaky_relu_inplace(c, vg_scale(c, x, 1.5), 0.2); }
static vg_tensor *tanh_inplace(vg_ctx *c, vg_tensor *x) { return vg_tanh_inplace(c, vg_scale(c, x, 1.5)); }
static vg_tensor *sigmoid_inplace(vg_ctx *c, vg_tensor *x) { return vg_sigmoid_inplace(c, vg_scale(c, x, 1.5)); }

typedef struct { unary_fn fn; } unary_box; /* function pointers travel boxed: ISO C has no fn <-> void* casts */
static vg_tensor *call_unary(vg_ctx *ctx, vg_tensor **in, void *user) { return ((unary_box *)user)->fn(ctx, in[0]); }

typedef vg_tensor *(*binary_fn)(vg_ctx *, vg_tensor *, vg_tensor *);
typedef struct { binary_fn fn; } binary_box;
static vg_tensor *call_binary(vg_ctx *ctx, vg_tensor **in, void *user) { return ((binary_box *)user)->fn(ctx, in[0], in[1]); }

int main(void) {
    struct {
        const char *name;
        unary_fn fn;
        double lo, hi; /* input range (lo == hi: normal) */
    } unary[] = {
        {"relu", vg_relu, 0, 0},       {"leaky_relu", leaky, 0, 0},     {"tanh", vg_tanh, 0, 0},
        {"sigmoid", vg_sigmoid, 0, 0}, {"softplus", softplus_default, -30, 30}, {"softplus_beta", softplus_beta, -2, 2},
        {"scale", scale, 0, 0},        {"affine", affine, 0, 0},        {"exp", vg_exp, 0, 0},
        {"log", vg_log, 0.2, 3},       {"square", vg_square, 0, 0},     {"abs", vg_abs, 0, 0},
        {"sqrt", vg_sqrt, 0.2, 3},     {"relu_inplace", relu_inplace, 0, 0}, {"leaky_relu_inplace", leaky_inplace, 0, 0},
        {"tanh_inplace", tanh_inplace, 0, 0}, {"sigmoid_inplace", sigmoid_inplace, 0, 0},
    };
    for (size_t i = 0; i < sizeof unary / sizeof unary[0]; i++) {
        gc_input in = {.ndim = 3, .shape = {2, 3, 5}, .requires_grad = 1, .lo = unary[i].lo, .hi = unary[i].hi};
        unary_box box = {unary[i].fn};
        gc_check(unary[i].name, call_unary, &box, 1, &in, 11 + i);
    }
    struct {
        const char *name;
        binary_fn fn;
    } binary[] = {{"add", vg_add}, {"sub", vg_sub}, {"mul", vg_mul}, {"div", vg_div}};
    /* same shapes, one side broadcast on several dims, scalar-like, rank mismatch */
    gc_input shapes[][2] = {
        {{.ndim = 2, .shape = {3, 4}, .requires_grad = 1, .lo = 0.5, .hi = 2}, {.ndim = 2, .shape = {3, 4}, .requires_grad = 1, .lo = 0.5, .hi = 2}},
        {{.ndim = 4, .shape = {2, 3, 1, 4}, .requires_grad = 1, .lo = 0.5, .hi = 2}, {.ndim = 4, .shape = {1, 3, 5, 1}, .requires_grad = 1, .lo = 0.5, .hi = 2}},
        {{.ndim = 3, .shape = {2, 3, 4}, .requires_grad = 1, .lo = 0.5, .hi = 2}, {.ndim = 1, .shape = {1}, .requires_grad = 1, .lo = 0.5, .hi = 2}},
        {{.ndim = 1, .shape = {4}, .requires_grad = 1, .lo = 0.5, .hi = 2}, {.ndim = 5, .shape = {2, 1, 3, 2, 4}, .requires_grad = 1, .lo = 0.5, .hi = 2}},
    };
    for (size_t i = 0; i < sizeof binary / sizeof binary[0]; i++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            char name[64];
            snprintf(name, sizeof name, "%s/shapes%zu", binary[i].name, s);
            binary_box box = {binary[i].fn};
            gc_check(name, call_binary, &box, 2, shapes[s], 100 + 10 * i + s);
        }
    TEST_END();
}
