/* test_datasets.c — the built-in video data sets (src/data): determinism
 * (same seed and index -> same bytes; batches identical for 1 and 2 threads),
 * the pixel range, the shapes recipe checked from the rendered pixels alone
 * (one object inside the frame, constant velocity between bounces, centroid
 * = exported truth, shape recognisable by its fill ratio), Moving MNIST and
 * Fashion-MNIST statistics and bounces, and clear errors for corrupt or
 * missing caches and IDX files. Needs data/mnist-digits.bin
 * (scripts/fetch_mnist.sh) and Debian's dataset-fashion-mnist: without them
 * the checks fail, they are not skipped. Prints clip generation speed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "data/dataset.h"
#include "data/mnist_source.h"
#include "test.h"

static char tmpdir[256];

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static vg_dataset *open_or_fail(vg_dataset_spec spec) {
    vg_dataset *ds = NULL;
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st == VG_OK, "open %s (size %d, frames %d): %s", spec.source, spec.size, spec.frames, vg_last_error());
    return st == VG_OK ? ds : NULL;
}

static int error_has(const char *needle) { return strstr(vg_last_error(), needle) != NULL; }

/* ---- generic contract --------------------------------------------------------- */

static void check_contract(vg_dataset_spec spec) {
    vg_dataset *ds = open_or_fail(spec);
    if (!ds) return;
    const vg_dataset_desc *d = vg_dataset_info(ds);
    int64_t numel = vg_dataset_clip_numel(ds);
    CHECK(numel == (int64_t)d->channels * d->frames * d->height * d->width, "%s: numel", spec.source);
    const int n = 6;
    float *a = malloc(sizeof(float) * numel * n), *b = malloc(sizeof(float) * numel * n);
    float *one = malloc(sizeof(float) * numel);
    int64_t la[6], lb[6], l1;

    CHECK(vg_dataset_clip(ds, 5, a, &la[0]) == VG_OK, "clip: %s", vg_last_error());
    CHECK(vg_dataset_clip(ds, 5, b, &lb[0]) == VG_OK, "clip: %s", vg_last_error());
    CHECK(memcmp(a, b, sizeof(float) * numel) == 0 && la[0] == lb[0], "%s: same index, different clip", spec.source);
    vg_dataset_clip(ds, 6, b, NULL);
    CHECK(memcmp(a, b, sizeof(float) * numel) != 0, "%s: clips 5 and 6 identical", spec.source);
    vg_dataset_spec other = spec;
    other.seed = spec.seed + 1;
    vg_dataset *ds2 = open_or_fail(other);
    if (ds2) {
        vg_dataset_clip(ds2, 5, b, NULL);
        CHECK(memcmp(a, b, sizeof(float) * numel) != 0, "%s: seeds differ, clips identical", spec.source);
        vg_dataset_close(ds2);
    }

    /* batch, 1 vs 2 threads, and equal to clip-by-clip */
    vg_set_threads(1);
    CHECK(vg_dataset_batch(ds, 100, n, a, la) == VG_OK, "batch: %s", vg_last_error());
    vg_set_threads(2);
    CHECK(vg_dataset_batch(ds, 100, n, b, lb) == VG_OK, "batch: %s", vg_last_error());
    CHECK(memcmp(a, b, sizeof(float) * numel * n) == 0 && memcmp(la, lb, sizeof la) == 0,
          "%s: batch differs between 1 and 2 threads", spec.source);
    vg_dataset_clip(ds, 103, one, &l1);
    CHECK(memcmp(one, a + 3 * numel, sizeof(float) * numel) == 0 && l1 == la[3], "%s: batch slot 3 != clip 103",
          spec.source);

    int64_t bad = 0;
    for (int64_t i = 0; i < numel * n; i++) bad += !(a[i] >= -1.0f && a[i] <= 1.0f);
    CHECK(bad == 0, "%s: %lld values outside [-1, 1]", spec.source, (long long)bad);
    for (int i = 0; i < n; i++)
        CHECK(la[i] >= 0 && la[i] < d->num_classes, "%s: label %lld of %d classes", spec.source, (long long)la[i],
              d->num_classes);
    CHECK(d->infinite == 1 && d->size > 0, "%s: infinite stream with a nominal size", spec.source);
    for (int i = 0; i < d->num_classes; i++) CHECK(d->class_names[i] && d->class_names[i][0], "class name %d", i);

    CHECK(vg_dataset_clip(ds, -1, a, NULL) == VG_ERR_INVALID, "negative index accepted");
    CHECK(vg_dataset_batch(ds, INT64_MAX - 2, 4, a, NULL) == VG_ERR_INVALID, "index overflow accepted");
    CHECK(vg_dataset_batch(ds, 0, 0, NULL, NULL) == VG_OK, "empty batch");
    free(a), free(b), free(one);
    vg_dataset_close(ds);
}

/* ---- shapes, from the pixels ---------------------------------------------------- */

