/* `vidgan data`: look at a data set before training on it, or prepare it.
 *   vidgan data preview --data shapes -o clips.gif   a grid of real clips (.gif or .mp4)
 *   vidgan data info --data mnist                    geometry and classes
 *   vidgan data info --data DIR                      a folder of videos or of frame folders:
 *                                                    what was found, what was skipped and why
 *   vidgan data prepare DIR -o cache/                decode once into a uint8 clip cache
 *                                                    (train with --data cache/)
 *   vidgan data bench --data DIR                     clip decoding speed through the
 *                                                    prefetch queue */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_data.h"
#include "commands.h"
#include "data/clip_cache.h"
#include "data/dataset.h"
#include "data/prefetch.h"
#include "data/video_folder.h"
#include "io/gif.h"
#include "io/mp4.h"
#include "io/video_frames.h"
#include "options.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* On a terminal a counter rewritten in place; otherwise (a log file) one
 * line per tenth of the work. */
static void print_progress(int64_t done, int64_t n) {
    static int tty = -1;
    static int64_t last_tenth = -1;
    if (tty < 0) tty = isatty(fileno(stderr));
    if (tty) {
        fprintf(stderr, "\r  %lld / %lld clips", (long long)done, (long long)n);
        if (done == n) fputc('\n', stderr);
        return;
    }
    const int64_t tenth = n > 0 ? done * 10 / n : 10;
    if (tenth != last_tenth) fprintf(stderr, "  %lld / %lld clips\n", (long long)done, (long long)n);
    last_tenth = tenth;
}

static void print_skipped(const vg_folder_report *r, int list) {
    printf("skipped: %d (%d unreadable, %d too short)\n", r->num_skipped, r->num_bad, r->num_short);
    for (int i = 0; i < r->num_skipped && i < list; i++) printf("  %s: %s\n", r->skipped[i].path, r->skipped[i].reason);
    if (r->num_skipped > list) printf("  ...\n");
}

/* Decode n clips through the prefetch queue (batches of `batch`) and print
 * clips/s and frames/s. */
static int run_bench(const vg_dataset *ds, int n, int batch, int workers, int depth) {
    const vg_dataset_desc *d = vg_dataset_info(ds);
    const int64_t numel = vg_dataset_clip_numel(ds);
    float *x = malloc((size_t)batch * (size_t)numel * sizeof *x);
    vg_prefetch *pf = NULL;
    if (!x || vg_prefetch_open(&pf, ds, batch, depth, workers) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", x ? vg_last_error() : "out of memory");
        free(x);
        return 1;
    }
    int batches = (n + batch - 1) / batch, rc = 0;
    double t0 = now_s();
    for (int b = 0; b < batches; b++)
        if (vg_prefetch_get(pf, (int64_t)b * batch, x, NULL, NULL) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            rc = 1;
            break;
        }
    double s = now_s() - t0;
    vg_prefetch_close(pf);
    free(x);
    if (rc == 0) {
        double clips = (double)batches * batch;
        printf("%s: %.0f clips of %dx%dx%d (C %d) in %.2f s with %d worker%s: %.1f clips/s, %.0f frames/s\n", d->source,
               clips, d->height, d->width, d->frames, d->channels, s, workers, workers > 1 ? "s" : "", clips / s,
               clips * d->frames / s);
    }
    return rc;
}

