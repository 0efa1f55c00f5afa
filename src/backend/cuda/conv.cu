/* CUDA convolutions through cuDNN: 2-D and 3-D convolution and transposed
 * convolution (struct vg_conv_desc, torch.nn.Conv3d / ConvTranspose3d with
 * groups = 1, dilation = 1), forward, backward data and backward filter.
 *
 * Every case is one cuDNN cross-correlation between "x" and "y" with filter
 * (y channels, x channels, k):
 *   convolution   x = input (N, C_in, in),   y = output (N, C_out, out),
 *                 filter = weight (C_out, C_in, k)
 *   transposed    x = output (N, C_out, out), y = input (N, C_in, in),
 *                 filter = torch's weight (C_in, C_out, k) as it is
 * so a transposed forward is cudnnConvolutionBackwardData, its input
 * gradient is cudnnConvolutionForward, and both weight gradients are
 * cudnnConvolutionBackwardFilter. output_padding needs nothing: y's size is
 * floor((x + 2p - k) / s) + 1 either way. Gradients accumulate (beta = 1);
 * forward outputs are written (beta = 0) and then get the bias (own kernel,
 * as is the bias gradient, a per-channel sum in double).
 *
 * Descriptors and algorithms are made once per shape and cached (a linear
 * list keyed by the descriptor: a model has a few dozen conv shapes). The
 * algorithm is cuDNN's heuristic first choice among those that fit the
 * workspace preallocated at start-up, so no convolution allocates memory.
 * FP32 math (CUDNN_FMA_MATH) unless VIDGAN_CUDA_TF32=1; with
 * VIDGAN_CUDA_DETERMINISTIC=1 only deterministic algorithms are taken.
 * 2-D cases (T = 1 throughout) use 4-D descriptors.
 *
 * bf16 mixed precision (d->precision == VG_PRECISION_BF16, its own plans):
 * x, y and the filter are CUDNN_DATA_BFLOAT16 descriptors with a
 * CUDNN_DATA_FLOAT convolution (float32 accumulation, tensor-core
 * algorithms allowed). cuDNN's legacy calls take one data type for all
 * three tensors, so the float32 operands are cast into the bf16 scratch
 * (bf16.cu), the result goes to a bf16 scratch part with beta = 0, and a
 * cast writes it to the float32 output (forward) or adds it to the float32
 * gradient (backward: the += convention, accumulated in float32). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda.h"

#define THREADS 256

enum { PASS_FWD, PASS_BWD_DATA, PASS_BWD_FILTER, PASS_COUNT };

typedef struct conv_plan {
    struct vg_conv_desc key;
    int ok; /* descriptors made and every pass has an algorithm */
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv[PASS_COUNT]; /* one per pass: each carries its algorithm's math type */
    cudnnConvolutionFwdAlgo_t fwd_algo;
    cudnnConvolutionBwdDataAlgo_t data_algo;
    cudnnConvolutionBwdFilterAlgo_t filter_algo;
    size_t ws[PASS_COUNT];
    int64_t nx, ny, nw; /* elements of x, y and the filter (bf16 operand copies) */
    struct conv_plan *next;
} conv_plan;

static conv_plan *plans;

static int key_equal(const struct vg_conv_desc *a, const struct vg_conv_desc *b) {
    if (a->N != b->N || a->C_in != b->C_in || a->C_out != b->C_out || a->transposed != b->transposed ||
        a->precision != b->precision)
        return 0;
    for (int i = 0; i < 3; i++)
        if (a->in[i] != b->in[i] || a->out[i] != b->out[i] || a->k[i] != b->k[i] || a->s[i] != b->s[i] ||
            a->p[i] != b->p[i] || a->op[i] != b->op[i])
            return 0;
    return 1;
}

static int want_deterministic(void) {
    const char *s = getenv("VIDGAN_CUDA_DETERMINISTIC");
    return s && strcmp(s, "1") == 0;
}

/* Takes the first heuristic result that succeeded, fits the workspace, is
 * FP32 unless TF32 is allowed or the data is bf16 (tensor cores are the
 * point there), and is deterministic when asked. */
