/* dataset.c — the vg_dataset interface (dataset.h): argument checks,
 * defaults, dispatch to the sources (shapes.c, moving_mnist.c,
 * video_folder.c, npy_source.c) and batches filled in parallel. The sources own the recipes; this file owns the
 * contract: clips are pure functions of (seed, index), so a batch is the same
 * for any thread count and any clip can be regenerated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checked.h"
#include "core/status.h"
#include "core/threads.h"
#include "data/clip_cache.h"
#include "data/dataset_impl.h"

#define DEFAULT_FRAMES 16
#define DEFAULT_SIZE 64
#define MAX_FRAMES 65536
#define MAX_SIZE 8192

const char *vg_crop_name(vg_crop c) { return c == VG_CROP_RANDOM ? "random" : "centre"; }

int vg_crop_parse(const char *s, vg_crop *out) {
    if (!s) return 0;
    if (strcmp(s, "centre") == 0 || strcmp(s, "center") == 0) *out = VG_CROP_CENTRE;
    else if (strcmp(s, "random") == 0) *out = VG_CROP_RANDOM;
    else return 0;
    return 1;
}

const char *vg_labels_name(vg_labels l) { return l == VG_LABELS_NONE ? "none" : "folders"; }

int vg_labels_parse(const char *s, vg_labels *out) {
    if (!s) return 0;
    if (strcmp(s, "folders") == 0) *out = VG_LABELS_FOLDERS;
    else if (strcmp(s, "none") == 0) *out = VG_LABELS_NONE;
    else return 0;
    return 1;
}

/* The sampling and augmentation fields on their own; which source may use
 * them is checked once the source is known. */
static vg_status check_sampling(const vg_dataset_spec *spec) {
    if ((unsigned)spec->crop >= VG_CROP_COUNT)
        return vg_fail(VG_ERR_INVALID, "%s: crop %d: expected VG_CROP_CENTRE or VG_CROP_RANDOM", spec->source, (int)spec->crop);
    if ((unsigned)spec->labels >= VG_LABELS_COUNT)
        return vg_fail(VG_ERR_INVALID, "%s: labels %d: expected VG_LABELS_FOLDERS or VG_LABELS_NONE", spec->source,
                       (int)spec->labels);
    if (spec->hflip != 0 && spec->hflip != 1)
        return vg_fail(VG_ERR_INVALID, "%s: hflip %d: expected 0 or 1", spec->source, spec->hflip);
    if (!(spec->fps >= 0 && spec->fps <= 1000))
        return vg_fail(VG_ERR_INVALID, "%s: fps %g: expected 0 (off) or a frame rate in (0, 1000]", spec->source, spec->fps);
    if (spec->fps > 0 && spec->stride > 1)
        return vg_fail(VG_ERR_INVALID,
                       "%s: fps %g (--clip-fps) and stride %d (--stride) both given: frames are taken at a rate or every "
                       "stride-th, give one of them",
                       spec->source, spec->fps, spec->stride);
    return VG_OK;
}

/* The generated sets, in the order of `which` below. */
static const char *const generated_sources[3] = {"shapes", "mnist", "fashion"};

int vg_dataset_is_generated(const char *source) {
    for (int i = 0; source && i < 3; i++)
        if (strcmp(source, generated_sources[i]) == 0) return 1;
    return 0;
}

