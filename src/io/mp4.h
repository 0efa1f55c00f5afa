/* mp4.h — MP4 (H.264, yuv420p) writer for generated videos, with
 * libavformat / libavcodec / libswscale.
 *
 * Encoder: libx264 at CRF 18 ("visually lossless" for most content) with
 * preset "medium" (x264's default speed/size trade-off; these videos are
 * small). Without libx264 the default H.264 encoder of the FFmpeg build is
 * tried, then MPEG-4 part 2 at a fixed quantiser of 2 (near lossless);
 * vg_mp4_encoder_name() says which one a write will use, so a caller can
 * print a note. Pixels go RGB -> yuv420p (BT.601, limited range, tagged as
 * such in the stream) with swscale; yuv420p needs even sizes, so an odd
 * height or width is padded by one row / column that repeats the last one
 * (the file is then (H + H%2) x (W + W%2)).
 *
 * Timing: exactly T frames, frame i at time i / fps. The time base is 1/fps
 * for rational rates (av_d2q, e.g. 8 -> 1/8, 29.97 -> 100/2997), every
 * packet's duration is one frame (set before rescaling to the stream's time
 * base, otherwise the MP4 muxer drops the last frame), and the encoder is
 * flushed before the trailer.
 *
 * The file is encoded in memory and written with vg_file_write_atomic: an
 * error never leaves a partial file under the final name and an existing
 * file is replaced only by a complete new one. Every FFmpeg failure becomes
 * a message naming the file, the call and FFmpeg's reason. Nothing here
 * prints. */
#ifndef VG_IO_MP4_H
#define VG_IO_MP4_H

#include <stdint.h>

#include "vidgan.h"

typedef struct vg_mp4_opts {
    double fps;  /* frames per second, > 0 (default 8) */
    int crf;     /* x264 constant rate factor 0..51 (default 18; lower = better) */
} vg_mp4_opts;

vg_mp4_opts vg_mp4_opts_default(void);

/* Write rgb (T, H, W, 3) as an H.264 MP4 at path. */
vg_status vg_mp4_write(const char *path, const uint8_t *rgb /* (T, H, W, 3) */, int T, int H, int W, double fps);
vg_status vg_mp4_write_opts(const char *path, const uint8_t *rgb, int T, int H, int W, const vg_mp4_opts *opts);

/* The encoder a write will use: "libx264", another H.264 encoder's name,
 * "mpeg4", or NULL when this FFmpeg build has none of them. */
const char *vg_mp4_encoder_name(void);

#endif
