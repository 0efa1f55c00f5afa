/* CUDA kernels: upsampling (nearest, (bi/tri)linear) and pooling (average,
 * max) on (NC, T, H, W) planes, with the index rules of
 * src/backend/cpu/resample.c (PyTorch 1.13's: nearest uses a float scale and
 * floorf; linear uses area_pixel_compute_source_index; pooling windows are
 * clipped to the input; max pooling keeps the first maximum, a NaN wins).
 *
 * Forward kernels are one thread per output element and compute exactly what
 * the CPU computes. Average-pooling backward gathers (one thread per input
 * element sums the windows that contain it: deterministic). Upsampling and
 * max-pooling backward scatter with float atomicAdd: correct, but the order
 * of the additions into one input element varies from run to run. */
#include "backend/cuda/cuda.h"

#define THREADS 256

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

struct dims3 {
    int64_t in[3], out[3];
};

/* ---- upsampling ------------------------------------------------------------ */

__device__ __forceinline__ int64_t nearest_src(int64_t dst, int64_t in, int64_t out) {
    if (out == in) return dst;
    if (out == 2 * in) return dst >> 1;
    float scale = (float)in / (float)out;
    int64_t s = (int64_t)floorf((float)dst * scale);
    return s < in - 1 ? s : in - 1;
}

struct lin_tap {
    int64_t i0, i1;
    double l0, l1;
};

