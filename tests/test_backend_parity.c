/* Backend parity: one table of op cases (ggml's test-backend-ops idea), each
 * run through the vg_backend table of the CPU and of CUDA with the same
 * inputs and compared by the relative error of the norm,
 * ||cuda - cpu|| / ||cpu|| <= tol (float32: ~1e-5; cuDNN/cuBLAS sum in
 * other orders than the CPU). Backward cases start from non-zero gradient
 * buffers, so the accumulate (+=) convention is checked too. Then one whole
 * 3D-DCGAN training step (src/train/trainer.c) on each device, compared by
 * losses, weights after the step and a sample.
 *
 * Without a GPU (or in a build without the CUDA backend) the cases cannot
 * run: the test prints "SKIP: no CUDA device (<reason>)" and checks that the
 * library reports the missing device cleanly at every entry point and, when
 * the CUDA backend is linked, that cuDNN (host side, no device needed)
 * accepts the backend's descriptors for every convolution case, float32
 * and bf16. With VIDGAN_CUDA_TF32=1 convolutions and GEMMs may use TF32 and
 * the tolerance of those cases is 2e-3.
 *
 * bf16 mixed precision: every GEMM and convolution case again with
 * VG_PRECISION_BF16 on the GPU against the CPU's float32 result, at a
 * relative error of the norm of at most 1e-2 (bf16 keeps 8 significant
 * bits: each rounded operand and each bf16 result is off by up to 2^-9,
 * about 2e-3) and at least 1e-4 (below that the result is float32's: the
 * bf16 path was not taken); and a whole 3D-DCGAN step with the GPU trainer
 * in bf16 against the CPU in float32 (losses and weights 1e-2, EMA samples
 * through the generator's five layers 3e-2). */
#include <stdint.h>
#include <string.h>

#include "backend/backend.h"
#include "core/rng.h"
#include "core/status.h"
#include "ops/ctx.h"
#include "test.h"
#include "train/trainer.h"

static const vg_backend *cpu, *gpu;
static double tol_mm = 1e-5; /* cases that go through cuDNN / cuBLAS */
static const double tol_bf16 = 1e-2, floor_bf16 = 1e-4; /* bf16 cases: error in [floor, tol] */

/* ---- buffers on one backend, freed together ------------------------------- */

typedef struct bufs {
    const vg_backend *be;
    void *p[64];
    int n;
} bufs;

static void *b_alloc(bufs *B, size_t bytes) {
    VG_ASSERT(B->n < 64);
    void *p = B->be->alloc(bytes ? bytes : 4);
    VG_ASSERT(p);
    B->p[B->n++] = p;
    return p;
}

static float *b_put(bufs *B, const float *host, int64_t n) {
    float *p = b_alloc(B, (size_t)n * sizeof(float));
    B->be->upload(p, host, (size_t)n * sizeof(float));
    return p;
}

static float *b_zeros(bufs *B, int64_t n) {
    float *p = b_alloc(B, (size_t)n * sizeof(float));
    B->be->zero(p, (size_t)n * sizeof(float));
    return p;
}

static void b_free(bufs *B) {
    for (int i = 0; i < B->n; i++) B->be->release(B->p[i]);
    B->n = 0;
}

/* The results of one case, appended in order and compared as one vector. */
typedef struct results {
    float *v;
    int64_t n, cap;
} results;

static void r_get(results *R, bufs *B, const float *dev, int64_t n) {
    VG_ASSERT(R->n + n <= R->cap);
    B->be->download(R->v + R->n, dev, (size_t)n * sizeof(float));
    R->n += n;
}

/* Host inputs: U(lo, hi) from the counter-based generator, stream `seed`. */
static float *host_uniform(int64_t n, uint64_t seed, double lo, double hi) {
    float *h = malloc((size_t)(n > 0 ? n : 1) * sizeof *h);
    VG_ASSERT(h);
    for (int64_t i = 0; i < n; i++) h[i] = (float)(lo + (hi - lo) * vg_rng_uniform_at(seed, (uint64_t)i));
    return h;
}

static float *put_uniform(bufs *B, int64_t n, uint64_t seed, double lo, double hi) {
    float *h = host_uniform(n, seed, lo, hi);
    float *d = b_put(B, h, n);
    free(h);
    return d;
}

/* ---- the cases -------------------------------------------------------------- */

typedef void (*case_fn)(bufs *B, results *R, const void *arg);

static void case_fill(bufs *B, results *R, const void *arg) {
    (void)arg;
    float *x = b_zeros(B, 1003), *y = put_uniform(B, 1003, 1, -1, 1);
    B->be->fill(x, 1003, 0.37);
    B->be->accumulate(x, y, 1003);
    r_get(R, B, x, 1003);
}

static void case_rng(bufs *B, results *R, const void *arg) {
    (void)arg;
    const int64_t n = 10007;
    float *u = b_zeros(B, n), *g = b_zeros(B, n);
    B->be->rng_uniform(u, n, 0x123456789abcdefull, 4000000000ull, -2, 3);
    B->be->rng_normal(g, n, 42, 77, 0.5, 2);
    r_get(R, B, u, n);
    r_get(R, B, g, n);
}

static void case_unary(bufs *B, results *R, const void *arg) {
    const struct vg_unary_desc *d = arg;
    const int64_t n = 4099;
    int positive = d->kind == VG_UNARY_LOG || d->kind == VG_UNARY_SQRT;
    float *x = put_uniform(B, n, 3, positive ? 0.05 : -4, 4), *y = b_zeros(B, n);
    float *dy = put_uniform(B, n, 4, -1, 1), *dx = put_uniform(B, n, 5, -1, 1);
    B->be->unary_forward(y, x, n, d);
    B->be->unary_backward(dx, dy, x, y, n, d);
    r_get(R, B, y, n);
    r_get(R, B, dx, n);
}

