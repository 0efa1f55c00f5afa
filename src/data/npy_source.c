/* npy_source.c — a data set read from a NumPy .npy array of videos
 * (dataset.h): source = the file's path (ending in .npy), layout in
 * spec->npy_layout:
 *   "NTHW" / "NTHWC" (default)  (N, T, H, W) or (N, T, H, W, C), C 1 or 3
 *   "TNHW"                      (T, N, H, W), e.g. Moving MNIST's
 *                               mnist_test_seq.npy (20, 10000, 64, 64)
 * Pixels: uint8 in [0, 255] or float (f4 / f8) in [0, 1], mapped to [-1, 1]
 * (floats clamped, NaN -> -1). Clip i is video i mod N, its first T frames
 * (T above the file's frame count is an error at open). Frames are resized
 * to size x size when the file's H x W differs: each axis independently, an
 * area average over the source pixels of the output cell when shrinking,
 * nearest when growing (so integer factors are exact box filters). Output
 * channels: the file's by default; 3 from a 1-channel file replicates the
 * grey, 1 from a 3-channel file is luma (0.299 R + 0.587 G + 0.114 B).
 * crop random: the frame is resized keeping its aspect (shorter side S,
 * longer floor(S * long / short), the same cells) and clip i keeps the
 * S x S window at its drawn offset along the longer side (a square array:
 * the whole frame). hflip mirrors clip i's columns when its draw says so.
 * The file is memory-mapped and read-only: clips from any number of threads.
 * A 5-D X.npy with a clip cache's X.json beside it (clip_cache.h) takes its
 * labels and class names from there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/status.h"
#include "data/clip_cache.h"
#include "data/dataset_impl.h"
#include "io/frame_fit.h"
#include "io/npy.h"

struct vg_npy_source {
    vg_npy *f;
    char *path;
    int tnhw;          /* 1: (T, N, H, W) */
    int64_t N, Tf, H, W;
    int Cf, C, T, S;   /* file / output channels, clip frames, output size */
    int RW, RH;        /* resized frame: S x S, or with crop random the aspect-kept size */
    int64_t *x0, *x1, *y0, *y1; /* source ranges [a, b) per resized column (RW) / row (RH) */
    int64_t *labels;   /* (N) from a clip cache's clips.json, or NULL: class 0 */
    char **class_names;
    int num_classes;
};

/* Source range of output cell o of S over n source pixels. */
static void cell_range(int64_t n, int S, int o, int64_t *a, int64_t *b) {
    if (n >= S) { /* shrinking (or equal): every source pixel whose index maps into the cell */
        *a = (int64_t)o * n / S;
        *b = (int64_t)(o + 1) * n / S;
        if (*b <= *a) *b = *a + 1;
    } else { /* growing: nearest, by the cell centre */
        int64_t s = (int64_t)((2 * (int64_t)o + 1) * n / (2 * (int64_t)S));
        *a = s;
        *b = s + 1;
    }
}

