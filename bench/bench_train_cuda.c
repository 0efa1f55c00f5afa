/* Whole-training-step benchmark of the 3D-DCGAN on the CUDA backend (D step
 * + G step + Adam + EMA, float32; TF32 convolutions and GEMMs with
 * VIDGAN_CUDA_TF32=1; bf16 mixed precision with precision bf16), the vidgan
 * side of bench/run_train_bench_cuda.sh. Synthetic batches, as
 * bench/bench_train.c. A step ends with the losses read back to the host,
 * so its time includes all the GPU work it queued.
 *
 * Usage: build/bench/bench_train_cuda SIZE [steps] [batch] [fp32|bf16]
 * Prints: "vidgan-cuda size=S batch=B prec=fp32|bf16 tf32=0|1 step_ms_median=...
 *          step_ms_all=... sample_fps=... arena_mib=... params_mib=... device=..." */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend.h"
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

int main(int argc, char **argv) {
    int size = argc > 1 ? atoi(argv[1]) : 64;
    int steps = argc > 2 ? atoi(argv[2]) : 20;
    int batch = argc > 3 ? atoi(argv[3]) : 16;
    vg_precision prec = VG_PRECISION_FP32;
    if (argc > 4 && !vg_precision_parse(argv[4], &prec)) {
        fprintf(stderr, "bench_train_cuda: precision must be fp32 or bf16, got '%s'\n", argv[4]);
        return 2;
    }
    if (vg_set_device("cuda") != VG_OK) {
        fprintf(stderr, "bench_train_cuda: %s\n", vg_last_error());
        return 1;
    }
    vg_train_config c;
    vg_train_config_default(&c);
    c.model.size = size;
    c.model.frames = 16;
    c.batch = batch;
    c.precision = prec;
    vg_trainer t;
    if (vg_trainer_init(&t, &c, NULL) != VG_OK) {
        fprintf(stderr, "bench_train_cuda: %s\n", vg_last_error());
        return 1;
    }
    int64_t clip = 3LL * 16 * size * size;
    float *real = malloc((size_t)(batch * clip) * sizeof *real), *z = malloc((size_t)batch * 100 * sizeof *z);
    float *videos = malloc((size_t)(batch * clip) * sizeof *videos);
    double *ms = malloc((size_t)steps * sizeof *ms);
    if (!real || !z || !videos || !ms) return 1;
    for (int64_t i = 0; i < batch * clip; i++) real[i] = (float)(2 * vg_rng_uniform_at(3, (uint64_t)i) - 1);
    for (int s = -3; s < steps; s++) { /* warm-up: arena growth, cuDNN plans */
        vg_trainer_noise(&t, s + 3, z);
        double t0 = now();
        if (vg_trainer_step_with(&t, real, z, NULL) != VG_OK) {
            fprintf(stderr, "bench_train_cuda: %s\n", vg_last_error());
            return 1;
        }
        if (s >= 0) ms[s] = 1e3 * (now() - t0);
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    vg_latent_noise(5, batch, 100, z);
    vg_dcgan3d_sample(&t.model, t.ctx, z, batch, batch, VG_BN_BATCH, videos);
    double best = 1e30;
    for (int r = 0; r < 10; r++) {
        double t0 = now();
        vg_dcgan3d_sample(&t.model, t.ctx, z, batch, batch, VG_BN_BATCH, videos);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    const char *tf = getenv("VIDGAN_CUDA_TF32");
    printf("vidgan-cuda size=%d batch=%d prec=%s tf32=%d step_ms_median=%.2f step_ms_all=", size, batch,
           vg_precision_name(prec), tf && strcmp(tf, "1") == 0, ms[steps / 2]);
    for (int s = 0; s < steps; s++) printf(s ? ",%.1f" : "%.1f", ms[s]);
    printf(" sample_fps=%.1f arena_mib=%.1f params_mib=%.1f device=\"%s\"\n", batch * 16 / best,
           vg_ctx_arena_reserved(t.ctx) / 1048576.0,
           4.0 * (double)(vg_params_numel_all(t.model.G) + vg_params_numel_all(t.model.D)) / 1048576.0,
           vg_backend_cuda_device_name());
    vg_trainer_free(&t);
    free(real);
    free(z);
    free(ms);
    free(videos);
    return 0;
}
