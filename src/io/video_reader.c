/* video_reader.c — the video reader (video_reader.h): open and check a file,
 * list its frames' timestamps, seek + decode forward, identify frames by
 * timestamp, crop and scale to RGB. Frame numbering, seeking and resizing
 * rules are documented in the header; this file owns the FFmpeg plumbing. */
#include <errno.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/checked.h"
#include "core/status.h"
#include "io/ffmpeg_lib.h"
#include "io/rgb_convert.h"
#include "io/video_reader.h"

/* Seek back this many frames before the first wanted one: the demuxer's
 * index may hold decode timestamps, which run ahead of presentation ones by
 * the B-frame delay. */
#define SEEK_MARGIN 8
/* Decode forward instead of seeking when the wanted frame is this close. */
#define FORWARD_LIMIT 48

struct vg_video_index {
    int64_t n;    /* frames */
    int64_t *pts; /* (n) sorted presentation timestamps, or NULL: no usable
                     timestamps, frames are counted while decoding */
};

struct vg_video {
    char *path;
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int si;  /* the video stream */
    AVPacket *pkt;
    AVFrame *frame;
    int draining; /* the decoder has been sent the end of the stream */
    char read_err[AV_ERROR_MAX_STRING_SIZE]; /* why demuxing stopped early, if it did */
    /* where decoding stands: the next frame out of the decoder is frame
     * `next` if pos_valid */
    int pos_valid;
    int64_t next;
    int can_seek;
    const vg_video_index *idx;
    vg_video_index *own_idx;
    vg_video_desc desc;
    char codec[32], format[64];
    vg_rgb_converter conv;
};

static void close_demux(vg_video *v) {
    vg_ff.avcodec_free_context(&v->dec);
    vg_ff.avformat_close_input(&v->fmt);
    v->draining = 0;
    v->pos_valid = 0;
    v->read_err[0] = 0;
}

/* Opens the container and the video decoder; decoding starts at frame 0. */
static vg_status open_demux(vg_video *v) {
    const char *path = v->path;
    char why[AV_ERROR_MAX_STRING_SIZE];
    int err = vg_ff.avformat_open_input(&v->fmt, path, NULL, NULL);
    if (err < 0)
        return vg_fail(err == AVERROR(ENOENT) ? VG_ERR_IO : VG_ERR_FORMAT,
                       "%s: not a video FFmpeg can read (avformat_open_input: %s)", path, vg_ffmpeg_reason(err, why, sizeof why));
    /* a picture under a video's name (x.mp4 that is a PNG) is not a video */
    const char *iname = v->fmt->iformat->name;
    size_t il = strlen(iname);
    if (strcmp(iname, "image2") == 0 || (il > 5 && strcmp(iname + il - 5, "_pipe") == 0))
        return vg_fail(VG_ERR_FORMAT, "%s: a still image (%s), not a video", path, iname);
    if ((err = vg_ff.avformat_find_stream_info(v->fmt, NULL)) < 0)
        return vg_fail(VG_ERR_FORMAT, "%s: cannot read the stream layout (avformat_find_stream_info: %s)", path,
                       vg_ffmpeg_reason(err, why, sizeof why));
    const AVCodec *codec = NULL;
    int si = vg_ff.av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (si == AVERROR_STREAM_NOT_FOUND) return vg_fail(VG_ERR_FORMAT, "%s: no video stream", path);
    if (si == AVERROR_DECODER_NOT_FOUND || (si >= 0 && !codec)) {
        /* report the stream's codec even though there is no decoder */
        int any = vg_ff.av_find_best_stream(v->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
        const char *name = any >= 0 ? vg_ff.avcodec_get_name(v->fmt->streams[any]->codecpar->codec_id) : "unknown";
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: video codec '%s' is not supported by this FFmpeg build (no decoder)", path,
                       name);
    }
    if (si < 0) return vg_fail(VG_ERR_FORMAT, "%s: av_find_best_stream: %s", path, vg_ffmpeg_reason(si, why, sizeof why));
    v->si = si;
    for (unsigned i = 0; i < v->fmt->nb_streams; i++)
        if ((int)i != si) v->fmt->streams[i]->discard = AVDISCARD_ALL;
    AVStream *st = v->fmt->streams[si];
    if (!(v->dec = vg_ff.avcodec_alloc_context3(codec)))
        return vg_fail(VG_ERR_NOMEM, "%s: avcodec_alloc_context3: out of memory", path);
    if ((err = vg_ff.avcodec_parameters_to_context(v->dec, st->codecpar)) < 0)
        return vg_fail(VG_ERR_FORMAT, "%s: avcodec_parameters_to_context: %s", path, vg_ffmpeg_reason(err, why, sizeof why));
    v->dec->pkt_timebase = st->time_base;
    v->dec->thread_count = 1; /* callers parallelise over clips */
    if ((err = vg_ff.avcodec_open2(v->dec, codec, NULL)) < 0)
        return vg_fail(VG_ERR_UNSUPPORTED, "%s: cannot open the %s decoder (avcodec_open2: %s)", path, codec->name,
                       vg_ffmpeg_reason(err, why, sizeof why));
    if (v->dec->width <= 0 || v->dec->height <= 0)
        return vg_fail(VG_ERR_FORMAT, "%s: video stream has no frame size", path);
    v->pos_valid = 1;
    v->next = 0;
    v->draining = 0;
    return VG_OK;
}

