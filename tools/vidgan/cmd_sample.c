/* `vidgan sample`: generates videos from a checkpoint and writes them as
 * GIFs, MP4s (H.264) or PNG frame folders (chosen by the output's extension), one file per
 * video or one tiled grid, optionally as walks through latent space. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "commands.h"
#include "core/status.h"
#include "io/gif.h"
#include "io/mp4.h"
#include "io/npy.h"
#include "io/png_frames.h"
#include "io/video_frames.h"
#include "options.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

/* Spherical interpolation between two Gaussian latents (keeps the norm
 * typical of N(0, I) samples, unlike a straight line). */
static void slerp(float *out, const float *a, const float *b, int n, double t) {
    double na = 0, nb = 0, dot = 0;
    for (int i = 0; i < n; i++) {
        na += (double)a[i] * a[i];
        nb += (double)b[i] * b[i];
        dot += (double)a[i] * b[i];
    }
    double c = dot / (sqrt(na * nb) + 1e-12);
    c = c > 1 ? 1 : (c < -1 ? -1 : c);
    double omega = acos(c), so = sin(omega);
    for (int i = 0; i < n; i++)
        out[i] = so < 1e-6 ? (float)((1 - t) * a[i] + t * b[i])
                           : (float)((sin((1 - t) * omega) * a[i] + sin(t * omega) * b[i]) / so);
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

enum { OUT_PNG, OUT_GIF, OUT_MP4, OUT_NPY };

/* All videos (n, C, T, H, W) in [-1, 1] as one float32 array (n, T, H, W, C)
 * in [0, 1]: the layout and range `vidgan eval --fake` and `vidgan train
 * --data` read, and numpy's image convention. */
static vg_status write_npy(const char *path, const float *videos, int n, int C, int T, int H, int W) {
    const int64_t plane = (int64_t)H * W, numel = (int64_t)n * C * T * plane;
    float *a = malloc((size_t)numel * sizeof *a);
    if (!a) return vg_fail(VG_ERR_NOMEM, "%s: out of memory for %d videos", path, n);
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                for (int64_t p = 0; p < plane; p++) {
                    float v = (videos[(((int64_t)i * C + c) * T + t) * plane + p] + 1.0f) * 0.5f;
                    a[(((int64_t)i * T + t) * plane + p) * C + c] = v < 0 ? 0 : v > 1 ? 1 : v;
                }
    vg_status st = vg_npy_write(path, VG_NPY_F32, 5, (const int64_t[]){n, T, H, W, C}, a);
    free(a);
    return st;
}

/* Writes one video (T, H, W, 3) to path by its kind. */
static vg_status write_video(const char *path, int kind, const vg_frames *f, double fps) {
    if (kind == OUT_GIF) return vg_gif_write(path, f->rgb, f->T, f->H, f->W, fps, 1);
    if (kind == OUT_MP4) return vg_mp4_write(path, f->rgb, f->T, f->H, f->W, fps);
    return vg_png_frames_write(path, f->rgb, f->T, f->H, f->W);
}

/* One float video (C, T, S, S) as frames at its own size, no grid border. */
static vg_status one_video(vg_frames *f, const float *video, int C, int T, int S) {
    vg_status st = vg_frames_alloc(f, T, S, S);
    return st == VG_OK ? vg_frames_from_float(f->rgb, video, C, T, S, S) : st;
}

int cmd_sample(int argc, char **argv) {
    const char *ckpt = NULL, *out = "samples.gif", *device = "cpu", *precision = "fp32";
    int n = 16, seed = 7, grid = 0, interp = 0, no_ema = 0, threads = 0;
    double fps = 8;
    const cli_option opts[] = {
        {"ckpt", OPT_STRING, &ckpt, "checkpoint to sample from (required)"},
        {"n", OPT_INT, &n, "videos to generate"},
        {"seed", OPT_INT, &seed, "latent seed: the same seed gives the same videos"},
        {"out", OPT_STRING, &out, "output: NAME.gif (GIF), NAME.mp4 (H.264), NAME.npy (all videos as float32 (N, T, H, W, C) in [0, 1]) or a folder (PNG frames)"},
        {"grid", OPT_FLAG, &grid, "tile all videos into one video"},
        {"interp", OPT_INT, &interp, "K > 0: each video walks from latent i to i+1 in K steps (K x frames long)"},
        {"fps", OPT_DOUBLE, &fps, "frames per second of GIFs and MP4s"},
        {"no-ema", OPT_FLAG, &no_ema, "use the live generator weights instead of their moving average"},
        {"threads", OPT_INT, &threads, "CPU threads (0: VIDGAN_THREADS or all cores)"},
        {"device", OPT_STRING, &device, "compute device: cpu, cuda, or auto (cuda when a GPU answers, else cpu)"},
        {"precision", OPT_STRING, &precision, "fp32, or bf16: the generator's convolutions with bf16 operands (--device cuda)"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 2, pos, 0, &npos,
                       "usage: vidgan sample --ckpt FILE [options]\n\nGenerates videos with a trained generator.",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    if (!ckpt) {
        fprintf(stderr, "vidgan: sample needs --ckpt FILE\n");
        return 2;
    }
    if (n < 1 || n > 4096 || interp < 0 || interp > 1000 || !(fps > 0)) {
        fprintf(stderr, "vidgan: need 1 <= --n <= 4096, 0 <= --interp <= 1000, --fps > 0\n");
        return 2;
    }
    vg_set_threads(threads);
    if ((rc = cli_use_device(device)) != 0) return rc;
    vg_precision prec;
    if ((rc = cli_use_precision(precision, &prec)) != 0) return rc;
    const int kind = has_suffix(out, ".gif") ? OUT_GIF : has_suffix(out, ".mp4") ? OUT_MP4 : has_suffix(out, ".npy") ? OUT_NPY : OUT_PNG;
    if (kind == OUT_PNG && strrchr(out, '.') && strrchr(out, '.') > strrchr(out, '/') && !has_suffix(out, "/")) {
        fprintf(stderr, "vidgan: %s: unknown output type (use NAME.gif, NAME.mp4, NAME.npy, or a folder for PNG frames)\n", out);
        return 2;
    }
    if (kind == OUT_NPY && grid) {
        fprintf(stderr, "vidgan: %s: --grid tiles videos into one picture; a .npy holds the videos themselves (leave --grid out)\n", out);
        return 2;
    }
    if (kind == OUT_MP4 && vg_mp4_encoder_name() && strcmp(vg_mp4_encoder_name(), "libx264") != 0)
        fprintf(stderr, "note: this FFmpeg has no libx264; MP4s are encoded with %s\n", vg_mp4_encoder_name());
    /* Only the generator is needed: no trainer, no optimizer state. */
    vg_train_config cfg;
    vg_ctx *ctx = NULL;
    vg_dcgan3d model = {0};
    int exit_code = 1;
    float *z = NULL, *videos = NULL;
    vg_frames frames = {0};
    if (vg_ctx_new(&ctx, &(vg_ctx_opts){.precision = prec}) != VG_OK ||
        vg_ckpt_load_generator(ckpt, no_ema ? VG_CKPT_WEIGHTS_LIVE : VG_CKPT_WEIGHTS_DEFAULT, ctx, &model, &cfg,
                               NULL) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }
    vg_ctx_set_grad_enabled(ctx, 0);
    const vg_dcgan3d_config *m = &cfg.model;
    const int steps = interp > 0 ? interp : 1;
    const int64_t clip = (int64_t)m->channels * m->frames * m->size * m->size;
    /* latents: n (+1 for the walk's end) base vectors, then steps per video */
    const int64_t L = vg_dcgan3d_latent_dim(m);
    float *base = malloc((size_t)(n + 1) * (size_t)L * sizeof *base);
    z = malloc((size_t)n * (size_t)steps * (size_t)L * sizeof *z);
    videos = malloc((size_t)n * (size_t)steps * (size_t)clip * sizeof *videos);
    if (!base || !z || !videos) {
        free(base);
        fprintf(stderr, "vidgan: out of memory for %d videos\n", n * steps);
        goto done;
    }
    vg_latent_noise((uint64_t)seed, n + 1, (int)L, base);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < steps; k++)
            slerp(z + ((int64_t)i * steps + k) * L, base + (int64_t)i * L, base + (int64_t)(i + 1) * L, (int)L,
                  interp > 0 ? (double)k / steps : 0.0);
    free(base);
    vg_status st = vg_dcgan3d_sample(&model, ctx, z, n * steps, cfg.batch, VG_BN_BATCH, videos);
    if (st != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }
    /* a walk is K clips one after another: (C, K*T, H, W) per video */
    int T_out = m->frames * steps;
    if (steps > 1) {
        float *walk = malloc((size_t)n * (size_t)steps * (size_t)clip * sizeof *walk);
        if (!walk) goto done;
        int64_t plane = (int64_t)m->size * m->size;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < steps; k++)
                for (int c = 0; c < m->channels; c++)
                    memcpy(walk + (((int64_t)i * m->channels + c) * T_out + (int64_t)k * m->frames) * plane,
                           videos + (((int64_t)i * steps + k) * m->channels + c) * m->frames * plane,
                           (size_t)(m->frames * plane) * sizeof *walk);
        free(videos);
        videos = walk;
    }
    const int64_t video_numel = clip * steps;
    if (kind == OUT_NPY) {
        st = write_npy(out, videos, n, m->channels, T_out, m->size, m->size);
        if (st == VG_OK) fprintf(stderr, "wrote %s (%d videos, %d frames, float32 N,T,H,W,C in [0, 1])\n", out, n, T_out);
    } else if (grid) {
        st = vg_frames_grid(&frames, videos, n, m->channels, T_out, m->size, m->size, 0);
        if (st == VG_OK) st = write_video(out, kind, &frames, fps);
        if (st == VG_OK) fprintf(stderr, "wrote %s (%d video%s, %d frames)\n", out, n, n > 1 ? "s tiled" : "", T_out);
    } else if (n == 1) {
        st = one_video(&frames, videos, m->channels, T_out, m->size);
        if (st == VG_OK) st = write_video(out, kind, &frames, fps);
        if (st == VG_OK) fprintf(stderr, "wrote %s (1 video, %d frames)\n", out, T_out);
    } else {
        if (kind == OUT_PNG && mkdir(out, 0755) != 0 && errno != EEXIST) {
            fprintf(stderr, "vidgan: %s: %s\n", out, strerror(errno));
            goto done;
        }
        char path[4200];
        for (int i = 0; i < n && st == VG_OK; i++) {
            if (kind != OUT_PNG)
                snprintf(path, sizeof path, "%.*s_%03d%s", (int)(strlen(out) - 4), out, i, out + strlen(out) - 4);
            else
                snprintf(path, sizeof path, "%s/video_%03d", out, i);
            vg_frames_free(&frames);
            st = one_video(&frames, videos + i * video_numel, m->channels, T_out, m->size);
            if (st == VG_OK) st = write_video(path, kind, &frames, fps);
        }
        if (st == VG_OK) fprintf(stderr, "wrote %d videos (%d frames each) as %s\n", n, T_out, kind == OUT_GIF ? "GIFs" : kind == OUT_MP4 ? "MP4s" : "PNG frame folders");
    }
    if (st != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }
    exit_code = 0;
done:
    vg_frames_free(&frames);
    free(z);
    free(videos);
    if (model.G || model.D) vg_dcgan3d_free(&model);
    vg_ctx_free(ctx);
    return exit_code;
}
