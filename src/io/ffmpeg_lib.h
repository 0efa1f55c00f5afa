/* ffmpeg_lib.h — FFmpeg's libraries, loaded when video I/O first needs them
 * (internal to src/io). vidgan does not link libavformat, libavcodec,
 * libswscale and libavutil: with their dependencies they are about a
 * hundred shared objects and ~25 MiB of resident memory in every process
 * at start, and most vidgan processes never decode or encode a frame
 * (training on the built-in data sets, writing GIFs). vg_ffmpeg_load_for()
 * dlopens the four libraries of the major versions vidgan was compiled
 * against, resolves the functions below into vg_ff, and sets FFmpeg's
 * global log level to quiet (the library never prints) unless
 * VIDGAN_FFMPEG_LOG is set in the environment (for debugging a file FFmpeg
 * dislikes). Every entry point of src/io that reaches FFmpeg calls it
 * first; errors reach callers through vg_last_error() with FFmpeg's reason
 * text (vg_ffmpeg_reason). */
#ifndef VG_IO_FFMPEG_LIB_H
#define VG_IO_FFMPEG_LIB_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#include <stddef.h>

#include "vidgan.h"

/* (library, function): every FFmpeg function vidgan calls */
#define VG_FFMPEG_FUNCTIONS(X)                                                                                         \
    X(VG_AVUTIL, av_d2q)                                                                                               \
    X(VG_AVUTIL, av_dict_free)                                                                                         \
    X(VG_AVUTIL, av_dict_set)                                                                                          \
    X(VG_AVUTIL, av_frame_alloc)                                                                                       \
    X(VG_AVUTIL, av_frame_apply_cropping)                                                                              \
    X(VG_AVUTIL, av_frame_free)                                                                                        \
    X(VG_AVUTIL, av_frame_get_buffer)                                                                                  \
    X(VG_AVUTIL, av_frame_make_writable)                                                                               \
    X(VG_AVUTIL, av_frame_unref)                                                                                       \
    X(VG_AVUTIL, av_free)                                                                                              \
    X(VG_AVUTIL, av_freep)                                                                                             \
    X(VG_AVUTIL, av_log_set_level)                                                                                     \
    X(VG_AVUTIL, av_malloc)                                                                                            \
    X(VG_AVUTIL, av_pix_fmt_desc_get)                                                                                  \
    X(VG_AVUTIL, av_strerror)                                                                                          \
    X(VG_SWSCALE, sws_freeContext)                                                                                     \
    X(VG_SWSCALE, sws_getCachedContext)                                                                                \
    X(VG_SWSCALE, sws_getCoefficients)                                                                                 \
    X(VG_SWSCALE, sws_getContext)                                                                                      \
    X(VG_SWSCALE, sws_scale)                                                                                           \
    X(VG_SWSCALE, sws_setColorspaceDetails)                                                                            \
    X(VG_AVCODEC, av_packet_alloc)                                                                                     \
    X(VG_AVCODEC, av_packet_free)                                                                                      \
    X(VG_AVCODEC, av_packet_rescale_ts)                                                                                \
    X(VG_AVCODEC, av_packet_unref)                                                                                     \
    X(VG_AVCODEC, avcodec_alloc_context3)                                                                              \
    X(VG_AVCODEC, avcodec_find_decoder)                                                                                \
    X(VG_AVCODEC, avcodec_find_encoder)                                                                                \
    X(VG_AVCODEC, avcodec_find_encoder_by_name)                                                                        \
    X(VG_AVCODEC, avcodec_flush_buffers)                                                                               \
    X(VG_AVCODEC, avcodec_free_context)                                                                                \
    X(VG_AVCODEC, avcodec_get_name)                                                                                    \
    X(VG_AVCODEC, avcodec_open2)                                                                                       \
    X(VG_AVCODEC, avcodec_parameters_from_context)                                                                     \
    X(VG_AVCODEC, avcodec_parameters_to_context)                                                                       \
    X(VG_AVCODEC, avcodec_receive_frame)                                                                               \
    X(VG_AVCODEC, avcodec_receive_packet)                                                                              \
    X(VG_AVCODEC, avcodec_send_frame)                                                                                  \
    X(VG_AVCODEC, avcodec_send_packet)                                                                                 \
    X(VG_AVFORMAT, av_find_best_stream)                                                                                \
    X(VG_AVFORMAT, av_interleaved_write_frame)                                                                         \
    X(VG_AVFORMAT, av_read_frame)                                                                                      \
    X(VG_AVFORMAT, av_seek_frame)                                                                                      \
    X(VG_AVFORMAT, av_write_trailer)                                                                                   \
    X(VG_AVFORMAT, avformat_alloc_output_context2)                                                                     \
    X(VG_AVFORMAT, avformat_close_input)                                                                               \
    X(VG_AVFORMAT, avformat_find_stream_info)                                                                          \
    X(VG_AVFORMAT, avformat_free_context)                                                                              \
    X(VG_AVFORMAT, avformat_new_stream)                                                                                \
    X(VG_AVFORMAT, avformat_open_input)                                                                                \
    X(VG_AVFORMAT, avformat_write_header)                                                                              \
    X(VG_AVFORMAT, avio_alloc_context)                                                                                 \
    X(VG_AVFORMAT, avio_context_free)                                                                                  \
    X(VG_AVFORMAT, avio_flush)

typedef struct vg_ffmpeg_api {
#define VG_FFMPEG_MEMBER(lib, fn) __typeof__(fn) *fn;
    VG_FFMPEG_FUNCTIONS(VG_FFMPEG_MEMBER)
#undef VG_FFMPEG_MEMBER
} vg_ffmpeg_api;

/* Valid after vg_ffmpeg_load_for() returned VG_OK. */
extern vg_ffmpeg_api vg_ff;

/* Loads FFmpeg once per process (thread-safe); VG_OK, or VG_ERR_UNSUPPORTED
 * with the library that did not load, or the function it lacks, and why,
 * after `what` (the file at hand). */
vg_status vg_ffmpeg_load_for(const char *what);

/* FFmpeg's text for an AVERROR code, into buf; returns buf. */
const char *vg_ffmpeg_reason(int err, char *buf, size_t n);

#endif
