/* fixture.h — read PyTorch reference fixtures (tools/fixtures/common.py's
 * save_fixture) in C op tests. Header-only; include after test.h.
 *
 *     vt_fixture *fx = vt_fixture_open("tests/fixtures/conv3d.safetensors");
 *     for (int c = 0; c < vt_fixture_ncases(fx); c++) {
 *         const char *name = vt_fixture_case(fx, c);
 *         json_t *args = vt_fixture_args(fx, name);
 *         int64_t stride[3];
 *         vt_arg_ints(args, "stride", stride, 3);
 *         int ndim; int64_t shape[VG_ST_MAX_DIMS];
 *         float *x = vt_fixture_tensor(fx, name, "input", &ndim, shape);
 *         ... run the op, CHECK_CLOSE against vt_fixture_tensor(fx, name, "out", ...) ...
 *         free(x); json_decref(args);
 *     }
 *     vt_fixture_close(fx);
 *
 * Paths are relative to the repository root (tests run from there). A missing
 * or broken fixture, a missing tensor or argument is a failed test, never a
 * skip: the helpers print why, print the summary line and exit(1). Use
 * vt_fixture_has / vt_arg_has for optional entries. */
#ifndef VG_TEST_FIXTURE_H
#define VG_TEST_FIXTURE_H

#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/safetensors.h"
#include "test.h"

typedef struct vt_fixture {
    vg_st_file *st;
    int ncases;
    char **cases; /* from metadata "cases" */
} vt_fixture;

/* A setup failure: report it as a failed check and stop the test binary. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2), noreturn))
#endif
static inline void vt_fixture_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL fixture: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    vt_failed++;
    printf("%d passed, %d failed\n", vt_passed, vt_failed);
    exit(1);
}

static inline vt_fixture *vt_fixture_open(const char *path) {
    vt_fixture *fx = calloc(1, sizeof *fx);
    if (!fx) vt_fixture_die("%s: out of memory", path);
    if (vg_st_open(&fx->st, path) != VG_OK)
        vt_fixture_die("%s (regenerate with `make fixtures`)", vg_last_error());
    const char *list = vg_st_meta(fx->st, "cases");
    if (!list) vt_fixture_die("%s: no \"cases\" metadata; not written by save_fixture?", path);
    size_t len = strlen(list);
    fx->cases = calloc(len + 1, sizeof *fx->cases);
    char *copy = malloc(len + 1);
    if (!fx->cases || !copy) vt_fixture_die("%s: out of memory", path);
    memcpy(copy, list, len + 1);
    for (char *p = copy; len > 0;) { /* split on commas; copy is owned by cases[0] */
        fx->cases[fx->ncases++] = p;
        char *comma = strchr(p, ',');
        if (!comma) break;
        *comma = '\0';
        p = comma + 1;
    }
    if (fx->ncases == 0) free(copy);
    return fx;
}

static inline void vt_fixture_close(vt_fixture *fx) {
    if (!fx) return;
    if (fx->ncases > 0) free(fx->cases[0]);
    free(fx->cases);
    vg_st_close(fx->st);
    free(fx);
}

static inline int vt_fixture_ncases(const vt_fixture *fx) { return fx->ncases; }

static inline const char *vt_fixture_case(const vt_fixture *fx, int i) {
    if (i < 0 || i >= fx->ncases) vt_fixture_die("%s: case index out of range", vg_st_path(fx->st));
    return fx->cases[i];
}

/* The case's args (json.dumps in the fixture script), parsed; json_decref it. */
static inline json_t *vt_fixture_args(const vt_fixture *fx, const char *case_name) {
    const char *text = vg_st_meta(fx->st, case_name);
    if (!text) vt_fixture_die("%s: no args metadata for case '%s'", vg_st_path(fx->st), case_name);
    json_error_t err;
    json_t *args = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!args || !json_is_object(args))
        vt_fixture_die("%s: case '%s': args are not a JSON object (%s)", vg_st_path(fx->st), case_name,
                       args ? "not an object" : err.text);
    return args;
}

