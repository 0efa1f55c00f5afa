/* The CUDA backend's parts (compiled by nvcc as CUDA C++, linked into the C
 * library). Each kernel group lives in its own .cu file and fills its entries
 * of the vg_backend table through a register function; cuda_backend.cu
 * probes the device, owns the handles and the preallocated scratch, and
 * calls them all.
 *
 * Errors: the table's kernels return void, so the first failing CUDA,
 * cuBLAS or cuDNN call is recorded here (vg_cuda_fail) with the call's name
 * and the library's own message; be->poll_error hands it to the ops layer,
 * which makes it the context's status. Later calls keep running (CUDA errors
 * are sticky anyway) but nothing overwrites the first message.
 *
 * Memory: nothing here calls cudaMalloc while a step runs. Tensors come from
 * the context's arena (be->alloc, grown only in a first step, as on the CPU);
 * the cuDNN and cuBLAS workspaces and the small device scratch (the
 * non-finite counter) are allocated once when the backend starts; the bf16
 * operand scratch (bf16.cu) is grow-only and reaches its size in the first
 * step. */
#ifndef VG_CUDA_H
#define VG_CUDA_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

extern "C" {
#include "backend/backend.h"
}

/* The first failure: "<call>: <library message>" (printf style). */
void vg_cuda_fail(vg_status s, const char *fmt, ...);
/* 1 if an earlier call failed (kernels may skip work after that). */
int vg_cuda_failed(void);

/* Checks that record a failure with the call's text and return 0. */
int vg_cuda_check(cudaError_t e, const char *call);
int vg_cublas_check(cublasStatus_t e, const char *call);
int vg_cudnn_check(cudnnStatus_t e, const char *call);
#define CUDA_OK(call) vg_cuda_check((call), #call)
#define CUBLAS_OK(call) vg_cublas_check((call), #call)
#define CUDNN_OK(call) vg_cudnn_check((call), #call)
/* After a kernel launch: a launch error (bad configuration) names the kernel. */
#define CUDA_LAUNCHED(name) vg_cuda_check(cudaGetLastError(), "launch " name)

/* Shared state, valid after vg_backend_cuda() succeeded. */
typedef struct vg_cuda_state {
    int device;
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    void *workspace;        /* cuDNN scratch, allocated once */
    size_t workspace_bytes;
    void *cublas_workspace;  /* cuBLAS scratch (32 MiB), set on the handle so it never allocates its own */
    unsigned long long *counter; /* one device word for count_nonfinite */
    int tf32;               /* VIDGAN_CUDA_TF32=1: TF32 tensor cores for GEMM and convolution */
    int cc_major;           /* compute capability; bf16 mixed precision needs 8 or more */
    char name[320];         /* the device name, compute capability, memory */
} vg_cuda_state;
extern vg_cuda_state vg_cuda;

/* Blocks for n elements at `threads` per block (n > 0), capped for grid-stride loops. */
static inline unsigned vg_cuda_blocks(int64_t n, int threads) {
    int64_t b = (n + threads - 1) / threads;
    return (unsigned)(b > 65535 * 16 ? 65535 * 16 : b);
}

/* Sum of v over the thread block, combined by a fixed tree (deterministic);
 * every thread gets the sum. sh holds blockDim.x doubles; blockDim.x is a
 * power of two. For .cu files only. */
static __device__ inline double vg_cuda_block_sum(double v, double *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int w = (int)blockDim.x / 2; w > 0; w >>= 1) {
        if ((int)threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    double s = sh[0];
    __syncthreads();
    return s;
}

void vg_cuda_register_eltwise(vg_backend *be);  /* eltwise.cu: unary, binary */
void vg_cuda_register_layout(vg_backend *be);   /* layout.cu: reduce, permute, block */
void vg_cuda_register_gemm(vg_backend *be);     /* gemm.cu: cuBLAS gemm */
void vg_cuda_register_conv(vg_backend *be);     /* conv.cu: cuDNN convolutions */
void vg_cuda_register_norm(vg_backend *be);     /* norm.cu: batchnorm, rownorm */
void vg_cuda_register_resample(vg_backend *be); /* resample.cu: upsample, pooling */
void vg_cuda_register_misc(vg_backend *be);     /* misc.cu: softmax, embedding */
void vg_cuda_register_optim(vg_backend *be);    /* optim.cu: adam, ema, non-finite count, rng, fill */

/* bf16.cu: bf16 mixed precision (VG_PRECISION_BF16 in conv and gemm
 * descriptors). The scratch holds at least `bytes` (256-byte aligned), grown
 * only when asked for more than ever before; NULL after recording a failure.
 * The casts run on the stream: to_bf16 rounds to nearest even
 * (core/bf16.h), from_bf16 writes or, with accumulate, adds (dst += src). */
void *vg_cuda_bf16_scratch(size_t bytes);
void vg_cuda_to_bf16(uint16_t *dst, const float *src, int64_t n);
void vg_cuda_from_bf16(float *dst, const uint16_t *src, int64_t n, int accumulate);
/* Bytes of n bf16 values rounded up to 256, so consecutive scratch parts stay aligned. */
static inline size_t vg_cuda_bf16_part(int64_t n) { return ((size_t)n * 2 + 255) & ~(size_t)255; }

#endif
