/* frame_metrics.h — per-frame reconstruction scores of a predicted clip
 * against its target (conditional prediction, image-to-video): L1, MSE,
 * PSNR and SSIM.
 *
 * Clips are (C, T, H, W) floats, both laid out alike. Per frame t, over
 * all C*H*W values and in double precision:
 *   l1   mean |pred - target|
 *   mse  mean (pred - target)^2
 *   psnr 10 log10(data_range^2 / mse); +INFINITY when mse == 0 (identical
 *        frames), never NaN. The clip mean of psnr is the mean of the
 *        per-frame values, so one identical frame makes it +INFINITY:
 *        callers that print or average it must decide how to show that.
 *   ssim Wang et al. 2004 per channel, averaged over the C channels:
 *        11x11 Gaussian window with sigma 1.5 (taps exp(-x^2 / (2 sigma^2)),
 *        x = -5..5, normalised to sum 1), C1 = (0.01 data_range)^2,
 *        C2 = (0.03 data_range)^2, population (1/N-weighted) variances and
 *        covariance, mean of the SSIM map over the valid region only (the
 *        (H - 10) x (W - 10) window positions entirely inside the frame).
 *        This is what skimage.metrics.structural_similarity(x, y,
 *        gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 *        data_range=data_range) returns per channel. Needs H, W >= 11.
 * The clip scores are the means over the T frames. */
#ifndef VG_EVAL_FRAME_METRICS_H
#define VG_EVAL_FRAME_METRICS_H

#include <stdint.h>

#include "vidgan.h"

typedef struct vg_frame_scores {
    double l1, mse, psnr, ssim;
} vg_frame_scores;

/* per_frame (T entries) and clip_mean may each be NULL. pred and target are
 * (C, T, H, W); data_range > 0 (2 for clips in [-1, 1], 1 for [0, 1],
 * 255 for bytes). Non-finite pixels, H or W below 11 and non-positive sizes
 * are errors. Frames are scored in parallel; the result does not depend on
 * the thread count. */
vg_status vg_frame_metrics(vg_frame_scores *per_frame, vg_frame_scores *clip_mean, const float *pred,
                           const float *target, int64_t C, int64_t T, int64_t H, int64_t W, double data_range);

#endif
