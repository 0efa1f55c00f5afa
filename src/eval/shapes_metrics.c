/* shapes_metrics.c — valid frames and smooth clips for the "shapes" data set
 * from pixels alone (see shapes_metrics.h for the method, docs/eval.md for
 * the measurements behind the thresholds). Per frame: a trimmed
 * least-squares plane per channel as the background, a colour-distance
 * threshold, 8-connected components, a coverage-weighted centroid. Per
 * clip: the centroid track unfolded at the walls and its second
 * differences. Everything is double precision per frame; clips run in
 * parallel and each clip's result depends only on its pixels. */
#include "eval/shapes_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/status.h"

/* The data set's recipe (src/data/shapes.c, docs/data.md). */
#define RECIPE_EXTENT_LO 0.15   /* bounding-box side / frame size */
#define RECIPE_EXTENT_HI 0.30
#define RECIPE_MIN_CONTRAST 0.9 /* shape vs background, RGB distance in [-1, 1] units */

#define TRIM_KEEP 0.85   /* fraction of pixels the trimmed plane fit keeps */
#define TRIM_ROUNDS 4    /* concentration steps after the plain fit */
#define EDGE_MIN_COVER 0.05 /* a column/row belongs to the object's extent from this coverage */

void vg_shapes_metrics_default(vg_shapes_metrics_config *cfg, int size) {
    const double S = size, d_lo = RECIPE_EXTENT_LO * S, d_hi = RECIPE_EXTENT_HI * S;
    const double a_min = 0.5 * d_lo * d_lo; /* the smallest triangle's area */
    memset(cfg, 0, sizeof *cfg);
    cfg->size = size;
    /* half the smallest shape-vs-background contrast the recipe allows */
    cfg->fg_threshold = (float)(0.5 * RECIPE_MIN_CONTRAST);
    cfg->speck_px = (int)fmax(1.0, floor(0.25 * a_min));
    cfg->area_min = (float)fmax(1.0, 0.5 * a_min);
    /* no pixel outside those the largest square touches can differ from the
     * background: at most (d + 2)^2 at any sub-pixel offset */
    cfg->area_max = (float)((d_hi + 2) * (d_hi + 2));
    /* the renderer's 4x4 supersampling quantises edges to 1/4 px, so a
     * centroid carries up to ~1/8 px of error and a second difference up
     * to ~0.5 px; measured max 0.43 px (docs/eval.md) */
    cfg->accel_tol = (float)fmax(0.6, 0.01 * S);
    /* at a bounce the estimated wall position adds its error twice;
     * measured max 1.52 px */
    cfg->bounce_tol = (float)fmax(2.0, 0.03 * S);
    cfg->wall_margin = 1.0f;
}

double vg_shapes_accel_median(const vg_shapes_summary *s) {
    int64_t total = 0;
    for (int b = 0; b < VG_SHAPES_ACCEL_BINS; b++) total += s->accel_hist[b];
    if (total == 0) return NAN;
    const double half = 0.5 * (double)total;
    int64_t below = 0;
    for (int b = 0; b < VG_SHAPES_ACCEL_BINS; b++) {
        const int64_t in = s->accel_hist[b];
        if (in > 0 && (double)(below + in) >= half) {
            if (b == VG_SHAPES_ACCEL_BINS - 1) return b * VG_SHAPES_ACCEL_BIN_PX;
            return (b + (half - (double)below) / (double)in) * VG_SHAPES_ACCEL_BIN_PX;
        }
        below += in;
    }
    return NAN; /* not reached */
}

const char *vg_shapes_verdict_name(vg_shapes_verdict v) {
    static const char *const names[VG_SHAPES_VERDICT_COUNT] = {"valid", "empty", "many", "small", "large", "nonfinite"};
    return (unsigned)v < VG_SHAPES_VERDICT_COUNT ? names[v] : "?";
}

