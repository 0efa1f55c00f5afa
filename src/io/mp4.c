/* mp4.c — the MP4 writer (mp4.h): RGB frames -> (padded) yuv420p -> H.264
 * packets -> MP4 muxer writing into a growable memory buffer with seek
 * support (the muxer seeks back to patch box sizes) -> vg_file_write_atomic.
 * Encoder choice, quality and timing rules are documented in mp4.h. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/status.h"
#include "io/ffmpeg_lib.h"
#include "io/mp4.h"
#include "io/video_frames.h"

#define AVIO_BUF 65536

vg_mp4_opts vg_mp4_opts_default(void) {
    vg_mp4_opts o = {.fps = 8, .crf = 18};
    return o;
}

/* ---- a seekable in-memory output for the muxer ----------------------------- */

typedef struct membuf {
    uint8_t *data;
    int64_t len, cap, pos;
    int oom;
} membuf;

static int mem_write(void *opaque, uint8_t *buf, int n) {
    membuf *m = opaque;
    int64_t end = m->pos + n;
    if (end > m->cap) {
        int64_t cap = m->cap ? m->cap : 1 << 16;
        while (cap < end) cap *= 2;
        uint8_t *p = realloc(m->data, (size_t)cap);
        if (!p) {
            m->oom = 1;
            return AVERROR(ENOMEM);
        }
        m->data = p;
        m->cap = cap;
    }
    if (m->pos > m->len) memset(m->data + m->len, 0, (size_t)(m->pos - m->len));
    memcpy(m->data + m->pos, buf, (size_t)n);
    m->pos = end;
    if (end > m->len) m->len = end;
    return n;
}

static int64_t mem_seek(void *opaque, int64_t offset, int whence) {
    membuf *m = opaque;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = m->pos; break;
    case SEEK_END: base = m->len; break;
    case AVSEEK_SIZE: return m->len;
    default: return AVERROR(EINVAL);
    }
    if (base + offset < 0) return AVERROR(EINVAL);
    m->pos = base + offset;
    return m->pos;
}

/* ---- encoder choice ------------------------------------------------------------ */

/* Candidates in order of preference; NULL entries are skipped. */
static int encoder_candidates(const AVCodec *out[3]) {
    int n = 0;
    const AVCodec *x264 = vg_ff.avcodec_find_encoder_by_name("libx264");
    const AVCodec *h264 = vg_ff.avcodec_find_encoder(AV_CODEC_ID_H264);
    const AVCodec *mpeg4 = vg_ff.avcodec_find_encoder(AV_CODEC_ID_MPEG4);
    if (x264) out[n++] = x264;
    if (h264 && h264 != x264) out[n++] = h264;
    if (mpeg4) out[n++] = mpeg4;
    return n;
}

const char *vg_mp4_encoder_name(void) {
    const AVCodec *c[3];
    if (vg_ffmpeg_load_for("MP4 encoder") != VG_OK) return NULL;
    return encoder_candidates(c) ? c[0]->name : NULL;
}

/* Everything one write allocates; freed by writer_free in any state. */
typedef struct writer {
    AVFormatContext *oc;
    AVIOContext *io;
    AVCodecContext *enc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint8_t *padded; /* (Hp, Wp, 3) rows padded_stride apart */
    membuf mem;
} writer;

static void writer_free(writer *w) {
    if (w->io) {
        vg_ff.av_freep(&w->io->buffer);
        vg_ff.avio_context_free(&w->io);
    }
    if (w->oc) w->oc->pb = NULL;
    vg_ff.avformat_free_context(w->oc);
    vg_ff.avcodec_free_context(&w->enc);
    vg_ff.av_frame_free(&w->frame);
    vg_ff.av_packet_free(&w->pkt);
    vg_ff.sws_freeContext(w->sws);
    free(w->padded);
    free(w->mem.data);
    memset(w, 0, sizeof *w);
}

