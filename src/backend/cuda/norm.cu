/* CUDA kernels: batch normalisation and row normalisation (layer norm,
 * instance norm), the formulas of src/backend/cpu/norm.c
 * (torch.nn.functional.batch_norm / layer_norm / instance_norm: biased
 * variance for normalising, invstd = 1 / sqrt(var + eps), the unbiased
 * variance in the running-statistics update).
 *
 * One block per channel (batch norm) or per row (row norm): its threads
 * stride over the elements, sums are in double and combined by a fixed tree,
 * so results are deterministic. Statistics are two-pass (mean, then the sum
 * of squared deviations from it), as stable as the CPU's blocked version;
 * the elementwise parts repeat the CPU's float expressions. */
#include "backend/cuda/cuda.h"

#define THREADS 512

/* ---- batch norm ------------------------------------------------------------ */

/* Element e of channel c, e in [0, N S): x[(n C + c) S + i]. */
__device__ __forceinline__ int64_t bn_at(int64_t e, int64_t c, int64_t C, int64_t S) {
    return ((e / S) * C + c) * S + e % S;
}

__global__ void batchnorm_forward_kernel(float *out, float *save_mean, float *save_invstd, const float *inp,
                                         const float *weight, const float *bias, float *running_mean,
                                         float *running_var, int64_t N, int64_t C, int64_t S, double eps,
                                         double momentum, int training) {
    __shared__ double sh[THREADS];
    const int64_t c = blockIdx.x, M = N * S;
    double mean, var;
    if (training) {
        double s = 0;
        for (int64_t e = threadIdx.x; e < M; e += blockDim.x) s += (double)inp[bn_at(e, c, C, S)];
        mean = M > 0 ? vg_cuda_block_sum(s, sh) / (double)M : 0;
        double q = 0;
        for (int64_t e = threadIdx.x; e < M; e += blockDim.x) {
            double dv = (double)inp[bn_at(e, c, C, S)] - mean;
            q += dv * dv;
        }
        double m2 = vg_cuda_block_sum(q, sh);
        var = M > 0 ? m2 / (double)M : 0;
        if (running_mean && threadIdx.x == 0) {
            double unbiased = M > 1 ? m2 / (double)(M - 1) : 0;
            running_mean[c] = (float)((1 - momentum) * (double)running_mean[c] + momentum * mean);
            running_var[c] = (float)((1 - momentum) * (double)running_var[c] + momentum * unbiased);
        }
    } else {
        mean = (double)running_mean[c];
        var = (double)running_var[c];
    }
    double invstd = 1.0 / sqrt(var + eps);
    if (threadIdx.x == 0) {
        if (save_mean) save_mean[c] = (float)mean;
        if (save_invstd) save_invstd[c] = (float)invstd;
    }
    const float a = (float)(invstd * (weight ? (double)weight[c] : 1.0)), b = bias ? bias[c] : 0.0f, mf = (float)mean;
    for (int64_t e = threadIdx.x; e < M; e += blockDim.x) {
        int64_t at = bn_at(e, c, C, S);
        out[at] = (inp[at] - mf) * a + b;
    }
}

static void batchnorm_forward(vg_real *out, vg_real *save_mean, vg_real *save_invstd, const vg_real *inp,
                              const vg_real *weight, const vg_real *bias, vg_real *running_mean, vg_real *running_var,
                              const struct vg_batchnorm_desc *d) {
    if (d->C <= 0) return;
    batchnorm_forward_kernel<<<(unsigned)d->C, THREADS, 0, vg_cuda.stream>>>(
        out, save_mean, save_invstd, inp, weight, bias, running_mean, running_var, d->N, d->C, d->S, d->eps,
        d->momentum, d->training);
    CUDA_LAUNCHED("batchnorm_forward_kernel");
}