/* One way to unfold an axis' track: q[0..t] and how well it fits. */
typedef struct track_path {
    int far;           /* a bounce happened far from its wall */
    double score;      /* max over steps of |accel| / its tolerance */
    double max_accel;  /* pixels, steps away from bounces */
    double max_bounce; /* pixels, the two steps around each bounce */
    int bounces;
    double *q;         /* T unfolded positions */
    unsigned char *cross; /* cross[t]: a wall between frames t-1 and t */
} track_path;

/* The geometry of one axis: the track, its walls, the object's distance
 * from the low / high border per frame. */
typedef struct axis_track {
    const double *p, *near_lo, *near_hi;
    double lo, L;
    int T;
} axis_track;

#define BEAM 16 /* unfoldings kept per axis, see score_axis */

/* Per-clip scratch: S * S entries each unless said otherwise. */
typedef struct scratch {
    double *dist;   /* colour distance from the background plane */
    double *sel;    /* copy for selection */
    int *label;     /* 0: background, k > 0: component k */
    int *stack;     /* flood fill */
    double *colmax, *rowmax; /* S each */
    double coef[3][3];       /* background plane per channel: a + b x + c y */
    double *track;           /* 3 T: one axis' track (axis_setup) */
    track_path pool[4 * BEAM]; /* beam search; sorting permutes their buffers */
    double *qbuf;            /* 4 BEAM T: the paths' q */
    unsigned char *crossbuf; /* 4 BEAM T: the paths' cross */
} scratch;

/* k-th smallest of a[0..n) (Hoare's selection; a is reordered). */
static double select_kth(double *a, int n, int k) {
    int lo = 0, hi = n - 1;
    while (lo < hi) {
        double pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                double t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* Least-squares plane per channel over pixels with dist <= cut (all when
 * cut is INFINITY), then dist = RGB distance of every pixel from it. */
static void fit_plane(const float *frame, int64_t chan, int S, double cut, scratch *s) {
    double m[6] = {0}, r[3][3] = {{0}}; /* sums of 1, x, y, xx, xy, yy; of v, xv, yv */
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int i = y * S + x;
            if (!(s->dist[i] <= cut)) continue;
            m[0] += 1, m[1] += x, m[2] += y, m[3] += (double)x * x, m[4] += (double)x * y, m[5] += (double)y * y;
            for (int c = 0; c < 3; c++) {
                double v = frame[c * chan + i];
                r[c][0] += v, r[c][1] += x * v, r[c][2] += y * v;
            }
        }
    /* normal equations [[n, sx, sy], [sx, sxx, sxy], [sy, sxy, syy]] by Cramer's rule */
    double A[3][3] = {{m[0], m[1], m[2]}, {m[1], m[3], m[4]}, {m[2], m[4], m[5]}};
    double det = A[0][0] * (A[1][1] * A[2][2] - A[1][2] * A[2][1]) - A[0][1] * (A[1][0] * A[2][2] - A[1][2] * A[2][0]) +
                 A[0][2] * (A[1][0] * A[2][1] - A[1][1] * A[2][0]);
    double(*coef)[3] = s->coef;
    for (int c = 0; c < 3; c++) {
        if (fabs(det) < 1e-9 * (m[0] * m[3] * m[5] + 1)) { /* degenerate inlier set: a constant */
            coef[c][0] = m[0] > 0 ? r[c][0] / m[0] : 0, coef[c][1] = coef[c][2] = 0;
            continue;
        }
        for (int k = 0; k < 3; k++) {
            double B[3][3];
            memcpy(B, A, sizeof B);
            for (int row = 0; row < 3; row++) B[row][k] = r[c][row];
            coef[c][k] = (B[0][0] * (B[1][1] * B[2][2] - B[1][2] * B[2][1]) - B[0][1] * (B[1][0] * B[2][2] - B[1][2] * B[2][0]) +
                          B[0][2] * (B[1][0] * B[2][1] - B[1][1] * B[2][0])) / det;
        }
    }
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int i = y * S + x;
            double d2 = 0;
            for (int c = 0; c < 3; c++) {
                double e = frame[c * chan + i] - (coef[c][0] + coef[c][1] * x + coef[c][2] * y);
                d2 += e * e;
            }
            s->dist[i] = sqrt(d2);
        }
}

