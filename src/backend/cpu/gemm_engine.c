/* The packed SGEMM engine (see gemm_engine.h): micro-kernels for AVX-512,
 * AVX2+FMA and portable C chosen at run time, the BLIS-style blocking loops,
 * per-thread scratch, and the generic A packer. Float builds only: the
 * -DVG_REAL_F64 build uses the reference kernels. */
#include "backend/cpu/gemm_engine.h"
#include "core/host_memory.h"

#ifndef VG_REAL_F64

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VG_X86 1
#endif

/* Blocking: a KC x NR panel of B (32 KiB with AVX-512) stays in Zen 5's
 * 48 KiB L1d while MR-row panels of an MC x KC block of A (144 KiB) stream
 * from L2; blocks of NC columns bound the result block kept in scratch. */
#define KC VG_GEMM_KC
#define MC 144
#define NC 512
#define MW_MAX 512 /* rows of the result block per sweep */

#define MR VG_GEMM_MR

typedef void (*ukr_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc);

/* ---- micro-kernels: c[MR x NR] (=, or += when acc) sum_k a[k*MR+i] b[k*NR+j] ---- */

static inline void ukr_c(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc, int nr) {
    float t[MR][32];
    memset(t, 0, sizeof t);
    for (int64_t k = 0; k < kc; k++) {
        for (int i = 0; i < MR; i++) {
            float ai = a[i];
            for (int j = 0; j < nr; j++) t[i][j] += ai * b[j];
        }
        a += MR;
        b += nr;
    }
    for (int i = 0; i < MR; i++)
        for (int j = 0; j < nr; j++) c[i * ldc + j] = acc ? c[i * ldc + j] + t[i][j] : t[i][j];
}

static void ukr_c16(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
    ukr_c(kc, a, b, c, ldc, acc, 16);
}

/* the AVX-512 layout (NR = 32) in portable C: lets tests on a machine
 * without AVX-512 check the packing for that layout (VIDGAN_GEMM_ISA=c32) */
static void ukr_c32(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, int acc) {
    ukr_c(kc, a, b, c, ldc, acc, 32);
}

#ifdef VG_X86
__attribute__((target("avx2,fma"))) static void ukr_avx2(int64_t kc, const float *a, const float *b, float *c,
                                                          int64_t ldc, int acc) {
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define STEP(o)                                                                                   \
    do {                                                                                          \
        __m256 b0 = _mm256_loadu_ps(b + 16 * (o)), b1 = _mm256_loadu_ps(b + 16 * (o) + 8), x;     \
        const float *ak = a + MR * (o);                                                           \
        x = _mm256_broadcast_ss(ak + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01); \
        x = _mm256_broadcast_ss(ak + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11); \
        x = _mm256_broadcast_ss(ak + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21); \
        x = _mm256_broadcast_ss(ak + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31); \
        x = _mm256_broadcast_ss(ak + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41); \
        x = _mm256_broadcast_ss(ak + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51); \
    } while (0)
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        _mm_prefetch((const char *)(b + 16 * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 16 * 8 + 16), _MM_HINT_T0);
        STEP(0); STEP(1); STEP(2); STEP(3);
        a += 4 * MR;
        b += 4 * 16;
    }
    for (; k < kc; k++) {
        STEP(0);
        a += MR;
        b += 16;
    }
#undef STEP
#define ST2(r, v0, v1)                                                                       \
    do {                                                                                     \
        float *cr = c + (r) * ldc;                                                           \
        if (acc) {                                                                           \
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));                                     \
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr + 8));                                 \
        }                                                                                    \
        _mm256_storeu_ps(cr, v0);                                                            \
        _mm256_storeu_ps(cr + 8, v1);                                                        \
    } while (0)
    ST2(0, c00, c01); ST2(1, c10, c11); ST2(2, c20, c21);
    ST2(3, c30, c31); ST2(4, c40, c41); ST2(5, c50, c51);
#undef ST2
}

