/* gif.h — animated GIF89a writer for generated videos.
 *
 * File layout (GIF89a specification, CompuServe 1990): header, logical
 * screen descriptor with ONE global colour table (quantize.h: computed from
 * all frames, so colours do not flicker), a NETSCAPE2.0 application
 * extension with the loop count, then per frame a Graphics Control Extension
 * (delay, disposal "do not dispose", no transparency) and a full-size image
 * (no local table, not interlaced) compressed by the LZW encoder in gif.c
 * (variable code size 3..12 bits, a clear code whenever the table fills at
 * 4096 codes). Exactly T images, one per frame.
 *
 * Timing: GIF delays are whole centiseconds. Each frame is shown for
 * d = round(100 / fps) cs, clamped to [2, 65535] because browsers replace
 * delays of 0 and 1 cs with 10 cs; the effective rate is 100 / d fps
 * (vg_gif_fps_effective): 8 fps -> 13 cs = 7.69 fps, 24 -> 4 cs = 25 fps,
 * 30 -> 3 cs = 33.3 fps, anything above 50 fps plays at 50.
 *
 * The file is written atomically (vg_file_write_atomic): a crash or an error
 * never leaves a partial GIF under the final name, and an existing file is
 * replaced only by a complete new one. Errors name the file and the reason. */
#ifndef VG_IO_GIF_H
#define VG_IO_GIF_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

/* GIF stores sizes in 16 bits. */
#define VG_GIF_MAX_DIM 65535

typedef struct vg_gif_opts {
    double fps;  /* frames per second, > 0 (see Timing above) */
    int loop;    /* as ffmpeg's gif muxer -loop: 0 = forever, n > 0 = repeat n
                    more times, -1 = play once (no NETSCAPE2.0 block) */
    int colors;  /* palette size 2..256; 0 = 256 */
    int dither;  /* 0 = none (default), 1 = 4x4 ordered dither */
} vg_gif_opts;

/* Defaults: 8 fps, loop forever, 256 colours, no dither. */
vg_gif_opts vg_gif_opts_default(void);

/* Write rgb (T, H, W, 3) as an animated GIF at path; fps and loop as in
 * vg_gif_opts, the other options at their defaults. */
vg_status vg_gif_write(const char *path, const uint8_t *rgb /* (T, H, W, 3) */, int T, int H, int W, double fps,
                       int loop);
vg_status vg_gif_write_opts(const char *path, const uint8_t *rgb, int T, int H, int W, const vg_gif_opts *opts);

/* The whole GIF file in memory: *out (malloc'd, caller frees), *len bytes. */
vg_status vg_gif_encode(uint8_t **out, size_t *len, const uint8_t *rgb, int T, int H, int W,
                        const vg_gif_opts *opts);

/* The per-frame delay in centiseconds for fps (0 if fps is not a positive
 * finite number), and the frame rate a player will actually show. */
int vg_gif_delay_cs(double fps);
double vg_gif_fps_effective(double fps);

#endif
