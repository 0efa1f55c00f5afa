/* digits_metrics.h — "learned, not noise" for the moving-digit data sets
 * ("mnist", "fashion": 28x28 grey digits on a black canvas, each moving
 * with a constant velocity and reflecting at the borders, overlapping by
 * max): pixel-only metrics that work the same on real and generated clips
 * (no ground truth is used; vg_digits_clip_truth serves only the tests):
 *
 *   valid frame    the ink (pixels brighter than fg_threshold) forms
 *                  digit-sized objects: it fits in num_digits squares a
 *                  little larger than a digit, holds a plausible amount of
 *                  ink and leaves few specks outside;
 *   ink conserved  every frame is valid and the total ink stays within
 *                  ink_band of the clip's reference, except where digits
 *                  touch (overlap by max may hide up to half of it);
 *   smooth clip    every frame is valid and each digit, tracked through
 *                  the clip, moves with a constant velocity of the data's
 *                  speed, reversing only at a wall.
 *
 * Method (docs/eval.md gives the measurements behind every threshold):
 *  1. per frame: intensity a = (mean over channels + 1) / 2 in [0, 1];
 *     ink = pixels with a > fg_threshold; 8-connected components; those of
 *     fewer than speck_px pixels are specks. The other components must fit
 *     in num_digits axis-aligned squares of side `square` (the digit's 28 px
 *     plus slack; two squares are tried at opposite corners of the ink's
 *     bounding box, either diagonal: an optimal cover by two squares can
 *     always be placed so); the frame's ink is the sum of a over them.
 *  2. two digits are "apart" in a frame when the components, joined nearest
 *     first (single linkage on the gaps between their boxes), form two
 *     clusters that each fit a square and hold at least ink_min.
 *  3. tracking: one digit: the centroid of all the ink. Two digits: from
 *     the frame where they are farthest apart, forwards and backwards; in a
 *     frame where they are apart and each cluster holds its digit's ink
 *     (within ink_band), the clusters are the digits, matched by distance
 *     to each digit's constant-velocity prediction; otherwise each digit's
 *     last seen patch is slid within search_px of the prediction to the
 *     place of least one-sided residual sum max(0, patch - frame)^2 /
 *     sum patch^2 (zero at the true place under max or clipped-sum
 *     overlap); above match_tol the digit is lost. Two digits never apart
 *     are followed as two motions ("layers"): each frame's ink must be the
 *     previous frame's moved by at most two integer shifts (a pixel counts
 *     when equal to within pixel_tol; at least cover_min of the ink
 *     explained), each shift continuing the layer whose pixels its sources
 *     overlap most (velocities break ties); positions are the summed
 *     shifts.
 *  4. per digit and axis, the steps d_t = p_t - p_{t-1}: a sign change
 *     (steps of |d| <= zero_tol carry no sign) is a bounce, allowed only
 *     with the digit at the wall (its `digit`-px box can hold its ink and,
 *     when center_tol > 0, sits where its centroid says, within wall_tol
 *     of that wall; layers: anywhere, their extent being partial); a step
 *     arriving at a wall may be short (the recipe clamps there); no step
 *     exceeds the slowest unclamped one by more than 1 + step_tol (integer
 *     truncation of a constant velocity gives floor(v) or ceil(v)); the
 *     speed hypot(mean |dx|, mean |dy|) over unclamped steps lies in
 *     [speed_min, speed_max] (the recipe moves every digit 3.6 px/frame).
 *  5. ink conserved: the reference is the most ink of a frame whose two
 *     digits' boxes are disjoint (one digit: any frame; two never apart:
 *     any frame); such frames keep at least 1 - ink_band of it, the others
 *     (digits touching: overlap by max hides ink) half of that, and none
 *     exceeds 1 + ink_band of it.
 *
 * Leaves to others: generating or loading the clips, printing. The library
 * never prints. Clips are float (C, T, H, W) in [-1, 1], C = 1 or 3,
 * H = W = size. */
