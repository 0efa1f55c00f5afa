/* degrade.h — controlled corruptions of real clips, for checking that a
 * metric gets worse as clips get worse (tests/test_evaluator.c) and as a
 * sanity mode of `vidgan eval`. Each acts in place on n clips
 * (n, C, T, H, W) with pixels in [-1, 1]; strength 0 leaves clips unchanged
 * and the result is a pure function of (clips, strength, seed, clip index).
 *
 *   noise    add N(0, strength^2) to every pixel, clamp to [-1, 1]
 *            (strength = the standard deviation, in pixel units)
 *   blur     separable Gaussian blur in H and W of standard deviation
 *            strength pixels (kernel radius ceil(3 sigma), edges clamped)
 *   shuffle  round(strength * T) frames chosen at random are moved among
 *            their own positions by a random cyclic shift, so each chosen
 *            frame leaves its place (strength in [0, 1])
 *   freeze   from frame k = T - 1 - round(strength * (T - 1)) on, every
 *            frame repeats frame k (strength in [0, 1]: the fraction of
 *            frames after the first that stop moving) */
#ifndef VG_EVAL_DEGRADE_H
#define VG_EVAL_DEGRADE_H

#include <stdint.h>

#include "vidgan.h"

typedef enum vg_degrade_kind {
    VG_DEGRADE_NOISE = 0,
    VG_DEGRADE_BLUR,
    VG_DEGRADE_SHUFFLE,
    VG_DEGRADE_FREEZE,
    VG_DEGRADE_COUNT
} vg_degrade_kind;

/* "noise", "blur", "shuffle", "freeze"; parse returns 0 for an unknown name. */
const char *vg_degrade_name(vg_degrade_kind k);
int vg_degrade_parse(const char *s, vg_degrade_kind *out);

/* Corrupts n clips of shape (C, T, H, W) in place. Clip i draws its random
 * numbers from the Philox stream of (seed, first_index + i). */
vg_status vg_degrade(vg_degrade_kind kind, double strength, float *clips, int64_t n, int C, int T, int H, int W, uint64_t seed,
                     int64_t first_index);

#endif
