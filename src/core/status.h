/* Errors: status codes with a thread-local message (stb's failure_reason,
 * ggml's two tiers). vg_fail() records why something the world handed us is
 * wrong; VG_ASSERT() stops on programmer errors with file:line. */
#ifndef VG_STATUS_H
#define VG_STATUS_H

#include <stdio.h>
#include <stdlib.h>
#include "vidgan.h"

/* Record a failure (printf-style message) and return s, so callers can
 * write `return vg_fail(VG_ERR_FORMAT, "%s: bad header", path);`. */
vg_status vg_fail(vg_status s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void vg_clear_error(void);

/* An invariant the library itself guarantees; failing it is a bug in vidgan. */
#define VG_ASSERT(cond)                                                                    \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "vidgan: internal error at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#endif