/* Back to frame 0 by opening the file again: works for every container,
 * including those that cannot seek. */
static vg_status rewind_video(vg_video *v) {
    close_demux(v);
    return open_demux(v);
}

/* The next decoded frame into v->frame: 1, 0 at the end of the stream, or a
 * negative FFmpeg error (decoder failure; *why says which call). */
static int decode_next(vg_video *v, const char **call) {
    for (;;) {
        int err = vg_ff.avcodec_receive_frame(v->dec, v->frame);
        if (err == 0) return 1;
        if (err == AVERROR_EOF) return 0;
        if (err != AVERROR(EAGAIN)) {
            *call = "avcodec_receive_frame";
            return err;
        }
        if (v->draining) return 0;
        err = vg_ff.av_read_frame(v->fmt, v->pkt);
        if (err < 0) {
            if (err != AVERROR_EOF) vg_ffmpeg_reason(err, v->read_err, sizeof v->read_err);
            v->draining = 1;
            err = vg_ff.avcodec_send_packet(v->dec, NULL);
            if (err < 0 && err != AVERROR_EOF) {
                *call = "avcodec_send_packet";
                return err;
            }
            continue;
        }
        if (v->pkt->stream_index != v->si || (v->pkt->flags & AV_PKT_FLAG_CORRUPT)) {
            vg_ff.av_packet_unref(v->pkt);
            continue;
        }
        err = vg_ff.avcodec_send_packet(v->dec, v->pkt);
        vg_ff.av_packet_unref(v->pkt);
        if (err < 0 && err != AVERROR(EAGAIN)) {
            *call = "avcodec_send_packet";
            return err;
        }
    }
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the frames' timestamps by demuxing the whole file (no decoding);
 * without usable timestamps, counts frames by decoding. Leaves decoding at
 * frame 0. */
static vg_status scan_frames(vg_video *v) {
    vg_video_index *ix = calloc(1, sizeof *ix);
    if (!ix) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", v->path);
    v->own_idx = ix;
    v->idx = ix;
    int64_t cap = 0;
    int usable = 1;
    while (vg_ff.av_read_frame(v->fmt, v->pkt) >= 0) {
        const AVPacket *p = v->pkt;
        if (p->stream_index == v->si && !(p->flags & (AV_PKT_FLAG_DISCARD | AV_PKT_FLAG_CORRUPT))) {
            if (p->pts == AV_NOPTS_VALUE) usable = 0;
            if (ix->n == cap) {
                int64_t *q = realloc(ix->pts, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *q);
                if (!q) {
                    vg_ff.av_packet_unref(v->pkt);
                    return vg_fail(VG_ERR_NOMEM, "%s: out of memory listing frames", v->path);
                }
                ix->pts = q;
            }
            ix->pts[ix->n++] = p->pts;
        }
        vg_ff.av_packet_unref(v->pkt);
    }
    if (usable && ix->n > 0) {
        qsort(ix->pts, (size_t)ix->n, sizeof *ix->pts, cmp_i64);
        for (int64_t i = 1; i < ix->n; i++)
            if (ix->pts[i] == ix->pts[i - 1]) usable = 0;
    }
    vg_status st = rewind_video(v);
    if (st != VG_OK) return st;
    if (!usable || ix->n == 0) {
        /* count by decoding; a decoder error ends the count (truncated file) */
        free(ix->pts);
        ix->pts = NULL;
        ix->n = 0;
        const char *call;
        while (decode_next(v, &call) > 0) ix->n++;
        if ((st = rewind_video(v)) != VG_OK) return st;
    }
    if (ix->n == 0) return vg_fail(VG_ERR_FORMAT, "%s: no decodable video frames", v->path);
    return VG_OK;
}

static vg_status video_open(vg_video **out, const char *path, const vg_video_index *index) {
    if (!out) return vg_fail(VG_ERR_INVALID, "vg_video_open: out is NULL");
    *out = NULL;
    if (!path || !*path) return vg_fail(VG_ERR_INVALID, "vg_video_open: no path");
    if (vg_ffmpeg_load_for(path) != VG_OK) return VG_ERR_UNSUPPORTED;
    /* the common failures, with plain reasons before FFmpeg sees the file */
    struct stat sb;
    if (stat(path, &sb) != 0) return vg_fail(VG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode)) return vg_fail(VG_ERR_IO, "%s: is a directory, not a video file", path);
    if (!S_ISREG(sb.st_mode)) return vg_fail(VG_ERR_IO, "%s: not a regular file", path);
    if (access(path, R_OK) != 0) return vg_fail(VG_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (sb.st_size == 0) return vg_fail(VG_ERR_FORMAT, "%s: empty file (0 bytes), not a video", path);

    vg_video *v = calloc(1, sizeof *v);
    if (!v || !(v->path = strdup(path)) || !(v->pkt = vg_ff.av_packet_alloc()) || !(v->frame = vg_ff.av_frame_alloc())) {
        vg_video_close(v);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    }
    vg_status st = open_demux(v);
    if (st == VG_OK) {
        if (index)
            v->idx = index;
        else
            st = scan_frames(v);
    }
    if (st != VG_OK) {
        vg_video_close(v);
        return st;
    }
    const AVStream *s = v->fmt->streams[v->si];
    enum AVCodecID id = s->codecpar->codec_id;
    v->can_seek = v->idx->pts && id != AV_CODEC_ID_GIF && id != AV_CODEC_ID_APNG && id != AV_CODEC_ID_WEBP &&
                  v->fmt->pb && (v->fmt->pb->seekable & AVIO_SEEKABLE_NORMAL);
    AVRational r = s->avg_frame_rate.num > 0 && s->avg_frame_rate.den > 0 ? s->avg_frame_rate : s->r_frame_rate;
    v->desc.fps = r.num > 0 && r.den > 0 ? av_q2d(r) : 0;
    v->desc.width = v->dec->width;
    v->desc.height = v->dec->height;
    v->desc.frames = v->idx->n;
    v->desc.duration = v->desc.fps > 0 ? (double)v->desc.frames / v->desc.fps : 0;
    snprintf(v->codec, sizeof v->codec, "%s", v->dec->codec->name);
    snprintf(v->format, sizeof v->format, "%s", v->fmt->iformat->name);
    v->desc.codec = v->codec;
    v->desc.format = v->format;
    *out = v;
    return VG_OK;
}

vg_status vg_video_open(vg_video **out, const char *path) { return video_open(out, path, NULL); }

vg_status vg_video_open_indexed(vg_video **out, const char *path, const vg_video_index *index) {
    if (!index) return vg_fail(VG_ERR_INVALID, "vg_video_open_indexed: index is NULL");
    return video_open(out, path, index);
}

void vg_video_close(vg_video *v) {
    if (!v) return;
    close_demux(v);
    vg_ff.av_packet_free(&v->pkt);
    vg_ff.av_frame_free(&v->frame);
    vg_rgb_converter_free(&v->conv);
    vg_video_index_free(v->own_idx);
    free(v->path);
    free(v);
}

vg_status vg_video_info(const vg_video *v, vg_video_desc *out) {
    if (!v || !out) return vg_fail(VG_ERR_INVALID, "vg_video_info: NULL argument");
    *out = v->desc;
    return VG_OK;
}

vg_video_index *vg_video_index_copy(const vg_video *v) {
    vg_video_index *c = calloc(1, sizeof *c);
    if (c && v->idx->pts && !(c->pts = malloc((size_t)v->idx->n * sizeof *c->pts))) {
        free(c);
        c = NULL;
    }
    if (!c) {
        vg_fail(VG_ERR_NOMEM, "%s: out of memory copying the frame list", v->path);
        return NULL;
    }
    c->n = v->idx->n;
    if (c->pts) memcpy(c->pts, v->idx->pts, (size_t)c->n * sizeof *c->pts);
    return c;
}

void vg_video_index_free(vg_video_index *index) {
    if (!index) return;
    free(index->pts);
    free(index);
}

/* Frame number of v->frame from its timestamp, or -1 if unknown. */
static int64_t frame_number(const vg_video *v) {
    const vg_video_index *ix = v->idx;
    int64_t ts = v->frame->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) ts = v->frame->pts;
    if (ix->pts && ts != AV_NOPTS_VALUE) {
        int64_t lo = 0, hi = ix->n - 1;
        while (lo <= hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (ix->pts[mid] == ts) return mid;
            if (ix->pts[mid] < ts) lo = mid + 1;
            else hi = mid - 1;
        }
    }
    return v->pos_valid ? v->next : -1;
}

