/* CPU GEMM: the reference against a hand computation, then vg_cpu_gemm (the
 * packed engine) against the reference for every transpose combination,
 * padded leading dimensions, alpha/beta (beta == 0 must not read C), K = 0,
 * strided batches, sizes around the register-tile edges, and 1-3 threads,
 * with bit-identical reruns. With no VIDGAN_GEMM_ISA set the binary reruns
 * itself with the portable kernels (NR = 16 and NR = 32 layouts), so the
 * packing for every micro-kernel width is tested on any machine. */
#include "backend/cpu/cpu.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng_state = 0x243f6a8885a308d3ull;
static float frand(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static void test_by_hand(void) {
    /* [1 2; 3 4] [5 6; 7 8] = [19 22; 43 50]; then 2*AB + 1*C with C = 1 */
    float A[4] = {1, 2, 3, 4}, B[4] = {5, 6, 7, 8}, C[4] = {1, 1, 1, 1};
    struct vg_gemm_desc d = {0, 0, 2, 2, 2, 2, 2, 2, 1, 0, 0, 0, 2.0, 1.0, VG_PRECISION_FP32};
    vg_cpu_gemm_reference(C, A, B, &d);
    CHECK(C[0] == 39 && C[1] == 45 && C[2] == 87 && C[3] == 101, "reference: %g %g %g %g", C[0], C[1], C[2], C[3]);
    /* A^T B: [1 3; 2 4] [5 6; 7 8] = [26 30; 38 44] */
    struct vg_gemm_desc t = {1, 0, 2, 2, 2, 2, 2, 2, 1, 0, 0, 0, 1.0, 0.0, VG_PRECISION_FP32};
    float D[4] = {NAN, NAN, NAN, NAN};
    vg_cpu_gemm_reference(D, A, B, &t);
    CHECK(D[0] == 26 && D[1] == 30 && D[2] == 38 && D[3] == 44, "reference A^T B: %g %g %g %g", D[0], D[1], D[2], D[3]);
}

static void test_case(int ta, int tb, int64_t M, int64_t N, int64_t K, int64_t pad, int64_t batch, double alpha,
                      double beta, int threads) {
    struct vg_gemm_desc d;
    d.trans_a = ta, d.trans_b = tb, d.M = M, d.N = N, d.K = K;
    d.lda = (ta ? M : K) + pad, d.ldb = (tb ? K : N) + pad, d.ldc = N + pad;
    int64_t rows_a = ta ? K : M, rows_b = tb ? N : K;
    d.batch = batch;
    d.stride_a = rows_a * d.lda + 3, d.stride_b = rows_b * d.ldb + 5, d.stride_c = M * d.ldc + 7;
    d.alpha = alpha, d.beta = beta, d.precision = VG_PRECISION_FP32;
    int64_t na = batch * d.stride_a, nb = batch * d.stride_b, nc = batch * d.stride_c;
    float *A = malloc(sizeof(float) * (size_t)(na + 1)), *B = malloc(sizeof(float) * (size_t)(nb + 1));
    float *C0 = malloc(sizeof(float) * (size_t)(nc + 1)), *C = malloc(sizeof(float) * (size_t)(nc + 1));
    float *R = malloc(sizeof(float) * (size_t)(nc + 1));
    for (int64_t i = 0; i < na; i++) A[i] = frand();
    for (int64_t i = 0; i < nb; i++) B[i] = frand();
    for (int64_t i = 0; i < nc; i++) C0[i] = beta == 0 ? NAN : frand(); /* beta 0: C must not be read */
    memcpy(C, C0, sizeof(float) * (size_t)nc);
    memcpy(R, C0, sizeof(float) * (size_t)nc);
    vg_set_threads(threads);
    vg_cpu_gemm_reference(R, A, B, &d);
    vg_cpu_gemm(C, A, B, &d);
    /* compare only the M x N blocks; the padding must be untouched */
    int pad_ok = 1;
    double worst = 0;
    for (int64_t b = 0; b < batch; b++) {
        float *c = C + b * d.stride_c, *r = R + b * d.stride_c;
        double scale = 0;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) scale = fmax(scale, fabs((double)r[i * d.ldc + j]));
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double e = fabs((double)c[i * d.ldc + j] - (double)r[i * d.ldc + j]) / (1e-6 + 1e-5 * scale);
                if (!(e <= worst)) worst = e; /* NaN sticks */
            }
    }
    for (int64_t i = 0; i < nc; i++) {
        int64_t off = i % d.stride_c, row = off / d.ldc, col = off % d.ldc;
        int inside = i < batch * d.stride_c && row < M && col < N;
        if (!inside && memcmp(&C[i], &C0[i], sizeof(float)) != 0) pad_ok = 0;
    }
    CHECK(worst <= 1.0, "gemm ta=%d tb=%d M=%ld N=%ld K=%ld pad=%ld batch=%ld alpha=%g beta=%g threads=%d: error %.3g x tol",
          ta, tb, (long)M, (long)N, (long)K, (long)pad, (long)batch, alpha, beta, threads, worst);
    CHECK(pad_ok, "gemm M=%ld N=%ld K=%ld: wrote outside the M x N blocks", (long)M, (long)N, (long)K);
    /* bit-identical rerun */
    float *C2 = malloc(sizeof(float) * (size_t)(nc + 1));
    memcpy(C2, C0, sizeof(float) * (size_t)nc);
    vg_cpu_gemm(C2, A, B, &d);
    CHECK(memcmp(C2, C, sizeof(float) * (size_t)nc) == 0, "gemm M=%ld N=%ld K=%ld: rerun differs", (long)M, (long)N,
          (long)K);
    free(A), free(B), free(C0), free(C), free(R), free(C2);
}

