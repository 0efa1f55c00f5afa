/* npy.c — the .npy reader (npy.h): a small validating parser for the header
 * dict and a read-only memory mapping of the file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/status.h"
#include "io/atomic_file.h"
#include "io/npy.h"

struct vg_npy {
    char *name;
    void *map;        /* the mapping (vg_npy_open) or NULL (borrowed memory) */
    size_t map_size;
    const unsigned char *data;
    size_t nbytes;
    vg_npy_dtype dtype;
    size_t item;
    int big_endian;
    int version;
    int ndim;
    int64_t shape[VG_NPY_MAX_DIMS];
    int64_t numel;
};

/* ---- header dict ---------------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end, *start;
    const char *name;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static int peek(cursor *c) { return c->p < c->end ? (unsigned char)*c->p : -1; }

/* A Python string literal in ' or " without escapes, copied into buf. */
static vg_status parse_str(cursor *c, char *buf, size_t cap, const char *what) {
    int q = peek(c);
    if (q != '\'' && q != '"')
        return vg_fail(VG_ERR_FORMAT, "%s: .npy header: expected a quoted string for %s at offset %ld", c->name, what,
                       (long)(c->p - c->start));
    c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\') return vg_fail(VG_ERR_FORMAT, "%s: .npy header: escapes in %s are not supported", c->name, what);
        if (n + 1 >= cap) return vg_fail(VG_ERR_FORMAT, "%s: .npy header: %s is too long", c->name, what);
        buf[n++] = *c->p++;
    }
    if (c->p >= c->end) return vg_fail(VG_ERR_FORMAT, "%s: .npy header: unterminated string in %s", c->name, what);
    c->p++;
    buf[n] = 0;
    return VG_OK;
}

static int take_word(cursor *c, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, w, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

static vg_status parse_descr(vg_npy *f, cursor *c) {
    char d[16];
    vg_status st = parse_str(c, d, sizeof d, "'descr'");
    if (st != VG_OK) return st;
    const unsigned one = 1;
    const int host_big = *(const unsigned char *)&one == 0;
    char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: .npy descr '%s' is not supported (expected u1, f4 or f8, e.g. '|u1', '<f4', '>f8')",
                       c->name, d);
    const char *t = d + 1;
    if (strcmp(t, "u1") == 0) {
        f->dtype = VG_NPY_U8;
        f->item = 1;
    } else if (strcmp(t, "f4") == 0 && order != '|') {
        f->dtype = VG_NPY_F32;
        f->item = 4;
    } else if (strcmp(t, "f8") == 0 && order != '|') {
        f->dtype = VG_NPY_F64;
        f->item = 8;
    } else {
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: .npy descr '%s' is not supported (expected u1, f4 or f8, e.g. '|u1', '<f4', '>f8')",
                       c->name, d);
    }
    f->big_endian = order == '>' || (order == '=' && host_big);
    if (f->item == 1) f->big_endian = 0;
    return VG_OK;
}

static vg_status parse_shape(vg_npy *f, cursor *c) {
    if (peek(c) != '(')
        return vg_fail(VG_ERR_FORMAT, "%s: .npy header: 'shape' is not a tuple", c->name);
    c->p++;
    int n = 0, commas = 0;
    for (;;) {
        skip_ws(c);
        if (peek(c) == ')') {
            c->p++;
            break;
        }
        if (peek(c) < '0' || peek(c) > '9')
            return vg_fail(VG_ERR_FORMAT, "%s: .npy header: 'shape' holds something other than non-negative integers", c->name);
        int64_t v = 0;
        while (peek(c) >= '0' && peek(c) <= '9') {
            if (!vg_mul_ok(v, 10, &v) || !vg_add_ok(v, *c->p - '0', &v))
                return vg_fail(VG_ERR_FORMAT, "%s: .npy header: a dimension in 'shape' overflows 64 bits", c->name);
            c->p++;
        }
        if (peek(c) == 'L') c->p++; /* Python 2 long */
        if (n == VG_NPY_MAX_DIMS)
            return vg_fail(VG_ERR_UNSUPPORTED, "%s: .npy 'shape' has more than %d dimensions", c->name, VG_NPY_MAX_DIMS);
        f->shape[n++] = v;
        skip_ws(c);
        if (peek(c) == ',') {
            c->p++;
            commas++;
        } else if (peek(c) == ')') {
            c->p++;
            break;
        } else {
            return vg_fail(VG_ERR_FORMAT, "%s: .npy header: 'shape' tuple is malformed", c->name);
        }
    }
    if (n == 1 && commas == 0) /* "(5)" is the integer 5 in Python, not a tuple */
        return vg_fail(VG_ERR_FORMAT, "%s: .npy header: 'shape' (%lld) is not a tuple (a 1-tuple is written (%lld,))", c->name,
                       (long long)f->shape[0], (long long)f->shape[0]);
    f->ndim = n;
    return VG_OK;
}