#ifndef VG_EVAL_DIGITS_METRICS_H
#define VG_EVAL_DIGITS_METRICS_H

#include <stdint.h>

#include "eval/evaluator.h"
#include "vidgan.h"

/* Why a frame is (in)valid; VALID is 0. */
typedef enum vg_digits_verdict {
    VG_DIGITS_VALID = 0,
    VG_DIGITS_EMPTY,      /* no component of speck_px pixels or more */
    VG_DIGITS_SPECKLED,   /* more than speck_budget pixels in specks */
    VG_DIGITS_SPREAD,     /* the ink does not fit in num_digits digit squares */
    VG_DIGITS_FAINT,      /* ink below ink_min */
    VG_DIGITS_HEAVY,      /* ink above num_digits * ink_max */
    VG_DIGITS_NONFINITE,  /* a NaN or infinite pixel */
    VG_DIGITS_VERDICT_COUNT
} vg_digits_verdict;

/* Why a clip is (not) smooth; SMOOTH is 0. */
typedef enum vg_digits_motion {
    VG_DIGITS_SMOOTH = 0,
    VG_DIGITS_MOTION_INVALID,  /* some frame is not valid */
    VG_DIGITS_MOTION_LOST,     /* a digit not found where the digits touch */
    VG_DIGITS_MOTION_TURN,     /* a reversal away from the walls */
    VG_DIGITS_MOTION_UNEVEN,   /* steps vary by more than 1 + step_tol px */
    VG_DIGITS_MOTION_SPEED,    /* speed outside [speed_min, speed_max] */
    VG_DIGITS_MOTION_COUNT
} vg_digits_motion;

/* Thresholds; vg_digits_metrics_default derives them. Pixels, intensity in
 * [0, 1] (0 = the black background, 1 = full ink). */
typedef struct vg_digits_metrics_config {
    int size;               /* H = W */
    int num_digits;         /* 1 or 2: digits per clip */
    int digit;              /* side of a digit's square (28) */
    int square;             /* side of the squares the ink must fit in (>= digit) */
    float fg_threshold;     /* intensity above which a pixel is ink */
    int speck_px;           /* smaller components are specks */
    int speck_budget;       /* a valid frame has at most this many speck pixels */
    float ink_min, ink_max; /* plausible ink of one digit (sum of intensity) */
    float ink_band;         /* ink conserved: relative drop allowed */
    float match_tol;        /* tracking: largest relative one-sided residual */
    int search_px;          /* tracking: search radius around the prediction */
    float pixel_tol;        /* layers: a pixel reappears when equal to within this */
    float cover_min;        /* layers: least fraction of a frame's ink two shifts explain */
    float zero_tol;         /* a step of at most this many px has no sign */
    float step_tol;         /* steps may spread over 1 + step_tol px */
    float wall_tol;         /* a bounce needs the box within this of the wall */
    float center_offset;    /* the ink centroid's offset from the box's corner */
    float center_tol;       /* ... to within this (0: not used) */
    float speed_min, speed_max; /* px per frame */
} vg_digits_metrics_config;

/* The thresholds for size x size clips (size >= 32) of num_digits digits
 * (1 or 2); fashion: the Fashion-MNIST items (dimmer, wider, off-centre)
 * instead of MNIST digits. */
void vg_digits_metrics_default(vg_digits_metrics_config *cfg, int size, int num_digits, int fashion);

/* What one frame looks like. */
typedef struct vg_digits_frame {
    vg_digits_verdict verdict;
    int objects;          /* components of >= speck_px pixels */
    int speck_pixels;     /* pixels in smaller components */
    double ink;           /* sum of intensity over the objects */
    int x0, y0, x1, y1;   /* the objects' bounding box, inclusive (x1 < x0 if none) */
    int apart;            /* 1: two digits seen apart (two groups) */
    int gap;              /* pixels between the groups' boxes when apart (negative: interleaved) */
    float group_ink[2];   /* each group's ink when apart */
    float cx[2], cy[2];   /* centroid of each group when apart, else [0] of all the ink */
} vg_digits_frame;

