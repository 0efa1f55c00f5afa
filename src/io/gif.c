/* gif.c — GIF89a container and LZW encoder (see gif.h). The palette comes
 * from quantize.c; the atomic write from video_frames.c. */
#include "io/gif.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/status.h"
#include "io/quantize.h"
#include "io/video_frames.h"

vg_gif_opts vg_gif_opts_default(void) {
    vg_gif_opts o = {.fps = 8.0, .loop = 0, .colors = 0, .dither = 0};
    return o;
}

int vg_gif_delay_cs(double fps) {
    if (!(fps > 0) || !isfinite(fps)) return 0;
    double d = floor(100.0 / fps + 0.5);
    return d < 2 ? 2 : d > 65535 ? 65535 : (int)d;
}

double vg_gif_fps_effective(double fps) {
    int d = vg_gif_delay_cs(fps);
    return d ? 100.0 / d : 0.0;
}

/* ---- growable output buffer -------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
    int oom; /* sticky: set by the first failed growth */
} buf;

static void buf_put(buf *b, const void *data, size_t n) {
    if (b->oom) return;
    if (b->cap - b->n < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->n < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, data, n);
    b->n += n;
}

static void buf_u8(buf *b, unsigned v) {
    uint8_t c = (uint8_t)v;
    buf_put(b, &c, 1);
}

