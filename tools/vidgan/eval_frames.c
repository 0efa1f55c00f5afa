/* `vidgan eval --metric frames`: predicted videos against their targets,
 * pair by pair (see eval_frames.h). A side is a list of videos read whole
 * and in order: the video files under a folder sorted by path, one video
 * file, the videos of a .npy, or the clips 0, 1, ... of a built-in data
 * set. */
#include "eval_frames.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/dataset.h"
#include "data/video_folder.h"
#include "eval/frame_metrics.h"
#include "io/npy.h"
#include "io/video_reader.h"
#include "progress.h"
#include "vidgan.h"

#define MAX_DEPTH 16

/* One side of the comparison. */
typedef struct side {
    const char *what;       /* as given on the command line */
    const char *kind;       /* "videos", "npy", "data" */
    char **files;           /* videos: sorted paths */
    int64_t n;              /* videos in the side */
    vg_npy *npy;
    int tnhw;               /* npy layout (T, N, H, W) */
    int64_t T, H, W, C;     /* npy, data: every video's geometry */
    vg_dataset *ds;
} side;

/* One video of a side: (C, T, H, W) floats in [0, 1]. */
typedef struct video {
    char name[600];
    int64_t T, H, W, C;
    float *px;
    size_t cap;             /* floats px holds */
} video;

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every video file under dir, recursively (hidden entries skipped). */
static int list_videos(side *s, const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "vidgan: %s: cannot list the folder: %s\n", dir, strerror(errno));
        return 1;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            rc = 1;
            break;
        }
        snprintf(p, len, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (depth < MAX_DEPTH) rc = list_videos(s, p, depth + 1);
        } else if (vg_video_folder_is_video_name(p)) {
            char **grown = realloc(s->files, (size_t)(s->n + 1) * sizeof *grown);
            if (!grown) {
                rc = 1;
                free(p);
                break;
            }
            s->files = grown;
            s->files[s->n++] = p;
            continue;
        }
        free(p);
    }
    closedir(d);
    if (rc) fprintf(stderr, "vidgan: %s: cannot list the videos (out of memory?)\n", dir);
    return rc;
}

/* Opens a side: a folder, a video file or a .npy (path), else a built-in
 * data set (data, with the geometry of the other side's first video). */
