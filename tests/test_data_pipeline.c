/* test_data_pipeline.c — the prefetch queue and the prepared clip cache.
 *
 * Prefetch: every batch it hands out equals vg_dataset_batch of the same
 * clips, for 1 and 3 workers and depths 1 and 3, in order, after a jump
 * (a resume or roll-back) and back; a clip that fails (a video truncated
 * after the open) comes back as an error naming the file, and closing with
 * work in flight stops cleanly (ASan/LSan builds check for leaks).
 * Clip cache: clips written by vg_clip_cache_write read back through the
 * data set (a folder or the .npy) equal to the source's clips quantised to
 * 8 bits, with the labels and class names; a cache whose description
 * disagrees with its array is refused naming the file. Videos are made with
 * the ffmpeg program. Debian's opencv-doc sample videos (data/opencv/, made
 * by scripts/setup.sh) are decoded when present; a line says when they are
 * not. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/threads.h"
#include "data/clip_cache.h"
#include "data/dataset.h"
#include "data/prefetch.h"
#include "data/video_folder.h"
#include "test.h"
#include "shell.h"
#include "vidgan.h"


static vg_dataset *open_ds(vg_dataset_spec spec) {
    vg_dataset *ds = NULL;
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "open %s: %s", spec.source, vg_last_error());
    return st == VG_OK ? ds : NULL;
}

/* The queue against vg_dataset_batch for a sequence of batch starts. */
static void check_prefetch(const vg_dataset *ds, int clips, int depth, int workers) {
    const int64_t numel = vg_dataset_clip_numel(ds);
    const size_t bytes = (size_t)clips * numel * sizeof(float);
    float *got = malloc(bytes), *want = malloc(bytes);
    int64_t lg[8], lw[8];
    vg_prefetch *pf;
    vg_status st = vg_prefetch_open(&pf, ds, clips, depth, workers);
    CHECK(st == VG_OK, "prefetch open: %s", vg_last_error());
    if (st != VG_OK) return;
    /* in order, then a jump ahead (roll-back to another stream), then back */
    const int64_t firsts[] = {0, 1, 2, 3, 4, 5, 1000, 1001, 2, 3};
    int same = 1, ok = 1;
    for (size_t i = 0; i < sizeof firsts / sizeof firsts[0]; i++) {
        int64_t f = firsts[i] * (firsts[i] >= 1000 ? 1 : clips);
        double wait = -1;
        ok &= vg_prefetch_get(pf, f, got, lg, &wait) == VG_OK && wait >= 0;
        ok &= vg_dataset_batch(ds, f, clips, want, lw) == VG_OK;
        same &= !memcmp(got, want, bytes) && !memcmp(lg, lw, (size_t)clips * sizeof *lg);
    }
    CHECK(ok, "prefetch gets: %s", vg_last_error());
    CHECK(same, "%s: prefetched batches differ from vg_dataset_batch (depth %d, %d workers)", vg_dataset_info(ds)->source,
          depth, workers);
    vg_prefetch_close(pf); /* with batches decoded ahead in flight */
    free(got);
    free(want);
}

static void test_prefetch(void) {
    printf("prefetch\n");
    vg_dataset *shapes = open_ds((vg_dataset_spec){.source = "shapes", .frames = 4, .size = 16, .seed = 3});
    vg_dataset *vids = open_ds((vg_dataset_spec){.source = P("vids"), .frames = 6, .size = 16, .seed = 3, .stride = 2});
    if (!shapes || !vids) return;
    check_prefetch(shapes, 5, 1, 1);
    check_prefetch(shapes, 5, 3, 3);
    check_prefetch(vids, 4, 2, 1);
    check_prefetch(vids, 4, 3, 3);
    vg_dataset_close(shapes);
    vg_dataset_close(vids);

    vg_prefetch *pf;
    CHECK(vg_prefetch_open(&pf, NULL, 4, 2, 1) == VG_ERR_INVALID, "no data set refused");
    /* a clip that fails: the file is cut short after the open */
    sh("cd %s && mkdir -p cut && cp vids/a/t.mp4 cut/t.mp4", tmp);
    vg_dataset *ds = open_ds((vg_dataset_spec){.source = P("cut"), .frames = 6, .size = 16, .seed = 1});
    if (!ds) return;
    sh("cd %s && head -c 3000 vids/a/t.mp4 > cut/t.mp4", tmp);
    float *x = malloc((size_t)4 * vg_dataset_clip_numel(ds) * sizeof *x);
    CHECK(vg_prefetch_open(&pf, ds, 4, 2, 2) == VG_OK, "open: %s", vg_last_error());
    vg_status st = vg_prefetch_get(pf, 0, x, NULL, NULL);
    CHECK(st != VG_OK && strstr(vg_last_error(), "cut/t.mp4"), "a failing clip: %s", vg_last_error());
    printf("  failing clip: %s\n", vg_last_error());
    vg_prefetch_close(pf);
    free(x);
    vg_dataset_close(ds);
}