__device__ __forceinline__ lin_tap linear_src(int64_t dst, int64_t in, int64_t out, int align_corners) {
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

__global__ void upsample_forward_kernel(float *out, const float *inp, int64_t NC, dims3 g, int nearest,
                                        int align_corners) {
    const int64_t Ti = g.in[0], Hi = g.in[1], Wi = g.in[2], To = g.out[0], Ho = g.out[1], Wo = g.out[2];
    GRID_LOOP(e, NC * To * Ho * Wo) {
        int64_t ow = e % Wo, oh = (e / Wo) % Ho, ot = (e / (Wo * Ho)) % To, nc = e / (Wo * Ho * To);
        const float *plane = inp + nc * Ti * Hi * Wi;
        if (nearest) {
            out[e] = plane[(nearest_src(ot, Ti, To) * Hi + nearest_src(oh, Hi, Ho)) * Wi + nearest_src(ow, Wi, Wo)];
            continue;
        }
        lin_tap t = linear_src(ot, Ti, To, align_corners), h = linear_src(oh, Hi, Ho, align_corners);
        lin_tap w = linear_src(ow, Wi, Wo, align_corners);
        const float *r00 = plane + (t.i0 * Hi + h.i0) * Wi, *r01 = plane + (t.i0 * Hi + h.i1) * Wi;
        const float *r10 = plane + (t.i1 * Hi + h.i0) * Wi, *r11 = plane + (t.i1 * Hi + h.i1) * Wi;
        double w00 = t.l0 * h.l0, w01 = t.l0 * h.l1, w10 = t.l1 * h.l0, w11 = t.l1 * h.l1;
        double v = w00 * (w.l0 * r00[w.i0] + w.l1 * r00[w.i1]) + w01 * (w.l0 * r01[w.i0] + w.l1 * r01[w.i1]) +
                   w10 * (w.l0 * r10[w.i0] + w.l1 * r10[w.i1]) + w11 * (w.l0 * r11[w.i0] + w.l1 * r11[w.i1]);
        out[e] = (float)v;
    }
}

__global__ void upsample_backward_kernel(float *dinp, const float *dout, int64_t NC, dims3 g, int nearest,
                                         int align_corners) {
    const int64_t Ti = g.in[0], Hi = g.in[1], Wi = g.in[2], To = g.out[0], Ho = g.out[1], Wo = g.out[2];
    GRID_LOOP(e, NC * To * Ho * Wo) {
        int64_t ow = e % Wo, oh = (e / Wo) % Ho, ot = (e / (Wo * Ho)) % To, nc = e / (Wo * Ho * To);
        float *plane = dinp + nc * Ti * Hi * Wi;
        if (nearest) {
            atomicAdd(plane + (nearest_src(ot, Ti, To) * Hi + nearest_src(oh, Hi, Ho)) * Wi + nearest_src(ow, Wi, Wo),
                      dout[e]);
            continue;
        }
        lin_tap t = linear_src(ot, Ti, To, align_corners), h = linear_src(oh, Hi, Ho, align_corners);
        lin_tap w = linear_src(ow, Wi, Wo, align_corners);
        float *r00 = plane + (t.i0 * Hi + h.i0) * Wi, *r01 = plane + (t.i0 * Hi + h.i1) * Wi;
        float *r10 = plane + (t.i1 * Hi + h.i0) * Wi, *r11 = plane + (t.i1 * Hi + h.i1) * Wi;
        double w00 = t.l0 * h.l0, w01 = t.l0 * h.l1, w10 = t.l1 * h.l0, w11 = t.l1 * h.l1;
        double v = (double)dout[e];
        atomicAdd(r00 + w.i0, (float)(v * w00 * w.l0));
        atomicAdd(r00 + w.i1, (float)(v * w00 * w.l1));
        atomicAdd(r01 + w.i0, (float)(v * w01 * w.l0));
        atomicAdd(r01 + w.i1, (float)(v * w01 * w.l1));
        atomicAdd(r10 + w.i0, (float)(v * w10 * w.l0));
        atomicAdd(r10 + w.i1, (float)(v * w10 * w.l1));
        atomicAdd(r11 + w.i0, (float)(v * w11 * w.l0));
        atomicAdd(r11 + w.i1, (float)(v * w11 * w.l1));
    }
}

static dims3 dims_of(const int64_t *in, const int64_t *out) {
    dims3 g;
    for (int i = 0; i < 3; i++) {
        g.in[i] = in[i];
        g.out[i] = out[i];
    }
    return g;
}

static void upsample_forward(vg_real *out, const vg_real *inp, const struct vg_upsample_desc *d) {
    int64_t n = d->NC * d->out[0] * d->out[1] * d->out[2];
    if (n <= 0) return;
    upsample_forward_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(
        out, inp, d->NC, dims_of(d->in, d->out), d->mode == VG_UPSAMPLE_NEAREST, d->align_corners);
    CUDA_LAUNCHED("upsample_forward_kernel");
}

static void upsample_backward(vg_real *dinp, const vg_real *dout, const struct vg_upsample_desc *d) {
    int64_t n = d->NC * d->out[0] * d->out[1] * d->out[2];
    if (n <= 0) return;
    upsample_backward_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(
        dinp, dout, d->NC, dims_of(d->in, d->out), d->mode == VG_UPSAMPLE_NEAREST, d->align_corners);
    CUDA_LAUNCHED("upsample_backward_kernel");
}

/* ---- pooling ------------------------------------------------------------------ */

struct pool3 {
    dims3 g;
    int k[3], s[3], p[3];
    int count_include_pad;
};

static pool3 pool_of(const struct vg_pool_desc *d) {
    pool3 q;
    q.g = dims_of(d->in, d->out);
    for (int i = 0; i < 3; i++) {
        q.k[i] = d->k[i];
        q.s[i] = d->s[i];
        q.p[i] = d->p[i];
    }
    q.count_include_pad = d->count_include_pad;
    return q;
}

/* The window of output position o along one axis, clipped to [0, in); *full
 * its length counting padding (torch's pool_size). */
__device__ __forceinline__ void pool_window(int64_t o, int64_t in, int k, int s, int p, int64_t *lo, int64_t *hi,
                                            int64_t *full) {
    int64_t a = o * s - p, b = a + k;
    if (b > in + p) b = in + p;
    *full = b - a;
    *lo = a < 0 ? 0 : a;
    *hi = b < in ? b : in;
}

__device__ __forceinline__ int64_t pool_count(const pool3 &q, int64_t ot, int64_t oh, int64_t ow) {
    int64_t t0, t1, ft, h0, h1, fh, w0, w1, fw;
    pool_window(ot, q.g.in[0], q.k[0], q.s[0], q.p[0], &t0, &t1, &ft);
    pool_window(oh, q.g.in[1], q.k[1], q.s[1], q.p[1], &h0, &h1, &fh);
    pool_window(ow, q.g.in[2], q.k[2], q.s[2], q.p[2], &w0, &w1, &fw);
    return q.count_include_pad ? ft * fh * fw : (t1 - t0) * (h1 - h0) * (w1 - w0);
}

__global__ void avgpool_forward_kernel(float *out, const float *inp, int64_t NC, pool3 q) {
    const int64_t Ti = q.g.in[0], Hi = q.g.in[1], Wi = q.g.in[2], To = q.g.out[0], Ho = q.g.out[1], Wo = q.g.out[2];
    GRID_LOOP(e, NC * To * Ho * Wo) {
        int64_t ow = e % Wo, oh = (e / Wo) % Ho, ot = (e / (Wo * Ho)) % To, nc = e / (Wo * Ho * To);
        const float *plane = inp + nc * Ti * Hi * Wi;
        int64_t t0, t1, ft, h0, h1, fh, w0, w1, fw;
        pool_window(ot, Ti, q.k[0], q.s[0], q.p[0], &t0, &t1, &ft);
        pool_window(oh, Hi, q.k[1], q.s[1], q.p[1], &h0, &h1, &fh);
        pool_window(ow, Wi, q.k[2], q.s[2], q.p[2], &w0, &w1, &fw);
        double sum = 0;
        for (int64_t t = t0; t < t1; t++)
            for (int64_t h = h0; h < h1; h++)
                for (int64_t w = w0; w < w1; w++) sum += plane[(t * Hi + h) * Wi + w];
        int64_t count = q.count_include_pad ? ft * fh * fw : (t1 - t0) * (h1 - h0) * (w1 - w0);
        out[e] = count > 0 ? (float)(sum / (double)count) : 0.0f;
    }
}

/* Output positions along one axis whose window [o s - p, o s - p + k) holds i. */
__device__ __forceinline__ void windows_holding(int64_t i, int64_t out, int k, int s, int p, int64_t *o0, int64_t *o1) {
    int64_t num = i + p - k + 1; /* o s >= i + p - k + 1 */
    int64_t lo = num <= 0 ? 0 : (num + s - 1) / s;
    int64_t hi = (i + p) / s + 1; /* o s <= i + p */
    *o0 = lo;
    *o1 = hi < out ? hi : out;
}

/* One thread per input element: the sum over the windows that contain it. */
__global__ void avgpool_backward_kernel(float *dinp, const float *dout, int64_t NC, pool3 q) {
    const int64_t Ti = q.g.in[0], Hi = q.g.in[1], Wi = q.g.in[2], To = q.g.out[0], Ho = q.g.out[1], Wo = q.g.out[2];
    GRID_LOOP(e, NC * Ti * Hi * Wi) {
        int64_t iw = e % Wi, ih = (e / Wi) % Hi, it = (e / (Wi * Hi)) % Ti, nc = e / (Wi * Hi * Ti);
        const float *go = dout + nc * To * Ho * Wo;
        int64_t t0, t1, h0, h1, w0, w1;
        windows_holding(it, To, q.k[0], q.s[0], q.p[0], &t0, &t1);
        windows_holding(ih, Ho, q.k[1], q.s[1], q.p[1], &h0, &h1);
        windows_holding(iw, Wo, q.k[2], q.s[2], q.p[2], &w0, &w1);
        float acc = 0;
        for (int64_t ot = t0; ot < t1; ot++)
            for (int64_t oh = h0; oh < h1; oh++)
                for (int64_t ow = w0; ow < w1; ow++) {
                    int64_t count = pool_count(q, ot, oh, ow);
                    if (count > 0) acc += (float)((double)go[(ot * Ho + oh) * Wo + ow] / (double)count);
                }
        dinp[e] += acc;
    }
}

__global__ void maxpool_forward_kernel(float *out, int64_t *argmax, const float *inp, int64_t NC, pool3 q) {
    const int64_t Ti = q.g.in[0], Hi = q.g.in[1], Wi = q.g.in[2], To = q.g.out[0], Ho = q.g.out[1], Wo = q.g.out[2];
    GRID_LOOP(e, NC * To * Ho * Wo) {
        int64_t ow = e % Wo, oh = (e / Wo) % Ho, ot = (e / (Wo * Ho)) % To, nc = e / (Wo * Ho * To);
        const float *plane = inp + nc * Ti * Hi * Wi;
        int64_t t0, t1, ft, h0, h1, fh, w0, w1, fw;
        pool_window(ot, Ti, q.k[0], q.s[0], q.p[0], &t0, &t1, &ft);
        pool_window(oh, Hi, q.k[1], q.s[1], q.p[1], &h0, &h1, &fh);
        pool_window(ow, Wi, q.k[2], q.s[2], q.p[2], &w0, &w1, &fw);
        int64_t best = (t0 * Hi + h0) * Wi + w0;
        float m = -INFINITY;
        for (int64_t t = t0; t < t1; t++)
            for (int64_t h = h0; h < h1; h++)
                for (int64_t w = w0; w < w1; w++) {
                    int64_t i = (t * Hi + h) * Wi + w;
                    float v = plane[i];
                    if (v > m || isnan(v)) {
                        m = v;
                        best = i;
                    }
                }
        out[e] = m;
        argmax[e] = best;
    }
}

__global__ void maxpool_backward_kernel(float *dinp, const float *dout, const int64_t *argmax, int64_t NC,
                                        int64_t in_plane, int64_t out_plane) {
    GRID_LOOP(e, NC * out_plane) atomicAdd(dinp + (e / out_plane) * in_plane + argmax[e], dout[e]);
}

static void avgpool_forward(vg_real *out, const vg_real *inp, const struct vg_pool_desc *d) {
    int64_t n = d->NC * d->out[0] * d->out[1] * d->out[2];
    if (n <= 0) return;
    avgpool_forward_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(out, inp, d->NC, pool_of(d));
    CUDA_LAUNCHED("avgpool_forward_kernel");
}

static void avgpool_backward(vg_real *dinp, const vg_real *dout, const struct vg_pool_desc *d) {
    int64_t n = d->NC * d->in[0] * d->in[1] * d->in[2];
    if (n <= 0 || d->out[0] * d->out[1] * d->out[2] <= 0) return;
    avgpool_backward_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dinp, dout, d->NC, pool_of(d));
    CUDA_LAUNCHED("avgpool_backward_kernel");
}

