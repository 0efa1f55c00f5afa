/* The CUDA backend table: device probe, stream and library handles, device
 * memory, the sticky first-error record, and the kernel groups registered
 * from their own files (see cuda.h).
 *
 * vg_backend_cuda() starts the backend on first use: it asks the runtime for
 * a device (without one, or without a driver, it returns NULL and says why
 * in vg_last_error), creates one stream that every kernel, cuBLAS and cuDNN
 * call runs on, and allocates the cuDNN workspace (VIDGAN_CUDA_WORKSPACE_MB,
 * default 256) and cuBLAS's (32 MiB) once. Host <-> device copies are synchronous, so a value read
 * back is always the result of everything launched before it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda.h"

vg_cuda_state vg_cuda;

/* the caller's vg_fail (vg_cuda_backend_start's argument) */
static vg_fail_fn report_failure;

/* ---- the sticky error --------------------------------------------------- */

static vg_status first_status = VG_OK;
static char first_msg[512];

void vg_cuda_fail(vg_status s, const char *fmt, ...) {
    if (first_status != VG_OK) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(first_msg, sizeof first_msg, fmt, ap);
    va_end(ap);
    first_status = s;
}

int vg_cuda_failed(void) { return first_status != VG_OK; }

int vg_cuda_check(cudaError_t e, const char *call) {
    if (e == cudaSuccess) return 1;
    vg_cuda_fail(e == cudaErrorMemoryAllocation ? VG_ERR_NOMEM : VG_ERR_UNSUPPORTED, "cuda: %s: %s (%s)", call,
                 cudaGetErrorString(e), cudaGetErrorName(e));
    return 0;
}

int vg_cublas_check(cublasStatus_t e, const char *call) {
    if (e == CUBLAS_STATUS_SUCCESS) return 1;
    vg_cuda_fail(e == CUBLAS_STATUS_ALLOC_FAILED ? VG_ERR_NOMEM : VG_ERR_UNSUPPORTED, "cublas: %s: %s (%s)", call,
                 cublasGetStatusString(e), cublasGetStatusName(e));
    return 0;
}

int vg_cudnn_check(cudnnStatus_t e, const char *call) {
    if (e == CUDNN_STATUS_SUCCESS) return 1;
    char detail[256] = "";
    cudnnGetLastErrorString(detail, sizeof detail);
    vg_cuda_fail(e == CUDNN_STATUS_ALLOC_FAILED ? VG_ERR_NOMEM : VG_ERR_UNSUPPORTED, "cudnn: %s: %s%s%s", call,
                 cudnnGetErrorString(e), detail[0] ? ": " : "", detail);
    return 0;
}

/* The table's hook: hands the first failure to the caller (vg_fail, so
 * vg_last_error names the call) and clears it. */
static vg_status cuda_poll_error(void) {
    if (first_status == VG_OK) return VG_OK;
    vg_status s = first_status;
    report_failure(s, "%s", first_msg);
    first_status = VG_OK;
    first_msg[0] = 0;
    return s;
}

/* ---- memory --------------------------------------------------------------- */

static void *cuda_alloc(size_t bytes) {
    void *p = NULL;
    size_t rounded = (bytes + 255) & ~(size_t)255;
    if (rounded < bytes) return NULL;
    /* cudaMalloc returns 256-byte aligned memory, more than the 64 promised */
    if (cudaMalloc(&p, rounded ? rounded : 256) != cudaSuccess) {
        (void)cudaGetLastError(); /* out of memory is reported by the caller, not sticky */
        return NULL;
    }
    return p;
}

static void cuda_release(void *p) {
    if (p) CUDA_OK(cudaFree(p));
}

static void cuda_zero(void *dst, size_t bytes) {
    if (bytes) CUDA_OK(cudaMemsetAsync(dst, 0, bytes, vg_cuda.stream));
}

static void cuda_copy(void *dst, const void *src, size_t bytes) {
    if (bytes && dst != src) CUDA_OK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, vg_cuda.stream));
}

/* Synchronous with respect to the host: the host buffer may be reused at once. */
static void cuda_upload(void *dst, const void *host_src, size_t bytes) {
    if (!bytes) return;
    if (CUDA_OK(cudaMemcpyAsync(dst, host_src, bytes, cudaMemcpyHostToDevice, vg_cuda.stream)))
        CUDA_OK(cudaStreamSynchronize(vg_cuda.stream));
}

static void cuda_download(void *host_dst, const void *src, size_t bytes) {
    if (!bytes) return;
    if (CUDA_OK(cudaMemcpyAsync(host_dst, src, bytes, cudaMemcpyDeviceToHost, vg_cuda.stream)))
        CUDA_OK(cudaStreamSynchronize(vg_cuda.stream));
}

/* ---- start-up -------------------------------------------------------------- */

static vg_backend cuda_backend;
static int cuda_state; /* 0 not tried, 1 ready, -1 unavailable */
static char cuda_reason[512];

static size_t workspace_bytes_wanted(void) {
    const char *s = getenv("VIDGAN_CUDA_WORKSPACE_MB");
    long mb = s && *s ? strtol(s, NULL, 10) : 256;
    if (mb < 0) mb = 0;
    return (size_t)mb << 20;
}

