/* image_reader.c — PNG / JPEG frames (image_reader.h): signature, header
 * and tail checks by hand, decoding with libavcodec, conversion to RGB with
 * io/rgb_convert.c. */
#include "io/image_reader.h"

#include <errno.h>
#include <libavcodec/avcodec.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/status.h"
#include "io/ffmpeg_lib.h"
#include "io/rgb_convert.h"

#define HEAD_BYTES (1 << 20) /* a JPEG's frame header must lie in its first MiB */
#define TAIL_BYTES 1024
#define MAX_SIDE 32768

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
static const uint8_t png_end[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};

const char *vg_image_kind_name(vg_image_kind k) { return k == VG_IMAGE_PNG ? "png" : k == VG_IMAGE_JPEG ? "jpeg" : "?"; }

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

static int is_sof(int m) { return m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc; }

/* head: the first head_n bytes of a file of total bytes; tail: its last
 * tail_n bytes. */
static vg_status check_parts(const uint8_t *head, size_t head_n, const uint8_t *tail, size_t tail_n, size_t total,
                             const char *name, vg_image_header *out) {
    if (total == 0) return vg_fail(VG_ERR_FORMAT, "%s: empty file (0 bytes), not an image", name);
    if (head_n >= 8 && memcmp(head, png_sig, 8) == 0) {
        if (head_n < 33) return vg_fail(VG_ERR_FORMAT, "%s: truncated PNG (%zu bytes, shorter than its header)", name, total);
        if (be32(head + 8) != 13 || memcmp(head + 12, "IHDR", 4) != 0)
            return vg_fail(VG_ERR_FORMAT, "%s: PNG without an IHDR chunk first", name);
        uint32_t w = be32(head + 16), h = be32(head + 20);
        if (w == 0 || h == 0 || w > MAX_SIDE || h > MAX_SIDE)
            return vg_fail(VG_ERR_FORMAT, "%s: PNG of %ux%u pixels: expected 1..%d per side", name, w, h, MAX_SIDE);
        if (tail_n < 12 || memcmp(tail + tail_n - 12, png_end, 12) != 0)
            return vg_fail(VG_ERR_FORMAT, "%s: truncated PNG (%zu bytes; it does not end with an IEND chunk)", name, total);
        *out = (vg_image_header){VG_IMAGE_PNG, (int)w, (int)h};
        return VG_OK;
    }
    if (head_n >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff) {
        size_t i = 2;
        for (;;) {
            if (i >= head_n) break;
            if (head[i] != 0xff)
                return vg_fail(VG_ERR_FORMAT, "%s: damaged JPEG (byte %zu: expected a marker, found 0x%02x)", name, i, head[i]);
            while (i < head_n && head[i] == 0xff) i++;
            if (i >= head_n) break;
            int m = head[i++];
            if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) continue; /* no length */
            if (m == 0xd9) return vg_fail(VG_ERR_FORMAT, "%s: JPEG ends before its frame header", name);
            if (m == 0xda) return vg_fail(VG_ERR_FORMAT, "%s: damaged JPEG (image data before a frame header)", name);
            if (i + 2 > head_n) break;
            size_t len = (size_t)head[i] << 8 | head[i + 1];
            if (len < 2) return vg_fail(VG_ERR_FORMAT, "%s: damaged JPEG (segment 0x%02x of length %zu)", name, m, len);
            if (is_sof(m)) {
                if (i + 7 > head_n || len < 8) break;
                int h = head[i + 3] << 8 | head[i + 4], w = head[i + 5] << 8 | head[i + 6];
                if (w == 0 || h == 0)
                    return vg_fail(VG_ERR_FORMAT, "%s: JPEG of %dx%d pixels (height from a DNL marker is not supported)", name,
                                   w, h);
                size_t k = tail_n; /* the last non-zero byte must end an FF D9 */
                while (k > 0 && tail[k - 1] == 0) k--;
                if (k < 2 || tail[k - 2] != 0xff || tail[k - 1] != 0xd9)
                    return vg_fail(VG_ERR_FORMAT, "%s: truncated JPEG (%zu bytes; it does not end with the EOI marker FF D9)",
                                   name, total);
                *out = (vg_image_header){VG_IMAGE_JPEG, w, h};
                return VG_OK;
            }
            i += len;
        }
        if (head_n < total) return vg_fail(VG_ERR_FORMAT, "%s: JPEG without a frame header in its first %zu bytes", name, head_n);
        return vg_fail(VG_ERR_FORMAT, "%s: truncated JPEG (%zu bytes, it ends inside its header)", name, total);
    }
    return vg_fail(VG_ERR_FORMAT, "%s: not a PNG or JPEG image (unknown signature)", name);
}

