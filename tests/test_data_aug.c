/* test_data_aug.c — clip sampling as torchvision / decord users expect it:
 * random crop, horizontal flip, clips at a target frame rate and
 * --labels none, through the data set interface and the CLI.
 *
 * The inputs are made by the ffmpeg program with known pixels: lossless
 * RGB PNG-in-MOV videos and PNG frame folders whose pixel columns (or rows)
 * hold level 5 * x (5 * y), a 25 fps video whose frame n is the solid level
 * 5 * n, and a uint8 .npy written here whose columns hold 5 * x. So every
 * expectation is computed from the definitions: a random crop of offset o
 * at S = the frame's height shows levels 5 * (o + x) exactly; halving the
 * frame first (S = 16 from 32 rows) shows 10 * (o + x) + 2.5 within the
 * area filter's rounding; a flip reverses the columns; 12.5 fps from 25
 * takes every second frame, 10 fps frames round(2.5 k), 50 fps repeats.
 * Also: offsets stay in range, vary with the clip index and repeat for the
 * same (seed, index); about half the clips are flipped; the checkpoint's
 * data description carries the new fields (a resume without the options
 * gives bit-identical weights) and leaves default runs' descriptions as
 * before; bad combinations are refused with messages and non-zero exits. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/clip_cache.h"
#include "data/dataset.h"
#include "data/video_folder.h"
#include "test.h"
#include "cli_run.h"
#include "npy_header.h"
#include "train/checkpoint.h"

static const char *SMALL = "--size 16 --frames 4 --g-base 8 --d-base 8 --z-dim 16 --batch 4 --sample-n 4 --threads 2 "
                           "--sample-every 0";

/* tmp/name in one of 8 rotating buffers. */
static const char *path_of(const char *name) {
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", tmp, name);
    return b;
}

static vg_dataset *open_ds(vg_dataset_spec spec) {
    vg_dataset *ds = NULL;
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "open %s: %s", spec.source, vg_last_error());
    return st == VG_OK ? ds : NULL;
}

/* The 8-bit level of a clip value in [-1, 1]. */
static double level(float v) { return ((double)v + 1.0) * 127.5; }

/* Clip `index` of ds into a fresh buffer (C, T, S, S). */
static float *clip_of(const vg_dataset *ds, int64_t index, int64_t *label) {
    float *x = malloc((size_t)vg_dataset_clip_numel(ds) * sizeof *x);
    vg_status st = x ? vg_dataset_clip(ds, index, x, label) : VG_ERR_NOMEM;
    CHECK(st == VG_OK, "clip %lld: %s", (long long)index, vg_last_error());
    if (st != VG_OK) {
        free(x);
        return NULL;
    }
    return x;
}

/* Largest |level - want(x or y)| over every channel, frame and pixel of a
 * clip whose pixels should depend on one coordinate: want = a + b * (o + u)
 * with u = x (or S-1-x when flipped) for axis 0, u = y for axis 1. */
static double worst_ramp(const float *x, int C, int T, int S, int axis, int o, int flip, double a, double b) {
    double worst = 0;
    for (int c = 0; c < C; c++)
        for (int t = 0; t < T; t++)
            for (int yy = 0; yy < S; yy++)
                for (int xx = 0; xx < S; xx++) {
                    int u = axis == 0 ? (flip ? S - 1 - xx : xx) : yy;
                    double want = a + b * (o + u);
                    double got = level(x[(((size_t)c * T + t) * S + yy) * S + xx]);
                    worst = fmax(worst, fabs(got - want));
                }
    return worst;
}

/* Random crop on a source whose columns (axis 0) or rows (axis 1) hold 5 *
 * the coordinate: offsets in [0, range], varied, repeatable, and pixels the
 * window at that offset (exact when S is the frame's shorter side, i.e. no
 * scaling; halved: 10 * u + 2.5 within tol). */
