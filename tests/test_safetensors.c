/* test_safetensors.c — the safetensors reader and writer: round trip, a file
 * hand-encoded on the Python side (tools/fixtures/make_safetensors.py), the
 * fixture plumbing of tests/fixture.h, a gallery of corrupt files (each must
 * fail cleanly with the path in the message), and atomic save (a failed save
 * leaves the old file byte-identical and no temporary file behind). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "io/safetensors.h"
#include "test.h"

static char tmpdir[256];
static int verbose;

static void path_in_tmp(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", tmpdir, name); }

static int write_bytes(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(p, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

/* Whole file into a malloc'd buffer; NULL if unreadable. */
static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) {
            unsigned char *nb = realloc(buf, cap *= 2);
            if (!nb) free(buf);
            buf = nb;
        }
    }
    fclose(f);
    *n = len;
    return buf;
}

/* Number of entries in tmpdir whose name contains ".tmp.". */
static int count_temp_files(void) {
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += strstr(e->d_name, ".tmp.") != NULL;
    if (d) closedir(d);
    return n;
}

static void remove_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (unlink(p) != 0) rmdir(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
}

/* A safetensors file in memory: u64 length, the JSON, then data_len bytes
 * (0x11 each). */
static unsigned char *make_file(const char *json, uint64_t claimed_len, size_t data_len, size_t *n) {
    size_t jl = strlen(json);
    *n = 8 + jl + data_len;
    unsigned char *b = malloc(*n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(claimed_len >> (8 * i));
    memcpy(b + 8, json, jl);
    memset(b + 8 + jl, 0x11, data_len);
    return b;
}

static float bf16_round(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    bits += 0x7fffu + ((bits >> 16) & 1u); /* round to nearest even */
    bits &= 0xffff0000u;
    memcpy(&f, &bits, 4);
    return f;
}

/* ---- round trip ------------------------------------------------------------ */

static void test_roundtrip(void) {
    char path[512];
    path_in_tmp(path, sizeof path, "rt.safetensors");
    float f32[24];
    double f64[5];
    uint16_t f16[3] = {0x3c00, 0xc000, 0x7bff}; /* 1, -2, 65504 */
    uint16_t bf16[2] = {0x3f80, 0xc2f7};        /* 1, -123.5 */
    int64_t i64[3] = {INT64_MIN, 0, INT64_MAX};
    uint8_t u8[3] = {1, 2, 255};
    float scalar = -0.5f;
    for (int i = 0; i < 24; i++) f32[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < 5; i++) f64[i] = 1.0 / (i + 1);

    vg_st_writer *w;
    CHECK(vg_st_writer_new(&w) == VG_OK, "%s", vg_last_error());
    /* added out of order and with odd sizes (U8 of 3 bytes) on purpose */
    CHECK(vg_st_writer_add(w, "z.u8", VG_ST_U8, 1, (int64_t[]){3}, u8, 3) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add_f32(w, "G.net.0.weight", 3, (int64_t[]){2, 3, 4}, f32) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "f16", VG_ST_F16, 1, (int64_t[]){3}, f16, 6) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "bf16", VG_ST_BF16, 2, (int64_t[]){1, 2}, bf16, 4) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "a.f64", VG_ST_F64, 1, (int64_t[]){5}, f64, 40) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "step", VG_ST_I64, 1, (int64_t[]){3}, i64, 24) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "scalar", VG_ST_F32, 0, NULL, &scalar, 4) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "empty", VG_ST_F32, 2, (int64_t[]){0, 7}, NULL, 0) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_meta(w, "format", "pt") == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_meta(w, "config", "{\"lr\": 2e-4}") == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_save(w, path) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_save(w, path) == VG_OK, "overwrite: %s", vg_last_error());
    vg_st_writer_free(w);
    CHECK(count_temp_files() == 0, "temporary file left behind");

    size_t n = 0;
    unsigned char *bytes = read_bytes(path, &n);
    CHECK(bytes && n > 8, "cannot read back %s", path);
    if (!bytes) return;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | bytes[i];
    CHECK(hlen % 8 == 0, "header length %llu is not a multiple of 8", (unsigned long long)hlen);
    CHECK(hlen + 8 <= n, "header length");
    if (hlen + 8 <= n) {
        /* header entries in name order, metadata first */
        char *h = malloc(hlen + 1);
        memcpy(h, bytes + 8, hlen);
        h[hlen] = '\0';
        const char *order[] = {"__metadata__", "G.net.0.weight", "a.f64", "bf16", "empty", "f16",
                               "scalar", "step", "z.u8"};
        const char *prev = h;
        for (int i = 0; i < 9; i++) {
            char key[64];
            snprintf(key, sizeof key, "\"%s\":", order[i]);
            const char *at = strstr(h, key);
            CHECK(at && at >= prev, "header key %s missing or out of order: %s", key, h);
            if (at) prev = at;
        }
        free(h);
    }

    vg_st_file *f = NULL, *fm = NULL;
    CHECK(vg_st_open(&f, path) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_open_memory(&fm, bytes, n, NULL) == VG_OK, "%s", vg_last_error());
    free(bytes);
    if (!f || !fm) {
        vg_st_close(f);
        vg_st_close(fm);
        return;
    }
    CHECK(strcmp(vg_st_path(f), path) == 0, "path %s", vg_st_path(f));
    CHECK(strcmp(vg_st_path(fm), "<memory>") == 0, "memory name %s", vg_st_path(fm));
    CHECK(vg_st_count(f) == 8, "count %d", vg_st_count(f));
    for (int i = 1; i < vg_st_count(f); i++)
        CHECK(strcmp(vg_st_name(f, i - 1), vg_st_name(f, i)) < 0, "names not sorted at %d", i);
    for (int i = 0; i < vg_st_count(f); i++) {
        size_t es = vg_st_dtype_size(vg_st_dtype_of(f, i));
        CHECK((uintptr_t)vg_st_data(f, i) % es == 0, "tensor %s not aligned to %zu", vg_st_name(f, i), es);
        CHECK(vg_st_nbytes(f, i) == (size_t)vg_st_numel(f, i) * es, "nbytes of %s", vg_st_name(f, i));
        CHECK(vg_st_nbytes(f, i) == vg_st_nbytes(fm, i) &&
                  memcmp(vg_st_data(f, i), vg_st_data(fm, i), vg_st_nbytes(f, i)) == 0,
              "file and memory readers differ on %s", vg_st_name(f, i));
    }
    int k = vg_st_find(f, "G.net.0.weight");
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_F32 && vg_st_ndim(f, k) == 3 && vg_st_shape(f, k)[0] == 2 &&
              vg_st_shape(f, k)[1] == 3 && vg_st_shape(f, k)[2] == 4 && vg_st_numel(f, k) == 24,
          "G.net.0.weight header");
    float got[24];
    CHECK(vg_st_read_f32(f, "G.net.0.weight", got, 24) == VG_OK, "%s", vg_last_error());
    CHECK(memcmp(got, f32, sizeof f32) == 0, "F32 values differ");
    CHECK(vg_st_read_f32(f, "a.f64", got, 5) == VG_OK, "%s", vg_last_error());
    for (int i = 0; i < 5; i++) CHECK(got[i] == (float)f64[i], "F64 -> float at %d: %g", i, got[i]);
    k = vg_st_find(f, "a.f64");
    CHECK(k >= 0 && memcmp(vg_st_data(f, k), f64, 40) == 0, "F64 bytes differ");
    CHECK(vg_st_read_f32(f, "f16", got, 3) == VG_OK, "%s", vg_last_error());
    CHECK(got[0] == 1.0f && got[1] == -2.0f && got[2] == 65504.0f, "F16: %g %g %g", got[0], got[1], got[2]);
    CHECK(vg_st_read_f32(f, "bf16", got, 2) == VG_OK, "%s", vg_last_error());
    CHECK(got[0] == 1.0f && got[1] == -123.5f, "BF16: %g %g", got[0], got[1]);
    k = vg_st_find(f, "step");
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_I64 && memcmp(vg_st_data(f, k), i64, 24) == 0, "I64 bytes");
    k = vg_st_find(f, "z.u8");
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_U8 && memcmp(vg_st_data(f, k), u8, 3) == 0, "U8 bytes");
    k = vg_st_find(f, "scalar");
    CHECK(k >= 0 && vg_st_ndim(f, k) == 0 && vg_st_numel(f, k) == 1, "scalar shape");
    CHECK(vg_st_read_f32(f, "scalar", got, 1) == VG_OK && got[0] == -0.5f, "scalar value");
    k = vg_st_find(f, "empty");
    CHECK(k >= 0 && vg_st_ndim(f, k) == 2 && vg_st_shape(f, k)[0] == 0 && vg_st_shape(f, k)[1] == 7 &&
              vg_st_numel(f, k) == 0 && vg_st_nbytes(f, k) == 0,
          "empty tensor");
    CHECK(vg_st_read_f32(f, "empty", NULL, 0) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_find(f, "missing") == -1 && vg_st_find(f, "") == -1, "find of absent names");

    CHECK(vg_st_meta_count(f) == 2, "meta count %d", vg_st_meta_count(f));
    CHECK(vg_st_meta(f, "format") && strcmp(vg_st_meta(f, "format"), "pt") == 0, "meta format");
    CHECK(vg_st_meta(f, "config") && strcmp(vg_st_meta(f, "config"), "{\"lr\": 2e-4}") == 0, "meta config");
    CHECK(vg_st_meta(f, "nope") == NULL, "absent meta");
    CHECK(vg_st_meta_count(f) == 2 && strcmp(vg_st_meta_key(f, 0), "format") == 0 &&
              strcmp(vg_st_meta_value(f, 1), "{\"lr\": 2e-4}") == 0,
          "meta iteration keeps the order of the file");

    /* read_f32 errors name the file, the tensor, and the counts */
    vg_status s = vg_st_read_f32(f, "G.net.0.weight", got, 23);
    CHECK(s == VG_ERR_INVALID && strstr(vg_last_error(), path) && strstr(vg_last_error(), "G.net.0.weight") &&
              strstr(vg_last_error(), "24") && strstr(vg_last_error(), "23"),
          "numel mismatch message: %s", vg_last_error());
    s = vg_st_read_f32(f, "nope", got, 1);
    CHECK(s == VG_ERR_INVALID && strstr(vg_last_error(), path) && strstr(vg_last_error(), "nope"), "missing: %s",
          vg_last_error());
    s = vg_st_read_f32(f, "step", got, 3);
    CHECK(s == VG_ERR_UNSUPPORTED && strstr(vg_last_error(), "I64"), "I64 as float: %s", vg_last_error());
    if (verbose) printf("  read_f32 error: %s\n", vg_last_error());
    vg_st_close(f);
    vg_st_close(fm);

    /* an empty writer makes a valid empty file */
    CHECK(vg_st_writer_new(&w) == VG_OK, "%s", vg_last_error());
    path_in_tmp(path, sizeof path, "empty.safetensors");
    CHECK(vg_st_writer_save(w, path) == VG_OK, "%s", vg_last_error());
    vg_st_writer_free(w);
    CHECK(vg_st_open(&f, path) == VG_OK && vg_st_count(f) == 0 && vg_st_meta_count(f) == 0, "empty file: %s",
          vg_last_error());
    vg_st_close(f);
}