static inline int vt_fixture_has(const vt_fixture *fx, const char *case_name, const char *tensor) {
    char full[512];
    snprintf(full, sizeof full, "%s.%s", case_name, tensor);
    return vg_st_find(fx->st, full) >= 0;
}

/* "<case>.<tensor>" as a malloc'd float array (free it); ndim and shape
 * (room for VG_ST_MAX_DIMS) receive its shape when not NULL. */
static inline float *vt_fixture_tensor(const vt_fixture *fx, const char *case_name, const char *tensor, int *ndim,
                                       int64_t *shape) {
    char full[512];
    snprintf(full, sizeof full, "%s.%s", case_name, tensor);
    int i = vg_st_find(fx->st, full);
    if (i < 0) vt_fixture_die("%s: no tensor '%s.%s'", vg_st_path(fx->st), case_name, tensor);
    int64_t n = vg_st_numel(fx->st, i);
    float *data = malloc((size_t)(n > 0 ? n : 1) * sizeof *data);
    if (!data) vt_fixture_die("%s: out of memory for '%s.%s'", vg_st_path(fx->st), case_name, tensor);
    if (vg_st_read_f32(fx->st, full, data, n) != VG_OK) vt_fixture_die("%s", vg_last_error());
    if (ndim) *ndim = vg_st_ndim(fx->st, i);
    if (shape)
        for (int d = 0; d < vg_st_ndim(fx->st, i); d++) shape[d] = vg_st_shape(fx->st, i)[d];
    return data;
}

/* ---- args ----------------------------------------------------------------- */

static inline int vt_arg_has(const json_t *args, const char *key) { return json_object_get(args, key) != NULL; }

static inline const json_t *vt_arg_get(const json_t *args, const char *key, const char *want) {
    const json_t *v = json_object_get(args, key);
    if (!v) vt_fixture_die("args have no '%s' (expected %s)", key, want);
    return v;
}

static inline int64_t vt_arg_int(const json_t *args, const char *key) {
    const json_t *v = vt_arg_get(args, key, "an integer");
    if (!json_is_integer(v)) vt_fixture_die("arg '%s' is not %s", key, "an integer");
    return (int64_t)json_integer_value(v);
}

static inline int64_t vt_arg_int_or(const json_t *args, const char *key, int64_t dflt) {
    return vt_arg_has(args, key) ? vt_arg_int(args, key) : dflt;
}

/* A number (integer or real). */
static inline double vt_arg_double(const json_t *args, const char *key) {
    const json_t *v = vt_arg_get(args, key, "a number");
    if (!json_is_number(v)) vt_fixture_die("arg '%s' is not %s", key, "a number");
    return json_number_value(v);
}

static inline double vt_arg_double_or(const json_t *args, const char *key, double dflt) {
    return vt_arg_has(args, key) ? vt_arg_double(args, key) : dflt;
}

static inline int vt_arg_bool(const json_t *args, const char *key) {
    const json_t *v = vt_arg_get(args, key, "a boolean");
    if (!json_is_boolean(v)) vt_fixture_die("arg '%s' is not %s", key, "a boolean");
    return json_is_true(v);
}

static inline const char *vt_arg_str(const json_t *args, const char *key) {
    const json_t *v = vt_arg_get(args, key, "a string");
    if (!json_is_string(v)) vt_fixture_die("arg '%s' is not %s", key, "a string");
    return json_string_value(v);
}

/* An array of integers (or a single integer, as torch accepts for
 * stride=2) into out[0..max); returns how many. */
static inline int vt_arg_ints(const json_t *args, const char *key, int64_t *out, int max) {
    const json_t *v = vt_arg_get(args, key, "integers");
    if (json_is_integer(v) && max >= 1) {
        out[0] = (int64_t)json_integer_value(v);
        return 1;
    }
    if (!json_is_array(v) || json_array_size(v) > (size_t)max)
        vt_fixture_die("arg '%s' is not %s", key, "an array of integers of the expected length");
    int n = (int)json_array_size(v);
    for (int i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, (size_t)i);
        if (!json_is_integer(e)) vt_fixture_die("arg '%s' is not %s", key, "an array of integers");
        out[i] = (int64_t)json_integer_value(e);
    }
    return n;
}

#endif
