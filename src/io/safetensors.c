/* safetensors.c — the safetensors reader and atomic writer (see safetensors.h).
 *
 * The reader trusts nothing in the file: every length, offset and shape is
 * checked, with overflow-checked arithmetic, before any data pointer is made.
 * JSON is parsed by Jansson (64-bit integers, duplicate keys rejected).
 * The writer leaves a file in place only through rename(2), so a crash or an
 * error never leaves a half-written file under the final name. */
#include "io/safetensors.h"

#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/status.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c copies tensor bytes as host bytes: a little-endian host is required"
#endif

static const char *const dtype_names[VG_ST_DTYPE_COUNT] = {
    [VG_ST_BOOL] = "BOOL", [VG_ST_U8] = "U8",     [VG_ST_I8] = "I8",
    [VG_ST_F8_E4M3] = "F8_E4M3", [VG_ST_F8_E5M2] = "F8_E5M2",
    [VG_ST_I16] = "I16",   [VG_ST_U16] = "U16",   [VG_ST_F16] = "F16",
    [VG_ST_BF16] = "BF16", [VG_ST_I32] = "I32",   [VG_ST_U32] = "U32",
    [VG_ST_F32] = "F32",   [VG_ST_I64] = "I64",   [VG_ST_U64] = "U64",
    [VG_ST_F64] = "F64",
};

static const unsigned char dtype_sizes[VG_ST_DTYPE_COUNT] = {
    [VG_ST_BOOL] = 1, [VG_ST_U8] = 1,  [VG_ST_I8] = 1,   [VG_ST_F8_E4M3] = 1, [VG_ST_F8_E5M2] = 1,
    [VG_ST_I16] = 2,  [VG_ST_U16] = 2, [VG_ST_F16] = 2,  [VG_ST_BF16] = 2,    [VG_ST_I32] = 4,
    [VG_ST_U32] = 4,  [VG_ST_F32] = 4, [VG_ST_I64] = 8,  [VG_ST_U64] = 8,     [VG_ST_F64] = 8,
};

const char *vg_st_dtype_name(vg_st_dtype d) {
    return ((int)d >= 0 && d < VG_ST_DTYPE_COUNT) ? dtype_names[d] : NULL;
}

size_t vg_st_dtype_size(vg_st_dtype d) {
    return ((int)d >= 0 && d < VG_ST_DTYPE_COUNT) ? dtype_sizes[d] : 0;
}

int vg_st_dtype_parse(const char *s, vg_st_dtype *out) {
    for (int d = 0; d < VG_ST_DTYPE_COUNT; d++)
        if (strcmp(s, dtype_names[d]) == 0) {
            *out = (vg_st_dtype)d;
            return 1;
        }
    return 0;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* "[2, 3, 4]" into buf, for messages. */
static const char *shape_str(char *buf, size_t cap, int ndim, const int64_t *shape) {
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < cap) snprintf(buf + k, cap - k, "]");
    return buf;
}

/* ---- reader --------------------------------------------------------------- */

typedef struct st_tensor {
    char *name;
    vg_st_dtype dtype;
    int ndim;
    int64_t shape[VG_ST_MAX_DIMS];
    int64_t numel;
    int64_t begin, end; /* within the data section */
} st_tensor;

struct vg_st_file {
    char *path;
    unsigned char *buf; /* the whole file, or (fd >= 0) the length field and the header */
    size_t size;        /* of the file */
    int fd;             /* vg_st_open_header: the open file; -1 otherwise */
    const unsigned char *data; /* data section: buf + 8 + header length (fd < 0) */
    size_t data_offset;        /* in the file: 8 + header length */
    size_t data_size;
    st_tensor *t; /* n, sorted by name */
    int n;
    char **meta_key, **meta_val; /* nmeta, in file order */
    int nmeta;
};

void vg_st_close(vg_st_file *f) {
    if (!f) return;
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_key[i]);
        free(f->meta_val[i]);
    }
    free(f->t);
    free(f->meta_key);
    free(f->meta_val);
    free(f->buf);
    free(f->path);
    if (f->fd >= 0) close(f->fd);
    free(f);
}

static int cmp_tensor_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

