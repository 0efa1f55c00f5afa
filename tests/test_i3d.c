/* I3D (src/models/i3d.c) against tools/ref_i3d.py's PyTorch model, run in
 * float64 by tools/fixtures/make_i3d.py (tests/fixtures/i3d.safetensors).
 *
 * The 12.7M weights and the input clips are not in the fixture: both come
 * from the hash formula documented in tools/ref_i3d.py, rebuilt here in C,
 * written to a temporary safetensors file with the names of docs/eval.md
 * and loaded through vg_i3d_load. The layer table below is written from the
 * paper (Inception-v1's channel counts), not taken from i3d.c.
 *
 * Checks: the formula's first values against the fixture's probes (exact);
 * the TF1 bilinear resize against numpy (1e-6); the 400 logits and the
 * per-channel means after Mixed_3c and Mixed_4f of two (16, 96, 128)
 * clips resized to 224, an RGB one and a grey one (C = 1, replicated to RGB
 * by the reference), within 1e-5 of the reference's largest magnitude (the
 * grey one is skipped under AddressSanitizer to keep its run short); the
 * SHA-256 of the loaded file;
 * and the error paths: a missing tensor, a mis-shaped one, a file that is
 * not safetensors, a missing file, bad clip shapes. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "core/sha256.h"
#include "io/safetensors.h"
#include "models/i3d.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
#define CLIPS_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLIPS_CHECKED 1
#endif
#endif
#ifndef CLIPS_CHECKED
#define CLIPS_CHECKED 2
#endif

#define FIXTURE "tests/fixtures/i3d.safetensors"
#define NCLIP 2
#define CT 16
#define CH 96
#define CW 128

static char tmpdir[64] = "/tmp/vidgan_i3d_XXXXXX";

/* ---- the hash formula (tools/ref_i3d.py) ----------------------------------------- */

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xCBF29CE484222325ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001B3ull;
    return h;
}

/* s in [-1, 1) for element i of the tensor with key */
static double hash_s(uint64_t key, int64_t i) {
    uint64_t z = key + (uint64_t)(i + 1) * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 40) * (2.0 / 16777216.0) - 1.0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static void fill_tensor(const char *name, float *dst, int64_t n, int64_t fan_in) {
    uint64_t key = fnv1a64(name);
    double c0 = 0, c1 = 0.1;
    if (ends_with(name, "conv3d.weight")) c1 = sqrt(6.0 / (double)fan_in);
    else if (ends_with(name, "bn.weight")) c0 = 1, c1 = 0.25;
    else if (ends_with(name, "bn.running_var")) c0 = 1, c1 = 0.5;
    for (int64_t i = 0; i < n; i++) dst[i] = (float)(c0 + c1 * hash_s(key, i));
}

/* ---- the layer table (Szegedy et al. 2015, table 1; I3D's 3x3x3 branches) ---------- */

#define NTENSORS (57 * 5 + 2)

typedef struct tensor_entry {
    char name[48];
    int ndim;
    int64_t shape[5];
    float *data;
} tensor_entry;

static tensor_entry tensors[NTENSORS];
static int ntensors;

static void add_unit(const char *unit, int cin, int cout, int k) {
    static const char *const bn[4] = {"weight", "bias", "running_mean", "running_var"};
    tensor_entry *t = &tensors[ntensors++];
    *t = (tensor_entry){.ndim = 5, .shape = {cout, cin, k, k, k}};
    snprintf(t->name, sizeof t->name, "%s.conv3d.weight", unit);
    for (int j = 0; j < 4; j++) {
        t = &tensors[ntensors++];
        *t = (tensor_entry){.ndim = 1, .shape = {cout}};
        snprintf(t->name, sizeof t->name, "%s.bn.%s", unit, bn[j]);
    }
}