template <typename Perf>
static int pick(const Perf *perf, int n, int bf16, size_t *ws, int *index) {
    int det = want_deterministic();
    for (int i = 0; i < n; i++) {
        if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > vg_cuda.workspace_bytes) continue;
        if (!bf16 && !vg_cuda.tf32 && (perf[i].mathType == CUDNN_TENSOR_OP_MATH ||
                              perf[i].mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION))
            continue;
        if (det && perf[i].determinism != CUDNN_DETERMINISTIC) continue;
        *ws = perf[i].memory;
        *index = i;
        return 1;
    }
    return 0;
}

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Dimensions of x, y and the filter for d (4-D when 2-D). */
static int plan_dims(const struct vg_conv_desc *d, int *nd, int xd[5], int yd[5], int wd[5], int pad[3], int str[3],
                     int dil[3]) {
    const int two_d = d->in[0] == 1 && d->out[0] == 1 && d->k[0] == 1 && d->p[0] == 0 && d->op[0] == 0;
    const int64_t xc = d->transposed ? d->C_out : d->C_in, yc = d->transposed ? d->C_in : d->C_out;
    const int64_t *xs = d->transposed ? d->out : d->in, *ys = d->transposed ? d->in : d->out;
    if (!fits_int(d->N) || !fits_int(xc) || !fits_int(yc)) return 0;
    int a0 = two_d ? 1 : 0; /* first spatial axis used */
    *nd = 2 + 3 - a0;
    xd[0] = yd[0] = (int)d->N;
    xd[1] = wd[1] = (int)xc;
    yd[1] = wd[0] = (int)yc;
    for (int a = a0; a < 3; a++) {
        int j = 2 + a - a0;
        if (!fits_int(xs[a]) || !fits_int(ys[a])) return 0;
        xd[j] = (int)xs[a];
        yd[j] = (int)ys[a];
        wd[j] = d->k[a];
        pad[a - a0] = d->p[a];
        str[a - a0] = d->s[a];
        dil[a - a0] = 1;
    }
    return 1;
}

static cudnnDataType_t data_type(const struct vg_conv_desc *d) {
    return d->precision == VG_PRECISION_BF16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
}

static int set_tensor(cudnnTensorDescriptor_t t, cudnnDataType_t type, int nd, const int *dims) {
    int stride[5];
    stride[nd - 1] = 1;
    for (int i = nd - 2; i >= 0; i--) stride[i] = stride[i + 1] * dims[i + 1];
    return CUDNN_OK(cudnnSetTensorNdDescriptor(t, type, nd, dims, stride));
}

static int64_t prod_dims(int nd, const int *dims) {
    int64_t n = 1;
    for (int i = 0; i < nd; i++) n *= dims[i];
    return n;
}

