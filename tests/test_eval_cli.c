/* `vidgan eval` and `vidgan train --eval-every` end to end, as a user runs
 * them: a tiny checkpoint trained for two steps and a tiny evaluator
 * network, then eval of real vs generated clips (checkpoint, a folder of
 * videos, one video file): exit codes, the printed table with its
 * real-vs-real floors and protocol, the --json record (parsed with jansson:
 * protocol fields, the evaluator's SHA-256 against sha256sum, floors
 * beside every score; real clips score near 100% valid frames, the
 * untrained generator near 0%), clear errors that name the bad file, and
 * --eval-every: its log lines, best.safetensors (whose logged score `vidgan
 * eval` reproduces) and a resume that stays bit-exact with evaluation on;
 * the moving-digit metrics on mnist (real clips near 100%, noise 0%, the
 * evaluator's identity check naming its hash) and --metric frames on
 * videos made by ffmpeg (identical pairs: PSNR at its documented 100 dB
 * cap, SSIM 1; a noisy copy: PSNR and MSE per frame as ffmpeg's own psnr
 * filter measures them on the decoded RGB; mismatched pairs refused).
 * Runs the vidgan binary of the same build as this test. */
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/dataset.h"
#include "eval/evaluator.h"
#include "io/safetensors.h"
#include "models/i3d.h"
#include "test.h"
#include "cli_run.h"
#include "npy_header.h"

/* The FVD run end to end takes minutes (I3D ~1.5 s of CPU per 9-frame
 * clip, the 400-d Fréchet distance ~30 s), so it runs only with
 * VIDGAN_SLOW_TESTS=1 and never under AddressSanitizer; test_i3d checks the
 * network and test_feature_stats the distance. */
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_I3D_RUN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SKIP_I3D_RUN 1
#endif
#endif

static const char *SMALL = "--size 16 --frames 8 --g-base 8 --d-base 8 --z-dim 16 --batch 4 --sample-n 4 --threads 2";

/* A number at "a.b" in a JSON object, NAN when absent. */
static double jnum(json_t *root, const char *a, const char *b) {
    json_t *v = json_object_get(root, a);
    if (b) v = json_object_get(v, b);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(json_t *root, const char *a, const char *b) {
    json_t *v = json_object_get(root, a);
    if (b) v = json_object_get(v, b);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* The result record of `metric` in rec's "results", or NULL. */
static json_t *result(json_t *rec, const char *metric) {
    json_t *arr = json_object_get(rec, "results"), *r;
    size_t i;
    json_array_foreach(arr, i, r) if (strcmp(jstr(r, "metric", NULL), metric) == 0) return r;
    return NULL;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Trains and saves a tiny evaluator on shapes clips of the given geometry;
 * its SHA-256 (as vidgan computes it) into hash. 1 on success. */
static int make_evaluator(const char *path, int size, int frames, int steps, char hash[65]) {
    vg_dataset *ds = NULL;
    vg_dataset_spec spec = {.source = "shapes", .frames = frames, .size = size, .seed = 5};
    vg_evaluator *e = NULL;
    vg_evaluator_config cfg = {.channels = 3, .frames = frames, .size = size, .num_classes = 3, .width = 8,
                               .task = VG_EVAL_TASK_LABELS};
    vg_evaluator_train_args args = {.steps = steps, .batch = 8, .lr = 1e-3, .seed = 1, .holdout = 32};
    double acc = 0;
    int ok = vg_dataset_open(&ds, &spec) == VG_OK && vg_evaluator_train(&e, &acc, ds, &cfg, &args) == VG_OK &&
             vg_evaluator_save(e, path, hash) == VG_OK;
    if (!ok) printf("evaluator: %s\n", vg_last_error());
    if (e) vg_evaluator_free(e);
    vg_dataset_close(ds);
    return ok;
}

/* The SHA-256 of a file by sha256sum (an independent implementation). */
static void sha256sum(const char *path, char hex[65]) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    hex[0] = '\0';
    if (!p) return;
    if (fscanf(p, "%64s", hex) != 1) hex[0] = '\0';
    pclose(p);
}

/* A .npy of n grey videos (n, T, H, W) uint8 of random pixels; 1 on success. */
static int write_npy(const char *path, int n, int T, int H, int W) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    npy_write_header(f, "|u1", 4, (const int[]){n, T, H, W});
    uint32_t x = 12345;
    for (long i = 0; i < (long)n * T * H * W; i++) x = x * 1664525u + 1013904223u, fputc((int)(x >> 24), f);
    return fclose(f) == 0;
}

/* The eval lines of a metrics log: step, value, floor, best, best step. */
typedef struct eval_line {
    long long step, best_step;
    double value, floor, best;
} eval_line;

static int read_eval_lines(const char *path, eval_line *out, int max) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[4096];
    int n = 0;
    while (n < max && fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        if (j && json_object_get(j, "eval_value")) {
            out[n] = (eval_line){(long long)jnum(j, "step", NULL), (long long)jnum(j, "eval_best_step", NULL),
                                 jnum(j, "eval_value", NULL), jnum(j, "eval_floor", NULL), jnum(j, "eval_best", NULL)};
            n++;
        }
        json_decref(j);
    }
    fclose(f);
    return n;
}

/* A labels evaluator on 2-digit Moving MNIST (55 unordered pairs), barely
 * trained: enough to wire the identity check. 1 on success. */
