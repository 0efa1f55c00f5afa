/* test_npy.c — the .npy reader (io/npy.h) and the "npy" data source: files
 * written byte by byte in numpy's layout (v1.0 / v2.0 / v3.0 headers, 16- and
 * 64-byte padding, |u1 <f4 >f4 <f8, 4-D / 5-D / TNHW), clip contents checked
 * exactly, every broken file refused with its path in the message. If
 * /usr/bin/python3 has numpy, one file written by numpy.save is read too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "io/npy.h"
#include "test.h"

static char dir[64];

static const char *path_of(const char *name) {
    static char p[8][256];
    static int k;
    k = (k + 1) % 8;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

/* Write a .npy: major version, the dict text (padded with spaces to a
 * multiple of pad, then '\n', as numpy does; pad 0 = no padding, no '\n'),
 * the data. hlen_delta is added to the stored header length (to lie). */
static void write_npy_ex(const char *path, int major, const char *dict, int pad, long hlen_delta, const void *data,
                         size_t nbytes) {
    const size_t pre = major == 1 ? 10 : 12;
    size_t hlen = strlen(dict);
    if (pad) {
        hlen += 1; /* '\n' */
        while ((pre + hlen) % (size_t)pad) hlen++;
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        exit(2);
    }
    unsigned char b[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    size_t stored = (size_t)((long)hlen + hlen_delta);
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(stored >> (8 * i));
    fwrite(b, 1, pre, fp);
    fputs(dict, fp);
    if (pad) {
        for (size_t i = strlen(dict); i + 1 < hlen; i++) fputc(' ', fp);
        fputc('\n', fp);
    }
    if (nbytes) fwrite(data, 1, nbytes, fp);
    fclose(fp);
}

static void write_npy(const char *path, int major, int pad, const char *descr, const char *shape, const void *data,
                      size_t nbytes) {
    char dict[256];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr, shape);
    write_npy_ex(path, major, dict, pad, 0, data, nbytes);
}

static void put_be32(unsigned char *p, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(u >> (24 - 8 * i));
}

static float u8_px(unsigned v) { return 2.0f * ((float)v * (1.0f / 255.0f)) - 1.0f; }