static void check_random_crop(const char *what, vg_dataset_spec spec, int axis, int range, double a, double b, double tol) {
    spec.crop = VG_CROP_RANDOM;
    vg_dataset *ds = open_ds(spec);
    vg_dataset *again = open_ds(spec);
    if (!ds || !again) return;
    const int S = spec.size, T = spec.frames, C = vg_dataset_info(ds)->channels;
    int seen[4096] = {0}, distinct = 0, in_range = 1, other_zero = 1, same = 1;
    double worst = 0;
    for (int64_t i = 0; i < 64; i++) {
        vg_clip_sample s1, s2;
        CHECK(vg_dataset_clip_sample(ds, i, &s1) == VG_OK && vg_dataset_clip_sample(again, i, &s2) == VG_OK, "sample");
        int o = axis == 0 ? s1.crop_x : s1.crop_y, other = axis == 0 ? s1.crop_y : s1.crop_x;
        in_range &= o >= 0 && o <= range;
        other_zero &= other == 0;
        same &= s1.crop_x == s2.crop_x && s1.crop_y == s2.crop_y && s1.item == s2.item && s1.start == s2.start;
        if (o >= 0 && o <= range && !seen[o]++) distinct++;
        if (i < 16) { /* pixels: the window at o; and the same clip from another open */
            float *x = clip_of(ds, i, NULL), *y = clip_of(again, i, NULL);
            if (!x || !y) {
                free(x);
                free(y);
                continue;
            }
            worst = fmax(worst, worst_ramp(x, C, T, S, axis, o, 0, a, b));
            same &= memcmp(x, y, (size_t)vg_dataset_clip_numel(ds) * sizeof *x) == 0;
            free(x);
            free(y);
        }
    }
    CHECK(in_range && other_zero, "%s: crop offsets out of [0, %d] or off the longer side", what, range);
    CHECK(distinct >= (range + 1 < 8 ? range + 1 : 8), "%s: only %d distinct offsets in 64 clips (range 0..%d)", what,
          distinct, range);
    CHECK(same, "%s: the same (seed, index) gave another offset or other pixels", what);
    CHECK(worst <= tol, "%s: pixels differ from the window at the drawn offset by %.2f levels (tolerance %.2f)", what, worst,
          tol);
    printf("  %s: %d distinct offsets of 0..%d in 64 clips, worst pixel error %.2f levels\n", what, distinct, range, worst);
    /* another seed draws other offsets */
    spec.seed += 1;
    vg_dataset *other = open_ds(spec);
    int differ = 0;
    for (int64_t i = 0; other && i < 64; i++) {
        vg_clip_sample s1, s2;
        vg_dataset_clip_sample(ds, i, &s1);
        vg_dataset_clip_sample(other, i, &s2);
        differ += s1.crop_x != s2.crop_x || s1.crop_y != s2.crop_y;
    }
    CHECK(range == 0 || differ > 16, "%s: seed + 1 changed only %d of 64 offsets", what, differ);
    vg_dataset_close(other);
    vg_dataset_close(ds);
    vg_dataset_close(again);
}

/* hflip: a flipped clip is the unflipped clip (same seed and index, flips
 * off) with its columns reversed, an unflipped one is the same; about half
 * are flipped; a flipped clip's pixels are the mirrored ramp. */
static void check_hflip(const char *what, vg_dataset_spec spec, int random_crop) {
    spec.crop = random_crop ? VG_CROP_RANDOM : VG_CROP_CENTRE;
    spec.hflip = 0;
    vg_dataset *plain = open_ds(spec);
    spec.hflip = 1;
    vg_dataset *ds = open_ds(spec);
    if (!plain || !ds) return;
    const int S = spec.size, T = spec.frames, C = vg_dataset_info(ds)->channels;
    int flips = 0, mirror_ok = 1, ramp_ok = 1, same_sample = 1;
    const int n = 64;
    for (int64_t i = 0; i < n; i++) {
        vg_clip_sample s, p;
        vg_dataset_clip_sample(ds, i, &s);
        vg_dataset_clip_sample(plain, i, &p);
        same_sample &= s.item == p.item && s.start == p.start && s.crop_x == p.crop_x && p.flip == 0;
        flips += s.flip;
        if (i >= 24) continue;
        float *x = clip_of(ds, i, NULL), *ref = clip_of(plain, i, NULL);
        if (!x || !ref) {
            free(x);
            free(ref);
            continue;
        }
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                for (int yy = 0; yy < S; yy++)
                    for (int xx = 0; xx < S; xx++) {
                        size_t row = (((size_t)c * T + t) * S + yy) * S;
                        mirror_ok &= x[row + xx] == ref[row + (s.flip ? S - 1 - xx : xx)];
                    }
        int o = s.crop_x >= 0 ? s.crop_x : (48 - 32) / 2; /* the centre square of a 48-wide frame at S = 32 */
        ramp_ok &= worst_ramp(x, C, T, S, 0, o, s.flip, 0, 5) <= 0.01;
        free(x);
        free(ref);
    }
    CHECK(same_sample, "%s: turning hflip on changed the video, start or crop of a clip", what);
    CHECK(mirror_ok, "%s: flipped clips are not the unflipped ones mirrored (or unflipped ones changed)", what);
    CHECK(ramp_ok, "%s: flipped pixels are not the reversed columns", what);
    CHECK(flips >= 20 && flips <= 44, "%s: %d of %d clips flipped, expected about half", what, flips, n);
    printf("  %s: %d of %d clips flipped\n", what, flips, n);
    vg_dataset_close(plain);
    vg_dataset_close(ds);
}