static int cmp_tensor_begin(const void *a, const void *b) {
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static const char *json_type_name(const json_t *j) {
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

static vg_status parse_metadata(vg_st_file *f, json_t *meta) {
    if (json_is_null(meta)) return VG_OK;
    if (!json_is_object(meta))
        return vg_fail(VG_ERR_FORMAT, "%s: __metadata__ is a JSON %s, expected an object of strings",
                       f->path, json_type_name(meta));
    size_t n = json_object_size(meta);
    f->meta_key = calloc(n ? n : 1, sizeof *f->meta_key);
    f->meta_val = calloc(n ? n : 1, sizeof *f->meta_val);
    if (!f->meta_key || !f->meta_val) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", f->path);
    const char *key;
    json_t *val;
    json_object_foreach(meta, key, val) {
        if (!json_is_string(val))
            return vg_fail(VG_ERR_FORMAT, "%s: __metadata__ '%.200s' is a JSON %s, expected a string",
                           f->path, key, json_type_name(val));
        char *k = dup_str(key), *v = dup_str(json_string_value(val));
        if (!k || !v) {
            free(k);
            free(v);
            return vg_fail(VG_ERR_NOMEM, "%s: out of memory", f->path);
        }
        f->meta_key[f->nmeta] = k;
        f->meta_val[f->nmeta] = v;
        f->nmeta++;
    }
    return VG_OK;
}

/* Reads one non-negative JSON integer, or fails naming what it is. */
static vg_status get_nonneg(const vg_st_file *f, const char *name, const char *field, size_t idx,
                            const json_t *j, int64_t *out) {
    if (!json_is_integer(j))
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': %s[%zu] is a JSON %s, expected a non-negative integer",
                       f->path, name, field, idx, json_type_name(j));
    json_int_t v = json_integer_value(j);
    if (v < 0)
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': %s[%zu] is %lld, expected a non-negative integer",
                       f->path, name, field, idx, (long long)v);
    *out = (int64_t)v;
    return VG_OK;
}

static vg_status parse_tensor(const vg_st_file *f, const char *name, json_t *e, st_tensor *t) {
    if (!json_is_object(e))
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': entry is a JSON %s, expected an object",
                       f->path, name, json_type_name(e));
    json_t *jd = json_object_get(e, "dtype"), *js = json_object_get(e, "shape"),
           *jo = json_object_get(e, "data_offsets");
    if (!jd || !json_is_string(jd))
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': %s, expected a \"dtype\" string", f->path, name,
                       jd ? "\"dtype\" is not a string" : "no \"dtype\"");
    if (!vg_st_dtype_parse(json_string_value(jd), &t->dtype))
        return vg_fail(VG_ERR_FORMAT,
                       "%s: tensor '%.200s': unknown dtype '%.40s' (known: BOOL, U8, I8, F8_E4M3, F8_E5M2, "
                       "I16, U16, F16, BF16, I32, U32, F32, I64, U64, F64)",
                       f->path, name, json_string_value(jd));
    if (!js || !json_is_array(js))
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': %s, expected a \"shape\" array", f->path, name,
                       js ? "\"shape\" is not an array" : "no \"shape\"");
    size_t nd = json_array_size(js);
    if (nd > VG_ST_MAX_DIMS)
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': %zu dims, at most %d supported", f->path, name, nd,
                       VG_ST_MAX_DIMS);
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        vg_status s = get_nonneg(f, name, "shape", i, json_array_get(js, i), &t->shape[i]);
        if (s != VG_OK) return s;
    }
    if (!jo || !json_is_array(jo) || json_array_size(jo) != 2)
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': %s, expected \"data_offsets\": [begin, end]", f->path,
                       name, !jo ? "no \"data_offsets\"" : "\"data_offsets\" is not a 2-element array");
    for (size_t i = 0; i < 2; i++) {
        vg_status s = get_nonneg(f, name, "data_offsets", i, json_array_get(jo, i), i ? &t->end : &t->begin);
        if (s != VG_OK) return s;
    }
    if (t->begin > t->end || (uint64_t)t->end > f->data_size)
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': data_offsets [%lld, %lld) %s the %zu-byte data section",
                       f->path, name, (long long)t->begin, (long long)t->end,
                       t->begin > t->end ? "are reversed in" : "exceed", f->data_size);
    char sb[256];
    int64_t nbytes;
    if (!vg_shape_numel(t->ndim, t->shape, &t->numel) ||
        !vg_mul_ok(t->numel, (int64_t)vg_st_dtype_size(t->dtype), &nbytes))
        return vg_fail(VG_ERR_FORMAT, "%s: tensor '%.200s': shape %s overflows 64-bit sizes", f->path, name,
                       shape_str(sb, sizeof sb, t->ndim, t->shape));
    if (nbytes != t->end - t->begin)
        return vg_fail(VG_ERR_FORMAT,
                       "%s: tensor '%.200s': %s %s needs %lld bytes but data_offsets [%lld, %lld) span %lld",
                       f->path, name, dtype_names[t->dtype], shape_str(sb, sizeof sb, t->ndim, t->shape),
                       (long long)nbytes, (long long)t->begin, (long long)t->end, (long long)(t->end - t->begin));
    return VG_OK;
}

