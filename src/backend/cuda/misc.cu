/* CUDA kernels: softmax over rows and embedding lookup, as
 * src/backend/cpu/misc.c (torch.softmax(x, -1) with the row maximum
 * subtracted and the row sum in double; torch.nn.functional.embedding
 * without padding_idx or max_norm, indices validated by the ops layer).
 *
 * Softmax is one block per row. The embedding backward gives each thread one
 * column of dweight's rows and walks the indices in order, so repeated
 * indices are summed in a fixed order (deterministic, like the CPU). */
#include "backend/cuda/cuda.h"

#define THREADS 256

__global__ void softmax_forward_kernel(float *out, const float *inp, int64_t cols) {
    __shared__ double sh[THREADS];
    __shared__ float shm[THREADS];
    const float *x = inp + blockIdx.x * cols;
    float *y = out + blockIdx.x * cols;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) m = x[j] > m ? x[j] : m;
    shm[threadIdx.x] = m;
    __syncthreads();
    for (int w = THREADS / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w && shm[threadIdx.x + w] > shm[threadIdx.x]) shm[threadIdx.x] = shm[threadIdx.x + w];
        __syncthreads();
    }
    m = shm[0];
    double s = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
        double e = exp((double)x[j] - (double)m);
        y[j] = (float)e;
        s += e;
    }
    double inv = 1.0 / vg_cuda_block_sum(s, sh);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) y[j] = (float)((double)y[j] * inv);
}

__global__ void softmax_backward_kernel(float *dinp, const float *dout, const float *out, int64_t cols) {
    __shared__ double sh[THREADS];
    const float *y = out + blockIdx.x * cols, *dy = dout + blockIdx.x * cols;
    float *dx = dinp + blockIdx.x * cols;
    double dot = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dot += (double)dy[j] * (double)y[j];
    dot = vg_cuda_block_sum(dot, sh);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) dx[j] += (float)((double)y[j] * ((double)dy[j] - dot));
}

static void softmax_forward(vg_real *out, const vg_real *inp, int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0) return;
    for (int64_t r0 = 0; r0 < rows; r0 += 1 << 30) { /* grid x holds 2^31 - 1 blocks */
        int64_t nr = rows - r0 < (1 << 30) ? rows - r0 : (1 << 30);
        softmax_forward_kernel<<<(unsigned)nr, THREADS, 0, vg_cuda.stream>>>(out + r0 * cols, inp + r0 * cols, cols);
    }
    CUDA_LAUNCHED("softmax_forward_kernel");
}

static void softmax_backward(vg_real *dinp, const vg_real *dout, const vg_real *out, int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0) return;
    for (int64_t r0 = 0; r0 < rows; r0 += 1 << 30) {
        int64_t nr = rows - r0 < (1 << 30) ? rows - r0 : (1 << 30);
        softmax_backward_kernel<<<(unsigned)nr, THREADS, 0, vg_cuda.stream>>>(dinp + r0 * cols, dout + r0 * cols,
                                                                              out + r0 * cols, cols);
    }
    CUDA_LAUNCHED("softmax_backward_kernel");
}

__global__ void embedding_forward_kernel(float *out, const float *weight, const int64_t *idx, int64_t n, int64_t dim) {
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n * dim; e += (int64_t)gridDim.x * blockDim.x)
        out[e] = weight[idx[e / dim] * dim + e % dim];
}

__global__ void embedding_backward_kernel(float *dweight, const float *dout, const int64_t *idx, int64_t n,
                                          int64_t dim) {
    for (int64_t j = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; j < dim; j += (int64_t)gridDim.x * blockDim.x)
        for (int64_t i = 0; i < n; i++) dweight[idx[i] * dim + j] += dout[i * dim + j];
}

static void embedding_forward(vg_real *out, const vg_real *weight, const int64_t *idx, int64_t n, int64_t dim) {
    if (n <= 0 || dim <= 0) return;
    embedding_forward_kernel<<<vg_cuda_blocks(n * dim, THREADS), THREADS, 0, vg_cuda.stream>>>(out, weight, idx, n, dim);
    CUDA_LAUNCHED("embedding_forward_kernel");
}

static void embedding_backward(vg_real *dweight, const vg_real *dout, const int64_t *idx, int64_t n, int64_t dim) {
    if (n <= 0 || dim <= 0) return;
    embedding_backward_kernel<<<vg_cuda_blocks(dim, 64), 64, 0, vg_cuda.stream>>>(dweight, dout, idx, n, dim);
    CUDA_LAUNCHED("embedding_backward_kernel");
}

void vg_cuda_register_misc(vg_backend *be) {
    be->softmax_forward = softmax_forward;
    be->softmax_backward = softmax_backward;
    be->embedding_forward = embedding_forward;
    be->embedding_backward = embedding_backward;
}
