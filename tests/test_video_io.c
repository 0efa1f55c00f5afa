/* test_video_io.c — MP4 writer, video reader, folder-of-videos data set.
 *
 * Inputs are made in a mkdtemp folder with the ffmpeg program (lavfi
 * testsrc2 96x64 at 10 fps in libx264 mp4 with B-frames, VP9 webm, MJPEG
 * avi, mkv, GIF; longer clips with short GOPs for the seek paths), and
 * broken files (zero bytes, random bytes, truncated mp4s, a PNG named .mp4,
 * a directory named .mp4, an unreadable file). Checks: ffprobe agrees with
 * the MP4 writer on frames, size and rate; the writer's output decodes back
 * close to its input; the reader reports the right geometry and its clips
 * equal the matching frames of a full sequential decode exactly (seeks with
 * B-frames included) and agree with ffmpeg's own decode; the data set is
 * deterministic, labels by sub-folder and skips and reports bad and short
 * files. ffmpeg/ffprobe are required: without them this test fails. */
#include <dirent.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/video_folder.h"
#include "io/mp4.h"
#include "io/video_reader.h"
#include "test.h"
#include "shell.h"
#include "vidgan.h"



/* ffprobe: width, height, avg_frame_rate, counted frames */
static int probe(const char *path, int *w, int *h, double *rate, int *frames) {
    char cmd[1024], out[512];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -count_frames -select_streams v:0 -show_entries "
             "stream=width,height,avg_frame_rate,nb_read_frames -of csv=p=0 '%s'", path);
    if (sh_capture(cmd, out, sizeof out) != 0) return 0;
    int an, ad;
    if (sscanf(out, "%d,%d,%d/%d,%d", w, h, &an, &ad, frames) != 5) return 0;
    *rate = ad ? (double)an / ad : 0;
    return 1;
}

static double mae(const uint8_t *a, const uint8_t *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += abs((int)a[i] - (int)b[i]);
    return s / (double)n;
}

/* The whole video at its own size, via the reader. */
static uint8_t *decode_all(const char *path, vg_video_desc *d, int size) {
    vg_video *v;
    if (vg_video_open(&v, path) != VG_OK) {
        CHECK(0, "open %s: %s", path, vg_last_error());
        return NULL;
    }
    vg_video_info(v, d);
    int H = size ? size : d->height, W = size ? size : d->width;
    uint8_t *buf = malloc((size_t)d->frames * H * W * 3);
    vg_status st = vg_video_read_clip(v, 0, (int)d->frames, 1, size, buf);
    CHECK(st == VG_OK, "full decode of %s: %s", path, vg_last_error());
    vg_video_close(v);
    if (st != VG_OK) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* ---- MP4 writer ------------------------------------------------------------------ */

static void make_video(uint8_t *rgb, int T, int H, int W, int flat) {
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                uint8_t *p = rgb + (((size_t)t * H + y) * W + x) * 3;
                if (flat == 1) { /* four flat quadrants, swapping colours over time */
                    int q = ((y * 2 / H) * 2 + (x * 2 / W) + t / 4) % 4;
                    static const uint8_t c[4][3] = {{200, 40, 40}, {40, 180, 60}, {30, 60, 200}, {230, 230, 230}};
                    memcpy(p, c[q], 3);
                } else { /* smooth gradient (+ a moving square if flat == 0) */
                    p[0] = (uint8_t)(x * 255 / W);
                    p[1] = (uint8_t)(y * 255 / H);
                    p[2] = (uint8_t)((t * 16) & 255);
                    int sx = 4 + 2 * t, sy = 6 + t;
                    if (flat == 0 && x >= sx && x < sx + 10 && y >= sy && y < sy + 10) p[0] = 250, p[1] = 250, p[2] = 20;
                }
            }
}

