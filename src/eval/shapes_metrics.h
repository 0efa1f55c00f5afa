/* shapes_metrics.h — "learned, not noise", measured: two pixel-only metrics
 * for clips of the "shapes" data set (one bouncing circle, square or
 * triangle over a plain or linear-gradient background), which work the same
 * on real clips and on generated ones (no ground truth is used):
 *
 *   valid frame   the foreground is exactly ONE connected object of
 *                 plausible area;
 *   smooth clip   every frame is valid and the object's centroid moves with
 *                 constant velocity, except for reflections at the walls.
 *
 * Method (docs/eval.md gives the measurements behind every threshold):
 *  1. per frame and channel, fit a plane a + b x + c y to the pixels by
 *     trimmed least squares (the background of shapes is a plain colour or
 *     a linear gradient; the object covers at most 9% of the frame);
 *  2. foreground = pixels whose RGB distance from the plane exceeds
 *     fg_threshold; 8-connected components; components of fewer than
 *     speck_px pixels are ignored;
 *  3. valid iff exactly one component remains and its pixel count is in
 *     [area_min, area_max];
 *  4. centroid = coverage-weighted centroid of the object (coverage =
 *     distance from the background / the object's contrast);
 *  5. smooth iff every frame is valid and, per axis, the centroid track
 *     "unfolded" at the walls (a bounce is a reflection about the position
 *     the centroid has when the object touches the wall; a beam search
 *     picks where the track reflects) has every second difference
 *     |q[t+1] - 2 q[t] + q[t-1]| <= accel_tol (bounce_tol for the two
 *     second differences around a bounce), and every bounce happens with
 *     the object's edge within wall_margin (plus half the step) of that
 *     wall.
 *
 * Leaves to others: generating or loading the clips, printing. The library
 * never prints. Clips are float (C = 3, T, H, W) in [-1, 1], H = W. */
#ifndef VG_EVAL_SHAPES_METRICS_H
#define VG_EVAL_SHAPES_METRICS_H

#include <stdint.h>

#include "vidgan.h"

/* Why a frame is (in)valid; VALID is 0. */
typedef enum vg_shapes_verdict {
    VG_SHAPES_VALID = 0,
    VG_SHAPES_EMPTY,      /* no component of speck_px pixels or more */
    VG_SHAPES_MANY,       /* two or more such components */
    VG_SHAPES_SMALL,      /* one component, fewer than area_min pixels */
    VG_SHAPES_LARGE,      /* one component, more than area_max pixels */
    VG_SHAPES_NONFINITE,  /* a NaN or infinite pixel */
    VG_SHAPES_VERDICT_COUNT
} vg_shapes_verdict;

/* Thresholds; vg_shapes_metrics_default derives them for a frame size. */
typedef struct vg_shapes_metrics_config {
    int size;             /* H = W of the clips */
    float fg_threshold;   /* RGB distance ([-1, 1] units) from the fitted
                             background above which a pixel is foreground */
    int speck_px;         /* smaller components are ignored */
    float area_min, area_max; /* plausible object size, pixels */
    float accel_tol;      /* max |second difference| of the centroid, pixels */
    float bounce_tol;     /* the same at the two steps around a bounce */
    float wall_margin;    /* a bounce needs the bounding box within this many
                             pixels (plus half the step) of the wall */
} vg_shapes_metrics_config;

/* The thresholds for size x size frames (size >= 16). */
void vg_shapes_metrics_default(vg_shapes_metrics_config *cfg, int size);

/* What one frame looks like. */
typedef struct vg_shapes_frame {
    vg_shapes_verdict verdict;
    int objects;          /* components of >= speck_px pixels */
    int specks;           /* ignored smaller components */
    int area;             /* pixels of the largest component (0 if none) */
    float cx, cy;         /* its coverage-weighted centroid; pixel (x, y)'s
                             centre is at (x, y), as in vg_shapes_clip_truth */
    int x0, y0, x1, y1;   /* its bounding box, inclusive */
    float edge[4];        /* its sub-pixel extent: left, top, right, bottom */
    float bg_rms;         /* RMS colour residual of the background pixels */
} vg_shapes_frame;

/* What one clip looks like. */
typedef struct vg_shapes_clip {
    int valid_frames;     /* of T */
    int smooth;           /* 1: smooth (implies every frame valid) */
    int bounces;          /* reflections the unfolding used */
    float max_accel;      /* largest |second difference| of the unfolded
                             centroid track away from bounces, pixels, over
                             both axes; -1 when not every frame is valid */
    float max_bounce;     /* the same at the two steps around each bounce */
} vg_shapes_clip;

/* The largest second difference (max_accel) of clips whose every frame is
 * valid, in bins of VG_SHAPES_ACCEL_BIN_PX pixels; the last bin holds
 * everything from (VG_SHAPES_ACCEL_BINS - 1) bins up. How far from
 * constant velocity the valid clips are, whether or not they pass. */
#define VG_SHAPES_ACCEL_BINS 80
#define VG_SHAPES_ACCEL_BIN_PX 0.1

/* Over a batch. */
typedef struct vg_shapes_summary {
    int64_t clips, frames;
    int64_t valid_frames, valid_clips, smooth_clips;
    int64_t verdicts[VG_SHAPES_VERDICT_COUNT]; /* frames per verdict */
    int64_t accel_hist[VG_SHAPES_ACCEL_BINS];  /* all-valid clips by max_accel */
    double valid_frac;    /* valid_frames / frames */
    double smooth_frac;   /* smooth_clips / clips */
} vg_shapes_summary;

/* One clip (3, T, size, size). frames (T entries, may be NULL) receives
 * every frame's measurements. Fails (VG_ERR_INVALID) only on bad
 * arguments; non-finite pixels make frames invalid. */
vg_status vg_shapes_metrics_clip(const vg_shapes_metrics_config *cfg, const float *clip, int T, vg_shapes_frame *frames,
                                 vg_shapes_clip *out);

/* n clips (n, 3, T, size, size), in parallel over clips with
 * vg_get_threads() OpenMP threads (results do not depend on the count).
 * per_clip (n entries) may be NULL. */
vg_status vg_shapes_metrics_batch(const vg_shapes_metrics_config *cfg, const float *clips, int n, int T,
                                  vg_shapes_clip *per_clip, vg_shapes_summary *summary);

/* The median max_accel of the all-valid clips in s's histogram (linear
 * within its bin), pixels; NAN without such clips. The last bin has no
 * upper edge: a median there reads as its lower edge. */
double vg_shapes_accel_median(const vg_shapes_summary *s);

/* "valid", "empty", "many", "small", "large", "nonfinite". */
const char *vg_shapes_verdict_name(vg_shapes_verdict v);

#endif