__global__ void batchnorm_backward_kernel(float *dinp, float *dweight, float *dbias, const float *dout,
                                          const float *inp, const float *weight, const float *save_mean,
                                          const float *save_invstd, int64_t N, int64_t C, int64_t S, int training) {
    __shared__ double sh[THREADS];
    const int64_t c = blockIdx.x, M = N * S;
    const double mean = (double)save_mean[c], invstd = (double)save_invstd[c];
    const int need_sums = dweight || dbias || (dinp && training);
    double sdy = 0, sdyx = 0;
    if (need_sums) {
        double a = 0, b = 0;
        for (int64_t e = threadIdx.x; e < M; e += blockDim.x) {
            int64_t at = bn_at(e, c, C, S);
            double g = (double)dout[at];
            a += g;
            b += g * ((double)inp[at] - mean);
        }
        sdy = vg_cuda_block_sum(a, sh);
        sdyx = vg_cuda_block_sum(b, sh);
    }
    if (threadIdx.x == 0) {
        if (dbias) dbias[c] += (float)sdy;
        if (dweight) dweight[c] += (float)(sdyx * invstd);
    }
    if (!dinp) return;
    const double k = invstd * (weight ? (double)weight[c] : 1.0);
    double kb = 0, kc = 0;
    if (training && M > 0) {
        kb = -k * invstd * invstd * sdyx / (double)M;
        kc = -k * sdy / (double)M;
    }
    const float kf = (float)k, kbf = (float)kb, kcf = (float)kc, mf = (float)mean;
    for (int64_t e = threadIdx.x; e < M; e += blockDim.x) {
        int64_t at = bn_at(e, c, C, S);
        dinp[at] += kf * dout[at] + kbf * (inp[at] - mf) + kcf;
    }
}

static void batchnorm_backward(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                               const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                               const vg_real *save_invstd, const struct vg_batchnorm_desc *d) {
    if (d->C <= 0) return;
    batchnorm_backward_kernel<<<(unsigned)d->C, THREADS, 0, vg_cuda.stream>>>(
        dinp, dweight, dbias, dout, inp, weight, save_mean, save_invstd, d->N, d->C, d->S, d->training);
    CUDA_LAUNCHED("batchnorm_backward_kernel");
}

/* ---- row norm ------------------------------------------------------------------ */

__global__ void rownorm_forward_kernel(float *out, float *save_mean, float *save_invstd, const float *inp,
                                       const float *weight, const float *bias, int64_t cols, int64_t C, double eps,
                                       vg_rownorm_affine affine) {
    __shared__ double sh[THREADS];
    const int64_t r = blockIdx.x;
    const float *x = inp + r * cols;
    float *y = out + r * cols;
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) s += (double)x[j];
    double mean = cols > 0 ? vg_cuda_block_sum(s, sh) / (double)cols : 0;
    double q = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        double dv = (double)x[j] - mean;
        q += dv * dv;
    }
    double m2 = vg_cuda_block_sum(q, sh);
    double invstd = 1.0 / sqrt((cols > 0 ? m2 / (double)cols : 0) + eps);
    if (threadIdx.x == 0) {
        if (save_mean) save_mean[r] = (float)mean;
        if (save_invstd) save_invstd[r] = (float)invstd;
    }
    const float mf = (float)mean, is = (float)invstd;
    if (affine == VG_AFFINE_PER_COL) {
        for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
            float v = (x[j] - mf) * is;
            if (weight) v *= weight[j];
            if (bias) v += bias[j];
            y[j] = v;
        }
    } else {
        const int per_ch = affine == VG_AFFINE_PER_CHANNEL;
        const float a = (float)(invstd * ((per_ch && weight) ? (double)weight[r % C] : 1.0));
        const float b = (per_ch && bias) ? bias[r % C] : 0.0f;
        for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) y[j] = (x[j] - mf) * a + b;
    }
}

static void rownorm_forward(vg_real *out, vg_real *save_mean, vg_real *save_invstd, const vg_real *inp,
                            const vg_real *weight, const vg_real *bias, const struct vg_rownorm_desc *d) {
    if (d->rows <= 0) return;
    rownorm_forward_kernel<<<(unsigned)d->rows, THREADS, 0, vg_cuda.stream>>>(out, save_mean, save_invstd, inp, weight,
                                                                              bias, d->cols, d->C, d->eps, d->affine);
    CUDA_LAUNCHED("rownorm_forward_kernel");
}

/* dx of one row per block: g = dy w (w per column or per row),
 * dx += invstd (g - mean(g) - xhat mean(g xhat)). */