static void check_roundtrip(const char *name, const uint8_t *rgb, int T, int H, int W, double fps, double bound) {
    const char *path = P(name);
    vg_status st = vg_mp4_write(path, rgb, T, H, W, fps);
    CHECK(st == VG_OK, "mp4 write %s: %s", name, vg_last_error());
    if (st != VG_OK) return;
    int w, h, n;
    double rate;
    int ok = probe(path, &w, &h, &rate, &n);
    CHECK(ok, "ffprobe %s", name);
    /* odd sizes are padded to even by repeating the last row / column */
    CHECK(ok && w == W + (W & 1) && h == H + (H & 1), "%s: ffprobe size %dx%d, want %dx%d", name, w, h, W + (W & 1),
          H + (H & 1));
    CHECK(ok && n == T, "%s: ffprobe counts %d frames, want %d", name, n, T);
    CHECK(ok && fabs(rate - fps) < 1e-3, "%s: ffprobe avg_frame_rate %.5f, want %.5f", name, rate, fps);
    vg_video_desc d;
    uint8_t *back = decode_all(path, &d, 0);
    if (!back) return;
    CHECK(d.frames == T && d.width == w && d.height == h && fabs(d.fps - fps) < 1e-3,
          "%s: reader says %lld frames %dx%d %.4f fps", name, (long long)d.frames, d.width, d.height, d.fps);
    double err = 0;
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            err += mae(back + (((size_t)t * h + y) * w) * 3, rgb + (((size_t)t * H + y) * W) * 3, (size_t)W * 3);
    err /= (double)T * H;
    printf("  %-18s %dx%d T=%d fps=%g: mean abs error %.2f / 255\n", name, W, H, T, fps, err);
    CHECK(err < bound, "%s: round trip mean abs error %.2f >= %.2f", name, err, bound);
    if (W & 1) { /* the padding column repeats the last one */
        double e = 0;
        for (int y = 0; y < H; y++) e += mae(back + ((size_t)y * w + W) * 3, back + ((size_t)y * w + W - 1) * 3, 3);
        CHECK(e / H < 8, "%s: padding column differs from the last column by %.1f", name, e / H);
    }
    free(back);
}