/* The frame numbers of a clip from the ramp video (frame n = level 5 n). */
static int clip_frames(const vg_dataset *ds, int64_t index, int T, int S, int64_t *frames) {
    float *x = clip_of(ds, index, NULL);
    if (!x) return 0;
    for (int t = 0; t < T; t++) frames[t] = (int64_t)floor(level(x[(size_t)t * S * S + (S / 2) * S + S / 2]) / 5.0 + 0.5);
    free(x);
    return 1;
}

static void check_fps(void) {
    printf("target frame rate\n");
    const int T = 8, S = 16;
    struct {
        double fps;
        int64_t offset[8]; /* frame k - start, from k * 25 / fps rounded half up */
    } cases[] = {
        {12.5, {0, 2, 4, 6, 8, 10, 12, 14}},
        {10, {0, 3, 5, 8, 10, 13, 15, 18}},
        {50, {0, 1, 1, 2, 2, 3, 3, 4}},
        {25, {0, 1, 2, 3, 4, 5, 6, 7}},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        vg_dataset *ds = open_ds((vg_dataset_spec){.source = path_of("ramp"), .frames = T, .size = S, .seed = 5,
                                                   .fps = cases[c].fps});
        if (!ds) continue;
        const vg_folder_report *r = vg_video_folder_report(ds);
        const int64_t span = cases[c].offset[T - 1] + 1;
        CHECK(r && r->num_videos == 1 && r->videos[0].span == span && r->clip_span == 0,
              "%g fps: span %lld, expected %lld", cases[c].fps, r ? (long long)r->videos[0].span : -1LL, (long long)span);
        int ok = 1, starts_seen = 0, last_start = -1;
        for (int64_t i = 0; i < 24; i++) {
            vg_clip_sample s;
            int64_t got[8];
            vg_dataset_clip_sample(ds, i, &s);
            if (!clip_frames(ds, i, T, S, got)) {
                ok = 0;
                continue;
            }
            ok &= s.start >= 0 && s.start + span <= 48 && fabs(s.step - 25.0 / cases[c].fps) < 1e-12;
            for (int k = 0; k < T; k++) ok &= got[k] == s.start + cases[c].offset[k] && vg_clip_sample_frame(&s, k) == got[k];
            if (!ok && i < 24) {
                fprintf(stderr, "  %g fps clip %lld from %lld:", cases[c].fps, (long long)i, (long long)s.start);
                for (int k = 0; k < T; k++) fprintf(stderr, " %lld", (long long)got[k]);
                fputc('\n', stderr);
                break;
            }
            starts_seen += s.start != last_start;
            last_start = (int)s.start;
        }
        CHECK(ok, "%g fps from 25: clip frames are not start + round(k * %g)", cases[c].fps, 25.0 / cases[c].fps);
        CHECK(starts_seen > 8, "%g fps: starts do not vary (%d changes in 24 clips)", cases[c].fps, starts_seen);
        CHECK(vg_dataset_info(ds)->size == 48 / span, "%g fps: epoch %lld, expected %lld", cases[c].fps,
              (long long)vg_dataset_info(ds)->size, (long long)(48 / span));
        vg_dataset_close(ds);
    }
    /* the fixed stride gives the clips it gave before: start + k * stride */
    vg_dataset *st2 = open_ds((vg_dataset_spec){.source = path_of("ramp"), .frames = T, .size = S, .seed = 5, .stride = 3});
    if (st2) {
        int ok = 1;
        for (int64_t i = 0; i < 8; i++) {
            vg_clip_sample s;
            int64_t got[8];
            vg_dataset_clip_sample(st2, i, &s);
            ok &= clip_frames(st2, i, T, S, got);
            for (int k = 0; k < T; k++) ok &= got[k] == s.start + 3 * k;
        }
        CHECK(ok, "stride 3: clip frames are not start + 3k");
        vg_dataset_close(st2);
    }
    /* too short at the rate: 2 fps needs round(7 * 12.5) + 1 = 89 of 48 frames */
    vg_dataset *ds = NULL;
    vg_status st = vg_dataset_open(&ds, &(vg_dataset_spec){.source = path_of("ramp"), .frames = T, .size = S, .fps = 2});
    CHECK(st == VG_ERR_INVALID && strstr(vg_last_error(), "needs 89") && strstr(vg_last_error(), "ramp/a/n.mov"),
          "too short at 2 fps: %s", vg_last_error());
    /* one long and one short video: the short one is skipped and counted */
    ds = open_ds((vg_dataset_spec){.source = path_of("mixed"), .frames = T, .size = S, .fps = 12.5});
    const vg_folder_report *r = ds ? vg_video_folder_report(ds) : NULL;
    CHECK(r && r->num_videos == 1 && r->num_short == 1 && r->num_skipped == 1 && strstr(r->skipped[0].path, "short.mov") &&
              strstr(r->skipped[0].reason, "needs 15"),
          "a video too short at 12.5 fps is not skipped as too short (%s)", r && r->num_skipped ? r->skipped[0].reason : "");
    vg_dataset_close(ds);
}