static void test_parse(void) {
    /* v1.0, 16-byte padding, |u1, 4-D */
    unsigned char u[2 * 3 * 4 * 4];
    for (size_t i = 0; i < sizeof u; i++) u[i] = (unsigned char)(i * 7 + 3);
    const char *p = path_of("u8.npy");
    write_npy(p, 1, 16, "|u1", "(2, 3, 4, 4)", u, sizeof u);
    vg_npy *f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK, "%s", vg_last_error());
    if (f) {
        CHECK(vg_npy_version(f) == 1 && vg_npy_dtype_of(f) == VG_NPY_U8 && vg_npy_item_size(f) == 1, "u8 meta");
        CHECK(vg_npy_ndim(f) == 4 && vg_npy_shape(f)[0] == 2 && vg_npy_shape(f)[1] == 3 && vg_npy_shape(f)[3] == 4, "shape");
        CHECK(vg_npy_numel(f) == 96 && vg_npy_nbytes(f) == 96 && memcmp(vg_npy_data(f), u, 96) == 0, "data");
        float got[96];
        CHECK(vg_npy_read_f32(f, 0, 96, got) == VG_OK, "read");
        int same = 1;
        for (int i = 0; i < 96; i++) same &= got[i] == (float)u[i];
        CHECK(same, "u8 values");
        CHECK(vg_npy_read_f32(f, 90, 7, got) != VG_OK, "read past the end refused");
        vg_npy_close(f);
    }
    /* v2.0, 64-byte padding, <f4, 5-D */
    float fl[2 * 2 * 2 * 2 * 3];
    for (int i = 0; i < 48; i++) fl[i] = (float)i / 47.0f;
    p = path_of("f4.npy");
    write_npy(p, 2, 64, "<f4", "(2, 2, 2, 2, 3)", fl, sizeof fl);
    f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK, "%s", vg_last_error());
    if (f) {
        CHECK(vg_npy_version(f) == 2 && vg_npy_dtype_of(f) == VG_NPY_F32 && !vg_npy_big_endian(f), "f4 meta");
        CHECK(vg_npy_ndim(f) == 5 && vg_npy_shape(f)[4] == 3, "5-D");
        float got[48];
        CHECK(vg_npy_read_f32(f, 0, 48, got) == VG_OK && memcmp(got, fl, sizeof got) == 0, "f4 values");
        vg_npy_close(f);
    }
    /* v3.0, >f4, 1-tuple, no padding at all */
    unsigned char be[5 * 4];
    const float want5[5] = {0.5f, -1.25f, 3.0f, 1e-3f, 65504.0f};
    for (int i = 0; i < 5; i++) put_be32(be + 4 * i, want5[i]);
    p = path_of("be.npy");
    write_npy(p, 3, 0, ">f4", "(5,)", be, sizeof be);
    f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK, "%s", vg_last_error());
    if (f) {
        float got[5];
        CHECK(vg_npy_version(f) == 3 && vg_npy_big_endian(f) && vg_npy_ndim(f) == 1 && vg_npy_shape(f)[0] == 5, ">f4 meta");
        CHECK(vg_npy_read_f32(f, 0, 5, got) == VG_OK && memcmp(got, want5, sizeof got) == 0, ">f4 values");
        vg_npy_close(f);
    }
    /* <f8, double-quoted keys, Python 2 longs, scalar and empty arrays */
    const double d6[6] = {1, 2.5, -3, 0.125, 1e10, -0.0};
    p = path_of("f8.npy");
    write_npy_ex(p, 1, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (3L, 2L)}", 16, 0, d6, sizeof d6);
    f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK, "%s", vg_last_error());
    if (f) {
        float got[6];
        CHECK(vg_npy_dtype_of(f) == VG_NPY_F64 && vg_npy_shape(f)[0] == 3 && vg_npy_shape(f)[1] == 2, "f8 meta");
        CHECK(vg_npy_read_f32(f, 0, 6, got) == VG_OK && got[1] == 2.5f && got[4] == 1e10f && got[5] == 0.0f, "f8 values");
        vg_npy_close(f);
    }
    p = path_of("scalar.npy");
    write_npy(p, 1, 16, "<f4", "()", want5, 4);
    f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK && vg_npy_ndim(f) == 0 && vg_npy_numel(f) == 1, "scalar: %s", vg_last_error());
    vg_npy_close(f);
    p = path_of("empty.npy");
    write_npy(p, 1, 64, "|u1", "(0, 5)", NULL, 0);
    f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK && vg_npy_numel(f) == 0 && vg_npy_nbytes(f) == 0, "empty: %s", vg_last_error());
    vg_npy_close(f);
    /* memory */
    static const unsigned char mem[] = "\x93NUMPY\x01\x00\x3a\x00{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n\x07\x09";
    f = NULL;
    CHECK(vg_npy_open_memory(&f, mem, sizeof mem - 1, "mem.npy") == VG_OK, "%s", vg_last_error());
    if (f) CHECK(vg_npy_numel(f) == 2 && ((const unsigned char *)vg_npy_data(f))[1] == 9, "memory data");
    vg_npy_close(f);
}

static void expect_bad(const char *name, int major, const char *dict, int pad, long delta, size_t nbytes, const char *why) {
    static unsigned char zeros[4096];
    const char *p = path_of(name);
    write_npy_ex(p, major, dict, pad, delta, zeros, nbytes);
    vg_npy *f = (vg_npy *)&zeros; /* must come back NULL */
    vg_status st = vg_npy_open(&f, p);
    CHECK(st != VG_OK && f == NULL, "%s: opened", name);
    CHECK(strstr(vg_last_error(), p) != NULL, "%s: message lacks the path: %s", name, vg_last_error());
    if (why) CHECK(strstr(vg_last_error(), why) != NULL, "%s: message lacks \"%s\": %s", name, why, vg_last_error());
}