static void test_cache(void) {
    printf("clip cache\n");
    vg_dataset_spec spec = {.source = P("vids"), .frames = 6, .size = 16, .seed = 9, .stride = 2};
    vg_dataset *src = open_ds(spec);
    if (!src) return;
    const int n = 10;
    vg_status st = vg_clip_cache_write(src, &spec, P("cache"), 4, n, NULL);
    CHECK(st == VG_OK, "write: %s", vg_last_error());
    const int64_t numel = vg_dataset_clip_numel(src);
    float *want = malloc((size_t)n * numel * sizeof *want), *got = malloc((size_t)n * numel * sizeof *got);
    int64_t lw[10], lg[10];
    CHECK(vg_dataset_batch(src, 4, n, want, lw) == VG_OK, "source batch");
    for (int64_t i = 0; i < n * numel; i++) want[i] = (float)(int)((want[i] + 1.0f) * 127.5f + 0.5f) / 127.5f - 1.0f;
    const char *as[2] = {P("cache"), P("cache/clips.npy")};
    for (int k = 0; k < 2; k++) {
        vg_dataset *c = open_ds((vg_dataset_spec){.source = as[k], .frames = 6, .size = 16});
        if (!c) continue;
        const vg_dataset_desc *d = vg_dataset_info(c);
        CHECK(d->num_classes == 2 && !strcmp(d->class_names[0], "a") && !strcmp(d->class_names[1], "b") && d->size == n,
              "%s: classes / size", as[k]);
        CHECK(vg_dataset_batch(c, 0, n, got, lg) == VG_OK, "cache batch: %s", vg_last_error());
        CHECK_CLOSE("cached clips vs source", got, want, n * numel, 0, 1e-6);
        CHECK(!memcmp(lg, lw, sizeof lw), "%s: labels did not survive", as[k]);
        vg_dataset_close(c);
    }
    vg_dataset_close(src);
    free(want);
    free(got);
    /* a description that disagrees with the array */
    sh("cd %s && sed -i 's/\"clips\":10/\"clips\":11/' cache/clips.json", tmp);
    vg_dataset *c = NULL;
    st = vg_dataset_open(&c, &(vg_dataset_spec){.source = P("cache"), .frames = 6, .size = 16});
    CHECK(st != VG_OK && strstr(vg_last_error(), "clips.json") && strstr(vg_last_error(), "\"clips\""), "bad json: %s",
          vg_last_error());
    sh("cd %s && echo '{' > cache/clips.json", tmp);
    st = vg_dataset_open(&c, &(vg_dataset_spec){.source = P("cache"), .frames = 6, .size = 16});
    CHECK(st != VG_OK && strstr(vg_last_error(), "not valid JSON"), "broken json: %s", vg_last_error());
    vg_dataset_close(c);
}

/* Debian's opencv-doc sample videos, when scripts/setup.sh has unpacked them. */
static void test_opencv_samples(void) {
    const char *dir = getenv("VIDGAN_OPENCV_DATA") ? getenv("VIDGAN_OPENCV_DATA") : "data/opencv";
    char path[600];
    snprintf(path, sizeof path, "%s/vtest.avi", dir);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        printf("opencv samples: SKIPPED (no %s; scripts/setup.sh unpacks Debian's opencv-doc there)\n", path);
        return;
    }
    printf("opencv samples in %s\n", dir);
    vg_dataset *ds = open_ds((vg_dataset_spec){.source = dir, .frames = 8, .size = 32, .seed = 1, .skip_bad = 1});
    if (!ds) return;
    const vg_folder_report *r = vg_video_folder_report(ds);
    CHECK(r->num_videos >= 3, "expected vtest.avi, Megamind.avi and tree.avi, found %d videos", r->num_videos);
    for (int i = 0; i < r->num_videos; i++) {
        printf("  %s: %dx%d, %lld frames, %s\n", r->videos[i].path, r->videos[i].width, r->videos[i].height,
               (long long)r->videos[i].frames, r->videos[i].codec);
        /* ffprobe's count of decoded frames agrees */
        char cmd[1024], outb[64] = "";
        snprintf(cmd, sizeof cmd, "ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 '%s'",
                 r->videos[i].path);
        sh_capture(cmd, outb, sizeof outb);
        CHECK(atoll(outb) == r->videos[i].frames, "%s: %lld frames, ffprobe counts %s", r->videos[i].path,
              (long long)r->videos[i].frames, outb);
    }
    float *x = malloc((size_t)6 * vg_dataset_clip_numel(ds) * sizeof *x);
    CHECK(vg_dataset_batch(ds, 0, 6, x, NULL) == VG_OK, "opencv clips: %s", vg_last_error());
    free(x);
    vg_dataset_close(ds);
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/vg_pipeline_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = sh("cd %s && mkdir -p vids/a vids/b && "
                "ffmpeg -v error -f lavfi -i testsrc2=size=48x32:rate=10 -frames:v 40 -c:v libx264 -pix_fmt yuv420p -g 10 vids/a/t.mp4 && "
                "ffmpeg -v error -f lavfi -i mandelbrot=size=48x32:rate=10 -frames:v 30 -c:v mjpeg vids/b/m.avi",
                tmp);
    CHECK(rc == 0, "making videos with ffmpeg failed (exit %d): the ffmpeg program is needed", rc);
    if (rc != 0) TEST_END();
    test_prefetch();
    test_cache();
    test_opencv_samples();
    if (vt_failed == 0) sh("rm -rf %s", tmp);
    else printf("inputs kept in %s\n", tmp);
    TEST_END();
}
