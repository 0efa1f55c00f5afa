/* video_reader.h — decode video files into 8-bit RGB clips with libavformat,
 * libavcodec and libswscale: any container and codec the linked FFmpeg
 * decodes (mp4/H.264, webm/VP9, avi/MJPEG, mkv, mov, gif, mpeg, ...).
 *
 * Frames are numbered 0 .. frames-1 in presentation order. At open the file's
 * packets are read once (no decoding) to list every frame's presentation
 * timestamp; frame i is the i-th smallest. That list gives the frame count
 * and lets a clip start anywhere: seek to a keyframe a few frames before the
 * first wanted frame, decode forward, and identify every decoded frame by its
 * timestamp, so the result is exactly what a full decode from the start gives
 * at those positions, B-frames and open GOPs included. When the seek lands
 * too late, or a timestamp is unknown, the reader restarts from the beginning
 * and counts decoded frames instead. Streams without timestamps are counted
 * by decoding them once. Animated GIF / APNG / WebP frames build on the
 * previous one, so those are always decoded from the start.
 *
 * Resizing (vg_video_read_clip with size S > 0): the shorter side becomes S
 * and the centre S x S square is kept — the crop is applied to the decoded
 * frame first (an offset source rectangle, rounded down to the chroma grid)
 * and that square is scaled to S x S with swscale's area filter when
 * shrinking and bilinear when enlarging. YUV -> RGB follows the stream's
 * colour matrix and range tags (BT.601 limited range when untagged).
 *
 * A truncated file is read as far as it goes: its frame count is what can be
 * demuxed, and a clip needing a frame that cannot be decoded fails with a
 * message naming the file and the frame. Every failure (missing file,
 * directory, zero bytes, no permission, not a video, no video stream, codec
 * this FFmpeg cannot decode, decoder errors) returns a status with a message
 * that names the file and the reason. A vg_video is used by one thread at a
 * time; open one per thread (vg_video_open_indexed makes that cheap). */
#ifndef VG_IO_VIDEO_READER_H
#define VG_IO_VIDEO_READER_H

#include <stdint.h>

#include "io/frame_fit.h"
#include "vidgan.h"

typedef struct vg_video vg_video;
/* The frame list of one file; shareable read-only between threads. */
typedef struct vg_video_index vg_video_index;

typedef struct vg_video_desc {
    int width, height;  /* of the first frame, after the codec's own cropping */
    double fps;         /* avg_frame_rate, else r_frame_rate, else 0 (unknown) */
    int64_t frames;     /* frames that can be demuxed (see the note on truncation) */
    double duration;    /* seconds: frames / fps (0 if fps is unknown) */
    const char *codec;  /* decoder, e.g. "h264", "vp9", "mjpeg", "gif" */
    const char *format; /* container, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
} vg_video_desc;

/* Open path and list its frames. On failure *out is NULL. */
vg_status vg_video_open(vg_video **out, const char *path);
/* Open path reusing a frame list made earlier for the same file (no scan);
 * index must outlive the vg_video. */
vg_status vg_video_open_indexed(vg_video **out, const char *path, const vg_video_index *index);
void vg_video_close(vg_video *v);

/* Size, rate, frame count and names; valid until vg_video_close. */
vg_status vg_video_info(const vg_video *v, vg_video_desc *out);

/* Frames start, start + stride, ..., start + (T-1)*stride into out as RGB:
 * (T, S, S, 3) for size S > 0 (shorter side to S, centre crop), or
 * (T, height, width, 3) at the video's own size for size 0. */
vg_status vg_video_read_clip(vg_video *v, int64_t start_frame, int T, int stride, int size,
                             uint8_t *out /* (T, S, S, 3) */);
/* Frames frames[0], ..., frames[T-1] (non-decreasing; a frame named twice is
 * decoded once and copied) into out as RGB (T, S, S, 3) for size S > 0, the
 * square cut as fit says (io/frame_fit.h; NULL: centre crop), or at the
 * video's own size for size 0. For clips sampled at a frame rate. */
vg_status vg_video_read_frames(vg_video *v, const int64_t *frames, int T, int size, const vg_frame_fit *fit,
                               uint8_t *out /* (T, S, S, 3) */);

/* A copy of v's frame list for vg_video_open_indexed (NULL when out of
 * memory, with vg_last_error set); free with vg_video_index_free. */
vg_video_index *vg_video_index_copy(const vg_video *v);
void vg_video_index_free(vg_video_index *index);

#endif
