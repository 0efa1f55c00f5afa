/* video_frames.h — generated videos as 8-bit RGB frames, grids of videos,
 * and the atomic file write every media writer ends with.
 *
 * Shapes (letters as everywhere in vidgan): the model hands out float videos
 * (C, T, H, W) in [-1, 1] with C = 1 or 3, batched as (N, C, T, H, W). The
 * writers (gif.h, png_frames.h) take uint8 RGB frames (T, H, W, 3), row-major,
 * R G B interleaved. Conversion is (x + 1) / 2 * 255 rounded to nearest and
 * clamped to [0, 255]; NaN becomes 0 (a diverged generator shows as black
 * rather than failing the write); grayscale is copied into R, G and B.
 *
 * A grid puts N videos side by side, rows x cols tiles, tile i at row
 * i / cols and column i % cols, every tile framed by a VG_GRID_PAD-pixel line
 * of mid grey (VG_GRID_PAD_VALUE) — neutral against the black and white
 * backgrounds generated digits and faces tend to have. Unused tiles are grey.
 *
 * Every size is computed with overflow-checked 64-bit arithmetic and must fit
 * an int per dimension; failures return VG_ERR_INVALID / VG_ERR_NOMEM with a
 * message in vg_last_error(). Nothing here prints or exits. */
#ifndef VG_IO_VIDEO_FRAMES_H
#define VG_IO_VIDEO_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

/* Width in pixels of the line around and between grid tiles, and its grey. */
#define VG_GRID_PAD 2
#define VG_GRID_PAD_VALUE 128

/* An owned 8-bit RGB video. */
typedef struct vg_frames {
    int T, H, W;
    uint8_t *rgb; /* (T, H, W, 3) */
} vg_frames;

/* Bytes of a (T, H, W, 3) uint8 video; dims must be >= 1. */
vg_status vg_frames_bytes(int T, int H, int W, size_t *out);
/* Allocate f->rgb (uninitialised) for T x H x W; on failure f is zeroed. */
vg_status vg_frames_alloc(vg_frames *f, int T, int H, int W);
/* Free f->rgb and zero f; a zeroed or already freed f is fine. */
void vg_frames_free(vg_frames *f);

/* One float video x (C, T, H, W), C = 1 or 3, into rgb (T, H, W, 3). */
vg_status vg_frames_from_float(uint8_t *rgb, const float *x, int C, int T, int H, int W);

/* Grid geometry for N tiles of H x W: cols = 0 picks ceil(sqrt(N)), more
 * columns than N are cut to N; rows = ceil(N / cols). The grid is
 * rows*H + (rows+1)*VG_GRID_PAD high and cols*W + (cols+1)*VG_GRID_PAD wide;
 * tile (r, c) starts at y = VG_GRID_PAD + r*(H + VG_GRID_PAD), x likewise. */
typedef struct vg_grid {
    int rows, cols; /* tiles */
    int H, W;       /* the whole grid, in pixels */
} vg_grid;
vg_status vg_grid_layout(vg_grid *g, int N, int H, int W, int cols);

/* Tile N uint8 videos tiles (N, T, H, W, 3) into out (T, g->H, g->W, 3),
 * with g from vg_grid_layout(g, N, H, W, ...). */
vg_status vg_frames_tile(uint8_t *out, const uint8_t *tiles, int N, int T, int H, int W, const vg_grid *g);

/* A batch of float videos x (N, C, T, H, W) straight into a newly allocated
 * grid video (no per-video intermediate); cols as in vg_grid_layout. Free
 * out with vg_frames_free. */
vg_status vg_frames_grid(vg_frames *out, const float *x, int N, int C, int T, int H, int W, int cols);

/* vg_file_write_atomic (writing a buffer whole or not at all) lives in
 * io/atomic_file.h, included here for the writers that use both. */
#include "io/atomic_file.h"

#endif
