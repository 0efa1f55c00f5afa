/* The shared data set options; see cli_data.h. */
#include "cli_data.h"

#include <math.h>
#include <stdio.h>

int cli_data_check(const cli_data *d) {
    vg_crop crop;
    vg_labels labels;
    if (d->crop && !vg_crop_parse(d->crop, &crop)) {
        fprintf(stderr, "vidgan: --crop must be centre or random, got '%s'\n", d->crop);
        return 2;
    }
    if (d->labels && !vg_labels_parse(d->labels, &labels)) {
        fprintf(stderr, "vidgan: --labels must be folders or none, got '%s'\n", d->labels);
        return 2;
    }
    if (!(d->clip_fps >= 0 && d->clip_fps <= 1000)) {
        fprintf(stderr, "vidgan: --clip-fps %g: expected a frame rate in (0, 1000], or 0 for off\n", d->clip_fps);
        return 2;
    }
    if (d->stride < 0 || d->stride > 10000) {
        fprintf(stderr, "vidgan: --stride %d: expected 1..10000\n", d->stride);
        return 2;
    }
    if (d->clip_fps > 0 && d->stride > 1) {
        fprintf(stderr,
                "vidgan: --clip-fps %g and --stride %d: clip frames are taken at a rate or every N-th, give one of them\n",
                d->clip_fps, d->stride);
        return 2;
    }
    return 0;
}

int cli_data_spec(const cli_data *d, vg_dataset_spec *spec) {
    int rc = cli_data_check(d);
    if (rc) return rc;
    spec->source = d->data;
    spec->path = d->data_path;
    spec->npy_layout = d->npy_layout;
    spec->stride = d->stride;
    spec->fps = d->clip_fps;
    spec->crop = VG_CROP_CENTRE;
    spec->labels = VG_LABELS_FOLDERS;
    if (d->crop) vg_crop_parse(d->crop, &spec->crop);
    if (d->labels) vg_labels_parse(d->labels, &spec->labels);
    spec->hflip = d->hflip != 0;
    spec->skip_bad = d->skip_bad != 0;
    return 0;
}

void cli_data_describe(FILE *f, const vg_dataset_spec *spec) {
    /* the generated sets have no frames to pick, nothing to crop, own labels */
    if (vg_dataset_is_generated(spec->source)) return;
    const int stride = spec->stride > 1 ? spec->stride : 1;
    if (spec->fps > 0)
        fprintf(f, "sampling: frames at %g fps (from each video's own rate)", spec->fps);
    else if (stride > 1)
        fprintf(f, "sampling: one frame in %d", stride);
    else
        fprintf(f, "sampling: consecutive frames");
    fprintf(f, ", crop %s, %s, labels %s\n", vg_crop_name(spec->crop), spec->hflip ? "random flips" : "no flips",
            vg_labels_name(spec->labels));
}