/* Count 8-connected components of mask (S x S). */
static int components(const unsigned char *mask, int S) {
    int *stack = malloc(sizeof(int) * S * S), count = 0;
    unsigned char *seen = calloc((size_t)S * S, 1);
    for (int s = 0; s < S * S; s++) {
        if (!mask[s] || seen[s]) continue;
        count++;
        int top = 0;
        stack[top++] = s;
        seen[s] = 1;
        while (top) {
            int p = stack[--top], x = p % S, y = p / S;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int nx = x + dx, ny = y + dy, q = ny * S + nx;
                    if (nx < 0 || ny < 0 || nx >= S || ny >= S || !mask[q] || seen[q]) continue;
                    seen[q] = 1;
                    stack[top++] = q;
                }
        }
    }
    free(stack);
    free(seen);
    return count;
}

/* What the test measures in one rendered frame, from pixels and the exported
 * colours only. alpha = projection of (pixel - background) on (shape -
 * background): the coverage of the pixel by the shape. */
typedef struct frame_meas {
    double mass;        /* sum of alpha: the shape's area */
    double cx, cy;      /* alpha-weighted centroid */
    double wx, wy;      /* sum over columns (rows) of the column's (row's) max alpha: width, height */
    int parts;          /* connected components of the thresholded mask */
} frame_meas;

static void measure(const float *clip, int S, int T, int t, const vg_shapes_truth *tr, const float *bg,
                    unsigned char *mask, double *colmax, double *rowmax, frame_meas *m) {
    const int64_t plane = (int64_t)S * S, chan = plane * T;
    double mx = 0, my = 0;
    m->mass = 0;
    for (int i = 0; i < S; i++) colmax[i] = rowmax[i] = 0;
    for (int64_t p = 0; p < plane; p++) {
        double num = 0, den = 0, dist = 0;
        for (int c = 0; c < 3; c++) {
            double pv = clip[c * chan + t * plane + p] - bg[c * plane + p], fv = tr->color[c] - bg[c * plane + p];
            num += pv * fv, den += fv * fv, dist += pv * pv;
        }
        double a = num / den;
        int x = (int)(p % S), y = (int)(p / S);
        m->mass += a, mx += a * x, my += a * y;
        colmax[x] = fmax(colmax[x], a);
        rowmax[y] = fmax(rowmax[y], a);
        mask[p] = sqrt(dist) > 0.25 * sqrt(den); /* thresholded distance to the background */
    }
    m->cx = mx / m->mass, m->cy = my / m->mass;
    m->wx = m->wy = 0;
    for (int i = 0; i < S; i++) m->wx += colmax[i], m->wy += rowmax[i];
    m->parts = components(mask, S);
}

/* Fill ratio of the bounding box: pi/4 circle, 1 square, 1/2 triangle. */
static int classify(const frame_meas *m) {
    double fill = m->mass / (m->wx * m->wy);
    return fill < 0.64 ? VG_SHAPE_TRIANGLE : fill < 0.9 ? VG_SHAPE_CIRCLE : VG_SHAPE_SQUARE;
}

