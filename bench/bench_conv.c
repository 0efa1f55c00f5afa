/* Times the CPU conv kernels on every Conv3d / ConvTranspose3d layer of the
 * 3D-DCGAN reference models (64x64x16 and 32x32x16, batch 16, fp32), pass by
 * pass: fwd, bwd_data (dinp only) and bwd_weight (dweight + dbias, as torch
 * computes them together). Prints "name pass median_ms flops" per line, the
 * format bench/run_conv_bench.sh joins with bench_conv_torch.py's output.
 *
 * Usage: bench_conv [threads] [reps] [filter]
 * VIDGAN_CONV_PATH=gemm or =igemm forces one lowering (default: automatic).
 * VIDGAN_BENCH_CPU=1 times process CPU time instead of wall time and prints
 * the fastest repetition instead of the median: for comparing kernels with
 * 1 thread on a machine that other jobs load (the wall clock then measures
 * the scheduler). */
#include "backend/cpu/conv_igemm.h"
#include "backend/cpu/cpu.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct shape {
    const char *name;
    int transposed;
    int64_t C_in, C_out, in[3];
    int k[3], s, p;
};

/* kept in step with SHAPES in bench_conv_torch.py */
static const struct shape shapes[] = {
    {"g64.1", 1, 100, 512, {1, 1, 1}, {1, 4, 4}, 1, 0},
    {"g64.2", 1, 512, 256, {1, 4, 4}, {4, 4, 4}, 2, 1},
    {"g64.3", 1, 256, 128, {2, 8, 8}, {4, 4, 4}, 2, 1},
    {"g64.4", 1, 128, 64, {4, 16, 16}, {4, 4, 4}, 2, 1},
    {"g64.5", 1, 64, 3, {8, 32, 32}, {4, 4, 4}, 2, 1},
    {"d64.1", 0, 3, 64, {16, 64, 64}, {4, 4, 4}, 2, 1},
    {"d64.2", 0, 64, 128, {8, 32, 32}, {4, 4, 4}, 2, 1},
    {"d64.3", 0, 128, 256, {4, 16, 16}, {4, 4, 4}, 2, 1},
    {"d64.4", 0, 256, 512, {2, 8, 8}, {4, 4, 4}, 2, 1},
    {"d64.5", 0, 512, 1, {1, 4, 4}, {1, 4, 4}, 1, 0},
    {"g32.1", 1, 100, 256, {1, 1, 1}, {2, 4, 4}, 1, 0},
    {"g32.2", 1, 256, 128, {2, 4, 4}, {4, 4, 4}, 2, 1},
    {"g32.3", 1, 128, 64, {4, 8, 8}, {4, 4, 4}, 2, 1},
    {"g32.4", 1, 64, 3, {8, 16, 16}, {4, 4, 4}, 2, 1},
    {"d32.1", 0, 3, 64, {16, 32, 32}, {4, 4, 4}, 2, 1},
    {"d32.2", 0, 64, 128, {8, 16, 16}, {4, 4, 4}, 2, 1},
    {"d32.3", 0, 128, 256, {4, 8, 8}, {4, 4, 4}, 2, 1},
    {"d32.4", 0, 256, 1, {2, 4, 4}, {2, 4, 4}, 1, 0},
};

static int cpu_clock;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(cpu_clock ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static float *rand_buf(int64_t n, float scale) {
    float *p = malloc(sizeof(float) * (size_t)n);
    if (!p) {
        fprintf(stderr, "bench_conv: out of memory\n");
        exit(1);
    }
    uint32_t s = 12345u;
    for (int64_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = ((float)(s >> 8) * (1.0f / 16777216.0f) - 0.5f) * scale;
    }
    return p;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 7;
    const char *filter = argc > 3 ? argv[3] : "";
    if (reps < 1) reps = 1;
    if (reps > 100) reps = 100;
    vg_set_threads(threads);
    const char *path = getenv("VIDGAN_CONV_PATH");
    if (path && strcmp(path, "gemm") == 0) vg_conv_igemm_force(0);
    if (path && strcmp(path, "igemm") == 0) vg_conv_igemm_force(1);
    const char *clk = getenv("VIDGAN_BENCH_CPU");
    cpu_clock = clk && strcmp(clk, "1") == 0;
    vg_backend be;
    memset(&be, 0, sizeof be);
    vg_cpu_register_conv(&be);
    const int64_t N = 16;
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        const struct shape *sh = &shapes[si];
        if (*filter && !strstr(sh->name, filter)) continue;
        struct vg_conv_desc d = {.N = N, .C_in = sh->C_in, .C_out = sh->C_out, .transposed = sh->transposed};
        for (int a = 0; a < 3; a++) {
            d.in[a] = sh->in[a];
            d.k[a] = sh->k[a];
            d.s[a] = sh->s;
            d.p[a] = sh->p;
            d.op[a] = 0;
            d.out[a] = sh->transposed ? (sh->in[a] - 1) * sh->s - 2 * sh->p + sh->k[a]
                                      : (sh->in[a] + 2 * sh->p - sh->k[a]) / sh->s + 1;
        }
        int64_t I = d.in[0] * d.in[1] * d.in[2], O = d.out[0] * d.out[1] * d.out[2];
        int64_t Kv = (int64_t)d.k[0] * d.k[1] * d.k[2];
        int64_t nw = d.C_in * d.C_out * Kv;
        /* multiply-adds of one pass: every (input, output, tap) link once */
        double flops = 2.0 * (double)N * (double)d.C_in * (double)d.C_out * (double)Kv * (double)(sh->transposed ? I : O);
        float *x = rand_buf(N * d.C_in * I, 2.0f), *w = rand_buf(nw, 0.04f), *b = rand_buf(d.C_out, 0.1f);
        float *y = rand_buf(N * d.C_out * O, 1.0f), *dy = rand_buf(N * d.C_out * O, 1.0f);
        float *dx = rand_buf(N * d.C_in * I, 0.0f), *dw = rand_buf(nw, 0.0f), *db = rand_buf(d.C_out, 0.0f);
        for (int pass = 0; pass < 3; pass++) {
            double t[100];
            for (int r = -1; r < reps; r++) { /* r = -1: warm-up (scratch growth) */
                double t0 = now_ms();
                if (pass == 0) be.conv_forward(y, x, w, b, &d);
                if (pass == 1) be.conv_backward(dx, NULL, NULL, dy, x, w, &d);
                if (pass == 2) be.conv_backward(NULL, dw, db, dy, x, w, &d);
                if (r >= 0) t[r] = now_ms() - t0;
            }
            qsort(t, (size_t)reps, sizeof(double), cmp_double);
            static const char *names[] = {"fwd", "bwd_data", "bwd_weight"};
            printf("%s %s %.3f %.0f\n", sh->name, names[pass], t[cpu_clock ? 0 : reps / 2], flops);
            fflush(stdout);
        }
        free(x), free(w), free(b), free(y), free(dy), free(dx), free(dw), free(db);
    }
    return 0;
}
