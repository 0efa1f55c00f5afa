/* video_frames.c — float videos to 8-bit RGB, grid tiling, atomic file write
 * (see video_frames.h). Encoders live in gif.c and png_frames.c. */
#include "io/video_frames.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/status.h"

vg_status vg_frames_bytes(int T, int H, int W, size_t *out) {
    int64_t n;
    if (T < 1 || H < 1 || W < 1)
        return vg_fail(VG_ERR_INVALID, "video frames: bad size T=%d H=%d W=%d (each must be >= 1)", T, H, W);
    if (!vg_mul_ok(T, H, &n) || !vg_mul_ok(n, W, &n) || !vg_mul_ok(n, 3, &n) || (uint64_t)n > SIZE_MAX)
        return vg_fail(VG_ERR_NOMEM, "video frames: T=%d H=%d W=%d x 3 bytes overflows", T, H, W);
    *out = (size_t)n;
    return VG_OK;
}

vg_status vg_frames_alloc(vg_frames *f, int T, int H, int W) {
    size_t n;
    memset(f, 0, sizeof *f);
    vg_status s = vg_frames_bytes(T, H, W, &n);
    if (s != VG_OK) return s;
    f->rgb = malloc(n);
    if (!f->rgb) return vg_fail(VG_ERR_NOMEM, "video frames: cannot allocate %zu bytes", n);
    f->T = T;
    f->H = H;
    f->W = W;
    return VG_OK;
}

void vg_frames_free(vg_frames *f) {
    if (!f) return;
    free(f->rgb);
    memset(f, 0, sizeof *f);
}

static inline uint8_t to_u8(float v) {
    float y = (v + 1.0f) * 127.5f + 0.5f; /* (x+1)/2*255, rounded half up */
    if (!(y >= 0.0f)) return 0;          /* also NaN */
    if (y >= 255.0f) return 255;
    return (uint8_t)y;
}

/* x (C, T, H, W) into a strided destination: pixel (t, y, x) at
 * dst + t*frame_stride + y*row_stride + 3*x. Sizes already checked. */
static void convert_into(uint8_t *dst, size_t frame_stride, size_t row_stride, const float *x, int C, int T,
                         int H, int W) {
    size_t plane = (size_t)H * (size_t)W, chan = (size_t)T * plane;
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++) {
            uint8_t *d = dst + (size_t)t * frame_stride + (size_t)y * row_stride;
            const float *r = x + (size_t)t * plane + (size_t)y * (size_t)W;
            if (C == 1) {
                for (int i = 0; i < W; i++) d[3 * i] = d[3 * i + 1] = d[3 * i + 2] = to_u8(r[i]);
            } else {
                const float *g = r + chan, *b = r + 2 * chan;
                for (int i = 0; i < W; i++) {
                    d[3 * i] = to_u8(r[i]);
                    d[3 * i + 1] = to_u8(g[i]);
                    d[3 * i + 2] = to_u8(b[i]);
                }
            }
        }
}

static vg_status check_channels(int C) {
    if (C != 1 && C != 3)
        return vg_fail(VG_ERR_INVALID, "video frames: C=%d channels (expected 1 or 3)", C);
    return VG_OK;
}

vg_status vg_frames_from_float(uint8_t *rgb, const float *x, int C, int T, int H, int W) {
    size_t n;
    vg_status s;
    VG_ASSERT(rgb && x);
    if ((s = check_channels(C)) != VG_OK || (s = vg_frames_bytes(T, H, W, &n)) != VG_OK) return s;
    /* The float input is C/3 times the output: check it is addressable too. */
    int64_t nin;
    if (!vg_mul_ok((int64_t)(n / 3), C, &nin) || !vg_mul_ok(nin, (int64_t)sizeof(float), &nin) ||
        (uint64_t)nin > SIZE_MAX)
        return vg_fail(VG_ERR_NOMEM, "video frames: input (%d, %d, %d, %d) overflows", C, T, H, W);
    convert_into(rgb, (size_t)H * (size_t)W * 3, (size_t)W * 3, x, C, T, H, W);
    return VG_OK;
}

vg_status vg_grid_layout(vg_grid *g, int N, int H, int W, int cols) {
    VG_ASSERT(g);
    memset(g, 0, sizeof *g);
    if (N < 1 || H < 1 || W < 1 || cols < 0)
        return vg_fail(VG_ERR_INVALID, "grid: bad layout N=%d H=%d W=%d cols=%d (N, H, W >= 1, cols >= 0)", N,
                       H, W, cols);
    if (cols == 0) {
        cols = (int)ceil(sqrt((double)N));
        while ((int64_t)cols * cols < N) cols++; /* guard sqrt rounding */
        while (cols > 1 && (int64_t)(cols - 1) * (cols - 1) >= N) cols--;
    }
    if (cols > N) cols = N;
    int rows = (int)((N + (int64_t)cols - 1) / cols);
    int64_t gh, gw, t;
    if (!vg_mul_ok(rows, H, &gh) || !vg_mul_ok(rows + 1, VG_GRID_PAD, &t) || !vg_add_ok(gh, t, &gh) ||
        !vg_mul_ok(cols, W, &gw) || !vg_mul_ok(cols + 1, VG_GRID_PAD, &t) || !vg_add_ok(gw, t, &gw) ||
        gh > INT32_MAX || gw > INT32_MAX)
        return vg_fail(VG_ERR_INVALID, "grid: %d x %d tiles of %d x %d pixels is too large", rows, cols, H, W);
    g->rows = rows;
    g->cols = cols;
    g->H = (int)gh;
    g->W = (int)gw;
    return VG_OK;
}