/* No two non-empty tensors may share a byte (the reference reader demands
 * even more: no gaps; gaps are harmless, so they are accepted here). */
static vg_status check_overlaps(const vg_st_file *f) {
    if (f->n < 2) return VG_OK;
    const st_tensor **order = malloc((size_t)f->n * sizeof *order);
    if (!order) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", f->path);
    for (int i = 0; i < f->n; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->n, sizeof *order, cmp_tensor_begin);
    const st_tensor *last = NULL; /* the non-empty tensor reaching furthest so far */
    vg_status s = VG_OK;
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = order[i];
        if (t->begin == t->end) continue;
        if (last && t->begin < last->end) {
            s = vg_fail(VG_ERR_FORMAT, "%s: tensors '%.200s' [%lld, %lld) and '%.200s' [%lld, %lld) overlap",
                        f->path, last->name, (long long)last->begin, (long long)last->end, t->name,
                        (long long)t->begin, (long long)t->end);
            break;
        }
        if (!last || t->end > last->end) last = t;
    }
    free(order);
    return s;
}

static vg_status parse(vg_st_file *f) {
    if (f->size < 8)
        return vg_fail(VG_ERR_FORMAT, "%s: %zu bytes, too short for a safetensors file (8-byte header length)",
                       f->path, f->size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | f->buf[i];
    if (hlen > VG_ST_MAX_HEADER || hlen > f->size - 8)
        return vg_fail(VG_ERR_FORMAT,
                       "%s: header length %llu exceeds %s (%zu bytes after the length field); "
                       "not a safetensors file?",
                       f->path, (unsigned long long)hlen, hlen > VG_ST_MAX_HEADER ? "the 100 MB limit" : "the file",
                       f->size - 8);
    f->data = f->fd < 0 ? f->buf + 8 + hlen : NULL;
    f->data_offset = 8 + (size_t)hlen;
    f->data_size = f->size - 8 - (size_t)hlen;

    json_error_t jerr;
    json_t *root = json_loadb((const char *)f->buf + 8, (size_t)hlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return vg_fail(VG_ERR_FORMAT, "%s: header is not valid JSON: %s (line %d, column %d)", f->path, jerr.text,
                       jerr.line, jerr.column);
    vg_status s = VG_OK;
    if (!json_is_object(root)) {
        s = vg_fail(VG_ERR_FORMAT, "%s: header is a JSON %s, expected an object", f->path, json_type_name(root));
        goto done;
    }
    size_t n = json_object_size(root);
    f->t = calloc(n ? n : 1, sizeof *f->t);
    if (!f->t) {
        s = vg_fail(VG_ERR_NOMEM, "%s: out of memory for %zu header entries", f->path, n);
        goto done;
    }
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (strcmp(key, "__metadata__") == 0) {
            if ((s = parse_metadata(f, val)) != VG_OK) goto done;
            continue;
        }
        st_tensor *t = &f->t[f->n];
        if ((s = parse_tensor(f, key, val, t)) != VG_OK) goto done;
        if (!(t->name = dup_str(key))) {
            s = vg_fail(VG_ERR_NOMEM, "%s: out of memory", f->path);
            goto done;
        }
        f->n++;
    }
    qsort(f->t, (size_t)f->n, sizeof *f->t, cmp_tensor_name);
    s = check_overlaps(f);
done:
    json_decref(root);
    return s;
}

/* Takes ownership of buf (malloc'd) and fd (-1: buf holds the whole file
 * of size bytes; else buf holds its length field and header). */
static vg_status open_buffer(vg_st_file **out, unsigned char *buf, size_t size, const char *path, int fd) {
    vg_st_file *f = calloc(1, sizeof *f);
    char *p = dup_str(path);
    if (!f || !p) {
        free(f);
        free(p);
        free(buf);
        if (fd >= 0) close(fd);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    }
    f->path = p;
    f->buf = buf;
    f->size = size;
    f->fd = fd;
    vg_status s = parse(f);
    if (s != VG_OK) {
        vg_st_close(f);
        return s;
    }
    *out = f;
    return VG_OK;
}

vg_status vg_st_open_memory(vg_st_file **out, const void *bytes, size_t size, const char *name) {
    VG_ASSERT(out && (bytes || size == 0));
    *out = NULL;
    if (!name) name = "<memory>";
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) return vg_fail(VG_ERR_NOMEM, "%s: out of memory for %zu bytes", name, size);
    if (size) memcpy(buf, bytes, size);
    return open_buffer(out, buf, size, name, -1);
}

