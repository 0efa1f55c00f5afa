/* Thread-local last-error message and status names. */
#include "core/status.h"

#include <stdarg.h>
#include <string.h>

static _Thread_local char last_error[1024];

vg_status vg_fail(vg_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

void vg_clear_error(void) { last_error[0] = '\0'; }

const char *vg_last_error(void) { return last_error; }

const char *vg_status_name(vg_status s) {
    static const char *names[VG_ERR_COUNT] = {
        [VG_OK] = "ok",
        [VG_ERR_INVALID] = "invalid argument",
        [VG_ERR_NOMEM] = "out of memory",
        [VG_ERR_IO] = "i/o error",
        [VG_ERR_FORMAT] = "bad format",
        [VG_ERR_UNSUPPORTED] = "unsupported",
        [VG_ERR_NUMERIC] = "non-finite value",
        [VG_ERR_INTERRUPTED] = "interrupted",
    };
    return (s >= 0 && s < VG_ERR_COUNT) ? names[s] : "unknown status";
}