vg_status vg_image_check_memory(const uint8_t *bytes, size_t n, const char *name, vg_image_header *out) {
    if (!bytes && n) return vg_fail(VG_ERR_INVALID, "vg_image_check_memory: NULL bytes");
    size_t tn = n < TAIL_BYTES ? n : TAIL_BYTES;
    return check_parts(bytes, n, bytes + n - tn, tn, n, name ? name : "(memory)", out);
}

/* Opens path for reading with a plain reason on failure. */
static vg_status open_file(const char *path, FILE **f, size_t *size) {
    struct stat sb;
    if (stat(path, &sb) != 0) return vg_fail(VG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return vg_fail(VG_ERR_IO, "%s: is a directory, not an image file", path);
    if (!S_ISREG(sb.st_mode)) return vg_fail(VG_ERR_IO, "%s: not a regular file", path);
    if (!(*f = fopen(path, "rb"))) return vg_fail(VG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    *size = (size_t)sb.st_size;
    return VG_OK;
}

vg_status vg_image_check_file(const char *path, vg_image_header *out) {
    FILE *f;
    size_t total;
    vg_status st = open_file(path, &f, &total);
    if (st != VG_OK) return st;
    size_t hn = total < HEAD_BYTES ? total : HEAD_BYTES, tn = total < TAIL_BYTES ? total : TAIL_BYTES;
    uint8_t *head = malloc(hn + 1), tail[TAIL_BYTES];
    if (!head) {
        fclose(f);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    }
    size_t got = fread(head, 1, hn, f);
    int ok = got == hn;
    if (ok && tn) ok = fseek(f, (long)(total - tn), SEEK_SET) == 0 && fread(tail, 1, tn, f) == tn;
    if (!ok) st = vg_fail(VG_ERR_IO, "%s: read error (%s)", path, ferror(f) ? strerror(errno) : "file shrank while reading");
    fclose(f);
    if (st == VG_OK) st = check_parts(head, hn, tail, tn, total, path, out);
    free(head);
    return st;
}

/* ---- decoding ---------------------------------------------------------------------------- */

struct vg_image_decoder {
    AVCodecContext *dec[VG_IMAGE_KIND_COUNT]; /* opened on first use */
    AVPacket *pkt;
    AVFrame *frame;
    uint8_t *buf; /* the encoded image plus FFmpeg's zeroed input padding */
    size_t buf_cap;
    vg_rgb_converter conv;
};

vg_status vg_image_decoder_new(vg_image_decoder **out) {
    *out = NULL;
    if (vg_ffmpeg_load_for("image decoder") != VG_OK) return VG_ERR_UNSUPPORTED;
    vg_image_decoder *d = calloc(1, sizeof *d);
    if (!d || !(d->pkt = vg_ff.av_packet_alloc()) || !(d->frame = vg_ff.av_frame_alloc())) {
        vg_image_decoder_free(d);
        return vg_fail(VG_ERR_NOMEM, "image decoder: out of memory");
    }
    *out = d;
    return VG_OK;
}

void vg_image_decoder_free(vg_image_decoder *d) {
    if (!d) return;
    for (int k = 0; k < VG_IMAGE_KIND_COUNT; k++) vg_ff.avcodec_free_context(&d->dec[k]);
    vg_ff.av_packet_free(&d->pkt);
    vg_ff.av_frame_free(&d->frame);
    vg_ff.av_free(d->buf);
    vg_rgb_converter_free(&d->conv);
    free(d);
}

static vg_status reserve(vg_image_decoder *d, size_t n, const char *name) {
    if (n > SIZE_MAX - AV_INPUT_BUFFER_PADDING_SIZE || n > INT32_MAX)
        return vg_fail(VG_ERR_FORMAT, "%s: image file too large (%zu bytes)", name, n);
    size_t need = n + AV_INPUT_BUFFER_PADDING_SIZE;
    if (need > d->buf_cap) {
        vg_ff.av_free(d->buf);
        d->buf_cap = 0;
        if (!(d->buf = vg_ff.av_malloc(need))) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", name);
        d->buf_cap = need;
    }
    memset(d->buf + n, 0, AV_INPUT_BUFFER_PADDING_SIZE);
    return VG_OK;
}

static vg_status open_codec(vg_image_decoder *d, vg_image_kind k, const char *name) {
    if (d->dec[k]) return VG_OK;
    const AVCodec *c = vg_ff.avcodec_find_decoder(k == VG_IMAGE_PNG ? AV_CODEC_ID_PNG : AV_CODEC_ID_MJPEG);
    if (!c) return vg_fail(VG_ERR_UNSUPPORTED, "%s: this FFmpeg build has no %s decoder", name, vg_image_kind_name(k));
    AVCodecContext *ctx = vg_ff.avcodec_alloc_context3(c);
    if (!ctx) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", name);
    ctx->thread_count = 1; /* callers parallelise over frames */
    int err = vg_ff.avcodec_open2(ctx, c, NULL);
    if (err < 0) {
        char why[AV_ERROR_MAX_STRING_SIZE];
        vg_ff.av_strerror(err, why, sizeof why);
        vg_ff.avcodec_free_context(&ctx);
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: cannot open the %s decoder (%s)", name, c->name, why);
    }
    d->dec[k] = ctx;
    return VG_OK;
}

/* d->buf[0, n) -> out. */
static vg_status decode_buffer(vg_image_decoder *d, size_t n, const char *name, int size, const vg_frame_fit *fit,
                               uint8_t *out, size_t cap, int *width, int *height) {
    vg_image_header h;
    vg_status st = vg_image_check_memory(d->buf, n, name, &h);
    if (st != VG_OK) return st;
    if ((st = open_codec(d, h.kind, name)) != VG_OK) return st;
    AVCodecContext *ctx = d->dec[h.kind];
    d->pkt->data = d->buf;
    d->pkt->size = (int)n;
    d->pkt->flags = AV_PKT_FLAG_KEY;
    const char *call = "avcodec_send_packet";
    int err = vg_ff.avcodec_send_packet(ctx, d->pkt);
    if (err >= 0) {
        call = "avcodec_receive_frame";
        err = vg_ff.avcodec_receive_frame(ctx, d->frame);
        if (err == AVERROR(EAGAIN)) { /* a decoder that holds frames back: drain it */
            vg_ff.avcodec_send_packet(ctx, NULL);
            err = vg_ff.avcodec_receive_frame(ctx, d->frame);
        }
    }
    d->pkt->data = NULL;
    d->pkt->size = 0;
    vg_ff.avcodec_flush_buffers(ctx); /* each image on its own */
    if (err < 0) {
        char why[AV_ERROR_MAX_STRING_SIZE];
        vg_ff.av_strerror(err, why, sizeof why);
        return vg_fail(VG_ERR_FORMAT, "%s: %s decoder error (%s: %s)", name, vg_image_kind_name(h.kind), call,
                       err == AVERROR_EOF ? "no picture in the data" : why);
    }
    const int W = d->frame->width, H = d->frame->height;
    if (width) *width = W;
    if (height) *height = H;
    const int OH = size > 0 ? size : H, OW = size > 0 ? size : W;
    if ((size_t)OH * OW * 3 > cap) {
        vg_ff.av_frame_unref(d->frame);
        return vg_fail(VG_ERR_INVALID, "%s: a %dx%d RGB image does not fit the %zu-byte buffer", name, OW, OH, cap);
    }
    static const vg_frame_fit centre = {VG_FIT_CENTRE, 0, 0};
    st = vg_rgb_convert(&d->conv, d->frame, out, OH, OW, size > 0 ? (fit ? fit : &centre) : NULL, name);
    vg_ff.av_frame_unref(d->frame);
    return st;
}

vg_status vg_image_decode(vg_image_decoder *d, const uint8_t *bytes, size_t n, const char *name, int size, uint8_t *out,
                          size_t cap, int *width, int *height) {
    if (!d || !out || (!bytes && n)) return vg_fail(VG_ERR_INVALID, "vg_image_decode: NULL argument");
    if (!name) name = "(memory)";
    if (size < 0 || size > 16384) return vg_fail(VG_ERR_INVALID, "%s: size %d: expected 0..16384", name, size);
    vg_status st = reserve(d, n, name);
    if (st != VG_OK) return st;
    if (n) memcpy(d->buf, bytes, n);
    return decode_buffer(d, n, name, size, NULL, out, cap, width, height);
}

vg_status vg_image_read_file(vg_image_decoder *d, const char *path, int size, uint8_t *out, size_t cap, int *width,
                             int *height) {
    return vg_image_read_file_fit(d, path, size, NULL, out, cap, width, height);
}

vg_status vg_image_read_file_fit(vg_image_decoder *d, const char *path, int size, const vg_frame_fit *fit, uint8_t *out,
                                 size_t cap, int *width, int *height) {
    if (!d || !out || !path) return vg_fail(VG_ERR_INVALID, "vg_image_read_file: NULL argument");
    if (size < 0 || size > 16384) return vg_fail(VG_ERR_INVALID, "%s: size %d: expected 0..16384", path, size);
    FILE *f;
    size_t total;
    vg_status st = open_file(path, &f, &total);
    if (st == VG_OK) st = reserve(d, total, path);
    if (st == VG_OK && fread(d->buf, 1, total, f) != total)
        st = vg_fail(VG_ERR_IO, "%s: read error (%s)", path, ferror(f) ? strerror(errno) : "file shrank while reading");
    if (f) fclose(f);
    if (st != VG_OK) return st;
    return decode_buffer(d, total, path, size, fit, out, cap, width, height);
}
