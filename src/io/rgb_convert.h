/* rgb_convert.h — a decoded FFmpeg frame (any pixel format) to 8-bit RGB
 * (OH, OW, 3), shared by the video reader and the image reader so videos and
 * frame folders are resized the same way.
 *
 * With a fit (io/frame_fit.h) the output is a square, OH = OW = S:
 * VG_FIT_CENTRE keeps the centre square of the shorter side first (an
 * offset source rectangle, rounded down to the chroma grid) and scales it;
 * VG_FIT_WINDOW scales the whole frame so its shorter side is S and keeps
 * the S x S window at (x, y). Without one the frame is scaled to OH x OW.
 * Scaling is swscale's area filter when shrinking and bilinear when
 * enlarging. YUV -> RGB follows the frame's colour matrix and range tags
 * (BT.601 limited range when untagged; JPEG's yuvj formats are full range).
 * Alpha is dropped. Internal to src/io. */
#ifndef VG_IO_RGB_CONVERT_H
#define VG_IO_RGB_CONVERT_H

#include <libavutil/frame.h>
#include <stddef.h>
#include <stdint.h>

#include "io/frame_fit.h"
#include "vidgan.h"

typedef struct vg_rgb_converter {
    struct SwsContext *sws;
    int cs, range;  /* colour details the context was set up with */
    uint8_t *rgb;   /* (OH, stride) scratch: swscale's SIMD paths write whole
                       blocks of pixels past a row's end */
    size_t rgb_bytes;
} vg_rgb_converter;

/* f -> out (OH, OW, 3). fit: NULL (scale to OH x OW), or how to cut the
 * S x S square (OH = OW = S); f's crop fields are changed for
 * VG_FIT_CENTRE. what: the start of any error message ("clip.mp4: frame 12"). */
vg_status vg_rgb_convert(vg_rgb_converter *c, AVFrame *f, uint8_t *out, int OH, int OW, const vg_frame_fit *fit,
                         const char *what);
void vg_rgb_converter_free(vg_rgb_converter *c);

#endif
