/* The shapes metrics (src/eval/shapes_metrics.h) on clips whose answer is
 * known: real shapes clips (valid and smooth, centroids within a fraction
 * of a pixel of the ground truth), noise and random blobs (not valid), a
 * constant frame (valid and smooth: velocity 0 is constant), two shapes
 * (not valid), a shape teleporting each frame (valid, not smooth), NaNs.
 * Besides the data set's own clips, the bouncing, teleporting and
 * two-shape cases come from an independent renderer below (8x8
 * supersampling, other colours and sizes), so the thresholds are not tuned
 * on the data set's renderer alone. */
#include <math.h>
#include <stdint.h>

#include "data/dataset.h"
#include "eval/shapes_metrics.h"
#include "synth_rng.h"
#include "test.h"


/* A shape for the independent renderer: kind 0 disc, 1 square; (x, y) is
 * its bounding box's top-left corner in continuous coordinates, d its side. */
typedef struct synth_shape {
    int kind;
    double x, y, d;
    float rgb[3];
} synth_shape;

static int synth_inside(const synth_shape *s, double u, double w) {
    u -= s->x, w -= s->y;
    if (s->kind == 1) return u >= 0 && u <= s->d && w >= 0 && w <= s->d;
    double r = s->d / 2;
    return (u - r) * (u - r) + (w - r) * (w - r) <= r * r;
}

/* Frame t of clip (3, T, S, S): a gradient from bg0 (left) to bg1 (right)
 * and the shapes, each anti-aliased by 8x8 supersampling. */
static void synth_frame(float *clip, int T, int S, int t, const float bg0[3], const float bg1[3], const synth_shape *sh, int n) {
    const int64_t plane = (int64_t)S * S, chan = plane * T;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double g = (x + 0.5) / S;
            float px[3];
            for (int c = 0; c < 3; c++) px[c] = (float)(bg0[c] + g * (bg1[c] - bg0[c]));
            for (int k = 0; k < n; k++) {
                int hits = 0;
                for (int sy = 0; sy < 8; sy++)
                    for (int sx = 0; sx < 8; sx++) hits += synth_inside(&sh[k], x + (sx + 0.5) / 8, y + (sy + 0.5) / 8);
                float a = hits / 64.0f;
                for (int c = 0; c < 3; c++) px[c] += a * (sh[k].rgb[c] - px[c]);
            }
            for (int c = 0; c < 3; c++) clip[c * chan + t * plane + (int64_t)y * S + x] = px[c];
        }
}

/* u folded into [0, L] (bouncing between two walls). */
static double fold(double u, double L) {
    double m = fmod(u, 2 * L);
    if (m < 0) m += 2 * L;
    return m <= L ? m : 2 * L - m;
}

/* Clip i of a synthetic family (3, T, S, S):
 *   0 bouncing shape, constant velocity (smooth)
 *   1 teleporting shape: a fresh random position each frame
 *   2 two shapes per frame
 *   3 random blobs: smooth noise thresholded into irregular patches */
static void synth_clip(float *clip, int T, int S, int family, uint64_t seed) {
    uint64_t s = seed * 1000003u + (uint64_t)family;
    float bg0[3], bg1[3];
    for (int c = 0; c < 3; c++) {
        bg0[c] = (float)(-0.6 + 0.5 * unif(&s));
        bg1[c] = (float)(-0.6 + 0.5 * unif(&s));
    }
    synth_shape sh[2];
    for (int k = 0; k < 2; k++) {
        sh[k].kind = (int)(unif(&s) * 2);
        sh[k].d = S * (0.17 + 0.11 * unif(&s));
        for (int c = 0; c < 3; c++) sh[k].rgb[c] = (float)(0.5 + 0.5 * unif(&s)); /* light over a dark background */
    }
    double L = S - sh[0].d, x0 = unif(&s) * L, y0 = unif(&s) * L, a = 2 * M_PI * unif(&s);
    double speed = S / 32.0 * (1.2 + 1.6 * unif(&s)), vx = speed * cos(a), vy = speed * sin(a);
    if (family == 3) {
        /* a coarse 4x4-cell random field, bilinearly upsampled, thresholded */
        const int64_t plane = (int64_t)S * S, chan = plane * T;
        for (int t = 0; t < T; t++) {
            double g[5][5];
            for (int i = 0; i < 5; i++)
                for (int j = 0; j < 5; j++) g[i][j] = gauss(&s);
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    double fx = 4.0 * x / S, fy = 4.0 * y / S;
                    int ix = (int)fx, iy = (int)fy;
                    double ax = fx - ix, ay = fy - iy;
                    double v = (1 - ay) * ((1 - ax) * g[iy][ix] + ax * g[iy][ix + 1]) + ay * ((1 - ax) * g[iy + 1][ix] + ax * g[iy + 1][ix + 1]);
                    for (int c = 0; c < 3; c++)
                        clip[c * chan + t * plane + (int64_t)y * S + x] = v > 0.6 ? sh[0].rgb[c] : bg0[c];
                }
        }
        return;
    }
    for (int t = 0; t < T; t++) {
        if (family == 1) {
            sh[0].x = unif(&s) * L;
            sh[0].y = unif(&s) * L;
        } else {
            sh[0].x = fold(x0 + vx * t, L);
            sh[0].y = fold(y0 + vy * t, L);
        }
        int n = 1;
        if (family == 2) { /* the second shape in the opposite corner, apart from the first */
            sh[1].x = sh[0].x + sh[0].d / 2 < S / 2.0 ? S - sh[1].d - 1 : 1;
            sh[1].y = sh[0].y + sh[0].d / 2 < S / 2.0 ? S - sh[1].d - 1 : 1;
            n = 2;
        }
        synth_frame(clip, T, S, t, bg0, bg1, sh, n);
    }
}

