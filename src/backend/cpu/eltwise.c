/* CPU kernels: unary maps (activations, scale) and broadcasting binary ops.
 * Formulas follow PyTorch: softplus(x) = log1p(exp(beta x)) / beta, or x
 * where beta x > threshold; relu and leaky_relu take the x > 0 branch at 0. */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

#define PAR_FOR _Pragma("omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 32768)")

static inline double unary_value(double x, const struct vg_unary_desc *d) {
    switch (d->kind) {
    case VG_UNARY_RELU: return x > 0 ? x : 0;
    case VG_UNARY_LEAKY_RELU: return x > 0 ? x : x * d->alpha;
    case VG_UNARY_TANH: return tanh(x);
    case VG_UNARY_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case VG_UNARY_SOFTPLUS: return d->alpha * x > d->beta ? x : log1p(exp(d->alpha * x)) / d->alpha;
    case VG_UNARY_SCALE: return d->alpha * x + d->beta;
    case VG_UNARY_EXP: return exp(x);
    case VG_UNARY_LOG: return log(x);
    case VG_UNARY_SQUARE: return x * x;
    case VG_UNARY_ABS: return fabs(x);
    case VG_UNARY_SQRT: return sqrt(x);
    default: return NAN;
    }
}

/* d out / d x, given x and y = f(x) */
static inline double unary_slope(double x, double y, const struct vg_unary_desc *d) {
    switch (d->kind) {
    case VG_UNARY_RELU: return x > 0 ? 1 : 0;
    case VG_UNARY_LEAKY_RELU: return x > 0 ? 1 : d->alpha;
    case VG_UNARY_TANH: return 1 - y * y;
    case VG_UNARY_SIGMOID: return y * (1 - y);
    case VG_UNARY_SOFTPLUS: {
        double z = d->alpha * x;
        return z > d->beta ? 1 : 1.0 / (1.0 + exp(-z));
    }
    case VG_UNARY_SCALE: return d->alpha;
    case VG_UNARY_EXP: return y;
    case VG_UNARY_LOG: return 1.0 / x;
    case VG_UNARY_SQUARE: return 2 * x;
    case VG_UNARY_ABS: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case VG_UNARY_SQRT: return 0.5 / y;
    default: return NAN;
    }
}

static void unary_forward(vg_real *out, const vg_real *inp, int64_t n, const struct vg_unary_desc *d) {
    switch (d->kind) { /* the hot ones get a float loop of their own */
    case VG_UNARY_RELU:
        PAR_FOR
        for (int64_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : 0;
        return;
    case VG_UNARY_LEAKY_RELU: {
        vg_real a = (vg_real)d->alpha;
        PAR_FOR
        for (int64_t i = 0; i < n; i++) out[i] = inp[i] > 0 ? inp[i] : inp[i] * a;
        return;
    }
    default:
        PAR_FOR
        for (int64_t i = 0; i < n; i++) out[i] = (vg_real)unary_value((double)inp[i], d);
    }
}

static void unary_backward(vg_real *dinp, const vg_real *dout, const vg_real *inp, const vg_real *out, int64_t n,
                           const struct vg_unary_desc *d) {
    switch (d->kind) {
    case VG_UNARY_RELU:
        PAR_FOR
        for (int64_t i = 0; i < n; i++) dinp[i] += inp[i] > 0 ? dout[i] : 0;
        return;
    case VG_UNARY_LEAKY_RELU: {
        vg_real a = (vg_real)d->alpha;
        PAR_FOR
        for (int64_t i = 0; i < n; i++) dinp[i] += inp[i] > 0 ? dout[i] : dout[i] * a;
        return;
    }
    default:
        PAR_FOR
        for (int64_t i = 0; i < n; i++)
            dinp[i] += (vg_real)((double)dout[i] * unary_slope((double)inp[i], (double)out[i], d));
    }
}

/* unary_backward with dinp = dout = g, written as 0 + the same value (see
 * backend.h): each element is read before it is overwritten. */
static void unary_backward_inplace(vg_real *g, const vg_real *inp, const vg_real *out, int64_t n,
                                   const struct vg_unary_desc *d) {
    switch (d->kind) {
    case VG_UNARY_RELU:
        PAR_FOR
        for (int64_t i = 0; i < n; i++) g[i] = (vg_real)0 + (inp[i] > 0 ? g[i] : 0);
        return;
    case VG_UNARY_LEAKY_RELU: {
        vg_real a = (vg_real)d->alpha;
        PAR_FOR
        for (int64_t i = 0; i < n; i++) g[i] = (vg_real)0 + (inp[i] > 0 ? g[i] : g[i] * a);
        return;
    }
    default:
        PAR_FOR
        for (int64_t i = 0; i < n; i++)
            g[i] = (vg_real)0 + (vg_real)((double)g[i] * unary_slope((double)inp[i], (double)out[i], d));
    }
}

/* ---- broadcasting binary ops ---------------------------------------------- */

static inline vg_real binary_value(enum vg_binary_kind k, vg_real a, vg_real b) {
    switch (k) {
    case VG_BINARY_ADD: return a + b;
    case VG_BINARY_SUB: return a - b;
    case VG_BINARY_MUL: return a * b;
    case VG_BINARY_DIV: return a / b;
    default: return (vg_real)NAN;
    }
}

/* Offsets of output element i in a and b (dims row-major, VG_MAX_DIMS). */
static inline void binary_offsets(const struct vg_binary_desc *d, int64_t i, int64_t *oa, int64_t *ob) {
    int64_t a = 0, b = 0;
    for (int k = VG_MAX_DIMS - 1; k >= 0; k--) {
        int64_t c = i % d->shape[k];
        i /= d->shape[k];
        a += c * d->a_stride[k];
        b += c * d->b_stride[k];
    }
    *oa = a;
    *ob = b;
}

static int64_t binary_numel(const struct vg_binary_desc *d) {
    int64_t n = 1;
    for (int k = 0; k < VG_MAX_DIMS; k++) n *= d->shape[k];
    return n;
}

static void binary_forward(vg_real *out, const vg_real *a, const vg_real *b, const struct vg_binary_desc *d) {
    int64_t n = binary_numel(d);
    if (d->a_numel == n && d->b_numel == n) { /* no broadcasting */
        PAR_FOR
        for (int64_t i = 0; i < n; i++) out[i] = binary_value(d->kind, a[i], b[i]);
        return;
    }
    /* rows of the last dim: inner loop with constant strides */
    int64_t W = d->shape[VG_MAX_DIMS - 1], rows = n / (W ? W : 1);
    int64_t sa = d->a_stride[VG_MAX_DIMS - 1], sb = d->b_stride[VG_MAX_DIMS - 1];
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 32768)
    for (int64_t r = 0; r < rows; r++) {
        int64_t oa, ob;
        binary_offsets(d, r * W, &oa, &ob);
        for (int64_t w = 0; w < W; w++) out[r * W + w] = binary_value(d->kind, a[oa + w * sa], b[ob + w * sb]);
    }
}