/* v->frame -> out (OH, OW, 3): fitted as fit says (NULL: native size). */
static vg_status convert(vg_video *v, int64_t number, uint8_t *out, int OH, int OW, const vg_frame_fit *fit) {
    char what[4200];
    snprintf(what, sizeof what, "%s: frame %lld", v->path, (long long)number);
    return vg_rgb_convert(&v->conv, v->frame, out, OH, OW, fit, what);
}

/* Puts decoding before frame `target`: forward from where it is when close,
 * otherwise a seek (or a restart for files that cannot seek). */
static vg_status position(vg_video *v, int64_t target) {
    if (v->pos_valid && v->next <= target && (target - v->next < FORWARD_LIMIT || !v->can_seek)) return VG_OK;
    if (!v->can_seek) return rewind_video(v);
    int64_t from = target > SEEK_MARGIN ? target - SEEK_MARGIN : 0;
    if (from == 0) return rewind_video(v);
    if (vg_ff.av_seek_frame(v->fmt, v->si, v->idx->pts[from], AVSEEK_FLAG_BACKWARD) < 0) return rewind_video(v);
    vg_ff.avcodec_flush_buffers(v->dec);
    v->draining = 0;
    v->pos_valid = 0;
    return VG_OK;
}

/* Frame k of a clip: list[k], or start + k * stride without a list. */
static int64_t wanted(int64_t start, int stride, const int64_t *list, int k) {
    return list ? list[k] : start + (int64_t)k * stride;
}

