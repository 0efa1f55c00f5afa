/* rgb_convert.h — a decoded FFmpeg frame (any pixel format) to 8-bit RGB
 * (OH, OW, 3), shared by the video reader and the image reader so videos and
 * frame folders are resized the same way.
 *
 * With crop set, the centre square of the shorter side is kept first (an
 * offset source rectangle, rounded down to the chroma grid), then scaled to
 * OH x OW with swscale's area filter when shrinking and bilinear when
 * enlarging. YUV -> RGB follows the frame's colour matrix and range tags
 * (BT.601 limited range when untagged; JPEG's yuvj formats are full range).
 * Alpha is dropped. Internal to src/io. */
#ifndef VG_IO_RGB_CONVERT_H
#define VG_IO_RGB_CONVERT_H

#include <libavutil/frame.h>
#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

typedef struct vg_rgb_converter {
    struct SwsContext *sws;
    int cs, range;  /* colour details the context was set up with */
    uint8_t *rgb;   /* (OH, stride) scratch: swscale's SIMD paths write whole
                       blocks of pixels past a row's end */
    size_t rgb_bytes;
} vg_rgb_converter;

/* f -> out (OH, OW, 3). f's crop fields are changed when crop is set. what:
 * the start of any error message ("clip.mp4: frame 12"). */
vg_status vg_rgb_convert(vg_rgb_converter *c, AVFrame *f, uint8_t *out, int OH, int OW, int crop, const char *what);
void vg_rgb_converter_free(vg_rgb_converter *c);

#endif