static void check_labels(void) {
    printf("labels none\n");
    vg_dataset *two = open_ds((vg_dataset_spec){.source = path_of("mixed"), .frames = 4, .size = 16});
    vg_dataset *one = open_ds((vg_dataset_spec){.source = path_of("mixed"), .frames = 4, .size = 16, .labels = VG_LABELS_NONE});
    if (two && one) {
        const vg_dataset_desc *d2 = vg_dataset_info(two), *d1 = vg_dataset_info(one);
        CHECK(d2->num_classes == 2, "mixed: %d classes by folder, expected 2", d2->num_classes);
        CHECK(d1->num_classes == 1 && strcmp(d1->class_names[0], "all") == 0, "labels none: %d classes", d1->num_classes);
        const int64_t numel = vg_dataset_clip_numel(one);
        enum { NB = 64 };
        float *a = malloc(NB * numel * sizeof *a), *b = malloc(NB * numel * sizeof *b);
        int64_t la[NB], lb[NB];
        CHECK(vg_dataset_batch(two, 0, NB, a, la) == VG_OK && vg_dataset_batch(one, 0, NB, b, lb) == VG_OK, "batches");
        int zero = 1, some_one = 0;
        for (int i = 0; i < NB; i++) zero &= lb[i] == 0, some_one |= la[i] == 1;
        CHECK(zero && some_one, "labels none: every label 0 (and folders give class 1 somewhere)");
        CHECK(!memcmp(a, b, NB * numel * sizeof *a), "labels none changed the clips");
        const vg_folder_report *r1 = vg_video_folder_report(one), *r2 = vg_video_folder_report(two);
        CHECK(r1 && r2 && r1->num_videos == 2 && r2->num_videos == 2 && r1->videos[0].label == 0 && r1->videos[1].label == 0 &&
                  r2->videos[0].label == 0 && r2->videos[1].label == 1,
              "report labels");
        free(a);
        free(b);
    }
    vg_dataset_close(two);
    vg_dataset_close(one);
    vg_dataset *sh = open_ds((vg_dataset_spec){.source = "shapes", .frames = 4, .size = 16, .labels = VG_LABELS_NONE});
    if (sh) {
        int64_t l[8];
        float *x = malloc(8 * vg_dataset_clip_numel(sh) * sizeof *x);
        CHECK(vg_dataset_batch(sh, 0, 8, x, l) == VG_OK, "shapes batch");
        int zero = 1;
        for (int i = 0; i < 8; i++) zero &= l[i] == 0;
        CHECK(vg_dataset_info(sh)->num_classes == 1 && zero, "shapes with labels none: one class, labels 0");
        free(x);
        vg_dataset_close(sh);
    }
}