typedef struct binary_arg {
    enum vg_binary_kind kind;
    int64_t a[VG_MAX_DIMS], b[VG_MAX_DIMS]; /* shapes, 1 where broadcast */
} binary_arg;

static void case_binary(bufs *B, results *R, const void *arg) {
    const binary_arg *c = arg;
    struct vg_binary_desc d;
    memset(&d, 0, sizeof d);
    d.kind = c->kind;
    int64_t sa = 1, sb = 1, n = 1;
    for (int k = VG_MAX_DIMS - 1; k >= 0; k--) {
        d.shape[k] = c->a[k] > c->b[k] ? c->a[k] : c->b[k];
        d.a_stride[k] = c->a[k] == 1 ? 0 : sa;
        d.b_stride[k] = c->b[k] == 1 ? 0 : sb;
        sa *= c->a[k];
        sb *= c->b[k];
        n *= d.shape[k];
    }
    d.a_numel = sa;
    d.b_numel = sb;
    float *a = put_uniform(B, sa, 6, -2, 2), *b = put_uniform(B, sb, 7, 0.5, 2); /* b > 0: division */
    float *out = b_zeros(B, n), *dout = put_uniform(B, n, 8, -1, 1);
    float *da = put_uniform(B, sa, 9, -1, 1), *db = put_uniform(B, sb, 10, -1, 1);
    B->be->binary_forward(out, a, b, &d);
    B->be->binary_backward(da, db, dout, a, b, &d);
    r_get(R, B, out, n);
    r_get(R, B, da, sa);
    r_get(R, B, db, sb);
}

static void case_reduce(bufs *B, results *R, const void *arg) {
    const struct vg_reduce_desc *d = arg;
    int64_t n = d->outer * d->len * d->inner, m = d->outer * d->inner;
    float *x = put_uniform(B, n, 11, -1, 1), *y = b_zeros(B, m);
    float *dy = put_uniform(B, m, 12, -1, 1), *dx = put_uniform(B, n, 13, -1, 1);
    B->be->reduce_forward(y, x, d);
    B->be->reduce_backward(dx, dy, d);
    r_get(R, B, y, m);
    r_get(R, B, dx, n);
}

static void case_permute(bufs *B, results *R, const void *arg) {
    const struct vg_permute_desc *d = arg;
    int64_t n = 1;
    for (int i = 0; i < d->ndim; i++) n *= d->in_shape[i];
    float *x = put_uniform(B, n, 14, -1, 1), *y = b_zeros(B, n);
    float *dy = put_uniform(B, n, 15, -1, 1), *dx = put_uniform(B, n, 16, -1, 1);
    B->be->permute_forward(y, x, d);
    B->be->permute_backward(dx, dy, d);
    r_get(R, B, y, n);
    r_get(R, B, dx, n);
}

static void case_block(bufs *B, results *R, const void *arg) {
    const struct vg_block_desc *d = arg;
    int64_t nb = d->outer * d->big_len * d->inner, ns = d->outer * d->small_len * d->inner;
    float *big = put_uniform(B, nb, 17, -1, 1), *small = put_uniform(B, ns, 18, -1, 1);
    float *small2 = b_zeros(B, ns), *big2 = b_zeros(B, nb);
    B->be->block_extract(small2, big, d, 0);
    B->be->block_extract(small, big, d, 1);
    B->be->block_insert(big2, small, d, 0);
    B->be->block_insert(big, small2, d, 1);
    r_get(R, B, small2, ns);
    r_get(R, B, small, ns);
    r_get(R, B, big2, nb);
    r_get(R, B, big, nb);
}

static void case_gemm(bufs *B, results *R, const void *arg) {
    const struct vg_gemm_desc *d = arg;
    int64_t ra = d->trans_a ? d->K : d->M, rb = d->trans_b ? d->N : d->K;
    int64_t na = d->stride_a * (d->batch - 1) + ra * d->lda, nb = d->stride_b * (d->batch - 1) + rb * d->ldb;
    int64_t nc = d->stride_c * (d->batch - 1) + d->M * d->ldc;
    float *A = put_uniform(B, na, 19, -1, 1), *Bm = put_uniform(B, nb, 20, -1, 1), *C = put_uniform(B, nc, 21, -1, 1);
    B->be->gemm(C, A, Bm, d);
    r_get(R, B, C, nc);
}

static void case_softmax(bufs *B, results *R, const void *arg) {
    (void)arg;
    const int64_t rows = 37, cols = 129, n = rows * cols;
    float *x = put_uniform(B, n, 22, -20, 20), *y = b_zeros(B, n);
    float *dy = put_uniform(B, n, 23, -1, 1), *dx = put_uniform(B, n, 24, -1, 1);
    B->be->softmax_forward(y, x, rows, cols);
    B->be->softmax_backward(dx, dy, y, rows, cols);
    r_get(R, B, y, n);
    r_get(R, B, dx, n);
}

static int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