static void build_table(void) {
    static const struct {
        const char *name;
        int cin, c[6];
    } mixed[9] = {
        {"Mixed_3b", 192, {64, 96, 128, 16, 32, 32}},     {"Mixed_3c", 256, {128, 128, 192, 32, 96, 64}},
        {"Mixed_4b", 480, {192, 96, 208, 16, 48, 64}},    {"Mixed_4c", 512, {160, 112, 224, 24, 64, 64}},
        {"Mixed_4d", 512, {128, 128, 256, 24, 64, 64}},   {"Mixed_4e", 512, {112, 144, 288, 32, 64, 64}},
        {"Mixed_4f", 528, {256, 160, 320, 32, 128, 128}}, {"Mixed_5b", 832, {256, 160, 320, 32, 128, 128}},
        {"Mixed_5c", 832, {384, 192, 384, 48, 128, 128}},
    };
    ntensors = 0;
    add_unit("Conv3d_1a_7x7", 3, 64, 7);
    add_unit("Conv3d_2b_1x1", 64, 64, 1);
    add_unit("Conv3d_2c_3x3", 64, 192, 3);
    for (int m = 0; m < 9; m++) {
        char u[48];
        const int *c = mixed[m].c;
        snprintf(u, sizeof u, "%s.b0", mixed[m].name), add_unit(u, mixed[m].cin, c[0], 1);
        snprintf(u, sizeof u, "%s.b1a", mixed[m].name), add_unit(u, mixed[m].cin, c[1], 1);
        snprintf(u, sizeof u, "%s.b1b", mixed[m].name), add_unit(u, c[1], c[2], 3);
        snprintf(u, sizeof u, "%s.b2a", mixed[m].name), add_unit(u, mixed[m].cin, c[3], 1);
        snprintf(u, sizeof u, "%s.b2b", mixed[m].name), add_unit(u, c[3], c[4], 3);
        snprintf(u, sizeof u, "%s.b3b", mixed[m].name), add_unit(u, mixed[m].cin, c[5], 1);
    }
    tensors[ntensors++] = (tensor_entry){.name = "logits.conv3d.weight", .ndim = 5, .shape = {400, 1024, 1, 1, 1}};
    tensors[ntensors++] = (tensor_entry){.name = "logits.conv3d.bias", .ndim = 1, .shape = {400}};
}

static int64_t numel(const tensor_entry *t) {
    int64_t n = 1;
    for (int k = 0; k < t->ndim; k++) n *= t->shape[k];
    return n;
}

/* All weights in one allocation; returns it (free once). */
static float *make_weights(void) {
    int64_t total = 0;
    for (int i = 0; i < ntensors; i++) total += numel(&tensors[i]);
    float *all = malloc((size_t)total * sizeof *all);
    if (!all) return NULL;
    float *p = all;
    for (int i = 0; i < ntensors; i++) {
        tensor_entry *t = &tensors[i];
        t->data = p;
        fill_tensor(t->name, p, numel(t), t->ndim == 5 ? numel(t) / t->shape[0] : 1);
        p += numel(t);
    }
    return all;
}

/* Save the table to path; skip: a name left out; reshape: a name saved as
 * (shape[0], shape[1]) instead. */
static int save_weights(const char *path, const char *skip, const char *reshape) {
    vg_st_writer *w;
    if (vg_st_writer_new(&w) != VG_OK) return 0;
    for (int i = 0; i < ntensors; i++) {
        const tensor_entry *t = &tensors[i];
        if (skip && strcmp(t->name, skip) == 0) continue;
        if (reshape && strcmp(t->name, reshape) == 0)
            vg_st_writer_add_f32(w, t->name, 2, (int64_t[]){t->shape[0], numel(t) / t->shape[0]}, t->data);
        else
            vg_st_writer_add_f32(w, t->name, t->ndim, t->shape, t->data);
    }
    int ok = vg_st_writer_save(w, path) == VG_OK;
    vg_st_writer_free(w);
    return ok;
}

/* ---- fixture access ---------------------------------------------------------------- */

static float *fixture(vg_st_file *f, const char *name, int64_t want_numel) {
    int i = vg_st_find(f, name);
    CHECK(i >= 0 && vg_st_numel(f, i) == want_numel, "%s: tensor %s missing or not %lld elements", FIXTURE, name,
          (long long)want_numel);
    if (i < 0 || vg_st_numel(f, i) != want_numel) return NULL;
    float *p = malloc((size_t)want_numel * sizeof *p);
    if (p && vg_st_read_f32(f, name, p, want_numel) != VG_OK) {
        free(p);
        p = NULL;
    }
    return p;
}

