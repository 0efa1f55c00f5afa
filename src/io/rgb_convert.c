/* rgb_convert.c — crop + scale + colour conversion of decoded frames to RGB
 * with libswscale (rgb_convert.h); the window of VG_FIT_WINDOW is cut from
 * the scaled picture in the scratch buffer. */
#include "io/rgb_convert.h"

#include <libavutil/mem.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <string.h>

#include "core/status.h"
#include "io/ffmpeg_lib.h"

/* Row stride of the scratch image: 64-byte aligned with a block to spare. */
static int scratch_stride(int OW) { return (OW * 3 + 64 + 63) & ~63; }

static int is_full_range(enum AVPixelFormat f, enum AVColorRange r) {
    return r == AVCOL_RANGE_JPEG || f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P ||
           f == AV_PIX_FMT_YUVJ440P || f == AV_PIX_FMT_YUVJ411P;
}

vg_status vg_rgb_convert(vg_rgb_converter *c, AVFrame *f, uint8_t *out, int OH, int OW, const vg_frame_fit *fit,
                         const char *what) {
    const AVPixFmtDescriptor *pd = vg_ff.av_pix_fmt_desc_get(f->format);
    if (!pd || f->width <= 0 || f->height <= 0) return vg_fail(VG_ERR_FORMAT, "%s: decoded frame has no pixel format", what);
    /* the picture swscale makes (SH, SW) and the part of it kept (OH, OW) at (x0, y0) */
    int SH = OH, SW = OW, x0 = 0, y0 = 0;
    if (fit && fit->mode == VG_FIT_WINDOW) {
        vg_fit_resized(f->width, f->height, OW, &SW, &SH);
        x0 = fit->x < 0 ? 0 : fit->x > SW - OW ? SW - OW : fit->x;
        y0 = fit->y < 0 ? 0 : fit->y > SH - OH ? SH - OH : fit->y;
    } else if (fit) {
        int m = f->width < f->height ? f->width : f->height;
        int cx = (f->width - m) / 2, cy = (f->height - m) / 2;
        cx &= ~((1 << pd->log2_chroma_w) - 1);
        cy &= ~((1 << pd->log2_chroma_h) - 1);
        f->crop_left = (size_t)cx;
        f->crop_right = (size_t)(f->width - cx - m);
        f->crop_top = (size_t)cy;
        f->crop_bottom = (size_t)(f->height - cy - m);
        if (vg_ff.av_frame_apply_cropping(f, AV_FRAME_CROP_UNALIGNED) < 0)
            return vg_fail(VG_ERR_FORMAT, "%s: cannot crop a %s frame", what, pd->name);
    }
    int shrink = f->width > SW || f->height > SH;
    /* swscale's standard chroma handling, as ffmpeg and players use it: full
     * chroma interpolation differed from ffmpeg's decode of testsrc2 by 7.5/255
     * mean, this by < 3 (tests/test_video_io.c) */
    int flags = shrink ? SWS_AREA : SWS_BILINEAR;
    struct SwsContext *s =
        vg_ff.sws_getCachedContext(c->sws, f->width, f->height, f->format, SW, SH, AV_PIX_FMT_RGB24, flags, NULL, NULL, NULL);
    if (!s)
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: cannot convert %s %dx%d to RGB %dx%d (sws_getCachedContext)", what, pd->name,
                       f->width, f->height, SW, SH);
    int range = is_full_range(f->format, f->color_range);
    if (s != c->sws || c->cs != (int)f->colorspace || c->range != range) {
        if (!(pd->flags & AV_PIX_FMT_FLAG_RGB) && pd->nb_components >= 3) {
            const int *coef = vg_ff.sws_getCoefficients(f->colorspace);
            vg_ff.sws_setColorspaceDetails(s, coef, range, vg_ff.sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
        }
        c->cs = (int)f->colorspace;
        c->range = range;
    }
    c->sws = s;
    const int ls = scratch_stride(SW);
    const size_t need = (size_t)ls * (SH + 1);
    if (need > c->rgb_bytes) {
        vg_ff.av_free(c->rgb);
        c->rgb_bytes = 0;
        if (!(c->rgb = vg_ff.av_malloc(need))) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", what);
        c->rgb_bytes = need;
    }
    uint8_t *dst[4] = {c->rgb, NULL, NULL, NULL};
    int dst_stride[4] = {ls, 0, 0, 0};
    int h = vg_ff.sws_scale(s, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, dst_stride);
    if (h != SH) return vg_fail(VG_ERR_FORMAT, "%s: sws_scale failed", what);
    for (int y = 0; y < OH; y++)
        memcpy(out + (size_t)y * OW * 3, c->rgb + (size_t)(y0 + y) * ls + (size_t)x0 * 3, (size_t)OW * 3);
    return VG_OK;
}

void vg_rgb_converter_free(vg_rgb_converter *c) {
    vg_ff.sws_freeContext(c->sws);
    vg_ff.av_free(c->rgb);
    memset(c, 0, sizeof *c);
}