static void check_shapes_size(int S, int T, int clips) {
    vg_dataset_spec spec = {.source = "shapes", .size = S, .frames = T, .seed = 7};
    vg_dataset *ds = open_or_fail(spec);
    if (!ds) return;
    const int64_t plane = (int64_t)S * S, chan = plane * T;
    float *clip = malloc(sizeof(float) * chan * 3), *truth_c = malloc(sizeof(float) * 2 * T);
    float *bg = malloc(sizeof(float) * 3 * plane);
    frame_meas *fm = malloc(sizeof(frame_meas) * T);
    double *colmax = malloc(sizeof(double) * S), *rowmax = malloc(sizeof(double) * S);
    unsigned char *mask = malloc((size_t)plane);
    int seen_label[3] = {0}, seen_grad[2] = {0}, bad_inside = 0, bad_conn = 0, bad_truth = 0, bad_vel = 0,
        bad_bounce = 0, bad_class = 0, bad_contrast = 0, bad_speed = 0, bounces = 0;
    double worst_truth = 0, worst_area = 0;
    const double tol = 0.35; /* px: two centroid errors of 4x4 supersampled edges */
    for (int64_t ci = 0; ci < clips; ci++) {
        int64_t label;
        vg_shapes_truth tr;
        vg_dataset_clip(ds, ci, clip, &label);
        CHECK(vg_shapes_clip_truth(ds, ci, &tr, truth_c) == VG_OK, "truth: %s", vg_last_error());
        CHECK(tr.label == label, "truth label %d, clip label %lld", tr.label, (long long)label);
        seen_label[label % 3]++;
        seen_grad[tr.gradient != 0]++;
        const double d = tr.extent;
        CHECK(d >= 0.15 * S - 1e-3 && d <= 0.30 * S + 1e-3, "extent %.2f at size %d", d, S);
        for (int64_t p = 0; p < plane; p++) {
            float rgb[3];
            vg_shapes_background_at(&tr, S, (int)(p % S), (int)(p / S), rgb);
            double dist = 0;
            for (int c = 0; c < 3; c++) bg[c * plane + p] = rgb[c], dist += (rgb[c] - tr.color[c]) * (rgb[c] - tr.color[c]);
            if (sqrt(dist) < 0.9) bad_contrast++; /* 0.45 in [0, 1] units */
        }
        double area = tr.label == VG_SHAPE_CIRCLE ? M_PI * d * d / 4 : tr.label == VG_SHAPE_SQUARE ? d * d : d * d / 2;
        for (int t = 0; t < T; t++) {
            frame_meas *m = &fm[t];
            measure(clip, S, T, t, &tr, bg, mask, colmax, rowmax, m);
            /* the whole shape is in the frame: none of its area is cut off */
            worst_area = fmax(worst_area, fabs(m->mass / area - 1));
            if (fabs(m->mass - area) > 0.03 * area + 0.25 * d) bad_inside++; /* edge quantisation */
            if (m->parts != 1) bad_conn++;
            double e = fmax(fabs(m->cx - truth_c[2 * t]), fabs(m->cy - truth_c[2 * t + 1]));
            worst_truth = fmax(worst_truth, e);
            bad_truth += e > 0.5;
            if (S >= 48) bad_class += classify(m) != tr.label;
        }
        /* constant velocity between bounces, reversals only at a wall */
        double speed = hypot(tr.velocity[0], tr.velocity[1]);
        CHECK(speed >= 0.99 * S / 32 && speed <= 3.01 * S / 32, "speed %.2f at size %d", speed, S);
        for (int k = 0; k < 2; k++) {
            const double v = fabs(tr.velocity[k]);
            int prev_sign = 0, wall_since = 0; /* last clean step's sign; a wall was near since */
            for (int t = 1; t < T; t++) {
                double step = (k ? fm[t].cy - fm[t - 1].cy : fm[t].cx - fm[t - 1].cx);
                /* distance of the pixel bounding box from the walls, either frame */
                double gap = 1e9;
                for (int u = t - 1; u <= t; u++) {
                    double c = k ? fm[u].cy : fm[u].cx, w = k ? fm[u].wy : fm[u].wx;
                    double lo = k && tr.label == VG_SHAPE_TRIANGLE ? c + 0.5 - 2 * w / 3 : c + 0.5 - w / 2;
                    gap = fmin(gap, fmin(lo, S - (lo + w)));
                }
                int near_wall = gap < v + tol;
                wall_since |= near_wall;
                if (fabs(step) > v + tol) bad_speed++;
                if (fabs(fabs(step) - v) > tol) {
                    bad_vel += !near_wall; /* a shortened step is a bounce, so at a wall */
                    continue;
                }
                if (v < tol) continue; /* too slow to tell a direction */
                int sign = step > 0 ? 1 : -1;
                if (prev_sign && sign != prev_sign) bad_bounce += !wall_since, bounces++;
                prev_sign = sign;
                wall_since = near_wall;
            }
        }
    }
    CHECK(bad_inside == 0, "size %d: %d frames where the shape's area is off (worst %.3f)", S, bad_inside, worst_area);
    CHECK(bad_conn == 0, "size %d: %d frames without exactly one connected object", S, bad_conn);
    CHECK(bad_truth == 0, "size %d: %d centroids off the truth by > 0.5 px (worst %.3f)", S, bad_truth, worst_truth);
    CHECK(worst_truth < 0.25, "size %d: centroid vs truth worst %.3f px", S, worst_truth);
    CHECK(bad_vel == 0, "size %d: %d steps away from the walls that are not the constant velocity", S, bad_vel);
    CHECK(bad_bounce == 0, "size %d: %d of %d reversals away from the walls", S, bad_bounce, bounces);
    CHECK(bad_speed == 0, "size %d: %d steps faster than the velocity", S, bad_speed);
    CHECK(bad_contrast == 0, "size %d: %d background pixels close to the shape colour", S, bad_contrast);
    CHECK(bad_class == 0, "size %d: %d frames whose fill ratio gives the wrong shape", S, bad_class);
    CHECK(seen_label[0] && seen_label[1] && seen_label[2], "size %d: labels %d/%d/%d", S, seen_label[0], seen_label[1],
          seen_label[2]);
    CHECK(seen_grad[0] && seen_grad[1], "size %d: plain %d, gradient %d", S, seen_grad[0], seen_grad[1]);
    printf("shapes %dx%dx%d: %d clips, centroid vs truth worst %.3f px, area worst %.1f%%, %d bounces seen\n", S, S, T,
           clips, worst_truth, 100 * worst_area, bounces);
    free(clip), free(truth_c), free(bg), free(fm), free(colmax), free(rowmax), free(mask);
    vg_dataset_close(ds);
}