/* ---- the Python-written reference ---------------------------------------- */

static void test_reference(void) {
    const char *path = "tests/fixtures/safetensors_ref.safetensors";
    vg_st_file *f = NULL;
    vg_status s = vg_st_open(&f, path);
    CHECK(s == VG_OK, "%s (regenerate with `make fixtures`)", vg_last_error());
    if (s != VG_OK) return;
    CHECK(vg_st_count(f) == 10, "count %d", vg_st_count(f));

    float got[64], want[64];
    CHECK(vg_st_read_f32(f, "f32", got, 60) == VG_OK, "%s", vg_last_error());
    for (int i = 0; i < 60; i++) want[i] = (float)sin(0.37 * i);
    CHECK_CLOSE("f32", got, want, 60, 1e-6, 1e-7);
    int k = vg_st_find(f, "f32");
    CHECK(k >= 0 && vg_st_ndim(f, k) == 3 && vg_st_shape(f, k)[0] == 3 && vg_st_shape(f, k)[2] == 5, "f32 shape");

    k = vg_st_find(f, "f64");
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_F64 && vg_st_numel(f, k) == 42, "f64 header");
    if (k >= 0) {
        double worst = 0;
        for (int i = 0; i < 42; i++) {
            double d;
            memcpy(&d, (const char *)vg_st_data(f, k) + 8 * i, 8);
            worst = fmax(worst, fabs(d - sin(0.37 * i)));
        }
        CHECK(worst < 1e-15, "f64 raw values off by %g", worst);
    }
    CHECK(vg_st_read_f32(f, "f64", got, 42) == VG_OK, "%s", vg_last_error());
    CHECK_CLOSE("f64 as float", got, want, 42, 1e-6, 1e-7);

    CHECK(vg_st_read_f32(f, "f16", got, 33) == VG_OK, "%s", vg_last_error());
    for (int i = 0; i < 33; i++) {
        double w = 100 * sin(0.37 * i);
        CHECK(fabs(got[i] - w) <= fabs(w) * 0x1p-11 + 0x1p-24, "f16[%d] = %.8g, want ~%.8g", i, got[i], w);
    }
    const float special[11] = {0.0f, -0.0f, 1.0f, -2.0f, 65504.0f, 0x1p-14f, 0x1p-24f, -0x1p-24f,
                               INFINITY, -INFINITY, NAN};
    CHECK(vg_st_read_f32(f, "f16_special", got, 11) == VG_OK, "%s", vg_last_error());
    for (int i = 0; i < 10; i++)
        CHECK(got[i] == special[i] && signbit(got[i]) == signbit(special[i]), "f16_special[%d] = %g, want %g", i,
              got[i], special[i]);
    CHECK(isnan(got[10]), "f16_special[10] = %g, want nan", got[10]);

    CHECK(vg_st_read_f32(f, "bf16", got, 24) == VG_OK, "%s", vg_last_error());
    for (int i = 0; i < 24; i++) {
        float w = bf16_round((float)(1000 * sin(0.37 * i)));
        CHECK(got[i] == w, "bf16[%d] = %.9g, want %.9g", i, got[i], w);
    }

    k = vg_st_find(f, "i64");
    const int64_t i64[5] = {-((int64_t)1 << 40), -1, 0, 1, ((int64_t)1 << 62) + 12345};
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_I64 && vg_st_nbytes(f, k) == 40 &&
              memcmp(vg_st_data(f, k), i64, 40) == 0,
          "i64 values");
    k = vg_st_find(f, "i32");
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_I32 && vg_st_nbytes(f, k) == 16, "i32 header");
    for (int i = 0; k >= 0 && i < 4; i++) {
        int32_t v;
        memcpy(&v, (const char *)vg_st_data(f, k) + 4 * i, 4);
        CHECK(v == i * 1000003 - 7, "i32[%d] = %d", i, v);
    }
    k = vg_st_find(f, "u8");
    CHECK(k >= 0 && vg_st_dtype_of(f, k) == VG_ST_U8 && vg_st_numel(f, k) == 32, "u8 header");
    for (int i = 0; k >= 0 && i < 32; i++) {
        int v = ((const unsigned char *)vg_st_data(f, k))[i];
        CHECK(v == (37 * i) % 256, "u8[%d] = %d", i, v);
    }
    CHECK(vg_st_read_f32(f, "scalar", got, 1) == VG_OK && got[0] == 3.25f, "scalar");
    k = vg_st_find(f, "scalar");
    CHECK(k >= 0 && vg_st_ndim(f, k) == 0, "scalar ndim");
    k = vg_st_find(f, "empty");
    CHECK(k >= 0 && vg_st_numel(f, k) == 0 && vg_st_ndim(f, k) == 2 && vg_st_shape(f, k)[1] == 3, "empty");

    CHECK(vg_st_meta_count(f) == 3, "meta count %d", vg_st_meta_count(f));
    const char *u = vg_st_meta(f, "unicode");
    CHECK(u && strcmp(u, "vid\xc3\xa9o \xe2\x9c\x93") == 0, "unicode metadata: %s", u ? u : "(absent)");
    CHECK(vg_st_meta(f, "format") && strcmp(vg_st_meta(f, "format"), "pt") == 0, "format metadata");
    vg_st_close(f);
}