/* Library errors: the option, the source and the problem named. */
static void check_errors(void) {
    printf("refused combinations\n");
    struct {
        vg_dataset_spec spec;
        const char *want;
    } bad[] = {
        {{.source = "shapes", .hflip = 1}, "hflip (--hflip) applies to real data"},
        {{.source = "mnist", .crop = VG_CROP_RANDOM}, "random crop (--crop random) applies to real data"},
        {{.source = "shapes", .fps = 10}, "applies to video files"},
        {{.source = NULL, .fps = 12.5, .stride = 2}, "give one of them"},
        {{.source = NULL, .fps = -1}, "fps -1"},
        {{.source = NULL, .crop = (vg_crop)7}, "crop 7"},
        {{.source = NULL, .labels = (vg_labels)3}, "labels 3"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_dataset_spec s = bad[i].spec;
        if (!s.source) s.source = path_of("xh");
        s.frames = 4;
        s.size = 16;
        vg_dataset *ds = NULL;
        vg_status st = vg_dataset_open(&ds, &s);
        CHECK(st == VG_ERR_INVALID && !ds && strstr(vg_last_error(), bad[i].want), "case %zu: %s", i, vg_last_error());
    }
    vg_dataset *ds = NULL;
    vg_status st = vg_dataset_open(&ds, &(vg_dataset_spec){.source = path_of("fr"), .frames = 4, .size = 16, .fps = 10});
    CHECK(st == VG_ERR_INVALID && strstr(vg_last_error(), path_of("fr")) && strstr(vg_last_error(), "no frame rate"),
          "fps on frame folders: %s", vg_last_error());
    st = vg_dataset_open(&ds, &(vg_dataset_spec){.source = path_of("x.npy"), .frames = 4, .size = 16, .fps = 10});
    CHECK(st == VG_ERR_INVALID && strstr(vg_last_error(), "x.npy") && strstr(vg_last_error(), "no frame rate"),
          "fps on a .npy: %s", vg_last_error());
    vg_crop c;
    vg_labels l;
    CHECK(vg_crop_parse("random", &c) && c == VG_CROP_RANDOM && vg_crop_parse("centre", &c) && c == VG_CROP_CENTRE &&
              !vg_crop_parse("bogus", &c) && vg_labels_parse("none", &l) && l == VG_LABELS_NONE && !vg_labels_parse("x", &l),
          "name parsing");
}

/* The checkpoint's data description: the new fields round-trip, and a
 * default spec's JSON has none of them (files as earlier versions wrote). */
static void check_ckpt_json(void) {
    printf("checkpoint data description\n");
    vg_dataset_spec s = {.source = "vids", .frames = 8, .size = 32, .seed = 4, .stride = 1, .crop = VG_CROP_RANDOM,
                         .hflip = 1, .fps = 12.5, .labels = VG_LABELS_NONE};
    char *j = vg_ckpt_data_json(&s), *owned = NULL;
    vg_dataset_spec back;
    CHECK(j && vg_ckpt_data_parse(j, &back, &owned) == VG_OK, "round trip: %s", vg_last_error());
    CHECK(back.crop == VG_CROP_RANDOM && back.hflip == 1 && back.fps == 12.5 && back.labels == VG_LABELS_NONE &&
              back.stride == 1 && back.seed == 4,
          "round trip lost a field: %s", j ? j : "");
    free(j);
    free(owned);
    vg_dataset_spec d = {.source = "shapes", .frames = 16, .size = 32, .seed = 1, .stride = 1};
    j = vg_ckpt_data_json(&d);
    CHECK(j && !strstr(j, "crop") && !strstr(j, "hflip") && !strstr(j, "fps") && !strstr(j, "labels"),
          "default description grew keys: %s", j ? j : "");
    free(j);
    const char *bad[] = {"{\"source\":\"s\",\"crop\":\"diagonal\"}", "{\"source\":\"s\",\"hflip\":1}",
                         "{\"source\":\"s\",\"fps\":-3}", "{\"source\":\"s\",\"labels\":\"many\"}"};
    for (int i = 0; i < 4; i++) {
        CHECK(vg_ckpt_data_parse(bad[i], &back, &owned) == VG_ERR_FORMAT, "bad description %d accepted", i);
        free(owned);
        owned = NULL;
    }
}

/* A uint8 (N, T, H, W) .npy with pixel (x, y) = 5 * x, written by hand. */
static int write_npy(const char *path, int N, int T, int H, int W) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    npy_write_header(f, "|u1", 4, (const int[]){N, T, H, W});
    for (long i = 0; i < (long)N * T * H; i++)
        for (int x = 0; x < W; x++) fputc(5 * x, f);
    return fclose(f) == 0;
}