static int side_open(side *s, const char *opt, const char *path, const eval_frames_args *a, const video *like) {
    memset(s, 0, sizeof *s);
    s->what = path;
    struct stat sb;
    const int exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) {
        s->kind = "videos";
        if (list_videos(s, path, 0)) return 1;
        if (s->n == 0) {
            fprintf(stderr, "vidgan: %s %s: no video files in the folder\n", opt, path);
            return 2;
        }
        qsort(s->files, (size_t)s->n, sizeof *s->files, cmp_str);
        return 0;
    }
    if (has_suffix(path, ".npy")) {
        s->kind = "npy";
        if (vg_npy_open(&s->npy, path) != VG_OK) {
            fprintf(stderr, "vidgan: %s %s: %s\n", opt, path, vg_last_error());
            return 1;
        }
        const char *layout = a->npy_layout ? a->npy_layout : "NTHW";
        const int nd = vg_npy_ndim(s->npy);
        const int64_t *sh = vg_npy_shape(s->npy);
        s->tnhw = strcmp(layout, "TNHW") == 0;
        if (!s->tnhw && strcmp(layout, "NTHW") != 0 && strcmp(layout, "NTHWC") != 0) {
            fprintf(stderr, "vidgan: --npy-layout %s: expected NTHW, NTHWC or TNHW\n", layout);
            return 2;
        }
        if ((s->tnhw && nd != 4) || (!s->tnhw && nd != 4 && nd != 5) || (nd == 5 && sh[4] != 1 && sh[4] != 3)) {
            fprintf(stderr, "vidgan: %s %s: a %d-D array; layout %s needs %s\n", opt, path, nd, layout,
                    s->tnhw ? "(T, N, H, W)" : "(N, T, H, W) or (N, T, H, W, C) with C 1 or 3");
            return 2;
        }
        s->n = s->tnhw ? sh[1] : sh[0];
        s->T = s->tnhw ? sh[0] : sh[1];
        s->H = sh[2], s->W = sh[3], s->C = nd == 5 ? sh[4] : 1;
        return 0;
    }
    if (exists) {
        if (!S_ISREG(sb.st_mode) || !vg_video_folder_is_video_name(path)) {
            fprintf(stderr, "vidgan: %s %s: expected a folder of videos, a video file (.mp4, .gif, ...) or a .npy file\n", opt,
                    path);
            return 2;
        }
        s->kind = "videos";
        s->files = malloc(sizeof *s->files);
        if (!s->files || !(s->files[0] = strdup(path))) {
            fprintf(stderr, "vidgan: out of memory\n");
            return 1;
        }
        s->n = 1;
        return 0;
    }
    if (!like || (strcmp(path, "shapes") != 0 && strcmp(path, "mnist") != 0 && strcmp(path, "fashion") != 0)) {
        fprintf(stderr, "vidgan: %s %s: %s\n", opt, path, exists ? "not a video source" : strerror(ENOENT));
        return 2;
    }
    /* a built-in data set: clip k of seed --seed, the other side's geometry */
    const int size = a->size ? a->size : (int)like->H, frames = a->frames ? a->frames : (int)like->T;
    if (!a->size && like->H != like->W) {
        fprintf(stderr, "vidgan: --data %s makes square clips; the first --fake video is %lldx%lld (give --size)\n", path,
                (long long)like->W, (long long)like->H);
        return 2;
    }
    vg_dataset_spec spec = {.source = path, .path = a->data_path, .size = size, .frames = frames, .seed = (uint64_t)a->seed};
    if (vg_dataset_open(&s->ds, &spec) != VG_OK) {
        fprintf(stderr, "vidgan: --data %s: %s\n", path, vg_last_error());
        return 1;
    }
    const vg_dataset_desc *d = vg_dataset_info(s->ds);
    s->kind = "data";
    s->n = INT64_MAX; /* infinite: as many as the other side */
    s->T = d->frames, s->H = d->height, s->W = d->width, s->C = d->channels;
    return 0;
}

static void side_close(side *s) {
    for (int64_t i = 0; s->files && i < s->n; i++) free(s->files[i]);
    free(s->files);
    if (s->npy) vg_npy_close(s->npy);
    vg_dataset_close(s->ds);
}

static int video_reserve(video *v, int64_t numel) {
    if ((size_t)numel <= v->cap) return 0;
    float *p = realloc(v->px, (size_t)numel * sizeof *p);
    if (!p) {
        fprintf(stderr, "vidgan: %s: out of memory for %lld values\n", v->name, (long long)numel);
        return 1;
    }
    v->px = p;
    v->cap = (size_t)numel;
    return 0;
}

