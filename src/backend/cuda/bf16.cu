/* bf16 mixed precision support for conv.cu and gemm.cu: the casts between
 * float32 tensors and bfloat16 operand copies (core/bf16.h's rounding rule,
 * the one tests/test_bf16.c checks on the CPU), and the device scratch the
 * copies live in.
 *
 * The scratch is one grow-only buffer: a convolution or GEMM asks for what
 * its operands need, and only a request larger than any before reallocates
 * (after synchronising the stream, so no queued kernel still reads the old
 * one). The sizes of a model's convolutions repeat every step, so the buffer
 * reaches its size in the first step and no later step allocates; it is
 * about half the float32 bytes of the largest convolution's input, output
 * and weights together, plus its largest result. */
#include "backend/cuda/cuda.h"
#include "core/bf16.h"

#define THREADS 256

static void *scratch;
static size_t scratch_bytes;

void *vg_cuda_bf16_scratch(size_t bytes) {
    if (bytes <= scratch_bytes) return scratch;
    if (scratch) {
        if (!CUDA_OK(cudaStreamSynchronize(vg_cuda.stream)) || !CUDA_OK(cudaFree(scratch))) return NULL;
        scratch = NULL;
        scratch_bytes = 0;
    }
    cudaError_t e = cudaMalloc(&scratch, bytes);
    if (e != cudaSuccess) {
        (void)cudaGetLastError(); /* not sticky: recorded here, not by the next launch check */
        scratch = NULL;
        vg_cuda_fail(e == cudaErrorMemoryAllocation ? VG_ERR_NOMEM : VG_ERR_UNSUPPORTED,
                     "cuda: cudaMalloc of %.1f MiB of bf16 operand scratch: %s (%s)", (double)bytes / 1048576.0,
                     cudaGetErrorString(e), cudaGetErrorName(e));
        return NULL;
    }
    scratch_bytes = bytes;
    return scratch;
}

__global__ void to_bf16_kernel(uint16_t *dst, const float *src, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = vg_bf16_from_f32(src[i]);
}

__global__ void from_bf16_kernel(float *dst, const uint16_t *src, int64_t n, int accumulate) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float v = vg_bf16_to_f32(src[i]);
        dst[i] = accumulate ? dst[i] + v : v;
    }
}

void vg_cuda_to_bf16(uint16_t *dst, const float *src, int64_t n) {
    if (n <= 0) return;
    to_bf16_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, src, n);
    CUDA_LAUNCHED("to_bf16_kernel");
}

void vg_cuda_from_bf16(float *dst, const uint16_t *src, int64_t n, int accumulate) {
    if (n <= 0) return;
    from_bf16_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, src, n, accumulate);
    CUDA_LAUNCHED("from_bf16_kernel");
}