/* How much of pixel i the object covers if the pixel is the blend
 * bg + a (fg - bg) (the renderer's anti-aliasing): a by projection onto
 * the colour segment from the background to the object, clamped to [0, 1]. */
static double coverage(const float *frame, int64_t chan, int i, int x, int y, const double fg[3], double coef[3][3]) {
    double num = 0, den = 0;
    for (int c = 0; c < 3; c++) {
        double bg = coef[c][0] + coef[c][1] * x + coef[c][2] * y, d = fg[c] - bg;
        num += (frame[c * chan + i] - bg) * d;
        den += d * d;
    }
    double a = den > 0 ? num / den : 0;
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

/* Measures frame (3 channels, `chan` floats apart, S x S). */
static void measure_frame(const vg_shapes_metrics_config *cfg, const float *frame, int64_t chan, scratch *s,
                          vg_shapes_frame *f) {
    const int S = cfg->size, N = S * S;
    memset(f, 0, sizeof *f);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < N; i++)
            if (!isfinite(frame[c * chan + i])) {
                f->verdict = VG_SHAPES_NONFINITE;
                return;
            }

    /* background: plain fit, then trimmed fits (keep the TRIM_KEEP closest) */
    for (int i = 0; i < N; i++) s->dist[i] = 0;
    fit_plane(frame, chan, S, INFINITY, s);
    const int keep = (int)(TRIM_KEEP * N);
    double cut = INFINITY;
    for (int round = 0; round < TRIM_ROUNDS; round++) {
        memcpy(s->sel, s->dist, (size_t)N * sizeof *s->sel);
        cut = select_kth(s->sel, N, keep - 1);
        fit_plane(frame, chan, S, cut, s);
    }
    const double tau = cfg->fg_threshold;
    double bg2 = 0;
    int nbg = 0;
    for (int i = 0; i < N; i++)
        if (s->dist[i] <= cut) bg2 += s->dist[i] * s->dist[i], nbg++;
    f->bg_rms = nbg ? (float)sqrt(bg2 / nbg) : 0.0f;

    /* 8-connected components of the foreground */
    memset(s->label, 0, (size_t)N * sizeof *s->label);
    int ncomp = 0, best = 0, best_area = 0;
    for (int i0 = 0; i0 < N; i0++) {
        if (s->label[i0] || !(s->dist[i0] > tau)) continue;
        int id = ++ncomp, top = 0, area = 0;
        s->label[i0] = id;
        s->stack[top++] = i0;
        while (top) {
            int i = s->stack[--top], x = i % S, y = i / S;
            area++;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= S || yy >= S) continue;
                    int j = yy * S + xx;
                    if (!s->label[j] && s->dist[j] > tau) {
                        s->label[j] = id;
                        s->stack[top++] = j;
                    }
                }
        }
        if (area >= cfg->speck_px)
            f->objects++;
        else
            f->specks++;
        if (area > best_area) best_area = area, best = id;
    }
    f->area = best_area;
    if (f->objects == 0)
        f->verdict = VG_SHAPES_EMPTY;
    else if (f->objects > 1)
        f->verdict = VG_SHAPES_MANY;
    else if (best_area < cfg->area_min)
        f->verdict = VG_SHAPES_SMALL;
    else if (best_area > cfg->area_max)
        f->verdict = VG_SHAPES_LARGE;
    else
        f->verdict = VG_SHAPES_VALID;
    if (!best) return;

    /* the largest component: bounding box, colour (that of its pixel
     * farthest from the background: fully covered), coverage-weighted
     * centroid over the box grown by one pixel (anti-aliased edge pixels
     * below the threshold count with their coverage) */
    int x0 = S, y0 = S, x1 = -1, y1 = -1, core = -1;
    for (int i = 0; i < N; i++)
        if (s->label[i] == best) {
            int x = i % S, y = i / S;
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
            if (core < 0 || s->dist[i] > s->dist[core]) core = i;
        }
    double fg[3];
    for (int c = 0; c < 3; c++) fg[c] = frame[c * chan + core];
    f->x0 = x0, f->y0 = y0, f->x1 = x1, f->y1 = y1;
    int gx0 = x0 > 0 ? x0 - 1 : 0, gy0 = y0 > 0 ? y0 - 1 : 0, gx1 = x1 < S - 1 ? x1 + 1 : S - 1, gy1 = y1 < S - 1 ? y1 + 1 : S - 1;
    double sw = 0, swx = 0, swy = 0;
    for (int x = gx0; x <= gx1; x++) s->colmax[x] = 0;
    for (int y = gy0; y <= gy1; y++) s->rowmax[y] = 0;
    for (int y = gy0; y <= gy1; y++)
        for (int x = gx0; x <= gx1; x++) {
            int i = y * S + x;
            if (s->label[i] && s->label[i] != best) continue;
            double w = coverage(frame, chan, i, x, y, fg, s->coef);
            sw += w, swx += w * x, swy += w * y;
            if (w > s->colmax[x]) s->colmax[x] = w;
            if (w > s->rowmax[y]) s->rowmax[y] = w;
        }
    f->cx = (float)(swx / sw);
    f->cy = (float)(swy / sw);
    /* sub-pixel extent: the outermost column (row) with some coverage; its
     * best-covered pixel says how far into it the object reaches */
    int a = gx0, b = gx1;
    while (a < x0 && s->colmax[a] < EDGE_MIN_COVER) a++;
    while (b > x1 && s->colmax[b] < EDGE_MIN_COVER) b--;
    f->edge[0] = (float)(a + 0.5 - s->colmax[a]);
    f->edge[2] = (float)(b - 0.5 + s->colmax[b]);
    a = gy0, b = gy1;
    while (a < y0 && s->rowmax[a] < EDGE_MIN_COVER) a++;
    while (b > y1 && s->rowmax[b] < EDGE_MIN_COVER) b--;
    f->edge[1] = (float)(a + 0.5 - s->rowmax[a]);
    f->edge[3] = (float)(b - 0.5 + s->rowmax[b]);
}

