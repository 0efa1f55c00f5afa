/* npy.h — read-only access to NumPy .npy files (numpy lib/format.py):
 * "\x93NUMPY", version 1.x (u16 LE header length at byte 8, data at 10 + len)
 * or 2.x / 3.x (u32 LE at byte 8, data at 12 + len), then a Python dict
 * literal {'descr': ..., 'fortran_order': False, 'shape': (...), }.
 *
 * Supported: descr u1, f4, f8 in either byte order ('|u1', '<f4', '>f8',
 * '=f4' ...), C order only (fortran_order True is refused with a message),
 * any rank 0..32 with non-negative dims. Every key must appear exactly once
 * and no other key may; the padding (16 or 64 bytes) is not checked. The
 * bytes after the header must be exactly numel * item size.
 *
 * vg_npy_open memory-maps the file read-only (nothing is read up front
 * beyond the header), so opening a multi-gigabyte file is cheap and a
 * vg_npy is safe to read from any number of threads at once. Every failure
 * returns a status, leaves *out NULL and sets a message that starts with
 * the file's name.
 *
 * Writing: vg_npy_header formats a version 1.0 header for a C-order array
 * ('|u1' or '<f4'), padded so the data starts at a multiple of 64 bytes, as
 * numpy writes it; vg_npy_write writes a whole little-endian array
 * atomically (temp file, fsync, rename). */
#ifndef VG_IO_NPY_H
#define VG_IO_NPY_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

#define VG_NPY_MAX_DIMS 32

typedef struct vg_npy vg_npy;

typedef enum vg_npy_dtype { VG_NPY_U8 = 0, VG_NPY_F32, VG_NPY_F64 } vg_npy_dtype;

vg_status vg_npy_open(vg_npy **out, const char *path);
/* Parse a .npy image held in memory (e.g. by a fuzzer). The bytes are
 * borrowed, not copied: they must outlive the vg_npy. name is used in
 * messages (copied). */
vg_status vg_npy_open_memory(vg_npy **out, const void *bytes, size_t size, const char *name);
void vg_npy_close(vg_npy *f);

const char *vg_npy_name(const vg_npy *f);
vg_npy_dtype vg_npy_dtype_of(const vg_npy *f);
size_t vg_npy_item_size(const vg_npy *f);      /* 1, 4 or 8 */
int vg_npy_big_endian(const vg_npy *f);        /* 1: data stored big-endian */
int vg_npy_version(const vg_npy *f);           /* major version: 1, 2 or 3 */
int vg_npy_ndim(const vg_npy *f);
const int64_t *vg_npy_shape(const vg_npy *f);  /* ndim dims */
int64_t vg_npy_numel(const vg_npy *f);         /* product of dims (1 for rank 0) */
/* The raw data (numel * item size bytes, file byte order, no alignment
 * promised) and its size. */
const void *vg_npy_data(const vg_npy *f);
size_t vg_npy_nbytes(const vg_npy *f);

/* Elements first .. first + n - 1 (C order) converted to float in host
 * byte order: u1 gives 0..255, f4 as is, f8 rounded. The range must lie
 * inside the array (checked: VG_ERR_INVALID otherwise). Thread-safe. */
vg_status vg_npy_read_f32(const vg_npy *f, int64_t first, int64_t n, float *dst);

/* The header for dtype (VG_NPY_U8 or VG_NPY_F32) and shape (ndim 1..8) into
 * h (cap bytes); returns its length, 0 if it does not fit or the arguments
 * are not supported. */
size_t vg_npy_header(char *h, size_t cap, vg_npy_dtype dtype, int ndim, const int64_t *shape);
/* Writes data (numel items of dtype, host byte order = little-endian) as
 * path, atomically. */
vg_status vg_npy_write(const char *path, vg_npy_dtype dtype, int ndim, const int64_t *shape, const void *data);

#endif
