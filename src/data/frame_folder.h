/* frame_folder.h — one video stored as a folder of still frames, as in the
 * StyleGAN-V data layout (root/<video>/<frame>.png, or
 * root/<class>/<video>/<frame>.jpg): every PNG or JPEG file directly inside
 * the folder (names ending in .png, .jpg or .jpeg, any case; hidden files
 * skipped) is one frame, in natural order of the names ("frame_2.png"
 * before "frame_10.png": runs of digits compare as numbers).
 *
 * vg_frame_list_open lists and checks every frame cheaply (header and tail
 * only, io/image_reader.h): a frame that is empty, not a PNG or JPEG,
 * truncated, or of another size than the folder's first frame fails the
 * open with a message naming that file and the reason. Frames are decoded
 * only when a clip needs them. The data set over many such folders is
 * video_folder.h's (the folder layout is detected there). */
#ifndef VG_DATA_FRAME_FOLDER_H
#define VG_DATA_FRAME_FOLDER_H

#include <stdint.h>

#include "io/image_reader.h"
#include "vidgan.h"

typedef struct vg_frame_list {
    char *dir;
    char **paths;      /* (n) frame files in natural order */
    int64_t n;
    int width, height; /* of every frame */
    char codec[16];    /* "png", "jpeg" or "png+jpeg" */
} vg_frame_list;

/* 1 if the name ends in .png, .jpg or .jpeg (any case). */
int vg_frame_is_image_name(const char *name);
/* strcmp with runs of decimal digits compared by value ("a9" < "a10");
 * equal values with different leading zeros fall back to strcmp. */
int vg_natural_cmp(const char *a, const char *b);

vg_status vg_frame_list_open(vg_frame_list **out, const char *dir);
void vg_frame_list_free(vg_frame_list *l);

/* Frames start, start + stride, ..., start + (T-1)*stride into out as RGB
 * (T, S, S, 3) for size S > 0 (the square cut as fit says, io/frame_fit.h;
 * NULL: shorter side to S, centre crop), or (T, height, width, 3) for size 0. */
vg_status vg_frame_list_read_clip(const vg_frame_list *l, vg_image_decoder *d, int64_t start, int T, int stride, int size,
                                  const vg_frame_fit *fit, uint8_t *out);

#endif
