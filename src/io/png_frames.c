/* png_frames.c — PNG encoding with libpng into memory, atomic writes, and
 * frame sequences in a directory (see png_frames.h).
 *
 * libpng reports errors by longjmp; everything that must survive the jump is
 * set before setjmp and never modified after it, and the error text is kept
 * in a small struct so it can be put into vg_last_error(). */
#include "io/png_frames.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checked.h"
#include "core/status.h"
#include "io/video_frames.h"

/* libpng's default refuses images wider or taller than this. */
#define PNG_MAX_SIDE 1000000

typedef struct membuf {
    uint8_t *p;
    size_t n, cap;
    char err[256]; /* libpng's message on failure */
} membuf;

static void on_error(png_structp png, png_const_charp msg) {
    membuf *mb = png_get_error_ptr(png);
    snprintf(mb->err, sizeof mb->err, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; /* the library never prints */
}

static void on_write(png_structp png, png_bytep data, png_size_t n) {
    membuf *mb = png_get_io_ptr(png);
    if (mb->cap - mb->n < n) {
        size_t cap = mb->cap ? mb->cap : 8192;
        while (cap - mb->n < n) {
            if (cap > SIZE_MAX / 2) png_error(png, "output too large");
            cap *= 2;
        }
        uint8_t *p = realloc(mb->p, cap);
        if (!p) png_error(png, "out of memory");
        mb->p = p;
        mb->cap = cap;
    }
    memcpy(mb->p + mb->n, data, n);
    mb->n += n;
}

static void on_flush(png_structp png) { (void)png; }

/* Encodes into mb; returns 1 on success, 0 with mb->err set. The caller owns
 * mb and rows, so nothing of this frame changes between setjmp and longjmp. */
static int encode_into(membuf *mb, png_bytep *rows, int H, int W) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, mb, on_error, on_warning);
    if (!png) {
        snprintf(mb->err, sizeof mb->err, "cannot create a libpng writer");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(mb->err, sizeof mb->err, "cannot create libpng info");
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, mb, on_write, on_flush);
    png_set_IHDR(png, info, (png_uint_32)W, (png_uint_32)H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 1;
}

vg_status vg_png_encode(uint8_t **out, size_t *len, const uint8_t *rgb, int H, int W) {
    size_t bytes;
    vg_status s;
    VG_ASSERT(out && len);
    *out = NULL;
    *len = 0;
    if (!rgb) return vg_fail(VG_ERR_INVALID, "no image given");
    if ((s = vg_frames_bytes(1, H, W, &bytes)) != VG_OK) return s;
    if (H > PNG_MAX_SIDE || W > PNG_MAX_SIDE)
        return vg_fail(VG_ERR_INVALID, "image size %dx%d exceeds %d pixels per side", W, H, PNG_MAX_SIDE);
    png_bytep *rows = malloc((size_t)H * sizeof *rows);
    membuf *mb = calloc(1, sizeof *mb);
    if (!rows || !mb) {
        free(rows);
        free(mb);
        return vg_fail(VG_ERR_NOMEM, "out of memory for a %dx%d image", W, H);
    }
    for (int y = 0; y < H; y++) rows[y] = (png_bytep)(uintptr_t)(rgb + (size_t)y * (size_t)W * 3);
    if (encode_into(mb, rows, H, W)) {
        *out = mb->p;
        *len = mb->n;
    } else {
        s = vg_fail(VG_ERR_FORMAT, "PNG encoding failed: %s", mb->err);
        free(mb->p);
    }
    free(mb);
    free(rows);
    return s;
}

vg_status vg_png_write(const char *path, const uint8_t *rgb, int H, int W) {
    VG_ASSERT(path);
    uint8_t *data;
    size_t len;
    vg_status s = vg_png_encode(&data, &len, rgb, H, W);
    if (s != VG_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vg_last_error());
        return vg_fail(s, "%s: not written: %s", path, why);
    }
    s = vg_file_write_atomic(path, data, len);
    free(data);
    return s;
}

/* mkdir -p: create dir and any missing parents; an existing non-directory
 * anywhere on the way is an error. */
static vg_status make_dirs(const char *dir) {
    size_t n = strlen(dir);
    char *p = malloc(n + 1);
    if (!p) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", dir);
    memcpy(p, dir, n + 1);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    vg_status s = VG_OK;
    for (size_t i = 1; i <= n && s == VG_OK; i++) {
        if (p[i] != '/' && p[i] != '\0') continue;
        char c = p[i];
        p[i] = '\0';
        struct stat st;
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode)) s = vg_fail(VG_ERR_IO, "%s: %s exists and is not a directory", dir, p);
        } else if (errno != ENOENT) {
            s = vg_fail(VG_ERR_IO, "%s: cannot inspect %s: %s", dir, p, strerror(errno));
        } else if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            s = vg_fail(VG_ERR_IO, "%s: cannot create directory %s: %s", dir, p, strerror(errno));
        }
        p[i] = c;
    }
    free(p);
    return s;
}

vg_status vg_png_frames_write(const char *dir, const uint8_t *rgb, int T, int H, int W) {
    size_t bytes;
    vg_status s;
    VG_ASSERT(dir);
    if (!*dir) return vg_fail(VG_ERR_INVALID, "empty output directory name");
    if (!rgb) return vg_fail(VG_ERR_INVALID, "%s: no frames given", dir);
    if ((s = vg_frames_bytes(T, H, W, &bytes)) != VG_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vg_last_error());
        return vg_fail(s, "%s: not written: %s", dir, why);
    }
    if ((s = make_dirs(dir)) != VG_OK) return s;
    size_t plen = strlen(dir) + 32;
    char *path = malloc(plen);
    if (!path) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", dir);
    size_t frame = (size_t)H * (size_t)W * 3;
    for (int t = 0; t < T && s == VG_OK; t++) {
        snprintf(path, plen, "%s/frame_%04d.png", dir, t);
        s = vg_png_write(path, rgb + (size_t)t * frame, H, W);
    }
    free(path);
    return s;
}
