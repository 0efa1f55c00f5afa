/* frame_metrics.c — L1, MSE, PSNR and SSIM per frame of (C, T, H, W) clips
 * (conventions in frame_metrics.h). Each (channel, frame) plane is scored
 * by one thread in double precision; the per-frame values are then summed
 * over channels in channel order, so the result is independent of the
 * thread count. SSIM filters the five moment images (x, y, x^2, y^2, xy)
 * with the separable Gaussian over valid positions only: first along rows
 * into (H, W - 10) scratch, then along columns. */
#include "eval/frame_metrics.h"

#include <math.h>
#include <stdlib.h>

#include "core/checked.h"
#include "core/status.h"
#include "core/threads.h"

#define SSIM_RADIUS 5 /* 11 taps: skimage's int(3.5 sigma + 0.5) for sigma 1.5 */
#define SSIM_TAPS (2 * SSIM_RADIUS + 1)
#define SSIM_SIGMA 1.5
#define SSIM_K1 0.01
#define SSIM_K2 0.03

typedef struct plane_scores {
    double abs_sum, sq_sum, ssim;
} plane_scores;

static void gaussian_taps(double g[SSIM_TAPS]) {
    double sum = 0;
    for (int u = 0; u < SSIM_TAPS; u++) {
        const double x = u - SSIM_RADIUS;
        g[u] = exp(-0.5 * x * x / (SSIM_SIGMA * SSIM_SIGMA));
        sum += g[u];
    }
    for (int u = 0; u < SSIM_TAPS; u++) g[u] /= sum;
}

/* One (H, W) plane; rows (5, H, W - 10) is scratch. */
static plane_scores score_plane(const float *x, const float *y, int64_t H, int64_t W, double range,
                                const double g[SSIM_TAPS], double *rows) {
    plane_scores r = {0, 0, 0};
    for (int64_t i = 0; i < H * W; i++) {
        const double d = (double)x[i] - (double)y[i];
        r.abs_sum += fabs(d);
        r.sq_sum += d * d;
    }
    const int64_t Wv = W - 2 * SSIM_RADIUS, Hv = H - 2 * SSIM_RADIUS, plane = H * Wv;
    double *hx = rows, *hy = rows + plane, *hxx = rows + 2 * plane, *hyy = rows + 3 * plane, *hxy = rows + 4 * plane;
    for (int64_t i = 0; i < H; i++) {
        const float *xr = x + i * W, *yr = y + i * W;
        for (int64_t j = 0; j < Wv; j++) {
            double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
            for (int u = 0; u < SSIM_TAPS; u++) {
                const double a = xr[j + u], b = yr[j + u], w = g[u];
                sx += w * a, sy += w * b, sxx += w * a * a, syy += w * b * b, sxy += w * a * b;
            }
            const int64_t o = i * Wv + j;
            hx[o] = sx, hy[o] = sy, hxx[o] = sxx, hyy[o] = syy, hxy[o] = sxy;
        }
    }
    const double c1 = (SSIM_K1 * range) * (SSIM_K1 * range), c2 = (SSIM_K2 * range) * (SSIM_K2 * range);
    double total = 0;
    for (int64_t i = 0; i < Hv; i++)
        for (int64_t j = 0; j < Wv; j++) {
            double ux = 0, uy = 0, uxx = 0, uyy = 0, uxy = 0;
            for (int u = 0; u < SSIM_TAPS; u++) {
                const int64_t o = (i + u) * Wv + j;
                const double w = g[u];
                ux += w * hx[o], uy += w * hy[o], uxx += w * hxx[o], uyy += w * hyy[o], uxy += w * hxy[o];
            }
            const double vx = uxx - ux * ux, vy = uyy - uy * uy, vxy = uxy - ux * uy;
            total += ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
        }
    r.ssim = total / (double)(Hv * Wv);
    return r;
}

vg_status vg_frame_metrics(vg_frame_scores *per_frame, vg_frame_scores *clip_mean, const float *pred,
                           const float *target, int64_t C, int64_t T, int64_t H, int64_t W, double data_range) {
    if (!pred || !target) return vg_fail(VG_ERR_INVALID, "frame_metrics: pred or target is NULL");
    if (C < 1 || T < 1 || H < 1 || W < 1)
        return vg_fail(VG_ERR_INVALID, "frame_metrics: shape (%lld, %lld, %lld, %lld), expected positive sizes",
                       (long long)C, (long long)T, (long long)H, (long long)W);
    if (H < SSIM_TAPS || W < SSIM_TAPS)
        return vg_fail(VG_ERR_INVALID, "frame_metrics: frames %lldx%lld, SSIM's %dx%d window needs at least %dx%d",
                       (long long)H, (long long)W, SSIM_TAPS, SSIM_TAPS, SSIM_TAPS, SSIM_TAPS);
    if (!(data_range > 0) || !isfinite(data_range))
        return vg_fail(VG_ERR_INVALID, "frame_metrics: data_range %g, expected a finite value > 0", data_range);
    int64_t hw, planes, total, scratch;
    if (!vg_mul_ok(H, W, &hw) || !vg_mul_ok(C, T, &planes) || !vg_mul_ok(planes, hw, &total) ||
        !vg_mul_ok(H * (W - 2 * SSIM_RADIUS), 5 * (int64_t)sizeof(double), &scratch))
        return vg_fail(VG_ERR_NOMEM, "frame_metrics: clip size overflows");
    for (int64_t i = 0; i < total; i++)
        if (!isfinite(pred[i]) || !isfinite(target[i]))
            return vg_fail(VG_ERR_NUMERIC, "frame_metrics: %s element %lld is not finite",
                           isfinite(pred[i]) ? "target" : "pred", (long long)i);
    plane_scores *ps = malloc((size_t)planes * sizeof *ps);
    if (!ps) return vg_fail(VG_ERR_NOMEM, "frame_metrics: out of memory");
    double g[SSIM_TAPS];
    gaussian_taps(g);
    int fail = 0;
#pragma omp parallel num_threads(planes > 1 ? vg_get_threads() : 1)
    {
        double *rows = malloc((size_t)scratch);
        if (!rows) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t p = 0; p < planes; p++)
            if (rows) ps[p] = score_plane(pred + p * hw, target + p * hw, H, W, data_range, g, rows);
        free(rows);
    }
    if (fail) {
        free(ps);
        return vg_fail(VG_ERR_NOMEM, "frame_metrics: out of memory for SSIM scratch");
    }
    vg_frame_scores mean = {0, 0, 0, 0};
    for (int64_t t = 0; t < T; t++) {
        double a = 0, q = 0, s = 0;
        for (int64_t c = 0; c < C; c++) { /* plane (c, t) */
            a += ps[c * T + t].abs_sum, q += ps[c * T + t].sq_sum, s += ps[c * T + t].ssim;
        }
        vg_frame_scores f;
        f.l1 = a / (double)(C * hw);
        f.mse = q / (double)(C * hw);
        f.psnr = f.mse > 0 ? 10 * log10(data_range * data_range / f.mse) : INFINITY;
        f.ssim = s / (double)C;
        if (per_frame) per_frame[t] = f;
        mean.l1 += f.l1, mean.mse += f.mse, mean.psnr += f.psnr, mean.ssim += f.ssim;
    }
    mean.l1 /= (double)T, mean.mse /= (double)T, mean.psnr /= (double)T, mean.ssim /= (double)T;
    if (clip_mean) *clip_mean = mean;
    free(ps);
    return VG_OK;
}