__attribute__((target("avx512f,fma"))) static void ukr_avx512(int64_t kc, const float *a, const float *b,
                                                               float *c, int64_t ldc, int acc) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define STEP(o)                                                                                   \
    do {                                                                                          \
        __m512 b0 = _mm512_loadu_ps(b + 32 * (o)), b1 = _mm512_loadu_ps(b + 32 * (o) + 16), x;    \
        const float *ak = a + MR * (o);                                                           \
        x = _mm512_set1_ps(ak[0]); c00 = _mm512_fmadd_ps(x, b0, c00); c01 = _mm512_fmadd_ps(x, b1, c01); \
        x = _mm512_set1_ps(ak[1]); c10 = _mm512_fmadd_ps(x, b0, c10); c11 = _mm512_fmadd_ps(x, b1, c11); \
        x = _mm512_set1_ps(ak[2]); c20 = _mm512_fmadd_ps(x, b0, c20); c21 = _mm512_fmadd_ps(x, b1, c21); \
        x = _mm512_set1_ps(ak[3]); c30 = _mm512_fmadd_ps(x, b0, c30); c31 = _mm512_fmadd_ps(x, b1, c31); \
        x = _mm512_set1_ps(ak[4]); c40 = _mm512_fmadd_ps(x, b0, c40); c41 = _mm512_fmadd_ps(x, b1, c41); \
        x = _mm512_set1_ps(ak[5]); c50 = _mm512_fmadd_ps(x, b0, c50); c51 = _mm512_fmadd_ps(x, b1, c51); \
    } while (0)
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        _mm_prefetch((const char *)(b + 32 * 8), _MM_HINT_T0);
        _mm_prefetch((const char *)(b + 32 * 8 + 16), _MM_HINT_T0);
        STEP(0); STEP(1); STEP(2); STEP(3);
        a += 4 * MR;
        b += 4 * 32;
    }
    for (; k < kc; k++) {
        STEP(0);
        a += MR;
        b += 32;
    }
#undef STEP
#define ST2(r, v0, v1)                                                                       \
    do {                                                                                     \
        float *cr = c + (r) * ldc;                                                           \
        if (acc) {                                                                           \
            v0 = _mm512_add_ps(v0, _mm512_loadu_ps(cr));                                     \
            v1 = _mm512_add_ps(v1, _mm512_loadu_ps(cr + 16));                                \
        }                                                                                    \
        _mm512_storeu_ps(cr, v0);                                                            \
        _mm512_storeu_ps(cr + 16, v1);                                                       \
    } while (0)
    ST2(0, c00, c01); ST2(1, c10, c11); ST2(2, c20, c21);
    ST2(3, c30, c31); ST2(4, c40, c41); ST2(5, c50, c51);
#undef ST2
}
#endif

static ukr_fn g_ukr;
static int g_nr;

/* Picks the widest micro-kernel the CPU runs (once; VIDGAN_GEMM_ISA=avx2, =c
 * or =c32 forces a narrower one, for tests and measurements). */
static void pick_kernel(void) {
    if (g_ukr) return;
    const char *force = getenv("VIDGAN_GEMM_ISA");
    ukr_fn u = ukr_c16;
    int nr = 16;
    if (force && strcmp(force, "c32") == 0) {
        g_nr = 32;
        g_ukr = ukr_c32;
        return;
    }
#ifdef VG_X86
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
    int avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (force && strcmp(force, "c") == 0) avx512 = avx2 = 0;
    if (force && strcmp(force, "avx2") == 0) avx512 = 0;
    if (avx512) {
        u = ukr_avx512;
        nr = 32;
    } else if (avx2) {
        u = ukr_avx2;
    }
#else
    (void)force;
#endif
    g_nr = nr;
    g_ukr = u;
}

int vg_gemm_nr(void) {
    pick_kernel();
    return g_nr;
}

static int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

size_t vg_gemm_work_floats(int64_t M, int64_t ncols) {
    int64_t nr = vg_gemm_nr();
    int64_t nc = round_up(ncols < NC ? ncols : NC, nr);
    int64_t mw = round_up(M < MW_MAX ? M : MW_MAX, MR);
    if (nc < nr) nc = nr;
    return (size_t)(MC * KC + KC * nc + mw * nc + 64);
}

void vg_gemm_run(const struct vg_gemm_task *t, int64_t j_begin, int64_t j_end, float *work) {
    const int64_t nr = vg_gemm_nr();
    const ukr_fn ukr = g_ukr;
    const int64_t M = t->M, K = t->K;
    if (j_end <= j_begin || M <= 0) return;
    int64_t ncmax = round_up(j_end - j_begin < NC ? j_end - j_begin : NC, nr);
    float *apack = work;
    float *bpack = apack + MC * KC;
    float *blk = bpack + KC * ncmax;
    for (int64_t m0 = 0; m0 < M; m0 += MW_MAX) {
        int64_t mw = M - m0 < MW_MAX ? M - m0 : MW_MAX;
        for (int64_t j0 = j_begin; j0 < j_end; j0 += NC) {
            int64_t nc = j_end - j0 < NC ? j_end - j0 : NC;
            int64_t ncp = round_up(nc, nr); /* leading dimension of blk */
            if (K <= 0) memset(blk, 0, sizeof(float) * (size_t)(round_up(mw, MR) * ncp));
            for (int64_t k0 = 0; k0 < K; k0 += KC) {
                int64_t kc = K - k0 < KC ? K - k0 : KC;
                t->pack_b(t->bctx, bpack, k0, kc, j0, nc, (int)nr);
                for (int64_t i0 = 0; i0 < mw; i0 += MC) {
                    int64_t mc = mw - i0 < MC ? mw - i0 : MC;
                    t->pack_a(t->actx, apack, m0 + i0, mc, k0, kc);
                    for (int64_t jr = 0; jr < nc; jr += nr) {
                        const float *bp = bpack + jr * kc;
                        for (int64_t ir = 0; ir < mc; ir += MR)
                            ukr(kc, apack + ir * kc, bp, blk + (i0 + ir) * ncp + jr, ncp, k0 > 0);
                    }
                }
            }
            t->store(t->sctx, blk, ncp, m0, mw, j0, nc);
        }
    }
}

