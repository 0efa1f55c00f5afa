/* CUDA kernels: unary maps and broadcasting binary ops, the formulas of
 * src/backend/cpu/eltwise.c (PyTorch's; relu and leaky_relu take the x > 0
 * branch at 0; softplus with beta = alpha and threshold = beta). Unary maps
 * other than relu/leaky_relu evaluate in double, as the CPU does.
 *
 * The gradient of a broadcast operand is a sum over the output elements that
 * read it: one block per operand element sums them in a fixed order (a
 * strided loop then a tree), so it is deterministic; when each operand
 * element is read only a few times, one thread per element sums them. */
#include "backend/cuda/cuda.h"

#define THREADS 256

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__device__ __forceinline__ double unary_value(double x, vg_unary_kind kind, double alpha, double beta) {
    switch (kind) {
    case VG_UNARY_RELU: return x > 0 ? x : 0;
    case VG_UNARY_LEAKY_RELU: return x > 0 ? x : x * alpha;
    case VG_UNARY_TANH: return tanh(x);
    case VG_UNARY_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case VG_UNARY_SOFTPLUS: return alpha * x > beta ? x : log1p(exp(alpha * x)) / alpha;
    case VG_UNARY_SCALE: return alpha * x + beta;
    case VG_UNARY_EXP: return exp(x);
    case VG_UNARY_LOG: return log(x);
    case VG_UNARY_SQUARE: return x * x;
    case VG_UNARY_ABS: return fabs(x);
    case VG_UNARY_SQRT: return sqrt(x);
    default: return nan("");
    }
}

__device__ __forceinline__ double unary_slope(double x, double y, vg_unary_kind kind, double alpha, double beta) {
    switch (kind) {
    case VG_UNARY_RELU: return x > 0 ? 1 : 0;
    case VG_UNARY_LEAKY_RELU: return x > 0 ? 1 : alpha;
    case VG_UNARY_TANH: return 1 - y * y;
    case VG_UNARY_SIGMOID: return y * (1 - y);
    case VG_UNARY_SOFTPLUS: {
        double z = alpha * x;
        return z > beta ? 1 : 1.0 / (1.0 + exp(-z));
    }
    case VG_UNARY_SCALE: return alpha;
    case VG_UNARY_EXP: return y;
    case VG_UNARY_LOG: return 1.0 / x;
    case VG_UNARY_SQUARE: return 2 * x;
    case VG_UNARY_ABS: return x > 0 ? 1 : (x < 0 ? -1 : 0);
    case VG_UNARY_SQRT: return 0.5 / y;
    default: return nan("");
    }
}

__global__ void relu_kernel(float *out, const float *inp, int64_t n, float a) {
    GRID_LOOP(i, n) out[i] = inp[i] > 0 ? inp[i] : inp[i] * a;
}

__global__ void relu_backward_kernel(float *dinp, const float *dout, const float *inp, int64_t n, float a) {
    GRID_LOOP(i, n) dinp[i] += inp[i] > 0 ? dout[i] : dout[i] * a;
}

__global__ void unary_kernel(float *out, const float *inp, int64_t n, vg_unary_kind kind, double alpha, double beta) {
    GRID_LOOP(i, n) out[i] = (float)unary_value((double)inp[i], kind, alpha, beta);
}

__global__ void unary_backward_kernel(float *dinp, const float *dout, const float *inp, const float *out, int64_t n,
                                      vg_unary_kind kind, double alpha, double beta) {
    GRID_LOOP(i, n) dinp[i] += (float)((double)dout[i] * unary_slope((double)inp[i], (double)out[i], kind, alpha, beta));
}

static void unary_forward(vg_real *out, const vg_real *inp, int64_t n, const struct vg_unary_desc *d) {
    if (n <= 0) return;
    unsigned b = vg_cuda_blocks(n, THREADS);
    if (d->kind == VG_UNARY_LEAKY_RELU) /* in float, as the CPU's fast loop */
        relu_kernel<<<b, THREADS, 0, vg_cuda.stream>>>(out, inp, n, (float)d->alpha);
    else
        unary_kernel<<<b, THREADS, 0, vg_cuda.stream>>>(out, inp, n, d->kind, d->alpha, d->beta);
    CUDA_LAUNCHED("unary_kernel");
}

static void unary_backward(vg_real *dinp, const vg_real *dout, const vg_real *inp, const vg_real *out, int64_t n,
                           const struct vg_unary_desc *d) {
    if (n <= 0) return;
    unsigned b = vg_cuda_blocks(n, THREADS);
    if (d->kind == VG_UNARY_LEAKY_RELU)
        relu_backward_kernel<<<b, THREADS, 0, vg_cuda.stream>>>(dinp, dout, inp, n, (float)d->alpha);
    else
        unary_backward_kernel<<<b, THREADS, 0, vg_cuda.stream>>>(dinp, dout, inp, out, n, d->kind, d->alpha, d->beta);
    CUDA_LAUNCHED("unary_backward_kernel");
}

