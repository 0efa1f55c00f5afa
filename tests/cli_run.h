/* cli_run.h — running the vidgan binary from a test, as a user would: the
 * binary of the same build as the test (<build>/tests/test_x ->
 * <build>/vidgan, so the sanitizer build checks the sanitized CLI), a
 * scratch folder, shell commands with their output captured, a look
 * into that output, and a tensor-by-tensor comparison of two checkpoints. Header-only; include after test.h. */
#ifndef VG_TEST_CLI_RUN_H
#define VG_TEST_CLI_RUN_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io/safetensors.h"

static char vidgan[512], tmp[256];

/* Finds the binary from argv[0] and makes the scratch folder; 0 on failure. */
static inline int cli_setup(const char *argv0, const char *name) {
    const char *slash = strrchr(argv0, '/');
    int dir_len = slash ? (int)(slash - argv0) : 0;
    snprintf(vidgan, sizeof vidgan, "%.*s/../vidgan", dir_len, slash ? argv0 : ".");
    snprintf(tmp, sizeof tmp, "/tmp/vidgan_%s_XXXXXX", name);
    return mkdtemp(tmp) != NULL;
}

/* Runs a shell command; returns its exit status (or 128 + signal). Its
 * output goes to tmp/out.txt. */
static inline int run(const char *fmt, ...) {
    char cmd[2048], full[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    snprintf(full, sizeof full, "(%s) > %s/out.txt 2>&1", cmd, tmp);
    int rc = system(full);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

/* How many times the last command's output (its first 16 KiB) contains
 * needle. */
static inline int output_count(const char *needle) {
    char path[300], buf[16384];
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    int c = 0;
    for (const char *p = buf; (p = strstr(p, needle)); p++) c++;
    return c;
}

/* 1 if the last command's output contains needle. */
static inline int output_has(const char *needle) { return output_count(needle) > 0; }

/* 1 if every tensor of a and b is byte-identical (metadata may differ). */
static inline int same_tensors(const char *a, const char *b) {
    vg_st_file *fa, *fb;
    if (vg_st_open(&fa, a) != VG_OK) return 0;
    if (vg_st_open(&fb, b) != VG_OK) {
        vg_st_close(fa);
        return 0;
    }
    int same = vg_st_count(fa) == vg_st_count(fb) && vg_st_count(fa) > 0;
    for (int i = 0; same && i < vg_st_count(fa); i++) {
        int j = vg_st_find(fb, vg_st_name(fa, i));
        same = j >= 0 && vg_st_nbytes(fa, i) == vg_st_nbytes(fb, j) &&
               memcmp(vg_st_data(fa, i), vg_st_data(fb, j), vg_st_nbytes(fa, i)) == 0;
        if (!same) fprintf(stderr, "  tensor %s differs\n", vg_st_name(fa, i));
    }
    vg_st_close(fa);
    vg_st_close(fb);
    return same;
}

#endif