static int count_temps(void) {
    DIR *d = opendir(tmp);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

static void test_mp4_writer(const uint8_t *src, int sT) {
    printf("mp4 writer (encoder %s)\n", vg_mp4_encoder_name() ? vg_mp4_encoder_name() : "none");
    CHECK(vg_mp4_encoder_name() && !strcmp(vg_mp4_encoder_name(), "libx264"), "libx264 expected in Debian's FFmpeg");
    int T = 12, H = 48, W = 64;
    uint8_t *rgb = malloc((size_t)T * H * W * 3);
    make_video(rgb, T, H, W, 0);
    check_roundtrip("smooth.mp4", rgb, T, H, W, 8, 3.0);
    make_video(rgb, T, H, W, 1);
    check_roundtrip("flat.mp4", rgb, T, H, W, 12, 1.5);
    free(rgb);
    /* odd size, NTSC rate, a single frame */
    T = 7, H = 21, W = 33;
    rgb = malloc((size_t)T * H * W * 3);
    make_video(rgb, T, H, W, 2); /* no sharp colour edges: 4:2:0 chroma of a
                                    33x21 frame would dominate the error */
    check_roundtrip("odd.mp4", rgb, T, H, W, 30000.0 / 1001, 4.5);
    check_roundtrip("one.mp4", rgb, 1, H, W, 8, 3.0);
    free(rgb);
    /* testsrc2 content decoded from the ffmpeg-made mp4 */
    if (src) check_roundtrip("testsrc2.mp4", src, sT, 64, 96, 10, 6.0);

    /* errors leave an existing file untouched and no temporaries */
    const char *keep = P("smooth.mp4");
    struct stat a, b;
    stat(keep, &a);
    uint8_t px[3 * 4 * 4] = {0};
    CHECK(vg_mp4_write(keep, px, 0, 4, 4, 8) == VG_ERR_INVALID && strstr(vg_last_error(), keep), "T=0: %s", vg_last_error());
    CHECK(vg_mp4_write(keep, px, 1, 4, 4, 0) == VG_ERR_INVALID, "fps 0 accepted");
    stat(keep, &b);
    CHECK(a.st_size == b.st_size && a.st_mtime == b.st_mtime, "failed write changed %s", keep);
    const char *nodir = P("no/such/dir/x.mp4");
    vg_status st = vg_mp4_write(nodir, px, 1, 4, 4, 8);
    CHECK(st == VG_ERR_IO && strstr(vg_last_error(), nodir), "missing dir: %s %s", vg_status_name(st), vg_last_error());
    CHECK(count_temps() == 0, "temporary files left behind");
}

/* ---- reader --------------------------------------------------------------------------- */

static void test_reader_file(const char *name, int frames, double fps, const char *codec) {
    const char *path = P(name);
    vg_video *v;
    vg_status st = vg_video_open(&v, path);
    CHECK(st == VG_OK, "open %s: %s", name, vg_last_error());
    if (st != VG_OK) return;
    vg_video_desc d;
    vg_video_info(v, &d);
    printf("  %-10s %s/%s %dx%d %.3f fps %lld frames\n", name, d.format, d.codec, d.width, d.height, d.fps,
           (long long)d.frames);
    CHECK(d.width == 96 && d.height == 64, "%s: size %dx%d", name, d.width, d.height);
    CHECK(d.frames == frames, "%s: %lld frames, want %d", name, (long long)d.frames, frames);
    CHECK(fabs(d.fps - fps) < 1e-6, "%s: fps %g, want %g", name, d.fps, fps);
    CHECK(strcmp(d.codec, codec) == 0, "%s: codec %s, want %s", name, d.codec, codec);
    vg_video_close(v);

    /* native size: agrees with ffmpeg's own decode, frame by frame */
    vg_video_desc dd;
    uint8_t *full = decode_all(path, &dd, 0);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ffmpeg -v error -i '%s' -fps_mode passthrough -f rawvideo -pix_fmt rgb24 -", path);
    const size_t fb = 96 * 64 * 3;
    uint8_t *ff = sh_read_exact(cmd, (size_t)frames * fb);
    CHECK(ff != NULL, "ffmpeg decode of %s", name);
    if (full && ff) {
        double worst = 0;
        int order_ok = 1;
        for (int t = 0; t < frames; t++) {
            double e = mae(full + t * fb, ff + t * fb, fb);
            worst = e > worst ? e : worst;
            if (t + 1 < frames && mae(full + t * fb, ff + (t + 1) * fb, fb) < e) order_ok = 0;
        }
        CHECK(worst < 3.0, "%s: reader vs ffmpeg mean abs diff %.2f", name, worst);
        CHECK(order_ok, "%s: frames out of order against ffmpeg's decode", name);
    }
    free(ff);
    free(full);

    /* clips: start 5 stride 2 from a fresh reader, then backwards on the same
     * one, equal the frames of a full sequential decode at size 48 */
    uint8_t *all = decode_all(path, &dd, 48);
    const size_t cb = 48 * 48 * 3;
    uint8_t *clip = malloc(8 * cb);
    if (all && vg_video_open(&v, path) == VG_OK) {
        st = vg_video_read_clip(v, 5, 8, 2, 48, clip);
        int same = st == VG_OK;
        for (int k = 0; same && k < 8; k++) same = !memcmp(clip + k * cb, all + (size_t)(5 + 2 * k) * cb, cb);
        CHECK(same, "%s: clip 5:2 differs from sequential decode (%s)", name, st == VG_OK ? "pixels" : vg_last_error());
        st = vg_video_read_clip(v, frames - 4, 4, 1, 48, clip);
        same = st == VG_OK;
        for (int k = 0; same && k < 4; k++) same = !memcmp(clip + k * cb, all + (size_t)(frames - 4 + k) * cb, cb);
        CHECK(same, "%s: clip at the end differs", name);
        st = vg_video_read_clip(v, 1, 3, 3, 48, clip);
        same = st == VG_OK;
        for (int k = 0; same && k < 3; k++) same = !memcmp(clip + k * cb, all + (size_t)(1 + 3 * k) * cb, cb);
        CHECK(same, "%s: clip after going backwards differs", name);
        st = vg_video_read_clip(v, frames - 2, 2, 2, 48, clip);
        CHECK(st == VG_ERR_INVALID && strstr(vg_last_error(), path), "%s: clip past the end: %s", name, vg_last_error());
        vg_video_close(v);
    }
    free(clip);
    free(all);
}

/* Long clips with short GOPs: reads far from the current position seek. */
static void test_reader_seek(const char *name) {
    const char *path = P(name);
    vg_video_desc d;
    uint8_t *all = decode_all(path, &d, 32);
    if (!all) return;
    const size_t cb = 32 * 32 * 3;
    uint8_t *clip = malloc(6 * cb);
    vg_video *v;
    int bad = 0;
    if (vg_video_open(&v, path) == VG_OK) {
        const int64_t starts[] = {100, 57, 9, 111, 64, 63, 200, 130, 65, 20};
        for (int i = 0; i < 10; i++) {
            int64_t s = starts[i] % (d.frames - 12);
            vg_status st = vg_video_read_clip(v, s, 6, 2, 32, clip);
            if (st != VG_OK || memcmp(clip, all + (size_t)s * cb, cb) || memcmp(clip + 5 * cb, all + (size_t)(s + 10) * cb, cb)) {
                bad++;
                fprintf(stderr, "  %s: clip at %lld differs (%s)\n", name, (long long)s, st == VG_OK ? "pixels" : vg_last_error());
            }
        }
        vg_video_close(v);
    }
    CHECK(bad == 0, "%s: %d seeking clips differ from the sequential decode", name, bad);
    free(clip);
    free(all);
}

/* ---- broken files ------------------------------------------------------------------ */

static void expect_open_fails(const char *name, const char *what) {
    const char *path = P(name);
    vg_video *v = NULL;
    vg_status st = vg_video_open(&v, path);
    printf("  %-22s -> %s: %s\n", what, vg_status_name(st), vg_last_error());
    CHECK(st != VG_OK && v == NULL, "%s: opened", what);
    CHECK(strstr(vg_last_error(), path) != NULL, "%s: message lacks the path: %s", what, vg_last_error());
    vg_video_close(v);
}

static void test_bad_files(void) {
    printf("bad files\n");
    sh("cd %s && : > zero.mp4 && head -c 4096 /dev/urandom > random.mp4 && mkdir -p dir.mp4", tmp);
    sh("cd %s && head -c 3000 a.mp4 > trunc.mp4 && head -c $(($(stat -c %%s fast.mp4) * 6 / 10)) fast.mp4 > truncfast.mp4", tmp);
    sh("cd %s && ffmpeg -v error -f lavfi -i color=red:size=32x32 -frames:v 1 img.png && cp img.png png.mp4", tmp);
    expect_open_fails("zero.mp4", "zero-byte file");
    expect_open_fails("random.mp4", "random bytes");
    expect_open_fails("trunc.mp4", "truncated mp4 (no moov)");
    expect_open_fails("png.mp4", "PNG named .mp4");
    expect_open_fails("dir.mp4", "directory named .mp4");
    expect_open_fails("missing.mp4", "missing file");
    sh("cd %s && cp a.mp4 noperm.mp4 && chmod 000 noperm.mp4", tmp);
    FILE *f = fopen(P("noperm.mp4"), "rb");
    if (f) {
        fclose(f);
        printf("  unreadable file: running as root, permissions do not stop reads; check skipped\n");
    } else {
        expect_open_fails("noperm.mp4", "unreadable file");
    }
    sh("rm -f %s/noperm.mp4", tmp);

    /* truncated with the index up front: what is there decodes, the rest is
     * an error naming the file and the frame */
    vg_video *v;
    const char *tf = P("truncfast.mp4");
    vg_status st = vg_video_open(&v, tf);
    CHECK(st == VG_OK, "truncated faststart mp4 should open: %s", vg_last_error());
    if (st == VG_OK) {
        vg_video_desc d;
        vg_video_info(v, &d);
        uint8_t *buf = malloc((size_t)60 * 32 * 32 * 3);
        st = vg_video_read_clip(v, 0, 4, 1, 32, buf);
        CHECK(st == VG_OK, "truncated: first frames should decode: %s", vg_last_error());
        st = vg_video_read_clip(v, 0, (int)d.frames, 1, 32, buf);
        int frames_known = d.frames < 60;
        printf("  truncated faststart mp4: %lld of 60 frames listed; reading them all -> %s %s\n", (long long)d.frames,
               vg_status_name(st), st == VG_OK ? "" : vg_last_error());
        CHECK(frames_known || st != VG_OK, "truncated file reads as complete");
        if (st != VG_OK) CHECK(strstr(vg_last_error(), tf) && strstr(vg_last_error(), "frame"), "message: %s", vg_last_error());
        free(buf);
        vg_video_close(v);
    }
}

/* ---- the folder data set ----------------------------------------------------------- */

static void test_folder(void) {
    printf("folder data set\n");
    sh("cd %s && mkdir -p ds/cats ds/dogs ds/.hidden empty && cp a.mp4 ds/cats/a.mp4 && cp a.webm ds/cats/b.WEBM && "
       "cp a.avi ds/dogs/c.avi && cp a.gif ds/dogs/sub_d.gif && cp a.mp4 ds/.hidden/x.mp4 && echo hi > ds/dogs/notes.txt && "
       "ffmpeg -v error -f lavfi -i testsrc2=size=40x30:rate=10 -frames:v 5 -c:v libx264 -pix_fmt yuv420p ds/dogs/short.mp4",
       tmp);
    vg_dataset_spec spec = {.source = P("ds"), .frames = 6, .size = 32, .seed = 11, .stride = 2};
    vg_dataset *ds;
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "open folder: %s", vg_last_error());
    if (st != VG_OK) return;
    const vg_dataset_desc *d = vg_dataset_info(ds);
    const vg_folder_report *r = vg_video_folder_report(ds);
    CHECK(d->channels == 3 && d->frames == 6 && d->height == 32 && d->width == 32, "geometry");
    CHECK(d->num_classes == 2 && !strcmp(d->class_names[0], "cats") && !strcmp(d->class_names[1], "dogs"),
          "classes: %d %s", d->num_classes, d->num_classes ? d->class_names[0] : "");
    CHECK(r && r->num_videos == 4 && r->num_short == 1 && r->num_bad == 0 && r->total_frames == 96,
          "report: %d videos, %d short, %d bad, %lld frames", r ? r->num_videos : -1, r ? r->num_short : -1,
          r ? r->num_bad : -1, r ? (long long)r->total_frames : -1);
    if (r && r->num_short == 1) CHECK(strstr(r->skipped[0].path, "short.mp4") && strstr(r->skipped[0].reason, "5 frames"),
                                     "short reason: %s", r->skipped[0].reason);
    for (int i = 0; r && i < r->num_videos; i++)
        CHECK(r->videos[i].label == (strstr(r->videos[i].path, "/cats/") ? 0 : 1), "label of %s", r->videos[i].path);
    const int n = 12;
    const int64_t numel = vg_dataset_clip_numel(ds);
    float *x1 = malloc((size_t)n * numel * sizeof *x1), *x2 = malloc((size_t)n * numel * sizeof *x2);
    int64_t l1[12], l2[12];
    vg_set_threads(1);
    st = vg_dataset_batch(ds, 3, n, x1, l1);
    CHECK(st == VG_OK, "batch: %s", vg_last_error());
    vg_set_threads(2);
    vg_dataset *ds2;
    vg_dataset_open(&ds2, &spec);
    st = vg_dataset_batch(ds2, 3, n, x2, l2);
    CHECK(st == VG_OK && !memcmp(x1, x2, (size_t)n * numel * sizeof *x1) && !memcmp(l1, l2, sizeof l1),
          "clips differ between runs / thread counts");
    float one[6 * 32 * 32 * 3];
    int64_t lab;
    st = vg_dataset_clip(ds2, 7, one, &lab);
    CHECK(st == VG_OK && !memcmp(one, x1 + 4 * numel, sizeof one) && lab == l1[4], "clip 7 alone differs");
    int seen[2] = {0, 0}, in_range = 1;
    for (int i = 0; i < n; i++) seen[l1[i] & 1]++;
    for (int64_t i = 0; i < n * numel; i++) in_range &= x1[i] >= -1.0f && x1[i] <= 1.0f;
    CHECK(seen[0] && seen[1], "both classes should appear in 12 clips");
    CHECK(in_range, "values outside [-1, 1]");
    vg_dataset_close(ds2);
    vg_dataset_close(ds);
    free(x1);
    free(x2);

    /* "folder" + path, grey */
    vg_dataset_spec s2 = {.source = "folder", .path = P("ds"), .frames = 4, .size = 16, .channels = 1};
    st = vg_dataset_open(&ds, &s2);
    CHECK(st == VG_OK && vg_dataset_info(ds)->channels == 1, "folder+path: %s", vg_last_error());
    if (st == VG_OK) {
        float g[4 * 16 * 16];
        CHECK(vg_dataset_clip(ds, 0, g, NULL) == VG_OK, "grey clip: %s", vg_last_error());
        vg_dataset_close(ds);
    }

    /* bad files: fail naming the file, or skip and list with skip_bad */
    sh("cd %s && cp random.mp4 ds/dogs/bad.mp4 && : > ds/cats/zero.mp4", tmp);
    st = vg_dataset_open(&ds, &spec);
    CHECK(st != VG_OK && strstr(vg_last_error(), "ds/cats/zero.mp4"), "bad file not reported: %s", vg_last_error());
    printf("  without skip_bad: %s\n", vg_last_error());
    spec.skip_bad = 1;
    st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "skip_bad: %s", vg_last_error());
    if (st == VG_OK) {
        r = vg_video_folder_report(ds);
        CHECK(r->num_bad == 2 && r->num_short == 1 && r->num_skipped == 3 && r->num_videos == 4, "skip_bad report");
        for (int i = 0; i < r->num_skipped; i++) printf("  skipped %s: %s\n", r->skipped[i].path, r->skipped[i].reason);
        vg_dataset_close(ds);
    }
    /* a folder with no videos; a folder whose only video is too short */
    vg_dataset_spec s3 = {.source = P("empty")};
    st = vg_dataset_open(&ds, &s3);
    CHECK(st != VG_OK && strstr(vg_last_error(), P("empty")), "empty folder: %s", vg_last_error());
    printf("  empty folder: %s\n", vg_last_error());
    sh("cd %s && mkdir -p onlyshort && cp ds/dogs/short.mp4 onlyshort/", tmp);
    vg_dataset_spec s4 = {.source = P("onlyshort"), .frames = 16};
    st = vg_dataset_open(&ds, &s4);
    CHECK(st != VG_OK && strstr(vg_last_error(), "short.mp4"), "only short: %s", vg_last_error());
}

