/* shell.h — for tests that make their data with outside programs (ffmpeg,
 * ffprobe): sh() runs a printf-formatted command and returns its exit
 * status; P() names a file inside the test's scratch folder `tmp` (each
 * test fills tmp with mkdtemp first). Header-only; include after test.h. */
#ifndef VG_TEST_SHELL_H
#define VG_TEST_SHELL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

static char tmp[256];

static inline int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline int sh(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* tmp/name in one of 8 rotating buffers (valid for 8 calls). */
static inline const char *P(const char *name) {
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp, name);
    return b;
}

#endif