/* What one clip looks like. */
typedef struct vg_digits_clip {
    int valid_frames;     /* of T */
    int ink_conserved;    /* 1: every frame valid and the ink stable */
    float ink_ratio;      /* lowest ink / reference over frames shown apart (1 digit: all frames); -1 if not all valid */
    int smooth;           /* 1: smooth (implies every frame valid) */
    vg_digits_motion motion; /* why not smooth */
    int as_one;           /* 1: two digits never seen apart, their ink tracked as one object */
    float speed[2];       /* each digit's px per frame (-1 when not tracked) */
    float step_spread;    /* largest band of |steps| used, px (-1 when not tracked) */
} vg_digits_clip;

/* Over a batch. */
typedef struct vg_digits_summary {
    int64_t clips, frames;
    int64_t valid_frames, valid_clips, ink_clips, smooth_clips;
    int64_t as_one_clips, as_one_smooth; /* clips tracked as one object, and of those smooth */
    int64_t verdicts[VG_DIGITS_VERDICT_COUNT]; /* frames per verdict */
    int64_t motion[VG_DIGITS_MOTION_COUNT];    /* clips per outcome */
    double valid_frac;    /* valid_frames / frames */
    double ink_frac;      /* ink_clips / clips */
    double smooth_frac;   /* smooth_clips / clips */
} vg_digits_summary;

/* One clip (C, T, size, size), C = 1 or 3. frames (T entries, may be NULL)
 * receives every frame's measurements. Fails (VG_ERR_INVALID) only on bad
 * arguments; non-finite pixels make frames invalid. */
vg_status vg_digits_metrics_clip(const vg_digits_metrics_config *cfg, const float *clip, int C, int T,
                                 vg_digits_frame *frames, vg_digits_clip *out);

/* n clips (n, C, T, size, size), in parallel over clips with
 * vg_get_threads() OpenMP threads (results do not depend on the count).
 * per_clip (n entries) may be NULL. */
vg_status vg_digits_metrics_batch(const vg_digits_metrics_config *cfg, const float *clips, int n, int C, int T,
                                  vg_digits_clip *per_clip, vg_digits_summary *summary);

/* Adds b's counts to a and recomputes the fractions. */
void vg_digits_summary_add(vg_digits_summary *a, const vg_digits_summary *b);

/* "valid", "empty", "speckled", "spread", "faint", "heavy", "nonfinite". */
const char *vg_digits_verdict_name(vg_digits_verdict v);
/* "smooth", "invalid", "lost", "turn", "uneven", "speed". */
const char *vg_digits_motion_name(vg_digits_motion m);

/* ---- identity over time, through a labels evaluator ----------------------
 * The evaluator takes clips of its own T frames. A window of L = T / 2
 * frames (the first half, then the second: frames 0 .. L-1 and
 * T-L .. T-1) is played forwards and backwards ("ping-pong": w0 .. wL-1,
 * wL-2 .. w0, w1, ...) to T frames, so the evaluator sees only that
 * window's frames with motion of the same speed (a reversal in mid-frame
 * is the one thing real data never shows). */

/* out (C, T, H, W) from frames start .. start + L - 1 of clip (C, T, H, W)
 * (L >= 1), ping-ponged as above. */
void vg_digits_window(const float *clip, int C, int T, int64_t HW, int start, int L, float *out);

/* For n clips (n, C, T, S, S) of the evaluator's geometry: classes (n, 2,
 * may be NULL) receives the evaluator's argmax on the first and on the
 * second half, *stable the number of clips whose two halves get the same
 * class. Needs an evaluator of the LABELS task and T >= 2. */
vg_status vg_digits_identity(vg_evaluator *e, const float *clips, int64_t n, int64_t *classes, int64_t *stable);

#endif