int main(void) {
    snprintf(tmp, sizeof tmp, "/tmp/vg_video_io_XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    char ver[256];
    int tools = sh_capture("ffmpeg -version", ver, sizeof ver) == 0 && sh_capture("ffprobe -version", ver, sizeof ver) == 0;
    CHECK(tools, "ffmpeg and ffprobe are needed (install the ffmpeg package)");
    if (!tools) TEST_END();
    const char *src = "-v error -f lavfi -i testsrc2=size=96x64:rate=10 -frames:v 24";
    int rc = sh("cd %s && ffmpeg %s -c:v libx264 -pix_fmt yuv420p -bf 3 -g 8 a.mp4 && "
                "ffmpeg %s -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -g 8 a.webm && "
                "ffmpeg %s -c:v mjpeg -q:v 3 a.avi && ffmpeg %s -c:v libx264 -pix_fmt yuv420p a.mkv && "
                "ffmpeg %s a.gif && "
                "ffmpeg -v error -f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 150 -c:v libx264 -pix_fmt yuv420p "
                "-bf 3 -g 12 long.mp4 && "
                "ffmpeg -v error -f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 150 -c:v libvpx-vp9 -deadline realtime "
                "-cpu-used 8 -g 12 long.webm && "
                "ffmpeg -v error -f lavfi -i testsrc2=size=64x48:rate=25 -frames:v 60 -c:v libx264 -pix_fmt yuv420p "
                "-g 10 -movflags +faststart fast.mp4",
                tmp, src, src, src, src, src);
    CHECK(rc == 0, "making the input videos with ffmpeg failed (exit %d)", rc);
    if (rc != 0) TEST_END();

    printf("reader\n");
    test_reader_file("a.mp4", 24, 10, "h264");
    test_reader_file("a.webm", 24, 10, "vp9");
    test_reader_file("a.avi", 24, 10, "mjpeg");
    test_reader_file("a.mkv", 24, 10, "h264");
    test_reader_file("a.gif", 24, 10, "gif");
    test_reader_seek("long.mp4");
    test_reader_seek("long.webm");

    vg_video_desc d;
    uint8_t *ts2 = decode_all(P("a.mp4"), &d, 0);
    test_mp4_writer(ts2, 24);
    free(ts2);
    test_bad_files();
    test_folder();

    if (vt_failed == 0) sh("rm -rf %s", tmp);
    else printf("inputs kept in %s\n", tmp);
    TEST_END();
}
