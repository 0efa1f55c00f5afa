/* safetensors.h — read and write the safetensors format (Hugging Face's
 * tensor container, also what PyTorch checkpoints are exchanged in).
 *
 * Layout: u64 little-endian header length N; N bytes of UTF-8 JSON
 *   {"__metadata__": {str: str}, name: {"dtype": "F32", "shape": [...],
 *    "data_offsets": [begin, end]}, ...}
 * then the data section; offsets are relative to its first byte; tensors are
 * row-major, little-endian, and never overlap.
 *
 * The reader loads the whole file into memory and validates everything before
 * handing out a pointer: header length against the file size (and a 100 MB
 * cap), JSON syntax, duplicate keys, dtypes, shapes, offsets, byte sizes
 * (overflow-checked), overlaps and metadata types. Every message names the
 * file. Tensors are indexed in name order.
 *
 * The writer collects tensors by pointer (the caller keeps the buffers alive
 * until vg_st_writer_save) and saves atomically: a temporary file in the same
 * directory, fsync, rename over the target, fsync of the directory. The first
 * error of any call sticks to the writer, so a save after a failed add fails
 * too and never writes a checkpoint with a tensor missing.
 *
 * Data is copied as host bytes: vidgan assumes a little-endian host. */
#ifndef VG_IO_SAFETENSORS_H
#define VG_IO_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

/* Rank limit for tensors in a safetensors file (library tensors use <= 5). */
#define VG_ST_MAX_DIMS 8
/* Largest header the reader accepts (the reference implementation's limit). */
#define VG_ST_MAX_HEADER 100000000u

typedef enum vg_st_dtype {
    VG_ST_BOOL,
    VG_ST_U8,
    VG_ST_I8,
    VG_ST_F8_E4M3,
    VG_ST_F8_E5M2,
    VG_ST_I16,
    VG_ST_U16,
    VG_ST_F16,
    VG_ST_BF16,
    VG_ST_I32,
    VG_ST_U32,
    VG_ST_F32,
    VG_ST_I64,
    VG_ST_U64,
    VG_ST_F64,
    VG_ST_DTYPE_COUNT
} vg_st_dtype;

/* "F32", "BF16", ... as spelled in the header; NULL for an invalid value. */
const char *vg_st_dtype_name(vg_st_dtype d);
/* Bytes per element; 0 for an invalid value. */
size_t vg_st_dtype_size(vg_st_dtype d);
/* Parse a header spelling; returns 0 if unknown. */
int vg_st_dtype_parse(const char *s, vg_st_dtype *out);

/* ---- reader --------------------------------------------------------------- */

typedef struct vg_st_file vg_st_file;

vg_status vg_st_open(vg_st_file **out, const char *path);
/* Like vg_st_open, but reads only the header: tensor bytes are read from
 * the file when asked for (vg_st_read_f32, vg_st_read_bytes), so a file of
 * any size costs no memory (a checkpoint with Adam moments and EMA is
 * several times the model). vg_st_data is NULL for such a file. A file
 * that shrinks meanwhile gives an error naming it, never a crash. */
vg_status vg_st_open_header(vg_st_file **out, const char *path);
/* Parse bytes already in memory (copied). name appears in messages in place of
 * a path; NULL means "<memory>". */
vg_status vg_st_open_memory(vg_st_file **out, const void *bytes, size_t size, const char *name);
void vg_st_close(vg_st_file *f);

/* The path (or name) the file was opened with. */
const char *vg_st_path(const vg_st_file *f);

/* Tensors, indexed 0..count-1 in name (strcmp) order. An index out of range
 * is a programmer error (VG_ASSERT). */
int vg_st_count(const vg_st_file *f);
/* Index of a tensor by name, or -1. */
int vg_st_find(const vg_st_file *f, const char *name);
const char *vg_st_name(const vg_st_file *f, int i);
vg_st_dtype vg_st_dtype_of(const vg_st_file *f, int i);
int vg_st_ndim(const vg_st_file *f, int i);
const int64_t *vg_st_shape(const vg_st_file *f, int i); /* ndim entries */
int64_t vg_st_numel(const vg_st_file *f, int i);
/* Raw little-endian bytes, valid until vg_st_close. Aligned to the element
 * size only when the writer aligned it (vidgan's writer and the reference
 * one do); read through memcpy or vg_st_read_f32 if unsure. NULL for a file
 * opened with vg_st_open_header. */
const void *vg_st_data(const vg_st_file *f, int i);
size_t vg_st_nbytes(const vg_st_file *f, int i);
/* Bytes [offset, offset + n) of tensor i's raw data into dst (either way of
 * opening); VG_ERR_INVALID past the tensor's end, VG_ERR_IO when the file
 * cannot be read. */
vg_status vg_st_read_bytes(const vg_st_file *f, int i, size_t offset, void *dst, size_t n);

/* Metadata ("__metadata__"): the value for key, or NULL if absent; and
 * iteration in the order of the file. */
const char *vg_st_meta(const vg_st_file *f, const char *key);
int vg_st_meta_count(const vg_st_file *f);
const char *vg_st_meta_key(const vg_st_file *f, int i);
const char *vg_st_meta_value(const vg_st_file *f, int i);

/* Copy tensor `name` into dst as float, converting from F32, F64, F16 or
 * BF16 (F64 values beyond float's range become +-inf). numel must equal the
 * tensor's element count. */
vg_status vg_st_read_f32(const vg_st_file *f, const char *name, float *dst, int64_t numel);

/* ---- writer --------------------------------------------------------------- */

typedef struct vg_st_writer vg_st_writer;

vg_status vg_st_writer_new(vg_st_writer **out);
void vg_st_writer_free(vg_st_writer *w);
/* Add a tensor: nbytes must equal numel(shape) * dtype size. data is not
 * copied: it must stay valid until save. Names must be unique, non-empty and
 * not "__metadata__". */
vg_status vg_st_writer_add(vg_st_writer *w, const char *name, vg_st_dtype dtype, int ndim,
                           const int64_t *shape, const void *data, size_t nbytes);
/* Shorthand for an F32 tensor. */
vg_status vg_st_writer_add_f32(vg_st_writer *w, const char *name, int ndim, const int64_t *shape,
                               const float *data);
/* Add a metadata entry (key and value are copied; keys must be unique). */
vg_status vg_st_writer_meta(vg_st_writer *w, const char *key, const char *value);
/* Write atomically to path. Header entries are in name order; the data is
 * laid out by decreasing element size, then name (as the reference writer
 * does), and starts at a multiple of 8, so every tensor is aligned to its
 * element size. On failure nothing is left behind and an existing file at
 * path is untouched. */
vg_status vg_st_writer_save(const vg_st_writer *w, const char *path);

#endif