/* n bytes at offset of an open file into dst; VG_OK or VG_ERR_IO naming
 * path (a read error, or the file ended early). */
static vg_status pread_all(int fd, const char *path, void *dst, size_t n, size_t offset) {
    size_t got = 0;
    while (got < n) {
        size_t want = n - got > (1u << 30) ? (1u << 30) : n - got;
        ssize_t r = pread(fd, (char *)dst + got, want, (off_t)(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return vg_fail(VG_ERR_IO, "%s: read failed: %s", path, strerror(errno));
        if (r == 0)
            return vg_fail(VG_ERR_IO, "%s: file shrank while reading (ends before byte %zu)", path, offset + n);
        got += (size_t)r;
    }
    return VG_OK;
}

/* Opens path for reading: *fd and the file's size, or an error naming it
 * (cannot open or stat it, not a regular file, too big for size_t). */
static vg_status open_regular(const char *path, int *fd, size_t *size) {
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return vg_fail(VG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    vg_status s = VG_OK;
    if (fstat(*fd, &st) != 0) s = vg_fail(VG_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode)) s = vg_fail(VG_ERR_IO, "%s: not a regular file", path);
    else if ((uint64_t)st.st_size > (uint64_t)SIZE_MAX - 1)
        s = vg_fail(VG_ERR_NOMEM, "%s: %lld bytes do not fit in memory", path, (long long)st.st_size);
    if (s != VG_OK) {
        close(*fd);
        return s;
    }
    *size = (size_t)st.st_size;
    return VG_OK;
}

vg_status vg_st_open(vg_st_file **out, const char *path) {
    VG_ASSERT(out && path);
    *out = NULL;
    int fd;
    size_t size;
    vg_status s = open_regular(path, &fd, &size);
    if (s != VG_OK) return s;
    unsigned char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory for %zu bytes", path, size);
    }
    if ((s = pread_all(fd, path, buf, size, 0)) != VG_OK) {
        free(buf);
        close(fd);
        return s;
    }
    close(fd);
    return open_buffer(out, buf, size, path, -1);
}

vg_status vg_st_open_header(vg_st_file **out, const char *path) {
    VG_ASSERT(out && path);
    *out = NULL;
    int fd;
    size_t size;
    vg_status s = open_regular(path, &fd, &size);
    if (s != VG_OK) return s;
    /* the length field, then the header when the length is plausible (parse
     * judges it and says why not, reading nothing past the length field) */
    unsigned char len8[8] = {0};
    size_t head = size < 8 ? size : 8;
    if ((s = pread_all(fd, path, len8, head, 0)) != VG_OK) {
        close(fd);
        return s;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | len8[i];
    if (size >= 8 && hlen <= VG_ST_MAX_HEADER && hlen <= size - 8) head = 8 + (size_t)hlen;
    unsigned char *buf = malloc(head ? head : 1);
    if (!buf) {
        close(fd);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory for its header", path);
    }
    memcpy(buf, len8, head < 8 ? head : 8);
    if (head > 8 && (s = pread_all(fd, path, buf + 8, head - 8, 8)) != VG_OK) {
        free(buf);
        close(fd);
        return s;
    }
    return open_buffer(out, buf, size, path, fd);
}


const char *vg_st_path(const vg_st_file *f) { return f->path; }
int vg_st_count(const vg_st_file *f) { return f->n; }

int vg_st_find(const vg_st_file *f, const char *name) {
    int lo = 0, hi = f->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(name, f->t[mid].name);
        if (c == 0) return mid;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return -1;
}

static const st_tensor *tensor_at(const vg_st_file *f, int i) {
    VG_ASSERT(f && i >= 0 && i < f->n);
    return &f->t[i];
}

const char *vg_st_name(const vg_st_file *f, int i) { return tensor_at(f, i)->name; }
vg_st_dtype vg_st_dtype_of(const vg_st_file *f, int i) { return tensor_at(f, i)->dtype; }
vg_status vg_st_read_bytes(const vg_st_file *f, int i, size_t offset, void *dst, size_t n) {
    const st_tensor *t = tensor_at(f, i);
    const size_t nbytes = (size_t)(t->end - t->begin);
    if (offset > nbytes || n > nbytes - offset)
        return vg_fail(VG_ERR_INVALID, "%s: tensor '%.200s': bytes [%zu, +%zu) past its %zu", f->path, t->name, offset,
                       n, nbytes);
    if (n == 0) return VG_OK;
    if (f->fd < 0) {
        memcpy(dst, f->data + t->begin + offset, n);
        return VG_OK;
    }
    return pread_all(f->fd, f->path, dst, n, f->data_offset + (size_t)t->begin + offset);
}

int vg_st_ndim(const vg_st_file *f, int i) { return tensor_at(f, i)->ndim; }
const int64_t *vg_st_shape(const vg_st_file *f, int i) { return tensor_at(f, i)->shape; }
int64_t vg_st_numel(const vg_st_file *f, int i) { return tensor_at(f, i)->numel; }
const void *vg_st_data(const vg_st_file *f, int i) {
    const st_tensor *t = tensor_at(f, i);
    return f->data ? f->data + t->begin : NULL;
}

size_t vg_st_nbytes(const vg_st_file *f, int i) {
    const st_tensor *t = tensor_at(f, i);
    return (size_t)(t->end - t->begin);
}

const char *vg_st_meta(const vg_st_file *f, const char *key) {
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->meta_key[i], key) == 0) return f->meta_val[i];
    return NULL;
}