static void case_conv(bufs *B, results *R, const void *arg) {
    const struct vg_conv_desc *d = arg;
    int64_t nin = d->N * d->C_in * prod3(d->in), nout = d->N * d->C_out * prod3(d->out);
    int64_t nw = d->C_in * d->C_out * (int64_t)d->k[0] * d->k[1] * d->k[2];
    float *x = put_uniform(B, nin, 25, -1, 1), *w = put_uniform(B, nw, 26, -0.3, 0.3);
    float *bias = put_uniform(B, d->C_out, 27, -1, 1), *y = b_zeros(B, nout);
    float *dy = put_uniform(B, nout, 28, -1, 1), *dx = put_uniform(B, nin, 29, -1, 1);
    float *dw = put_uniform(B, nw, 30, -1, 1), *db = put_uniform(B, d->C_out, 31, -1, 1);
    B->be->conv_forward(y, x, w, bias, d);
    B->be->conv_backward(dx, dw, db, dy, x, w, d);
    r_get(R, B, y, nout);
    r_get(R, B, dx, nin);
    r_get(R, B, dw, nw);
    r_get(R, B, db, d->C_out);
}

static void case_batchnorm(bufs *B, results *R, const void *arg) {
    const struct vg_batchnorm_desc *d = arg;
    int64_t n = d->N * d->C * d->S;
    float *x = put_uniform(B, n, 32, -3, 5), *y = b_zeros(B, n);
    float *w = put_uniform(B, d->C, 33, 0.5, 1.5), *b = put_uniform(B, d->C, 34, -1, 1);
    float *rm = put_uniform(B, d->C, 35, -0.5, 0.5), *rv = put_uniform(B, d->C, 36, 0.5, 2);
    float *sm = b_zeros(B, d->C), *si = b_zeros(B, d->C);
    float *dy = put_uniform(B, n, 37, -1, 1), *dx = put_uniform(B, n, 38, -1, 1);
    float *dw = put_uniform(B, d->C, 39, -1, 1), *db = put_uniform(B, d->C, 40, -1, 1);
    B->be->batchnorm_forward(y, sm, si, x, w, b, rm, rv, d);
    B->be->batchnorm_backward(dx, dw, db, dy, x, w, sm, si, d);
    r_get(R, B, y, n);
    r_get(R, B, sm, d->C);
    r_get(R, B, si, d->C);
    r_get(R, B, rm, d->C);
    r_get(R, B, rv, d->C);
    r_get(R, B, dx, n);
    r_get(R, B, dw, d->C);
    r_get(R, B, db, d->C);
}

static void case_rownorm(bufs *B, results *R, const void *arg) {
    const struct vg_rownorm_desc *d = arg;
    int64_t n = d->rows * d->cols;
    int64_t np = d->affine == VG_AFFINE_PER_COL ? d->cols : d->affine == VG_AFFINE_PER_CHANNEL ? d->C : 0;
    float *x = put_uniform(B, n, 41, -2, 3), *y = b_zeros(B, n);
    float *w = np ? put_uniform(B, np, 42, 0.5, 1.5) : NULL, *b = np ? put_uniform(B, np, 43, -1, 1) : NULL;
    float *dw = np ? put_uniform(B, np, 44, -1, 1) : NULL, *db = np ? put_uniform(B, np, 45, -1, 1) : NULL;
    float *sm = b_zeros(B, d->rows), *si = b_zeros(B, d->rows);
    float *dy = put_uniform(B, n, 46, -1, 1), *dx = put_uniform(B, n, 47, -1, 1);
    B->be->rownorm_forward(y, sm, si, x, w, b, d);
    B->be->rownorm_backward(dx, dw, db, dy, x, w, sm, si, d);
    r_get(R, B, y, n);
    r_get(R, B, sm, d->rows);
    r_get(R, B, si, d->rows);
    r_get(R, B, dx, n);
    if (np) {
        r_get(R, B, dw, np);
        r_get(R, B, db, np);
    }
}

static void case_upsample(bufs *B, results *R, const void *arg) {
    const struct vg_upsample_desc *d = arg;
    int64_t nin = d->NC * prod3(d->in), nout = d->NC * prod3(d->out);
    float *x = put_uniform(B, nin, 48, -1, 1), *y = b_zeros(B, nout);
    float *dy = put_uniform(B, nout, 49, -1, 1), *dx = put_uniform(B, nin, 50, -1, 1);
    B->be->upsample_forward(y, x, d);
    B->be->upsample_backward(dx, dy, d);
    r_get(R, B, y, nout);
    r_get(R, B, dx, nin);
}

typedef struct pool_arg {
    struct vg_pool_desc d;
    int max;
} pool_arg;

static void case_pool(bufs *B, results *R, const void *arg) {
    const pool_arg *c = arg;
    const struct vg_pool_desc *d = &c->d;
    int64_t nin = d->NC * prod3(d->in), nout = d->NC * prod3(d->out);
    float *x = put_uniform(B, nin, 51, -1, 1), *y = b_zeros(B, nout);
    float *dy = put_uniform(B, nout, 52, -1, 1), *dx = put_uniform(B, nin, 53, -1, 1);
    if (c->max) {
        int64_t *am = b_alloc(B, (size_t)nout * sizeof(int64_t));
        B->be->maxpool_forward(y, am, x, d);
        B->be->maxpool_backward(dx, dy, am, d);
    } else {
        B->be->avgpool_forward(y, x, d);
        B->be->avgpool_backward(dx, dy, d);
    }
    r_get(R, B, y, nout);
    r_get(R, B, dx, nin);
}