vg_status vg_dataset_open(vg_dataset **out, const vg_dataset_spec *spec_in) {
    if (!out) return vg_fail(VG_ERR_INVALID, "vg_dataset_open: out is NULL");
    *out = NULL;
    if (!spec_in || !spec_in->source) return vg_fail(VG_ERR_INVALID, "vg_dataset_open: no source named");
    vg_dataset_spec spec = *spec_in;
    if (spec.frames == 0) spec.frames = DEFAULT_FRAMES;
    if (spec.size == 0) spec.size = DEFAULT_SIZE;
    if (spec.frames < 1 || spec.frames > MAX_FRAMES)
        return vg_fail(VG_ERR_INVALID, "%s: frames %d: expected 1..%d", spec.source, spec.frames, MAX_FRAMES);
    if (spec.size < 1 || spec.size > MAX_SIZE)
        return vg_fail(VG_ERR_INVALID, "%s: size %d: expected at most %d", spec.source, spec.size, MAX_SIZE);

    vg_status st = check_sampling(&spec);
    if (st != VG_OK) return st;

    int which = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(spec.source, generated_sources[i]) == 0) which = i;
    if (which >= 0 && (spec.crop != VG_CROP_CENTRE || spec.hflip))
        return vg_fail(VG_ERR_INVALID,
                       "%s: %s applies to real data sources (folders of videos or of frame folders, .npy arrays, clip "
                       "caches); the generated sets are drawn at their size",
                       spec.source, spec.hflip ? "hflip (--hflip)" : "random crop (--crop random)");
    if (which >= 0 && spec.fps > 0)
        return vg_fail(VG_ERR_INVALID, "%s: a frame rate (fps %g, --clip-fps) applies to video files; the generated sets have none",
                       spec.source, spec.fps);
    /* a folder of videos: "folder" with path, or source naming a directory
     * (unless it is a prepared clip cache: its clips.npy is the source) */
    const char *folder = NULL;
    struct stat sb;
    char cache_npy[4096], cache_json[4096];
    const int cache = which < 0 && vg_clip_cache_find(spec.source, cache_npy, cache_json, sizeof cache_npy);
    if (cache) {
    } else if (which < 0 && strcmp(spec.source, "folder") == 0) {
        if (!spec.path || !*spec.path)
            return vg_fail(VG_ERR_INVALID, "data set \"folder\": no directory given (path)");
        folder = spec.path;
    } else if (which < 0 && stat(spec.source, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        folder = spec.source;
    }
    /* a NumPy array of videos: source = a path ending in .npy */
    const char *npy = cache ? cache_npy : NULL;
    size_t sl = strlen(spec.source);
    if (which < 0 && !folder && sl > 4 && strcmp(spec.source + sl - 4, ".npy") == 0) npy = spec.source;
    if (which < 0 && !folder && !npy)
        return vg_fail(VG_ERR_INVALID,
                       "unknown data set \"%s\": expected shapes, mnist, fashion, a directory of videos (no such directory) or a .npy file",
                       spec.source);
    if (npy && spec.fps > 0)
        return vg_fail(VG_ERR_INVALID,
                       "%s: a frame rate (fps %g, --clip-fps) applies to video files; a %s has no frame rate (sample at a "
                       "rate when preparing it from the videos)",
                       npy, spec.fps, cache ? "clip cache" : ".npy array");

    vg_dataset *ds = calloc(1, sizeof *ds);
    if (!ds) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", spec.source);
    ds->seed = spec.seed;
    ds->crop = spec.crop;
    ds->hflip = spec.hflip;
    ds->fps = spec.fps;
    ds->labels = spec.labels;
    ds->desc.source = which >= 0 ? generated_sources[which] : folder;
    ds->desc.frames = spec.frames;
    ds->desc.height = ds->desc.width = spec.size;
    ds->desc.infinite = 1;
    ds->desc.class_names = ds->names;
    if (npy) {
        ds->kind = VG_DS_NPY;
        st = vg_npy_source_open(ds, &spec, npy);
    } else if (folder) {
        ds->kind = VG_DS_FOLDER;
        st = vg_folder_open(ds, &spec, folder);
    } else if (which == 0) {
        ds->kind = VG_DS_SHAPES;
        st = vg_shapes_open(ds, &spec);
    } else {
        ds->kind = VG_DS_DIGITS;
        st = vg_digits_open(ds, &spec, which == 2);
    }
    if (st == VG_OK && spec.labels == VG_LABELS_NONE) { /* one class for every source */
        snprintf(ds->name_buf, sizeof ds->name_buf, "all");
        ds->names[0] = ds->name_buf;
        ds->desc.class_names = ds->names;
        ds->desc.num_classes = 1;
    }
    int64_t numel;
    if (st == VG_OK && !vg_shape_numel(4, (int64_t[]){ds->desc.channels, ds->desc.frames, ds->desc.height, ds->desc.width}, &numel))
        st = vg_fail(VG_ERR_NOMEM, "%s: clip size overflows", spec.source);
    if (st != VG_OK) {
        vg_dataset_close(ds);
        return st;
    }
    *out = ds;
    return VG_OK;
}

