/* av_log.h — keeps FFmpeg quiet inside vidgan (the library never prints):
 * FFmpeg's global log level is set to AV_LOG_QUIET the first time a vidgan
 * reader or writer runs, unless VIDGAN_FFMPEG_LOG is set in the environment
 * (for debugging a file FFmpeg dislikes). Errors reach callers through
 * vg_last_error() with FFmpeg's reason text. Internal to src/io. */
#ifndef VG_IO_AV_LOG_H
#define VG_IO_AV_LOG_H

#include <libavutil/log.h>
#include <pthread.h>
#include <stdlib.h>

static void vg_av_log_init_once(void) {
    if (!getenv("VIDGAN_FFMPEG_LOG")) av_log_set_level(AV_LOG_QUIET);
}

static inline void vg_av_log_init(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, vg_av_log_init_once);
}

#endif