static void buf_u16(buf *b, unsigned v) { /* GIF is little-endian */
    uint8_t c[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    buf_put(b, c, 2);
}

/* ---- LZW ------------------------------------------------------------------------
 * GIF's variant (spec appendix F): codes are written LSB-first in
 * code_size-bit fields, packed into data sub-blocks of at most 255 bytes.
 * With minimum code size m: clear = 2^m, end = 2^m + 1, the first string
 * code 2^m + 2, code size starts at m + 1. The encoder assigns a new code
 * after every emitted code and widens the code size as soon as the newest
 * code needs one more bit — one code ahead of the decoder, which adds its
 * entry a step later and widens when its next free code reaches 2^size, so
 * both change width at the same code. At code 4095 the table is full: emit
 * a clear code and start over (as gif.h by C. Tangora and giflib do). */

enum { LZW_MAX_CODE = 4095, LZW_HASH = 8192 };

typedef struct lzw {
    buf *out;
    uint64_t acc;       /* pending bits, LSB first */
    int nbits;
    uint8_t block[255]; /* the sub-block being filled */
    int blen;
    uint32_t key[LZW_HASH];  /* (prefix << 8 | pixel) + 1; 0 = empty */
    uint16_t code[LZW_HASH];
} lzw;

static void lzw_flush_block(lzw *z) {
    if (z->blen == 0) return;
    buf_u8(z->out, (unsigned)z->blen);
    buf_put(z->out, z->block, (size_t)z->blen);
    z->blen = 0;
}

static void lzw_put(lzw *z, unsigned code, int size) {
    z->acc |= (uint64_t)code << z->nbits;
    z->nbits += size;
    while (z->nbits >= 8) {
        z->block[z->blen++] = (uint8_t)z->acc;
        z->acc >>= 8;
        z->nbits -= 8;
        if (z->blen == 255) lzw_flush_block(z);
    }
}

static inline uint32_t lzw_slot(uint32_t key) { return (key * 2654435761u) >> (32 - 13); }

/* One image's indices idx (n) with minimum code size m (2..8). */
static void lzw_encode(lzw *z, const uint8_t *idx, size_t n, int m) {
    const unsigned clear = 1u << m, end = clear + 1;
    int size = m + 1;
    unsigned max_code = end; /* the last code in use */
    memset(z->key, 0, sizeof z->key);
    z->acc = 0;
    z->nbits = 0;
    z->blen = 0;
    buf_u8(z->out, (unsigned)m);
    lzw_put(z, clear, size);
    unsigned cur = idx[0];
    for (size_t i = 1; i < n; i++) {
        unsigned px = idx[i];
        uint32_t key = ((uint32_t)cur << 8 | px) + 1, h = lzw_slot(key);
        while (z->key[h] && z->key[h] != key) h = (h + 1) & (LZW_HASH - 1);
        if (z->key[h]) { /* the string cur+px is known: extend it */
            cur = z->code[h];
            continue;
        }
        lzw_put(z, cur, size);
        max_code++;
        z->key[h] = key;
        z->code[h] = (uint16_t)max_code;
        if (max_code >= (1u << size)) size++;
        if (max_code == LZW_MAX_CODE) {
            lzw_put(z, clear, size);
            memset(z->key, 0, sizeof z->key);
            size = m + 1;
            max_code = end;
        }
        cur = px;
    }
    lzw_put(z, cur, size);
    /* The decoder adds an entry after this last code too; widen as it will. */
    if (max_code < LZW_MAX_CODE && max_code + 1 >= (1u << size) && size < 12) size++;
    lzw_put(z, end, size);
    if (z->nbits > 0) lzw_put(z, 0, 8 - z->nbits); /* pad the last byte */
    lzw_flush_block(z);
    buf_u8(z->out, 0); /* block terminator */
}

/* ---- container ------------------------------------------------------------------ */

static vg_status check_args(const uint8_t *rgb, int T, int H, int W, const vg_gif_opts *o) {
    size_t bytes;
    vg_status s;
    if (!rgb) return vg_fail(VG_ERR_INVALID, "no frames given");
    if ((s = vg_frames_bytes(T, H, W, &bytes)) != VG_OK) return s;
    if (H > VG_GIF_MAX_DIM || W > VG_GIF_MAX_DIM)
        return vg_fail(VG_ERR_INVALID, "frame size %dx%d exceeds GIF's limit of %d pixels per side", W, H,
                       VG_GIF_MAX_DIM);
    if (!vg_gif_delay_cs(o->fps)) return vg_fail(VG_ERR_INVALID, "fps %g (expected a positive number)", o->fps);
    if (o->loop < -1 || o->loop > 65535)
        return vg_fail(VG_ERR_INVALID, "loop %d (expected -1 = once, 0 = forever, or 1..65535)", o->loop);
    if (o->colors != 0 && (o->colors < 2 || o->colors > 256))
        return vg_fail(VG_ERR_INVALID, "%d colours (expected 2..256, or 0 for 256)", o->colors);
    if (o->dither != 0 && o->dither != 1) return vg_fail(VG_ERR_INVALID, "dither %d (expected 0 or 1)", o->dither);
    return VG_OK;
}

vg_status vg_gif_encode(uint8_t **out, size_t *len, const uint8_t *rgb, int T, int H, int W,
                        const vg_gif_opts *opts) {
    VG_ASSERT(out && len);
    *out = NULL;
    *len = 0;
    vg_gif_opts o = opts ? *opts : vg_gif_opts_default();
    vg_status s = check_args(rgb, T, H, W, &o);
    if (s != VG_OK) return s;

    size_t npix = (size_t)T * (size_t)H * (size_t)W, frame = (size_t)H * (size_t)W;
    vg_palette *pal = malloc(sizeof *pal);
    uint8_t *idx = malloc(npix);
    lzw *z = malloc(sizeof *z);
    buf b = {0};
    if (!pal || !idx || !z) {
        s = vg_fail(VG_ERR_NOMEM, "out of memory for %d frames of %dx%d", T, W, H);
        goto done;
    }
    if ((s = vg_palette_build(pal, rgb, (int64_t)npix, o.colors ? o.colors : 256)) != VG_OK) goto done;
    if ((s = vg_palette_map(idx, pal, rgb, T, H, W, o.dither)) != VG_OK) goto done;

    int bpp = 1;
    while ((1 << bpp) < pal->n) bpp++;
    int m = bpp < 2 ? 2 : bpp; /* LZW minimum code size: at least 2 */
    int delay = vg_gif_delay_cs(o.fps);

    buf_put(&b, "GIF89a", 6);
    buf_u16(&b, (unsigned)W);
    buf_u16(&b, (unsigned)H);
    /* global table, colour resolution 8 bits, table size 2^bpp */
    buf_u8(&b, 0x80u | 0x70u | (unsigned)(bpp - 1));
    buf_u8(&b, 0); /* background colour index */
    buf_u8(&b, 0); /* no aspect ratio */
    uint8_t table[3 * 256] = {0};
    memcpy(table, pal->rgb, 3 * (size_t)pal->n);
    buf_put(&b, table, 3 * ((size_t)1 << bpp));
    if (o.loop >= 0) {
        buf_put(&b, "\x21\xFF\x0B" "NETSCAPE2.0" "\x03\x01", 16);
        buf_u16(&b, (unsigned)o.loop);
        buf_u8(&b, 0);
    }
    z->out = &b;
    for (int t = 0; t < T; t++) {
        buf_put(&b, "\x21\xF9\x04", 3);
        buf_u8(&b, 1u << 2); /* disposal 1: do not dispose; no transparency */
        buf_u16(&b, (unsigned)delay);
        buf_u8(&b, 0); /* transparent index (unused) */
        buf_u8(&b, 0);
        buf_u8(&b, 0x2C); /* image descriptor at (0, 0), full size */
        buf_u16(&b, 0);
        buf_u16(&b, 0);
        buf_u16(&b, (unsigned)W);
        buf_u16(&b, (unsigned)H);
        buf_u8(&b, 0); /* no local table, not interlaced */
        lzw_encode(z, idx + (size_t)t * frame, frame, m);
        if (b.oom) break;
    }
    buf_u8(&b, 0x3B); /* trailer */
    if (b.oom) {
        s = vg_fail(VG_ERR_NOMEM, "out of memory encoding %d frames of %dx%d", T, W, H);
        goto done;
    }
    *out = b.p;
    *len = b.n;
    b.p = NULL;
done:
    free(b.p);
    free(z);
    free(idx);
    free(pal);
    return s;
}

vg_status vg_gif_write_opts(const char *path, const uint8_t *rgb, int T, int H, int W, const vg_gif_opts *opts) {
    VG_ASSERT(path);
    uint8_t *data;
    size_t len;
    vg_status s = vg_gif_encode(&data, &len, rgb, T, H, W, opts);
    if (s != VG_OK) {
        char why[512];
        snprintf(why, sizeof why, "%s", vg_last_error());
        return vg_fail(s, "%s: not written: %s", path, why);
    }
    s = vg_file_write_atomic(path, data, len);
    free(data);
    return s;
}

vg_status vg_gif_write(const char *path, const uint8_t *rgb, int T, int H, int W, double fps, int loop) {
    vg_gif_opts o = vg_gif_opts_default();
    o.fps = fps;
    o.loop = loop;
    return vg_gif_write_opts(path, rgb, T, H, W, &o);
}