static void case_optim(bufs *B, results *R, const void *arg) {
    (void)arg;
    const int64_t n = 3001;
    float *p = put_uniform(B, n, 54, -1, 1), *m = b_zeros(B, n), *v = b_zeros(B, n), *ema = put_uniform(B, n, 55, -1, 1);
    for (int step = 1; step <= 3; step++) {
        float *g = put_uniform(B, n, 56 + (uint64_t)step, -1e-3, 1e-3);
        struct vg_adam_desc d = {2e-4, 0.5, 0.999, 1e-8, step == 2 ? 0.01 : 0, step};
        B->be->adam_update(p, m, v, g, n, &d);
        B->be->ema_update(ema, p, n, 0.9);
    }
    r_get(R, B, p, n);
    r_get(R, B, m, n);
    r_get(R, B, v, n);
    r_get(R, B, ema, n);
}

static void case_embedding(bufs *B, results *R, const void *arg) {
    (void)arg;
    const int64_t V = 11, D = 37, n = 50;
    int64_t idx[50];
    for (int i = 0; i < n; i++) idx[i] = (i * 7 + i / 3) % V; /* repeats */
    int64_t *di = b_alloc(B, sizeof idx);
    B->be->upload(di, idx, sizeof idx);
    float *w = put_uniform(B, V * D, 60, -1, 1), *y = b_zeros(B, n * D);
    float *dy = put_uniform(B, n * D, 61, -1, 1), *dw = put_uniform(B, V * D, 62, -1, 1);
    B->be->embedding_forward(y, w, di, n, D);
    B->be->embedding_backward(dw, dy, di, n, D);
    r_get(R, B, y, n * D);
    r_get(R, B, dw, V * D);
}

/* ---- the table --------------------------------------------------------------- */

enum { CASE_EXACTISH, CASE_MM, CASE_BF16 };
typedef struct op_case {
    const char *name;
    case_fn fn;
    const void *arg;     /* the GPU's (and the CPU's unless cpu_arg) */
    int kind;            /* CASE_MM: through cuDNN / cuBLAS, tolerance tol_mm; CASE_BF16: bf16 on the GPU */
    const void *cpu_arg; /* NULL: arg */
} op_case;

#define CONV(n, ci, co, i0, i1, i2, o0, o1, o2, k0, k1, k2, s0, s1, s2, p0, p1, p2, q0, q1, q2, tr) \
    {n, ci, co, {i0, i1, i2}, {o0, o1, o2}, {k0, k1, k2}, {s0, s1, s2}, {p0, p1, p2}, {q0, q1, q2}, tr, VG_PRECISION_FP32}