/* Video k of a side into v: all frames, or the first `frames`. */
static int side_read(const side *s, int64_t k, int frames, video *v) {
    if (strcmp(s->kind, "videos") == 0) {
        const char *path = s->files[k];
        snprintf(v->name, sizeof v->name, "%s", path);
        vg_video *vid = NULL;
        vg_video_desc d;
        if (vg_video_open(&vid, path) != VG_OK || vg_video_info(vid, &d) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            vg_video_close(vid);
            return 1;
        }
        if (frames > d.frames) {
            fprintf(stderr, "vidgan: %s: %lld frames, --frames %d asked\n", path, (long long)d.frames, frames);
            vg_video_close(vid);
            return 2;
        }
        v->T = frames ? frames : d.frames, v->H = d.height, v->W = d.width, v->C = 3;
        const int64_t plane = v->H * v->W, numel = 3 * v->T * plane;
        uint8_t *rgb = malloc((size_t)numel);
        int rc = !rgb || video_reserve(v, numel);
        if (!rc && vg_video_read_clip(vid, 0, (int)v->T, 1, 0, rgb) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            rc = 1;
        }
        for (int64_t t = 0; !rc && t < v->T; t++) /* (T, H, W, 3) -> (3, T, H, W) */
            for (int64_t i = 0; i < plane; i++)
                for (int c = 0; c < 3; c++) v->px[(c * v->T + t) * plane + i] = rgb[(t * plane + i) * 3 + c] / 255.0f;
        free(rgb);
        vg_video_close(vid);
        return rc;
    }
    v->T = s->T, v->H = s->H, v->W = s->W, v->C = s->C;
    if (frames > v->T) {
        fprintf(stderr, "vidgan: %s: %lld frames per video, --frames %d asked\n", s->what, (long long)v->T, frames);
        return 2;
    }
    const int64_t T_all = v->T;
    if (frames) v->T = frames;
    const int64_t plane = v->H * v->W, numel = v->C * v->T * plane;
    if (video_reserve(v, strcmp(s->kind, "data") == 0 ? v->C * T_all * plane : numel)) return 1;
    if (strcmp(s->kind, "data") == 0) {
        snprintf(v->name, sizeof v->name, "%s clip %lld", s->what, (long long)k);
        if (vg_dataset_clip(s->ds, k, v->px, NULL) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            return 1;
        }
        /* (C, T_all, H, W) in [-1, 1] -> its first T frames in [0, 1] */
        for (int64_t c = 0; c < v->C; c++)
            for (int64_t i = 0; i < v->T * plane; i++) v->px[c * v->T * plane + i] = (v->px[c * T_all * plane + i] + 1) * 0.5f;
        return 0;
    }
    snprintf(v->name, sizeof v->name, "%s video %lld", s->what, (long long)k);
    const float scale = vg_npy_dtype_of(s->npy) == VG_NPY_U8 ? 1.0f / 255.0f : 1.0f;
    const int64_t row = plane * v->C; /* one frame, (H, W, C) */
    float *frame = malloc((size_t)row * sizeof *frame);
    int rc = !frame;
    for (int64_t t = 0; !rc && t < v->T; t++) {
        const int64_t first = s->tnhw ? (t * s->n + k) * row : (k * T_all + t) * row;
        if (vg_npy_read_f32(s->npy, first, row, frame) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            rc = 1;
        }
        for (int64_t i = 0; !rc && i < plane; i++)
            for (int64_t c = 0; c < v->C; c++) v->px[(c * v->T + t) * plane + i] = frame[i * v->C + c] * scale;
    }
    free(frame);
    return rc;
}

/* A grey video (C = 1) as RGB: its plane three times. */
static int to_rgb(video *v) {
    const int64_t n = v->T * v->H * v->W;
    if (video_reserve(v, 3 * n)) return 1;
    memcpy(v->px + n, v->px, (size_t)n * sizeof *v->px);
    memcpy(v->px + 2 * n, v->px, (size_t)n * sizeof *v->px);
    v->C = 3;
    return 0;
}

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Per frame index: sums over the pairs that have it. */
typedef struct curve {
    int64_t n;
    double l1, mse, psnr, ssim;
} curve;