static vg_status parse_header(vg_npy *f, const char *h, size_t len) {
    cursor c = {h, h + len, h, f->name};
    for (size_t i = 0; i < len; i++)
        if (h[i] == 0 || (unsigned char)h[i] >= 0x80)
            return vg_fail(VG_ERR_FORMAT, "%s: .npy header has a %s byte at offset %zu", f->name,
                           h[i] ? "non-ASCII" : "NUL", i);
    int seen[3] = {0, 0, 0}, fortran = 0;
    skip_ws(&c);
    if (peek(&c) != '{') return vg_fail(VG_ERR_FORMAT, "%s: .npy header is not a Python dict literal", f->name);
    c.p++;
    for (;;) {
        skip_ws(&c);
        if (peek(&c) == '}') {
            c.p++;
            break;
        }
        char key[32];
        vg_status st = parse_str(&c, key, sizeof key, "a key");
        if (st != VG_OK) return st;
        int k = strcmp(key, "descr") == 0 ? 0 : strcmp(key, "fortran_order") == 0 ? 1 : strcmp(key, "shape") == 0 ? 2 : -1;
        if (k < 0) return vg_fail(VG_ERR_FORMAT, "%s: .npy header has an unexpected key '%s'", f->name, key);
        if (seen[k]++) return vg_fail(VG_ERR_FORMAT, "%s: .npy header has the key '%s' twice", f->name, key);
        skip_ws(&c);
        if (peek(&c) != ':') return vg_fail(VG_ERR_FORMAT, "%s: .npy header: expected ':' after '%s'", f->name, key);
        c.p++;
        skip_ws(&c);
        if (k == 0) {
            st = parse_descr(f, &c);
        } else if (k == 1) {
            if (take_word(&c, "False")) fortran = 0;
            else if (take_word(&c, "True")) fortran = 1;
            else st = vg_fail(VG_ERR_FORMAT, "%s: .npy header: 'fortran_order' is neither True nor False", f->name);
        } else {
            st = parse_shape(f, &c);
        }
        if (st != VG_OK) return st;
        skip_ws(&c);
        if (peek(&c) == ',') {
            c.p++;
        } else if (peek(&c) != '}') {
            return vg_fail(VG_ERR_FORMAT, "%s: .npy header: expected ',' or '}' after the value of '%s'", f->name, key);
        }
    }
    skip_ws(&c);
    if (c.p != c.end) return vg_fail(VG_ERR_FORMAT, "%s: .npy header has text after the dict", f->name);
    static const char *const keys[3] = {"descr", "fortran_order", "shape"};
    for (int k = 0; k < 3; k++)
        if (!seen[k]) return vg_fail(VG_ERR_FORMAT, "%s: .npy header lacks the key '%s'", f->name, keys[k]);
    if (fortran)
        return vg_fail(VG_ERR_UNSUPPORTED,
                       "%s: .npy array is in Fortran order (fortran_order: True); only C order is supported "
                       "(save np.ascontiguousarray(a))", f->name);
    return VG_OK;
}

/* ---- whole file ----------------------------------------------------------------- */