int vg_st_meta_count(const vg_st_file *f) { return f->nmeta; }

const char *vg_st_meta_key(const vg_st_file *f, int i) {
    VG_ASSERT(f && i >= 0 && i < f->nmeta);
    return f->meta_key[i];
}

const char *vg_st_meta_value(const vg_st_file *f, int i) {
    VG_ASSERT(f && i >= 0 && i < f->nmeta);
    return f->meta_val[i];
}

/* IEEE binary16 -> binary32, exact for every value including subnormals. */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) {
        float v = (float)man * 0x1p-24f; /* zero or subnormal */
        return sign ? -v : v;
    }
    if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112u) << 23) | (man << 13);
    float v;
    memcpy(&v, &bits, 4);
    return v;
}

/* double -> float without the undefined behaviour of an out-of-range cast. */
static float double_to_float(double d) {
    if (d > FLT_MAX) return (float)INFINITY;
    if (d < -FLT_MAX) return -(float)INFINITY;
    return (float)d;
}

/* n little-endian F64, F16 or BF16 values at p into dst as float. */
static void convert_to_float(vg_st_dtype dtype, const unsigned char *p, float *dst, int64_t n) {
    switch (dtype) {
    case VG_ST_F64:
        for (int64_t k = 0; k < n; k++) {
            double d;
            memcpy(&d, p + 8 * k, 8);
            dst[k] = double_to_float(d);
        }
        break;
    case VG_ST_F16:
        for (int64_t k = 0; k < n; k++) dst[k] = half_to_float((uint16_t)(p[2 * k] | p[2 * k + 1] << 8));
        break;
    case VG_ST_BF16:
        for (int64_t k = 0; k < n; k++) {
            uint32_t bits = (uint32_t)p[2 * k] << 16 | (uint32_t)p[2 * k + 1] << 24;
            memcpy(&dst[k], &bits, 4);
        }
        break;
    default: /* F32 is copied by the caller; others are refused before */
        break;
    }
}