static void check_shapes_fill_ratios(void) {
    /* mean fill ratio per label at 128x128, against pi/4, 1 and 1/2 */
    const int S = 128, T = 1;
    vg_dataset *ds = open_or_fail((vg_dataset_spec){.source = "shapes", .size = S, .frames = T, .seed = 3});
    if (!ds) return;
    const int64_t plane = S * S;
    float *clip = malloc(sizeof(float) * 3 * plane), *bg = malloc(sizeof(float) * 3 * plane);
    unsigned char *mask = malloc(plane);
    double colmax[128], rowmax[128], sum[3] = {0}, n[3] = {0};
    for (int64_t ci = 0; ci < 30; ci++) {
        vg_shapes_truth tr;
        int64_t label;
        vg_dataset_clip(ds, ci, clip, &label);
        vg_shapes_clip_truth(ds, ci, &tr, NULL);
        for (int64_t p = 0; p < plane; p++) {
            float rgb[3];
            vg_shapes_background_at(&tr, S, (int)(p % S), (int)(p / S), rgb);
            for (int c = 0; c < 3; c++) bg[c * plane + p] = rgb[c];
        }
        frame_meas m;
        measure(clip, S, T, 0, &tr, bg, mask, colmax, rowmax, &m);
        sum[label] += m.mass / (m.wx * m.wy);
        n[label]++;
    }
    const double want[3] = {M_PI / 4, 1.0, 0.5};
    for (int l = 0; l < 3; l++)
        CHECK(n[l] > 0 && fabs(sum[l] / n[l] - want[l]) < 0.03, "label %d: mean fill ratio %.3f, expected %.3f", l,
              n[l] ? sum[l] / n[l] : 0.0, want[l]);
    free(clip), free(bg), free(mask);
    vg_dataset_close(ds);
}

/* ---- moving digits ------------------------------------------------------------------ */

static void check_digits_stats(const char *source, int S, int T) {
    vg_dataset_spec spec = {.source = source, .size = S, .frames = T, .seed = 11};
    if (strcmp(source, "fashion") == 0) spec.split = "test"; /* 10,000 items load faster than 60,000 */
    vg_dataset *ds = NULL;
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        CHECK(0, "%s: %s", source, vg_last_error());
        return;
    }
    const vg_dataset_desc *d = vg_dataset_info(ds);
    CHECK(d->channels == 1 && d->height == S && d->width == S && d->frames == T && d->num_classes == 100,
          "%s: desc C %d H %d W %d T %d classes %d", source, d->channels, d->height, d->width, d->frames,
          d->num_classes);
    const int64_t plane = (int64_t)S * S;
    float *clip = malloc(sizeof(float) * plane * T);
    int64_t zero = 0, total = 0;
    int empty_frames = 0, bad_label = 0;
    for (int64_t ci = 0; ci < 20; ci++) {
        int64_t label;
        vg_digits_truth tr;
        vg_dataset_clip(ds, ci, clip, &label);
        vg_digits_clip_truth(ds, ci, &tr, NULL);
        if (tr.num_digits != 2 || label != 10 * tr.label[0] + tr.label[1]) bad_label++;
        for (int t = 0; t < T; t++) {
            int ink = 0;
            for (int64_t p = 0; p < plane; p++) {
                float v = clip[t * plane + p];
                zero += v == -1.0f;
                ink += v > 0.5f;
            }
            total += plane;
            if (ink < 20) empty_frames++;
        }
    }
    double frac = (double)zero / total;
    CHECK(frac > 0.6 && frac < 0.97, "%s: %.3f of pixels are background", source, frac);
    CHECK(empty_frames == 0, "%s: %d frames without digit ink", source, empty_frames);
    CHECK(bad_label == 0, "%s: %d labels != 10 * first + second", source, bad_label);
    free(clip);
    vg_dataset_close(ds);
}

/* One digit: the ink centroid moves exactly as the exported top-left corner,
 * which stays in [0, S - 28], steps at most 4 px and turns only at a wall. */
static void check_digits_motion(const char *source, int S, int T) {
    vg_dataset_spec spec = {.source = source, .size = S, .frames = T, .seed = 5, .num_digits = 1};
    if (strcmp(source, "fashion") == 0) spec.split = "test";
    vg_dataset *ds = NULL;
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        CHECK(0, "%s: %s", source, vg_last_error());
        return;
    }
    CHECK(vg_dataset_info(ds)->num_classes == 10, "%s: one digit, 10 classes", source);
    const int64_t plane = (int64_t)S * S;
    const int L = S - 28;
    float *clip = malloc(sizeof(float) * plane * T);
    int32_t *pos = malloc(sizeof(int32_t) * 2 * T);
    int bad_track = 0, bad_range = 0, bad_step = 0, bad_turn = 0, turns = 0;
    for (int64_t ci = 0; ci < 30; ci++) {
        int64_t label;
        vg_digits_truth tr;
        vg_dataset_clip(ds, ci, clip, &label);
        vg_digits_clip_truth(ds, ci, &tr, pos);
        CHECK(label == tr.label[0], "%s: label %lld vs truth %d", source, (long long)label, tr.label[0]);
        double c0[2] = {0, 0};
        for (int t = 0; t < T; t++) {
            double m = 0, mx = 0, my = 0;
            for (int64_t p = 0; p < plane; p++) {
                double a = (clip[t * plane + p] + 1.0) / 2.0;
                m += a, mx += a * (p % S), my += a * (p / S);
            }
            double c[2] = {mx / m, my / m};
            if (t == 0) c0[0] = c[0] - pos[0], c0[1] = c[1] - pos[1];
            for (int k = 0; k < 2; k++) {
                if (fabs(c[k] - pos[2 * t + k] - c0[k]) > 1e-3) bad_track++;
                if (pos[2 * t + k] < 0 || pos[2 * t + k] > L) bad_range++;
                if (t > 0) {
                    /* away from the walls a step is the velocity, truncated to
                     * whole pixels; a bounce moves the digit off the wall */
                    int prev = pos[2 * (t - 1) + k], at = pos[2 * t + k], step = abs(at - prev);
                    double v = fabs(tr.velocity[0][k]);
                    int walls = prev == 0 || prev == L || at == 0 || at == L;
                    if (step > 4 || (!walls && fabs(step - v) > 1.0)) bad_step++;
                    /* clamped at a wall for at most two frames in a row */
                    if (t > 1 && v >= 1.5 && prev == at && pos[2 * (t - 2) + k] == at && (at == 0 || at == L))
                        bad_step++;
                }
                if (t > 0 && t + 1 < T) {
                    int d0 = pos[2 * t + k] - pos[2 * (t - 1) + k], d1 = pos[2 * (t + 1) + k] - pos[2 * t + k];
                    if ((long)d0 * d1 < 0) {
                        turns++;
                        int at = pos[2 * t + k];
                        if (at > 4 && at < L - 4) bad_turn++;
                    }
                }
            }
        }
    }
    CHECK(bad_track == 0, "%s: %d frames where the ink does not move with the truth", source, bad_track);
    CHECK(bad_range == 0, "%s: %d positions outside [0, %d]", source, bad_range, L);
    CHECK(bad_step == 0, "%s: %d steps not at the constant speed (or stuck at a wall)", source, bad_step);
    CHECK(turns > 0 && bad_turn == 0, "%s: %d of %d reversals away from a wall", source, bad_turn, turns);
    free(clip), free(pos);
    vg_dataset_close(ds);
}