/* ---- fixture plumbing ------------------------------------------------------- */

static void test_fixture_demo(void) {
    vt_fixture *fx = vt_fixture_open("tests/fixtures/fixture_demo.safetensors");
    CHECK(vt_fixture_ncases(fx) == 2, "ncases %d", vt_fixture_ncases(fx));
    CHECK(strcmp(vt_fixture_case(fx, 0), "linear_small") == 0 && strcmp(vt_fixture_case(fx, 1), "leaky_relu") == 0,
          "case names in order");
    CHECK(strcmp(vg_st_meta(fx->st, "generator"), "make_safetensors.py") == 0, "generator metadata");
    CHECK(vg_st_meta(fx->st, "torch_version") != NULL, "torch_version metadata");

    /* linear: out = x W^T + b, recomputed in double from the stored inputs */
    json_t *args = vt_fixture_args(fx, "linear_small");
    int64_t dims[4] = {0};
    CHECK(vt_arg_int(args, "in_features") == 4 && vt_arg_int(args, "out_features") == 5, "linear args");
    CHECK(vt_arg_ints(args, "shape", dims, 4) == 2 && dims[0] == 3 && dims[1] == 4, "shape arg");
    CHECK(vt_arg_bool(args, "has_bias") == 1, "bool arg");
    CHECK(vt_arg_int_or(args, "groups", 1) == 1 && !vt_arg_has(args, "groups"), "default arg");
    json_decref(args);
    int nd;
    int64_t shape[VG_ST_MAX_DIMS];
    float *x = vt_fixture_tensor(fx, "linear_small", "input", &nd, shape);
    CHECK(nd == 2 && shape[0] == 3 && shape[1] == 4, "input shape");
    float *wt = vt_fixture_tensor(fx, "linear_small", "weight", NULL, NULL);
    float *b = vt_fixture_tensor(fx, "linear_small", "bias", NULL, NULL);
    float *out = vt_fixture_tensor(fx, "linear_small", "out", &nd, shape);
    CHECK(nd == 2 && shape[0] == 3 && shape[1] == 5, "out shape");
    float *gout = vt_fixture_tensor(fx, "linear_small", "gout", NULL, NULL);
    float *gx = vt_fixture_tensor(fx, "linear_small", "grad.input", NULL, NULL);
    float *gw = vt_fixture_tensor(fx, "linear_small", "grad.weight", NULL, NULL);
    float *gb = vt_fixture_tensor(fx, "linear_small", "grad.bias", NULL, NULL);
    CHECK(vt_fixture_has(fx, "linear_small", "grad.bias") && !vt_fixture_has(fx, "linear_small", "grad.nope"),
          "vt_fixture_has");
    float r_out[15], r_gx[12], r_gw[20], r_gb[5];
    for (int i = 0; i < 3; i++)
        for (int o = 0; o < 5; o++) {
            double acc = b[o];
            for (int k = 0; k < 4; k++) acc += (double)x[i * 4 + k] * wt[o * 4 + k];
            r_out[i * 5 + o] = (float)acc;
        }
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 4; k++) {
            double acc = 0;
            for (int o = 0; o < 5; o++) acc += (double)gout[i * 5 + o] * wt[o * 4 + k];
            r_gx[i * 4 + k] = (float)acc;
        }
    for (int o = 0; o < 5; o++) {
        double accb = 0;
        for (int k = 0; k < 4; k++) {
            double acc = 0;
            for (int i = 0; i < 3; i++) acc += (double)gout[i * 5 + o] * x[i * 4 + k];
            r_gw[o * 4 + k] = (float)acc;
        }
        for (int i = 0; i < 3; i++) accb += gout[i * 5 + o];
        r_gb[o] = (float)accb;
    }
    CHECK_CLOSE("linear out", out, r_out, 15, 1e-6, 1e-7);
    CHECK_CLOSE("linear grad.input", gx, r_gx, 12, 1e-6, 1e-7);
    CHECK_CLOSE("linear grad.weight", gw, r_gw, 20, 1e-6, 1e-7);
    CHECK_CLOSE("linear grad.bias", gb, r_gb, 5, 1e-6, 1e-7);
    free(x), free(wt), free(b), free(out), free(gout), free(gx), free(gw), free(gb);

    args = vt_fixture_args(fx, "leaky_relu");
    double slope = vt_arg_double(args, "negative_slope");
    CHECK(slope == 0.2, "negative_slope %g", slope);
    json_decref(args);
    x = vt_fixture_tensor(fx, "leaky_relu", "input", &nd, shape);
    CHECK(nd == 3 && shape[0] * shape[1] * shape[2] == 24, "leaky input shape");
    out = vt_fixture_tensor(fx, "leaky_relu", "out", NULL, NULL);
    gout = vt_fixture_tensor(fx, "leaky_relu", "gout", NULL, NULL);
    gx = vt_fixture_tensor(fx, "leaky_relu", "grad.input", NULL, NULL);
    float r_o[24], r_g[24];
    for (int i = 0; i < 24; i++) {
        r_o[i] = (float)(x[i] > 0 ? x[i] : slope * x[i]);
        r_g[i] = (float)(x[i] > 0 ? gout[i] : slope * gout[i]);
    }
    CHECK_CLOSE("leaky_relu out", out, r_o, 24, 1e-7, 0);
    CHECK_CLOSE("leaky_relu grad.input", gx, r_g, 24, 1e-7, 0);
    free(x), free(out), free(gout), free(gx);
    vt_fixture_close(fx);

    /* a missing fixture fails the test binary; it never skips */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        vt_fixture_open("tests/fixtures/does_not_exist.safetensors");
        _exit(0);
    }
    int st = 0;
    CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 1,
          "missing fixture must exit(1), got status %d", st);
}