int eval_frames_main(const eval_frames_args *a) {
    const double t_start = now_seconds();
    if (!a->fake) {
        fprintf(stderr, "vidgan: --metric frames needs --fake PATH: the predicted videos\n");
        return 2;
    }
    const char *target = a->target ? a->target : a->data;
    if (!target) {
        fprintf(stderr, "vidgan: --metric frames needs --target PATH (the true videos) or --data shapes|mnist|fashion\n");
        return 2;
    }
    if (a->size < 0 || a->frames < 0) {
        fprintf(stderr, "vidgan: --size and --frames must be >= 0\n");
        return 2;
    }
    FILE *table = a->json && strcmp(a->json, "-") == 0 ? stderr : stdout;
    side P = {0}, G = {0};
    video p = {0}, g = {0};
    curve *cv = NULL;
    int64_t ncv = 0;
    vg_frame_scores *per = NULL;
    json_t *pairs = json_array(), *rec = NULL;
    int rc = side_open(&P, "--fake", a->fake, a, NULL);
    if (!rc) rc = side_read(&P, 0, a->frames, &p);
    if (!rc) rc = side_open(&G, a->target ? "--target" : "--data", target, a, &p);
    if (rc) goto done;
    const int64_t n = P.n;
    if (G.n != INT64_MAX && G.n != n) {
        fprintf(stderr, "vidgan: --fake %s holds %lld video%s, %s %s holds %lld: pairs need equal counts\n", a->fake,
                (long long)n, n == 1 ? "" : "s", a->target ? "--target" : "--data", target, (long long)G.n);
        rc = 2;
        goto done;
    }
    double sum[4] = {0, 0, 0, 0};
    int64_t frames_total = 0, identical = 0, grey_pairs = 0;
    for (int64_t k = 0; k < n; k++) {
        if ((k > 0 && (rc = side_read(&P, k, a->frames, &p)) != 0) || (rc = side_read(&G, k, a->frames, &g)) != 0) goto done;
        if (p.T != g.T || p.H != g.H || p.W != g.W) {
            fprintf(stderr, "vidgan: pair %lld: %s is %lldx%lld with %lld frames, %s is %lldx%lld with %lld frames: "
                            "a pair needs the same size and frame count\n",
                    (long long)k, p.name, (long long)p.W, (long long)p.H, (long long)p.T, g.name, (long long)g.W,
                    (long long)g.H, (long long)g.T);
            rc = 2;
            goto done;
        }
        if (p.H < 11 || p.W < 11) {
            fprintf(stderr, "vidgan: %s: %lldx%lld frames; SSIM's 11x11 window needs at least 11x11\n", p.name,
                    (long long)p.W, (long long)p.H);
            rc = 2;
            goto done;
        }
        if (p.C != g.C) { /* grey against RGB: the grey side replicated */
            if ((p.C == 1 ? to_rgb(&p) : to_rgb(&g)) != 0) {
                rc = 1;
                goto done;
            }
            grey_pairs++;
        }
        vg_frame_scores *grown = realloc(per, (size_t)p.T * sizeof *per);
        if (grown) per = grown;
        if (grown && p.T > ncv) {
            curve *c2 = realloc(cv, (size_t)p.T * sizeof *cv);
            if (c2) memset(c2 + ncv, 0, (size_t)(p.T - ncv) * sizeof *c2), cv = c2, ncv = p.T;
        }
        if (!grown || ncv < p.T) {
            fprintf(stderr, "vidgan: out of memory for %lld frames\n", (long long)p.T);
            rc = 1;
            goto done;
        }
        if (vg_frame_metrics(per, NULL, p.px, g.px, p.C, p.T, p.H, p.W, 1.0) != VG_OK) {
            fprintf(stderr, "vidgan: pair %lld (%s, %s): %s\n", (long long)k, p.name, g.name, vg_last_error());
            rc = 1;
            goto done;
        }
        double pair_psnr = 0;
        for (int64_t t = 0; t < p.T; t++) {
            const double psnr = per[t].psnr > EVAL_PSNR_CAP_DB ? EVAL_PSNR_CAP_DB : per[t].psnr;
            identical += per[t].mse == 0;
            sum[0] += per[t].l1, sum[1] += per[t].mse, sum[2] += psnr, sum[3] += per[t].ssim;
            cv[t].n++, cv[t].l1 += per[t].l1, cv[t].mse += per[t].mse, cv[t].psnr += psnr, cv[t].ssim += per[t].ssim;
            pair_psnr += psnr / (double)p.T;
        }
        frames_total += p.T;
        json_array_append_new(pairs, json_pack("{s:s, s:s, s:I, s:I, s:I, s:f}", "fake", p.name, "target", g.name, "frames",
                                               (json_int_t)p.T, "height", (json_int_t)p.H, "width", (json_int_t)p.W, "psnr",
                                               pair_psnr));
    }
    const double F = (double)frames_total;
    const double l1 = sum[0] / F, mse = sum[1] / F, psnr = sum[2] / F, ssim = sum[3] / F;

    fprintf(table, "paired: %lld pair%s of --fake %s (%s) and %s %s (%s), pixels in [0, 1]; %lld frames in all\n",
            (long long)n, n == 1 ? "" : "s", a->fake, P.kind, a->target ? "--target" : "--data", target,
            strcmp(G.kind, "data") == 0 ? "clips 0.. of the data seed" : G.kind, (long long)frames_total);
    if (grey_pairs) fprintf(table, "note: %lld pair%s compare a grey video with an RGB one: the grey one is replicated to RGB\n",
                            (long long)grey_pairs, grey_pairs == 1 ? "" : "s");
    fprintf(table, "\n  %-40s %12s\n", "metric (mean over all frames)", "value");
    fprintf(table, "  %-40s %12.6f\n", "L1 (mean |fake - target|)", l1);
    fprintf(table, "  %-40s %12.6g\n", "MSE", mse);
    fprintf(table, "  %-40s %12.3f\n", "PSNR (dB; an identical frame counts 100)", psnr);
    fprintf(table, "  %-40s %12.5f\n", "SSIM (11x11 Gaussian, sigma 1.5)", ssim);
    fprintf(table, "  identical frames (MSE 0, PSNR +inf): %lld of %lld\n", (long long)identical, (long long)frames_total);
    fprintf(table, "\n  per frame:   t %10s %12s %9s %9s %7s\n", "L1", "MSE", "PSNR", "SSIM", "pairs");
    for (int64_t t = 0; t < ncv; t++) {
        const double m = (double)cv[t].n;
        fprintf(table, "             %3lld %10.6f %12.6g %9.3f %9.5f %7lld\n", (long long)t, cv[t].l1 / m, cv[t].mse / m,
                cv[t].psnr / m, cv[t].ssim / m, (long long)cv[t].n);
    }
    const double seconds = now_seconds() - t_start;
    fprintf(table, "time: %.1f s (%d threads)\n", seconds, vg_get_threads());

    if (a->json) {
        json_t *c_n = json_array(), *c_l1 = json_array(), *c_mse = json_array(), *c_psnr = json_array(), *c_ssim = json_array();
        for (int64_t t = 0; t < ncv; t++) {
            const double m = (double)cv[t].n;
            json_array_append_new(c_n, json_integer(cv[t].n));
            json_array_append_new(c_l1, num_or_null(cv[t].l1 / m));
            json_array_append_new(c_mse, num_or_null(cv[t].mse / m));
            json_array_append_new(c_psnr, num_or_null(cv[t].psnr / m));
            json_array_append_new(c_ssim, num_or_null(cv[t].ssim / m));
        }
        json_t *results = json_pack("[{s:s, s:o, s:s}, {s:s, s:o, s:s}, {s:s, s:o, s:s}, {s:s, s:o, s:s}]", "metric", "l1",
                                    "value", num_or_null(l1), "better", "lower", "metric", "mse", "value", num_or_null(mse),
                                    "better", "lower", "metric", "psnr", "value", num_or_null(psnr), "better", "higher",
                                    "metric", "ssim", "value", num_or_null(ssim), "better", "higher");
#ifdef VG_GIT_COMMIT
        const char *commit = VG_GIT_COMMIT;
#else
        const char *commit = NULL;
#endif
        rec = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:s, s:f, s:f, s:o, s:o, "
                        "s:{s:o, s:o, s:o, s:o, s:o}, s:o, s:f, s:i}",
                        "vidgan_version", VG_VERSION, "commit", commit, "mode", "paired", "fake", a->fake, "fake_kind", P.kind,
                        "target", target, "target_kind", G.kind, "seed", a->seed, "n_pairs", (json_int_t)n, "frames",
                        (json_int_t)frames_total, "identical_frames", (json_int_t)identical, "pixels", "[0, 1]",
                        "data_range", 1.0, "psnr_cap_db", EVAL_PSNR_CAP_DB, "ssim",
                        json_pack("{s:i, s:f, s:f, s:f, s:s}", "window", 11, "sigma", 1.5, "k1", 0.01, "k2", 0.03, "region",
                                  "valid"),
                        "results", results, "per_frame", "pairs", c_n, "l1", c_l1, "mse", c_mse, "psnr", c_psnr, "ssim",
                        c_ssim, "pairs", pairs, "seconds", seconds, "threads", vg_get_threads());
        pairs = NULL; /* owned by rec now (or freed with it) */
        int bad = !rec;
        if (!bad && strcmp(a->json, "-") == 0) {
            bad = json_dumpf(rec, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0;
            putchar('\n');
        } else if (!bad) {
            bad = json_dump_file(rec, a->json, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) != 0;
            if (!bad) fprintf(stderr, "wrote %s\n", a->json);
        }
        if (bad) {
            fprintf(stderr, "vidgan: %s: cannot write the JSON record\n", a->json);
            rc = 1;
        }
    }
done:
    json_decref(rec);
    json_decref(pairs);
    free(p.px);
    free(g.px);
    free(per);
    free(cv);
    side_close(&P);
    side_close(&G);
    return rc;
}