static int make_digits_evaluator(const char *path, char hash[65]) {
    vg_dataset *ds = NULL;
    vg_dataset_spec spec = {.source = "mnist", .frames = 8, .size = 32, .seed = 5};
    vg_evaluator *e = NULL;
    vg_evaluator_config cfg;
    vg_evaluator_train_args args = {.steps = 10, .batch = 8, .lr = 1e-3, .seed = 1, .holdout = 16};
    double acc = 0;
    int ok = vg_dataset_open(&ds, &spec) == VG_OK;
    if (ok) {
        vg_evaluator_config_for(&cfg, ds);
        cfg.width = 8;
        ok = vg_evaluator_train(&e, &acc, ds, &cfg, &args) == VG_OK && vg_evaluator_save(e, path, hash) == VG_OK;
    }
    if (!ok) printf("digits evaluator: %s\n", vg_last_error());
    if (e) vg_evaluator_free(e);
    vg_dataset_close(ds);
    return ok;
}

/* A .npy of float32 videos (n, T, H, W) in [0, 1]: clips 0 .. n-1 of a
 * data set (1 channel), (x + 1) / 2. 1 on success. */
static int write_clips_npy(const char *path, const char *source, int n, int T, int size, int seed) {
    vg_dataset *ds = NULL;
    vg_dataset_spec spec = {.source = source, .frames = T, .size = size, .seed = (uint64_t)seed};
    if (vg_dataset_open(&ds, &spec) != VG_OK) return 0;
    FILE *f = fopen(path, "wb");
    float *clip = malloc((size_t)T * size * size * sizeof *clip);
    int ok = f && clip;
    if (ok) npy_write_header(f, "<f4", 4, (const int[]){n, T, size, size});
    for (int i = 0; ok && i < n; i++) {
        ok = vg_dataset_clip(ds, i, clip, NULL) == VG_OK;
        for (long k = 0; ok && k < (long)T * size * size; k++) {
            float v = (clip[k] + 1) * 0.5f; /* as vidgan eval maps data clips to [0, 1] */
            ok = fwrite(&v, sizeof v, 1, f) == 1;
        }
    }
    if (f && fclose(f) != 0) ok = 0;
    free(clip);
    vg_dataset_close(ds);
    return ok;
}

/* ffmpeg's psnr filter on the decoded RGB of a against b: per-frame mse_avg
 * (8-bit units) and psnr_avg into mse[], psnr[]; the frame count. */
static int ffmpeg_psnr(const char *a, const char *b, double *mse, double *psnr, int max) {
    char log[400];
    snprintf(log, sizeof log, "%s/psnr.log", tmp);
    if (run("ffmpeg -v error -i %s -i %s -lavfi \"[0:v]format=rgb24[x];[1:v]format=rgb24[y];[x][y]psnr=stats_file=%s\" "
            "-f null -", a, b, log) != 0)
        return 0;
    FILE *f = fopen(log, "r");
    int n = 0, idx;
    char line[512];
    while (f && n < max && fgets(line, sizeof line, f)) {
        const char *m = strstr(line, "mse_avg:"), *p = strstr(line, "psnr_avg:");
        if (sscanf(line, "n:%d", &idx) == 1 && m && p) {
            mse[n] = atof(m + 8);
            psnr[n] = atof(p + 9);
            n++;
        }
    }
    if (f) fclose(f);
    return n;
}