/* ---- corrupt files ---------------------------------------------------------- */

typedef struct bad_case {
    const char *what;
    const char *json; /* NULL: raw bytes below */
    int64_t claimed;  /* -1: the JSON's length */
    size_t data_len;
    const unsigned char *raw;
    size_t raw_len;
} bad_case;

static void expect_bad(const char *what, const unsigned char *bytes, size_t n, int idx) {
    char path[512], name[64];
    snprintf(name, sizeof name, "bad_%02d.safetensors", idx);
    path_in_tmp(path, sizeof path, name);
    CHECK(write_bytes(path, bytes, n), "cannot write %s", path);
    vg_st_file *f = (vg_st_file *)&f; /* must be reset to NULL */
    vg_status s = vg_st_open(&f, path);
    CHECK(s != VG_OK && f == NULL, "%s: opened a corrupt file", what);
    CHECK(strstr(vg_last_error(), path) != NULL, "%s: message lacks the path: %s", what, vg_last_error());
    if (verbose) printf("  %-28s %s: %s\n", what, vg_status_name(s), vg_last_error());
    if (s == VG_OK) vg_st_close(f);
    f = (vg_st_file *)&f;
    s = vg_st_open_header(&f, path);
    CHECK(s != VG_OK && f == NULL, "%s: opened a corrupt file's header", what);
    CHECK(strstr(vg_last_error(), path) != NULL, "%s: header-only message lacks the path: %s", what, vg_last_error());
    if (s == VG_OK) vg_st_close(f);
    f = NULL;
    s = vg_st_open_memory(&f, n ? bytes : NULL, n, "mem.safetensors");
    CHECK(s != VG_OK && f == NULL, "%s: opened a corrupt buffer", what);
    CHECK(strstr(vg_last_error(), "mem.safetensors") != NULL, "%s: message lacks the name: %s", what,
          vg_last_error());
    if (s == VG_OK) vg_st_close(f);
}

