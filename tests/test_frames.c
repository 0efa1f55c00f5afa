/* test_frames.c — frame folders (the StyleGAN-V layout) as a data set, and
 * the PNG / JPEG image reader under it.
 *
 * Frames are written by the ffmpeg program (lavfi testsrc2, PNG and JPEG,
 * names 1.png .. 24.png so that only natural sorting puts them in order)
 * and broken ones are made here (truncated PNG, random bytes named .jpg,
 * zero bytes, a frame of another size, a JPEG cut short). Checks: the
 * reader's native-size decode equals ffmpeg's decode of the same files
 * (PNG exactly, JPEG within a small mean difference); every frame of a clip
 * is the right file (matched against each file decoded on its own) in
 * natural order with the stride; classes from the parent folders; clips
 * identical for 1 and 2 threads; each broken frame fails the open with its
 * file named, or is skipped and listed with skip_bad; a folder shorter than
 * a clip is skipped and reported. ffmpeg is required. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/frame_folder.h"
#include "data/video_folder.h"
#include "io/image_reader.h"
#include "test.h"
#include "shell.h"
#include "vidgan.h"


/* ffmpeg's RGB decode of one image file: exactly want bytes, or NULL */
static uint8_t *ffmpeg_rgb(const char *path, size_t want) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -f rawvideo -pix_fmt rgb24 -", path);
    return sh_read_exact(cmd, want);
}

static void test_natural_order(void) {
    CHECK(vg_natural_cmp("a9.png", "a10.png") < 0, "a9 < a10");
    CHECK(vg_natural_cmp("frame_2.png", "frame_10.png") < 0, "2 < 10");
    CHECK(vg_natural_cmp("10.png", "9.png") > 0, "10 > 9");
    CHECK(vg_natural_cmp("007.png", "7.png") != 0 && vg_natural_cmp("x.png", "x.png") == 0, "ties");
    CHECK(vg_natural_cmp("b1.png", "a2.png") > 0, "letters first");
    CHECK(vg_frame_is_image_name("a/B.JPEG") && vg_frame_is_image_name("x.png") && !vg_frame_is_image_name("x.gif") &&
              !vg_frame_is_image_name("png"),
          "image names");
}

static void test_reader(void) {
    printf("image reader vs ffmpeg\n");
    vg_image_decoder *d;
    CHECK(vg_image_decoder_new(&d) == VG_OK, "decoder");
    const char *files[] = {"fr/cats/v1/7.png", "fr/dogs/v2/frame_7.jpg", "grey/g/3.png", "alpha/a/1.png"};
    const double bound[] = {0.0, 3.0, 0.0, 0.0};
    for (int i = 0; i < 4; i++) {
        vg_image_header h;
        vg_status st = vg_image_check_file(P(files[i]), &h);
        CHECK(st == VG_OK && h.width == 96 && h.height == 64, "%s: header %s", files[i], vg_last_error());
        uint8_t *mine = malloc(96 * 64 * 3);
        int w = 0, hh = 0;
        st = vg_image_read_file(d, P(files[i]), 0, mine, 96 * 64 * 3, &w, &hh);
        CHECK(st == VG_OK && w == 96 && hh == 64, "%s: decode: %s", files[i], vg_last_error());
        uint8_t *ref = ffmpeg_rgb(P(files[i]), 96 * 64 * 3);
        CHECK(ref != NULL, "ffmpeg decode of %s", files[i]);
        if (st == VG_OK && ref) {
            double sum = 0;
            for (int k = 0; k < 96 * 64 * 3; k++) sum += abs((int)mine[k] - (int)ref[k]);
            sum /= 96 * 64 * 3;
            CHECK(sum <= bound[i], "%s: mean abs difference to ffmpeg %.3f > %.1f", files[i], sum, bound[i]);
            printf("  %s: mean abs difference to ffmpeg %.3f\n", files[i], sum);
        }
        free(ref);
        free(mine);
    }
    uint8_t small[10];
    CHECK(vg_image_read_file(d, P(files[0]), 0, small, sizeof small, NULL, NULL) == VG_ERR_INVALID, "small buffer refused");
    vg_image_decoder_free(d);
}

/* uint8 RGB of frame t of a float clip (C = 3, T, S, S) */
static void clip_frame_rgb(const float *x, int T, int S, int t, uint8_t *out) {
    for (int p = 0; p < S * S; p++)
        for (int c = 0; c < 3; c++) {
            float v = (x[((size_t)c * T + t) * S * S + p] + 1.0f) * 127.5f;
            out[p * 3 + c] = (uint8_t)(v + 0.5f);
        }
}