static void test_broken(void) {
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    expect_bad("toolong.npy", 1, ok, 16, 0, 28, "24 bytes of data, the file holds 28");
    expect_bad("tooshort.npy", 1, ok, 16, 0, 20, "24 bytes of data, the file holds 20");
    expect_bad("past.npy", 1, ok, 16, 1000, 24, "past the end");
    expect_bad("past2.npy", 2, ok, 64, 1L << 30, 24, "past the end");
    expect_bad("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 16, 0, 24, "Fortran");
    expect_bad("descr.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }", 16, 0, 24, "'<i4'");
    expect_bad("descr2.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", 16, 0, 8, NULL);
    expect_bad("nokey.npy", 1, "{'descr': '<f4', 'shape': (2, 3), }", 16, 0, 24, "'fortran_order'");
    expect_bad("twice.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'shape': (2, 3)}", 16, 0, 24,
               "twice");
    expect_bad("extra.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}", 16, 0, 24, "'x'");
    expect_bad("garbage.npy", 1, "}}garbage{{ (2, 3)", 16, 0, 24, "dict");
    expect_bad("garbage2.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", 16, 0, 24, NULL);
    expect_bad("garbage3.npy", 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2, 3)}", 16, 0, 24, NULL);
    expect_bad("notuple.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", 16, 0, 24, "not a tuple");
    expect_bad("negdim.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", 16, 0, 24, NULL);
    expect_bad("huge.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 16, 0, 24,
               "overflow");
    expect_bad("version.npy", 4, ok, 16, 0, 24, "version");
    /* wrong magic, truncated preamble */
    const char *p = path_of("magic.npy");
    FILE *fp = fopen(p, "wb");
    fputs("\x93NUMPX\x01\x00\x10\x00{}              ", fp);
    fclose(fp);
    vg_npy *f = NULL;
    CHECK(vg_npy_open(&f, p) != VG_OK && f == NULL && strstr(vg_last_error(), p) && strstr(vg_last_error(), "magic"),
          "magic: %s", vg_last_error());
    p = path_of("trunc.npy");
    fp = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00", 1, 8, fp);
    fclose(fp);
    CHECK(vg_npy_open(&f, p) != VG_OK && f == NULL && strstr(vg_last_error(), p), "truncated: %s", vg_last_error());
    /* header cut off mid-dict */
    p = path_of("cut.npy");
    fp = fopen(p, "wb");
    fwrite("\x93NUMPY\x01\x00\x46\x00{'descr': '<f4', 'fortr", 1, 33, fp);
    fclose(fp);
    CHECK(vg_npy_open(&f, p) != VG_OK && f == NULL && strstr(vg_last_error(), p) && strstr(vg_last_error(), "past the end"),
          "cut: %s", vg_last_error());
    p = path_of("missing.npy");
    CHECK(vg_npy_open(&f, p) == VG_ERR_IO && strstr(vg_last_error(), p), "missing: %s", vg_last_error());
}

