/* png_frames.h — 8-bit RGB PNG images and per-frame PNG sequences (libpng).
 *
 * vg_png_write writes one image (e.g. the first frame of a grid, or a grid of
 * first frames); vg_png_frames_write writes a video as dir/frame_0000.png,
 * frame_0001.png, ... (four digits, more once T > 10000), one per frame,
 * ready for `ffmpeg -framerate 8 -i dir/frame_%04d.png`. The directory and
 * its missing parents are created (mode 0777 & ~umask); a path that exists
 * but is not a directory is an error. Frame files beyond T left over from an
 * earlier, longer write are not removed.
 *
 * Every file is encoded in memory and written atomically
 * (vg_file_write_atomic), so no partial PNG ever appears under a final name.
 * Errors name the file and the reason (libpng's message included). */
#ifndef VG_IO_PNG_FRAMES_H
#define VG_IO_PNG_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

/* One image rgb (H, W, 3) to path. */
vg_status vg_png_write(const char *path, const uint8_t *rgb /* (H, W, 3) */, int H, int W);

/* A video rgb (T, H, W, 3) to dir/frame_%04d.png. */
vg_status vg_png_frames_write(const char *dir, const uint8_t *rgb /* (T, H, W, 3) */, int T, int H, int W);

/* The PNG file for rgb (H, W, 3) in memory: *out (malloc'd, caller frees). */
vg_status vg_png_encode(uint8_t **out, size_t *len, const uint8_t *rgb, int H, int W);

#endif