void vg_pack_a_rows(const void *ctx, float *dst, int64_t i0, int64_t mc, int64_t k0, int64_t kc) {
    const struct vg_pack_rows *a = ctx;
    const int64_t *coff = a->coff + k0;
    for (int64_t p = 0; p < mc; p += MR) {
        int64_t rows = mc - p < MR ? mc - p : MR;
        const float *r[MR];
        for (int i = 0; i < MR; i++) r[i] = a->base + (i0 + p + (i < rows ? i : 0)) * a->rs;
        if (rows == MR) {
            for (int64_t k = 0; k < kc; k++) {
                int64_t o = coff[k];
                for (int i = 0; i < MR; i++) dst[k * MR + i] = r[i][o];
            }
        } else {
            for (int64_t k = 0; k < kc; k++) {
                int64_t o = coff[k];
                for (int i = 0; i < MR; i++) dst[k * MR + i] = i < rows ? r[i][o] : 0.0f;
            }
        }
        dst += kc * MR;
    }
}

void vg_gemm_split(int64_t n, int parts, int p, int64_t align, int64_t *b, int64_t *e) {
    int64_t units = (n + align - 1) / align;
    int64_t ub = units * p / parts, ue = units * (p + 1) / parts;
    *b = ub * align < n ? ub * align : n;
    *e = ue * align < n ? ue * align : n;
}

/* Per-thread scratch: each thread that calls a kernel owns its own set, so
 * two user threads never share buffers. Freed with the process. */
static _Thread_local struct {
    float *p;
    size_t n;
} scratch[VG_SCRATCH_SLOTS];

/* A loan (vg_gemm_lend_workspace): slots are carved from the lent memory
 * while it lasts, then allocated for the loan alone (own != 0) and
 * released when it ends; the persistent slots above are left untouched. */
static _Thread_local struct {
    int active;
    char *base;
    size_t size, used;
    struct {
        float *p;
        size_t n;
        int own;
    } slot[VG_SCRATCH_SLOTS];
} loan;

void vg_gemm_end_workspace(void) {
    for (int s = 0; s < VG_SCRATCH_SLOTS; s++)
        if (loan.slot[s].own) vg_host_free(loan.slot[s].p);
    memset(&loan, 0, sizeof loan);
}

void vg_gemm_scratch_restart(void) {
    if (!loan.active) return;
    char *base = loan.base;
    size_t size = loan.size;
    vg_gemm_end_workspace();
    vg_gemm_lend_workspace(base, size);
}

void vg_gemm_lend_workspace(void *p, size_t bytes) {
    vg_gemm_end_workspace();
    loan.active = 1;
    loan.base = p;
    loan.size = p ? bytes : 0;
}

static float *loan_scratch(int slot, size_t bytes) {
    if (loan.slot[slot].n * sizeof(float) >= bytes) return loan.slot[slot].p;
    if (loan.slot[slot].own) vg_host_free(loan.slot[slot].p); /* a bigger request replaces it, as below */
    loan.slot[slot].own = 0;
    float *p;
    if (loan.size - loan.used >= bytes) {
        p = (float *)(loan.base + loan.used);
        loan.used += bytes;
    } else {
        if (!(p = vg_host_alloc(bytes))) bytes = 0;
        loan.slot[slot].own = p != NULL;
    }
    loan.slot[slot].p = p;
    loan.slot[slot].n = bytes / sizeof(float);
    return p;
}

float *vg_gemm_scratch(int slot, size_t floats) {
    if (slot < 0 || slot >= VG_SCRATCH_SLOTS) return NULL;
    if (floats == 0) floats = 1;
    size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
    if (bytes / sizeof(float) < floats) return NULL;
    if (loan.active) return loan_scratch(slot, bytes);
    if (scratch[slot].n < floats) {
        vg_host_free(scratch[slot].p);
        scratch[slot].p = vg_host_alloc(bytes);
        scratch[slot].n = scratch[slot].p ? bytes / sizeof(float) : 0;
    }
    return scratch[slot].p;
}

#endif