static void test_source(void) {
    /* NTHW uint8 (2 videos, 3 frames, 4x4), clips of 2 frames at size 4 */
    unsigned char u[2 * 3 * 4 * 4];
    for (size_t i = 0; i < sizeof u; i++) u[i] = (unsigned char)(i * 37 + 11);
    const char *p = path_of("nthw.npy");
    write_npy(p, 1, 64, "|u1", "(2, 3, 4, 4)", u, sizeof u);
    vg_dataset *ds = NULL;
    vg_dataset_spec spec = {.source = p, .frames = 2, .size = 4};
    CHECK(vg_dataset_open(&ds, &spec) == VG_OK, "%s", vg_last_error());
    if (ds) {
        const vg_dataset_desc *d = vg_dataset_info(ds);
        CHECK(d->channels == 1 && d->frames == 2 && d->height == 4 && d->size == 2 && d->num_classes == 1, "desc");
        CHECK(strcmp(d->source, p) == 0, "source");
        float clip[2 * 16];
        int64_t label = -1;
        for (int idx = 0; idx < 4; idx++) {
            CHECK(vg_dataset_clip(ds, idx, clip, &label) == VG_OK && label == 0, "clip %d", idx);
            int same = 1, n = idx % 2;
            for (int t = 0; t < 2; t++)
                for (int k = 0; k < 16; k++) same &= clip[t * 16 + k] == u8_px(u[(n * 3 + t) * 16 + k]);
            CHECK(same, "clip %d contents", idx);
        }
        /* batch in parallel == clip by clip */
        float batch[8 * 32], one[32];
        vg_set_threads(4);
        CHECK(vg_dataset_batch(ds, 3, 8, batch, NULL) == VG_OK, "batch");
        int same = 1;
        for (int i = 0; i < 8; i++) {
            vg_dataset_clip(ds, 3 + i, one, NULL);
            same &= memcmp(one, batch + 32 * i, sizeof one) == 0;
        }
        CHECK(same, "batch == clips");
        vg_set_threads(0);
        vg_dataset_close(ds);
    }
    /* resize: 4x4 -> 2x2 area average, -> 8x8 nearest */
    spec.frames = 1;
    spec.size = 2;
    ds = NULL;
    CHECK(vg_dataset_open(&ds, &spec) == VG_OK, "%s", vg_last_error());
    if (ds) {
        float clip[4];
        vg_dataset_clip(ds, 1, clip, NULL);
        const unsigned char *fr = u + 3 * 16; /* video 1 frame 0 */
        int same = 1;
        for (int y = 0; y < 2; y++)
            for (int x = 0; x < 2; x++) {
                double s = 0;
                for (int dy = 0; dy < 2; dy++)
                    for (int dx = 0; dx < 2; dx++) s += fr[(2 * y + dy) * 4 + 2 * x + dx];
                float want = 2.0f * ((float)(s / 4.0) / 255.0f) - 1.0f;
                same &= fabsf(clip[y * 2 + x] - want) < 1e-6f;
            }
        CHECK(same, "area 4->2");
        vg_dataset_close(ds);
    }
    spec.size = 8;
    spec.channels = 3;
    ds = NULL;
    CHECK(vg_dataset_open(&ds, &spec) == VG_OK, "%s", vg_last_error());
    if (ds) {
        float clip[3 * 64];
        vg_dataset_clip(ds, 0, clip, NULL);
        int same = 1;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++) same &= clip[c * 64 + y * 8 + x] == u8_px(u[(y / 2) * 4 + x / 2]);
        CHECK(same, "nearest 4->8, grey replicated to 3 channels");
        vg_dataset_close(ds);
    }
    /* NTHWC float, 3 channels, and luma */
    float fl[2 * 2 * 2 * 2 * 3];
    for (int i = 0; i < 48; i++) fl[i] = (float)((i * 5) % 48) / 47.0f;
    p = path_of("nthwc.npy");
    write_npy(p, 2, 16, "<f4", "(2, 2, 2, 2, 3)", fl, sizeof fl);
    vg_dataset_spec s2 = {.source = p, .frames = 2, .size = 2};
    ds = NULL;
    CHECK(vg_dataset_open(&ds, &s2) == VG_OK, "%s", vg_last_error());
    if (ds) {
        float clip[3 * 2 * 4];
        CHECK(vg_dataset_info(ds)->channels == 3, "3 channels");
        vg_dataset_clip(ds, 5, clip, NULL); /* video 1 */
        int same = 1;
        for (int c = 0; c < 3; c++)
            for (int t = 0; t < 2; t++)
                for (int k = 0; k < 4; k++) same &= clip[(c * 2 + t) * 4 + k] == 2.0f * fl[((1 * 2 + t) * 4 + k) * 3 + c] - 1.0f;
        CHECK(same, "NTHWC contents");
        vg_dataset_close(ds);
    }
    s2.channels = 1;
    ds = NULL;
    CHECK(vg_dataset_open(&ds, &s2) == VG_OK, "%s", vg_last_error());
    if (ds) {
        float clip[2 * 4];
        vg_dataset_clip(ds, 0, clip, NULL);
        const float *px = fl + 3 * 3; /* video 0, frame 0, pixel 3 */
        float want = 0.299f * (2 * px[0] - 1) + 0.587f * (2 * px[1] - 1) + 0.114f * (2 * px[2] - 1);
        CHECK(fabsf(clip[3] - want) < 1e-6f, "luma %g vs %g", clip[3], want);
        vg_dataset_close(ds);
    }
    /* TNHW like mnist_test_seq.npy: (T 3, N 2, 4, 4) uint8, v3.0 header */
    p = path_of("tnhw.npy");
    write_npy(p, 3, 64, "|u1", "(3, 2, 4, 4)", u, sizeof u);
    vg_dataset_spec s3 = {.source = p, .frames = 3, .size = 4, .npy_layout = "TNHW"};
    ds = NULL;
    CHECK(vg_dataset_open(&ds, &s3) == VG_OK, "%s", vg_last_error());
    if (ds) {
        float clip[3 * 16];
        CHECK(vg_dataset_info(ds)->size == 2, "TNHW N");
        vg_dataset_clip(ds, 1, clip, NULL);
        int same = 1;
        for (int t = 0; t < 3; t++)
            for (int k = 0; k < 16; k++) same &= clip[t * 16 + k] == u8_px(u[(t * 2 + 1) * 16 + k]);
        CHECK(same, "TNHW contents");
        vg_dataset_close(ds);
    }
    /* source errors name the file */
    struct {
        const char *src, *layout;
        int frames, channels;
        const char *why;
    } bad[] = {
        {"nthw.npy", NULL, 4, 0, "only 3"},
        {"nthw.npy", "HWTN", 2, 0, "HWTN"},
        {"nthwc.npy", "TNHW", 2, 0, "4-D"},
        {"nthw.npy", NULL, 2, 2, "channels"},
        {"u8.npy.missing.npy", NULL, 2, 0, "cannot open"},
        {"be.npy", NULL, 1, 0, "dimensions"},
        {"toolong.npy", NULL, 1, 0, "bytes of data"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *bp = path_of(bad[i].src);
        vg_dataset_spec sb = {.source = bp, .frames = bad[i].frames, .size = 4, .channels = bad[i].channels,
                              .npy_layout = bad[i].layout};
        ds = (vg_dataset *)&sb;
        CHECK(vg_dataset_open(&ds, &sb) != VG_OK && ds == NULL, "bad source %zu opened", i);
        CHECK(strstr(vg_last_error(), bp) && strstr(vg_last_error(), bad[i].why), "bad source %zu: %s", i, vg_last_error());
    }
}