int cmd_data(int argc, char **argv) {
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "preview") != 0 && strcmp(what, "info") != 0 && strcmp(what, "prepare") != 0 &&
        strcmp(what, "bench") != 0) {
        fprintf(stderr, "usage: vidgan data preview|info|prepare|bench [options]   (see --help of each)\n");
        return strcmp(what, "--help") == 0 ? 0 : 2;
    }
    const int prepare = strcmp(what, "prepare") == 0;
    cli_data dopt = CLI_DATA_DEFAULTS;
    const char *out = prepare ? NULL : "clips.gif";
    int size = 32, frames = 16, channels = 0, n = 16, seed = 1, first = 0, list = 20;
    int clips = 0, workers = 1, depth = 2, batch = 16;
    double fps = 8;
    const cli_option opts[] = {
        CLI_DATA_OPTIONS(&dopt),
        {"size", OPT_INT, &size, "frame height = width"},
        {"frames", OPT_INT, &frames, "frames per clip"},
        {"channels", OPT_INT, &channels, "channels (0: the data set's default)"},
        {"list", OPT_INT, &list, "info on a folder: videos and skipped files to list"},
        {"seed", OPT_INT, &seed, "data seed"},
        {"first", OPT_INT, &first, "index of the first clip"},
        {"n", OPT_INT, &n, "clips in the preview grid"},
        {"out", OPT_STRING, &out, "preview: NAME.gif or NAME.mp4"},
        {"fps", OPT_DOUBLE, &fps, "frame rate of the preview"},
        {"clips", OPT_INT, &clips, "prepare: clips to store (0: one nominal epoch); bench: clips to decode (0: 256)"},
        {"workers", OPT_INT, &workers, "bench: decoding threads"},
        {"prefetch", OPT_INT, &depth, "bench: batches decoded ahead"},
        {"batch", OPT_INT, &batch, "bench: clips per batch"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 3, pos, 1, &npos,
                       "usage: vidgan data preview|info|prepare|bench [SRC] [options]\n\npreview: writes a grid of real clips as a GIF or MP4; info: prints the data set's geometry and classes (for a folder of videos or frame folders also the videos found and the files skipped); prepare SRC -o DIR: decodes clips 'first' .. of SRC once into DIR/clips.npy (uint8 N,T,H,W,C) + DIR/clips.json (labels, classes) for `vidgan train --data DIR`; bench: clip decoding speed through the prefetch queue. SRC is the same as --data.",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    if (npos == 1) dopt.data = pos[0];
    if (prepare && !out) {
        fprintf(stderr, "vidgan: data prepare needs the cache folder: -o DIR\n");
        return 2;
    }
    vg_dataset_spec spec = {.frames = frames, .size = size, .channels = channels, .seed = (uint64_t)seed};
    if ((rc = cli_data_spec(&dopt, &spec)) != 0) return rc;
    const size_t olen = strlen(out);
    const int mp4 = olen > 4 && strcmp(out + olen - 4, ".mp4") == 0;
    if (strcmp(what, "preview") == 0 && !mp4 && !(olen > 4 && strcmp(out + olen - 4, ".gif") == 0)) {
        fprintf(stderr, "vidgan: %s: preview writes NAME.gif or NAME.mp4\n", out);
        return 2;
    }
    vg_dataset *ds;
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        return 1;
    }
    const vg_dataset_desc *d = vg_dataset_info(ds);
    int exit_code = 0;
    if (strcmp(what, "info") == 0) {
        printf("data set: %s\nclip: C %d, T %d, H %d, W %d\nclips per epoch: %lld%s\nclasses: %d\n", d->source, d->channels,
               d->frames, d->height, d->width, (long long)d->size, !d->infinite ? ""
               : vg_dataset_is_generated(d->source) ? " (generated: every index is a new clip)"
                                               : " (an epoch; clip indices wrap around)",
               d->num_classes);
        for (int i = 0; i < d->num_classes && i < 12; i++) printf("  %d: %s\n", i, d->class_names[i]);
        if (d->num_classes > 12) printf("  ...\n");
        cli_data_describe(stdout, &spec);
        const vg_folder_report *r = vg_video_folder_report(ds);
        if (r) {
            printf("folder: %s\nlayout: %s\nvideos: %d usable, %lld frames in all; ", r->root,
                   r->frame_folders ? "frame folders (one sub-folder of PNG/JPEG frames per video)" : "video files",
                   r->num_videos, (long long)r->total_frames);
            if (r->clip_span > 0) printf("a clip spans %lld frames\n", (long long)r->clip_span);
            else printf("clips of %d frames at %g fps (the span in each video below)\n", d->frames, spec.fps);
            for (int i = 0; i < r->num_videos && i < list; i++) {
                const vg_folder_video *v = &r->videos[i];
                printf("  %s: %dx%d, %.3g fps, %lld frames, %s, class %d (%s)", v->path, v->width, v->height, v->fps,
                       (long long)v->frames, v->codec, v->label, d->class_names[v->label]);
                if (r->clip_span == 0) printf(", a clip spans %lld frames", (long long)v->span);
                putchar('\n');
            }
            if (r->num_videos > list) printf("  ... (%d more; --list N shows more)\n", r->num_videos - list);
            print_skipped(r, list);
        }
    } else if (prepare) {
        int64_t count = clips > 0 ? clips : d->size;
        fprintf(stderr, "preparing %lld clips of %s (%dx%dx%d, C %d) in %s\n", (long long)count, d->source, d->height,
                d->width, d->frames, d->channels, out);
        vg_status st = vg_clip_cache_write(ds, &spec, out, first, count, print_progress);
        if (st != VG_OK) fprintf(stderr, "\nvidgan: %s\n", vg_last_error());
        else fprintf(stderr, "wrote %s/clips.npy and clips.json: train with --data %s\n", out, out);
        const vg_folder_report *r = vg_video_folder_report(ds);
        if (r && r->num_skipped) {
            fflush(stdout);
            print_skipped(r, list);
        }
        exit_code = st == VG_OK ? 0 : 1;
    } else if (strcmp(what, "bench") == 0) {
        exit_code = run_bench(ds, clips > 0 ? clips : 256, batch, workers, depth);
    } else {
        int64_t clip = vg_dataset_clip_numel(ds);
        float *x = n > 0 && n <= 1024 ? malloc((size_t)(n * clip) * sizeof *x) : NULL;
        vg_frames grid = {0};
        vg_status st = x ? vg_dataset_batch(ds, first, n, x, NULL) : VG_ERR_INVALID;
        if (!x) fprintf(stderr, "vidgan: --n must be in [1, 1024]\n");
        if (st == VG_OK) st = vg_frames_grid(&grid, x, n, d->channels, d->frames, d->height, d->width, 0);
        if (st == VG_OK)
            st = mp4 ? vg_mp4_write(out, grid.rgb, grid.T, grid.H, grid.W, fps)
                     : vg_gif_write(out, grid.rgb, grid.T, grid.H, grid.W, fps, 0);
        if (st == VG_OK)
            fprintf(stderr, "wrote %s (%d clips of %s)\n", out, n, d->source);
        else if (x) fprintf(stderr, "vidgan: %s\n", vg_last_error());
        exit_code = st == VG_OK ? 0 : 1;
        vg_frames_free(&grid);
        free(x);
    }
    vg_dataset_close(ds);
    return exit_code;
}