static vg_status parse(vg_npy *f, const unsigned char *b, size_t size) {
    static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (size < 10 || memcmp(b, magic, 6) != 0)
        return vg_fail(VG_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic%s)", f->name, size < 10 ? ", file too short" : "");
    f->version = b[6];
    size_t hlen, hoff;
    if (b[6] == 1) {
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
        hoff = 10;
    } else if (b[6] == 2 || b[6] == 3) {
        if (size < 12) return vg_fail(VG_ERR_FORMAT, "%s: .npy file truncated inside its preamble", f->name);
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        hoff = 12;
    } else {
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: .npy format version %d.%d is not supported (expected 1.x, 2.x or 3.x)", f->name,
                       b[6], b[7]);
    }
    if (hlen > size - hoff)
        return vg_fail(VG_ERR_FORMAT, "%s: .npy header length %zu runs past the end of the file (%zu bytes)", f->name, hlen, size);
    vg_status st = parse_header(f, (const char *)b + hoff, hlen);
    if (st != VG_OK) return st;
    int64_t numel, nbytes;
    if (!vg_shape_numel(f->ndim, f->shape, &numel) || !vg_mul_ok(numel, (int64_t)f->item, &nbytes))
        return vg_fail(VG_ERR_FORMAT, "%s: .npy shape's size overflows 64 bits", f->name);
    const size_t have = size - hoff - hlen;
    if ((uint64_t)nbytes != (uint64_t)have)
        return vg_fail(VG_ERR_FORMAT, "%s: .npy header says %lld elements of %zu bytes = %lld bytes of data, the file holds %zu",
                       f->name, (long long)numel, f->item, (long long)nbytes, have);
    f->numel = numel;
    f->nbytes = have;
    f->data = b + hoff + hlen;
    return VG_OK;
}

static vg_npy *npy_new(const char *name) {
    vg_npy *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    if (!(f->name = strdup(name ? name : "(memory)"))) {
        free(f);
        return NULL;
    }
    return f;
}

vg_status vg_npy_open_memory(vg_npy **out, const void *bytes, size_t size, const char *name) {
    if (!out) return vg_fail(VG_ERR_INVALID, "vg_npy_open_memory: out is NULL");
    *out = NULL;
    if (!bytes && size) return vg_fail(VG_ERR_INVALID, "%s: vg_npy_open_memory: NULL bytes", name ? name : "(memory)");
    vg_npy *f = npy_new(name);
    if (!f) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", name ? name : "(memory)");
    vg_status st = parse(f, bytes, size);
    if (st != VG_OK) {
        vg_npy_close(f);
        return st;
    }
    *out = f;
    return VG_OK;
}

vg_status vg_npy_open(vg_npy **out, const char *path) {
    if (!out) return vg_fail(VG_ERR_INVALID, "vg_npy_open: out is NULL");
    *out = NULL;
    if (!path) return vg_fail(VG_ERR_INVALID, "vg_npy_open: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return vg_fail(VG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return vg_fail(VG_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return vg_fail(VG_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 10) {
        close(fd);
        return vg_fail(VG_ERR_FORMAT, "%s: not a .npy file (%lld bytes, too short for the preamble)", path, (long long)sb.st_size);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return vg_fail(VG_ERR_NOMEM, "%s: too large to map", path);
    }
    size_t size = (size_t)sb.st_size;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED) return vg_fail(VG_ERR_IO, "%s: cannot map %zu bytes: %s", path, size, strerror(e));
    vg_npy *f = npy_new(path);
    if (!f) {
        munmap(map, size);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    }
    f->map = map;
    f->map_size = size;
    vg_status st = parse(f, map, size);
    if (st != VG_OK) {
        vg_npy_close(f);
        return st;
    }
    *out = f;
    return VG_OK;
}

void vg_npy_close(vg_npy *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->map_size);
    free(f->name);
    free(f);
}

const char *vg_npy_name(const vg_npy *f) { return f->name; }
vg_npy_dtype vg_npy_dtype_of(const vg_npy *f) { return f->dtype; }
size_t vg_npy_item_size(const vg_npy *f) { return f->item; }
int vg_npy_big_endian(const vg_npy *f) { return f->big_endian; }
int vg_npy_version(const vg_npy *f) { return f->version; }
int vg_npy_ndim(const vg_npy *f) { return f->ndim; }
const int64_t *vg_npy_shape(const vg_npy *f) { return f->shape; }
int64_t vg_npy_numel(const vg_npy *f) { return f->numel; }
const void *vg_npy_data(const vg_npy *f) { return f->data; }
size_t vg_npy_nbytes(const vg_npy *f) { return f->nbytes; }

