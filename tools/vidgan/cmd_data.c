/* `vidgan data`: look at a data set before training on it.
 *   vidgan data preview --data shapes -o clips.gif   a grid of real clips
 *   vidgan data info --data mnist                    geometry and classes */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "data/dataset.h"
#include "io/gif.h"
#include "io/video_frames.h"
#include "options.h"

int cmd_data(int argc, char **argv) {
    const char *what = argc > 2 ? argv[2] : "";
    if (strcmp(what, "preview") != 0 && strcmp(what, "info") != 0) {
        fprintf(stderr, "usage: vidgan data preview|info [options]   (see --help of each)\n");
        return strcmp(what, "--help") == 0 ? 0 : 2;
    }
    const char *data = "shapes", *out = "clips.gif", *data_path = NULL;
    int size = 32, frames = 16, channels = 0, n = 16, seed = 1, first = 0;
    double fps = 8;
    const cli_option opts[] = {
        {"data", OPT_STRING, &data, "data set: shapes, mnist or fashion"},
        {"data-path", OPT_STRING, &data_path, "mnist: digit cache file; fashion: IDX folder"},
        {"size", OPT_INT, &size, "frame height = width"},
        {"frames", OPT_INT, &frames, "frames per clip"},
        {"channels", OPT_INT, &channels, "channels (0: the data set's default)"},
        {"seed", OPT_INT, &seed, "data seed"},
        {"first", OPT_INT, &first, "index of the first clip"},
        {"n", OPT_INT, &n, "clips in the preview grid"},
        {"out", OPT_STRING, &out, "preview GIF"},
        {"fps", OPT_DOUBLE, &fps, "frame rate of the GIF"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 3, pos, 0, &npos,
                       "usage: vidgan data preview|info [options]\n\npreview: writes a grid of real clips as a GIF; info: prints the data set's geometry and classes.",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    vg_dataset_spec spec = {.source = data, .frames = frames, .size = size, .channels = channels,
                            .seed = (uint64_t)seed, .path = data_path};
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
    } else {
        int64_t clip = vg_dataset_clip_numel(ds);
        float *x = n > 0 && n <= 1024 ? malloc((size_t)(n * clip) * sizeof *x) : NULL;
        vg_frames grid = {0};
        vg_status st = x ? vg_dataset_batch(ds, first, n, x, NULL) : VG_ERR_INVALID;
        if (!x) fprintf(stderr, "vidgan: --n must be in [1, 1024]\n");
        if (st == VG_OK) st = vg_frames_grid(&grid, x, n, d->channels, d->frames, d->height, d->width, 0);
        if (st == VG_OK) st = vg_gif_write(out, grid.rgb, grid.T, grid.H, grid.W, fps, 0);
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