vg_status vg_npy_source_open(vg_dataset *ds, const vg_dataset_spec *spec, const char *path) {
    vg_npy_source *P = calloc(1, sizeof *P);
    if (!P) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    ds->npy = P;
    if (!(P->path = strdup(path))) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    ds->desc.source = P->path;
    const char *layout = spec->npy_layout ? spec->npy_layout : "NTHW";
    if (strcmp(layout, "TNHW") == 0) P->tnhw = 1;
    else if (strcmp(layout, "NTHW") != 0 && strcmp(layout, "NTHWC") != 0)
        return vg_fail(VG_ERR_INVALID, "%s: npy layout \"%s\": expected NTHW, NTHWC or TNHW", path, layout);
    vg_status st = vg_npy_open(&P->f, path);
    if (st != VG_OK) return st;
    const int nd = vg_npy_ndim(P->f);
    const int64_t *sh = vg_npy_shape(P->f);
    if (P->tnhw) {
        if (nd != 4)
            return vg_fail(VG_ERR_INVALID, "%s: layout TNHW needs a 4-D array (T, N, H, W), the file has %d dimensions", path, nd);
        P->Tf = sh[0], P->N = sh[1], P->H = sh[2], P->W = sh[3], P->Cf = 1;
    } else {
        if (nd != 4 && nd != 5)
            return vg_fail(VG_ERR_INVALID, "%s: layout %s needs a 4-D (N, T, H, W) or 5-D (N, T, H, W, C) array, the file has %d dimensions",
                           path, layout, nd);
        P->N = sh[0], P->Tf = sh[1], P->H = sh[2], P->W = sh[3];
        if (nd == 5 && sh[4] != 1 && sh[4] != 3)
            return vg_fail(VG_ERR_INVALID, "%s: %lld channels (last axis): expected 1 or 3", path, (long long)sh[4]);
        P->Cf = nd == 5 ? (int)sh[4] : 1;
    }
    if (P->N < 1 || P->H < 1 || P->W < 1)
        return vg_fail(VG_ERR_INVALID, "%s: the array holds no videos or empty frames (N %lld, H %lld, W %lld)", path,
                       (long long)P->N, (long long)P->H, (long long)P->W);
    P->T = spec->frames;
    P->S = spec->size;
    if (P->T > P->Tf)
        return vg_fail(VG_ERR_INVALID, "%s: clips of %d frames, but the videos have only %lld", path, P->T, (long long)P->Tf);
    P->C = spec->channels ? spec->channels : P->Cf;
    if (P->C != 1 && P->C != 3) return vg_fail(VG_ERR_INVALID, "%s: channels %d: expected 1 or 3", path, spec->channels);
    P->RW = P->RH = P->S;
    if (spec->crop == VG_CROP_RANDOM)
        vg_fit_resized(P->W > INT32_MAX ? INT32_MAX : (int)P->W, P->H > INT32_MAX ? INT32_MAX : (int)P->H, P->S, &P->RW,
                       &P->RH);
    if (spec->crop == VG_CROP_RANDOM && (int64_t)P->RW * P->RH > ((int64_t)1 << 26))
        return vg_fail(VG_ERR_INVALID, "%s: frames of %lldx%lld resized to a shorter side of %d are %dx%d: too elongated for "
                       "a random crop", path, (long long)P->W, (long long)P->H, P->S, P->RW, P->RH);
    P->x0 = malloc((size_t)P->RW * sizeof *P->x0);
    P->x1 = malloc((size_t)P->RW * sizeof *P->x1);
    P->y0 = malloc((size_t)P->RH * sizeof *P->y0);
    P->y1 = malloc((size_t)P->RH * sizeof *P->y1);
    if (!P->x0 || !P->x1 || !P->y0 || !P->y1) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    for (int o = 0; o < P->RW; o++) cell_range(P->W, P->RW, o, &P->x0[o], &P->x1[o]);
    for (int o = 0; o < P->RH; o++) cell_range(P->H, P->RH, o, &P->y0[o], &P->y1[o]);
    int64_t frame;
    if (!vg_shape_numel(3, (int64_t[]){P->H, P->W, P->Cf}, &frame) || frame > ((int64_t)1 << 40))
        return vg_fail(VG_ERR_NOMEM, "%s: frames too large", path);
    ds->desc.channels = P->C;
    ds->desc.num_classes = 1;
    snprintf(ds->name_buf, sizeof ds->name_buf, "video");
    ds->names[0] = ds->name_buf;
    char npy_path[4096], json_path[4096];
    if (!P->tnhw && nd == 5 && vg_clip_cache_find(path, npy_path, json_path, sizeof npy_path)) {
        /* a prepared clip cache: its labels and class names */
        st = vg_clip_cache_read_labels(json_path, sh, &P->labels, &P->class_names, &P->num_classes);
        if (st != VG_OK) return st;
        ds->desc.num_classes = P->num_classes;
        ds->desc.class_names = (const char *const *)P->class_names;
    }
    ds->desc.size = P->N;
    ds->desc.infinite = 1;
    return VG_OK;
}