/* Runs the metric on n clips and returns the summary. */
static vg_shapes_summary score(const float *clips, int n, int T, int S) {
    vg_shapes_metrics_config cfg;
    vg_shapes_metrics_default(&cfg, S);
    vg_shapes_summary sum = {0};
    vg_status st = vg_shapes_metrics_batch(&cfg, clips, n, T, NULL, &sum);
    CHECK(st == VG_OK, "batch: %s", vg_last_error());
    return sum;
}

static void report(const char *what, const vg_shapes_summary *s) {
    printf("%-34s valid frames %6.2f%%  smooth clips %6.2f%%  (empty %lld many %lld small %lld large %lld)\n", what,
           100 * s->valid_frac, 100 * s->smooth_frac, (long long)s->verdicts[VG_SHAPES_EMPTY],
           (long long)s->verdicts[VG_SHAPES_MANY], (long long)s->verdicts[VG_SHAPES_SMALL],
           (long long)s->verdicts[VG_SHAPES_LARGE]);
}

/* Real clips of the data set at size S: both metrics near 100%, and the
 * pixel-only centroids agree with the ground truth. */
static void check_real(int S, int T, int n, uint64_t seed) {
    vg_dataset *ds;
    vg_dataset_spec spec = {.source = "shapes", .frames = T, .size = S, .seed = seed};
    CHECK(vg_dataset_open(&ds, &spec) == VG_OK, "open: %s", vg_last_error());
    int64_t numel = vg_dataset_clip_numel(ds);
    float *x = malloc((size_t)(n * numel) * sizeof *x), *truth = malloc((size_t)T * 2 * sizeof *truth);
    vg_shapes_frame *f = malloc((size_t)T * sizeof *f);
    CHECK(vg_dataset_batch(ds, 0, n, x, NULL) == VG_OK, "batch");
    vg_shapes_summary s = score(x, n, T, S);
    char what[64];
    snprintf(what, sizeof what, "real shapes %dx%dx%d (%d clips)", S, S, T, n);
    report(what, &s);
    CHECK(s.valid_frac >= 0.95, "%s: valid frames %.3f", what, s.valid_frac);
    CHECK(s.smooth_frac >= 0.95, "%s: smooth clips %.3f", what, s.smooth_frac);
    /* every all-valid clip is in the acceleration histogram; real motion's
     * median sits under the tolerance */
    int64_t in_hist = 0;
    for (int k = 0; k < VG_SHAPES_ACCEL_BINS; k++) in_hist += s.accel_hist[k];
    CHECK(in_hist == s.valid_clips, "%s: %lld clips in the acceleration histogram, %lld all-valid", what, (long long)in_hist,
          (long long)s.valid_clips);
    CHECK(vg_shapes_accel_median(&s) < 0.6, "%s: median max 2nd difference %.3f px", what, vg_shapes_accel_median(&s));

    vg_shapes_metrics_config cfg;
    vg_shapes_metrics_default(&cfg, S);
    double worst = 0;
    for (int i = 0; i < n && i < 32; i++) {
        vg_shapes_clip c;
        vg_shapes_truth tr;
        CHECK(vg_shapes_metrics_clip(&cfg, x + i * numel, T, f, &c) == VG_OK, "clip");
        CHECK(vg_shapes_clip_truth(ds, i, &tr, truth) == VG_OK, "truth");
        for (int t = 0; t < T; t++)
            if (f[t].verdict == VG_SHAPES_VALID)
                worst = fmax(worst, hypot(f[t].cx - truth[2 * t], f[t].cy - truth[2 * t + 1]));
    }
    /* the renderer's 4x4 supersampling alone moves edges by up to 1/8 px */
    CHECK(worst < 0.3, "%s: centroid %.3f px from the ground truth", what, worst);
    free(f);
    free(truth);
    free(x);
    vg_dataset_close(ds);
}