/* The decode loop of vg_video_read_clip and vg_video_read_frames: frames
 * wanted(k) for k < T, non-decreasing and already checked against the
 * frame count; a frame wanted twice in a row is decoded once and copied. */
static vg_status read_frames(vg_video *v, int64_t start, int stride, const int64_t *list, int T, int size,
                             const vg_frame_fit *fit, uint8_t *out) {
    if (size > 16384) return vg_fail(VG_ERR_INVALID, "%s: size %d: expected at most 16384", v->path, size);
    static const vg_frame_fit centre = {VG_FIT_CENTRE, 0, 0};
    if (size > 0 && !fit) fit = &centre;
    if (size <= 0) fit = NULL;
    start = wanted(start, stride, list, 0);
    const int OH = size > 0 ? size : v->desc.height, OW = size > 0 ? size : v->desc.width;
    const size_t frame_bytes = (size_t)OH * OW * 3;
    vg_status st = position(v, start);
    int restarted = 0;
    int k = 0;
    while (st == VG_OK && k < T) {
        const int64_t want = wanted(start, stride, list, k);
        const char *call = "";
        int r = decode_next(v, &call);
        if (r < 0) {
            char why[AV_ERROR_MAX_STRING_SIZE];
            st = vg_fail(VG_ERR_FORMAT, "%s: frame %lld: decoder error (%s: %s)", v->path, (long long)want, call,
                         vg_ffmpeg_reason(r, why, sizeof why));
            break;
        }
        if (r == 0) {
            st = vg_fail(VG_ERR_FORMAT, "%s: frame %lld: missing, the stream ends before it (%s)", v->path, (long long)want,
                         v->read_err[0] ? v->read_err : "truncated or damaged file?");
            break;
        }
        int64_t num = frame_number(v);
        if (num < 0 || num > want) {
            /* after a seek: landed too late or cannot tell; start over once */
            if (!v->pos_valid && !restarted) {
                restarted = 1;
                st = rewind_video(v);
                continue;
            }
            st = vg_fail(VG_ERR_FORMAT, "%s: frame %lld: could not be decoded (the decoder skipped it)", v->path,
                         (long long)want);
            break;
        }
        v->pos_valid = 1;
        v->next = num + 1;
        if (num == want) {
            st = convert(v, num, out + (size_t)k * frame_bytes, OH, OW, fit);
            for (k++; st == VG_OK && k < T && wanted(start, stride, list, k) == num; k++) /* the same frame again */
                memcpy(out + (size_t)k * frame_bytes, out + (size_t)(k - 1) * frame_bytes, frame_bytes);
        }
        vg_ff.av_frame_unref(v->frame);
    }
    vg_ff.av_frame_unref(v->frame);
    if (st != VG_OK) v->pos_valid = 0; /* next read repositions from scratch */
    return st;
}