static void check_probes(vg_st_file *f, const float *input) {
    const char *names[4] = {"Conv3d_1a_7x7.conv3d.weight", "Mixed_5c.b3b.bn.running_var", "Mixed_4e.b1b.bn.weight",
                            "logits.conv3d.bias"};
    for (int j = 0; j < 4; j++) {
        char pname[64];
        snprintf(pname, sizeof pname, "probe.%s", names[j]);
        float *want = fixture(f, pname, 8);
        const float *got = NULL;
        for (int i = 0; i < ntensors; i++)
            if (strcmp(tensors[i].name, names[j]) == 0) got = tensors[i].data;
        CHECK(want && got && memcmp(want, got, 8 * sizeof *got) == 0, "weight formula differs from numpy for %s",
              names[j]);
        free(want);
    }
    float *want = fixture(f, "probe.input", 8);
    CHECK(want && memcmp(want, input, 8 * sizeof *input) == 0, "input formula differs from numpy");
    free(want);
    want = fixture(f, "probe.input_grey", 8);
    CHECK(want && memcmp(want, input + 3LL * CT * CH * CW, 8 * sizeof *input) == 0,
          "grey input formula differs from numpy");
    free(want);
}

static void check_resize(vg_st_file *f, const float *input) {
    float *in = fixture(f, "resize.in", 2 * 5 * 7), *up = fixture(f, "resize.up", 2 * 11 * 16),
          *down = fixture(f, "resize.down", 2 * 3 * 4), *rows = fixture(f, "resize.frame_rows", 16 * 224);
    float got_up[2 * 11 * 16], got_down[2 * 3 * 4];
    float *frame = malloc(224 * 224 * sizeof *frame);
    if (in && up && down && rows && frame) {
        vg_i3d_resize_bilinear(got_up, in, 2, 5, 7, 11, 16);
        CHECK_CLOSE("resize 5x7 -> 11x16", got_up, up, 2 * 11 * 16, 1e-6, 0);
        vg_i3d_resize_bilinear(got_down, in, 2, 5, 7, 3, 4);
        CHECK_CLOSE("resize 5x7 -> 3x4", got_down, down, 2 * 3 * 4, 1e-6, 0);
        vg_i3d_resize_bilinear(frame, input, 1, CH, CW, 224, 224);
        CHECK_CLOSE("resize frame rows 0-7", frame, rows, 8 * 224, 1e-6, 0);
        CHECK_CLOSE("resize frame rows 216-223", frame + 216 * 224, rows + 8 * 224, 8 * 224, 1e-6, 0);
    }
    free(in), free(up), free(down), free(rows), free(frame);
}

/* ---- error paths ----------------------------------------------------------------------- */

static void expect_load_fail(vg_ctx *ctx, const char *path, vg_status want, const char *needle) {
    vg_i3d *m = (vg_i3d *)&m; /* must be reset to NULL on failure */
    vg_status s = vg_i3d_load(&m, ctx, path, NULL);
    CHECK(s == want && m == NULL, "%s: status %s, want %s", path, vg_status_name(s), vg_status_name(want));
    CHECK(strstr(vg_last_error(), path) && strstr(vg_last_error(), needle), "%s: message '%s' should name '%s'",
          path, vg_last_error(), needle);
    vg_i3d_free(s == VG_OK ? m : NULL);
}