static void test_dataset(void) {
    printf("frame-folder data set\n");
    const int T = 5, S = 32, stride = 2, N = 24;
    vg_dataset_spec spec = {.source = P("fr"), .frames = T, .size = S, .seed = 5, .stride = stride};
    vg_dataset *ds;
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "open: %s", vg_last_error());
    if (st != VG_OK) return;
    const vg_dataset_desc *dd = vg_dataset_info(ds);
    const vg_folder_report *r = vg_video_folder_report(ds);
    CHECK(r && r->frame_folders == 1, "layout not detected as frame folders");
    CHECK(dd->num_classes == 2 && !strcmp(dd->class_names[0], "cats") && !strcmp(dd->class_names[1], "dogs"), "classes");
    CHECK(r && r->num_videos == 2 && r->num_short == 1 && r->total_frames == 2 * N, "report: %d videos, %d short",
          r ? r->num_videos : -1, r ? r->num_short : -1);
    CHECK(r && r->num_videos == 2 && !strcmp(r->videos[0].codec, "png") && !strcmp(r->videos[1].codec, "jpeg") &&
              r->videos[0].width == 96 && r->videos[0].height == 64 && r->videos[0].frames == N,
          "video entries");
    /* every frame of each video on its own at S x S */
    vg_image_decoder *d;
    vg_image_decoder_new(&d);
    uint8_t *ref = malloc((size_t)2 * N * S * S * 3);
    for (int v = 0; v < 2; v++)
        for (int i = 0; i < N; i++) {
            char name[64];
            snprintf(name, sizeof name, v == 0 ? "fr/cats/v1/%d.png" : "fr/dogs/v2/frame_%d.jpg", i + 1);
            st = vg_image_read_file(d, P(name), S, ref + ((size_t)v * N + i) * S * S * 3, (size_t)S * S * 3, NULL, NULL);
            CHECK(st == VG_OK, "%s: %s", name, vg_last_error());
        }
    vg_image_decoder_free(d);
    const int n = 10;
    const int64_t numel = vg_dataset_clip_numel(ds);
    float *x1 = malloc((size_t)n * numel * sizeof *x1), *x2 = malloc((size_t)n * numel * sizeof *x2);
    int64_t l1[10], l2[10];
    vg_set_threads(1);
    CHECK(vg_dataset_batch(ds, 0, n, x1, l1) == VG_OK, "batch: %s", vg_last_error());
    vg_set_threads(2);
    CHECK(vg_dataset_batch(ds, 0, n, x2, l2) == VG_OK, "batch: %s", vg_last_error());
    CHECK(!memcmp(x1, x2, (size_t)n * numel * sizeof *x1) && !memcmp(l1, l2, sizeof l1), "1 vs 2 threads differ");
    int ordered = 1, unique = 1, labelled = 1;
    uint8_t fr[32 * 32 * 3];
    for (int c = 0; c < n; c++) {
        int prev = -1;
        for (int t = 0; t < T; t++) {
            clip_frame_rgb(x1 + (size_t)c * numel, T, S, t, fr);
            int hit = -1, hits = 0;
            for (int j = 0; j < 2 * N; j++)
                if (!memcmp(fr, ref + (size_t)j * S * S * 3, sizeof fr)) hit = j, hits++;
            unique &= hits == 1;
            if (t > 0) ordered &= hit == prev + stride;
            if (t == 0) labelled &= hit >= 0 && l1[c] == hit / N;
            prev = hit;
        }
    }
    CHECK(unique, "a clip frame matches no single source frame");
    CHECK(ordered, "clip frames are not consecutive files (natural order, stride %d)", stride);
    CHECK(labelled, "labels do not follow the parent folder");
    free(x1);
    free(x2);
    free(ref);
    vg_dataset_close(ds);
}

/* One broken frame in its own root (beside a good video): the open names
 * it; skip_bad skips its folder and lists the frame and the reason. */