/* ---- broadcasting binary ops ------------------------------------------------ */

/* The descriptor by value (kernel parameters live in constant memory). */
struct bin_desc {
    int64_t shape[VG_MAX_DIMS], a_stride[VG_MAX_DIMS], b_stride[VG_MAX_DIMS];
};

__device__ __forceinline__ float binary_value(vg_binary_kind k, float a, float b) {
    switch (k) {
    case VG_BINARY_ADD: return a + b;
    case VG_BINARY_SUB: return a - b;
    case VG_BINARY_MUL: return a * b;
    case VG_BINARY_DIV: return a / b;
    default: return nanf("");
    }
}

__device__ __forceinline__ void binary_offsets(const bin_desc &d, int64_t i, int64_t *oa, int64_t *ob) {
    int64_t a = 0, b = 0;
    for (int k = VG_MAX_DIMS - 1; k >= 0; k--) {
        int64_t c = i % d.shape[k];
        i /= d.shape[k];
        a += c * d.a_stride[k];
        b += c * d.b_stride[k];
    }
    *oa = a;
    *ob = b;
}

__global__ void binary_same_kernel(float *out, const float *a, const float *b, int64_t n, vg_binary_kind k) {
    GRID_LOOP(i, n) out[i] = binary_value(k, a[i], b[i]);
}

__global__ void binary_bcast_kernel(float *out, const float *a, const float *b, int64_t n, vg_binary_kind k, bin_desc d) {
    GRID_LOOP(i, n) {
        int64_t oa, ob;
        binary_offsets(d, i, &oa, &ob);
        out[i] = binary_value(k, a[oa], b[ob]);
    }
}

/* The partial derivative times dout for output element i (which = 0: a, 1: b). */
__device__ __forceinline__ float binary_partial(vg_binary_kind k, int which, float go, float a, float b) {
    switch (k) {
    case VG_BINARY_ADD: return go;
    case VG_BINARY_SUB: return which ? -go : go;
    case VG_BINARY_MUL: return which ? go * a : go * b;
    case VG_BINARY_DIV: return which ? -go * a / (b * b) : go / b;
    default: return nanf("");
    }
}

/* Operand not broadcast: its element i is output element i. */
__global__ void binary_grad_same_kernel(float *g, int which, const float *dout, const float *a, const float *b,
                                        int64_t n, vg_binary_kind k) {
    GRID_LOOP(i, n) g[i] += binary_partial(k, which, dout[i], a[i], b[i]);
}

/* The output element for the r-th combination of the broadcast dims of an
 * operand element whose own dims are fixed at base (an output index). The
 * broadcast dims (stride 0 in the operand, size > 1) are listed in bdims. */
struct bcast_plan {
    bin_desc d;
    int nb;                     /* broadcast dims */
    int bdim[VG_MAX_DIMS];
    int64_t out_stride[VG_MAX_DIMS]; /* row-major strides of the output */
    int64_t own_stride[VG_MAX_DIMS]; /* the operand's strides (0 on broadcast dims) */
    int64_t combos;             /* product of broadcast dim sizes */
};

/* Output index of operand element j with all broadcast dims at 0. */
__device__ __forceinline__ int64_t own_base(const bcast_plan &p, int64_t j) {
    int64_t base = 0;
    for (int k = 0; k < VG_MAX_DIMS; k++)
        if (p.own_stride[k]) base += ((j / p.own_stride[k]) % p.d.shape[k]) * p.out_stride[k];
    return base;
}

__device__ __forceinline__ int64_t combo_offset(const bcast_plan &p, int64_t r) {
    int64_t off = 0;
    for (int q = p.nb - 1; q >= 0; q--) {
        int k = p.bdim[q];
        off += (r % p.d.shape[k]) * p.out_stride[k];
        r /= p.d.shape[k];
    }
    return off;
}

__device__ __forceinline__ float grad_term(const bcast_plan &p, vg_binary_kind k, int which, const float *dout,
                                           const float *a, const float *b, int64_t i) {
    int64_t oa, ob;
    binary_offsets(p.d, i, &oa, &ob);
    return binary_partial(k, which, dout[i], a[oa], b[ob]);
}

