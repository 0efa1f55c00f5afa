/* The evaluator network (src/eval/evaluator.h) and the corruptions of
 * src/eval/degrade.h.
 *
 * Degradation test (issue 5, item 4): two tiny evaluators are trained here
 * on "shapes" at 32x32x8 (width 8, 64 features, batches of 16 clips): one on
 * the temporal task (100 steps), one on the shape labels (60 steps). Real
 * clips of an unseen data seed, split in two disjoint sets A and B of
 * N_EVAL = 128 clips; B is degraded at increasing strength by Gaussian
 * noise, blur, frame shuffling and frozen frames, and the Fréchet distance
 * between the features of A and of degraded B must rise monotonically with
 * strength, every value above the clean floor FD(A, B). Required: all four
 * corruptions with the TEMPORAL evaluator; noise with the LABELS evaluator,
 * whose blur curve is printed, not required (this small and this briefly
 * trained, its response to blur and to the temporal corruptions is weak and
 * not reliably monotone; docs/eval.md has the measured curves).
 *
 * Also: the corruptions themselves against their definitions, features
 * bit-identical for any batch split, save/load round trip with its SHA-256,
 * clear errors on bad files, and `vidgan evaluator train` end to end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sha256.h"
#include "eval/degrade.h"
#include "eval/evaluator.h"
#include "eval/feature_stats.h"
#include "io/safetensors.h"
#include "test.h"
#include "cli_run.h"
#include "vidgan.h"

#define SIZE 32
#define FRAMES 8
#define N_EVAL 128
#define LEVELS 3

static const double strengths[VG_DEGRADE_COUNT][LEVELS] = {
    {0.05, 0.1, 0.2},  /* noise sigma */
    {1.0, 2.0, 3.0},   /* blur sigma, pixels */
    {0.25, 0.5, 1.0},  /* shuffled fraction of frames */
    {0.25, 0.5, 1.0},  /* frozen fraction of frames */
};

static int64_t clip_numel(void) { return (int64_t)3 * FRAMES * SIZE * SIZE; }