/* The two points nearest to `target` among the preimages of p under the
 * fold of the line onto [lo, lo + L] (reflections at both walls), which are
 * lo + (+-r + 2nL) with r = p - lo: the straight continuation and the
 * alternative across the nearest wall. */
static void nearest_preimages(double p, double lo, double L, double target, double out[2]) {
    double r = p - lo, u = target - lo, c[4];
    int k = 0;
    for (int sgn = -1; sgn <= 1; sgn += 2) {
        double base = sgn * r, n = floor((u - base) / (2 * L));
        c[k++] = base + n * 2 * L;
        c[k++] = base + (n + 1) * 2 * L;
    }
    for (int i = 1; i < 4; i++) /* sort the four by distance */
        for (int j = i; j > 0 && fabs(c[j] - u) < fabs(c[j - 1] - u); j--) {
            double tmp = c[j];
            c[j] = c[j - 1];
            c[j - 1] = tmp;
        }
    out[0] = lo + c[0];
    out[1] = lo + c[1];
}

/* Which wall segment q lies in: fold points lo + nL; n even is the low
 * wall, odd the high wall. */
static long fold_index(double q, double lo, double L) { return (long)floor((q - lo) / L); }

/* Sets q[t] on a path whose q[0..t-1] are set and updates its score. */
static void path_extend(const vg_shapes_metrics_config *cfg, const axis_track *a, track_path *r, int t, double qt) {
    r->q[t] = qt;
    long k0 = fold_index(r->q[t - 1], a->lo, a->L), k1 = fold_index(qt, a->lo, a->L);
    r->cross[t] = k0 != k1;
    if (r->cross[t]) {
        r->bounces += (int)labs(k1 - k0);
        /* the wall crossed is the fold point between them: the low wall for
         * an even index, the high wall for an odd one; the object must be
         * near it in one of the two frames */
        long n = k1 > k0 ? k1 : k0;
        const double *near = (n % 2 == 0) ? a->near_lo : a->near_hi;
        double half_step = 0.5 * fabs(qt - r->q[t - 1]);
        if (labs(k1 - k0) > 1 || fmin(near[t - 1], near[t]) > cfg->wall_margin + half_step) r->far = 1;
    }
    if (t >= 2) {
        double acc = fabs(qt - 2 * r->q[t - 1] + r->q[t - 2]);
        int bounce = r->cross[t - 1] || r->cross[t];
        double *worst = bounce ? &r->max_bounce : &r->max_accel;
        if (acc > *worst) *worst = acc;
        r->score = fmax(r->score, acc / (bounce ? cfg->bounce_tol : cfg->accel_tol));
    }
}

