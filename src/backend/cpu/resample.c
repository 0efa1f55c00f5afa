/* CPU kernels: upsampling (nearest, (bi/tri)linear) and pooling (average,
 * max) on (NC, T, H, W) planes; 2-D inputs arrive with T = 1.
 *
 * Index rules match PyTorch 1.13's CPU kernels (aten/src/ATen/native/
 * UpSample.h, AvgPoolKernel.cpp, MaxPoolKernel.cpp, DilatedMaxPool3d.cpp):
 * nearest uses a float scale in/out and floorf; linear uses
 * area_pixel_compute_source_index; pooling windows are clipped to the input,
 * and max pooling keeps the first maximum (a NaN wins). Forward kernels
 * parallelise over output rows. Backward kernels scatter into the input, so
 * they parallelise over NC planes only: each plane is summed by one thread in
 * a fixed order, whatever the thread count. */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

/* ---- upsampling ------------------------------------------------------------ */

/* torch's nearest_idx: float arithmetic on purpose, as torch does in every
 * dtype, so that floor() lands on the same side at exact multiples. */
static inline int64_t nearest_src(int64_t dst, int64_t in, int64_t out) {
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    float scale = (float)in / (float)out;
    int64_t s = (int64_t)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

/* One axis of linear interpolation: out[dst] = l0 * in[i0] + l1 * in[i1]
 * (torch's area_pixel_compute_source_index + compute_indices_weights_linear). */
typedef struct lin_tap {
    int64_t i0, i1;
    double l0, l1;
} lin_tap;

static inline lin_tap linear_src(int64_t dst, int64_t in, int64_t out, int align_corners) {
    double scale, src;
    if (align_corners) {
        scale = out > 1 ? (double)(in - 1) / (double)(out - 1) : 0.0;
        src = scale * (double)dst;
    } else {
        scale = (double)in / (double)out;
        src = scale * ((double)dst + 0.5) - 0.5;
        if (src < 0) src = 0;
    }
    lin_tap t;
    t.i0 = (int64_t)src;
    if (t.i0 > in - 1) t.i0 = in - 1;
    t.l1 = src - (double)t.i0;
    if (t.l1 > 1) t.l1 = 1;
    t.l0 = 1 - t.l1;
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    return t;
}

static void upsample_forward(vg_real *out, const vg_real *inp, const struct vg_upsample_desc *d) {
    const int64_t Ti = d->in[0], Hi = d->in[1], Wi = d->in[2];
    const int64_t To = d->out[0], Ho = d->out[1], Wo = d->out[2];
    const int64_t rows = d->NC * To * Ho;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * Wo > 16384)
    for (int64_t r = 0; r < rows; r++) {
        int64_t oh = r % Ho, ot = (r / Ho) % To, nc = r / (Ho * To);
        const vg_real *plane = inp + nc * Ti * Hi * Wi;
        vg_real *o = out + r * Wo;
        if (d->mode == VG_UPSAMPLE_NEAREST) {
            const vg_real *row = plane + (nearest_src(ot, Ti, To) * Hi + nearest_src(oh, Hi, Ho)) * Wi;
            for (int64_t ow = 0; ow < Wo; ow++) o[ow] = row[nearest_src(ow, Wi, Wo)];
            continue;
        }
        lin_tap t = linear_src(ot, Ti, To, d->align_corners), h = linear_src(oh, Hi, Ho, d->align_corners);
        const vg_real *r00 = plane + (t.i0 * Hi + h.i0) * Wi, *r01 = plane + (t.i0 * Hi + h.i1) * Wi;
        const vg_real *r10 = plane + (t.i1 * Hi + h.i0) * Wi, *r11 = plane + (t.i1 * Hi + h.i1) * Wi;
        double w00 = t.l0 * h.l0, w01 = t.l0 * h.l1, w10 = t.l1 * h.l0, w11 = t.l1 * h.l1;
        for (int64_t ow = 0; ow < Wo; ow++) {
            lin_tap w = linear_src(ow, Wi, Wo, d->align_corners);
            double v = w00 * (w.l0 * r00[w.i0] + w.l1 * r00[w.i1]) + w01 * (w.l0 * r01[w.i0] + w.l1 * r01[w.i1]) +
                       w10 * (w.l0 * r10[w.i0] + w.l1 * r10[w.i1]) + w11 * (w.l0 * r11[w.i0] + w.l1 * r11[w.i1]);
            o[ow] = (vg_real)v;
        }
    }
}

