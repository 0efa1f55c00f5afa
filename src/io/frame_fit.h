/* frame_fit.h — how a decoded W x H frame becomes the S x S square of a
 * clip, shared by the video reader, the image reader (frame folders) and the
 * data sets that choose the square:
 *
 *   VG_FIT_CENTRE  the centre square of the shorter side is cut from the
 *                  decoded frame (offset rounded down to the chroma grid),
 *                  then scaled to S x S. vidgan's default since the start.
 *   VG_FIT_WINDOW  torchvision's Resize(S) then a crop: the whole frame is
 *                  scaled so its shorter side is S (aspect kept, the longer
 *                  side floor(S * long / short), vg_fit_resized), then the
 *                  S x S window with its top-left corner at (x, y) of the
 *                  resized frame is kept. x, y outside [0, resized - S] are
 *                  clamped. RandomCrop draws (x, y); the data set draws them
 *                  once per clip so every frame gets the same window.
 *
 * Scaling is swscale's area filter when shrinking, bilinear when enlarging
 * (io/rgb_convert.h). Header-only, no FFmpeg types. */
#ifndef VG_IO_FRAME_FIT_H
#define VG_IO_FRAME_FIT_H

#include <stdint.h>

typedef enum vg_fit_mode { VG_FIT_CENTRE = 0, VG_FIT_WINDOW, VG_FIT_COUNT } vg_fit_mode;

typedef struct vg_frame_fit {
    vg_fit_mode mode;
    int x, y; /* VG_FIT_WINDOW: top-left of the S x S window in the resized frame */
} vg_frame_fit;

/* The size of a w x h frame scaled so that its shorter side is S, aspect
 * kept (torchvision.transforms.Resize(S): the longer side is
 * int(S * long / short), i.e. rounded down, and never below S; capped at
 * 2^30). */
static inline void vg_fit_resized(int w, int h, int S, int *rw, int *rh) {
    if (w <= 0 || h <= 0 || S <= 0) {
        *rw = *rh = S;
        return;
    }
    int64_t l = w >= h ? (int64_t)S * w / h : (int64_t)S * h / w;
    if (l < S) l = S;
    if (l > (1 << 30)) l = 1 << 30; /* absurd shapes; callers bound the sizes */
    *rw = w >= h ? (int)l : S;
    *rh = w >= h ? S : (int)l;
}

#endif