static void path_copy(track_path *dst, const track_path *src, int t) {
    double *q = dst->q;
    unsigned char *cross = dst->cross;
    *dst = *src;
    dst->q = q;
    dst->cross = cross;
    memcpy(q, src->q, (size_t)(t + 1) * sizeof *q);
    memcpy(cross, src->cross, (size_t)(t + 1) * sizeof *cross);
}

static int path_cmp(const void *x, const void *y) {
    const track_path *a = x, *b = y;
    if (a->far != b->far) return a->far - b->far;
    return (a->score > b->score) - (a->score < b->score);
}

/* Beam search over unfoldings: at each frame the track continues straight
 * or reflects at the nearest wall; keeps the BEAM best paths (each step
 * scored against the tolerances), so a wall estimate that is a fraction of
 * a pixel off cannot force the wrong choice the way a greedy pass would. */
static track_path score_axis(const vg_shapes_metrics_config *cfg, const axis_track *a, track_path *pool) {
    const int T = a->T;
    track_path *cur = pool, *next = pool + 2 * BEAM;
    int ncur = 0;
    /* q[1]: p[1] itself or its reflection at either wall */
    for (int sgn = -1; sgn <= 1; sgn += 2)
        for (int n = -1; n <= 1; n++) {
            double q1 = a->lo + sgn * (a->p[1] - a->lo) + 2 * n * a->L;
            if (fabs(q1 - a->p[0]) > a->L + 1 || ncur == 2 * BEAM) continue;
            track_path *r = &cur[ncur++];
            r->score = r->max_accel = r->max_bounce = 0;
            r->bounces = r->far = 0;
            r->q[0] = a->p[0];
            r->cross[0] = 0;
            path_extend(cfg, a, r, 1, q1);
        }
    for (int t = 2; t < T; t++) {
        int nnext = 0;
        for (int i = 0; i < ncur; i++) {
            double cand[2];
            nearest_preimages(a->p[t], a->lo, a->L, 2 * cur[i].q[t - 1] - cur[i].q[t - 2], cand);
            for (int c = 0; c < 2; c++) {
                path_copy(&next[nnext], &cur[i], t - 1);
                path_extend(cfg, a, &next[nnext++], t, cand[c]);
            }
        }
        qsort(next, (size_t)nnext, sizeof *next, path_cmp);
        track_path *tmp = cur;
        cur = next;
        next = tmp;
        ncur = nnext < BEAM ? nnext : BEAM;
    }
    if (ncur > 1) qsort(cur, (size_t)ncur, sizeof *cur, path_cmp);
    return cur[0];
}

/* Sets up axis `axis` (0 = x, 1 = y) of a clip whose frames are all valid:
 * the centroid track and where its walls are. buf: 3 T doubles. */