/* Checks g against (N, H, W) and that T frames of it are addressable. */
static vg_status check_grid(const vg_grid *g, int N, int T, int H, int W, size_t *out_bytes) {
    vg_grid want;
    vg_status s = vg_grid_layout(&want, N, H, W, g->cols);
    if (s != VG_OK) return s;
    if (want.rows != g->rows || want.cols != g->cols || want.H != g->H || want.W != g->W)
        return vg_fail(VG_ERR_INVALID, "grid: layout %dx%d (%dx%d px) does not fit N=%d tiles of %dx%d", g->rows,
                       g->cols, g->H, g->W, N, H, W);
    return vg_frames_bytes(T, g->H, g->W, out_bytes);
}

vg_status vg_frames_tile(uint8_t *out, const uint8_t *tiles, int N, int T, int H, int W, const vg_grid *g) {
    size_t nout, ntile;
    vg_status s;
    VG_ASSERT(out && tiles && g);
    if ((s = check_grid(g, N, T, H, W, &nout)) != VG_OK) return s;
    if ((s = vg_frames_bytes(T, H, W, &ntile)) != VG_OK) return s;
    int64_t nin;
    if (!vg_mul_ok((int64_t)ntile, N, &nin) || (uint64_t)nin > SIZE_MAX)
        return vg_fail(VG_ERR_NOMEM, "grid: input of %d videos (%d, %d, %d, 3) overflows", N, T, H, W);
    memset(out, VG_GRID_PAD_VALUE, nout);
    size_t frame = (size_t)g->H * (size_t)g->W * 3, row = (size_t)g->W * 3, trow = (size_t)W * 3;
    for (int i = 0; i < N; i++) {
        size_t y0 = VG_GRID_PAD + (size_t)(i / g->cols) * (size_t)(H + VG_GRID_PAD);
        size_t x0 = VG_GRID_PAD + (size_t)(i % g->cols) * (size_t)(W + VG_GRID_PAD);
        const uint8_t *src = tiles + (size_t)i * ntile;
        for (int t = 0; t < T; t++)
            for (int y = 0; y < H; y++)
                memcpy(out + (size_t)t * frame + (y0 + (size_t)y) * row + x0 * 3,
                       src + ((size_t)t * (size_t)H + (size_t)y) * trow, trow);
    }
    return VG_OK;
}

vg_status vg_frames_grid(vg_frames *out, const float *x, int N, int C, int T, int H, int W, int cols) {
    vg_grid g;
    size_t nout, ntile;
    vg_status s;
    VG_ASSERT(out && x);
    memset(out, 0, sizeof *out);
    if ((s = check_channels(C)) != VG_OK || (s = vg_grid_layout(&g, N, H, W, cols)) != VG_OK ||
        (s = check_grid(&g, N, T, H, W, &nout)) != VG_OK || (s = vg_frames_bytes(T, H, W, &ntile)) != VG_OK)
        return s;
    int64_t per_video, nin;
    if (!vg_mul_ok((int64_t)(ntile / 3), C, &per_video) || !vg_mul_ok(per_video, N, &nin) ||
        !vg_mul_ok(nin, (int64_t)sizeof(float), &nin) || (uint64_t)nin > SIZE_MAX)
        return vg_fail(VG_ERR_NOMEM, "grid: input (%d, %d, %d, %d, %d) overflows", N, C, T, H, W);
    if ((s = vg_frames_alloc(out, T, g.H, g.W)) != VG_OK) return s;
    memset(out->rgb, VG_GRID_PAD_VALUE, nout);
    size_t frame = (size_t)g.H * (size_t)g.W * 3, row = (size_t)g.W * 3;
    for (int i = 0; i < N; i++) {
        size_t y0 = VG_GRID_PAD + (size_t)(i / g.cols) * (size_t)(H + VG_GRID_PAD);
        size_t x0 = VG_GRID_PAD + (size_t)(i % g.cols) * (size_t)(W + VG_GRID_PAD);
        convert_into(out->rgb + y0 * row + x0 * 3, frame, row, x + (size_t)i * (size_t)per_video, C, T, H, W);
    }
    return VG_OK;
}
