/* dataset_impl.h — what the data set sources share inside src/data: the
 * vg_dataset struct with its per-source hooks, and the per-clip random
 * stream. Not for use outside src/data. */
#ifndef VG_DATA_DATASET_IMPL_H
#define VG_DATA_DATASET_IMPL_H

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/rng.h"
#include "data/dataset.h"
#include "data/mnist_source.h"

/* 1 if the file name's extension (after the last '.' of its last path
 * component) is one of ext[0..n), case-insensitively; ext in lower case. */
static inline int vg_name_has_ext(const char *name, const char *const *ext, size_t n) {
    const char *dot = strrchr(name, '.'), *slash = strrchr(name, '/');
    if (!dot || (slash && dot < slash)) return 0;
    for (size_t i = 0; i < n; i++) {
        const char *a = dot + 1, *b = ext[i];
        while (*a && *b && tolower((unsigned char)*a) == *b) a++, b++;
        if (!*a && !*b) return 1;
    }
    return 0;
}

/* The per-clip random stream: Philox4x32-10 keyed by the seed, with counter
 * (draw block, index low word, index high word, source tag). Clip i of one
 * source gets 2^32 blocks of its own, so clips never share random numbers
 * and each is a pure function of (seed, index). */
typedef struct vg_clip_rng {
    uint32_t ctr[4], key[2];
    uint32_t buf[4];
    int used; /* words of buf consumed */
} vg_clip_rng;

enum {
    VG_RNG_TAG_SHAPES = 0x53484150u,
    VG_RNG_TAG_DIGITS = 0x44494749u,
    VG_RNG_TAG_FOLDER = 0x464f4c44u,
    VG_RNG_TAG_AUG = 0x41554721u /* crop offset and flip of real data */
};

static inline void vg_clip_rng_init(vg_clip_rng *r, uint64_t seed, int64_t index, uint32_t tag) {
    r->ctr[0] = 0;
    r->ctr[1] = (uint32_t)(uint64_t)index;
    r->ctr[2] = (uint32_t)((uint64_t)index >> 32);
    r->ctr[3] = tag;
    r->key[0] = (uint32_t)seed;
    r->key[1] = (uint32_t)(seed >> 32);
    r->used = 4;
}

static inline uint32_t vg_clip_rng_u32(vg_clip_rng *r) {
    if (r->used == 4) {
        vg_philox4x32_block(r->buf, r->ctr, r->key);
        r->ctr[0]++;
        r->used = 0;
    }
    return r->buf[r->used++];
}

/* Uniform in [lo, hi) with 32 random bits. */
static inline double vg_clip_rng_uniform(vg_clip_rng *r, double lo, double hi) {
    return lo + (hi - lo) * ((double)vg_clip_rng_u32(r) * (1.0 / 4294967296.0));
}

/* Uniform integer in [0, n), 0 < n < 2^32 (multiply-shift; bias < n / 2^32). */
static inline int64_t vg_clip_rng_below(vg_clip_rng *r, int64_t n) {
    return (int64_t)(((uint64_t)vg_clip_rng_u32(r) * (uint64_t)n) >> 32);
}

/* The augmentation draws of clip `index`, from a stream of their own so a
 * source's other draws stay as they were: word 0 picks the crop offset in
 * [0, range] (range = resized long side - S), word 1's top bit the flip.
 * Both words are always drawn, so neither depends on the other's setting. */
static inline void vg_clip_aug(uint64_t seed, int64_t index, int range, int *offset, int *flip) {
    vg_clip_rng r;
    vg_clip_rng_init(&r, seed, index, VG_RNG_TAG_AUG);
    *offset = (int)vg_clip_rng_below(&r, (int64_t)(range > 0 ? range : 0) + 1);
    *flip = (int)(vg_clip_rng_u32(&r) >> 31);
}

typedef struct vg_shapes vg_shapes;   /* shapes.c */
typedef struct vg_digits vg_digits;   /* moving_mnist.c */
typedef struct vg_video_folder vg_video_folder; /* video_folder.c */
typedef struct vg_npy_source vg_npy_source;     /* npy_source.c */

typedef enum vg_dataset_kind { VG_DS_SHAPES, VG_DS_DIGITS, VG_DS_FOLDER, VG_DS_NPY } vg_dataset_kind;

struct vg_dataset {
    vg_dataset_desc desc;
    vg_dataset_kind kind;
    uint64_t seed;
    vg_crop crop;             /* the spec's sampling and augmentation */
    int hflip;
    double fps;
    vg_labels labels;
    const char *names[100];   /* class names, pointing into name_buf */
    char name_buf[100 * 48];
    vg_shapes *shapes;        /* kind == VG_DS_SHAPES */
    vg_digits *digits;        /* kind == VG_DS_DIGITS */
    vg_video_folder *folder;  /* kind == VG_DS_FOLDER; sets desc.source and
                                 desc.class_names to its own strings */
    vg_npy_source *npy;       /* kind == VG_DS_NPY; sets desc.source */
};

/* Per-source parts of vg_dataset_open / clip / close. open fills ds->desc
 * (except source), ds->names and the source's state. */
vg_status vg_shapes_open(vg_dataset *ds, const vg_dataset_spec *spec);
void vg_shapes_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label);
void vg_shapes_close(vg_dataset *ds);

vg_status vg_digits_open(vg_dataset *ds, const vg_dataset_spec *spec, int fashion);
void vg_digits_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label);
void vg_digits_close(vg_dataset *ds);

/* dir: the folder to scan. Clips can fail (files decoded on demand). */
vg_status vg_folder_open(vg_dataset *ds, const vg_dataset_spec *spec, const char *dir);
vg_status vg_folder_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label);
void vg_folder_sample(const vg_dataset *ds, int64_t index, vg_clip_sample *out);
void vg_folder_close(vg_dataset *ds);

/* path: the .npy file (spec->source). Clips fail only on a bad index. */
vg_status vg_npy_source_open(vg_dataset *ds, const vg_dataset_spec *spec, const char *path);
vg_status vg_npy_source_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label);
void vg_npy_source_sample(const vg_dataset *ds, int64_t index, vg_clip_sample *out);
void vg_npy_source_close(vg_dataset *ds);

#endif