static axis_track axis_setup(const vg_shapes_metrics_config *cfg, const vg_shapes_frame *f, int T, int axis, double *buf) {
    const int S = cfg->size;
    double *p = buf, *near_lo = buf + T, *near_hi = buf + 2 * T;
    /* the centroid's position when the object touches the low (high) wall:
     * its offset from its own edge, averaged over the clip, from the wall
     * (pixel centres are integers, so the frame spans [-0.5, S - 0.5]) */
    double off_lo = 0, off_hi = 0;
    for (int t = 0; t < T; t++) {
        p[t] = axis ? f[t].cy : f[t].cx;
        off_lo += p[t] - f[t].edge[axis];
        off_hi += f[t].edge[axis + 2] - p[t];
        near_lo[t] = f[t].edge[axis] + 0.5;
        near_hi[t] = S - 0.5 - f[t].edge[axis + 2];
    }
    axis_track a = {p, near_lo, near_hi, -0.5 + off_lo / T, 0, T};
    a.L = S - 0.5 - off_hi / T - a.lo;
    if (!(a.L > 0.5)) { /* no room to move: no reflections */
        a.L = 1e9;
        a.lo = -a.L / 2;
    }
    return a;
}

static vg_status check_config(const vg_shapes_metrics_config *cfg, const char *fn) {
    if (!cfg) return vg_fail(VG_ERR_INVALID, "%s: NULL config", fn);
    if (cfg->size < 4 || cfg->size > 8192)
        return vg_fail(VG_ERR_INVALID, "%s: config size %d: expected 4 .. 8192", fn, cfg->size);
    if (!(cfg->fg_threshold > 0) || cfg->speck_px < 1 || !(cfg->area_min <= cfg->area_max) || !(cfg->accel_tol > 0) ||
        !(cfg->bounce_tol > 0) || !(cfg->wall_margin >= 0))
        return vg_fail(VG_ERR_INVALID, "%s: config thresholds must be positive with area_min <= area_max", fn);
    return VG_OK;
}

static int scratch_init(scratch *s, int S, int T) {
    size_t N = (size_t)S * S;
    s->dist = malloc(N * sizeof *s->dist);
    s->sel = malloc(N * sizeof *s->sel);
    s->label = malloc(N * sizeof *s->label);
    s->stack = malloc(N * sizeof *s->stack);
    s->colmax = malloc((2 * (size_t)S + 3 * (size_t)T) * sizeof *s->colmax);
    s->rowmax = s->colmax ? s->colmax + S : NULL;
    s->track = s->colmax ? s->colmax + 2 * S : NULL;
    double *q = s->qbuf = malloc(4 * BEAM * (size_t)T * sizeof *q);
    unsigned char *cross = s->crossbuf = malloc(4 * BEAM * (size_t)T);
    for (int i = 0; i < 4 * BEAM; i++) {
        s->pool[i].q = q ? q + (size_t)i * T : NULL;
        s->pool[i].cross = cross ? cross + (size_t)i * T : NULL;
    }
    return s->dist && s->sel && s->label && s->stack && s->colmax && q && cross;
}

static void scratch_free(scratch *s) {
    free(s->dist);
    free(s->sel);
    free(s->label);
    free(s->stack);
    free(s->colmax);
    free(s->qbuf);
    free(s->crossbuf);
}

/* The clip work with caller-provided scratch; f has T entries. */
static void measure_clip(const vg_shapes_metrics_config *cfg, const float *clip, int T, scratch *s, vg_shapes_frame *f,
                         vg_shapes_clip *out) {
    const int64_t plane = (int64_t)cfg->size * cfg->size, chan = plane * T;
    memset(out, 0, sizeof *out);
    for (int t = 0; t < T; t++) {
        measure_frame(cfg, clip + t * plane, chan, s, &f[t]);
        out->valid_frames += f[t].verdict == VG_SHAPES_VALID;
    }
    if (out->valid_frames < T) {
        out->max_accel = out->max_bounce = -1;
        return;
    }
    if (T < 3) {
        out->smooth = 1;
        return;
    }
    out->smooth = 1;
    for (int axis = 0; axis < 2; axis++) {
        axis_track a = axis_setup(cfg, f, T, axis, s->track);
        track_path best = score_axis(cfg, &a, s->pool);
        out->max_accel = (float)fmax(out->max_accel, best.max_accel);
        out->max_bounce = (float)fmax(out->max_bounce, best.max_bounce);
        out->bounces += best.bounces;
        out->smooth &= !best.far && best.score <= 1;
    }
}