/* Re-render clips from the exported truth and the digit pool itself: the
 * renderer must place each digit at its position and combine by max or by
 * clipped sum, exactly. */
static void check_digits_render(vg_overlap overlap) {
    const int S = 64, T = 10;
    vg_dataset *ds = open_or_fail((vg_dataset_spec){.source = "mnist", .frames = T, .seed = 8, .overlap = overlap});
    vg_digit_pool pool;
    if (!ds) return;
    if (vg_mnist_cache_load(&pool, VG_MNIST_CACHE_DEFAULT) != VG_OK) {
        CHECK(0, "%s", vg_last_error());
        vg_dataset_close(ds);
        return;
    }
    const int64_t plane = (int64_t)S * S;
    float *clip = malloc(sizeof(float) * plane * T), *ink = malloc(sizeof(float) * plane * T);
    int32_t pos[2 * 2 * 10];
    int bad = 0;
    for (int64_t ci = 0; ci < 8; ci++) {
        vg_digits_truth tr;
        vg_dataset_clip(ds, ci, clip, NULL);
        vg_digits_clip_truth(ds, ci, &tr, pos);
        for (int64_t i = 0; i < plane * T; i++) ink[i] = 0;
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < T; t++)
                for (int r = 0; r < 28; r++)
                    for (int c = 0; c < 28; c++) {
                        float *px = ink + t * plane + (int64_t)(pos[2 * (n * T + t) + 1] + r) * S + pos[2 * (n * T + t)] + c;
                        float v = pool.pixels[tr.pool_index[n] * 784 + r * 28 + c] / 255.0f;
                        *px = overlap == VG_OVERLAP_MAX ? fmaxf(*px, v) : fminf(1.0f, *px + v);
                    }
        for (int64_t i = 0; i < plane * T; i++) bad += fabsf(clip[i] - (2 * ink[i] - 1)) > 1e-5f;
    }
    CHECK(bad == 0, "overlap %d: %d pixels differ from the re-rendered truth", (int)overlap, bad);
    free(clip), free(ink);
    vg_digit_pool_free(&pool);
    vg_dataset_close(ds);
}

static void check_digits_options(void) {
    const int S = 64, T = 8;
    const int64_t n1 = (int64_t)S * S * T;
    float *mx = malloc(sizeof(float) * n1), *sum = malloc(sizeof(float) * n1), *rgb = malloc(sizeof(float) * n1 * 3);
    vg_dataset *a = open_or_fail((vg_dataset_spec){.source = "mnist", .frames = T, .seed = 2});
    vg_dataset *b = open_or_fail((vg_dataset_spec){.source = "mnist", .frames = T, .seed = 2, .overlap = VG_OVERLAP_SUM});
    vg_dataset *c = open_or_fail((vg_dataset_spec){.source = "mnist", .frames = T, .seed = 2, .channels = 3});
    if (a && b && c) {
        int below = 0, differ = 0;
        for (int64_t ci = 0; ci < 10; ci++) {
            vg_dataset_clip(a, ci, mx, NULL);
            vg_dataset_clip(b, ci, sum, NULL);
            for (int64_t i = 0; i < n1; i++) below += sum[i] < mx[i], differ += sum[i] != mx[i];
        }
        CHECK(below == 0 && differ > 0, "clipped sum vs max: %d pixels below, %d differ", below, differ);
        vg_dataset_clip(c, 3, rgb, NULL);
        vg_dataset_clip(a, 3, mx, NULL);
        int same = 1;
        for (int k = 0; k < 3; k++) same &= memcmp(rgb + k * n1, mx, sizeof(float) * n1) == 0;
        CHECK(same && vg_dataset_info(c)->channels == 3, "3 channels are not the grey clip replicated");
        const char *name = vg_dataset_info(a)->class_names[37];
        CHECK(strcmp(name, "3,7") == 0, "class 37 named \"%s\"", name);
    }
    vg_dataset_close(a), vg_dataset_close(b), vg_dataset_close(c);
    free(mx), free(sum), free(rgb);

    vg_dataset *f = open_or_fail((vg_dataset_spec){.source = "fashion", .split = "test"});
    if (f) {
        const vg_dataset_desc *d = vg_dataset_info(f);
        CHECK(d->size == 10000, "fashion test split: %lld items", (long long)d->size);
        CHECK(strcmp(d->class_names[98], "Ankle boot,Bag") == 0, "fashion class 98 named \"%s\"", d->class_names[98]);
        vg_dataset_close(f);
    }
    vg_dataset *ft = open_or_fail((vg_dataset_spec){.source = "fashion"});
    if (ft) {
        CHECK(vg_dataset_info(ft)->size == 60000, "fashion train: %lld items", (long long)vg_dataset_info(ft)->size);
        vg_dataset_close(ft);
    }
}