static const struct vg_unary_desc unary_cases[] = {
    {VG_UNARY_RELU, 0, 0},     {VG_UNARY_LEAKY_RELU, 0.2, 0}, {VG_UNARY_TANH, 0, 0},   {VG_UNARY_SIGMOID, 0, 0},
    {VG_UNARY_SOFTPLUS, 1, 20}, {VG_UNARY_SOFTPLUS, 3, 2},     {VG_UNARY_SCALE, -1.5, 0.25}, {VG_UNARY_EXP, 0, 0},
    {VG_UNARY_LOG, 0, 0},      {VG_UNARY_SQUARE, 0, 0},       {VG_UNARY_ABS, 0, 0},    {VG_UNARY_SQRT, 0, 0},
};
static const binary_arg binary_cases[] = {
    {VG_BINARY_ADD, {2, 3, 4, 5, 6}, {1, 3, 1, 5, 1}}, {VG_BINARY_SUB, {1, 1, 7, 1, 9}, {1, 1, 7, 8, 1}},
    {VG_BINARY_MUL, {4, 8, 2, 16, 16}, {1, 8, 1, 1, 1}}, {VG_BINARY_DIV, {1, 1, 1, 33, 65}, {1, 1, 1, 33, 65}},
    {VG_BINARY_MUL, {1, 1, 1, 1, 1}, {2, 3, 1, 4, 5}}, {VG_BINARY_DIV, {3, 1, 5, 1, 7}, {1, 1, 1, 1, 1}},
};
static const struct vg_reduce_desc reduce_cases[] = {
    {3, 1000, 1, 1.0}, {5, 7, 33, 0.5}, {1, 300, 200, 1.0 / 300}, {1, 100003, 1, 1e-3},
};
static const struct vg_permute_desc permute_cases[] = {
    {5, {2, 3, 4, 5, 6}, {0, 2, 1, 4, 3}}, {3, {17, 1, 33}, {2, 1, 0}}, {4, {2, 16, 8, 8}, {0, 2, 3, 1}},
};
static const struct vg_block_desc block_cases[] = {
    {3, 5, 10, 4, 1, 2}, {2, 17, 9, 3, 0, 3},
};
static const struct vg_gemm_desc gemm_cases[] = {
    {0, 0, 17, 23, 31, 31, 23, 23, 1, 0, 0, 0, 1.0, 0.0, VG_PRECISION_FP32},
    {1, 0, 64, 48, 100, 64, 48, 50, 3, 6400, 4800, 64 * 50, 0.7, 0.3, VG_PRECISION_FP32},
    {0, 1, 33, 65, 129, 130, 129, 65, 2, 33 * 130, 65 * 129, 33 * 65, 1.0, 1.0, VG_PRECISION_FP32},
    {1, 1, 5, 7, 3, 5, 3, 7, 4, 15, 21, 35, -2.0, 0.5, VG_PRECISION_FP32},
    /* a linear layer's shapes: (M, K) @ (N, K)^T, then a long K (the weight gradient) */
    {0, 1, 64, 100, 512, 512, 512, 100, 1, 0, 0, 0, 1.0, 0.0, VG_PRECISION_FP32},
    {1, 0, 100, 512, 4096, 100, 512, 512, 1, 0, 0, 0, 1.0, 1.0, VG_PRECISION_FP32},
};
static const struct vg_conv_desc conv_cases[] = {
    /* 2-D: stride 2 one way, pad one way, odd sizes */
    CONV(2, 3, 5, 1, 13, 11, 1, 7, 9, 1, 3, 3, 1, 2, 1, 0, 1, 0, 0, 0, 0, 0),
    /* 3-D: (5, 9, 7) k 3, s (1, 2, 2), p (1, 1, 0) -> (5, 5, 3) */
    CONV(2, 4, 6, 5, 9, 7, 5, 5, 3, 3, 3, 3, 1, 2, 2, 1, 1, 0, 0, 0, 0, 0),
    /* the DCGAN discriminator's: k 4 s 2 p 1 halves every axis */
    CONV(3, 8, 16, 8, 16, 16, 4, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0),
    /* transposed 2-D: k 4 s 2 p 1 doubles */
    CONV(2, 6, 3, 1, 5, 7, 1, 10, 14, 1, 4, 4, 1, 2, 2, 0, 1, 1, 0, 0, 0, 1),
    /* transposed 3-D with output_padding: (3, 5, 4), k (3, 3, 2), s (2, 2, 1), p (1, 0, 0), op (1, 0, 0) -> (6, 11, 5) */
    CONV(2, 5, 4, 3, 5, 4, 6, 11, 5, 3, 3, 2, 2, 2, 1, 1, 0, 0, 1, 0, 0, 1),
    /* the DCGAN generator's first layer: 1x1x1 -> k (2, 4, 4) */
    CONV(4, 16, 8, 1, 1, 1, 2, 4, 4, 2, 4, 4, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1),
    /* the DCGAN generator's middle layers: transposed k 4 s 2 p 1 doubles every axis, 64 -> 32 channels */
    CONV(2, 64, 32, 4, 8, 8, 8, 16, 16, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 1),
};
static const struct vg_batchnorm_desc bn_cases[] = {
    {4, 3, 1000, 1e-5, 0.1, 1}, {2, 5, 77, 1e-3, 0.3, 0}, {16, 8, 64, 1e-5, 0.1, 1},
};
static const struct vg_rownorm_desc rn_cases[] = {
    {12, 257, 1, 1e-5, VG_AFFINE_NONE}, {9, 64, 1, 1e-5, VG_AFFINE_PER_COL}, {24, 300, 6, 1e-5, VG_AFFINE_PER_CHANNEL},
};
static const struct vg_upsample_desc up_cases[] = {
    {6, {2, 4, 5}, {4, 8, 10}, VG_UPSAMPLE_NEAREST, 0}, {5, {3, 3, 7}, {5, 7, 9}, VG_UPSAMPLE_NEAREST, 0},
    {4, {2, 5, 6}, {4, 9, 13}, VG_UPSAMPLE_LINEAR, 0},  {4, {3, 4, 5}, {5, 7, 11}, VG_UPSAMPLE_LINEAR, 1},
};
static const pool_arg pool_cases[] = {
    {{6, {4, 9, 11}, {2, 5, 6}, {2, 3, 3}, {2, 2, 2}, {0, 1, 1}, 1}, 0},
    {{6, {4, 9, 11}, {2, 5, 6}, {2, 3, 3}, {2, 2, 2}, {0, 1, 1}, 0}, 0},
    {{5, {1, 12, 10}, {1, 6, 5}, {1, 2, 2}, {1, 2, 2}, {0, 0, 0}, 0}, 0},
    {{6, {4, 9, 11}, {2, 5, 6}, {2, 3, 3}, {2, 2, 2}, {0, 1, 1}, 0}, 1},
    {{3, {5, 8, 8}, {3, 4, 4}, {3, 3, 3}, {2, 2, 2}, {1, 1, 1}, 0}, 1},
};

#define N_OF(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Runs one case on both backends and compares all its outputs as one vector. */
static void run_case(const op_case *c) {
    results rc = {0}, rg = {0};
    rc.cap = rg.cap = (int64_t)1 << 22;
    rc.v = malloc((size_t)rc.cap * sizeof(float));
    rg.v = malloc((size_t)rg.cap * sizeof(float));
    VG_ASSERT(rc.v && rg.v);
    bufs bc = {cpu, {0}, 0}, bg = {gpu, {0}, 0};
    c->fn(&bc, &rc, c->cpu_arg ? c->cpu_arg : c->arg);
    c->fn(&bg, &rg, c->arg);
    vg_status st = gpu->poll_error ? gpu->poll_error() : VG_OK;
    CHECK(st == VG_OK, "%s: the CUDA backend failed: %s", c->name, vg_last_error());
    b_free(&bc);
    b_free(&bg);
    double num = 0, den = 0;
    for (int64_t i = 0; i < rc.n; i++) {
        double d = (double)rg.v[i] - (double)rc.v[i];
        num += d * d;
        den += (double)rc.v[i] * (double)rc.v[i];
    }
    double err = den > 0 ? sqrt(num / den) : sqrt(num);
    double tol = c->kind == CASE_BF16 ? tol_bf16 : c->kind == CASE_MM ? tol_mm : 1e-5;
    CHECK(rc.n == rg.n && err <= tol, "%s: relative error of the norm %.3g > %.1g (%lld values)", c->name, err, tol,
          (long long)rc.n);
    if (c->kind == CASE_BF16)
        CHECK(err >= floor_bf16, "%s: relative error %.3g is float32's, not bf16's (< %.0e): the bf16 path was not taken",
              c->name, err, floor_bf16);
    if (!(err <= tol) || getenv("VIDGAN_PARITY_VERBOSE")) printf("  %-28s %lld values, error %.2e\n", c->name,
                                                                 (long long)rc.n, err);
    free(rc.v);
    free(rg.v);
}

