/* CUDA kernels: fills, accumulation, the counter-based random numbers, the
 * Adam update, the EMA of weights and the non-finite count.
 *
 * Every kernel does the same float (or double) operations in the same order
 * as the CPU kernel it mirrors (src/backend/cpu/optim.c, cpu_backend.c), and
 * the backend is compiled with --fmad=false, so results match the CPU's bit
 * for bit except where a math library function (sqrt is exact; log, cos in
 * the normal generator are not) rounds differently in its last place.
 *
 * Random numbers: Philox4x32-10 with the counter mapping of src/core/rng.h
 * (counter = offset + i, key = seed; uniform from the top 24 bits of word 0,
 * normal by Box-Muller on words 0 and 1), written out again here for the
 * device; tests/test_backend_parity.c holds the two to the same numbers. */
#include "backend/cuda/cuda.h"

#define THREADS 256

/* ---- fill, accumulate --------------------------------------------------- */

__global__ void fill_kernel(float *dst, int64_t n, float v) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = v;
}

__global__ void accumulate_kernel(float *dst, const float *src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] += src[i];
}

static void cuda_fill(vg_real *dst, int64_t n, double value) {
    if (n <= 0) return;
    fill_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, n, (float)value);
    CUDA_LAUNCHED("fill_kernel");
}

static void cuda_accumulate(vg_real *dst, const vg_real *src, int64_t n) {
    if (n <= 0) return;
    accumulate_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, src, n);
    CUDA_LAUNCHED("accumulate_kernel");
}

/* ---- Philox4x32-10 (as src/core/rng.h) ------------------------------------- */

__device__ __forceinline__ void philox4x32(uint32_t out[4], uint64_t counter, uint64_t seed) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint32_t hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        uint32_t hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        uint32_t n0 = hi1 ^ c1 ^ k0;
        uint32_t n1 = lo1;
        uint32_t n2 = hi0 ^ c3 ^ k1;
        uint32_t n3 = lo0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

__global__ void rng_uniform_kernel(float *dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        uint32_t r[4];
        philox4x32(r, offset + (uint64_t)i, seed);
        double u = ((double)(r[0] >> 8) + 0.5) * (1.0 / 16777216.0);
        dst[i] = (float)(lo + (hi - lo) * u);
    }
}

__global__ void rng_normal_kernel(float *dst, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        uint32_t r[4];
        philox4x32(r, offset + (uint64_t)i, seed);
        double u1 = ((double)r[0] + 0.5) * (1.0 / 4294967296.0);
        double u2 = ((double)r[1] + 0.5) * (1.0 / 4294967296.0);
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        dst[i] = (float)(mean + std * z);
    }
}

static void cuda_rng_uniform(vg_real *dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
    if (n <= 0) return;
    rng_uniform_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, n, seed, offset, lo, hi);
    CUDA_LAUNCHED("rng_uniform_kernel");
}

static void cuda_rng_normal(vg_real *dst, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
    if (n <= 0) return;
    rng_normal_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, n, seed, offset, mean, std);
    CUDA_LAUNCHED("rng_normal_kernel");
}

/* ---- Adam, EMA ------------------------------------------------------------- */

struct adam_consts {
    float b1, b2, wd, eps, step_size, bc2_sqrt, one_b1, one_b2;
};

/* The CPU's expression: denom = sqrt(v) / bc2_sqrt + eps evaluates in double
 * there (C's sqrt promotes), and so it does here. */
__global__ void adam_kernel(float *param, float *m, float *v, const float *grad, int64_t n, adam_consts k) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float g = grad[i];
        if (k.wd != 0) g += k.wd * param[i];
        float mi = m[i] * k.b1 + g * k.one_b1;
        float vi = v[i] * k.b2 + g * g * k.one_b2;
        m[i] = mi;
        v[i] = vi;
        float denom = (float)(sqrt((double)vi) / (double)k.bc2_sqrt + (double)k.eps);
        param[i] -= k.step_size * (mi / denom);
    }
}

static void cuda_adam_update(vg_real *param, vg_real *m, vg_real *v, const vg_real *grad, int64_t n,
                             const struct vg_adam_desc *d) {
    if (n <= 0) return;
    const double bc1 = 1.0 - pow(d->beta1, (double)d->step), bc2 = 1.0 - pow(d->beta2, (double)d->step);
    adam_consts k;
    k.b1 = (float)d->beta1;
    k.b2 = (float)d->beta2;
    k.wd = (float)d->weight_decay;
    k.eps = (float)d->eps;
    k.step_size = (float)(d->lr / bc1);
    k.bc2_sqrt = (float)sqrt(bc2);
    k.one_b1 = (float)(1.0 - d->beta1);
    k.one_b2 = (float)(1.0 - d->beta2);
    adam_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(param, m, v, grad, n, k);
    CUDA_LAUNCHED("adam_kernel");
}

__global__ void ema_kernel(float *ema, const float *param, int64_t n, float w) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        ema[i] += w * (param[i] - ema[i]);
}

static void cuda_ema_update(vg_real *ema, const vg_real *param, int64_t n, double decay) {
    if (n <= 0) return;
    ema_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(ema, param, n, (float)(1.0 - decay));
    CUDA_LAUNCHED("ema_kernel");
}

/* ---- non-finite count ------------------------------------------------------- */

__global__ void nonfinite_kernel(unsigned long long *count, const float *x, int64_t n) {
    __shared__ unsigned int block_count;
    if (threadIdx.x == 0) block_count = 0;
    __syncthreads();
    unsigned int mine = 0;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        mine += !isfinite(x[i]);
    if (mine) atomicAdd(&block_count, mine);
    __syncthreads();
    if (threadIdx.x == 0 && block_count) atomicAdd(count, (unsigned long long)block_count);
}

/* Synchronous: the count comes back to the host through the one
 * preallocated device word. */
static int64_t cuda_count_nonfinite(const vg_real *x, int64_t n) {
    if (n <= 0) return 0;
    unsigned long long host = 0;
    if (!CUDA_OK(cudaMemsetAsync(vg_cuda.counter, 0, sizeof host, vg_cuda.stream))) return n;
    unsigned blocks = vg_cuda_blocks(n, THREADS);
    if (blocks > 4096) blocks = 4096;
    nonfinite_kernel<<<blocks, THREADS, 0, vg_cuda.stream>>>(vg_cuda.counter, x, n);
    if (!CUDA_LAUNCHED("nonfinite_kernel")) return n;
    if (!CUDA_OK(cudaMemcpyAsync(&host, vg_cuda.counter, sizeof host, cudaMemcpyDeviceToHost, vg_cuda.stream)) ||
        !CUDA_OK(cudaStreamSynchronize(vg_cuda.stream)))
        return n; /* unknown: report everything as suspect rather than nothing */
    return (int64_t)host;
}

void vg_cuda_register_optim(vg_backend *be) {
    be->fill = cuda_fill;
    be->accumulate = cuda_accumulate;
    be->rng_uniform = cuda_rng_uniform;
    be->rng_normal = cuda_rng_normal;
    be->adam_update = cuda_adam_update;
    be->ema_update = cuda_ema_update;
    be->count_nonfinite = cuda_count_nonfinite;
}
