/* quantize.h — one colour palette for a whole video, and pixel mapping.
 *
 * GIF stores at most 256 colours per image. Computing ONE palette from all
 * frames (a global colour table) keeps colours from flickering between
 * frames. vg_palette_build:
 *   1. counts the distinct colours of the whole video; if there are at most
 *      max_colors, the palette is exactly those (lossless; sorted by value);
 *   2. otherwise takes a deterministic sample of at most VG_QUANT_SAMPLE
 *      pixels spread over all frames and runs median cut on it (Heckbert
 *      1982), in the variance-minimising form: the box with the largest
 *      weighted squared error is split along its axis of largest variance at
 *      the point that minimises the two halves' summed squared error; each
 *      box's palette entry is its weighted mean colour;
 *   3. refines the entries with up to VG_QUANT_KMEANS_ITERS k-means (Lloyd)
 *      iterations over the sample.
 * The result depends only on the pixels (no randomness, no threads).
 *
 * vg_palette_map gives every pixel the index of its nearest entry (squared
 * RGB distance; exact search over per-cell candidate lists).
 * Optional 4x4 ordered (Bayer) dither whose amplitude is the palette's mean
 * nearest-neighbour spacing; the pattern depends on (y, x) only, so it does
 * not flicker either. Off by default: generated videos are smooth, and
 * dither makes LZW compress worse. */
#ifndef VG_IO_QUANTIZE_H
#define VG_IO_QUANTIZE_H

#include <stdint.h>

#include "vidgan.h"

#define VG_PALETTE_MAX 256
#define VG_QUANT_SAMPLE 65536
#define VG_QUANT_KMEANS_ITERS 6

typedef struct vg_palette {
    int n;                          /* entries in use, 1..VG_PALETTE_MAX */
    uint8_t rgb[VG_PALETTE_MAX][3]; /* (n, 3) */
} vg_palette;

/* Build a palette of at most max_colors (1..256) entries for npix >= 1
 * pixels rgb (npix, 3) — e.g. a whole (T, H, W, 3) video. */
vg_status vg_palette_build(vg_palette *pal, const uint8_t *rgb, int64_t npix, int max_colors);

/* idx (T, H, W) = nearest entry of pal for each pixel of rgb (T, H, W, 3);
 * dither: 0 = none, 1 = 4x4 ordered. */
vg_status vg_palette_map(uint8_t *idx, const vg_palette *pal, const uint8_t *rgb, int T, int H, int W,
                         int dither);

/* The nearest entry by brute force (the reference the fast search matches;
 * ties go to the lowest index). */
int vg_palette_nearest(const vg_palette *pal, int r, int g, int b);

#endif