static void run_table(void) {
    static char names[128][48];
    int k = 0;
    op_case c;
#define RUN(fmt, i, f, a, m)                                        \
    do {                                                            \
        snprintf(names[k % 128], sizeof names[0], fmt, i);          \
        c = (op_case){names[k % 128], f, a, m, NULL};               \
        run_case(&c);                                               \
        k++;                                                        \
    } while (0)
#define RUN_BF16(fmt, i, f, a, fp32)                                \
    do {                                                            \
        snprintf(names[k % 128], sizeof names[0], fmt, i);          \
        c = (op_case){names[k % 128], f, a, CASE_BF16, fp32};       \
        run_case(&c);                                               \
        k++;                                                        \
    } while (0)
    RUN("fill+accumulate%s", "", case_fill, NULL, 0);
    RUN("rng%s", "", case_rng, NULL, 0);
    for (int i = 0; i < N_OF(unary_cases); i++) RUN("unary %d", i, case_unary, &unary_cases[i], 0);
    for (int i = 0; i < N_OF(binary_cases); i++) RUN("binary %d", i, case_binary, &binary_cases[i], 0);
    for (int i = 0; i < N_OF(reduce_cases); i++) RUN("reduce %d", i, case_reduce, &reduce_cases[i], 0);
    for (int i = 0; i < N_OF(permute_cases); i++) RUN("permute %d", i, case_permute, &permute_cases[i], 0);
    for (int i = 0; i < N_OF(block_cases); i++) RUN("block %d", i, case_block, &block_cases[i], 0);
    for (int i = 0; i < N_OF(gemm_cases); i++) RUN("gemm %d", i, case_gemm, &gemm_cases[i], CASE_MM);
    RUN("softmax%s", "", case_softmax, NULL, 0);
    for (int i = 0; i < N_OF(conv_cases); i++) RUN("conv %d", i, case_conv, &conv_cases[i], CASE_MM);
    for (int i = 0; i < N_OF(bn_cases); i++) RUN("batchnorm %d", i, case_batchnorm, &bn_cases[i], 0);
    for (int i = 0; i < N_OF(rn_cases); i++) RUN("rownorm %d", i, case_rownorm, &rn_cases[i], 0);
    for (int i = 0; i < N_OF(up_cases); i++) RUN("upsample %d", i, case_upsample, &up_cases[i], 0);
    for (int i = 0; i < N_OF(pool_cases); i++) RUN("pool %d", i, case_pool, &pool_cases[i], 0);
    RUN("adam+ema%s", "", case_optim, NULL, 0);
    RUN("embedding%s", "", case_embedding, NULL, 0);
    /* bf16 on the GPU vs float32 on the CPU: the same inputs and descriptors but the precision */
    struct vg_gemm_desc gemm_bf16[N_OF(gemm_cases)];
    struct vg_conv_desc conv_bf16[N_OF(conv_cases)];
    if (!gpu->has_bf16) {
        printf("SKIP: bf16 cases: this GPU has no bf16 mixed precision (compute capability < 8.0)\n");
        printf("%d op cases compared\n", k);
        return;
    }
    for (int i = 0; i < N_OF(gemm_cases); i++) {
        gemm_bf16[i] = gemm_cases[i];
        gemm_bf16[i].precision = VG_PRECISION_BF16;
        RUN_BF16("gemm %d bf16", i, case_gemm, &gemm_bf16[i], &gemm_cases[i]);
    }
    for (int i = 0; i < N_OF(conv_cases); i++) {
        conv_bf16[i] = conv_cases[i];
        conv_bf16[i].precision = VG_PRECISION_BF16;
        RUN_BF16("conv %d bf16", i, case_conv, &conv_bf16[i], &conv_cases[i]);
    }
#undef RUN
#undef RUN_BF16
    printf("%d op cases compared\n", k);
}

/* Bit-exact checks: the uniform generator and the non-finite count. */
static void exact_checks(void) {
    const int64_t n = 4096;
    bufs bg = {gpu, {0}, 0};
    float *u = b_zeros(&bg, n), *g = b_zeros(&bg, n);
    float *hu = malloc(n * sizeof *hu), *hg = malloc(n * sizeof *hg);
    gpu->rng_uniform(u, n, 99, 1ull << 40, 0, 1);
    gpu->rng_normal(g, n, 99, 1ull << 40, 0, 1);
    gpu->download(hu, u, n * sizeof *hu);
    gpu->download(hg, g, n * sizeof *hg);
    int64_t same_u = 0, same_g = 0;
    for (int64_t i = 0; i < n; i++) {
        same_u += hu[i] == (float)vg_rng_uniform_at(99, (1ull << 40) + (uint64_t)i);
        same_g += hg[i] == (float)vg_rng_normal_at(99, (1ull << 40) + (uint64_t)i);
    }
    CHECK(same_u == n, "rng_uniform: %lld of %lld values equal core/rng.h's", (long long)same_u, (long long)n);
    /* log and cos may round differently in the last double place; after
     * rounding to float almost every value is identical */
    CHECK(same_g >= n - n / 100, "rng_normal: only %lld of %lld values equal core/rng.h's", (long long)same_g,
          (long long)n);
    printf("rng: uniform %lld/%lld, normal %lld/%lld bit-identical to the CPU\n", (long long)same_u, (long long)n,
           (long long)same_g, (long long)n);
    float *bad = host_uniform(n, 5, -1, 1);
    bad[3] = INFINITY;
    bad[100] = -INFINITY;
    bad[4095] = NAN;
    float *dbad = b_put(&bg, bad, n);
    CHECK(gpu->count_nonfinite(dbad, n) == 3, "count_nonfinite: %lld, want 3", (long long)gpu->count_nonfinite(dbad, n));
    CHECK(cpu->count_nonfinite(bad, n) == 3, "cpu count_nonfinite");
    b_free(&bg);
    free(bad);
    free(hu);
    free(hg);
}