/* Brings the device up; on failure fills cuda_reason and returns 0. */
static int cuda_start(void) {
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        snprintf(cuda_reason, sizeof cuda_reason, "cudaGetDeviceCount: %s (%s)%s", cudaGetErrorString(e),
                 cudaGetErrorName(e),
                 e == cudaErrorInsufficientDriver ? "; no usable NVIDIA driver (libcuda) on this machine" : "");
        (void)cudaGetLastError();
        return 0;
    }
    if (count == 0) {
        snprintf(cuda_reason, sizeof cuda_reason, "the CUDA runtime found no device");
        return 0;
    }
    const char *pick = getenv("VIDGAN_CUDA_DEVICE");
    int dev = pick && *pick ? atoi(pick) : 0;
    if (dev < 0 || dev >= count) {
        snprintf(cuda_reason, sizeof cuda_reason, "VIDGAN_CUDA_DEVICE=%s but there are %d devices", pick, count);
        return 0;
    }
    cudaDeviceProp prop;
    if ((e = cudaSetDevice(dev)) != cudaSuccess || (e = cudaGetDeviceProperties(&prop, dev)) != cudaSuccess) {
        snprintf(cuda_reason, sizeof cuda_reason, "device %d: %s", dev, cudaGetErrorString(e));
        return 0;
    }
    memset(&vg_cuda, 0, sizeof vg_cuda);
    vg_cuda.device = dev;
    snprintf(vg_cuda.name, sizeof vg_cuda.name, "%s (sm_%d%d, %.1f GiB)", prop.name, prop.major, prop.minor,
             (double)prop.totalGlobalMem / (1 << 30));
    vg_cuda.cc_major = prop.major;
    const char *tf = getenv("VIDGAN_CUDA_TF32");
    vg_cuda.tf32 = tf && strcmp(tf, "1") == 0;
    cublasStatus_t be;
    cudnnStatus_t de;
    if ((e = cudaStreamCreateWithFlags(&vg_cuda.stream, cudaStreamNonBlocking)) != cudaSuccess) {
        snprintf(cuda_reason, sizeof cuda_reason, "cudaStreamCreate: %s", cudaGetErrorString(e));
        return 0;
    }
    if ((be = cublasCreate(&vg_cuda.cublas)) != CUBLAS_STATUS_SUCCESS ||
        (be = cublasSetStream(vg_cuda.cublas, vg_cuda.stream)) != CUBLAS_STATUS_SUCCESS ||
        (be = cublasSetMathMode(vg_cuda.cublas, vg_cuda.tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH)) !=
            CUBLAS_STATUS_SUCCESS) {
        snprintf(cuda_reason, sizeof cuda_reason, "cublas start-up: %s", cublasGetStatusString(be));
        return 0;
    }
    if ((de = cudnnCreate(&vg_cuda.cudnn)) != CUDNN_STATUS_SUCCESS ||
        (de = cudnnSetStream(vg_cuda.cudnn, vg_cuda.stream)) != CUDNN_STATUS_SUCCESS) {
        snprintf(cuda_reason, sizeof cuda_reason, "cudnn start-up: %s", cudnnGetErrorString(de));
        return 0;
    }
    vg_cuda.workspace_bytes = workspace_bytes_wanted();
    if (vg_cuda.workspace_bytes && (e = cudaMalloc(&vg_cuda.workspace, vg_cuda.workspace_bytes)) != cudaSuccess) {
        snprintf(cuda_reason, sizeof cuda_reason, "cudnn workspace of %zu MiB: %s", vg_cuda.workspace_bytes >> 20,
                 cudaGetErrorString(e));
        return 0;
    }
    const size_t cublas_ws = (size_t)32 << 20;
    if ((e = cudaMalloc(&vg_cuda.cublas_workspace, cublas_ws)) != cudaSuccess) {
        snprintf(cuda_reason, sizeof cuda_reason, "cublas workspace: %s", cudaGetErrorString(e));
        return 0;
    }
    if ((be = cublasSetWorkspace(vg_cuda.cublas, vg_cuda.cublas_workspace, cublas_ws)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(cuda_reason, sizeof cuda_reason, "cublasSetWorkspace: %s", cublasGetStatusString(be));
        return 0;
    }
    if ((e = cudaMalloc((void **)&vg_cuda.counter, sizeof *vg_cuda.counter)) != cudaSuccess) {
        snprintf(cuda_reason, sizeof cuda_reason, "device scratch: %s", cudaGetErrorString(e));
        return 0;
    }
    return 1;
}

/* vg_backend_cuda() of src/backend/registry.c: this file linked in, or
 * resolved from libvidgan_cuda.so. */
extern "C" const vg_backend *vg_cuda_backend_start(vg_fail_fn fail) {
    report_failure = fail;
    if (cuda_state == 0) {
        cuda_state = cuda_start() ? 1 : -1;
        if (cuda_state == 1) {
            vg_backend *be = &cuda_backend;
            be->name = "cuda";
            be->has_bf16 = vg_cuda.cc_major >= 8; /* bf16 tensor cores, and cuDNN's bf16 convolutions */
            be->alloc = cuda_alloc;
            be->release = cuda_release;
            be->zero = cuda_zero;
            be->copy = cuda_copy;
            be->upload = cuda_upload;
            be->download = cuda_download;
            be->poll_error = cuda_poll_error;
            vg_cuda_register_eltwise(be);
            vg_cuda_register_layout(be);
            vg_cuda_register_gemm(be);
            vg_cuda_register_conv(be);
            vg_cuda_register_norm(be);
            vg_cuda_register_resample(be);
            vg_cuda_register_misc(be);
            vg_cuda_register_optim(be);
        }
    }
    if (cuda_state < 0) {
        fail(VG_ERR_UNSUPPORTED, "no CUDA device: %s", cuda_reason);
        return NULL;
    }
    return &cuda_backend;
}

extern "C" const char *vg_cuda_backend_device_name(void) { return cuda_state == 1 ? vg_cuda.name : ""; }