/* Gradient of one operand: g[off(i)] += dout[i] * partial(i), by rows of
 * the last dim (offsets computed once per row, constant strides inside).
 * When the operand is broadcast, several outputs land on one element; to
 * keep the sum order fixed whatever the thread count (i increasing), that
 * case runs serially. */
static void binary_grad(vg_real *g, int which, const vg_real *dout, const vg_real *a, const vg_real *b,
                        const struct vg_binary_desc *d) {
    int64_t n = binary_numel(d);
    int64_t own = which ? d->b_numel : d->a_numel;
    int parallel = own == n && n > 32768;
    int64_t W = d->shape[VG_MAX_DIMS - 1], rows = n / (W ? W : 1);
    int64_t sa = d->a_stride[VG_MAX_DIMS - 1], sb = d->b_stride[VG_MAX_DIMS - 1], sg = which ? sb : sa;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (parallel)
    for (int64_t r = 0; r < rows; r++) {
        int64_t oa, ob;
        binary_offsets(d, r * W, &oa, &ob);
        const vg_real *go = dout + r * W, *ar = a + oa, *br = b + ob;
        vg_real *gr = g + (which ? ob : oa);
        switch (d->kind) {
        case VG_BINARY_ADD:
            for (int64_t w = 0; w < W; w++) gr[w * sg] += go[w];
            break;
        case VG_BINARY_SUB:
            for (int64_t w = 0; w < W; w++) gr[w * sg] += which ? -go[w] : go[w];
            break;
        case VG_BINARY_MUL:
            for (int64_t w = 0; w < W; w++) gr[w * sg] += which ? go[w] * ar[w * sa] : go[w] * br[w * sb];
            break;
        case VG_BINARY_DIV:
            for (int64_t w = 0; w < W; w++)
                gr[w * sg] += which ? -go[w] * ar[w * sa] / (br[w * sb] * br[w * sb]) : go[w] / br[w * sb];
            break;
        default:
            for (int64_t w = 0; w < W; w++) gr[w * sg] += (vg_real)NAN;
        }
    }
}

static void binary_backward(vg_real *da, vg_real *db, const vg_real *dout, const vg_real *a, const vg_real *b,
                            const struct vg_binary_desc *d) {
    if (da) binary_grad(da, 0, dout, a, b, d);
    if (db) binary_grad(db, 1, dout, a, b, d);
}

void vg_cpu_register_eltwise(vg_backend *be) {
    be->unary_forward = unary_forward;
    be->unary_backward = unary_backward;
    be->unary_backward_inplace = unary_backward_inplace;
    be->binary_forward = binary_forward;
    be->binary_backward = binary_backward;
}