/* ---- one whole training step ---------------------------------------------------- */

static double rel_norm_err(const float *got, const float *want, int64_t n) {
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - (double)want[i];
        num += d * d;
        den += (double)want[i] * (double)want[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Weights of a parameter set, downloaded. */
static float *params_host(vg_params *P) {
    int64_t n = vg_params_numel_all(P);
    float *h = malloc((size_t)n * sizeof *h);
    VG_ASSERT(h);
    vg_ctx_backend(vg_params_ctx(P))->download(h, vg_params_data(P), (size_t)n * sizeof *h);
    return h;
}

/* One training step of the small 3D-DCGAN on a device and precision: the
 * step's statistics, the weights after it and two EMA samples. */
typedef struct step_result {
    vg_step_stats st;
    float *G, *D, *sample;
    int64_t nG, nD, n_sample;
} step_result;

static int run_step(const char *dev, vg_precision prec, const vg_train_config *base, const float *real,
                    step_result *r) {
    memset(r, 0, sizeof *r);
    vg_train_config c = *base;
    c.precision = prec;
    const int64_t clip = (int64_t)c.model.channels * c.model.frames * c.model.size * c.model.size;
    vg_trainer t;
    CHECK(vg_set_device(dev) == VG_OK, "set_device %s: %s", dev, vg_last_error());
    vg_status s = vg_trainer_init(&t, &c, NULL);
    CHECK(s == VG_OK, "trainer on %s %s: %s", dev, vg_precision_name(prec), vg_last_error());
    if (s != VG_OK) {
        vg_set_device("cpu");
        return 0;
    }
    float *z = malloc((size_t)c.batch * c.model.z_dim * sizeof *z);
    VG_ASSERT(z);
    vg_trainer_noise(&t, 0, z);
    s = vg_trainer_step_with(&t, real, z, &r->st);
    CHECK(s == VG_OK, "step on %s %s: %s", dev, vg_precision_name(prec), vg_last_error());
    r->G = params_host(t.model.G);
    r->D = params_host(t.model.D);
    r->nG = vg_params_numel_all(t.model.G);
    r->nD = vg_params_numel_all(t.model.D);
    r->n_sample = 2 * clip;
    r->sample = malloc((size_t)r->n_sample * sizeof(float));
    VG_ASSERT(r->sample);
    if (s == VG_OK) s = vg_trainer_sample(&t, 2, 9, 1, r->sample);
    CHECK(s == VG_OK, "sample on %s %s: %s", dev, vg_precision_name(prec), vg_last_error());
    free(z);
    vg_trainer_free(&t);
    vg_set_device("cpu");
    return s == VG_OK;
}

static void step_result_free(step_result *r) {
    free(r->G);
    free(r->D);
    free(r->sample);
}

/* got (a GPU step) against want (the CPU's float32 step): losses relative
 * to tol_loss, weights after the step to tol_w, EMA samples to tol_s. */
static void compare_steps(const char *what, const step_result *got, const step_result *want, double tol_loss,
                          double tol_w, double tol_s) {
    double e_g = rel_norm_err(got->G, want->G, want->nG);
    double e_d = rel_norm_err(got->D, want->D, want->nD);
    double e_s = rel_norm_err(got->sample, want->sample, want->n_sample);
    CHECK(fabs(got->st.loss_d - want->st.loss_d) <= tol_loss * fabs(want->st.loss_d), "%s: loss_d %.8g, cpu %.8g",
          what, got->st.loss_d, want->st.loss_d);
    CHECK(fabs(got->st.loss_g - want->st.loss_g) <= tol_loss * fabs(want->st.loss_g), "%s: loss_g %.8g, cpu %.8g",
          what, got->st.loss_g, want->st.loss_g);
    /* Adam's first step moves each weight by about lr sign(g): weights whose
     * tiny gradient changes sign between backends differ by 2 lr */
    CHECK(e_g <= tol_w, "%s: G weights after a step: relative error %.3g > %.1g", what, e_g, tol_w);
    CHECK(e_d <= tol_w, "%s: D weights after a step: relative error %.3g > %.1g", what, e_d, tol_w);
    CHECK(e_s <= tol_s, "%s: EMA samples after a step: relative error %.3g > %.1g", what, e_s, tol_s);
    printf("3D-DCGAN step (16x16x8, batch 4), %s: loss_d %.6f / %.6f, loss_g %.6f / %.6f (cpu / gpu); "
           "weights G %.2e D %.2e, samples %.2e\n",
           what, want->st.loss_d, got->st.loss_d, want->st.loss_g, got->st.loss_g, e_g, e_d, e_s);
}

static void dcgan_step(void) {
    vg_train_config c;
    vg_train_config_default(&c);
    c.model.size = 16;
    c.model.frames = 8;
    c.model.channels = 3;
    c.model.z_dim = 20;
    c.model.g_base = 8;
    c.model.d_base = 8;
    c.batch = 4;
    const int64_t clip = (int64_t)c.model.channels * c.model.frames * c.model.size * c.model.size;
    float *real = host_uniform(c.batch * clip, 70, -1, 1);
    step_result cpu_fp32 = {0}, gpu_fp32 = {0}, gpu_bf16 = {0};
    int ok = run_step("cpu", VG_PRECISION_FP32, &c, real, &cpu_fp32);
    if (ok && run_step("cuda", VG_PRECISION_FP32, &c, real, &gpu_fp32))
        compare_steps("cuda fp32", &gpu_fp32, &cpu_fp32, 1e-4, 1e-4, 1e-4);
    if (ok && !gpu->has_bf16)
        printf("SKIP: bf16 step: this GPU has no bf16 mixed precision (compute capability < 8.0)\n");
    else if (ok && run_step("cuda", VG_PRECISION_BF16, &c, real, &gpu_bf16))
        compare_steps("cuda bf16 vs cpu fp32", &gpu_bf16, &cpu_fp32, tol_bf16, tol_bf16, 3e-2);
    step_result_free(&cpu_fp32);
    step_result_free(&gpu_fp32);
    step_result_free(&gpu_bf16);
    free(real);
}

/* In programs linked with the CUDA backend (src/backend/cuda/conv.cu):
 * cuDNN's own output size for a case's descriptors, checked on the host. */
int vg_cuda_conv_descriptors_ok(const struct vg_conv_desc *d) __attribute__((weak));

/* Runs without a GPU: cuDNN accepts the descriptors the backend makes for
 * every convolution case (transposed ones mapped onto the adjoint), float32
 * and bf16, and computes the same output size as vidgan's descriptor. */
static void conv_descriptor_checks(void) {
    if (!vg_cuda_conv_descriptors_ok) {
        printf("cuDNN descriptor checks: not linked with the CUDA backend\n");
        return;
    }
    for (int i = 0; i < N_OF(conv_cases); i++) {
        struct vg_conv_desc d = conv_cases[i];
        CHECK(vg_cuda_conv_descriptors_ok(&d), "conv %d: cuDNN rejects the descriptors or disagrees on the output size", i);
        d.precision = VG_PRECISION_BF16;
        CHECK(vg_cuda_conv_descriptors_ok(&d), "conv %d bf16: cuDNN rejects the bf16 descriptors or disagrees on the "
              "output size", i);
    }
    printf("cuDNN descriptor checks: %d convolution cases, float32 and bf16\n", N_OF(conv_cases));
}

/* ---- the library's answers about the device, with or without one ---------- */

static void device_api_checks(int have) {
    vg_ctx *ctx = NULL;
    vg_status s = vg_ctx_new(&ctx, &(vg_ctx_opts){.device = "cuda"});
    if (have) {
        CHECK(s == VG_OK && ctx, "ctx on cuda: %s", vg_last_error());
        vg_ctx *bf = NULL;
        s = vg_ctx_new(&bf, &(vg_ctx_opts){.device = "cuda", .precision = VG_PRECISION_BF16});
        if (vg_backend_cuda()->has_bf16)
            CHECK(s == VG_OK && bf && vg_ctx_precision(bf) == VG_PRECISION_BF16, "bf16 ctx on cuda: %s", vg_last_error());
        else
            CHECK(s == VG_ERR_UNSUPPORTED && !bf && strstr(vg_last_error(), "compute capability 8.0"),
                  "bf16 ctx on a GPU without bf16: status %d '%s'", (int)s, vg_last_error());
        vg_ctx_free(bf);
    } else {
        CHECK(s == VG_ERR_UNSUPPORTED && !ctx, "ctx on cuda without a device: status %d", (int)s);
        CHECK(strncmp(vg_last_error(), "no CUDA device: ", 16) == 0 && strlen(vg_last_error()) > 20,
              "message: '%s'", vg_last_error());
        CHECK(vg_set_device("cuda") == VG_ERR_UNSUPPORTED && strcmp(vg_get_device(), "cpu") == 0,
              "set_device(cuda) without a device must fail and keep cpu");
    }
    vg_ctx_free(ctx);
    CHECK(vg_device_probe("cpu") == VG_OK, "cpu is always there");
    CHECK(vg_device_probe("tpu") == VG_ERR_INVALID && strstr(vg_last_error(), "tpu"), "unknown device: '%s'",
          vg_last_error());
    s = vg_ctx_new(&ctx, &(vg_ctx_opts){.device = "tpu"});
    CHECK(s == VG_ERR_INVALID && !ctx, "ctx on an unknown device: status %d", (int)s);
    vg_ctx_free(ctx);
}

int main(void) {
    cpu = vg_backend_cpu();
    gpu = vg_backend_cuda();
    char reason[512];
    snprintf(reason, sizeof reason, "%s", gpu ? "" : vg_last_error());
    device_api_checks(gpu != NULL);
    conv_descriptor_checks();
    if (!gpu) {
        const char *r = strncmp(reason, "no CUDA device: ", 16) == 0 ? reason + 16 : reason;
        printf("SKIP: no CUDA device (%s)\n", r);
        TEST_END();
    }
    const char *tf = getenv("VIDGAN_CUDA_TF32");
    if (tf && strcmp(tf, "1") == 0) tol_mm = 2e-3;
    run_table();
    exact_checks();
    dcgan_step();
    TEST_END();
}