/* ---- bad arguments, corrupt and missing files --------------------------------------- */

static void expect_open_error(vg_dataset_spec spec, vg_status want, const char *needle1, const char *needle2) {
    vg_dataset *ds = (vg_dataset *)&spec; /* must be reset to NULL */
    vg_status st = vg_dataset_open(&ds, &spec);
    CHECK(st == want && ds == NULL, "%s: status %s, want %s (%s)", spec.source, vg_status_name(st),
          vg_status_name(want), vg_last_error());
    CHECK(error_has(needle1), "message \"%s\" lacks \"%s\"", vg_last_error(), needle1);
    if (needle2) CHECK(error_has(needle2), "message \"%s\" lacks \"%s\"", vg_last_error(), needle2);
    if (st == VG_OK) vg_dataset_close(ds);
}

static void write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(p, 1, n, f) == n, "write %s", path);
    if (f) fclose(f);
}

/* A cache of `count` declared digits with `have` records written. */
static void write_cache(const char *path, const char *magic, uint32_t count, int rows, uint32_t have, int label) {
    size_t n = 16 + (size_t)have * 785;
    unsigned char *b = calloc(n, 1);
    memcpy(b, magic, 8);
    for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(count >> (8 * i));
    b[12] = (unsigned char)rows, b[14] = 28;
    for (uint32_t d = 0; d < have; d++) {
        unsigned char *r = b + 16 + (size_t)d * 785;
        r[0] = (unsigned char)(d == 0 ? label : (int)(d % 10));
        for (int y = 8; y < 20; y++)
            for (int x = 10; x < 18; x++) r[1 + y * 28 + x] = 255; /* a bar */
    }
    write_file(path, b, n);
    free(b);
}

static void check_errors(void) {
    char path[512];
    expect_open_error((vg_dataset_spec){.source = "video"}, VG_ERR_INVALID, "unknown data set \"video\"", "shapes");
    expect_open_error((vg_dataset_spec){.source = "shapes", .size = 8}, VG_ERR_INVALID, "size 8", "at least 16");
    expect_open_error((vg_dataset_spec){.source = "shapes", .channels = 1}, VG_ERR_INVALID, "channels 1", NULL);
    expect_open_error((vg_dataset_spec){.source = "mnist", .size = 30}, VG_ERR_INVALID, "size 30", NULL);
    expect_open_error((vg_dataset_spec){.source = "mnist", .channels = 2}, VG_ERR_INVALID, "channels 2", NULL);
    expect_open_error((vg_dataset_spec){.source = "mnist", .num_digits = 3}, VG_ERR_INVALID, "num_digits 3", NULL);
    expect_open_error((vg_dataset_spec){.source = "fashion", .split = "val"}, VG_ERR_INVALID, "split \"val\"", NULL);

    snprintf(path, sizeof path, "%s/none.bin", tmpdir);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_IO, path, "scripts/fetch_mnist.sh");
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = tmpdir}, VG_ERR_IO, "dataset-fashion-mnist",
                      "train-images-idx3-ubyte.gz");

    /* a small valid cache works, and the digit shows up */
    snprintf(path, sizeof path, "%s/small.bin", tmpdir);
    write_cache(path, "VGMNIST1", 3, 28, 3, 4);
    vg_dataset *ds = open_or_fail((vg_dataset_spec){.source = "mnist", .path = path, .frames = 4, .num_digits = 1});
    if (ds) {
        float clip[4 * 64 * 64];
        int64_t label;
        vg_dataset_clip(ds, 0, clip, &label);
        int ink = 0;
        for (int i = 0; i < 4 * 64 * 64; i++) ink += clip[i] == 1.0f;
        CHECK(ink == 4 * 12 * 8, "small cache: %d ink pixels, want %d", ink, 4 * 12 * 8);
        CHECK(label >= 0 && label <= 4 && vg_dataset_info(ds)->size == 3, "small cache: label %lld", (long long)label);
        vg_dataset_close(ds);
    }
    write_cache(path, "VGMNIST1", 10000, 28, 0, 0);
    CHECK(truncate(path, 1024) == 0, "truncate %s", path);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_FORMAT,
                      "truncated: expected 7,850,016 bytes, found 1,024; run scripts/fetch_mnist.sh", path);
    write_cache(path, "VGMNIST2", 3, 28, 3, 0);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_FORMAT, "bad magic", path);
    write_cache(path, "VGMNIST1", 3, 27, 3, 0);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_FORMAT, "27x28", NULL);
    write_cache(path, "VGMNIST1", 3, 28, 3, 12);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_FORMAT, "label 12", NULL);
    write_cache(path, "VGMNIST1", 2, 28, 3, 0);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_FORMAT, "trailing bytes", NULL);
    write_file(path, "VGMN", 4);
    expect_open_error((vg_dataset_spec){.source = "mnist", .path = path}, VG_ERR_FORMAT, "truncated", path);
    remove(path);
}