/* Opens the first candidate encoder that accepts the settings. */
static vg_status open_encoder(writer *w, const char *path, int Hp, int Wp, AVRational rate, int crf) {
    const AVCodec *cand[3];
    int n = encoder_candidates(cand);
    if (n == 0) return vg_fail(VG_ERR_UNSUPPORTED, "%s: this FFmpeg build has no H.264 or MPEG-4 encoder", path);
    char why[AV_ERROR_MAX_STRING_SIZE] = "";
    const char *last = "";
    for (int i = 0; i < n; i++) {
        AVCodecContext *c = vg_ff.avcodec_alloc_context3(cand[i]);
        if (!c) return vg_fail(VG_ERR_NOMEM, "%s: avcodec_alloc_context3: out of memory", path);
        c->width = Wp;
        c->height = Hp;
        c->pix_fmt = AV_PIX_FMT_YUV420P;
        c->time_base = (AVRational){rate.den, rate.num};
        c->framerate = rate;
        c->color_range = AVCOL_RANGE_MPEG;
        c->colorspace = AVCOL_SPC_SMPTE170M;
        c->color_primaries = AVCOL_PRI_SMPTE170M;
        c->color_trc = AVCOL_TRC_SMPTE170M;
        if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
        AVDictionary *o = NULL;
        if (strcmp(cand[i]->name, "libx264") == 0) {
            char v[16];
            snprintf(v, sizeof v, "%d", crf);
            vg_ff.av_dict_set(&o, "crf", v, 0);
            vg_ff.av_dict_set(&o, "preset", "medium", 0);
        } else if (cand[i]->id == AV_CODEC_ID_MPEG4) {
            c->flags |= AV_CODEC_FLAG_QSCALE;
            c->global_quality = FF_QP2LAMBDA * 2;
        } else {
            c->bit_rate = (int64_t)Wp * Hp * (rate.num / (rate.den ? rate.den : 1) + 1) / 2;
        }
        int err = vg_ff.avcodec_open2(c, cand[i], &o);
        vg_ff.av_dict_free(&o);
        if (err >= 0) {
            w->enc = c;
            return VG_OK;
        }
        vg_ffmpeg_reason(err, why, sizeof why);
        last = cand[i]->name;
        vg_ff.avcodec_free_context(&c);
    }
    return vg_fail(VG_ERR_UNSUPPORTED, "%s: avcodec_open2 (%s, %dx%d): %s", path, last, Wp, Hp, why);
}