static void test_bad(const char *what, const char *make, const char *file, const char *reason) {
    sh("cd %s && rm -rf bad && mkdir -p bad/good bad/broken && cp fr/cats/v1/*.png bad/good/ && cp fr/cats/v1/*.png bad/broken/ && %s",
       tmp, make);
    vg_dataset_spec spec = {.source = P("bad"), .frames = 4, .size = 16};
    vg_dataset *ds = NULL;
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st != VG_OK && strstr(vg_last_error(), file) && strstr(vg_last_error(), reason), "%s: %s", what, vg_last_error());
    printf("  %s: %s\n", what, vg_last_error());
    vg_dataset_close(ds);
    spec.skip_bad = 1;
    st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "%s with skip_bad: %s", what, vg_last_error());
    if (st != VG_OK) return;
    const vg_folder_report *r = vg_video_folder_report(ds);
    CHECK(r->num_videos == 1 && r->num_bad == 1 && r->num_skipped == 1 && strstr(r->skipped[0].path, "bad/broken") &&
              strstr(r->skipped[0].reason, file) && strstr(r->skipped[0].reason, reason),
          "%s: skip report (%d bad) %s", what, r->num_bad, r->num_skipped ? r->skipped[0].reason : "");
    float *x = malloc((size_t)vg_dataset_clip_numel(ds) * sizeof *x);
    CHECK(vg_dataset_clip(ds, 3, x, NULL) == VG_OK, "%s: clip after skipping", what);
    free(x);
    vg_dataset_close(ds);
}

static void test_bad_frames(void) {
    printf("bad frames\n");
    test_bad("truncated PNG", "head -c 700 fr/cats/v1/9.png > bad/broken/9.png", "broken/9.png", "truncated PNG");
    test_bad("random bytes .jpg", "head -c 3000 /dev/urandom > bad/broken/30.jpg", "broken/30.jpg", "not a PNG or JPEG");
    test_bad("zero bytes", ": > bad/broken/31.png", "broken/31.png", "empty file");
    test_bad("mixed sizes", "cp small.png bad/broken/12.png", "broken/12.png", "32x16");
    test_bad("truncated JPEG", "head -c 2000 fr/dogs/v2/frame_3.jpg > bad/broken/25.jpg", "broken/25.jpg",
             "truncated JPEG");
    /* the same checks straight on bytes in memory */
    vg_image_header h;
    const uint8_t junk[16] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    CHECK(vg_image_check_memory(junk, sizeof junk, "m.png", &h) == VG_ERR_FORMAT && strstr(vg_last_error(), "m.png"),
          "short PNG in memory: %s", vg_last_error());
    const uint8_t jpg[6] = {0xff, 0xd8, 0xff, 0xd9, 0, 0};
    CHECK(vg_image_check_memory(jpg, sizeof jpg, "m.jpg", &h) == VG_ERR_FORMAT, "empty JPEG in memory");
    vg_image_decoder *d;
    vg_image_decoder_new(&d);
    uint8_t out[48];
    CHECK(vg_image_decode(d, junk, sizeof junk, "m.png", 4, out, sizeof out, NULL, NULL) == VG_ERR_FORMAT,
          "decode of a broken PNG");
    vg_image_decoder_free(d);
    /* a frame folder too short for a clip, alone: skipped, none usable */
    sh("cd %s && rm -rf shortonly && mkdir -p shortonly/v && cp fr/cats/v1/1.png fr/cats/v1/2.png shortonly/v/", tmp);
    vg_dataset_spec spec = {.source = P("shortonly"), .frames = 4, .size = 16};
    vg_dataset *ds = NULL;
    CHECK(vg_dataset_open(&ds, &spec) != VG_OK && strstr(vg_last_error(), "frame folders") &&
              strstr(vg_last_error(), "shorter"),
          "short only: %s", vg_last_error());
    vg_dataset_close(ds);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/vg_frames_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_natural_order();
    const char *src = "-v error -f lavfi -i testsrc2=size=96x64:rate=10 -frames:v 24";
    int rc = sh("cd %s && mkdir -p fr/cats/v1 fr/dogs/v2 fr/dogs/short grey/g alpha/a && "
                "ffmpeg %s fr/cats/v1/%%d.png && ffmpeg %s -q:v 3 fr/dogs/v2/frame_%%d.jpg && "
                "ffmpeg -v error -f lavfi -i testsrc2=size=96x64:rate=10 -frames:v 3 fr/dogs/short/%%03d.png && "
                "ffmpeg %s -pix_fmt gray grey/g/%%d.png && ffmpeg %s -vf format=rgba alpha/a/%%d.png && "
                "ffmpeg -v error -f lavfi -i testsrc2=size=32x16 -frames:v 1 small.png",
                tmp, src, src, src, src);
    CHECK(rc == 0, "making frames with ffmpeg failed (exit %d): the ffmpeg program is needed", rc);
    if (rc != 0) TEST_END();
    test_reader();
    test_dataset();
    test_bad_frames();
    if (vt_failed == 0) sh("rm -rf %s", tmp);
    else printf("inputs kept in %s\n", tmp);
    TEST_END();
}
