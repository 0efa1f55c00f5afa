/* Whole-training-step benchmark of the 3D-DCGAN (D step + G step + Adam +
 * EMA), the number the end-to-end issue targets, plus sampling speed (G
 * forward only) and peak memory. Synthetic batches (uniform clips, normal
 * noise): data loading is not part of the step.
 *
 * Usage: build/bench/bench_train SIZE [threads] [steps] [batch]
 * Prints: "vidgan size=S batch=B threads=N step_ms_median=... step_ms_all=...
 *          sample_fps=... peak_rss_mib=... sample_peak_rss_mib=..." (the
 * process's peak after the training steps, and after sampling too) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "train/trainer.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long peak_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kib = atol(line + 6);
    if (f) fclose(f);
    return kib;
}

int main(int argc, char **argv) {
    int size = argc > 1 ? atoi(argv[1]) : 32;
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    int steps = argc > 3 ? atoi(argv[3]) : 5;
    int batch = argc > 4 ? atoi(argv[4]) : 16;
    vg_set_threads(threads);
    vg_train_config c;
    vg_train_config_default(&c);
    c.model.size = size;
    c.model.frames = 16;
    c.batch = batch;
    vg_trainer t;
    if (vg_trainer_init(&t, &c, NULL) != VG_OK) {
        fprintf(stderr, "bench_train: %s\n", vg_last_error());
        return 1;
    }
    int64_t clip = 3LL * 16 * size * size;
    float *real = malloc((size_t)(batch * clip) * sizeof *real), *z = malloc((size_t)batch * 100 * sizeof *z);
    for (int64_t i = 0; i < batch * clip; i++) real[i] = (float)(2 * vg_rng_uniform_at(3, (uint64_t)i) - 1);
    double *ms = malloc((size_t)steps * sizeof *ms);
    for (int s = -2; s < steps; s++) { /* two warm-up steps */
        vg_trainer_noise(&t, s + 2, z);
        double t0 = now();
        if (vg_trainer_step_with(&t, real, z, NULL) != VG_OK) {
            fprintf(stderr, "bench_train: %s\n", vg_last_error());
            return 1;
        }
        if (s >= 0) ms[s] = 1e3 * (now() - t0);
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    /* the training peak, read before sampling allocates its output (the
     * PyTorch script reads its own at the same point) */
    const long train_peak_kib = peak_rss_kib();
    /* sampling: G forward of `batch` clips, BatchNorm on batch statistics */
    float *videos = malloc((size_t)(batch * clip) * sizeof *videos);
    vg_latent_noise(5, batch, 100, z);
    vg_dcgan3d_sample(&t.model, t.ctx, z, batch, batch, VG_BN_BATCH, videos); /* warm-up */
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        vg_dcgan3d_sample(&t.model, t.ctx, z, batch, batch, VG_BN_BATCH, videos);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    printf("vidgan size=%d batch=%d threads=%d step_ms_median=%.1f step_ms_all=", size, batch, threads, ms[steps / 2]);
    for (int s = 0; s < steps; s++) printf(s ? ",%.0f" : "%.0f", ms[s]);
    printf(" sample_fps=%.1f peak_rss_mib=%.1f sample_peak_rss_mib=%.1f arena_mib=%.1f params_mib=%.1f\n", batch * 16 / best,
           train_peak_kib / 1024.0, peak_rss_kib() / 1024.0,
           vg_ctx_arena_reserved(t.ctx) / 1048576.0,
           4.0 * (double)(vg_params_numel_all(t.model.G) + vg_params_numel_all(t.model.D)) / 1048576.0);
    vg_trainer_free(&t);
    free(real);
    free(z);
    free(ms);
    free(videos);
    return 0;
}
