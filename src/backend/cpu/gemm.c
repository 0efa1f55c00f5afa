/* CPU kernels: row-major strided-batched GEMM (struct vg_gemm_desc),
 * C_b = alpha op(A_b) op(B_b) + beta C_b, BLAS sgemm semantics (beta == 0
 * never reads C). The float build runs the packed engine of gemm_engine.c
 * on vg_get_threads() threads (batches split across threads, or the columns
 * of one product); the -DVG_REAL_F64 build and the reference use plain loops
 * with a double accumulator. */
#include "backend/cpu/cpu.h"
#include "backend/cpu/gemm_engine.h"
#include "core/threads.h"

void vg_cpu_gemm_reference(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d) {
    for (int64_t b = 0; b < d->batch; b++) {
        const vg_real *a = A + b * d->stride_a, *bb = B + b * d->stride_b;
        vg_real *c = C + b * d->stride_c;
        for (int64_t i = 0; i < d->M; i++)
            for (int64_t j = 0; j < d->N; j++) {
                double s = 0;
                for (int64_t k = 0; k < d->K; k++) {
                    double x = d->trans_a ? a[k * d->lda + i] : a[i * d->lda + k];
                    double y = d->trans_b ? bb[j * d->ldb + k] : bb[k * d->ldb + j];
                    s += x * y;
                }
                double v = d->alpha * s;
                if (d->beta != 0) v += d->beta * (double)c[i * d->ldc + j];
                c[i * d->ldc + j] = (vg_real)v;
            }
    }
}

#ifndef VG_REAL_F64

/* one product of the batch, as an engine task */
struct plain_ctx {
    const float *a, *b;
    float *c;
    int64_t rsa, csa, rsb, csb, ldc;
    float alpha, beta;
};

static void plain_pack_a(const void *ctx, float *dst, int64_t i0, int64_t mc, int64_t k0, int64_t kc) {
    const struct plain_ctx *p = ctx;
    for (int64_t q = 0; q < mc; q += VG_GEMM_MR) {
        int64_t rows = mc - q < VG_GEMM_MR ? mc - q : VG_GEMM_MR;
        for (int64_t k = 0; k < kc; k++) {
            const float *col = p->a + (k0 + k) * p->csa + (i0 + q) * p->rsa;
            for (int64_t i = 0; i < VG_GEMM_MR; i++) dst[k * VG_GEMM_MR + i] = i < rows ? col[i * p->rsa] : 0.0f;
        }
        dst += kc * VG_GEMM_MR;
    }
}

static void plain_pack_b(const void *ctx, float *dst, int64_t k0, int64_t kc, int64_t j0, int64_t nc, int nr) {
    const struct plain_ctx *p = ctx;
    /* row by row through B (sequential reads), into every panel */
    for (int64_t k = 0; k < kc; k++) {
        const float *row = p->b + (k0 + k) * p->rsb + j0 * p->csb;
        for (int64_t q = 0; q < nc; q += nr) {
            int64_t cols = nc - q < nr ? nc - q : nr;
            float *o = dst + q * kc + k * nr;
            if (p->csb == 1) {
                for (int64_t j = 0; j < cols; j++) o[j] = row[q + j];
            } else {
                for (int64_t j = 0; j < cols; j++) o[j] = row[(q + j) * p->csb];
            }
            for (int64_t j = cols; j < nr; j++) o[j] = 0.0f;
        }
    }
}

static void plain_store(const void *ctx, const float *blk, int64_t ld, int64_t i0, int64_t mc, int64_t j0,
                        int64_t nc) {
    const struct plain_ctx *p = ctx;
    for (int64_t i = 0; i < mc; i++) {
        float *c = p->c + (i0 + i) * p->ldc + j0;
        const float *w = blk + i * ld;
        if (p->beta == 0) {
            for (int64_t j = 0; j < nc; j++) c[j] = p->alpha * w[j];
        } else {
            for (int64_t j = 0; j < nc; j++) c[j] = p->alpha * w[j] + p->beta * c[j];
        }
    }
}

#define MAX_PARTS 64

/* N = 1 with A's rows contiguous (the dense last discriminator layer): one
 * dot product per row, 8 partial sums in a fixed order. The packed engine
 * would fill 15 of its 16 columns with zeros and cost ~10x as much. */