static int plan_make(conv_plan *p, const struct vg_conv_desc *d) {
    int nd, xd[5], yd[5], wd[5], pad[3], str[3], dil[3];
    if (!plan_dims(d, &nd, xd, yd, wd, pad, str, dil)) {
        vg_cuda_fail(VG_ERR_UNSUPPORTED, "cudnn: convolution sizes exceed int (N %lld, C %lld/%lld)", (long long)d->N,
                     (long long)d->C_in, (long long)d->C_out);
        return 0;
    }
    if (!CUDNN_OK(cudnnCreateTensorDescriptor(&p->x)) || !CUDNN_OK(cudnnCreateTensorDescriptor(&p->y)) ||
        !CUDNN_OK(cudnnCreateFilterDescriptor(&p->w)))
        return 0;
    const int bf16 = d->precision == VG_PRECISION_BF16;
    const cudnnDataType_t type = data_type(d);
    if (!set_tensor(p->x, type, nd, xd) || !set_tensor(p->y, type, nd, yd) ||
        !CUDNN_OK(cudnnSetFilterNdDescriptor(p->w, type, CUDNN_TENSOR_NCHW, nd, wd)))
        return 0;
    p->nx = prod_dims(nd, xd);
    p->ny = prod_dims(nd, yd);
    p->nw = prod_dims(nd, wd);
    const cudnnMathType_t math = bf16 ? CUDNN_TENSOR_OP_MATH : vg_cuda.tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
    for (int q = 0; q < PASS_COUNT; q++) {
        if (!CUDNN_OK(cudnnCreateConvolutionDescriptor(&p->conv[q])) ||
            !CUDNN_OK(cudnnSetConvolutionNdDescriptor(p->conv[q], nd - 2, pad, str, dil, CUDNN_CROSS_CORRELATION,
                                                      CUDNN_DATA_FLOAT)) ||
            !CUDNN_OK(cudnnSetConvolutionMathType(p->conv[q], math)))
            return 0;
    }
    /* cuDNN must agree on y's size (else the descriptor does not match torch's) */
    int got[5];
    if (!CUDNN_OK(cudnnGetConvolutionNdForwardOutputDim(p->conv[PASS_FWD], p->x, p->w, nd, got))) return 0;
    for (int i = 0; i < nd; i++)
        if (got[i] != yd[i]) {
            vg_cuda_fail(VG_ERR_INVALID, "cudnn: convolution output dim %d is %d, the descriptor says %d", i, got[i],
                         yd[i]);
            return 0;
        }
    int n = 0, idx = 0;
    cudnnConvolutionFwdAlgoPerf_t fp[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    if (!CUDNN_OK(cudnnGetConvolutionForwardAlgorithm_v7(vg_cuda.cudnn, p->x, p->w, p->conv[PASS_FWD], p->y,
                                                          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, fp)))
        return 0;
    if (!pick(fp, n, bf16, &p->ws[PASS_FWD], &idx)) goto none;
    p->fwd_algo = fp[idx].algo;
    if (!CUDNN_OK(cudnnSetConvolutionMathType(p->conv[PASS_FWD], fp[idx].mathType))) return 0;

    cudnnConvolutionBwdDataAlgoPerf_t dp[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    if (!CUDNN_OK(cudnnGetConvolutionBackwardDataAlgorithm_v7(vg_cuda.cudnn, p->w, p->y, p->conv[PASS_BWD_DATA], p->x,
                                                               CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, dp)))
        return 0;
    if (!pick(dp, n, bf16, &p->ws[PASS_BWD_DATA], &idx)) goto none;
    p->data_algo = dp[idx].algo;
    if (!CUDNN_OK(cudnnSetConvolutionMathType(p->conv[PASS_BWD_DATA], dp[idx].mathType))) return 0;

    cudnnConvolutionBwdFilterAlgoPerf_t wp[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    if (!CUDNN_OK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(vg_cuda.cudnn, p->x, p->y, p->conv[PASS_BWD_FILTER],
                                                                 p->w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, wp)))
        return 0;
    if (!pick(wp, n, bf16, &p->ws[PASS_BWD_FILTER], &idx)) goto none;
    p->filter_algo = wp[idx].algo;
    if (!CUDNN_OK(cudnnSetConvolutionMathType(p->conv[PASS_BWD_FILTER], wp[idx].mathType))) return 0;

    /* the exact sizes for the chosen algorithms (the heuristic's are estimates) */
    if (!CUDNN_OK(cudnnGetConvolutionForwardWorkspaceSize(vg_cuda.cudnn, p->x, p->w, p->conv[PASS_FWD], p->y,
                                                          p->fwd_algo, &p->ws[PASS_FWD])) ||
        !CUDNN_OK(cudnnGetConvolutionBackwardDataWorkspaceSize(vg_cuda.cudnn, p->w, p->y, p->conv[PASS_BWD_DATA], p->x,
                                                               p->data_algo, &p->ws[PASS_BWD_DATA])) ||
        !CUDNN_OK(cudnnGetConvolutionBackwardFilterWorkspaceSize(vg_cuda.cudnn, p->x, p->y, p->conv[PASS_BWD_FILTER],
                                                                 p->w, p->filter_algo, &p->ws[PASS_BWD_FILTER])))
        return 0;
    for (int q = 0; q < PASS_COUNT; q++)
        if (p->ws[q] > vg_cuda.workspace_bytes) goto none;
    p->ok = 1;
    return 1;
none:
    vg_cuda_fail(VG_ERR_UNSUPPORTED,
                 "cudnn: no %sconvolution algorithm for %s (N %lld, C %lld -> %lld, in %lldx%lldx%lld, k %dx%dx%d) "
                 "fits the %zu MiB workspace%s (VIDGAN_CUDA_WORKSPACE_MB)",
                 bf16 ? "bf16 " : "", d->transposed ? "a transposed convolution" : "a convolution", (long long)d->N,
                 (long long)d->C_in,
                 (long long)d->C_out, (long long)d->in[0], (long long)d->in[1], (long long)d->in[2], d->k[0], d->k[1],
                 d->k[2], vg_cuda.workspace_bytes >> 20, want_deterministic() ? " deterministically" : "");
    return 0;
}

/* The cached plan for d, made on first sight (NULL after a recorded failure). */
static conv_plan *plan_for(const struct vg_conv_desc *d) {
    for (conv_plan *p = plans; p; p = p->next)
        if (key_equal(&p->key, d)) {
            if (!p->ok) /* the first attempt's error was reported; say it again: this call does nothing */
                vg_cuda_fail(VG_ERR_UNSUPPORTED, "cudnn: no usable plan for %s (N %lld, C %lld -> %lld): it failed "
                             "when first made", d->transposed ? "a transposed convolution" : "a convolution",
                             (long long)d->N, (long long)d->C_in, (long long)d->C_out);
            return p->ok ? p : NULL;
        }
    conv_plan *p = (conv_plan *)calloc(1, sizeof *p);
    if (!p) {
        vg_cuda_fail(VG_ERR_NOMEM, "cudnn: out of host memory for a convolution plan");
        return NULL;
    }
    p->key = *d;
    p->next = plans;
    plans = p; /* kept even when it failed, so the failure is not retried every step */
    return plan_make(p, d) ? p : NULL;
}

/* Host-only check, no device needed: d's x, filter and convolution
 * descriptors (bf16 ones for d->precision BF16) are accepted by cuDNN and
 * its own output size is d's y. The parity test runs it on every
 * convolution case even without a GPU. */
extern "C" int vg_cuda_conv_descriptors_ok(const struct vg_conv_desc *d) {
    int nd, xd[5], yd[5], wd[5], pad[3], str[3], dil[3], got[5];
    if (!plan_dims(d, &nd, xd, yd, wd, pad, str, dil)) return 0;
    cudnnTensorDescriptor_t x = NULL;
    cudnnFilterDescriptor_t w = NULL;
    cudnnConvolutionDescriptor_t conv = NULL;
    int ok = CUDNN_OK(cudnnCreateTensorDescriptor(&x)) && CUDNN_OK(cudnnCreateFilterDescriptor(&w)) &&
             CUDNN_OK(cudnnCreateConvolutionDescriptor(&conv)) && set_tensor(x, data_type(d), nd, xd) &&
             CUDNN_OK(cudnnSetFilterNdDescriptor(w, data_type(d), CUDNN_TENSOR_NCHW, nd, wd)) &&
             CUDNN_OK(cudnnSetConvolutionNdDescriptor(conv, nd - 2, pad, str, dil, CUDNN_CROSS_CORRELATION,
                                                      CUDNN_DATA_FLOAT)) &&
             CUDNN_OK(cudnnGetConvolutionNdForwardOutputDim(conv, x, w, nd, got));
    for (int i = 0; ok && i < nd; i++) ok = got[i] == yd[i];
    if (x) cudnnDestroyTensorDescriptor(x);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    return ok;
}

/* ---- bias ------------------------------------------------------------------ */

/* out (N, C, S) += bias[c] */
__global__ void bias_add_kernel(float *out, const float *bias, int64_t N, int64_t C, int64_t S) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < N * C * S; e += (int64_t)gridDim.x * blockDim.x)
        out[e] += bias[(e / S) % C];
}