vg_status vg_st_read_f32(const vg_st_file *f, const char *name, float *dst, int64_t numel) {
    VG_ASSERT(f && name && (dst || numel == 0));
    int i = vg_st_find(f, name);
    if (i < 0) return vg_fail(VG_ERR_INVALID, "%s: no tensor '%.200s' (the file has %d)", f->path, name, f->n);
    const st_tensor *t = &f->t[i];
    if (t->numel != numel) {
        char sb[256];
        return vg_fail(VG_ERR_INVALID, "%s: tensor '%.200s': has %lld elements (shape %s), expected %lld", f->path,
                       name, (long long)t->numel, shape_str(sb, sizeof sb, t->ndim, t->shape), (long long)numel);
    }
    if (t->dtype != VG_ST_F32 && t->dtype != VG_ST_F64 && t->dtype != VG_ST_F16 && t->dtype != VG_ST_BF16)
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: tensor '%.200s': dtype %s cannot be read as float (F32, F64, F16 "
                       "or BF16 expected)", f->path, name, dtype_names[t->dtype]);
    if (numel == 0) return VG_OK; /* dst may be NULL */
    if (t->dtype == VG_ST_F32) return vg_st_read_bytes(f, i, 0, dst, (size_t)numel * 4);
    if (f->fd < 0) {
        convert_to_float(t->dtype, f->data + t->begin, dst, numel);
        return VG_OK;
    }
    /* from the file through a bounded buffer */
    const size_t esize = dtype_sizes[t->dtype];
    const int64_t chunk = 65536;
    unsigned char *buf = malloc((size_t)chunk * esize);
    if (!buf) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", f->path);
    vg_status s = VG_OK;
    for (int64_t k = 0; k < numel && s == VG_OK; k += chunk) {
        const int64_t m = numel - k < chunk ? numel - k : chunk;
        s = vg_st_read_bytes(f, i, (size_t)k * esize, buf, (size_t)m * esize);
        if (s == VG_OK) convert_to_float(t->dtype, buf, dst + k, m);
    }
    free(buf);
    return s;
}

/* ---- writer --------------------------------------------------------------- */

typedef struct st_wtensor {
    char *name;
    vg_st_dtype dtype;
    int ndim;
    int64_t shape[VG_ST_MAX_DIMS];
    const void *data;
    size_t nbytes;
} st_wtensor;

struct vg_st_writer {
    st_wtensor *t;
    int n, cap;
    char **meta_key, **meta_val;
    int nmeta, meta_cap;
    vg_status err;     /* first failure, sticky */
    char err_msg[512];
};

vg_status vg_st_writer_new(vg_st_writer **out) {
    VG_ASSERT(out);
    *out = calloc(1, sizeof **out);
    return *out ? VG_OK : vg_fail(VG_ERR_NOMEM, "safetensors writer: out of memory");
}

void vg_st_writer_free(vg_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < w->nmeta; i++) {
        free(w->meta_key[i]);
        free(w->meta_val[i]);
    }
    free(w->t);
    free(w->meta_key);
    free(w->meta_val);
    free(w);
}

/* Record the first error on the writer and return it. */
static vg_status writer_fail(vg_st_writer *w, vg_status s) {
    if (w->err == VG_OK) {
        w->err = s;
        snprintf(w->err_msg, sizeof w->err_msg, "%s", vg_last_error());
    }
    return s;
}

static int utf8_ok(const char *s) {
    json_t *j = json_string(s); /* NULL for invalid UTF-8 */
    json_decref(j);
    return j != NULL;
}