static void maxpool_forward(vg_real *out, int64_t *argmax, const vg_real *inp, const struct vg_pool_desc *d) {
    int64_t n = d->NC * d->out[0] * d->out[1] * d->out[2];
    if (n <= 0) return;
    maxpool_forward_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(out, argmax, inp, d->NC,
                                                                                      pool_of(d));
    CUDA_LAUNCHED("maxpool_forward_kernel");
}

static void maxpool_backward(vg_real *dinp, const vg_real *dout, const int64_t *argmax, const struct vg_pool_desc *d) {
    int64_t out_plane = d->out[0] * d->out[1] * d->out[2], in_plane = d->in[0] * d->in[1] * d->in[2];
    if (d->NC * out_plane <= 0) return;
    maxpool_backward_kernel<<<vg_cuda_blocks(d->NC * out_plane, THREADS), THREADS, 0, vg_cuda.stream>>>(
        dinp, dout, argmax, d->NC, in_plane, out_plane);
    CUDA_LAUNCHED("maxpool_backward_kernel");
}

void vg_cuda_register_resample(vg_backend *be) {
    be->upsample_forward = upsample_forward;
    be->upsample_backward = upsample_backward;
    be->avgpool_forward = avgpool_forward;
    be->avgpool_backward = avgpool_backward;
    be->maxpool_forward = maxpool_forward;
    be->maxpool_backward = maxpool_backward;
}