static void test_corrupt(void) {
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
                                        'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde};
    static const unsigned char five[] = {16, 0, 0, 0, 0};
    const char *A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
    char overlap[256], dup[256];
    snprintf(overlap, sizeof overlap, "{%s,\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", A);
    snprintf(dup, sizeof dup, "{%s,%s}", A, A);
    const bad_case cases[] = {
        {"zero-byte file", NULL, 0, 0, (const unsigned char *)"", 0},
        {"truncated length", NULL, 0, 0, five, sizeof five},
        {"PNG file", NULL, 0, 0, png, sizeof png},
        {"length beyond file", "{}", 1000, 0, NULL, 0},
        {"length beyond cap", "{}", INT64_MAX, 0, NULL, 0},
        {"header cut short", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 20, 0, NULL, 0},
        {"empty header", "", 0, 8, NULL, 0},
        {"not JSON", "hello, world", -1, 0, NULL, 0},
        {"JSON array", "[1,2,3]", -1, 0, NULL, 0},
        {"JSON string", "\"F32\"", -1, 0, NULL, 0},
        {"trailing garbage", "{} x", -1, 0, NULL, 0},
        {"invalid UTF-8", "{\"\xff\xfe\":{}}", -1, 0, NULL, 0},
        {"NUL in key", "{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", -1, 0, NULL, 0},
        {"entry not object", "{\"a\":5}", -1, 0, NULL, 0},
        {"no dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, NULL, 0},
        {"dtype not string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", -1, 4, NULL, 0},
        {"unknown dtype", "{\"a\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", -1, 16, NULL, 0},
        {"no shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", -1, 4, NULL, 0},
        {"negative shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", -1, 4, NULL, 0},
        {"real shape", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", -1, 4, NULL, 0},
        {"overflowing shape",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}", -1, 0, NULL, 0},
        {"shape x dtype overflow",
         "{\"a\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,0]}}", -1, 0, NULL, 0},
        {"integer beyond int64",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", -1, 4, NULL, 0},
        {"9 dims", "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", -1, 1, NULL,
         0},
        {"offsets past the end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1024],\"data_offsets\":[0,4096]}}", -1, 16,
         NULL, 0},
        {"offsets reversed", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", -1, 16, NULL, 0},
        {"negative offset", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", -1, 16, NULL, 0},
        {"three offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", -1, 16, NULL, 0},
        {"no offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", -1, 16, NULL, 0},
        {"size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", -1, 16, NULL, 0},
        {"overlapping tensors", overlap, -1, 16, NULL, 0},
        {"duplicate keys", dup, -1, 8, NULL, 0},
        {"metadata not object", "{\"__metadata__\":[1]}", -1, 0, NULL, 0},
        {"metadata value int", "{\"__metadata__\":{\"k\":1}}", -1, 0, NULL, 0},
        {"metadata value null", "{\"__metadata__\":{\"k\":null}}", -1, 0, NULL, 0},
    };
    int nc = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < nc; i++) {
        const bad_case *c = &cases[i];
        size_t n = c->raw_len;
        unsigned char *bytes = NULL;
        if (c->json) {
            uint64_t claimed = c->claimed < 0 ? strlen(c->json) : (uint64_t)c->claimed;
            bytes = make_file(c->json, claimed, c->data_len, &n);
        }
        expect_bad(c->what, c->json ? bytes : c->raw, n, i);
        free(bytes);
    }

    /* messages say what is wrong, e.g. the offsets and the data size */
    size_t n;
    const char *j1 = "{\"G.net.0.weight\":{\"dtype\":\"F32\",\"shape\":[1024],\"data_offsets\":[0,4096]}}";
    unsigned char *b = make_file(j1, strlen(j1), 1200, &n);
    vg_st_file *f = NULL;
    CHECK(vg_st_open_memory(&f, b, n, "ckpt.safetensors") == VG_ERR_FORMAT &&
              strstr(vg_last_error(), "'G.net.0.weight'") && strstr(vg_last_error(), "[0, 4096)") &&
              strstr(vg_last_error(), "1200-byte"),
          "offset message: %s", vg_last_error());
    free(b);
    const char *j2 = "{\"x\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    b = make_file(j2, strlen(j2), 1, &n);
    CHECK(vg_st_open_memory(&f, b, n, "q.safetensors") == VG_ERR_FORMAT && strstr(vg_last_error(), "'Q4'"),
          "dtype message: %s", vg_last_error());
    free(b);
}

/* Valid files that other writers may produce: all must open. */
static void test_lenient(void) {
    struct {
        const char *what, *json;
        size_t data_len;
        int count;
    } ok[] = {
        {"no tensors", "{}", 0, 0},
        {"null metadata", "{\"__metadata__\":null}", 0, 0},
        {"unaligned data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[1,13]}}", 16, 1},
        {"gap and trailing bytes",
         "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
         "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[5,7]}}",
         9, 2},
        {"empty tensors share offsets",
         "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"c\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[4,4]}}",
         8, 3},
        {"extra entry keys", "{\"a\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[0,1],\"x\":1}}", 1, 1},
        {"padded header", "{}          ", 0, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t n;
        unsigned char *b = make_file(ok[i].json, strlen(ok[i].json), ok[i].data_len, &n);
        vg_st_file *f = NULL;
        vg_status s = vg_st_open_memory(&f, b, n, ok[i].what);
        CHECK(s == VG_OK && vg_st_count(f) == ok[i].count, "%s: %s", ok[i].what, vg_last_error());
        if (s == VG_OK && strcmp(ok[i].what, "unaligned data") == 0) {
            float v[3];
            CHECK(vg_st_read_f32(f, "a", v, 3) == VG_OK, "%s", vg_last_error());
            float want = 0;
            memset(&want, 0x11, 4);
            CHECK(v[0] == want && v[2] == want, "unaligned read");
        }
        vg_st_close(f);
        free(b);
    }
}

/* ---- writer errors and atomic save ----------------------------------------- */

static void test_writer_errors(void) {
    float d[4] = {1, 2, 3, 4};
    vg_st_writer *w;
    CHECK(vg_st_writer_new(&w) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add_f32(w, "a", 1, (int64_t[]){4}, d) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add_f32(w, "a", 1, (int64_t[]){4}, d) == VG_ERR_INVALID && strstr(vg_last_error(), "'a'"),
          "duplicate name: %s", vg_last_error());
    vg_st_writer_free(w);
    vg_st_writer_new(&w);
    CHECK(vg_st_writer_add_f32(w, "__metadata__", 1, (int64_t[]){4}, d) == VG_ERR_INVALID, "reserved name");
    vg_st_writer_free(w);
    vg_st_writer_new(&w);
    CHECK(vg_st_writer_add_f32(w, "", 1, (int64_t[]){4}, d) == VG_ERR_INVALID, "empty name");
    vg_st_writer_free(w);
    vg_st_writer_new(&w);
    CHECK(vg_st_writer_add(w, "neg", VG_ST_F32, 1, (int64_t[]){-4}, d, 16) == VG_ERR_INVALID, "negative dim");
    vg_st_writer_free(w);
    vg_st_writer_new(&w);
    CHECK(vg_st_writer_add(w, "bad\xff", VG_ST_F32, 1, (int64_t[]){4}, d, 16) == VG_ERR_INVALID, "bad UTF-8");
    vg_st_writer_free(w);
    vg_st_writer_new(&w);
    CHECK(vg_st_writer_meta(w, "k", "v") == VG_OK && vg_st_writer_meta(w, "k", "w") == VG_ERR_INVALID,
          "duplicate metadata key");
    vg_st_writer_free(w);
}

static void test_atomic_save(void) {
    char path[512], dirpath[512], nodir[512];
    path_in_tmp(path, sizeof path, "ckpt.safetensors");
    path_in_tmp(dirpath, sizeof dirpath, "a_directory");
    path_in_tmp(nodir, sizeof nodir, "no/such/dir/ckpt.safetensors");
    float old_data[6] = {1, 2, 3, 4, 5, 6};
    vg_st_writer *w;
    vg_st_writer_new(&w);
    vg_st_writer_add_f32(w, "w", 2, (int64_t[]){2, 3}, old_data);
    vg_st_writer_meta(w, "step", "100");
    CHECK(vg_st_writer_save(w, path) == VG_OK, "%s", vg_last_error());
    vg_st_writer_free(w);
    size_t n0, n1;
    unsigned char *before = read_bytes(path, &n0);
    CHECK(before != NULL, "cannot read %s", path);
    if (!before) return;

    /* 1. a tensor whose byte size does not match its shape: add fails, and the
     *    error sticks, so the save fails too */
    float big[4096];
    for (int i = 0; i < 4096; i++) big[i] = (float)i;
    vg_st_writer_new(&w);
    CHECK(vg_st_writer_add_f32(w, "ok", 1, (int64_t[]){4096}, big) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_writer_add(w, "bad", VG_ST_F32, 2, (int64_t[]){2, 3}, big, 20) == VG_ERR_INVALID &&
              strstr(vg_last_error(), "'bad'") && strstr(vg_last_error(), "24") && strstr(vg_last_error(), "20"),
          "size mismatch message: %s", vg_last_error());
    CHECK(vg_st_writer_save(w, path) == VG_ERR_INVALID && strstr(vg_last_error(), path) &&
              strstr(vg_last_error(), "'bad'"),
          "save after a failed add: %s", vg_last_error());
    if (verbose) printf("  sticky: %s\n", vg_last_error());

    /* 2. a directory that does not exist */
    vg_st_writer_free(w);
    vg_st_writer_new(&w);
    vg_st_writer_add_f32(w, "ok", 1, (int64_t[]){4096}, big);
    vg_status s = vg_st_writer_save(w, nodir);
    CHECK(s == VG_ERR_IO && strstr(vg_last_error(), nodir), "missing directory: %s", vg_last_error());
    if (verbose) printf("  no dir: %s\n", vg_last_error());

    /* 3. the target is a directory: everything is written, then the rename fails */
    CHECK(mkdir(dirpath, 0755) == 0, "mkdir %s: %s", dirpath, strerror(errno));
    s = vg_st_writer_save(w, dirpath);
    CHECK(s == VG_ERR_IO && strstr(vg_last_error(), dirpath), "rename over a directory: %s", vg_last_error());
    if (verbose) printf("  rename: %s\n", vg_last_error());
    CHECK(count_temp_files() == 0, "temporary file left after a failed rename");

    /* 4. a write that fails halfway (file size limit), over the old file */
    struct rlimit old_lim, lim;
    getrlimit(RLIMIT_FSIZE, &old_lim);
    lim = old_lim;
    lim.rlim_cur = 4096;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0, "setrlimit: %s", strerror(errno));
    s = vg_st_writer_save(w, path);
    setrlimit(RLIMIT_FSIZE, &old_lim);
    signal(SIGXFSZ, old_handler);
    CHECK(s == VG_ERR_IO && strstr(vg_last_error(), path), "save past the size limit: %s", vg_last_error());
    if (verbose) printf("  short write: %s\n", vg_last_error());
    CHECK(count_temp_files() == 0, "temporary file left after a failed write");
    vg_st_writer_free(w);

    unsigned char *after = read_bytes(path, &n1);
    CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0, "old file changed by failed saves");
    free(after);
    free(before);
    vg_st_file *f = NULL;
    CHECK(vg_st_open(&f, path) == VG_OK && vg_st_meta(f, "step") && strcmp(vg_st_meta(f, "step"), "100") == 0,
          "old file still reads: %s", vg_last_error());
    vg_st_close(f);

    /* opening a directory or a missing file fails with the path */
    CHECK(vg_st_open(&f, dirpath) == VG_ERR_IO && f == NULL && strstr(vg_last_error(), dirpath), "open dir: %s",
          vg_last_error());
    CHECK(vg_st_open(&f, nodir) == VG_ERR_IO && f == NULL && strstr(vg_last_error(), nodir), "open missing: %s",
          vg_last_error());
}

/* vg_st_open_header against vg_st_open on the PyTorch-written reference
 * file (every dtype): the same tensors, values and bytes, no vg_st_data,
 * bounds; then the file truncated under the open reader: an error naming
 * it, not a crash. */
static void test_header_only(void) {
    const char *ref = "tests/fixtures/safetensors_ref.safetensors";
    char path[512];
    path_in_tmp(path, sizeof path, "header_only.safetensors");
    FILE *in = fopen(ref, "rb");
    static unsigned char bytes[1 << 16];
    size_t n = in ? fread(bytes, 1, sizeof bytes, in) : 0;
    if (in) fclose(in);
    CHECK(n > 0 && n < sizeof bytes && write_bytes(path, bytes, n), "cannot copy %s", ref);
    vg_st_file *whole = NULL, *head = NULL;
    CHECK(vg_st_open(&whole, path) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_open_header(&head, path) == VG_OK, "%s", vg_last_error());
    if (!whole || !head) {
        vg_st_close(whole);
        vg_st_close(head);
        return;
    }
    CHECK(vg_st_count(head) == vg_st_count(whole) && vg_st_meta_count(head) == vg_st_meta_count(whole),
          "header-only: %d tensors, %d metadata", vg_st_count(head), vg_st_meta_count(head));
    int compared = 0;
    for (int k = 0; k < vg_st_count(whole); k++) {
        const char *name = vg_st_name(whole, k);
        int h = vg_st_find(head, name);
        CHECK(h == k && vg_st_dtype_of(head, h) == vg_st_dtype_of(whole, k) && vg_st_numel(head, h) == vg_st_numel(whole, k),
              "tensor '%s' differs in the header-only reader", name);
        CHECK(vg_st_data(head, h) == NULL, "'%s': vg_st_data of a header-only file is not NULL", name);
        size_t nb = vg_st_nbytes(whole, k);
        unsigned char *raw = malloc(nb ? nb : 1);
        CHECK(vg_st_read_bytes(head, h, 0, raw, nb) == VG_OK && memcmp(raw, vg_st_data(whole, k), nb) == 0,
              "'%s': raw bytes differ", name);
        if (nb > 2)
            CHECK(vg_st_read_bytes(head, h, 1, raw, nb - 2) == VG_OK &&
                      memcmp(raw, (const unsigned char *)vg_st_data(whole, k) + 1, nb - 2) == 0,
                  "'%s': an inner byte range differs", name);
        CHECK(vg_st_read_bytes(head, h, 1, raw, nb) == VG_ERR_INVALID, "'%s': a range past the end was read", name);
        free(raw);
        vg_st_dtype d = vg_st_dtype_of(whole, k);
        if (d == VG_ST_F32 || d == VG_ST_F64 || d == VG_ST_F16 || d == VG_ST_BF16) {
            int64_t m = vg_st_numel(whole, k);
            float *a = malloc(sizeof(float) * (size_t)(m ? m : 1)), *b = malloc(sizeof(float) * (size_t)(m ? m : 1));
            CHECK(vg_st_read_f32(whole, name, a, m) == VG_OK && vg_st_read_f32(head, name, b, m) == VG_OK &&
                      memcmp(a, b, sizeof(float) * (size_t)m) == 0,
                  "'%s': values differ between the readers", name);
            compared++;
            free(a);
            free(b);
        }
    }
    CHECK(compared >= 4, "only %d float tensors compared", compared);
    /* the file shrinks to its header: every tensor read now fails cleanly */
    int last = vg_st_count(head) - 1;
    size_t keep = 0; /* the length field and the header: the header length, little-endian, plus 8 */
    for (int i = 7; i >= 0; i--) keep = keep << 8 | bytes[i];
    keep += 8;
    CHECK(truncate(path, (off_t)keep) == 0, "truncate %s", path);
    unsigned char one[64];
    size_t nb = vg_st_nbytes(head, last) < sizeof one ? vg_st_nbytes(head, last) : sizeof one;
    vg_status st = vg_st_read_bytes(head, last, 0, one, nb);
    CHECK(st == VG_ERR_IO && strstr(vg_last_error(), path) && strstr(vg_last_error(), "shrank"),
          "reading a truncated file: %s (%s)", vg_status_name(st), vg_last_error());
    vg_st_close(whole);
    vg_st_close(head);
}

int main(void) {
    verbose = getenv("VG_TEST_VERBOSE") != NULL;
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/vg_st_XXXXXX", base && base[0] ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "FAIL: mkdtemp %s: %s\n", tmpdir, strerror(errno));
        return 1;
    }
    test_roundtrip();
    test_reference();
    test_header_only();
    test_fixture_demo();
    test_corrupt();
    test_lenient();
    test_writer_errors();
    test_atomic_save();
    remove_tmpdir();
    TEST_END();
}