static void upsample_backward(vg_real *dinp, const vg_real *dout, const struct vg_upsample_desc *d) {
    const int64_t Ti = d->in[0], Hi = d->in[1], Wi = d->in[2];
    const int64_t To = d->out[0], Ho = d->out[1], Wo = d->out[2];
    const int64_t in_plane = Ti * Hi * Wi, out_plane = To * Ho * Wo;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (d->NC * out_plane > 16384)
    for (int64_t nc = 0; nc < d->NC; nc++) {
        vg_real *g = dinp + nc * in_plane;
        const vg_real *go = dout + nc * out_plane;
        for (int64_t ot = 0; ot < To; ot++)
            for (int64_t oh = 0; oh < Ho; oh++) {
                const vg_real *o = go + (ot * Ho + oh) * Wo;
                if (d->mode == VG_UPSAMPLE_NEAREST) {
                    vg_real *row = g + (nearest_src(ot, Ti, To) * Hi + nearest_src(oh, Hi, Ho)) * Wi;
                    for (int64_t ow = 0; ow < Wo; ow++) row[nearest_src(ow, Wi, Wo)] += o[ow];
                    continue;
                }
                lin_tap t = linear_src(ot, Ti, To, d->align_corners), h = linear_src(oh, Hi, Ho, d->align_corners);
                vg_real *r00 = g + (t.i0 * Hi + h.i0) * Wi, *r01 = g + (t.i0 * Hi + h.i1) * Wi;
                vg_real *r10 = g + (t.i1 * Hi + h.i0) * Wi, *r11 = g + (t.i1 * Hi + h.i1) * Wi;
                double w00 = t.l0 * h.l0, w01 = t.l0 * h.l1, w10 = t.l1 * h.l0, w11 = t.l1 * h.l1;
                for (int64_t ow = 0; ow < Wo; ow++) {
                    lin_tap w = linear_src(ow, Wi, Wo, d->align_corners);
                    double v = (double)o[ow];
                    r00[w.i0] += (vg_real)(v * w00 * w.l0);
                    r00[w.i1] += (vg_real)(v * w00 * w.l1);
                    r01[w.i0] += (vg_real)(v * w01 * w.l0);
                    r01[w.i1] += (vg_real)(v * w01 * w.l1);
                    r10[w.i0] += (vg_real)(v * w10 * w.l0);
                    r10[w.i1] += (vg_real)(v * w10 * w.l1);
                    r11[w.i0] += (vg_real)(v * w11 * w.l0);
                    r11[w.i1] += (vg_real)(v * w11 * w.l1);
                }
            }
    }
}

/* ---- pooling ----------------------------------------------------------------- */

/* The window of output position o along one axis, clipped to [0, in); *full
 * is its length counting padding (torch's pool_size for count_include_pad). */
static inline void pool_window(int64_t o, int64_t in, int k, int s, int p, int64_t *lo, int64_t *hi, int64_t *full) {
    int64_t a = o * s - p, b = a + k;
    if (b > in + p) b = in + p;
    *full = b - a;
    *lo = a < 0 ? 0 : a;
    *hi = b < in ? b : in;
}

static void avgpool_forward(vg_real *out, const vg_real *inp, const struct vg_pool_desc *d) {
    const int64_t Ti = d->in[0], Hi = d->in[1], Wi = d->in[2];
    const int64_t To = d->out[0], Ho = d->out[1], Wo = d->out[2];
    const int64_t rows = d->NC * To * Ho;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * Wo > 16384)
    for (int64_t r = 0; r < rows; r++) {
        int64_t oh = r % Ho, ot = (r / Ho) % To, nc = r / (Ho * To);
        const vg_real *plane = inp + nc * Ti * Hi * Wi;
        int64_t t0, t1, ft, h0, h1, fh;
        pool_window(ot, Ti, d->k[0], d->s[0], d->p[0], &t0, &t1, &ft);
        pool_window(oh, Hi, d->k[1], d->s[1], d->p[1], &h0, &h1, &fh);
        for (int64_t ow = 0; ow < Wo; ow++) {
            int64_t w0, w1, fw;
            pool_window(ow, Wi, d->k[2], d->s[2], d->p[2], &w0, &w1, &fw);
            double sum = 0;
            for (int64_t t = t0; t < t1; t++)
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) sum += plane[(t * Hi + h) * Wi + w];
            int64_t count = d->count_include_pad ? ft * fh * fw : (t1 - t0) * (h1 - h0) * (w1 - w0);
            out[r * Wo + ow] = count > 0 ? (vg_real)(sum / (double)count) : 0;
        }
    }
}