static double *to_double(const float *x, int64_t n) {
    double *d = malloc((size_t)n * sizeof *d);
    for (int64_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

/* FD between the features of a (already computed, as doubles) and of clips. */
static double fd_of(vg_evaluator *e, const double *fa, const float *clips) {
    int64_t dim = vg_evaluator_feature_dim(e);
    float *f = malloc((size_t)(N_EVAL * dim) * sizeof *f);
    double fd = -1;
    if (vg_evaluator_features(e, clips, N_EVAL, f, NULL) == VG_OK) {
        double *fb = to_double(f, N_EVAL * dim);
        if (vg_frechet_distance_features(&fd, fa, N_EVAL, fb, N_EVAL, dim) != VG_OK) fd = -1;
        free(fb);
    }
    free(f);
    return fd;
}

static vg_evaluator *train_tiny(const vg_dataset *ds, vg_evaluator_task task, int steps, double *acc) {
    vg_evaluator_config cfg;
    vg_evaluator_config_for(&cfg, ds);
    cfg.width = 8;
    if (task == VG_EVAL_TASK_TEMPORAL) cfg.task = task, cfg.num_classes = 3;
    vg_evaluator_train_args a;
    vg_evaluator_train_args_default(&a);
    a.steps = steps, a.batch = 16, a.lr = 3e-3, a.holdout = 96, a.seed = 3;
    vg_evaluator *e = NULL;
    if (vg_evaluator_train(&e, acc, ds, &cfg, &a) != VG_OK) fprintf(stderr, "train: %s\n", vg_last_error());
    return e;
}

static void test_degrade_definitions(void) {
    const int C = 3, T = FRAMES, H = 16, W = 16;
    const int64_t HW = H * W, clip = (int64_t)C * T * HW;
    float *x = malloc((size_t)clip * sizeof *x), *y = malloc((size_t)clip * sizeof *y);
    for (int64_t i = 0; i < clip; i++) x[i] = (float)((i * 7919 % 2001) / 1000.0 - 1.0) * 0.5f;

    for (int k = 0; k < VG_DEGRADE_COUNT; k++) { /* strength 0 is the identity */
        memcpy(y, x, (size_t)clip * sizeof *y);
        CHECK(vg_degrade((vg_degrade_kind)k, 0, y, 1, C, T, H, W, 1, 0) == VG_OK && memcmp(x, y, (size_t)clip * sizeof *y) == 0,
              "%s at strength 0 changed the clip", vg_degrade_name((vg_degrade_kind)k));
    }
    /* noise: mean change ~0, std ~sigma (pixels in [-0.5, 0.5], sigma 0.1: no clamping) */
    memcpy(y, x, (size_t)clip * sizeof *y);
    vg_degrade(VG_DEGRADE_NOISE, 0.1, y, 1, C, T, H, W, 1, 0);
    double s1 = 0, s2 = 0;
    for (int64_t i = 0; i < clip; i++) s1 += y[i] - x[i], s2 += (y[i] - x[i]) * (y[i] - x[i]);
    double mean = s1 / clip, sd = sqrt(s2 / clip - mean * mean);
    CHECK(fabs(mean) < 0.01 && fabs(sd - 0.1) < 0.01, "noise: mean %g, std %g (want 0, 0.1)", mean, sd);
    /* blur: a constant frame stays constant; a single bright pixel spreads
     * as a normalised Gaussian (centre weight 1 / (2 pi sigma^2) for large sigma) */
    for (int64_t i = 0; i < clip; i++) y[i] = 0.25f;
    vg_degrade(VG_DEGRADE_BLUR, 1.5, y, 1, C, T, H, W, 1, 0);
    double worst = 0;
    for (int64_t i = 0; i < clip; i++) worst = fmax(worst, fabs(y[i] - 0.25));
    CHECK(worst < 1e-6, "blur changed a constant clip by %g", worst);
    memset(y, 0, (size_t)clip * sizeof *y);
    y[8 * W + 8] = 1;
    vg_degrade(VG_DEGRADE_BLUR, 1.5, y, 1, C, T, H, W, 1, 0);
    double total = 0, g1 = 0;
    for (int64_t i = 0; i < HW; i++) total += y[i];
    for (int j = -5; j <= 5; j++) g1 += exp(-0.5 * j * j / 2.25);
    CHECK(fabs(total - 1) < 1e-5 && fabs(y[8 * W + 8] - 1 / (g1 * g1)) < 1e-6, "blur of an impulse: sum %g, centre %g (want 1, %g)",
          total, y[8 * W + 8], 1 / (g1 * g1));
    /* shuffle 1.0: every frame moves, and the frames are a permutation of the originals */
    for (int64_t i = 0; i < clip; i++) x[i] = (float)((i / HW) % T); /* frame t has value t */
    memcpy(y, x, (size_t)clip * sizeof *y);
    vg_degrade(VG_DEGRADE_SHUFFLE, 1.0, y, 1, C, T, H, W, 5, 0);
    int seen[FRAMES] = {0}, moved = 0, coherent = 1;
    for (int t = 0; t < T; t++) {
        int v = (int)y[t * HW];
        seen[v]++, moved += v != t;
        for (int c = 0; c < C; c++) coherent &= y[((int64_t)c * T + t) * HW + HW - 1] == v;
    }
    int perm = 1;
    for (int t = 0; t < T; t++) perm &= seen[t] == 1;
    CHECK(perm && moved == T && coherent, "shuffle 1.0: permutation %d, %d of %d frames moved, channels agree %d", perm, moved, T,
          coherent);
    /* shuffle 0.5 moves exactly half the frames */
    memcpy(y, x, (size_t)clip * sizeof *y);
    vg_degrade(VG_DEGRADE_SHUFFLE, 0.5, y, 1, C, T, H, W, 5, 0);
    moved = 0;
    for (int t = 0; t < T; t++) moved += (int)y[t * HW] != t;
    CHECK(moved == T / 2, "shuffle 0.5: %d frames moved, want %d", moved, T / 2);
    /* freeze 0.5: frames from k = T - 1 - round(0.5 (T - 1)) = 3 on repeat frame 3 */
    memcpy(y, x, (size_t)clip * sizeof *y);
    vg_degrade(VG_DEGRADE_FREEZE, 0.5, y, 1, C, T, H, W, 5, 0);
    int ok = 1;
    for (int t = 0; t < T; t++) ok &= (int)y[(int64_t)2 * T * HW + t * HW] == (t < 3 ? t : 3);
    CHECK(ok, "freeze 0.5: frames are not 0 1 2 3 3 3 3 3");
    CHECK(vg_degrade(VG_DEGRADE_SHUFFLE, 1.5, y, 1, C, T, H, W, 5, 0) == VG_ERR_INVALID && strstr(vg_last_error(), "shuffle"),
          "shuffle 1.5 accepted: %s", vg_last_error());
    free(x), free(y);
}

/* Features are bit-identical however the clips are batched; logits agree
 * with features through the head. */
/* Features are bit-identical however the clips are split into calls (here
 * 18 at once against calls of 1, 5 and 12), logits too. */
static void test_batch_split(vg_evaluator *e, const float *clips) {
    const int n = 18, parts[3] = {1, 5, 12};
    int64_t dim = vg_evaluator_feature_dim(e), K = vg_evaluator_get_config(e)->num_classes;
    float *f1 = malloc((size_t)(n * dim) * sizeof(float)), *f2 = malloc((size_t)(n * dim) * sizeof(float));
    float *l1 = malloc((size_t)(n * K) * sizeof(float)), *l2 = malloc((size_t)(n * K) * sizeof(float));
    CHECK(vg_evaluator_features(e, clips, n, f1, l1) == VG_OK, "features: %s", vg_last_error());
    for (int p = 0, i = 0; p < 3; i += parts[p++])
        vg_evaluator_features(e, clips + i * clip_numel(), parts[p], f2 + i * dim, l2 + i * K);
    CHECK(memcmp(f1, f2, (size_t)(n * dim) * sizeof(float)) == 0, "features differ between one call of %d clips and calls of 1, 5, 12", n);
    CHECK(memcmp(l1, l2, (size_t)(n * K) * sizeof(float)) == 0, "logits differ between one call and calls of 1, 5, 12");
    free(f1), free(f2), free(l1), free(l2);
}

static void test_file(vg_evaluator *e, const float *clips) {
    char path[64], bad[64];
    snprintf(path, sizeof path, "/tmp/vg_test_evaluator_%d.safetensors", (int)getpid());
    snprintf(bad, sizeof bad, "/tmp/vg_test_evaluator_bad_%d.safetensors", (int)getpid());
    char h_save[65] = "", h_load[65] = "", h_file[65] = "";
    CHECK(vg_evaluator_save(e, path, h_save) == VG_OK, "save: %s", vg_last_error());
    vg_evaluator *l = NULL;
    CHECK(vg_evaluator_load(&l, path, h_load) == VG_OK, "load: %s", vg_last_error());
    vg_sha256_file(path, h_file);
    CHECK(strlen(h_save) == 64 && strcmp(h_save, h_load) == 0 && strcmp(h_save, h_file) == 0, "hashes: save %s, load %s, file %s",
          h_save, h_load, h_file);
    if (l) {
        const vg_evaluator_config *a = vg_evaluator_get_config(e), *b = vg_evaluator_get_config(l);
        CHECK(memcmp(a, b, sizeof *a) == 0, "config changed through the file");
        CHECK(vg_evaluator_holdout_accuracy(l) == vg_evaluator_holdout_accuracy(e), "held-out accuracy not kept: %g vs %g",
              vg_evaluator_holdout_accuracy(l), vg_evaluator_holdout_accuracy(e));
        const int n = 8;
        int64_t dim = vg_evaluator_feature_dim(e);
        float *f1 = malloc((size_t)(n * dim) * sizeof(float)), *f2 = malloc((size_t)(n * dim) * sizeof(float));
        vg_evaluator_features(e, clips, n, f1, NULL);
        vg_evaluator_features(l, clips, n, f2, NULL);
        CHECK(memcmp(f1, f2, (size_t)(n * dim) * sizeof(float)) == 0, "loaded evaluator gives other features");
        free(f1), free(f2);
        vg_evaluator_free(l);
    }
    /* metadata names the protocol */
    vg_st_file *f = NULL;
    if (vg_st_open(&f, path) == VG_OK) {
        const char *tr = vg_st_meta(f, "training"), *cf = vg_st_meta(f, "config");
        CHECK(tr && strstr(tr, "\"holdout_accuracy\"") && strstr(tr, "\"shapes\"") && strstr(tr, "\"steps\":60"),
              "training metadata: %s", tr ? tr : "(none)");
        CHECK(cf && strstr(cf, "\"task\":\"labels\"") && strstr(cf, "\"width\":8"), "config metadata: %s", cf ? cf : "(none)");
        vg_st_close(f);
    }

    /* bad files: truncated, not an evaluator, a config out of range */
    FILE *in = fopen(path, "rb");
    fseek(in, 0, SEEK_END);
    long len = ftell(in);
    rewind(in);
    char *bytes = malloc((size_t)len);
    CHECK(fread(bytes, 1, (size_t)len, in) == (size_t)len, "read back");
    fclose(in);
    FILE *o = fopen(bad, "wb");
    fwrite(bytes, 1, (size_t)len - 100, o);
    fclose(o);
    CHECK(vg_evaluator_load(&l, bad, NULL) != VG_OK && l == NULL && strstr(vg_last_error(), bad), "truncated file: %s",
          vg_last_error());
    vg_st_writer *w = NULL;
    float one = 1;
    vg_st_writer_new(&w);
    vg_st_writer_add_f32(w, "x", 1, (int64_t[]){1}, &one);
    vg_st_writer_meta(w, "format", "something-else");
    vg_st_writer_save(w, bad);
    vg_st_writer_free(w);
    CHECK(vg_evaluator_load(&l, bad, NULL) == VG_ERR_FORMAT && strstr(vg_last_error(), "not a vidgan evaluator") &&
              strstr(vg_last_error(), bad),
          "foreign file: %s", vg_last_error());
    /* the real file's tensors with a config whose width does not match them */
    vg_st_file *src = NULL;
    vg_st_open(&src, path);
    vg_st_writer_new(&w);
    for (int i = 0; i < vg_st_count(src); i++)
        vg_st_writer_add(w, vg_st_name(src, i), vg_st_dtype_of(src, i), vg_st_ndim(src, i), vg_st_shape(src, i), vg_st_data(src, i),
                         vg_st_nbytes(src, i));
    for (int i = 0; i < vg_st_meta_count(src); i++) {
        const char *k = vg_st_meta_key(src, i);
        char *v = strdup(vg_st_meta_value(src, i));
        char *wd = strstr(v, "\"width\":8");
        if (strcmp(k, "config") == 0 && wd) wd[8] = '9';
        vg_st_writer_meta(w, k, v);
        free(v);
    }
    CHECK(vg_st_writer_save(w, bad) == VG_OK, "rewrite: %s", vg_last_error());
    vg_st_writer_free(w);
    vg_st_close(src);
    CHECK(vg_evaluator_load(&l, bad, NULL) == VG_ERR_FORMAT && strstr(vg_last_error(), "shape") && strstr(vg_last_error(), bad),
          "width 9 against width-8 tensors: %s", vg_last_error());
    CHECK(vg_evaluator_load(&l, "/nonexistent/evaluator.safetensors", NULL) != VG_OK &&
              strstr(vg_last_error(), "/nonexistent/evaluator.safetensors"),
          "missing file: %s", vg_last_error());
    free(bytes);
    remove(path), remove(bad);
}

/* The CLI: a 3-step evaluator at 16x16x4 (width 2), its printed hash is the
 * file's, the held-out accuracy is printed; bad options exit 2. */
static void test_cli(const char *argv0) {
    if (!cli_setup(argv0, "evaluator")) {
        CHECK(0, "no scratch folder");
        return;
    }
    int rc = run("%s evaluator train --data shapes --size 16 --frames 4 --width 2 --steps 3 --batch 4 --holdout 8 --threads 1 -o %s/e.safetensors",
                 vidgan, tmp);
    char path[512], hash[65] = "", want[80];
    snprintf(path, sizeof path, "%s/e.safetensors", tmp);
    vg_sha256_file(path, hash);
    snprintf(want, sizeof want, "sha256: %s", hash);
    CHECK(rc == 0 && output_has(want) && output_has("held-out accuracy") && output_has("labels"), "evaluator train: rc %d", rc);
    vg_evaluator *e = NULL;
    CHECK(vg_evaluator_load(&e, path, NULL) == VG_OK && vg_evaluator_get_config(e)->frames == 4, "load CLI output: %s", vg_last_error());
    vg_evaluator_free(e);
    rc = run("%s evaluator train --data shapes --task bogus -o %s/x.safetensors", vidgan, tmp);
    CHECK(rc == 2 && output_has("--task must be labels or temporal"), "bad --task: rc %d", rc);
    rc = run("%s evaluator train --data shapes --stpes 3 -o %s/x.safetensors", vidgan, tmp);
    CHECK(rc == 2 && output_has("did you mean --steps"), "misspelt option: rc %d", rc);
    rc = run("%s evaluator train --data shapes", vidgan);
    CHECK(rc == 2 && output_has("-o FILE is required"), "no -o: rc %d", rc);
    rc = run("%s evaluator train --help", vidgan);
    CHECK(rc == 0 && output_has("--holdout N") && output_has("(default: 2000)"), "help: rc %d", rc);
    run("rm -rf %s", tmp);
}

int main(int argc, char **argv) {
    (void)argc;
    vg_set_threads(2);
    test_degrade_definitions();
    test_cli(argv[0]);

    vg_dataset *train = NULL, *eval = NULL;
    vg_dataset_spec spec = {.source = "shapes", .frames = FRAMES, .size = SIZE, .seed = 1};
    CHECK(vg_dataset_open(&train, &spec) == VG_OK, "open: %s", vg_last_error());
    spec.seed = 77; /* clips the evaluators never saw */
    CHECK(vg_dataset_open(&eval, &spec) == VG_OK, "open: %s", vg_last_error());
    if (!train || !eval) TEST_END();

    double acc_labels = 0, acc_temporal = 0;
    vg_evaluator *labels = train_tiny(train, VG_EVAL_TASK_LABELS, 60, &acc_labels);
    vg_evaluator *temporal = train_tiny(train, VG_EVAL_TASK_TEMPORAL, 100, &acc_temporal);
    CHECK(labels && temporal, "training failed");
    if (!labels || !temporal) TEST_END();
    printf("tiny evaluators (shapes %dx%dx%d, width 8): held-out accuracy labels %.1f%%, temporal %.1f%%\n", SIZE, SIZE, FRAMES,
           100 * acc_labels, 100 * acc_temporal);
    CHECK(acc_labels > 0.4, "labels evaluator held-out accuracy %.3f (chance 0.33)", acc_labels);
    CHECK(acc_temporal > 0.5, "temporal evaluator held-out accuracy %.3f (chance 0.33)", acc_temporal);

    const int64_t clip = clip_numel();
    float *a = malloc((size_t)(N_EVAL * clip) * sizeof *a), *b = malloc((size_t)(N_EVAL * clip) * sizeof *b);
    float *d = malloc((size_t)(N_EVAL * clip) * sizeof *d);
    vg_dataset_batch(eval, 0, N_EVAL, a, NULL);
    vg_dataset_batch(eval, N_EVAL, N_EVAL, b, NULL);
    test_batch_split(labels, a);
    test_file(labels, a);

    vg_evaluator *nets[2] = {labels, temporal};
    const char *net_names[2] = {"labels", "temporal"};
    for (int m = 0; m < 2; m++) {
        vg_evaluator *e = nets[m];
        int64_t dim = vg_evaluator_feature_dim(e);
        float *fa32 = malloc((size_t)(N_EVAL * dim) * sizeof *fa32);
        vg_evaluator_features(e, a, N_EVAL, fa32, NULL);
        double *fa = to_double(fa32, N_EVAL * dim);
        double floor = fd_of(e, fa, b);
        printf("%-8s evaluator: clean floor FD(A, B) = %.4f\n", net_names[m], floor);
        /* the labels evaluator: noise (required) and blur only, to keep the test fast */
        for (int k = 0; k < (m == 0 ? 2 : VG_DEGRADE_COUNT); k++) {
            double fd[LEVELS];
            int monotone = 1;
            printf("  %-8s", vg_degrade_name((vg_degrade_kind)k));
            for (int s = 0; s < LEVELS; s++) {
                memcpy(d, b, (size_t)(N_EVAL * clip) * sizeof *d);
                vg_degrade((vg_degrade_kind)k, strengths[k][s], d, N_EVAL, 3, FRAMES, SIZE, SIZE, 11, 0);
                fd[s] = fd_of(e, fa, d);
                monotone &= fd[s] > (s ? fd[s - 1] : floor);
                printf("  %g: %.4f", strengths[k][s], fd[s]);
            }
            int required = m == 1 || k == VG_DEGRADE_NOISE;
            printf("  %s%s\n", monotone ? "monotone" : "NOT monotone", required ? " (required)" : "");
            if (required)
                CHECK(monotone, "%s evaluator, %s: FD not increasing above the floor %.4f: %.4f %.4f %.4f", net_names[m],
                      vg_degrade_name((vg_degrade_kind)k), floor, fd[0], fd[1], fd[2]);
        }
        free(fa32), free(fa);
    }
    free(a), free(b), free(d);
    vg_evaluator_free(labels);
    vg_evaluator_free(temporal);
    vg_dataset_close(train);
    vg_dataset_close(eval);
    TEST_END();
}