static void check_cli(void) {
    printf("command line\n");
    struct {
        const char *args;
        int rc;
        const char *want;
    } cases[] = {
        {"data info --data %s/ramp --clip-fps 12.5 --stride 2", 2, "--clip-fps 12.5 and --stride 2"},
        {"data preview --data %s/xh --crop bogus", 2, "--crop must be centre or random"},
        {"data info --data %s/xh --labels some", 2, "--labels must be folders or none"},
        {"data info --data shapes%.0s --hflip", 1, "--hflip) applies to real data sources"},
        {"data info --data %s/fr --clip-fps 12.5", 1, "no frame rate"},
        {"train --data shapes%.0s --hflip --steps 1", 1, "--hflip) applies to real data sources"},
        {"evaluator train --data %s/ramp --clip-fps 10 --stride 3 -o e.safetensors", 2, "give one of them"},
        {"eval --data %s/xh --hflip", 2, "evaluation measures centre crops without flips"},
        {"eval --data %s/xh --crop random", 2, "--crop random is a training augmentation"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char fmt[512];
        snprintf(fmt, sizeof fmt, "%%s %s", cases[i].args);
        int rc = run(fmt, vidgan, tmp);
        CHECK(rc == cases[i].rc && output_has(cases[i].want), "vidgan %s: exit %d (expected %d) or no '%s'", cases[i].args,
              rc, cases[i].rc, cases[i].want);
    }
    int rc = run("%s data info --data %s/mixed --size 16 --frames 8 --labels none --clip-fps 12.5", vidgan, tmp);
    CHECK(rc == 0 && output_has("classes: 1") && output_has("0: all") && output_has("frames at 12.5 fps") &&
              output_has("a clip spans 15 frames") && output_has("1 too short"),
          "data info --labels none --clip-fps (exit %d)", rc);
    rc = run("%s data preview --data %s/xh --size 16 --frames 4 --n 4 --crop random --hflip -o %s/p.gif", vidgan, tmp, tmp);
    CHECK(rc == 0 && output_has("wrote"), "data preview with augmentation (exit %d)", rc);
    rc = run("%s data bench --data %s/ramp --size 16 --frames 4 --clips 8 --batch 4 --clip-fps 12.5", vidgan, tmp);
    CHECK(rc == 0 && output_has("clips/s"), "data bench --clip-fps (exit %d)", rc);
    rc = run("%s data prepare %s/xh -o %s/cache --size 16 --frames 4 --clips 6 --hflip --crop random", vidgan, tmp, tmp);
    CHECK(rc == 0, "prepare with augmentation (exit %d)", rc);
    FILE *f = fopen(path_of("cache/clips.json"), "r");
    char buf[4096] = "";
    if (f) {
        buf[fread(buf, 1, sizeof buf - 1, f)] = '\0';
        fclose(f);
    }
    CHECK(strstr(buf, "\"crop\":\"random\"") && strstr(buf, "\"hflip\":true") && strstr(buf, "\"label_source\":\"folders\""),
          "clips.json does not record the sampling: %s", buf);

    /* resume: 2 + 2 steps with --crop random --hflip --clip-fps, the resume
     * given no data options, equals 4 straight: the checkpoint carries them */
    const char *aug = "--crop random --hflip --clip-fps 12.5 --labels none";
    rc = run("%s train %s --data %s/xh %s --steps 4 --ckpt-every 2 --out %s/ra", vidgan, SMALL, tmp, aug, tmp);
    CHECK(rc == 0 && output_has("frames at 12.5 fps") && output_has("crop random, random flips, labels none"),
          "train with augmentation (exit %d)", rc);
    rc = run("%s train %s --data %s/xh %s --steps 2 --ckpt-every 2 --out %s/rb", vidgan, SMALL, tmp, aug, tmp);
    CHECK(rc == 0, "train 2 steps (exit %d)", rc);
    rc = run("%s train %s --steps 4 --ckpt-every 2 --resume auto --out %s/rb", vidgan, SMALL, tmp);
    CHECK(rc == 0 && output_has("resuming from") && output_has("crop random, random flips"), "resume (exit %d)", rc);
    char a4[400], b4[400];
    snprintf(a4, sizeof a4, "%s/ra/ckpt-00000004.safetensors", tmp);
    snprintf(b4, sizeof b4, "%s/rb/ckpt-00000004.safetensors", tmp);
    CHECK(same_tensors(a4, b4), "2 + 2 steps with a resume differ from 4 straight: the augmentation was not restored");
    vg_train_config cfg;
    char *data = NULL;
    CHECK(vg_ckpt_read_config(b4, &cfg, &data, NULL) == VG_OK && data && strstr(data, "\"crop\":\"random\"") &&
              strstr(data, "\"hflip\":true") && strstr(data, "\"fps\":12.5") && strstr(data, "\"labels\":\"none\""),
          "checkpoint data: %s", data ? data : vg_last_error());
    free(data);
    /* the same run without the augmentation trains on other clips */
    rc = run("%s train %s --data %s/xh --steps 4 --ckpt-every 2 --out %s/rc", vidgan, SMALL, tmp, tmp);
    snprintf(b4, sizeof b4, "%s/rc/ckpt-00000004.safetensors", tmp);
    CHECK(rc == 0 && !same_tensors(a4, b4), "training without the augmentation gave the same weights");
    /* eval on the augmented checkpoint: centre crops, said so */
    rc = run("%s eval --ckpt %s --metric disc --n 4", vidgan, a4);
    CHECK(rc == 0 && output_has("evaluation takes centre crops without flips") && output_has("clip fps 12.5"),
          "eval of an augmented run (exit %d)", rc);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!cli_setup(argv[0], "data_aug")) return 1;
    /* lossless RGB: columns (rows) at level 5 x (5 y); frame n at level 5 n */
    int rc = run("cd %s && mkdir -p xh/a xv/a ramp/a mixed/a mixed/b fr/v1 fr/v2 && "
                 "ffmpeg -v error -f lavfi -i color=black:s=48x32:r=25:d=1.2,format=rgb24,geq=r='5*X':g='5*X':b='5*X' "
                 "-c:v png xh/a/x.mov && "
                 "ffmpeg -v error -f lavfi -i color=black:s=32x48:r=25:d=1.2,format=rgb24,geq=r='5*Y':g='5*Y':b='5*Y' "
                 "-c:v png xv/a/y.mov && "
                 "ffmpeg -v error -f lavfi -i color=black:s=16x16:r=25:d=1.92,format=rgb24,geq=r='5*N':g='5*N':b='5*N' "
                 "-c:v png ramp/a/n.mov && "
                 "cp ramp/a/n.mov mixed/a/long.mov && "
                 "ffmpeg -v error -f lavfi -i color=gray:s=16x16:r=25:d=0.4 -c:v png mixed/b/short.mov && "
                 "ffmpeg -v error -f lavfi -i color=black:s=48x32:r=25:d=0.4,format=rgb24,geq=r='5*X':g='5*X':b='5*X' "
                 "fr/v1/%%d.png && cp fr/v1/*.png fr/v2/",
                 tmp);
    CHECK(rc == 0, "making videos with ffmpeg failed (exit %d): the ffmpeg program is needed", rc);
    CHECK(write_npy(path_of("x.npy"), 3, 4, 32, 48), "writing x.npy");
    if (vt_failed) TEST_END();
    rc = run("ffprobe -v error -count_frames -show_entries stream=nb_read_frames -of csv=p=0 %s/ramp/a/n.mov", tmp);
    CHECK(rc == 0 && output_has("48"), "the ramp video should have 48 frames");

    printf("random crop\n");
    /* 48x32 at S 32: offsets 0..16 along x, exact; at S 16 the frame is
     * halved to 24x16 (offsets 0..8), level 10 u + 2.5 by the area filter */
    check_random_crop("video, S 32", (vg_dataset_spec){.source = path_of("xh"), .frames = 4, .size = 32, .seed = 7}, 0, 16,
                      0, 5, 0.01);
    check_random_crop("video, S 16", (vg_dataset_spec){.source = path_of("xh"), .frames = 4, .size = 16, .seed = 7}, 0, 8,
                      2.5, 10, 1.6);
    check_random_crop("portrait video, S 32", (vg_dataset_spec){.source = path_of("xv"), .frames = 4, .size = 32, .seed = 3},
                      1, 16, 0, 5, 0.01);
    check_random_crop("frame folders, S 32", (vg_dataset_spec){.source = path_of("fr"), .frames = 4, .size = 32, .seed = 2},
                      0, 16, 0, 5, 0.01);
    check_random_crop(".npy, S 32", (vg_dataset_spec){.source = path_of("x.npy"), .frames = 4, .size = 32, .seed = 2}, 0, 16,
                      0, 5, 0.01);
    check_random_crop("grey video, S 32",
                      (vg_dataset_spec){.source = path_of("xh"), .frames = 4, .size = 32, .seed = 9, .channels = 1}, 0, 16, 0,
                      5, 0.02);
    /* the centre crop is unchanged: columns 8..39, no sample offsets */
    vg_dataset *centre = open_ds((vg_dataset_spec){.source = path_of("xh"), .frames = 4, .size = 32, .seed = 7});
    if (centre) {
        vg_clip_sample s;
        float *x = clip_of(centre, 3, NULL);
        CHECK(vg_dataset_clip_sample(centre, 3, &s) == VG_OK && s.crop_x == -1 && s.crop_y == -1 && s.flip == 0 && s.step == 1,
              "centre sample");
        CHECK(x && worst_ramp(x, 3, 4, 32, 0, 8, 0, 0, 5) <= 0.01, "centre crop is not columns 8..39");
        free(x);
        vg_dataset_close(centre);
    }

    printf("horizontal flip\n");
    check_hflip("video, centre crop", (vg_dataset_spec){.source = path_of("xh"), .frames = 4, .size = 32, .seed = 11}, 0);
    check_hflip("video, random crop", (vg_dataset_spec){.source = path_of("xh"), .frames = 4, .size = 32, .seed = 12}, 1);
    check_hflip("frame folders", (vg_dataset_spec){.source = path_of("fr"), .frames = 4, .size = 32, .seed = 13}, 1);
    check_hflip(".npy", (vg_dataset_spec){.source = path_of("x.npy"), .frames = 4, .size = 32, .seed = 14}, 1);
    /* a clip cache: the flips of training from it are drawn anew per index */
    vg_dataset_spec cs = {.source = path_of("xh"), .frames = 4, .size = 32, .seed = 1};
    vg_dataset *src = open_ds(cs);
    if (src) {
        CHECK(vg_clip_cache_write(src, &cs, path_of("cache0"), 0, 4, NULL) == VG_OK, "cache: %s", vg_last_error());
        vg_dataset_close(src);
        vg_dataset *c = open_ds((vg_dataset_spec){.source = path_of("cache0"), .frames = 4, .size = 32, .seed = 3, .hflip = 1});
        int flips = 0;
        for (int64_t i = 0; c && i < 64; i++) {
            vg_clip_sample s;
            vg_dataset_clip_sample(c, i, &s);
            flips += s.flip;
            CHECK(s.item == i % 4, "cache item");
        }
        CHECK(flips >= 20 && flips <= 44, "cache: %d of 64 flipped", flips);
        vg_dataset_close(c);
    }

    check_fps();
    check_labels();
    check_errors();
    check_ckpt_json();
    check_cli();

    if (vt_failed == 0) run("rm -rf %s", tmp);
    else printf("kept %s\n", tmp);
    TEST_END();
}