vg_status vg_shapes_metrics_clip(const vg_shapes_metrics_config *cfg, const float *clip, int T, vg_shapes_frame *frames,
                                 vg_shapes_clip *out) {
    vg_status st = check_config(cfg, "vg_shapes_metrics_clip");
    if (st != VG_OK) return st;
    if (!clip || !out || T < 1 || T > 1 << 20) return vg_fail(VG_ERR_INVALID, "vg_shapes_metrics_clip: NULL clip/out or T %d < 1", T);
    scratch s;
    vg_shapes_frame *f = frames ? frames : malloc((size_t)T * sizeof *f);
    if (!f || !scratch_init(&s, cfg->size, T)) {
        if (f) scratch_free(&s);
        if (f != frames) free(f);
        return vg_fail(VG_ERR_NOMEM, "vg_shapes_metrics_clip: out of memory for %dx%d frames", cfg->size, cfg->size);
    }
    measure_clip(cfg, clip, T, &s, f, out);
    scratch_free(&s);
    if (f != frames) free(f);
    return VG_OK;
}

vg_status vg_shapes_metrics_batch(const vg_shapes_metrics_config *cfg, const float *clips, int n, int T,
                                  vg_shapes_clip *per_clip, vg_shapes_summary *summary) {
    vg_status st = check_config(cfg, "vg_shapes_metrics_batch");
    if (st != VG_OK) return st;
    int64_t clip_numel;
    if (!clips || !summary || n < 0 || T < 1 || !vg_mul_ok(3 * (int64_t)T, (int64_t)cfg->size * cfg->size, &clip_numel))
        return vg_fail(VG_ERR_INVALID, "vg_shapes_metrics_batch: NULL clips/summary, n %d < 0 or T %d < 1", n, T);
    vg_shapes_clip *res = per_clip ? per_clip : malloc((size_t)(n > 0 ? n : 1) * sizeof *res);
    int *verdicts = calloc((size_t)(n > 0 ? n : 1) * VG_SHAPES_VERDICT_COUNT, sizeof *verdicts);
    int failed = !res || !verdicts;
    if (!failed) {
#pragma omp parallel num_threads(vg_get_threads())
        {
            scratch s;
            vg_shapes_frame *f = malloc((size_t)T * sizeof *f);
            int ok = f && scratch_init(&s, cfg->size, T);
            if (!ok) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < n; i++) {
                if (!ok) continue;
                measure_clip(cfg, clips + i * clip_numel, T, &s, f, &res[i]);
                for (int t = 0; t < T; t++) verdicts[(int64_t)i * VG_SHAPES_VERDICT_COUNT + f[t].verdict]++;
            }
            if (f) scratch_free(&s);
            free(f);
        }
    }
    if (failed) {
        if (res != per_clip) free(res);
        free(verdicts);
        return vg_fail(VG_ERR_NOMEM, "vg_shapes_metrics_batch: out of memory for %d clips of %dx%d", n, cfg->size, cfg->size);
    }
    memset(summary, 0, sizeof *summary);
    summary->clips = n;
    summary->frames = (int64_t)n * T;
    for (int i = 0; i < n; i++) {
        summary->valid_frames += res[i].valid_frames;
        summary->valid_clips += res[i].valid_frames == T;
        summary->smooth_clips += res[i].smooth;
        if (res[i].valid_frames == T) {
            double bin = floor(fmax(0.0, res[i].max_accel) / VG_SHAPES_ACCEL_BIN_PX);
            summary->accel_hist[bin < VG_SHAPES_ACCEL_BINS - 1 ? (int)bin : VG_SHAPES_ACCEL_BINS - 1]++;
        }
        for (int v = 0; v < VG_SHAPES_VERDICT_COUNT; v++) summary->verdicts[v] += verdicts[(int64_t)i * VG_SHAPES_VERDICT_COUNT + v];
    }
    summary->valid_frac = n ? (double)summary->valid_frames / (double)summary->frames : 0.0;
    summary->smooth_frac = n ? (double)summary->smooth_clips / n : 0.0;
    if (res != per_clip) free(res);
    free(verdicts);
    return VG_OK;
}