static void gemv_rows(float *C, const float *A, const float *B, const struct vg_gemm_desc *d) {
    const int64_t sb = d->trans_b ? 1 : d->ldb; /* stride of B's column */
    for (int64_t bt = 0; bt < d->batch; bt++) {
        const float *bv = B + bt * d->stride_b;
        for (int64_t i = 0; i < d->M; i++) {
            const float *a = A + bt * d->stride_a + i * d->lda;
            float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            int64_t k = 0;
            for (; k + 8 <= d->K; k += 8)
                for (int l = 0; l < 8; l++) acc[l] += a[k + l] * bv[(k + l) * sb];
            float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            for (; k < d->K; k++) s += a[k] * bv[k * sb];
            float *c = C + bt * d->stride_c + i * d->ldc;
            *c = d->beta == 0 ? (float)d->alpha * s : (float)d->alpha * s + (float)d->beta * *c;
        }
    }
}

void vg_cpu_gemm(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d) {
    if (d->M <= 0 || d->N <= 0 || d->batch <= 0) return;
    if (d->N == 1 && !d->trans_a && 2.0 * (double)d->M * (double)d->K * (double)d->batch < 3e7) {
        gemv_rows(C, A, B, d);
        return;
    }
    int parts = vg_get_threads();
    if (parts > MAX_PARTS) parts = MAX_PARTS;
    if (parts < 1) parts = 1;
    double flops = 2.0 * (double)d->M * (double)d->N * (double)d->K * (double)d->batch;
    if (flops < 3e7) parts = 1; /* below ~0.3 ms a second thread costs more than it gives */
    const int64_t nr = vg_gemm_nr();
    /* Whole products per part when there are enough of them, else the
     * columns of each product split across the parts. */
    int by_batch = d->batch >= parts;
    float *work[MAX_PARTS];
    for (int p = 0; p < parts; p++) {
        int64_t cols = by_batch ? d->N : (d->N + parts - 1) / parts + nr;
        work[p] = vg_gemm_scratch(p, vg_gemm_work_floats(d->M, cols));
        if (!work[p]) { /* out of memory: the reference needs no scratch */
            vg_cpu_gemm_reference(C, A, B, d);
            return;
        }
    }
    struct plain_ctx base = {
        .rsa = d->trans_a ? 1 : d->lda, .csa = d->trans_a ? d->lda : 1,
        .rsb = d->trans_b ? 1 : d->ldb, .csb = d->trans_b ? d->ldb : 1,
        .ldc = d->ldc, .alpha = (float)d->alpha, .beta = (float)d->beta,
    };
    int64_t nb = by_batch ? 1 : d->batch;
    for (int64_t b0 = 0; b0 < nb; b0++) {
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
        for (int p = 0; p < parts; p++) {
            int64_t bb, be, jb, je;
            if (by_batch) {
                vg_gemm_split(d->batch, parts, p, 1, &bb, &be);
                jb = 0;
                je = d->N;
            } else {
                bb = b0;
                be = b0 + 1;
                vg_gemm_split(d->N, parts, p, nr, &jb, &je);
            }
            for (int64_t b = bb; b < be; b++) {
                struct plain_ctx ctx = base;
                ctx.a = A + b * d->stride_a;
                ctx.b = B + b * d->stride_b;
                ctx.c = C + b * d->stride_c;
                struct vg_gemm_task t = {d->M, d->N, d->K, plain_pack_a, &ctx, plain_pack_b, &ctx, plain_store, &ctx};
                vg_gemm_run(&t, jb, je, work[p]);
            }
        }
    }
}

#else

void vg_cpu_gemm(vg_real *C, const vg_real *A, const vg_real *B, const struct vg_gemm_desc *d) {
    vg_cpu_gemm_reference(C, A, B, d);
}

#endif

void vg_cpu_register_gemm(vg_backend *be) {
    be->gemm = vg_cpu_gemm;
#ifndef VG_REAL_F64
    be->lend_workspace = vg_gemm_lend_workspace; /* the packed kernels' scratch (gemm_engine.c) */
    be->end_workspace = vg_gemm_end_workspace;
#endif
}