/* vg_mnist_cache_build on a hand-written package: round trip and bad JSON. */
static void check_cache_build(void) {
    char dir[512], path[600], out[600];
    snprintf(dir, sizeof dir, "%s/json", tmpdir);
    mkdir(dir, 0755);
    for (int k = 0; k < 10; k++) {
        snprintf(path, sizeof path, "%s/%d.json", dir, k);
        FILE *f = fopen(path, "w");
        if (!f) {
            CHECK(0, "cannot write %s", path);
            return;
        }
        fputs("{ \"data\": [", f);
        for (int d = 0; d < 2; d++)
            for (int i = 0; i < 784; i++) fprintf(f, "%s%s", d + i ? "," : "", i == 100 + k ? "0.624" : i == 1 ? "1" : "0");
        fputs("]}", f);
        fclose(f);
    }
    snprintf(out, sizeof out, "%s/built.bin", tmpdir);
    CHECK(vg_mnist_cache_build(dir, out) == VG_OK, "build: %s", vg_last_error());
    vg_digit_pool pool;
    if (vg_mnist_cache_load(&pool, out) == VG_OK) {
        CHECK(pool.count == 20 && pool.labels[5] == 2 && pool.pixels[5 * 784 + 104] == 0 &&
                  pool.pixels[7 * 784 + 103] == 159 && pool.pixels[7 * 784 + 1] == 255,
              "built cache content (count %lld)", (long long)pool.count);
        vg_digit_pool_free(&pool);
    } else {
        CHECK(0, "load built cache: %s", vg_last_error());
    }
    snprintf(path, sizeof path, "%s/3.json", dir);
    write_file(path, "{\"data\": [0.5, 0.25]}", 21);
    CHECK(vg_mnist_cache_build(dir, out) == VG_ERR_FORMAT && error_has("3.json") && error_has("multiple of 784"),
          "short digit: %s", vg_last_error());
    write_file(path, "[0.5]", 5);
    CHECK(vg_mnist_cache_build(dir, out) == VG_ERR_FORMAT && error_has("{\"data\""), "array: %s", vg_last_error());
    write_file(path, "{\"data\": [", 10);
    CHECK(vg_mnist_cache_build(dir, out) == VG_ERR_FORMAT && error_has("3.json: line"), "bad JSON: %s", vg_last_error());
    remove(path);
    CHECK(vg_mnist_cache_build(dir, out) == VG_ERR_IO && error_has("3.json"), "missing: %s", vg_last_error());
    for (int k = 0; k < 10; k++) snprintf(path, sizeof path, "%s/%d.json", dir, k), remove(path);
    rmdir(dir);
    remove(out);
}

static void write_idx(const char *dir, const char *name, int gz, const unsigned char *hdr, size_t hn, size_t body,
                      unsigned char fill) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, gz ? ".gz" : "");
    unsigned char *b = malloc(hn + body);
    memcpy(b, hdr, hn);
    memset(b + hn, fill, body);
    if (gz) {
        gzFile g = gzopen(path, "wb");
        CHECK(g && gzwrite(g, b, (unsigned)(hn + body)) == (int)(hn + body) && gzclose(g) == Z_OK, "gzip %s", path);
    } else {
        write_file(path, b, hn + body);
    }
    free(b);
}

