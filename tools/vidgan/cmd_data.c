/* `vidgan data`: look at a data set before training on it.
 *   vidgan data preview --data shapes -o clips.gif   a grid of real clips (.gif or .mp4)
 *   vidgan data info --data mnist                    geometry and classes
 *   vidgan data info --data DIR                      a folder of videos: what was found,
 *                                                    what was skipped and why */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "data/dataset.h"
#include "data/video_folder.h"
#include "io/gif.h"
#include "io/mp4.h"
#include "io/video_frames.h"
#include "options.h"

int cmd_data(int argc, char **argv) {
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "preview") != 0 && strcmp(what, "info") != 0) {
        fprintf(stderr, "usage: vidgan data preview|info [options]   (see --help of each)\n");
        return strcmp(what, "--help") == 0 ? 0 : 2;
    }
    const char *data = "shapes", *out = "clips.gif", *data_path = NULL;
    int size = 32, frames = 16, channels = 0, n = 16, seed = 1, first = 0, stride = 1, skip_bad = 0, list = 20;
    double fps = 8;
    const cli_option opts[] = {
        {"data", OPT_STRING, &data, "data set: shapes, mnist, fashion, or a folder of videos"},
        {"data-path", OPT_STRING, &data_path, "mnist: digit cache file; fashion: IDX folder"},
        {"size", OPT_INT, &size, "frame height = width"},
        {"frames", OPT_INT, &frames, "frames per clip"},
        {"channels", OPT_INT, &channels, "channels (0: the data set's default)"},
        {"stride", OPT_INT, &stride, "folder of videos: frame step inside a clip"},
        {"skip-bad", OPT_FLAG, &skip_bad, "folder of videos: skip unreadable files (listed by info) instead of failing"},
        {"list", OPT_INT, &list, "info on a folder: videos and skipped files to list"},
        {"seed", OPT_INT, &seed, "data seed"},
        {"first", OPT_INT, &first, "index of the first clip"},
        {"n", OPT_INT, &n, "clips in the preview grid"},
        {"out", OPT_STRING, &out, "preview: NAME.gif or NAME.mp4"},
        {"fps", OPT_DOUBLE, &fps, "frame rate of the preview"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 3, pos, 0, &npos,
                       "usage: vidgan data preview|info [options]\n\npreview: writes a grid of real clips as a GIF or MP4; info: prints the data set's geometry and classes (for a folder of videos also the videos found and the files skipped).",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    vg_dataset_spec spec = {.source = data, .frames = frames, .size = size, .channels = channels,
                            .seed = (uint64_t)seed, .path = data_path, .stride = stride, .skip_bad = skip_bad};
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
               d->frames, d->height, d->width, (long long)d->size, d->infinite ? " (generated: every index is a clip)" : "",
               d->num_classes);
        for (int i = 0; i < d->num_classes && i < 12; i++) printf("  %d: %s\n", i, d->class_names[i]);
        if (d->num_classes > 12) printf("  ...\n");
        const vg_folder_report *r = vg_video_folder_report(ds);
        if (r) {
            printf("folder: %s\nvideos: %d usable, %lld frames in all; a clip spans %lld frames\n", r->root, r->num_videos,
                   (long long)r->total_frames, (long long)r->clip_span);
            for (int i = 0; i < r->num_videos && i < list; i++) {
                const vg_folder_video *v = &r->videos[i];
                printf("  %s: %dx%d, %.3g fps, %lld frames, %s, class %d (%s)\n", v->path, v->width, v->height, v->fps,
                       (long long)v->frames, v->codec, v->label, d->class_names[v->label]);
            }
            if (r->num_videos > list) printf("  ... (%d more; --list N shows more)\n", r->num_videos - list);
            printf("skipped: %d (%d unreadable, %d too short)\n", r->num_skipped, r->num_bad, r->num_short);
            for (int i = 0; i < r->num_skipped && i < list; i++)
                printf("  %s: %s\n", r->skipped[i].path, r->skipped[i].reason);
            if (r->num_skipped > list) printf("  ...\n");
        }
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
