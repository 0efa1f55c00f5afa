/* video_folder.h — a data set of real videos: every file under a directory
 * (recursively; hidden entries skipped) whose name ends in .mp4, .m4v,
 * .mov, .mkv, .webm, .avi, .gif, .mpg or .mpeg (any case), opened once at
 * vg_dataset_open to read its size, rate and frame list (in parallel).
 *
 * Select it with vg_dataset_spec.source = the directory's path, or
 * source = "folder" and path = the directory. Fields used: frames (T), size
 * (S: shorter side resized to S, centre S x S crop, or with crop random a
 * random S x S window along the longer side), channels (3, default, or
 * 1 = BT.601 luma), seed, stride (frame step inside a clip, default 1) or
 * fps (frames at a target rate, video files only), hflip, labels,
 * skip_bad.
 *
 * Classes: the sorted names of the first-level sub-folders that hold at least
 * one video file (usable or not, so a broken file never renumbers the
 * labels); label = index in that list. Videos directly in the directory form
 * one more class named "(root)", sorted with the others. A flat folder is
 * therefore one class. labels none: one class "all" for every video.
 *
 * Clip i: a pure function of (seed, i). A clip needs
 * span = (T - 1) * stride + 1 frames (with fps: span_v =
 * round((T - 1) * fps_v / fps) + 1, per video); video v offers
 * frames_v - span_v + 1 start positions, and clip i picks one of all
 * (video, start) pairs uniformly with the clip's Philox stream
 * (dataset_impl.h), so long videos give proportionally more clips. The crop
 * window and the flip come from a second stream of (seed, i)
 * (vg_clip_aug), the same for every frame of the clip. The nominal epoch is
 * the number of non-overlapping clips, sum of floor(frames_v / span_v) (at
 * least one per video); every index >= 0 is valid (desc.infinite = 1).
 *
 * Files: unreadable ones (not a video, damaged, unsupported codec, no
 * permission; with fps also a video of unknown frame rate) fail the open
 * with the file's name and reason, unless skip_bad is set, in which case
 * they are listed in the report. Videos shorter than span frames are always
 * skipped and listed. No usable video is an error.
 *
 * Frame folders (the StyleGAN-V layout): when the directory holds no video
 * file at all, every folder under it that directly holds .png / .jpg /
 * .jpeg files is one video, its frames in natural name order
 * (frame_folder.h). Classes work the same way with the frame folder in
 * place of a video file: root/<video>/ frames are one class "(root)",
 * root/<class>/<video>/ frames take their class from <class>. A frame that
 * is empty, not a PNG or JPEG, truncated or of another size than its
 * folder's first frame makes the folder unreadable (skip_bad: skipped and
 * listed with the frame's name and the reason). The report's videos are
 * then the frame folders (codec "png" / "jpeg", fps 0); they have no frame
 * rate, so fps > 0 with them is an error naming the folder.
 *
 * Threads: vg_dataset_clip may run on many threads at once; each call takes
 * an open decoder for its video from a small shared pool (a mutex guards
 * only the pool) or opens one, so no decoder is ever used by two threads. */
#ifndef VG_DATA_VIDEO_FOLDER_H
#define VG_DATA_VIDEO_FOLDER_H

#include <stdint.h>

#include "data/dataset.h"

typedef struct vg_folder_video {
    const char *path;
    int label;
    int64_t frames;
    int width, height;
    double fps;
    const char *codec;  /* frame folders: "png", "jpeg" or "png+jpeg" */
    int64_t span;       /* frames one clip covers in this video */
    double step;        /* frames between clip frames: stride, or fps / target fps */
} vg_folder_video;

typedef struct vg_folder_skip {
    const char *path;
    const char *reason;
    int too_short; /* 1: readable but shorter than a clip; 0: unreadable */
} vg_folder_skip;

typedef struct vg_folder_report {
    const char *root;
    int frame_folders;             /* 1: the layout is frame folders (videos
                                      are folders of PNG/JPEG frames) */
    int num_videos;                /* usable */
    const vg_folder_video *videos; /* sorted by path */
    int64_t total_frames;          /* of the usable videos */
    int64_t clip_span;             /* frames one clip covers; 0 with fps (then
                                      per video: videos[i].span) */
    int num_skipped, num_bad, num_short;
    const vg_folder_skip *skipped; /* num_skipped = num_bad + num_short */
} vg_folder_report;

/* What the open found; NULL (with vg_last_error set) when ds is not a
 * folder of videos. Valid until vg_dataset_close. */
const vg_folder_report *vg_video_folder_report(const vg_dataset *ds);

/* 1 if path's name ends in one of the video extensions above. */
int vg_video_folder_is_video_name(const char *path);

#endif