/* One thread per operand element; the sum over combos runs in order. */
__global__ void binary_grad_thread_kernel(float *g, int which, const float *dout, const float *a, const float *b,
                                          int64_t own, vg_binary_kind k, bcast_plan p) {
    GRID_LOOP(j, own) {
        int64_t base = own_base(p, j);
        float s = 0;
        for (int64_t r = 0; r < p.combos; r++) s += grad_term(p, k, which, dout, a, b, base + combo_offset(p, r));
        g[j] += s;
    }
}

/* One block per operand element: threads stride over combos, then a tree. */
__global__ void binary_grad_block_kernel(float *g, int which, const float *dout, const float *a, const float *b,
                                         int64_t own, vg_binary_kind k, bcast_plan p) {
    __shared__ double part[THREADS];
    for (int64_t j = blockIdx.x; j < own; j += gridDim.x) {
        int64_t base = own_base(p, j);
        double s = 0;
        for (int64_t r = threadIdx.x; r < p.combos; r += blockDim.x)
            s += (double)grad_term(p, k, which, dout, a, b, base + combo_offset(p, r));
        part[threadIdx.x] = s;
        __syncthreads();
        for (int w = THREADS / 2; w > 0; w >>= 1) {
            if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
            __syncthreads();
        }
        if (threadIdx.x == 0) g[j] += (float)part[0];
        __syncthreads();
    }
}

static bin_desc bin_desc_of(const struct vg_binary_desc *d) {
    bin_desc b;
    for (int k = 0; k < VG_MAX_DIMS; k++) {
        b.shape[k] = d->shape[k];
        b.a_stride[k] = d->a_stride[k];
        b.b_stride[k] = d->b_stride[k];
    }
    return b;
}

static int64_t binary_numel(const struct vg_binary_desc *d) {
    int64_t n = 1;
    for (int k = 0; k < VG_MAX_DIMS; k++) n *= d->shape[k];
    return n;
}

static void binary_forward(vg_real *out, const vg_real *a, const vg_real *b, const struct vg_binary_desc *d) {
    int64_t n = binary_numel(d);
    if (n <= 0) return;
    unsigned blocks = vg_cuda_blocks(n, THREADS);
    if (d->a_numel == n && d->b_numel == n)
        binary_same_kernel<<<blocks, THREADS, 0, vg_cuda.stream>>>(out, a, b, n, d->kind);
    else
        binary_bcast_kernel<<<blocks, THREADS, 0, vg_cuda.stream>>>(out, a, b, n, d->kind, bin_desc_of(d));
    CUDA_LAUNCHED("binary_kernel");
}

static void binary_grad(vg_real *g, int which, const vg_real *dout, const vg_real *a, const vg_real *b,
                        const struct vg_binary_desc *d) {
    int64_t n = binary_numel(d), own = which ? d->b_numel : d->a_numel;
    if (n <= 0 || own <= 0) return;
    if (own == n && d->a_numel == n && d->b_numel == n) {
        binary_grad_same_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(g, which, dout, a, b, n,
                                                                                              d->kind);
        CUDA_LAUNCHED("binary_grad_same_kernel");
        return;
    }
    bcast_plan p;
    p.d = bin_desc_of(d);
    p.nb = 0;
    p.combos = 1;
    int64_t s = 1;
    for (int k = VG_MAX_DIMS - 1; k >= 0; k--) {
        p.out_stride[k] = s;
        s *= d->shape[k];
    }
    for (int k = 0; k < VG_MAX_DIMS; k++) {
        p.own_stride[k] = which ? d->b_stride[k] : d->a_stride[k];
        if (p.own_stride[k] == 0 && d->shape[k] > 1) {
            p.bdim[p.nb++] = k;
            p.combos *= d->shape[k];
        }
    }
    if (p.combos >= 64) {
        unsigned blocks = own < 65535 * 4 ? (unsigned)own : 65535 * 4;
        binary_grad_block_kernel<<<blocks, THREADS, 0, vg_cuda.stream>>>(g, which, dout, a, b, own, d->kind, p);
    } else {
        binary_grad_thread_kernel<<<vg_cuda_blocks(own, THREADS), THREADS, 0, vg_cuda.stream>>>(g, which, dout, a, b,
                                                                                                 own, d->kind, p);
    }
    CUDA_LAUNCHED("binary_grad_kernel");
}

static void binary_backward(vg_real *da, vg_real *db, const vg_real *dout, const vg_real *a, const vg_real *b,
                            const struct vg_binary_desc *d) {
    if (da) binary_grad(da, 0, dout, a, b, d);
    if (db) binary_grad(db, 1, dout, a, b, d);
}

void vg_cuda_register_eltwise(vg_backend *be) {
    be->unary_forward = unary_forward;
    be->unary_backward = unary_backward;
    be->binary_forward = binary_forward;
    be->binary_backward = binary_backward;
}