static double jarr(json_t *root, const char *a, const char *b, size_t i) {
    json_t *v = json_array_get(json_object_get(json_object_get(root, a), b), i);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The moving-digit metrics through the CLI. */
static void check_digits(const char *json) {
    int rc = run("%s eval --data mnist --size 64 --frames 8 --n 24 --threads 2 --json %s", vidgan, json);
    CHECK(rc == 0 && output_has("valid frames (digits)") && output_has("smooth clips (digits)") &&
              output_has("ink-conserved clips (digits)") && output_has("digits thresholds (2 digits, MNIST)"),
          "eval --data mnist: exit %d, the digits metrics are in the table", rc);
    json_error_t err;
    json_t *rec = json_load_file(json, 0, &err);
    double rv = jnum(result(rec, "digits_valid_frames"), "floor", NULL), rs = jnum(result(rec, "digits_smooth_clips"), "floor", NULL);
    double ri = jnum(result(rec, "digits_ink_clips"), "floor", NULL);
    printf("digits, real B: valid %.3f ink %.3f smooth %.3f\n", rv, ri, rs);
    CHECK(rec && rv >= 0.99 && ri >= 0.9 && rs >= 0.9 && jnum(json_object_get(rec, "digits"), "thresholds", "num_digits") == 2 &&
              jnum(json_object_get(rec, "digits"), "real_b", "clips") == 24 && !result(rec, "digits_identity_stable"),
          "digits: real clips score high (valid %g, ink %g, smooth %g), thresholds recorded", rv, ri, rs);
    json_decref(rec);

    char npy[400], ev[400], hash[65] = "";
    snprintf(npy, sizeof npy, "%s/noise64.npy", tmp);
    CHECK(write_npy(npy, 6, 8, 64, 64), "write %s", npy);
    rc = run("%s eval --data mnist --fake %s --metric digits --size 64 --frames 8 --n 8 --threads 2 --json %s", vidgan, npy, json);
    rec = json_load_file(json, 0, &err);
    CHECK(rc == 0 && rec && jnum(result(rec, "digits_valid_frames"), "generated", NULL) == 0 &&
              jnum(result(rec, "digits_smooth_clips"), "generated", NULL) == 0 &&
              jnum(result(rec, "digits_valid_frames"), "floor", NULL) >= 0.99,
          "digits: noise videos score 0 beside the real floor (exit %d)", rc);
    json_decref(rec);

    snprintf(ev, sizeof ev, "%s/digits-evaluator.safetensors", tmp);
    if (make_digits_evaluator(ev, hash)) {
        rc = run("%s eval --data mnist --evaluator %s --metric digits --n 16 --threads 2 --json %s", vidgan, ev, json);
        rec = json_load_file(json, 0, &err);
        json_t *id = rec ? result(rec, "digits_identity_stable") : NULL;
        double fl = jnum(id, "floor", NULL);
        CHECK(rc == 0 && output_has("same class both halves") && id && strcmp(jstr(id, "network_sha256", NULL), hash) == 0 &&
                  fl >= 0 && fl <= 1 && json_is_null(json_object_get(id, "generated")),
              "digits identity: the evaluator's check is reported with its hash (exit %d, floor %g)", rc, fl);
        json_decref(rec);
    } else
        CHECK(0, "digits evaluator trained");
    rc = run("%s eval --data shapes --metric digits --n 4", vidgan);
    CHECK(rc == 2 && output_has("mnist or fashion"), "--metric digits on shapes: exit %d", rc);
}

/* --metric frames on videos made by ffmpeg (lossless RGB: ffv1, bgr0). */
static void check_frames(const char *json) {
    int rc = run("cd %s && mkdir -p fr/clean fr/same fr/noisy fr/one fr/wide && "
                 "ffmpeg -v error -f lavfi -i testsrc=size=48x32:rate=10 -frames:v 6 -c:v ffv1 -pix_fmt bgr0 fr/clean/a.mkv && "
                 "ffmpeg -v error -f lavfi -i mandelbrot=size=48x32:rate=10 -frames:v 6 -c:v ffv1 -pix_fmt bgr0 fr/clean/b.mkv && "
                 "cp fr/clean/*.mkv fr/same/ && cp fr/clean/a.mkv fr/one/ && "
                 "ffmpeg -v error -i fr/clean/a.mkv -vf format=gbrp,noise=alls=25:allf=t -c:v ffv1 -pix_fmt bgr0 fr/noisy/a.mkv && "
                 "ffmpeg -v error -i fr/clean/b.mkv -vf format=gbrp,noise=alls=12:allf=t -c:v ffv1 -pix_fmt bgr0 fr/noisy/b.mkv && "
                 "ffmpeg -v error -f lavfi -i testsrc=size=40x32:rate=10 -frames:v 6 -c:v ffv1 -pix_fmt bgr0 fr/wide/a.mkv && "
                 "cp fr/clean/b.mkv fr/wide/",
                 tmp);
    CHECK(rc == 0, "ffmpeg made the videos: exit %d", rc);

    /* identical pairs: PSNR at its cap, SSIM 1 */
    rc = run("%s eval --metric frames --fake %s/fr/clean --target %s/fr/same --threads 2 --json %s", vidgan, tmp, tmp, json);
    json_error_t err;
    json_t *rec = json_load_file(json, 0, &err);
    CHECK(rc == 0 && rec && output_has("identical frames (MSE 0, PSNR +inf): 12 of 12"), "frames, identical: exit %d", rc);
    if (rec) {
        CHECK(jnum(result(rec, "psnr"), "value", NULL) == 100 && jnum(rec, "psnr_cap_db", NULL) == 100 &&
                  fabs(jnum(result(rec, "ssim"), "value", NULL) - 1) < 1e-12 && jnum(result(rec, "mse"), "value", NULL) == 0 &&
                  jnum(result(rec, "l1"), "value", NULL) == 0 && jnum(rec, "identical_frames", NULL) == 12 &&
                  jnum(rec, "n_pairs", NULL) == 2 && jarr(rec, "per_frame", "psnr", 5) == 100 &&
                  jarr(rec, "per_frame", "pairs", 0) == 2,
              "identical videos: PSNR %g (the 100 dB cap), SSIM %.15g, MSE 0", jnum(result(rec, "psnr"), "value", NULL),
              jnum(result(rec, "ssim"), "value", NULL));
        json_decref(rec);
    }

    /* a noisy copy: per frame as ffmpeg's psnr filter measures it */
    rc = run("%s eval --metric frames --fake %s/fr/noisy --target %s/fr/clean --threads 2 --json %s", vidgan, tmp, tmp, json);
    rec = json_load_file(json, 0, &err);
    CHECK(rc == 0 && rec, "frames, noisy: exit %d", rc);
    double fm[2][8], fp[2][8];
    char a[400], b[400];
    int nf[2];
    for (int k = 0; k < 2; k++) {
        snprintf(a, sizeof a, "%s/fr/noisy/%c.mkv", tmp, 'a' + k);
        snprintf(b, sizeof b, "%s/fr/clean/%c.mkv", tmp, 'a' + k);
        nf[k] = ffmpeg_psnr(a, b, fm[k], fp[k], 8);
    }
    CHECK(nf[0] == 6 && nf[1] == 6, "ffmpeg psnr: %d and %d frames", nf[0], nf[1]);
    if (rec && nf[0] == 6 && nf[1] == 6) {
        double worst_p = 0, worst_m = 0, mean_p = 0;
        for (int t = 0; t < 6; t++) {
            /* ffmpeg prints 2 decimals: PSNR to 0.005 dB, MSE to 0.005 / 255^2 */
            double p_ref = 0.5 * (fp[0][t] + fp[1][t]), m_ref = 0.5 * (fm[0][t] + fm[1][t]) / (255.0 * 255.0);
            worst_p = fmax(worst_p, fabs(jarr(rec, "per_frame", "psnr", (size_t)t) - p_ref));
            worst_m = fmax(worst_m, fabs(jarr(rec, "per_frame", "mse", (size_t)t) - m_ref));
            mean_p += p_ref / 6;
        }
        double p = jnum(result(rec, "psnr"), "value", NULL), ssim = jnum(result(rec, "ssim"), "value", NULL);
        printf("frames, noisy copy: PSNR %.4f dB (ffmpeg's per-frame mean %.4f), worst frame |dPSNR| %.4f, |dMSE| %.3g; SSIM %.4f\n",
               p, mean_p, worst_p, worst_m, ssim);
        CHECK(worst_p <= 0.0051 && worst_m <= 0.0051 / (255.0 * 255.0) + 1e-12 && fabs(p - mean_p) <= 0.0051,
              "per-frame PSNR and MSE agree with ffmpeg's psnr filter (|dPSNR| %g dB, |dMSE| %g)", worst_p, worst_m);
        CHECK(ssim > 0 && ssim < 0.99 && jnum(rec, "identical_frames", NULL) == 0, "noisy copy: SSIM %g below 1", ssim);
        json_t *pairs = json_object_get(rec, "pairs");
        CHECK(json_array_size(pairs) == 2 && strstr(jstr(json_array_get(pairs, 0), "fake", NULL), "noisy/a.mkv") &&
                  strstr(jstr(json_array_get(pairs, 0), "target", NULL), "clean/a.mkv"),
              "pairs by sorted file name, named in the record");
    }
    json_decref(rec);

    /* a data set as the target: its clips written to a .npy are identical */
    char npy[400];
    snprintf(npy, sizeof npy, "%s/mnist-clips.npy", tmp);
    CHECK(write_clips_npy(npy, "mnist", 3, 4, 32, 7), "write %s", npy);
    rc = run("%s eval --metric frames --fake %s --data mnist --seed 7 --threads 2 --json %s", vidgan, npy, json);
    rec = json_load_file(json, 0, &err);
    CHECK(rc == 0 && rec && jnum(rec, "n_pairs", NULL) == 3 && jnum(result(rec, "psnr"), "value", NULL) == 100 &&
              fabs(jnum(result(rec, "ssim"), "value", NULL) - 1) < 1e-12 && strcmp(jstr(rec, "target_kind", NULL), "data") == 0,
          "frames against --data mnist clips 0..2: identical (exit %d)", rc);
    json_decref(rec);

    /* mismatches are refused with the reason */
    rc = run("%s eval --metric frames --fake %s/fr/one --target %s/fr/clean", vidgan, tmp, tmp);
    CHECK(rc == 2 && output_has("equal counts") && output_has("fr/one"), "frames: 1 video against 2: exit %d", rc);
    rc = run("%s eval --metric frames --fake %s/fr/wide --target %s/fr/clean", vidgan, tmp, tmp);
    CHECK(rc == 2 && output_has("same size") && output_has("40x32"), "frames: 40x32 against 48x32: exit %d", rc);
    rc = run("%s eval --metric frames --fake %s/fr/clean --target %s/fr/clean --frames 9", vidgan, tmp, tmp);
    CHECK(rc == 2 && output_has("--frames 9"), "frames: more frames than the videos hold: exit %d", rc);
    rc = run("%s eval --metric frames --fake %s/fr/clean", vidgan, tmp);
    CHECK(rc == 2 && output_has("--target"), "frames without a target: exit %d", rc);
    rc = run("%s eval --metric frames,shapes --fake %s/fr/clean --target %s/fr/clean", vidgan, tmp, tmp);
    CHECK(rc == 2 && output_has("alone"), "frames with another metric: exit %d", rc);
    rc = run("%s eval --target %s/fr/clean --n 4", vidgan, tmp);
    CHECK(rc == 2 && output_has("--metric frames"), "--target without --metric frames: exit %d", rc);
}

#if !defined(SKIP_I3D_RUN)
/* An I3D weights file with random weights (uniform, variance 1 / fan-in;
 * BatchNorm the identity), tensor names and shapes from vg_i3d_unit_spec.
 * The writer keeps pointers until it saves: one buffer holds everything.
 * 1 on success. */
static int make_random_i3d(const char *path) {
    char unit[96], name[160];
    int cin, cout, k[3], st[3];
    int64_t total = 400 * 1024 + 400;
    for (int i = 0; vg_i3d_unit_spec(i, unit, sizeof unit, &cin, &cout, k, st); i++)
        total += (int64_t)cout * cin * k[0] * k[1] * k[2] + 4 * cout;
    float *buf = malloc((size_t)total * sizeof *buf), *p = buf;
    vg_st_writer *w = NULL;
    int ok = buf && vg_st_writer_new(&w) == VG_OK;
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (int i = 0; ok && vg_i3d_unit_spec(i, unit, sizeof unit, &cin, &cout, k, st); i++) {
        int64_t per = (int64_t)cin * k[0] * k[1] * k[2];
        float a = sqrtf(3.0f / (float)per);
        for (int64_t j = 0; j < cout * per; j++) {
            state ^= state << 13, state ^= state >> 7, state ^= state << 17;
            p[j] = a * (2.0f * (float)(state >> 40) / (float)(1 << 24) - 1.0f);
        }
        snprintf(name, sizeof name, "%s.conv3d.weight", unit);
        ok = vg_st_writer_add_f32(w, name, 5, (int64_t[]){cout, cin, k[0], k[1], k[2]}, p) == VG_OK;
        p += cout * per;
        const char *fields[4] = {"weight", "bias", "running_mean", "running_var"};
        for (int f = 0; ok && f < 4; f++, p += cout) {
            for (int j = 0; j < cout; j++) p[j] = (f == 0 || f == 3) ? 1.0f : 0.0f;
            snprintf(name, sizeof name, "%s.bn.%s", unit, fields[f]);
            ok = vg_st_writer_add_f32(w, name, 1, (int64_t[]){cout}, p) == VG_OK;
        }
    }
    if (ok) {
        for (int64_t j = 0; j < 400 * 1024; j++) p[j] = (float)((j * 7919) % 2001 - 1000) / 32000.0f;
        ok = vg_st_writer_add_f32(w, "logits.conv3d.weight", 5, (int64_t[]){400, 1024, 1, 1, 1}, p) == VG_OK;
        p += 400 * 1024;
        for (int j = 0; j < 400; j++) p[j] = 0;
        ok = ok && vg_st_writer_add_f32(w, "logits.conv3d.bias", 1, (int64_t[]){400}, p) == VG_OK;
        ok = ok && vg_st_writer_save(w, path) == VG_OK;
    }
    if (!ok) printf("random I3D: %s\n", vg_last_error());
    if (w) vg_st_writer_free(w);
    free(buf);
    return ok;
}

/* FVD end to end on random I3D weights: the floor only (4 clips of 9
 * frames); the record names the file's SHA-256 as sha256sum computes it. */
static void check_fvd(const char *json) {
    char i3d[400], i3d_hash[65];
    snprintf(i3d, sizeof i3d, "%s/i3d-random.safetensors", tmp);
    CHECK(make_random_i3d(i3d), "random I3D weights written");
    sha256sum(i3d, i3d_hash);
    int rc = run("%s eval --metric fvd --i3d %s --data shapes --size 16 --frames 9 --n 2 --threads 2 --json %s", vidgan, i3d,
                 json);
    CHECK(rc == 0 && output_has("FVD (I3D, 9 frames)") && output_has("FVD as published uses 16 frames"),
          "eval --metric fvd: exit %d", rc);
    json_error_t err;
    json_t *rec = json_load_file(json, 0, &err);
    json_t *fvd = rec ? result(rec, "fvd") : NULL, *net = json_object_get(json_object_get(rec, "networks"), "i3d");
    CHECK(fvd && strcmp(jstr(fvd, "network_sha256", NULL), i3d_hash) == 0 && strcmp(jstr(net, "sha256", NULL), i3d_hash) == 0 &&
              jnum(net, "frames", NULL) == 9 && jnum(fvd, "floor", NULL) >= 0 &&
              json_is_null(json_object_get(fvd, "generated")) && jnum(fvd, "n_real", NULL) == 2,
          "FVD record: I3D hash is sha256sum's, floor %g measured", fvd ? jnum(fvd, "floor", NULL) : NAN);
    json_decref(rec);
    remove(i3d);
}
#endif

int main(int argc, char **argv) {
    (void)argc;
    if (!cli_setup(argv[0], "eval")) {
        CHECK(0, "mkdtemp");
        TEST_END();
    }

    int rc = run("%s train %s --steps 2 --out %s/run", vidgan, SMALL, tmp);
    CHECK(rc == 0, "train exit %d", rc);
    char ckpt[400], json[400], evaluator[400], ev_other[400], hash[65] = "", other_hash[65] = "", ref_hash[65];
    snprintf(ckpt, sizeof ckpt, "%s/run/ckpt-00000002.safetensors", tmp);
    snprintf(json, sizeof json, "%s/eval.json", tmp);
    snprintf(evaluator, sizeof evaluator, "%s/evaluator.safetensors", tmp);
    snprintf(ev_other, sizeof ev_other, "%s/evaluator32.safetensors", tmp);
    int have_ev = make_evaluator(evaluator, 16, 8, 30, hash) && make_evaluator(ev_other, 32, 8, 1, other_hash);
    CHECK(have_ev, "tiny evaluators trained and saved");
    sha256sum(evaluator, ref_hash);
    CHECK(strcmp(hash, ref_hash) == 0, "evaluator hash %s == sha256sum %s", hash, ref_hash);

    /* everything available: evaluator, discriminator and shapes metrics */
    rc = run("%s eval --ckpt %s --evaluator %s --n 64 --seed 3 --threads 2 --json %s", vidgan, ckpt, evaluator, json);
    CHECK(rc == 0, "eval exit %d", rc);
    CHECK(output_has("FED") && output_has("KID") && output_has("precision") && output_has("D accuracy") &&
              output_has("valid frames") && output_has("smooth clips"),
          "the table lists every metric");
    CHECK(output_has("real B vs A") && output_has("floor"), "the table has the floor column");
    CHECK(output_has("protocol: data shapes, 3 channels, 16x16, 8 frames, stride 1; real: splits A and B of N 64 clips each"),
          "the protocol line names the setup");
    CHECK(output_has("warning: N = 64 < 2048"), "small N is warned about");
    CHECK(output_has("n/a"), "class accuracy of an unconditional generator is n/a");
    json_error_t err;
    json_t *rec = json_load_file(json, 0, &err);
    CHECK(rec != NULL, "%s: %s", json, err.text);
    if (rec) {
        CHECK(jnum(rec, "size", NULL) == 16 && jnum(rec, "frames", NULL) == 8 && jnum(rec, "n_real", NULL) == 64 &&
                  jnum(rec, "n_generated", NULL) == 64 && jnum(rec, "seed", NULL) == 3 && jnum(rec, "stride", NULL) == 1 &&
                  jnum(rec, "channels", NULL) == 3 && jnum(rec, "generated", "step") == 2,
              "record protocol: size %g frames %g n %g/%g seed %g step %g", jnum(rec, "size", NULL), jnum(rec, "frames", NULL),
              jnum(rec, "n_real", NULL), jnum(rec, "n_generated", NULL), jnum(rec, "seed", NULL), jnum(rec, "generated", "step"));
        CHECK(strcmp(jstr(rec, "data", NULL), "shapes") == 0 && strcmp(jstr(rec, "generated", "path"), ckpt) == 0 &&
                  strcmp(jstr(rec, "generated", "weights"), "ema") == 0 && strcmp(jstr(rec, "vidgan_version", NULL), "") != 0,
              "record names data, checkpoint, weights, version");
        CHECK(strcmp(jstr(json_object_get(rec, "networks"), "evaluator", "sha256"), ref_hash) == 0,
              "record's evaluator SHA-256 is sha256sum's");
        const char *names[] = {"fed", "kid", "precision", "recall", "disc_accuracy", "shapes_valid_frames", "shapes_smooth_clips"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            json_t *r = result(rec, names[k]);
            CHECK(r && isfinite(jnum(r, "generated", NULL)) && isfinite(jnum(r, "floor", NULL)) && jnum(r, "n_real", NULL) == 64 &&
                      jnum(r, "frames", NULL) == 8 && jnum(r, "seed", NULL) == 3,
                  "%s: score, floor and protocol present", names[k]);
        }
        json_t *fed = result(rec, "fed");
        CHECK(fed && strcmp(jstr(fed, "network_sha256", NULL), ref_hash) == 0, "FED names its network's hash");
        CHECK(fed && jnum(fed, "floor", NULL) >= 0 && jnum(fed, "floor", NULL) < jnum(fed, "generated", NULL),
              "FED: real-vs-real floor %g below the untrained generator's %g", jnum(fed, "floor", NULL),
              jnum(fed, "generated", NULL));
        json_t *kid = result(rec, "kid"), *acc = result(rec, "class_accuracy");
        CHECK(kid && jnum(kid, "floor", NULL) < jnum(kid, "generated", NULL), "KID: floor below the generator's");
        CHECK(acc && json_is_null(json_object_get(acc, "generated")) && isfinite(jnum(acc, "floor", NULL)),
              "class accuracy: null for the generator, the real split's beside it");
        double rv = jnum(result(rec, "shapes_valid_frames"), "floor", NULL);
        double gv = jnum(result(rec, "shapes_valid_frames"), "generated", NULL);
        double rs = jnum(result(rec, "shapes_smooth_clips"), "floor", NULL);
        printf("real B: valid %.3f smooth %.3f; untrained generator: valid %.3f\n", rv, rs, gv);
        CHECK(rv >= 0.95 && rs >= 0.95, "real clips score high: valid %.3f smooth %.3f", rv, rs);
        CHECK(gv <= 0.2, "an untrained generator scores low: valid %.3f", gv);
        double da = jnum(result(rec, "disc_accuracy"), "generated", NULL);
        CHECK(da >= 0 && da <= 1, "discriminator accuracy %g in [0, 1]", da);
        CHECK(jnum(json_object_get(rec, "shapes"), "generated", "clips") == 64, "shapes: 64 generated clips");
        json_decref(rec);
    }

    /* --json -: the record alone on stdout */
    rc = run("%s eval --ckpt %s --metric shapes,disc --n 8 --threads 2 --json - 2>/dev/null > %s/stdout.json", vidgan, ckpt, tmp);
    snprintf(json, sizeof json, "%s/stdout.json", tmp);
    rec = json_load_file(json, 0, &err);
    CHECK(rc == 0 && rec && result(rec, "disc_accuracy") && !result(rec, "fed"), "--json - gives a parsable record (%s)",
          rec ? "" : err.text);
    json_decref(rec);
    snprintf(json, sizeof json, "%s/eval.json", tmp);

    /* real clips only: the floors */
    rc = run("%s eval --data shapes --size 32 --frames 8 --n 16 --threads 2 --json %s", vidgan, json);
    CHECK(rc == 0, "eval without a generator: exit %d", rc);
    rec = json_load_file(json, 0, &err);
    CHECK(rec && json_is_null(json_object_get(rec, "generated")) && jnum(rec, "size", NULL) == 32 &&
              jnum(result(rec, "shapes_valid_frames"), "floor", NULL) >= 0.95,
          "without a generator: generated is null, the floor is measured at 32x32");
    json_decref(rec);

    /* generated videos on disk: a folder, and a single file */
    rc = run("mkdir -p %s/fake && %s sample --ckpt %s --n 6 --out %s/fake/v.gif --threads 2 && "
             "%s sample --ckpt %s --n 1 --interp 2 --out %s/one.mp4 --threads 2",
             tmp, vidgan, ckpt, tmp, vidgan, ckpt, tmp);
    CHECK(rc == 0, "sample videos: exit %d", rc);
    rc = run("%s eval --fake %s/fake --metric shapes --size 16 --frames 8 --n 16 --threads 2 --json %s", vidgan, tmp, json);
    CHECK(rc == 0 && output_has("N generated reduced to 6"), "eval --fake folder: exit %d", rc);
    rec = json_load_file(json, 0, &err);
    CHECK(rec && jnum(rec, "n_generated", NULL) == 6 && jnum(rec, "n_real", NULL) == 16 &&
              strcmp(jstr(rec, "generated", "kind"), "videos") == 0 &&
              jnum(result(rec, "shapes_valid_frames"), "generated", NULL) <= 0.3,
          "--fake folder: 6 generated clips measured");
    json_decref(rec);
    rc = run("%s eval --fake %s/one.mp4 --metric shapes --size 16 --frames 8 --n 4 --threads 2", vidgan, tmp);
    CHECK(rc == 0 && output_has("generated: videos"), "eval --fake one video file: exit %d", rc);

    /* finite data: 6 videos hold too few clips for two splits of 8 */
    char npy[400];
    snprintf(npy, sizeof npy, "%s/six.npy", tmp);
    CHECK(write_npy(npy, 6, 8, 16, 16), "write %s", npy);
    rc = run("%s eval --ckpt %s --data %s --metric disc --n 8 --threads 2 --json %s", vidgan, ckpt, npy, json);
    CHECK(rc == 0 && output_has("N reduced from 8 to 3 per real split"), "finite real data: exit %d, N reduced and said", rc);
    rec = json_load_file(json, 0, &err);
    CHECK(rec && jnum(rec, "n_real", NULL) == 3 && jnum(rec, "n_generated", NULL) == 3 &&
              jnum(result(rec, "disc_accuracy"), "n_real", NULL) == 3,
          "finite real data: the record says N = 3");
    json_decref(rec);
    rc = run("%s eval --fake %s --metric shapes --size 16 --frames 8 --n 8 --threads 2 --json %s", vidgan, npy, json);
    rec = json_load_file(json, 0, &err);
    CHECK(rc == 0 && rec && jnum(rec, "n_generated", NULL) == 6 && jnum(rec, "n_real", NULL) == 8 &&
              jnum(result(rec, "shapes_valid_frames"), "generated", NULL) < 0.5,
          "--fake .npy: 6 generated clips (exit %d), noise is not valid shapes", rc);
    json_decref(rec);

    /* moving digits; paired frames */
    check_digits(json);
    check_frames(json);

    /* errors name the file */
    rc = run("%s eval --data %s --n 2", vidgan, npy);
    CHECK(rc == 2 && output_has("nothing to measure"), "nothing to measure on a .npy: exit %d", rc);
    rc = run("%s eval --ckpt %s --metric evaluator --evaluator %s/missing.safetensors --n 4", vidgan, ckpt, tmp);
    CHECK(rc == 1 && output_has("missing.safetensors"), "missing evaluator file: exit %d, message names it", rc);
    rc = run("%s eval --ckpt %s --metric evaluator --n 4", vidgan, ckpt);
    CHECK(rc == 2 && output_has("--evaluator FILE"), "--metric evaluator without --evaluator: exit %d", rc);
    rc = run("%s eval --ckpt %s --evaluator %s --n 4", vidgan, ckpt, ev_other);
    CHECK(rc == 2 && output_has("evaluator32.safetensors") && output_has("32x32"),
          "evaluator of another geometry: exit %d, message names the file", rc);
    rc = run("%s eval --ckpt %s --size 32 --n 4", vidgan, ckpt);
    CHECK(rc == 2 && output_has("16x16x8") && output_has("ckpt-00000002"), "checkpoint of another geometry: exit %d", rc);
    rc = run("%s eval --evaluator %s --ckpt %s --metric evaluator --size 32 --n 4", vidgan, ev_other, ckpt);
    CHECK(rc == 2 && output_has("ckpt-00000002"), "checkpoint vs evaluator geometry: exit %d", rc);
    run("mkdir -p %s/empty/sub && touch %s/empty/notes.txt", tmp, tmp);
    rc = run("%s eval --fake %s/empty --metric shapes --n 4", vidgan, tmp);
    CHECK(rc == 1 && output_has("/empty") && output_has("no video"), "--fake folder without videos: exit %d", rc);
    rc = run("%s eval --fake %s/nothing-here --n 4", vidgan, tmp);
    CHECK(rc == 2 && output_has("nothing-here"), "--fake that does not exist: exit %d", rc);
    rc = run("%s eval --metric disc --n 4", vidgan);
    CHECK(rc == 2 && output_has("--ckpt"), "--metric disc without a checkpoint: exit %d", rc);
    rc = run("%s eval --metric fvd --ckpt %s --n 4", vidgan, ckpt);
    CHECK(rc == 2 && output_has("--i3d"), "--metric fvd without I3D weights: exit %d", rc);
    rc = run("%s eval --metric fvd --ckpt %s --i3d %s/missing-i3d.safetensors --n 4", vidgan, ckpt, tmp);
    CHECK(rc == 2 && output_has("at least 9 frames"), "FVD of 8-frame clips: exit %d", rc);
    rc = run("%s train --size 16 --frames 16 --g-base 8 --d-base 8 --z-dim 16 --batch 4 --steps 1 --threads 2 --out %s/run16 && "
             "%s eval --metric fvd --ckpt %s/run16/ckpt-00000001.safetensors --i3d %s/missing-i3d.safetensors --n 4",
             vidgan, tmp, vidgan, tmp, tmp);
    CHECK(rc == 1 && output_has("missing-i3d.safetensors"), "missing I3D file: exit %d, message names it", rc);
#if !defined(SKIP_I3D_RUN)
    if (getenv("VIDGAN_SLOW_TESTS"))
        check_fvd(json);
    else
        printf("FVD end to end: skipped (set VIDGAN_SLOW_TESTS=1)\n");
#endif
    rc = run("%s eval --metric fid --n 4", vidgan);
    CHECK(rc == 2 && output_has("--metric fid"), "unknown metric: exit %d", rc);
    run("head -c 3000 /dev/urandom > %s/noise.safetensors", tmp);
    rc = run("%s eval --ckpt %s/noise.safetensors --n 4", vidgan, tmp);
    CHECK(rc == 1 && output_has("noise.safetensors"), "corrupt checkpoint: exit %d, message names the file", rc);
    rc = run("%s eval --nn 4", vidgan);
    CHECK(rc == 2 && output_has("did you mean --n"), "unknown option: exit %d", rc);
    rc = run("%s eval --help", vidgan);
    CHECK(rc == 0 && output_has("--ckpt") && output_has("--fake") && output_has("--json") && output_has("(default: 2048)"),
          "--help lists the options: exit %d", rc);

    /* train --eval-every: log lines, best.safetensors, reproducible by eval */
    rc = run("%s train %s --steps 4 --eval-every 2 --eval-n 16 --eval-metric shapes --out %s/ev", vidgan, SMALL, tmp);
    CHECK(rc == 0, "train --eval-every: exit %d", rc);
    char log[400], best[400];
    snprintf(log, sizeof log, "%s/ev/metrics.jsonl", tmp);
    snprintf(best, sizeof best, "%s/ev/best.safetensors", tmp);
    eval_line ev[8];
    int nev = read_eval_lines(log, ev, 8);
    CHECK(nev == 2 && ev[0].step == 2 && ev[1].step == 4, "two eval lines at steps 2 and 4 (got %d)", nev);
    CHECK(exists(best), "best.safetensors written");
    if (nev == 2) {
        CHECK(ev[0].floor >= 0.95 && ev[1].floor == ev[0].floor, "the floor (real B) is logged: %g", ev[0].floor);
        const eval_line *b = ev[1].value > ev[0].value ? &ev[1] : &ev[0];
        CHECK(ev[1].best == b->value && ev[1].best_step == b->step, "best %g at step %lld", ev[1].best, ev[1].best_step);
        rc = run("%s eval --ckpt %s --metric shapes --n 16 --seed 1 --threads 2 --json %s", vidgan, best, json);
        rec = json_load_file(json, 0, &err);
        CHECK(rc == 0 && rec && jnum(rec, "generated", "step") == b->step &&
                  fabs(jnum(result(rec, "shapes_valid_frames"), "generated", NULL) - b->value) < 1e-9,
              "vidgan eval on best.safetensors reproduces the logged score %g", b->value);
        json_decref(rec);
    }
    if (have_ev) {
        rc = run("%s train %s --steps 2 --eval-every 1 --eval-n 16 --evaluator %s --out %s/evf", vidgan, SMALL, evaluator, tmp);
        snprintf(log, sizeof log, "%s/evf/metrics.jsonl", tmp);
        nev = read_eval_lines(log, ev, 8);
        CHECK(rc == 0 && nev == 2 && ev[0].value > ev[0].floor, "--evaluator: FED logged above its floor (exit %d, %d lines)", rc,
              nev);
        rc = run("%s train %s --steps 2 --eval-every 1 --evaluator %s --out %s/evx", vidgan, SMALL, ev_other, tmp);
        CHECK(rc == 2 && output_has("evaluator32.safetensors"), "--eval-every with an evaluator of another geometry: exit %d", rc);
    }

    /* evaluation consumes none of the training's randomness: resumed and
     * uninterrupted runs with evaluation equal one without */
    rc = run("%s train %s --steps 4 --out %s/plain", vidgan, SMALL, tmp);
    rc |= run("%s train %s --steps 2 --eval-every 1 --eval-n 8 --eval-metric shapes --out %s/res", vidgan, SMALL, tmp);
    rc |= run("%s train %s --steps 4 --eval-every 1 --eval-n 8 --eval-metric shapes --resume auto --out %s/res", vidgan, SMALL, tmp);
    CHECK(rc == 0, "plain and resumed runs: exit %d", rc);
    char a[400], b[400], c[400];
    snprintf(a, sizeof a, "%s/plain/ckpt-00000004.safetensors", tmp);
    snprintf(b, sizeof b, "%s/res/ckpt-00000004.safetensors", tmp);
    snprintf(c, sizeof c, "%s/ev/ckpt-00000004.safetensors", tmp);
    CHECK(same_tensors(a, b) && same_tensors(a, c), "weights after 4 steps equal with and without eval, resumed or not");
    snprintf(log, sizeof log, "%s/res/metrics.jsonl", tmp);
    nev = read_eval_lines(log, ev, 8);
    CHECK(nev == 4 && ev[3].step == 4, "resumed log holds one eval line per step (%d)", nev);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0, "cleanup");
    TEST_END();
}