int main(void) {
    vg_set_threads(2);
    check_real(32, 16, 256, 1);
    check_real(64, 8, 64, 2);
    check_real(16, 8, 256, 3);

    const int S = 32, T = 16, n = 64;
    const int64_t numel = 3 * (int64_t)T * S * S;
    float *x = malloc((size_t)(n * numel) * sizeof *x);
    vg_shapes_summary s;

    /* Gaussian noise, strong and weak (clipped to [-1, 1]) */
    const double sigmas[3] = {1.0, 0.3, 0.1};
    for (int k = 0; k < 3; k++) {
        uint64_t st = 99 + (uint64_t)k;
        for (int64_t i = 0; i < n * numel; i++) x[i] = (float)fmax(-1, fmin(1, sigmas[k] * gauss(&st)));
        s = score(x, n, T, S);
        char what[64];
        snprintf(what, sizeof what, "Gaussian noise sigma %.1f", sigmas[k]);
        report(what, &s);
        CHECK(s.valid_frac <= 0.02 && s.smooth_frac == 0, "%s: valid %.3f smooth %.3f", what, s.valid_frac, s.smooth_frac);
    }

    /* the independent renderer: bouncing (smooth), teleporting, two shapes, blobs */
    for (int i = 0; i < n; i++) synth_clip(x + i * numel, T, S, 0, (uint64_t)i);
    s = score(x, n, T, S);
    report("bouncing shape (own renderer)", &s);
    CHECK(s.valid_frac >= 0.95 && s.smooth_frac >= 0.95, "bouncing: valid %.3f smooth %.3f", s.valid_frac, s.smooth_frac);

    for (int i = 0; i < n; i++) synth_clip(x + i * numel, T, S, 1, (uint64_t)i);
    s = score(x, n, T, S);
    report("teleporting shape", &s);
    CHECK(s.valid_frac >= 0.95, "teleporting: every frame is one plausible object (%.3f)", s.valid_frac);
    CHECK(s.smooth_frac <= 0.02, "teleporting: not smooth (%.3f)", s.smooth_frac);

    for (int i = 0; i < n; i++) synth_clip(x + i * numel, T, S, 2, (uint64_t)i);
    s = score(x, n, T, S);
    report("two shapes", &s);
    CHECK(s.valid_frac <= 0.02 && s.smooth_frac == 0, "two shapes: valid %.3f smooth %.3f", s.valid_frac, s.smooth_frac);
    CHECK(s.verdicts[VG_SHAPES_MANY] >= s.frames * 9 / 10, "two shapes: %lld of %lld frames 'many'",
          (long long)s.verdicts[VG_SHAPES_MANY], (long long)s.frames);

    for (int i = 0; i < n; i++) synth_clip(x + i * numel, T, S, 3, (uint64_t)i);
    s = score(x, n, T, S);
    report("random blobs", &s);
    CHECK(s.valid_frac <= 0.25 && s.smooth_frac == 0, "blobs: valid %.3f smooth %.3f", s.valid_frac, s.smooth_frac);

    /* a frozen real clip: one object, velocity 0 is constant velocity */
    {
        vg_dataset *ds;
        vg_dataset_spec spec = {.source = "shapes", .frames = T, .size = S, .seed = 5};
        CHECK(vg_dataset_open(&ds, &spec) == VG_OK, "open");
        CHECK(vg_dataset_batch(ds, 0, n, x, NULL) == VG_OK, "batch");
        const int64_t plane = (int64_t)S * S;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 3; c++)
                for (int t = 1; t < T; t++)
                    memcpy(x + i * numel + (c * T + t) * plane, x + i * numel + c * T * plane, (size_t)plane * sizeof *x);
        s = score(x, n, T, S);
        report("constant frames (frozen shape)", &s);
        CHECK(s.valid_frac >= 0.95 && s.smooth_frac >= 0.95, "frozen: valid %.3f smooth %.3f", s.valid_frac, s.smooth_frac);

        /* a real clip played in a shuffled frame order: same frames, jumps */
        CHECK(vg_dataset_batch(ds, 0, n, x, NULL) == VG_OK, "batch");
        float *tmp = malloc((size_t)numel * sizeof *tmp);
        for (int i = 0; i < n; i++) {
            memcpy(tmp, x + i * numel, (size_t)numel * sizeof *tmp);
            for (int c = 0; c < 3; c++)
                for (int t = 0; t < T; t++) /* t -> 5t mod 16, a permutation */
                    memcpy(x + i * numel + (c * T + t) * plane, tmp + (c * T + (5 * t) % T) * plane, (size_t)plane * sizeof *x);
        }
        s = score(x, n, T, S);
        report("real frames, shuffled order", &s);
        CHECK(s.valid_frac >= 0.95 && s.smooth_frac <= 0.1, "shuffled: valid %.3f smooth %.3f", s.valid_frac, s.smooth_frac);
        CHECK(vg_shapes_accel_median(&s) > 1.0, "shuffled: median max 2nd difference %.2f px", vg_shapes_accel_median(&s));
        free(tmp);
        vg_dataset_close(ds);
    }

    /* the histogram's median: linear within its bin, NAN when empty, the
     * open last bin read at its lower edge */
    {
        vg_shapes_summary h;
        memset(&h, 0, sizeof h);
        CHECK(isnan(vg_shapes_accel_median(&h)), "median of no clips: NAN");
        h.accel_hist[3] = 2, h.accel_hist[5] = 2; /* [0.3, 0.4) x 2, [0.5, 0.6) x 2: half = 2 at 0.4 */
        CHECK(fabs(vg_shapes_accel_median(&h) - 0.4) < 1e-12, "median 0.4, got %g", vg_shapes_accel_median(&h));
        h.accel_hist[5] = 3; /* 5 clips, half 2.5: 0.5 + 0.5 / 3 bins */
        CHECK(fabs(vg_shapes_accel_median(&h) - (0.5 + 0.05 / 3)) < 1e-12, "median in bin 5, got %g",
              vg_shapes_accel_median(&h));
        memset(&h, 0, sizeof h);
        h.accel_hist[VG_SHAPES_ACCEL_BINS - 1] = 4;
        CHECK(fabs(vg_shapes_accel_median(&h) - (VG_SHAPES_ACCEL_BINS - 1) * VG_SHAPES_ACCEL_BIN_PX) < 1e-12,
              "median in the open last bin: its lower edge, got %g", vg_shapes_accel_median(&h));
    }

    /* NaN: that frame is invalid, the clip not smooth; the API rejects bad arguments */
    {
        vg_shapes_metrics_config cfg;
        vg_shapes_metrics_default(&cfg, S);
        for (int i = 0; i < 1; i++) synth_clip(x, T, S, 0, 7);
        x[5 * (int64_t)S * S + 3] = NAN; /* channel 0, frame 5 */
        vg_shapes_frame f[16];
        vg_shapes_clip c;
        CHECK(vg_shapes_metrics_clip(&cfg, x, T, f, &c) == VG_OK, "clip with NaN");
        CHECK(f[5].verdict == VG_SHAPES_NONFINITE && c.valid_frames == T - 1 && !c.smooth, "NaN frame: verdict %s, %d valid",
              vg_shapes_verdict_name(f[5].verdict), c.valid_frames);
        CHECK(vg_shapes_metrics_clip(NULL, x, T, f, &c) == VG_ERR_INVALID, "NULL config rejected");
        cfg.area_min = 10, cfg.area_max = 5;
        CHECK(vg_shapes_metrics_batch(&cfg, x, 1, T, NULL, &s) == VG_ERR_INVALID, "area_min > area_max rejected");
    }

    /* the result does not depend on the thread count */
    {
        for (int i = 0; i < n; i++) synth_clip(x + i * numel, T, S, i % 2, (uint64_t)i);
        vg_shapes_metrics_config cfg;
        vg_shapes_metrics_default(&cfg, S);
        vg_shapes_clip a[64], b[64];
        vg_shapes_summary sa, sb;
        vg_set_threads(1);
        CHECK(vg_shapes_metrics_batch(&cfg, x, n, T, a, &sa) == VG_OK, "1 thread");
        vg_set_threads(2);
        CHECK(vg_shapes_metrics_batch(&cfg, x, n, T, b, &sb) == VG_OK, "2 threads");
        CHECK(memcmp(a, b, sizeof a) == 0 && sa.valid_frames == sb.valid_frames && sa.smooth_clips == sb.smooth_clips,
              "1 and 2 threads agree");
    }
    free(x);
    TEST_END();
}