void vg_npy_source_close(vg_dataset *ds) {
    vg_npy_source *P = ds->npy;
    if (!P) return;
    vg_npy_close(P->f);
    vg_clip_cache_labels_free(P->labels, P->class_names, P->num_classes);
    free(P->x0);
    free(P->x1);
    free(P->y0);
    free(P->y1);
    free(P->path);
    free(P);
    ds->npy = NULL;
}

void vg_npy_source_sample(const vg_dataset *ds, int64_t index, vg_clip_sample *out) {
    const vg_npy_source *P = ds->npy;
    out->item = index % P->N;
    int offset, flip;
    vg_clip_aug(ds->seed, index, (P->RW > P->RH ? P->RW : P->RH) - P->S, &offset, &flip);
    out->crop_x = out->crop_y = -1;
    if (ds->crop == VG_CROP_RANDOM) {
        out->crop_x = P->RW > P->RH ? offset : 0;
        out->crop_y = P->RW > P->RH ? 0 : offset;
    }
    out->flip = ds->hflip ? flip : 0;
}

vg_status vg_npy_source_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label) {
    const vg_npy_source *P = ds->npy;
    vg_clip_sample cs = {0};
    vg_npy_source_sample(ds, index, &cs);
    const int64_t n = cs.item;
    const int ox = cs.crop_x > 0 ? cs.crop_x : 0, oy = cs.crop_y > 0 ? cs.crop_y : 0;
    const int64_t plane_in = P->H * P->W * P->Cf;
    const size_t plane = (size_t)P->S * P->S;
    const float scale = vg_npy_dtype_of(P->f) == VG_NPY_U8 ? 1.0f / 255.0f : 1.0f;
    float *buf = malloc((size_t)plane_in * sizeof *buf);
    if (!buf) return vg_fail(VG_ERR_NOMEM, "%s: out of memory for a frame", P->path);
    for (int t = 0; t < P->T; t++) {
        const int64_t frame = P->tnhw ? (int64_t)t * P->N + n : n * P->Tf + t;
        vg_status st = vg_npy_read_f32(P->f, frame * plane_in, plane_in, buf);
        if (st != VG_OK) {
            free(buf);
            return st;
        }
        for (int y = 0; y < P->S; y++)
            for (int x = 0; x < P->S; x++) {
                const int ry = oy + y, rx = ox + (cs.flip ? P->S - 1 - x : x); /* cell of the resized frame */
                double acc[3] = {0, 0, 0};
                for (int64_t sy = P->y0[ry]; sy < P->y1[ry]; sy++)
                    for (int64_t sx = P->x0[rx]; sx < P->x1[rx]; sx++) {
                        const float *px = buf + (sy * P->W + sx) * P->Cf;
                        for (int c = 0; c < P->Cf; c++) acc[c] += px[c];
                    }
                const double inv = 1.0 / (double)((P->y1[ry] - P->y0[ry]) * (P->x1[rx] - P->x0[rx]));
                float v[3];
                for (int c = 0; c < P->Cf; c++) {
                    float u = (float)(acc[c] * inv) * scale; /* in [0, 1] */
                    u = 2.0f * u - 1.0f;
                    v[c] = u > 1.0f ? 1.0f : u >= -1.0f ? u : -1.0f; /* NaN -> -1 */
                }
                const size_t p = (size_t)y * P->S + x;
                if (P->C == P->Cf) {
                    for (int c = 0; c < P->C; c++) out[((size_t)c * P->T + t) * plane + p] = v[c];
                } else if (P->C == 3) { /* grey -> RGB */
                    for (int c = 0; c < 3; c++) out[((size_t)c * P->T + t) * plane + p] = v[0];
                } else { /* RGB -> luma */
                    out[(size_t)t * plane + p] = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
                }
            }
    }
    free(buf);
    if (label) *label = P->labels ? P->labels[n] : 0;
    return VG_OK;
}
