/* CUDA GEMM through cuBLAS: the row-major, strided-batched vg_gemm_desc
 * mapped onto column-major cublasSgemmStridedBatched.
 *
 * A row-major (R, C) matrix with leading dimension ld is, read column-major,
 * its transpose (C, R) with the same ld. So row-major C = op(A) op(B) is
 * column-major C^T = op(B)^T op(A)^T: call cuBLAS with the operands swapped
 * (B first), m = N, n = M, and each operand's own transpose flag; the
 * leading dimensions and batch strides pass through unchanged.
 *
 * FP32 by default (cuBLAS's default math mode never uses TF32 for SGEMM);
 * VIDGAN_CUDA_TF32=1 allows TF32 tensor cores (set on the handle at start).
 *
 * bf16 (d->precision == VG_PRECISION_BF16): A and B are cast to bfloat16
 * copies in the bf16 scratch (each operand's whole strided extent, leading
 * dimensions and batch strides kept) and multiplied by
 * cublasGemmStridedBatchedEx with CUDA_R_16BF operands, CUBLAS_COMPUTE_32F
 * and a CUDA_R_32F C, so alpha, beta (accumulation) and C stay float32. */
#include <limits.h>

#include "backend/cuda/cuda.h"

static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }

/* Elements from an operand's first to its last: batch matrices of rows of
 * length cols, leading dimension ld, batch stride stride. */
static int64_t extent(int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
    return (batch - 1) * stride + (rows - 1) * ld + cols;
}

static void cuda_gemm(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d) {
    if (d->M <= 0 || d->N <= 0 || d->batch <= 0) return;
    if (!fits_int(d->M) || !fits_int(d->N) || !fits_int(d->K) || !fits_int(d->lda) || !fits_int(d->ldb) ||
        !fits_int(d->ldc) || !fits_int(d->batch)) {
        vg_cuda_fail(VG_ERR_UNSUPPORTED, "cublas: gemm of (%lld x %lld x %lld) x %lld exceeds int sizes",
                     (long long)d->M, (long long)d->N, (long long)d->K, (long long)d->batch);
        return;
    }
    const float alpha = (float)d->alpha, beta = (float)d->beta;
    const cublasOperation_t op_a = d->trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (d->K == 0) { /* cuBLAS requires k >= 1 to scale C: C = beta C */
        if (beta == 0.0f) {
            for (int64_t b = 0; b < d->batch; b++)
                CUDA_OK(cudaMemset2DAsync(C + b * d->stride_c, (size_t)d->ldc * sizeof(float), 0,
                                          (size_t)d->N * sizeof(float), (size_t)d->M, vg_cuda.stream));
            return;
        }
        if (beta == 1.0f) return;
    }
    if (d->precision == VG_PRECISION_BF16) {
        const int64_t na = extent(d->trans_a ? d->K : d->M, d->trans_a ? d->M : d->K, d->lda, d->batch, d->stride_a);
        const int64_t nb = extent(d->trans_b ? d->N : d->K, d->trans_b ? d->K : d->N, d->ldb, d->batch, d->stride_b);
        char *s = (char *)vg_cuda_bf16_scratch(vg_cuda_bf16_part(na) + vg_cuda_bf16_part(nb));
        if (!s) return;
        uint16_t *a16 = (uint16_t *)s, *b16 = (uint16_t *)(s + vg_cuda_bf16_part(na));
        vg_cuda_to_bf16(a16, A, na);
        vg_cuda_to_bf16(b16, B, nb);
        CUBLAS_OK(cublasGemmStridedBatchedEx(vg_cuda.cublas, op_b, op_a, (int)d->N, (int)d->M, (int)d->K, &alpha, b16,
                                             CUDA_R_16BF, (int)d->ldb, (long long)d->stride_b, a16, CUDA_R_16BF,
                                             (int)d->lda, (long long)d->stride_a, &beta, C, CUDA_R_32F, (int)d->ldc,
                                             (long long)d->stride_c, (int)d->batch, CUBLAS_COMPUTE_32F,
                                             CUBLAS_GEMM_DEFAULT));
        return;
    }
    CUBLAS_OK(cublasSgemmStridedBatched(vg_cuda.cublas, op_b, op_a, (int)d->N, (int)d->M, (int)d->K, &alpha, B,
                                        (int)d->ldb, (long long)d->stride_b, A, (int)d->lda, (long long)d->stride_a,
                                        &beta, C, (int)d->ldc, (long long)d->stride_c, (int)d->batch));
}

void vg_cuda_register_gemm(vg_backend *be) { be->gemm = cuda_gemm; }