static void test_numpy(void) {
    if (system("/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1") != 0) {
        printf("note: /usr/bin/python3 has no numpy: skipping the numpy.save cross-check\n");
        return;
    }
    char cmd[512];
    const char *p = path_of("numpy.npy");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; np.save('%s', (np.arange(2*3*4*5) %% 251).astype(np.uint8).reshape(2,3,4,5))\"",
             p);
    CHECK(system(cmd) == 0, "numpy.save failed");
    vg_npy *f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK, "%s", vg_last_error());
    if (f) {
        CHECK(vg_npy_ndim(f) == 4 && vg_npy_shape(f)[3] == 5 && vg_npy_dtype_of(f) == VG_NPY_U8, "numpy meta");
        const unsigned char *d = vg_npy_data(f);
        int same = 1;
        for (int i = 0; i < 120; i++) same &= d[i] == i % 251;
        CHECK(same, "numpy data");
        vg_npy_close(f);
    }
    p = path_of("numpy_be.npy");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import numpy as np; np.save('%s', (np.arange(12)/11).astype('>f4').reshape(1,3,2,2))\"", p);
    CHECK(system(cmd) == 0, "numpy.save failed");
    f = NULL;
    CHECK(vg_npy_open(&f, p) == VG_OK, "%s", vg_last_error());
    if (f) {
        float got[12];
        CHECK(vg_npy_big_endian(f) && vg_npy_read_f32(f, 0, 12, got) == VG_OK && got[11] == 1.0f &&
                  got[5] == (float)(5.0 / 11.0),
              "numpy >f4 values");
        vg_npy_close(f);
    }
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/vg_npy_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    test_parse();
    test_broken();
    test_source();
    test_numpy();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    TEST_END();
}
