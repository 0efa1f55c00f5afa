/* image_reader.h — still frames (PNG and JPEG files, e.g. the frames of a
 * StyleGAN-V frame folder) decoded with libavcodec's png and mjpeg decoders
 * and converted to 8-bit RGB by io/rgb_convert.h (the video reader's resize
 * rules: shorter side to S, centre S x S crop, area filter when shrinking).
 *
 * The format is recognised by its signature, never by the file's name:
 * PNG "\x89PNG\r\n\x1a\n" followed by an IHDR chunk; JPEG "\xff\xd8\xff".
 *
 * vg_image_check reads only the header and the tail, so thousands of frames
 * can be checked at open: the signature, the size (PNG: IHDR; JPEG: the
 * first SOFn segment, following the segment lengths), and completeness (a
 * PNG ends with its IEND chunk, a JPEG with the EOI marker FF D9, possibly
 * followed by zero bytes). A frame that passes can still fail to decode
 * (damaged data in the middle); vg_image_decode says so, naming the file.
 *
 * Every failure returns a status with a message that starts with the
 * file's name (zero bytes, unknown signature, truncated, bad header,
 * decoder error). A vg_image_decoder is for one thread at a time. */
#ifndef VG_IO_IMAGE_READER_H
#define VG_IO_IMAGE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "io/frame_fit.h"
#include "vidgan.h"

typedef enum vg_image_kind { VG_IMAGE_PNG = 0, VG_IMAGE_JPEG, VG_IMAGE_KIND_COUNT } vg_image_kind;

typedef struct vg_image_header {
    vg_image_kind kind;
    int width, height;
} vg_image_header;

/* "png" or "jpeg". */
const char *vg_image_kind_name(vg_image_kind k);

/* Header and completeness of an image held in memory (n bytes); name is
 * used in messages. */
vg_status vg_image_check_memory(const uint8_t *bytes, size_t n, const char *name, vg_image_header *out);
/* The same for a file, reading its first bytes and its tail only. */
vg_status vg_image_check_file(const char *path, vg_image_header *out);

typedef struct vg_image_decoder vg_image_decoder;

vg_status vg_image_decoder_new(vg_image_decoder **out);
void vg_image_decoder_free(vg_image_decoder *d);

/* Decode an image held in memory into out as RGB: (S, S, 3) for size S > 0,
 * else (height, width, 3) at its own size; cap is out's size in bytes (too
 * small is VG_ERR_INVALID). *width / *height (may be NULL) receive the
 * decoded size before resizing. */
vg_status vg_image_decode(vg_image_decoder *d, const uint8_t *bytes, size_t n, const char *name, int size, uint8_t *out,
                          size_t cap, int *width, int *height);
/* The same, reading the file whole first. */
vg_status vg_image_read_file(vg_image_decoder *d, const char *path, int size, uint8_t *out, size_t cap, int *width,
                             int *height);
/* vg_image_read_file with the S x S square cut as fit says (io/frame_fit.h;
 * NULL: the centre crop); fit is ignored for size 0. */
vg_status vg_image_read_file_fit(vg_image_decoder *d, const char *path, int size, const vg_frame_fit *fit, uint8_t *out,
                                 size_t cap, int *width, int *height);

#endif