__global__ void rownorm_dx_kernel(float *dinp, const float *dout, const float *inp, const float *weight,
                                  const float *save_mean, const float *save_invstd, int64_t cols, int64_t C,
                                  vg_rownorm_affine affine) {
    __shared__ double sh[THREADS];
    const int64_t r = blockIdx.x;
    const float *x = inp + r * cols, *dy = dout + r * cols;
    float *dx = dinp + r * cols;
    const double mean = (double)save_mean[r], invstd = (double)save_invstd[r];
    const int col_w = affine == VG_AFFINE_PER_COL && weight;
    const double row_w = (affine == VG_AFFINE_PER_CHANNEL && weight) ? (double)weight[r % C] : 1.0;
    double a = 0, b = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        double g = (double)dy[j] * (col_w ? (double)weight[j] : 1.0);
        a += g;
        b += g * ((double)x[j] - mean);
    }
    double sg = vg_cuda_block_sum(a, sh), sgx = vg_cuda_block_sum(b, sh);
    if (!col_w) {
        sg *= row_w;
        sgx *= row_w;
    }
    const double mg = sg / (double)cols, mgx = sgx * invstd * invstd / (double)cols;
    const float mf = (float)mean, kb = (float)(-invstd * mgx), kc = (float)(-invstd * mg);
    if (col_w) {
        const float is = (float)invstd;
        for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
            dx[j] += is * dy[j] * weight[j] + kb * (x[j] - mf) + kc;
    } else {
        const float k = (float)(invstd * row_w);
        for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dx[j] += k * dy[j] + kb * (x[j] - mf) + kc;
    }
}

/* Per-column parameter gradients (layer norm): one thread per column, rows in order. */
__global__ void rownorm_col_grads_kernel(float *dweight, float *dbias, const float *dout, const float *inp,
                                         const float *save_mean, const float *save_invstd, int64_t rows, int64_t cols) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < cols; j += (int64_t)gridDim.x * blockDim.x) {
        double aw = 0, ab = 0;
        for (int64_t r = 0; r < rows; r++) {
            double g = (double)dout[r * cols + j];
            aw += g * ((double)inp[r * cols + j] - (double)save_mean[r]) * (double)save_invstd[r];
            ab += g;
        }
        if (dweight) dweight[j] += (float)aw;
        if (dbias) dbias[j] += (float)ab;
    }
}

/* Per-channel parameter gradients (instance norm): one block per channel c
 * over rows c, c + C, ...: dweight += sum dy xhat, dbias += sum dy. */
__global__ void rownorm_channel_grads_kernel(float *dweight, float *dbias, const float *dout, const float *inp,
                                             const float *save_mean, const float *save_invstd, int64_t rows,
                                             int64_t cols, int64_t C) {
    __shared__ double sh[THREADS];
    const int64_t c = blockIdx.x;
    double aw = 0, ab = 0;
    for (int64_t r = c; r < rows; r += C) {
        const double mean = (double)save_mean[r], invstd = (double)save_invstd[r];
        for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
            double g = (double)dout[r * cols + j];
            aw += g * ((double)inp[r * cols + j] - mean) * invstd;
            ab += g;
        }
    }
    aw = vg_cuda_block_sum(aw, sh);
    ab = vg_cuda_block_sum(ab, sh);
    if (threadIdx.x == 0) {
        if (dweight) dweight[c] += (float)aw;
        if (dbias) dbias[c] += (float)ab;
    }
}

static void rownorm_backward(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                             const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                             const vg_real *save_invstd, const struct vg_rownorm_desc *d) {
    if (d->rows <= 0 || d->cols <= 0) return;
    if (dweight || dbias) {
        if (d->affine == VG_AFFINE_PER_CHANNEL) {
            if (d->C > 0)
                rownorm_channel_grads_kernel<<<(unsigned)d->C, THREADS, 0, vg_cuda.stream>>>(
                    dweight, dbias, dout, inp, save_mean, save_invstd, d->rows, d->cols, d->C);
        } else {
            rownorm_col_grads_kernel<<<vg_cuda_blocks(d->cols, 128), 128, 0, vg_cuda.stream>>>(
                dweight, dbias, dout, inp, save_mean, save_invstd, d->rows, d->cols);
        }
        CUDA_LAUNCHED("rownorm_param_grads_kernel");
    }
    if (dinp) {
        rownorm_dx_kernel<<<(unsigned)d->rows, THREADS, 0, vg_cuda.stream>>>(dinp, dout, inp, weight, save_mean,
                                                                              save_invstd, d->cols, d->C, d->affine);
        CUDA_LAUNCHED("rownorm_dx_kernel");
    }
}

void vg_cuda_register_norm(vg_backend *be) {
    be->batchnorm_forward = batchnorm_forward;
    be->batchnorm_backward = batchnorm_backward;
    be->rownorm_forward = rownorm_forward;
    be->rownorm_backward = rownorm_backward;
}