vg_status vg_video_read_clip(vg_video *v, int64_t start, int T, int stride, int size, uint8_t *out) {
    if (!v || !out) return vg_fail(VG_ERR_INVALID, "vg_video_read_clip: NULL argument");
    int64_t span, last;
    if (T < 1 || stride < 1 || start < 0 || !vg_mul_ok(T - 1, stride, &span) || !vg_add_ok(start, span, &last))
        return vg_fail(VG_ERR_INVALID, "%s: clip of %d frames from frame %lld with stride %d: expected T >= 1, stride >= 1, start >= 0",
                       v->path, T, (long long)start, stride);
    if (last >= v->idx->n)
        return vg_fail(VG_ERR_INVALID, "%s: clip of %d frames from frame %lld with stride %d needs frame %lld, but the video has %lld frames",
                       v->path, T, (long long)start, stride, (long long)last, (long long)v->idx->n);
    return read_frames(v, start, stride, NULL, T, size, NULL, out);
}

vg_status vg_video_read_frames(vg_video *v, const int64_t *frames, int T, int size, const vg_frame_fit *fit, uint8_t *out) {
    if (!v || !out || !frames) return vg_fail(VG_ERR_INVALID, "vg_video_read_frames: NULL argument");
    if (T < 1) return vg_fail(VG_ERR_INVALID, "%s: clip of %d frames: expected T >= 1", v->path, T);
    for (int k = 0; k < T; k++) {
        if (frames[k] < 0 || (k > 0 && frames[k] < frames[k - 1]))
            return vg_fail(VG_ERR_INVALID, "%s: clip frame %d is frame %lld: expected frame numbers >= 0 in non-decreasing order",
                           v->path, k, (long long)frames[k]);
        if (frames[k] >= v->idx->n)
            return vg_fail(VG_ERR_INVALID, "%s: clip frame %d is frame %lld, but the video has %lld frames", v->path, k,
                           (long long)frames[k], (long long)v->idx->n);
    }
    return read_frames(v, 0, 1, frames, T, size, fit, out);
}
