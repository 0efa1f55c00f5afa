/* Measures this machine's fp32 FMA ceiling (GFLOP/s) with independent
 * accumulator chains, per thread count, for AVX2 (ymm) and, where the CPU
 * has it, AVX-512 (zmm). The conv benchmark reports its figures against it. */
#include <stdio.h>
#include <time.h>
#include <immintrin.h>
#include <omp.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

__attribute__((target("avx2,fma"))) static float fma_ymm(long iters) {
    __m256 acc[12], a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-4f);
    for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    __m256 s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0];
}

__attribute__((target("avx512f"))) static float fma_zmm(long iters) {
    __m512 acc[12], a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-4f);
    for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps((float)i);
    for (long it = 0; it < iters; it++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    __m512 s = acc[0];
    for (int i = 1; i < 12; i++) s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

static double measure(int threads, int zmm) {
    const long iters = 50000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        volatile float sink = 0;
        double t0 = now();
#pragma omp parallel num_threads(threads)
        {
            float r = zmm ? fma_zmm(iters) : fma_ymm(iters);
#pragma omp critical
            sink += r;
        }
        double dt = now() - t0;
        double flops = (double)threads * iters * 12 * (zmm ? 16 : 8) * 2;
        if (flops / dt > best) best = flops / dt;
    }
    return best / 1e9;
}

int main(void) {
    __builtin_cpu_init();
    int maxt = omp_get_num_procs();
    for (int t = 1; t <= maxt; t++) {
        printf("threads %d: ymm (AVX2+FMA) %.1f GFLOP/s", t, measure(t, 0));
        if (__builtin_cpu_supports("avx512f")) printf(", zmm (AVX-512) %.1f GFLOP/s", measure(t, 1));
        printf("\n");
    }
    return 0;
}