static void check_errors(vg_ctx *ctx, const char *good) {
    char path[128];
    snprintf(path, sizeof path, "%s/missing.safetensors", tmpdir);
    CHECK(save_weights(path, "Mixed_4d.b2b.bn.running_var", NULL), "save without a tensor: %s", vg_last_error());
    expect_load_fail(ctx, path, VG_ERR_FORMAT, "'Mixed_4d.b2b.bn.running_var' is missing");
    unlink(path);
    snprintf(path, sizeof path, "%s/shape.safetensors", tmpdir);
    CHECK(save_weights(path, NULL, "logits.conv3d.weight"), "save with a mis-shaped tensor: %s", vg_last_error());
    expect_load_fail(ctx, path, VG_ERR_FORMAT, "'logits.conv3d.weight' has shape (400, 1024), expected (400, 1024, 1, 1, 1)");
    unlink(path);
    snprintf(path, sizeof path, "%s/text.safetensors", tmpdir);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fputs("these are not I3D weights\n", fp);
        fclose(fp);
    }
    expect_load_fail(ctx, path, VG_ERR_FORMAT, path);
    unlink(path);
    snprintf(path, sizeof path, "%s/absent.safetensors", tmpdir);
    expect_load_fail(ctx, path, VG_ERR_IO, "absent.safetensors");

    /* bad clip shapes are refused before any work */
    vg_i3d *m;
    if (vg_i3d_load(&m, ctx, good, NULL) != VG_OK) return;
    float clip[3 * 8 * 4 * 4] = {0}, out[400];
    CHECK(vg_i3d_features(m, ctx, clip, 1, 3, 8, 4, 4, out) == VG_ERR_INVALID && strstr(vg_last_error(), "T >= 9"),
          "8 frames must be refused: %s", vg_last_error());
    CHECK(vg_i3d_features(m, ctx, clip, 1, 2, 9, 4, 4, out) == VG_ERR_INVALID && strstr(vg_last_error(), "C = 1 or 3"),
          "2 channels must be refused: %s", vg_last_error());
    vg_i3d_free(m);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    vg_ctx *ctx;
    vg_st_file *fx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK || vg_st_open(&fx, FIXTURE) != VG_OK) {
        fprintf(stderr, "%s\n", vg_last_error());
        return 1;
    }
    build_table();
    CHECK(ntensors == NTENSORS, "%d tensors in the table", ntensors);
    const int64_t clip_numel = 3LL * CT * CH * CW;
    float *all = make_weights(), *input = malloc((size_t)(NCLIP * clip_numel) * sizeof *input);
    if (!all || !input) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t key = fnv1a64("input"), grey_key = fnv1a64("input_grey");
    for (int64_t i = 0; i < clip_numel; i++) input[i] = (float)hash_s(key, i);
    float *grey = input + clip_numel; /* (1, CT, CH, CW) */
    for (int64_t i = 0; i < clip_numel / 3; i++) grey[i] = (float)hash_s(grey_key, i);
    check_probes(fx, input);
    check_resize(fx, input);

    char path[128], hash[65] = {0}, want_hash[65];
    snprintf(path, sizeof path, "%s/i3d.safetensors", tmpdir);
    CHECK(save_weights(path, NULL, NULL), "saving the test weights: %s", vg_last_error());
    vg_i3d *m = NULL;
    vg_status s = vg_i3d_load(&m, ctx, path, hash);
    CHECK(s == VG_OK, "load: %s", vg_last_error());
    CHECK(vg_sha256_file(path, want_hash) == VG_OK && strlen(hash) == 64 && strcmp(hash, want_hash) == 0,
          "hash '%s' of the loaded file", hash);

    float *want = fixture(fx, "logits", NCLIP * 400), *want3c = fixture(fx, "mean_mixed_3c", NCLIP * 480),
          *want4f = fixture(fx, "mean_mixed_4f", NCLIP * 832);
    if (s == VG_OK && want && want3c && want4f) {
        float got[NCLIP * 400], got3c[NCLIP * 480], got4f[NCLIP * 832];
        s = vg_i3d_features_taps(m, ctx, input, 1, 3, CT, CH, CW, got, got3c, got4f);
        if (s == VG_OK && CLIPS_CHECKED > 1)
            s = vg_i3d_features_taps(m, ctx, grey, 1, 1, CT, CH, CW, got + 400, got3c + 480, got4f + 832);
        CHECK(s == VG_OK, "features: %s", vg_last_error());
        CHECK(vg_ctx_arena_used(ctx) == 0, "the arena is rewound (%zu bytes in use)", vg_ctx_arena_used(ctx));
        for (int c = 0; s == VG_OK && c < CLIPS_CHECKED; c++) {
            char what[64];
            snprintf(what, sizeof what, "%s clip: mean after Mixed_3c", c ? "grey" : "RGB");
            CHECK_CLOSE(what, got3c + c * 480, want3c + c * 480, 480, 1e-5, 0);
            snprintf(what, sizeof what, "%s clip: mean after Mixed_4f", c ? "grey" : "RGB");
            CHECK_CLOSE(what, got4f + c * 832, want4f + c * 832, 832, 1e-5, 0);
            snprintf(what, sizeof what, "%s clip: 400 logits", c ? "grey" : "RGB");
            CHECK_CLOSE(what, got + c * 400, want + c * 400, 400, 1e-5, 0);
        }
    }
    vg_i3d_free(m);
    check_errors(ctx, path);
    unlink(path);
    CHECK(rmdir(tmpdir) == 0, "%s: left files behind", tmpdir);
    free(want), free(want3c), free(want4f), free(all), free(input);
    vg_st_close(fx);
    vg_ctx_free(ctx);
    TEST_END();
}