vg_status vg_npy_read_f32(const vg_npy *f, int64_t first, int64_t n, float *dst) {
    int64_t last;
    if (!f || (!dst && n > 0)) return vg_fail(VG_ERR_INVALID, "vg_npy_read_f32: NULL argument");
    if (first < 0 || n < 0 || !vg_add_ok(first, n, &last) || last > f->numel)
        return vg_fail(VG_ERR_INVALID, "%s: elements %lld..+%lld are outside the array's %lld", f->name, (long long)first,
                       (long long)n, (long long)f->numel);
    const unsigned one = 1;
    const int swap = f->big_endian != (*(const unsigned char *)&one == 0);
    const unsigned char *p = f->data + (size_t)first * f->item;
    for (int64_t i = 0; i < n; i++, p += f->item) {
        unsigned char b[8];
        if (f->dtype == VG_NPY_U8) {
            dst[i] = (float)p[0];
            continue;
        }
        for (size_t k = 0; k < f->item; k++) b[k] = swap ? p[f->item - 1 - k] : p[k];
        if (f->dtype == VG_NPY_F32) {
            float v;
            memcpy(&v, b, 4);
            dst[i] = v;
        } else {
            double v;
            memcpy(&v, b, 8);
            dst[i] = (float)v;
        }
    }
    return VG_OK;
}

/* ---- writing -------------------------------------------------------------- */

size_t vg_npy_header(char *h, size_t cap, vg_npy_dtype dtype, int ndim, const int64_t *shape) {
    if ((dtype != VG_NPY_U8 && dtype != VG_NPY_F32) || ndim < 1 || ndim > 8) return 0;
    char dict[512];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                      dtype == VG_NPY_U8 ? "|u1" : "<f4");
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return 0;
        dl += snprintf(dict + dl, sizeof dict - (size_t)dl, "%lld,%s", (long long)shape[i], i + 1 < ndim ? " " : "");
    }
    /* numpy writes (n,) for one dim and (a, b) otherwise */
    if (ndim > 1) dl--;
    dl += snprintf(dict + dl, sizeof dict - (size_t)dl, "), }");
    if (dl <= 0 || (size_t)dl >= sizeof dict) return 0;
    size_t total = (10 + (size_t)dl + 1 + 63) / 64 * 64;
    if (total > cap || total - 10 > 65535) return 0;
    size_t hl = total - 10;
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (char)(hl & 0xff);
    h[9] = (char)(hl >> 8);
    memcpy(h + 10, dict, (size_t)dl);
    memset(h + 10 + dl, ' ', hl - (size_t)dl - 1);
    h[total - 1] = '\n';
    return total;
}

vg_status vg_npy_write(const char *path, vg_npy_dtype dtype, int ndim, const int64_t *shape, const void *data) {
    char hdr[640];
    size_t hn = vg_npy_header(hdr, sizeof hdr, dtype, ndim, shape);
    if (!hn) return vg_fail(VG_ERR_INVALID, "%s: cannot write this array as .npy (dtype or rank not supported)", path);
    int64_t numel;
    if (!vg_shape_numel(ndim, shape, &numel) || !vg_mul_ok(numel, 4, &(int64_t){0}))
        return vg_fail(VG_ERR_INVALID, "%s: array size overflows", path);
    size_t bytes = (size_t)numel * (dtype == VG_NPY_U8 ? 1 : 4);
    vg_atomic_file f;
    vg_status st = vg_atomic_open(&f, path);
    if (st != VG_OK) return st;
    if ((st = vg_atomic_write(&f, hdr, hn)) == VG_OK && (st = vg_atomic_write(&f, data, bytes)) == VG_OK) return vg_atomic_commit(&f);
    vg_atomic_abort(&f);
    return st;
}