static void check_idx_errors(void) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/idx", tmpdir);
    mkdir(dir, 0755);
    const unsigned char img[16] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28};
    const unsigned char lab[8] = {0, 0, 8, 1, 0, 0, 0, 5};
    write_idx(dir, "train-images-idx3-ubyte", 1, img, 16, 5 * 784, 200);
    write_idx(dir, "train-labels-idx1-ubyte", 1, lab, 8, 5, 7);
    vg_dataset *ds = open_or_fail((vg_dataset_spec){.source = "fashion", .path = dir, .frames = 2});
    if (ds) {
        int64_t label;
        float clip[2 * 64 * 64];
        vg_dataset_clip(ds, 0, clip, &label);
        CHECK(label == 77 && vg_dataset_info(ds)->size == 5, "small IDX: label %lld", (long long)label);
        vg_dataset_close(ds);
    }
    const unsigned char bad_magic[16] = {0, 0, 8, 2, 0, 0, 0, 5, 0, 0, 0, 28, 0, 0, 0, 28};
    write_idx(dir, "train-images-idx3-ubyte", 1, bad_magic, 16, 5 * 784, 0);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, "magic 0x00000802",
                      "expected 0x00000803");
    const unsigned char bad_dims[16] = {0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 32, 0, 0, 0, 28};
    write_idx(dir, "train-images-idx3-ubyte", 1, bad_dims, 16, 5 * 32 * 28, 0);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, "32x28", NULL);
    write_idx(dir, "train-images-idx3-ubyte", 1, img, 16, 4 * 784, 0);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, "truncated pixel data",
                      "expected 3,920 bytes, found 3,136");
    write_idx(dir, "train-images-idx3-ubyte", 1, img, 16, 5 * 784 + 3, 0);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, "trailing bytes", NULL);
    write_idx(dir, "train-images-idx3-ubyte", 1, img, 16, 5 * 784, 0);
    const unsigned char lab4[8] = {0, 0, 8, 1, 0, 0, 0, 4};
    write_idx(dir, "train-labels-idx1-ubyte", 1, lab4, 8, 4, 1);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, "4 labels: expected 5",
                      NULL);
    write_idx(dir, "train-labels-idx1-ubyte", 1, lab, 8, 5, 10);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, "is 10: expected 0..9",
                      NULL);
    /* a cut-off gzip stream */
    write_idx(dir, "train-labels-idx1-ubyte", 1, lab, 8, 5, 1);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
    struct stat sb;
    CHECK(stat(path, &sb) == 0, "stat %s", path);
    CHECK(truncate(path, sb.st_size / 2) == 0, "truncate %s", path);
    expect_open_error((vg_dataset_spec){.source = "fashion", .path = dir}, VG_ERR_FORMAT, path, NULL);
    remove(path);
    /* plain (decompressed) files are read too */
    write_idx(dir, "train-images-idx3-ubyte", 0, img, 16, 5 * 784, 9);
    ds = open_or_fail((vg_dataset_spec){.source = "fashion", .path = dir, .frames = 2});
    vg_dataset_close(ds);
    remove(path);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir), remove(path);
    snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir), remove(path);
    rmdir(dir);
}

/* ---- speed ------------------------------------------------------------------------------ */

static void report_speed(vg_dataset_spec spec, int n) {
    vg_dataset *ds = NULL;
    if (vg_dataset_open(&ds, &spec) != VG_OK) return;
    int64_t numel = vg_dataset_clip_numel(ds);
    float *buf = malloc(sizeof(float) * numel * n);
    vg_set_threads(2);
    vg_dataset_batch(ds, 0, n, buf, NULL); /* warm up */
    double best = 1e9;
    for (int rep = 0; rep < 3; rep++) {
        double t0 = now_s();
        vg_dataset_batch(ds, (int64_t)(rep + 1) * n, n, buf, NULL);
        double dt = now_s() - t0;
        best = dt < best ? dt : best;
    }
    printf("speed: %-6s %dx%dx%d, 2 threads: %.0f clips/s\n", spec.source, spec.size, spec.size, spec.frames,
           n / best);
    free(buf);
    vg_dataset_close(ds);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/vg_test_datasets.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    check_contract((vg_dataset_spec){.source = "shapes", .size = 32, .frames = 16, .seed = 1});
    check_contract((vg_dataset_spec){.source = "shapes", .size = 50, .frames = 3, .seed = 1});
    check_contract((vg_dataset_spec){.source = "shapes", .size = 16, .frames = 1, .seed = 1});
    check_shapes_size(32, 16, 40);
    check_shapes_size(64, 16, 30);
    check_shapes_size(128, 8, 10);
    check_shapes_size(17, 8, 20);
    check_shapes_fill_ratios();

    check_contract((vg_dataset_spec){.source = "mnist", .frames = 16, .seed = 1});
    check_contract((vg_dataset_spec){.source = "mnist", .size = 32, .frames = 1, .seed = 1, .num_digits = 1});
    check_contract((vg_dataset_spec){.source = "fashion", .split = "test", .size = 48, .frames = 5, .seed = 1, .channels = 3});
    check_digits_stats("mnist", 64, 16);
    check_digits_stats("fashion", 64, 16);
    check_digits_motion("mnist", 64, 20);
    check_digits_motion("mnist", 96, 20);
    check_digits_motion("fashion", 64, 20);
    check_digits_options();
    check_digits_render(VG_OVERLAP_MAX);
    check_digits_render(VG_OVERLAP_SUM);

    check_errors();
    check_cache_build();
    check_idx_errors();

    report_speed((vg_dataset_spec){.source = "shapes", .size = 32, .frames = 16}, 256);
    report_speed((vg_dataset_spec){.source = "mnist", .size = 64, .frames = 16}, 256);
    report_speed((vg_dataset_spec){.source = "fashion", .split = "test", .size = 64, .frames = 16}, 256);
    CHECK(rmdir(tmpdir) == 0, "%s: left files behind", tmpdir);
    TEST_END();
}
