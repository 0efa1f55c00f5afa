/* test_data_cli.c — the data commands as a user runs them: `vidgan data
 * info` on a folder of frame folders (layout, videos, skipped frames with
 * reasons), `vidgan train` on it with --skip-bad (skipped files listed once
 * at the end; data time per step in metrics.jsonl and the summary),
 * `vidgan data prepare` into a clip cache and `vidgan train --data cache/`
 * from it, `vidgan train` on a .npy in Moving MNIST's (T, N, H, W) layout
 * (--npy-layout TNHW), and clear errors (no -o, a frame folder with a
 * broken frame without --skip-bad). Frames are written by the ffmpeg
 * program; the .npy byte by byte here, from the format's specification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "cli_run.h"
#include "npy_header.h"

static const char *SMALL = "--size 16 --frames 4 --g-base 8 --d-base 8 --z-dim 16 --batch 4 --sample-n 4 --threads 2 "
                           "--sample-every 0 --ckpt-every 0";

/* A version 1.0 .npy of uint8 (T, N, H, W) = (10, 3, 16, 16) like
 * mnist_test_seq.npy: a bright 4x4 square moving one pixel per frame. */
static int write_tnhw_npy(const char *path) {
    const int T = 10, N = 3, H = 16, W = 16;
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    npy_write_header(f, "|u1", 4, (const int[]){T, N, H, W});
    for (int t = 0; t < T; t++)
        for (int n = 0; n < N; n++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    int x0 = (t + 3 * n) % (W - 4), y0 = 2 + n * 3;
                    fputc(x >= x0 && x < x0 + 4 && y >= y0 && y < y0 + 4 ? 250 : 5, f);
                }
    return fclose(f) == 0;
}