void vg_dataset_close(vg_dataset *ds) {
    if (!ds) return;
    if (ds->kind == VG_DS_SHAPES) vg_shapes_close(ds);
    else if (ds->kind == VG_DS_FOLDER) vg_folder_close(ds);
    else if (ds->kind == VG_DS_NPY) vg_npy_source_close(ds);
    else vg_digits_close(ds);
    free(ds);
}

const vg_dataset_desc *vg_dataset_info(const vg_dataset *ds) { return ds ? &ds->desc : NULL; }

int64_t vg_dataset_clip_numel(const vg_dataset *ds) {
    return (int64_t)ds->desc.channels * ds->desc.frames * ds->desc.height * ds->desc.width;
}

static vg_status clip_any(const vg_dataset *ds, int64_t index, float *out, int64_t *label) {
    vg_status st = VG_OK;
    if (ds->kind == VG_DS_FOLDER) st = vg_folder_clip(ds, index, out, label);
    else if (ds->kind == VG_DS_NPY) st = vg_npy_source_clip(ds, index, out, label);
    else if (ds->kind == VG_DS_SHAPES) vg_shapes_clip(ds, index, out, label);
    else vg_digits_clip(ds, index, out, label);
    if (st == VG_OK && label && ds->labels == VG_LABELS_NONE) *label = 0;
    return st;
}

vg_status vg_dataset_clip_sample(const vg_dataset *ds, int64_t index, vg_clip_sample *out) {
    if (!ds || !out) return vg_fail(VG_ERR_INVALID, "vg_dataset_clip_sample: NULL argument");
    if (index < 0) return vg_fail(VG_ERR_INVALID, "%s: clip index %lld < 0", ds->desc.source, (long long)index);
    *out = (vg_clip_sample){.item = -1, .start = 0, .step = 1, .crop_x = -1, .crop_y = -1, .flip = 0};
    if (ds->kind == VG_DS_FOLDER) vg_folder_sample(ds, index, out);
    else if (ds->kind == VG_DS_NPY) vg_npy_source_sample(ds, index, out);
    return VG_OK;
}

int64_t vg_clip_sample_frame(const vg_clip_sample *s, int k) { return s->start + (int64_t)floor(k * s->step + 0.5); }

vg_status vg_dataset_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label) {
    if (!ds || !out) return vg_fail(VG_ERR_INVALID, "vg_dataset_clip: NULL argument");
    if (index < 0) return vg_fail(VG_ERR_INVALID, "%s: clip index %lld < 0", ds->desc.source, (long long)index);
    return clip_any(ds, index, out, label);
}

vg_status vg_dataset_batch(const vg_dataset *ds, int64_t first_index, int n, float *out, int64_t *labels) {
    if (!ds || (!out && n > 0)) return vg_fail(VG_ERR_INVALID, "vg_dataset_batch: NULL argument");
    int64_t last;
    if (n < 0 || first_index < 0 || !vg_add_ok(first_index, n, &last))
        return vg_fail(VG_ERR_INVALID, "%s: batch of %d clips from index %lld: expected n >= 0 and indices in [0, 2^63)",
                       ds->desc.source, n, (long long)first_index);
    if (n == 0) return VG_OK;
    const int64_t numel = vg_dataset_clip_numel(ds);
    int threads = vg_get_threads();
    if (threads > n) threads = n;
    /* one clip per iteration, static schedule: each clip is written by exactly
     * one thread from (seed, index) alone, so the thread count cannot matter.
     * Messages are thread-local: the lowest failing clip's is carried back. */
    int failed_at = n;
    vg_status failed = VG_OK;
    char why[512] = "";
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int i = 0; i < n; i++) {
        vg_status st = clip_any(ds, first_index + i, out + (int64_t)i * numel, labels ? labels + i : NULL);
        if (st != VG_OK) {
#pragma omp critical(vg_dataset_batch_error)
            if (i < failed_at) {
                failed_at = i;
                failed = st;
                snprintf(why, sizeof why, "%s", vg_last_error());
            }
        }
    }
    return failed == VG_OK ? VG_OK : vg_fail(failed, "%s", why);
}
