/* ffmpeg_lib.c — loads FFmpeg's four libraries on first use and resolves
 * the functions vidgan calls (see ffmpeg_lib.h). */
#include "io/ffmpeg_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

enum { VG_AVUTIL, VG_SWSCALE, VG_AVCODEC, VG_AVFORMAT, VG_FFMPEG_LIBS };

#define VG_STRINGIFY_(x) #x
#define VG_STRINGIFY(x) VG_STRINGIFY_(x)

/* the sonames of the versions compiled against: the ABI the calls assume */
static const char *const sonames[VG_FFMPEG_LIBS] = {
    "libavutil.so." VG_STRINGIFY(LIBAVUTIL_VERSION_MAJOR),
    "libswscale.so." VG_STRINGIFY(LIBSWSCALE_VERSION_MAJOR),
    "libavcodec.so." VG_STRINGIFY(LIBAVCODEC_VERSION_MAJOR),
    "libavformat.so." VG_STRINGIFY(LIBAVFORMAT_VERSION_MAJOR),
};

vg_ffmpeg_api vg_ff;

static pthread_once_t load_once_flag = PTHREAD_ONCE_INIT;
static int loaded;
static char load_error[512]; /* why not, when not */

/* dlsym's object pointer into a function pointer member, without the cast
 * ISO C leaves undefined */
static int resolve(void *lib, int which, const char *name, void *member) {
    void *p = dlsym(lib, name);
    if (!p) {
        snprintf(load_error, sizeof load_error, "video I/O: %s has no function %s (an FFmpeg build vidgan cannot use)",
                 sonames[which], name);
        return 0;
    }
    memcpy(member, &p, sizeof p);
    return 1;
}

static void load_once(void) {
    void *lib[VG_FFMPEG_LIBS];
    for (int i = 0; i < VG_FFMPEG_LIBS; i++) {
        /* libraries stay loaded for the life of the process */
        if (!(lib[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL))) {
            const char *why = dlerror();
            snprintf(load_error, sizeof load_error,
                     "video I/O needs FFmpeg's %s (Debian: the FFmpeg library packages), which did not load: %s",
                     sonames[i], why ? why : "unknown reason");
            return;
        }
    }
#define VG_FFMPEG_RESOLVE(which, fn) \
    if (!resolve(lib[which], which, #fn, &vg_ff.fn)) return;
    VG_FFMPEG_FUNCTIONS(VG_FFMPEG_RESOLVE)
#undef VG_FFMPEG_RESOLVE
    if (!getenv("VIDGAN_FFMPEG_LOG")) vg_ff.av_log_set_level(AV_LOG_QUIET);
    loaded = 1;
}

vg_status vg_ffmpeg_load_for(const char *what) {
    pthread_once(&load_once_flag, load_once);
    return loaded ? VG_OK : vg_fail(VG_ERR_UNSUPPORTED, "%s: %s", what, load_error);
}

const char *vg_ffmpeg_reason(int err, char *buf, size_t n) {
    vg_ff.av_strerror(err, buf, n);
    return buf;
}