/* Sends frame (NULL = flush) and writes every packet that comes out. */
static vg_status encode(writer *w, const char *path, AVFrame *frame) {
    char why[AV_ERROR_MAX_STRING_SIZE];
    int err = vg_ff.avcodec_send_frame(w->enc, frame);
    if (err < 0) return vg_fail(VG_ERR_FORMAT, "%s: avcodec_send_frame: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
    for (;;) {
        err = vg_ff.avcodec_receive_packet(w->enc, w->pkt);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return VG_OK;
        if (err < 0) return vg_fail(VG_ERR_FORMAT, "%s: avcodec_receive_packet: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
        w->pkt->duration = 1; /* one frame, in the encoder's 1/fps time base */
        vg_ff.av_packet_rescale_ts(w->pkt, w->enc->time_base, w->st->time_base);
        w->pkt->stream_index = w->st->index;
        err = vg_ff.av_interleaved_write_frame(w->oc, w->pkt);
        if (err < 0)
            return vg_fail(w->mem.oom ? VG_ERR_NOMEM : VG_ERR_FORMAT, "%s: av_interleaved_write_frame: %s", path,
                           vg_ffmpeg_reason(err, why, sizeof why));
    }
}

/* Row stride of the padded frame: 64-byte aligned with a block to spare,
 * since swscale's SIMD paths read whole blocks past a row's end. */
static int padded_stride(int Wp) { return (Wp * 3 + 64 + 63) & ~63; }

/* Frame t of rgb into w->padded, repeating the last row / column. */
static void pad_frame(uint8_t *dst, const uint8_t *src, int H, int W, int Hp, int Wp) {
    for (int y = 0; y < Hp; y++) {
        const uint8_t *row = src + (size_t)(y < H ? y : H - 1) * W * 3;
        uint8_t *d = dst + (size_t)y * padded_stride(Wp);
        memcpy(d, row, (size_t)W * 3);
        if (Wp > W) memcpy(d + (size_t)W * 3, row + (size_t)(W - 1) * 3, 3);
    }
}

vg_status vg_mp4_write_opts(const char *path, const uint8_t *rgb, int T, int H, int W, const vg_mp4_opts *opts) {
    if (!path || !*path) return vg_fail(VG_ERR_INVALID, "vg_mp4_write: no output path");
    if (vg_ffmpeg_load_for(path) != VG_OK) return VG_ERR_UNSUPPORTED;
    vg_mp4_opts o = opts ? *opts : vg_mp4_opts_default();
    size_t bytes;
    if (!rgb || vg_frames_bytes(T, H, W, &bytes) != VG_OK)
        return vg_fail(VG_ERR_INVALID, "%s: %d frames of %dx%d: expected frames and sizes >= 1", path, T, H, W);
    if (H > 16384 || W > 16384)
        return vg_fail(VG_ERR_INVALID, "%s: %dx%d: H.264 sizes are limited to 16384", path, H, W);
    if (!(o.fps > 0) || !isfinite(o.fps) || o.fps > 1000)
        return vg_fail(VG_ERR_INVALID, "%s: fps %g: expected a number in (0, 1000]", path, o.fps);
    if (o.crf < 0 || o.crf > 51) return vg_fail(VG_ERR_INVALID, "%s: crf %d: expected 0..51", path, o.crf);
    const int Hp = H + (H & 1), Wp = W + (W & 1);
    AVRational rate = vg_ff.av_d2q(o.fps, 100000);
    if (rate.num <= 0 || rate.den <= 0) return vg_fail(VG_ERR_INVALID, "%s: fps %g is not representable", path, o.fps);

    writer w = {0};
    char why[AV_ERROR_MAX_STRING_SIZE];
    vg_status st = VG_OK;
    int err = vg_ff.avformat_alloc_output_context2(&w.oc, NULL, "mp4", path);
    if (err < 0 || !w.oc) {
        st = vg_fail(VG_ERR_UNSUPPORTED, "%s: avformat_alloc_output_context2 (mp4): %s", path,
                     vg_ffmpeg_reason(err < 0 ? err : AVERROR_MUXER_NOT_FOUND, why, sizeof why));
        goto done;
    }
    uint8_t *iobuf = vg_ff.av_malloc(AVIO_BUF);
    if (iobuf && !(w.io = vg_ff.avio_alloc_context(iobuf, AVIO_BUF, 1, &w.mem, NULL, mem_write, mem_seek))) vg_ff.av_free(iobuf);
    w.frame = vg_ff.av_frame_alloc();
    w.pkt = vg_ff.av_packet_alloc();
    w.padded = calloc((size_t)Hp + 1, (size_t)padded_stride(Wp));
    if (!w.io || !w.frame || !w.pkt || !w.padded) {
        st = vg_fail(VG_ERR_NOMEM, "%s: out of memory for the encoder", path);
        goto done;
    }
    w.oc->pb = w.io;
    w.oc->flags |= AVFMT_FLAG_CUSTOM_IO;
    if ((st = open_encoder(&w, path, Hp, Wp, rate, o.crf)) != VG_OK) goto done;
    if (!(w.st = vg_ff.avformat_new_stream(w.oc, NULL))) {
        st = vg_fail(VG_ERR_NOMEM, "%s: avformat_new_stream: out of memory", path);
        goto done;
    }
    w.st->time_base = w.enc->time_base;
    w.st->avg_frame_rate = rate;
    if ((err = vg_ff.avcodec_parameters_from_context(w.st->codecpar, w.enc)) < 0) {
        st = vg_fail(VG_ERR_NOMEM, "%s: avcodec_parameters_from_context: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
        goto done;
    }
    if ((err = vg_ff.avformat_write_header(w.oc, NULL)) < 0) {
        st = vg_fail(VG_ERR_FORMAT, "%s: avformat_write_header: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
        goto done;
    }
    w.frame->format = AV_PIX_FMT_YUV420P;
    w.frame->width = Wp;
    w.frame->height = Hp;
    if ((err = vg_ff.av_frame_get_buffer(w.frame, 0)) < 0) {
        st = vg_fail(VG_ERR_NOMEM, "%s: av_frame_get_buffer: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
        goto done;
    }
    w.sws = vg_ff.sws_getContext(Wp, Hp, AV_PIX_FMT_RGB24, Wp, Hp, AV_PIX_FMT_YUV420P,
                           SWS_AREA | SWS_ACCURATE_RND, NULL, NULL, NULL);
    if (!w.sws) {
        st = vg_fail(VG_ERR_UNSUPPORTED, "%s: sws_getContext: cannot convert RGB to yuv420p at %dx%d", path, Wp, Hp);
        goto done;
    }
    /* RGB full range in, BT.601 limited range out (matches the stream's tags).
     * Area-averaged chroma: of swscale's filters it gave the smallest round-trip
     * error through decoders that upsample chroma the standard way (flat
     * colours 0.8/255 mean, against 1.5 for bicubic, 1.8 for bilinear). */
    vg_ff.sws_setColorspaceDetails(w.sws, vg_ff.sws_getCoefficients(SWS_CS_ITU601), 1, vg_ff.sws_getCoefficients(SWS_CS_ITU601), 0, 0,
                             1 << 16, 1 << 16);
    const size_t frame_bytes = (size_t)H * W * 3;
    for (int t = 0; t < T && st == VG_OK; t++) {
        if ((err = vg_ff.av_frame_make_writable(w.frame)) < 0) {
            st = vg_fail(VG_ERR_NOMEM, "%s: av_frame_make_writable: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
            break;
        }
        pad_frame(w.padded, rgb + (size_t)t * frame_bytes, H, W, Hp, Wp);
        const uint8_t *src[1] = {w.padded};
        const int stride[1] = {padded_stride(Wp)};
        vg_ff.sws_scale(w.sws, src, stride, 0, Hp, w.frame->data, w.frame->linesize);
        w.frame->pts = t;
        st = encode(&w, path, w.frame);
    }
    if (st == VG_OK) st = encode(&w, path, NULL);
    if (st == VG_OK && (err = vg_ff.av_write_trailer(w.oc)) < 0)
        st = vg_fail(VG_ERR_FORMAT, "%s: av_write_trailer: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
    if (st == VG_OK) {
        vg_ff.avio_flush(w.io);
        if (w.mem.oom || w.io->error < 0)
            st = vg_fail(VG_ERR_NOMEM, "%s: out of memory while muxing", path);
    }
    if (st == VG_OK) st = vg_file_write_atomic(path, w.mem.data, (size_t)w.mem.len);
done:
    writer_free(&w);
    return st;
}

vg_status vg_mp4_write(const char *path, const uint8_t *rgb, int T, int H, int W, double fps) {
    vg_mp4_opts o = vg_mp4_opts_default();
    o.fps = fps;
    return vg_mp4_write_opts(path, rgb, T, H, W, &o);
}