vg_status vg_st_writer_add(vg_st_writer *w, const char *name, vg_st_dtype dtype, int ndim,
                           const int64_t *shape, const void *data, size_t nbytes) {
    VG_ASSERT(w && name);
    if (w->err != VG_OK) return w->err;
    if (!name[0] || strcmp(name, "__metadata__") == 0 || !utf8_ok(name))
        return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: tensor name '%.200s' is %s", name,
                                      name[0] ? (utf8_ok(name) ? "reserved" : "not valid UTF-8") : "empty"));
    if ((int)dtype < 0 || dtype >= VG_ST_DTYPE_COUNT)
        return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: tensor '%.200s': invalid dtype %d",
                                      name, (int)dtype));
    if (ndim < 0 || ndim > VG_ST_MAX_DIMS || (ndim > 0 && !shape))
        return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: tensor '%.200s': %d dims (0..%d)",
                                      name, ndim, VG_ST_MAX_DIMS));
    int64_t numel, want;
    char sb[256];
    if (!vg_shape_numel(ndim, shape, &numel) || !vg_mul_ok(numel, (int64_t)dtype_sizes[dtype], &want))
        return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: tensor '%.200s': bad shape %s", name,
                                      shape_str(sb, sizeof sb, ndim, shape)));
    if ((uint64_t)want != (uint64_t)nbytes || (!data && nbytes))
        return writer_fail(w, vg_fail(VG_ERR_INVALID,
                                      "safetensors writer: tensor '%.200s': %s %s needs %lld bytes, given %zu%s",
                                      name, dtype_names[dtype], shape_str(sb, sizeof sb, ndim, shape),
                                      (long long)want, nbytes, data ? "" : " and no data"));
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: tensor '%.200s' added twice", name));
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        st_wtensor *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) return writer_fail(w, vg_fail(VG_ERR_NOMEM, "safetensors writer: out of memory"));
        w->t = t;
        w->cap = cap;
    }
    st_wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    if (!(t->name = dup_str(name))) return writer_fail(w, vg_fail(VG_ERR_NOMEM, "safetensors writer: out of memory"));
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->data = data;
    t->nbytes = nbytes;
    w->n++;
    return VG_OK;
}

vg_status vg_st_writer_add_f32(vg_st_writer *w, const char *name, int ndim, const int64_t *shape,
                               const float *data) {
    int64_t numel = 0;
    size_t nbytes = vg_shape_numel(ndim, shape, &numel) && numel <= INT64_MAX / 4 ? (size_t)numel * 4 : SIZE_MAX;
    return vg_st_writer_add(w, name, VG_ST_F32, ndim, shape, data, nbytes);
}

vg_status vg_st_writer_meta(vg_st_writer *w, const char *key, const char *value) {
    VG_ASSERT(w && key && value);
    if (w->err != VG_OK) return w->err;
    if (!utf8_ok(key) || !utf8_ok(value))
        return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: metadata '%.200s' is not valid UTF-8",
                                      key));
    for (int i = 0; i < w->nmeta; i++)
        if (strcmp(w->meta_key[i], key) == 0)
            return writer_fail(w, vg_fail(VG_ERR_INVALID, "safetensors writer: metadata '%.200s' set twice", key));
    if (w->nmeta == w->meta_cap) {
        int cap = w->meta_cap ? 2 * w->meta_cap : 8;
        char **k = realloc(w->meta_key, (size_t)cap * sizeof *k);
        if (k) w->meta_key = k;
        char **v = k ? realloc(w->meta_val, (size_t)cap * sizeof *v) : NULL;
        if (v) w->meta_val = v;
        if (!k || !v) return writer_fail(w, vg_fail(VG_ERR_NOMEM, "safetensors writer: out of memory"));
        w->meta_cap = cap;
    }
    char *k = dup_str(key), *v = dup_str(value);
    if (!k || !v) {
        free(k);
        free(v);
        return writer_fail(w, vg_fail(VG_ERR_NOMEM, "safetensors writer: out of memory"));
    }
    w->meta_key[w->nmeta] = k;
    w->meta_val[w->nmeta] = v;
    w->nmeta++;
    return VG_OK;
}

static int cmp_wname(const void *a, const void *b) {
    return strcmp((*(const st_wtensor *const *)a)->name, (*(const st_wtensor *const *)b)->name);
}

/* Data layout order: larger elements first, then by name (the reference
 * writer's order), so that each tensor starts aligned to its element size. */