static void avgpool_backward(vg_real *dinp, const vg_real *dout, const struct vg_pool_desc *d) {
    const int64_t Ti = d->in[0], Hi = d->in[1], Wi = d->in[2];
    const int64_t To = d->out[0], Ho = d->out[1], Wo = d->out[2];
    const int64_t in_plane = Ti * Hi * Wi, out_plane = To * Ho * Wo;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (d->NC * out_plane > 16384)
    for (int64_t nc = 0; nc < d->NC; nc++) {
        vg_real *g = dinp + nc * in_plane;
        const vg_real *go = dout + nc * out_plane;
        for (int64_t ot = 0; ot < To; ot++)
            for (int64_t oh = 0; oh < Ho; oh++)
                for (int64_t ow = 0; ow < Wo; ow++) {
                    int64_t t0, t1, ft, h0, h1, fh, w0, w1, fw;
                    pool_window(ot, Ti, d->k[0], d->s[0], d->p[0], &t0, &t1, &ft);
                    pool_window(oh, Hi, d->k[1], d->s[1], d->p[1], &h0, &h1, &fh);
                    pool_window(ow, Wi, d->k[2], d->s[2], d->p[2], &w0, &w1, &fw);
                    int64_t count = d->count_include_pad ? ft * fh * fw : (t1 - t0) * (h1 - h0) * (w1 - w0);
                    if (count <= 0) continue;
                    vg_real v = (vg_real)((double)go[(ot * Ho + oh) * Wo + ow] / (double)count);
                    for (int64_t t = t0; t < t1; t++)
                        for (int64_t h = h0; h < h1; h++)
                            for (int64_t w = w0; w < w1; w++) g[(t * Hi + h) * Wi + w] += v;
                }
    }
}

/* argmax holds the index of the maximum within its (T, H, W) input plane. */
static void maxpool_forward(vg_real *out, int64_t *argmax, const vg_real *inp, const struct vg_pool_desc *d) {
    const int64_t Ti = d->in[0], Hi = d->in[1], Wi = d->in[2];
    const int64_t To = d->out[0], Ho = d->out[1], Wo = d->out[2];
    const int64_t rows = d->NC * To * Ho;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * Wo > 16384)
    for (int64_t r = 0; r < rows; r++) {
        int64_t oh = r % Ho, ot = (r / Ho) % To, nc = r / (Ho * To);
        const vg_real *plane = inp + nc * Ti * Hi * Wi;
        int64_t t0, t1, ft, h0, h1, fh;
        pool_window(ot, Ti, d->k[0], d->s[0], d->p[0], &t0, &t1, &ft);
        pool_window(oh, Hi, d->k[1], d->s[1], d->p[1], &h0, &h1, &fh);
        for (int64_t ow = 0; ow < Wo; ow++) {
            int64_t w0, w1, fw;
            pool_window(ow, Wi, d->k[2], d->s[2], d->p[2], &w0, &w1, &fw);
            int64_t best = (t0 * Hi + h0) * Wi + w0;
            vg_real m = -INFINITY;
            for (int64_t t = t0; t < t1; t++)
                for (int64_t h = h0; h < h1; h++)
                    for (int64_t w = w0; w < w1; w++) {
                        int64_t i = (t * Hi + h) * Wi + w;
                        vg_real v = plane[i];
                        if (v > m || isnan(v)) {
                            m = v;
                            best = i;
                        }
                    }
            out[r * Wo + ow] = m;
            argmax[r * Wo + ow] = best;
        }
    }
}

static void maxpool_backward(vg_real *dinp, const vg_real *dout, const int64_t *argmax, const struct vg_pool_desc *d) {
    const int64_t in_plane = d->in[0] * d->in[1] * d->in[2], out_plane = d->out[0] * d->out[1] * d->out[2];
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (d->NC * out_plane > 16384)
    for (int64_t nc = 0; nc < d->NC; nc++) {
        vg_real *g = dinp + nc * in_plane;
        const vg_real *go = dout + nc * out_plane;
        const int64_t *am = argmax + nc * out_plane;
        for (int64_t i = 0; i < out_plane; i++) g[am[i]] += go[i];
    }
}

void vg_cpu_register_resample(vg_backend *be) {
    be->upsample_forward = upsample_forward;
    be->upsample_backward = upsample_backward;
    be->avgpool_forward = avgpool_forward;
    be->avgpool_backward = avgpool_backward;
    be->maxpool_forward = maxpool_forward;
    be->maxpool_backward = maxpool_backward;
}