int main(int argc, char **argv) {
    (void)argc;
    if (!cli_setup(argv[0], "data_cli")) return 1;
    int rc = run("cd %s && mkdir -p fr/run/v1 fr/run/v2 fr/walk/v3 && "
                 "ffmpeg -v error -f lavfi -i testsrc2=size=40x30:rate=10 -frames:v 12 fr/run/v1/%%d.png && "
                 "ffmpeg -v error -f lavfi -i mandelbrot=size=40x30:rate=10 -frames:v 12 -q:v 3 fr/run/v2/f%%d.jpg && "
                 "ffmpeg -v error -f lavfi -i testsrc2=size=32x32:rate=10 -frames:v 9 fr/walk/v3/%%04d.png",
                 tmp);
    CHECK(rc == 0, "making frames with ffmpeg failed (exit %d): the ffmpeg program is needed", rc);
    if (rc != 0) TEST_END();

    rc = run("%s data info %s/fr --size 16 --frames 4", vidgan, tmp);
    CHECK(rc == 0 && output_has("layout: frame folders") && output_has("videos: 3 usable") && output_has("1: walk"),
          "data info on frame folders (exit %d)", rc);

    /* a broken frame: an error naming it, or skipped and listed with --skip-bad */
    run("cd %s && head -c 100 fr/run/v1/3.png > fr/run/v1/30.png", tmp);
    rc = run("%s train %s --data %s/fr --steps 1 --out %s/r0", vidgan, SMALL, tmp, tmp);
    CHECK(rc != 0 && output_has("v1/30.png: truncated PNG") && output_has("--skip-bad"), "broken frame without --skip-bad (exit %d)",
          rc);
    rc = run("%s data info %s/fr --size 16 --frames 4 --skip-bad", vidgan, tmp);
    CHECK(rc == 0 && output_has("skipped: 1 (1 unreadable") && output_has("v1/30.png: truncated PNG"), "info --skip-bad");
    rc = run("%s train %s --data %s/fr --skip-bad --steps 3 --out %s/r1", vidgan, SMALL, tmp, tmp);
    CHECK(rc == 0, "train on frame folders with --skip-bad (exit %d)", rc);
    CHECK(output_has("data time:") && output_has("prefetch queue"), "no data time summary");
    CHECK(output_count("v1/30.png: truncated PNG") == 1 && output_has("skipped 1 file"),
          "skipped frame folder not listed exactly once at the end");
    char path[400];
    snprintf(path, sizeof path, "%s/r1/metrics.jsonl", tmp);
    FILE *f = fopen(path, "r");
    char line[1024] = "";
    int lines = 0, with_data = 0;
    while (f && fgets(line, sizeof line, f)) {
        lines++;
        const char *d = strstr(line, "\"data_s\":"), *fr = strstr(line, "\"data_frac\":");
        with_data += d && fr && atof(d + 9) >= 0 && atof(fr + 12) >= 0 && atof(fr + 12) <= 1;
    }
    if (f) fclose(f);
    CHECK(lines == 3 && with_data == 3, "metrics.jsonl: %d lines, %d with data_s and data_frac", lines, with_data);

    /* the same steps without the queue give the same losses (everything
     * in a log line before the timings) */
    rc = run("%s train %s --data %s/fr --skip-bad --steps 3 --prefetch 0 --out %s/r2 && cd %s && "
             "sed -E 's/,\"time\".*//' r1/metrics.jsonl > a.txt && sed -E 's/,\"time\".*//' r2/metrics.jsonl > b.txt && "
             "grep -q loss_d a.txt && cmp a.txt b.txt",
             vidgan, SMALL, tmp, tmp, tmp);
    CHECK(rc == 0, "training with and without prefetch differs (exit %d)", rc);

    /* prepare a cache, then train from it */
    rc = run("%s data prepare %s/fr --size 16 --frames 4 --skip-bad", vidgan, tmp);
    CHECK(rc == 2 && output_has("-o DIR"), "prepare without -o (exit %d)", rc);
    rc = run("%s data prepare %s/fr -o %s/cache --size 16 --frames 4 --skip-bad --clips 12", vidgan, tmp, tmp);
    CHECK(rc == 0 && output_has("train with --data"), "prepare (exit %d)", rc);
    rc = run("%s data info --data %s/cache --size 16 --frames 4", vidgan, tmp);
    CHECK(rc == 0 && output_has("classes: 2") && output_has("1: walk") && output_has("clips per epoch: 12"),
          "info on the cache (exit %d)", rc);
    rc = run("%s train %s --data %s/cache --steps 2 --out %s/r3", vidgan, SMALL, tmp, tmp);
    CHECK(rc == 0 && output_has("run folder:"), "train from the cache (exit %d)", rc);
    rc = run("%s train %s --data %s/cache --steps 3 --resume auto --out %s/r3", vidgan, SMALL, tmp, tmp);
    CHECK(rc == 0 && output_has("resuming from"), "resume from the cache (exit %d)", rc);

    /* Moving MNIST's own layout: info, then training */
    char npy[300];
    snprintf(npy, sizeof npy, "%s/seq.npy", tmp);
    CHECK(write_tnhw_npy(npy), "cannot write %s", npy);
    rc = run("%s data info --data %s --npy-layout TNHW --size 16 --frames 4", vidgan, npy);
    CHECK(rc == 0 && output_has("clips per epoch: 3"), "info on a TNHW .npy (exit %d)", rc);
    rc = run("%s data info --data %s --size 16 --frames 3", vidgan, npy);
    CHECK(rc == 0 && output_has("clips per epoch: 10"), "the same file read as NTHW: 10 videos of 3 frames (exit %d)", rc);
    rc = run("%s data info --data %s --size 16 --frames 4", vidgan, npy);
    CHECK(rc == 1 && output_has("seq.npy: clips of 4 frames, but the videos have only 3"),
          "NTHW videos shorter than the clip: an error naming the file (exit %d)", rc);
    rc = run("%s train %s --data %s --npy-layout TNHW --steps 2 --out %s/r4", vidgan, SMALL, npy, tmp);
    CHECK(rc == 0 && output_has("run folder:"), "train on a TNHW .npy (exit %d)", rc);
    if (vt_failed == 0) run("rm -rf %s", tmp);
    else printf("kept %s\n", tmp);
    TEST_END();
}