static int cmp_wlayout(const void *a, const void *b) {
    const st_wtensor *x = *(const st_wtensor *const *)a, *y = *(const st_wtensor *const *)b;
    size_t sx = dtype_sizes[x->dtype], sy = dtype_sizes[y->dtype];
    if (sx != sy) return sx > sy ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The header JSON, padded with spaces to a multiple of 8 bytes. */
static vg_status build_header(const vg_st_writer *w, const char *path, const int64_t *begin, char **out,
                              size_t *out_len) {
    json_t *root = json_object(), *meta = w->nmeta ? json_object() : NULL;
    const st_wtensor **byname = malloc((size_t)(w->n ? w->n : 1) * sizeof *byname);
    vg_status s = VG_OK;
    int bad = !root || (w->nmeta && !meta) || !byname;
    for (int i = 0; !bad && i < w->nmeta; i++)
        bad = json_object_set_new(meta, w->meta_key[i], json_string(w->meta_val[i])) != 0;
    if (!bad && meta) {
        bad = json_object_set_new(root, "__metadata__", meta) != 0;
        meta = NULL; /* owned by root now, even on failure */
    }
    for (int i = 0; !bad && i < w->n; i++) byname[i] = &w->t[i];
    if (!bad) qsort(byname, (size_t)w->n, sizeof *byname, cmp_wname);
    for (int i = 0; !bad && i < w->n; i++) {
        const st_wtensor *t = byname[i];
        int64_t b = begin[t - w->t];
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        bad = !e || !shape || !offs;
        for (int d = 0; !bad && d < t->ndim; d++)
            bad = json_array_append_new(shape, json_integer(t->shape[d])) != 0;
        if (!bad)
            bad = json_array_append_new(offs, json_integer(b)) != 0 ||
                  json_array_append_new(offs, json_integer(b + (int64_t)t->nbytes)) != 0 ||
                  json_object_set_new(e, "dtype", json_string(dtype_names[t->dtype])) != 0;
        if (!bad) {
            /* json_object_set_new takes the value even when it fails */
            int r1 = json_object_set_new(e, "shape", shape), r2 = json_object_set_new(e, "data_offsets", offs);
            shape = offs = NULL;
            bad = r1 != 0 || r2 != 0;
            if (!bad) bad = json_object_set_new(root, t->name, e) != 0;
            e = NULL;
        }
        json_decref(e);
        json_decref(shape);
        json_decref(offs);
    }
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT);
    if (!text) {
        s = vg_fail(VG_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
    } else {
        size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
        char *p = realloc(text, padded + 1);
        if (!p) {
            free(text);
            s = vg_fail(VG_ERR_NOMEM, "%s: out of memory building the safetensors header", path);
        } else {
            memset(p + len, ' ', padded - len);
            p[padded] = '\0';
            *out = p;
            *out_len = padded;
        }
    }
    json_decref(meta);
    json_decref(root);
    free(byname);
    return s;
}

vg_status vg_st_writer_save(const vg_st_writer *w, const char *path) {
    VG_ASSERT(w && path);
    if (w->err != VG_OK) return vg_fail(w->err, "%s: not saved: an earlier call failed: %s", path, w->err_msg);

    const st_wtensor **layout = malloc((size_t)(w->n ? w->n : 1) * sizeof *layout);
    int64_t *begin = malloc((size_t)(w->n ? w->n : 1) * sizeof *begin);
    char *header = NULL;
    size_t hlen = 0;
    vg_status s = VG_OK;
    if (!layout || !begin) {
        s = vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < w->n; i++) layout[i] = &w->t[i];
    qsort(layout, (size_t)w->n, sizeof *layout, cmp_wlayout);
    int64_t off = 0;
    for (int i = 0; i < w->n; i++) {
        begin[layout[i] - w->t] = off;
        if (layout[i]->nbytes > (uint64_t)INT64_MAX || !vg_add_ok(off, (int64_t)layout[i]->nbytes, &off)) {
            s = vg_fail(VG_ERR_INVALID, "%s: total tensor size overflows 64 bits", path);
            goto done;
        }
    }
    if ((s = build_header(w, path, begin, &header, &hlen)) != VG_OK) goto done;

    vg_atomic_file out;
    if ((s = vg_atomic_open(&out, path)) != VG_OK) goto done;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    s = vg_atomic_write(&out, len8, 8);
    if (s == VG_OK) s = vg_atomic_write(&out, header, hlen);
    for (int i = 0; s == VG_OK && i < w->n; i++) s = vg_atomic_write(&out, layout[i]->data, layout[i]->nbytes);
    if (s == VG_OK)
        s = vg_atomic_commit(&out);
    else
        vg_atomic_abort(&out);
done:
    free(header);
    free(begin);
    free(layout);
    return s;
}