/* dbias[c] += sum over (N, S) of dout (N, C, S): one block per channel. */
__global__ void bias_grad_kernel(float *dbias, const float *dout, int64_t N, int64_t C, int64_t S) {
    __shared__ double part[THREADS];
    int64_t c = blockIdx.x;
    double s = 0;
    for (int64_t n = 0; n < N; n++) {
        const float *g = dout + (n * C + c) * S;
        for (int64_t i = threadIdx.x; i < S; i += blockDim.x) s += (double)g[i];
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (int w = THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
        __syncthreads();
    }
    if (threadIdx.x == 0) dbias[c] += (float)part[0];
}

static int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

/* ---- bf16 mixed precision ------------------------------------------------------ */

/* The plan's bf16 copies in the scratch: x, y, the filter, and the result
 * of a pass (as large as the largest of the three). */
typedef struct bf16_parts {
    uint16_t *x, *y, *w, *o;
} bf16_parts;

static int bf16_parts_for(const conv_plan *p, bf16_parts *b) {
    const int64_t big = p->nx > p->ny ? (p->nx > p->nw ? p->nx : p->nw) : (p->ny > p->nw ? p->ny : p->nw);
    const size_t px = vg_cuda_bf16_part(p->nx), py = vg_cuda_bf16_part(p->ny), pw = vg_cuda_bf16_part(p->nw);
    char *s = (char *)vg_cuda_bf16_scratch(px + py + pw + vg_cuda_bf16_part(big));
    if (!s) return 0;
    b->x = (uint16_t *)s;
    b->y = (uint16_t *)(s + px);
    b->w = (uint16_t *)(s + px + py);
    b->o = (uint16_t *)(s + px + py + pw);
    return 1;
}

/* out = conv(inp, weight) with bf16 operands: a convolution's y from x, a
 * transposed one's x from y (the adjoint). */
static void conv_forward_bf16(const conv_plan *p, float *out, const float *inp, const float *weight,
                              const struct vg_conv_desc *d) {
    bf16_parts b;
    if (!bf16_parts_for(p, &b)) return;
    const float one = 1.0f, zero = 0.0f;
    vg_cuda_to_bf16(b.w, weight, p->nw);
    if (d->transposed) {
        vg_cuda_to_bf16(b.y, inp, p->ny);
        if (CUDNN_OK(cudnnConvolutionBackwardData(vg_cuda.cudnn, &one, p->w, b.w, p->y, b.y, p->conv[PASS_BWD_DATA],
                                                  p->data_algo, vg_cuda.workspace, p->ws[PASS_BWD_DATA], &zero, p->x,
                                                  b.o)))
            vg_cuda_from_bf16(out, b.o, p->nx, 0);
    } else {
        vg_cuda_to_bf16(b.x, inp, p->nx);
        if (CUDNN_OK(cudnnConvolutionForward(vg_cuda.cudnn, &one, p->x, b.x, p->w, b.w, p->conv[PASS_FWD], p->fwd_algo,
                                             vg_cuda.workspace, p->ws[PASS_FWD], &zero, p->y, b.o)))
            vg_cuda_from_bf16(out, b.o, p->ny, 0);
    }
}

/* dinp += and dweight += with bf16 operands. The cross-correlation's x is
 * inp for a convolution and dout for a transposed one, its y (or dy) the
 * other; each is cast once, and only when a pass reads it. */
static void conv_backward_bf16(const conv_plan *p, float *dinp, float *dweight, const float *dout, const float *inp,
                               const float *weight, const struct vg_conv_desc *d) {
    bf16_parts b;
    if (!bf16_parts_for(p, &b)) return;
    const float one = 1.0f, zero = 0.0f;
    const float *x = d->transposed ? dout : inp, *y = d->transposed ? inp : dout;
    if (dweight || (dinp && d->transposed)) vg_cuda_to_bf16(b.x, x, p->nx);
    if (dweight || (dinp && !d->transposed)) vg_cuda_to_bf16(b.y, y, p->ny);
    if (dinp) {
        vg_cuda_to_bf16(b.w, weight, p->nw);
        if (d->transposed) { /* dinp (y) += conv(dout (x), weight) */
            if (CUDNN_OK(cudnnConvolutionForward(vg_cuda.cudnn, &one, p->x, b.x, p->w, b.w, p->conv[PASS_FWD],
                                                 p->fwd_algo, vg_cuda.workspace, p->ws[PASS_FWD], &zero, p->y, b.o)))
                vg_cuda_from_bf16(dinp, b.o, p->ny, 1);
        } else { /* dinp (x) += adjoint(dout (y)) */
            if (CUDNN_OK(cudnnConvolutionBackwardData(vg_cuda.cudnn, &one, p->w, b.w, p->y, b.y,
                                                      p->conv[PASS_BWD_DATA], p->data_algo, vg_cuda.workspace,
                                                      p->ws[PASS_BWD_DATA], &zero, p->x, b.o)))
                vg_cuda_from_bf16(dinp, b.o, p->nx, 1);
        }
    }
    if (dweight &&
        CUDNN_OK(cudnnConvolutionBackwardFilter(vg_cuda.cudnn, &one, p->x, b.x, p->y, b.y, p->conv[PASS_BWD_FILTER],
                                                p->filter_algo, vg_cuda.workspace, p->ws[PASS_BWD_FILTER], &zero, p->w,
                                                b.o)))
        vg_cuda_from_bf16(dweight, b.o, p->nw, 1);
}

/* ---- the table's entries ------------------------------------------------------ */

static void conv_forward(vg_real *out, const vg_real *inp, const vg_real *weight, const vg_real *bias,
                         const struct vg_conv_desc *d) {
    const int64_t S = prod3(d->out), n_out = d->N * d->C_out * S;
    if (n_out <= 0) return;
    conv_plan *p = plan_for(d);
    if (!p) return;
    const float one = 1.0f, zero = 0.0f;
    if (d->precision == VG_PRECISION_BF16)
        conv_forward_bf16(p, out, inp, weight, d);
    else if (d->transposed)
        CUDNN_OK(cudnnConvolutionBackwardData(vg_cuda.cudnn, &one, p->w, weight, p->y, inp, p->conv[PASS_BWD_DATA],
                                              p->data_algo, vg_cuda.workspace, p->ws[PASS_BWD_DATA], &zero, p->x, out));
    else
        CUDNN_OK(cudnnConvolutionForward(vg_cuda.cudnn, &one, p->x, inp, p->w, weight, p->conv[PASS_FWD], p->fwd_algo,
                                         vg_cuda.workspace, p->ws[PASS_FWD], &zero, p->y, out));
    if (bias) {
        bias_add_kernel<<<vg_cuda_blocks(n_out, THREADS), THREADS, 0, vg_cuda.stream>>>(out, bias, d->N, d->C_out, S);
        CUDA_LAUNCHED("bias_add_kernel");
    }
}

static void conv_backward(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout, const vg_real *inp,
                          const vg_real *weight, const struct vg_conv_desc *d) {
    const int64_t S = prod3(d->out);
    if (d->N * d->C_out * S <= 0 || d->N * d->C_in * prod3(d->in) <= 0) return;
    if (dbias) {
        bias_grad_kernel<<<(unsigned)d->C_out, THREADS, 0, vg_cuda.stream>>>(dbias, dout, d->N, d->C_out, S);
        CUDA_LAUNCHED("bias_grad_kernel");
    }
    if (!dinp && !dweight) return;
    conv_plan *p = plan_for(d);
    if (!p) return;
    if (d->precision == VG_PRECISION_BF16) {
        conv_backward_bf16(p, dinp, dweight, dout, inp, weight, d);
        return;
    }
    const float one = 1.0f;
    if (dinp) {
        if (d->transposed) /* dinp (y) += conv(dout (x), weight) */
            CUDNN_OK(cudnnConvolutionForward(vg_cuda.cudnn, &one, p->x, dout, p->w, weight, p->conv[PASS_FWD],
                                             p->fwd_algo, vg_cuda.workspace, p->ws[PASS_FWD], &one, p->y, dinp));
        else /* dinp (x) += adjoint(dout (y)) */
            CUDNN_OK(cudnnConvolutionBackwardData(vg_cuda.cudnn, &one, p->w, weight, p->y, dout,
                                                  p->conv[PASS_BWD_DATA], p->data_algo, vg_cuda.workspace,
                                                  p->ws[PASS_BWD_DATA], &one, p->x, dinp));
    }
    if (dweight) {
        /* x and dy of the cross-correlation: (inp, dout) for a convolution, (dout, inp) transposed */
        const float *x = d->transposed ? dout : inp, *dy = d->transposed ? inp : dout;
        CUDNN_OK(cudnnConvolutionBackwardFilter(vg_cuda.cudnn, &one, p->x, x, p->y, dy, p->conv[PASS_BWD_FILTER],
                                                p->filter_algo, vg_cuda.workspace, p->ws[PASS_BWD_FILTER], &one, p->w,
                                                dweight));
    }
}

void vg_cuda_register_conv(vg_backend *be) {
    be->conv_forward = conv_forward;
    be->conv_backward = conv_backward;
}