int main(int argc, char **argv) {
    (void)argc;
    vg_backend be;
    memset(&be, 0, sizeof be);
    vg_cpu_register_gemm(&be);
    CHECK(be.gemm == vg_cpu_gemm, "gemm not registered");
    test_by_hand();

    const int64_t sizes[][3] = {{1, 1, 1},   {5, 7, 3},    {6, 16, 1},  {7, 33, 17}, {13, 31, 64},
                                {64, 64, 64}, {37, 129, 300}, {150, 70, 260}, {3, 600, 9}, {200, 5, 530},
                                {8, 40, 0},    {600, 20, 40}, {16, 1, 8192}, {7, 1, 13}, {5, 1, 0}};
    const int nsizes = (int)(sizeof sizes / sizeof sizes[0]);
    for (int s = 0; s < nsizes; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int threads = 1 + (s + ta + tb) % 3;
                test_case(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], (s % 2) * 3, 1, 1.0, 0.0, threads);
                test_case(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], 1, 1, -0.5, 1.5, threads);
            }
    /* batches: more than the threads (split by batch) and fewer (split by columns) */
    test_case(0, 0, 9, 21, 14, 2, 5, 1.0, 1.0, 2);
    test_case(1, 1, 40, 100, 70, 0, 2, 2.0, 0.0, 3);
    test_case(0, 1, 70, 300, 90, 0, 1, 1.0, 0.25, 2);
    test_case(1, 0, 17, 1000, 40, 1, 3, 1.0, 0.0, 2);
    /* big enough (> 3e7 flops) to be split across threads */
    test_case(0, 0, 150, 301, 400, 1, 1, 1.0, 0.5, 2);
    test_case(1, 0, 100, 200, 400, 0, 4, 1.0, 0.0, 3);

    /* the portable kernels, in child processes (the kernel is picked once) */
    if (!getenv("VIDGAN_GEMM_ISA") && argv[0] && strlen(argv[0]) < 900) {
        const char *isas[] = {"c", "c32"};
        for (int i = 0; i < 2; i++) {
            char cmd[1024];
            snprintf(cmd, sizeof cmd, "VIDGAN_GEMM_ISA=%s '%s' > /dev/null", isas[i], argv[0]);
            int rc = system(cmd);
            CHECK(rc == 0, "VIDGAN_GEMM_ISA=%s run failed (status %d)", isas[i], rc);
        }
    }
    TEST_END();
}
