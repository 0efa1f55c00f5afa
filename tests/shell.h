/* shell.h — for tests that make their data with outside programs (ffmpeg,
 * ffprobe): sh() runs a printf-formatted command and returns its exit
 * status; sh_capture() keeps a command's text output, sh_read_exact() its
 * binary output of a known size; P() names a file inside the test's scratch
 * folder `tmp` (each test fills tmp with mkdtemp first). Header-only;
 * include after test.h. */
#ifndef VG_TEST_SHELL_H
#define VG_TEST_SHELL_H

#include <stdarg.h>
#include <stdint.h>
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

/* cmd's standard output, NUL-terminated, into out (at most cap - 1 bytes);
 * returns the exit status (-1 if it could not run). */
static inline int sh_capture(const char *cmd, char *out, size_t cap) {
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* cmd's standard output if it is exactly want bytes and cmd exits 0 (a
 * malloc'd buffer to free), else NULL. */
static inline uint8_t *sh_read_exact(const char *cmd, size_t want) {
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    uint8_t *b = malloc(want + 1);
    size_t n = b ? fread(b, 1, want + 1, p) : 0;
    int st = pclose(p);
    if (!b || n != want || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        free(b);
        return NULL;
    }
    return b;
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
