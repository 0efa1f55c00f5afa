/* digits_metrics.c — valid frames, conserved ink and smooth motion for the
 * moving-digit data sets from pixels alone, and the identity-over-time check
 * through a labels evaluator (see digits_metrics.h for the method,
 * docs/eval.md for the measurements behind the thresholds). Per frame:
 * intensity threshold, 8-connected components, a cover by digit squares.
 * Per clip: a tracker (clusters where the digits are apart, patch matching
 * where they touch, two motion layers when they never part) and per-axis
 * checks of the steps. Clips run in parallel
 * and each clip's result depends only on its pixels. */
#include "eval/digits_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/status.h"

/* The data sets' recipe (src/data/moving_mnist.c, docs/data.md). */
#define RECIPE_DIGIT 28       /* side of a digit's square */
#define RECIPE_STEP_PX 3.6    /* speed, pixels per frame, at every size */
#define MAX_DIGITS 2
#define APART_MAX_COMPONENTS 32 /* more components than this: never "apart" */

void vg_digits_metrics_default(vg_digits_metrics_config *cfg, int size, int num_digits, int fashion) {
    memset(cfg, 0, sizeof *cfg);
    cfg->size = size;
    cfg->num_digits = num_digits;
    cfg->digit = RECIPE_DIGIT;
    /* 2 px of slack on each side: Fashion items fill their 28 px, and a
     * 3x3 blur already made 72% of them too wide for 28 */
    cfg->square = RECIPE_DIGIT + 4;
    /* 10% of full ink: Fashion-MNIST items can be dark (at 25% some vanish
     * entirely); the background of real clips is exactly 0 */
    cfg->fg_threshold = 0.1f;
    cfg->speck_px = 10;
    /* real frames hold at most 17 (MNIST) / 34 (Fashion) speck pixels
     * (2000 clips of 16 frames, one or two digits; docs/eval.md) */
    cfg->speck_budget = fashion ? 64 : 32;
    /* one item's ink, measured over 20000 items: MNIST 21.7 .. 266.6,
     * Fashion 11.9 .. 579.5; the bounds leave room on both sides */
    cfg->ink_min = fashion ? 8.0f : 15.0f;
    cfg->ink_max = fashion ? 650.0f : 320.0f;
    cfg->ink_band = 0.1f;
    cfg->match_tol = 0.1f;
    cfg->pixel_tol = 0.1f;
    cfg->cover_min = 0.8f;
    cfg->search_px = 8;
    cfg->zero_tol = 0.5f;
    cfg->step_tol = 0.5f;
    cfg->wall_tol = 1.0f;
    /* MNIST digits are centred by their centre of mass: the ink centroid
     * sits 14.0 +- 1.6 px from the box's corner (20000 digits); Fashion
     * items are centred by their extent, their centroid wanders by up to
     * 10 px, so only the extent rule applies */
    cfg->center_offset = 14.0f;
    cfg->center_tol = fashion ? 0.0f : 2.5f;
    /* below 40 px the free range (size - 28) is under 3.3 steps: nearly
     * every step is clamped at a wall, too few unclamped ones to measure a
     * speed, so a frozen digit is not caught there */
    cfg->speed_min = size - RECIPE_DIGIT >= 12 ? (float)(RECIPE_STEP_PX - 1.0) : 0.0f;
    cfg->speed_max = (float)(RECIPE_STEP_PX + 1.0);
}

const char *vg_digits_verdict_name(vg_digits_verdict v) {
    static const char *const names[VG_DIGITS_VERDICT_COUNT] = {"valid", "empty",  "speckled", "spread",
                                                               "faint", "heavy", "nonfinite"};
    return (unsigned)v < VG_DIGITS_VERDICT_COUNT ? names[v] : "?";
}

const char *vg_digits_motion_name(vg_digits_motion m) {
    static const char *const names[VG_DIGITS_MOTION_COUNT] = {"smooth", "invalid", "lost", "turn", "uneven", "speed"};
    return (unsigned)m < VG_DIGITS_MOTION_COUNT ? names[m] : "?";
}

/* One connected component. */
typedef struct comp {
    int n, x0, y0, x1, y1, group;
    double ink, sx, sy;
} comp;

/* A digit's patch: its pixels in the last frame that showed it apart. */
typedef struct patch {
    int n;
    int *dx, *dy;     /* offsets from (ox, oy); square^2 entries each */
    float *v;         /* intensities */
    double energy;    /* sum of v^2 */
    double ink;       /* sum of v */
    int ox, oy;       /* where the patch sat */
    int w, h;         /* its bounding box size */
    double cx, cy;    /* its centroid then */
} patch;

/* Per-clip scratch. */
typedef struct scratch {
    float *a;                /* (T, S, S) intensities */
    unsigned char *group;    /* (T, S, S) 0: none or speck, 1 / 2: a group */
    unsigned char *own;      /* (T, S, S) layers: bit j set = explained by layer j's shift */
    int *label;              /* S * S */
    int *stack;              /* S * S */
    comp *comps;             /* S * S */
    patch pat[MAX_DIGITS];
    double *pos;             /* (MAX_DIGITS, T, 2) positions */
    double *ext;             /* (MAX_DIGITS, T, 4) ink extent lo x, lo y, hi x, hi y */
    unsigned char *done;     /* T */
    double *steps;           /* T */
    unsigned char *skip;     /* T */
} scratch;

static int inside(int x, int y, int x0, int y0, int D) { return x >= x0 && x < x0 + D && y >= y0 && y < y0 + D; }

/* Pixels between two boxes along the axis where they are farthest apart
 * (negative when they overlap in both). */
static int box_gap(int ax0, int ay0, int ax1, int ay1, int bx0, int by0, int bx1, int by1) {
    int gx = (bx0 > ax1 ? bx0 - ax1 : ax0 - bx1) - 1, gy = (by0 > ay1 ? by0 - ay1 : ay0 - by1) - 1;
    return gx > gy ? gx : gy;
}

static int find_root(int *parent, int i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
}

/* Two digits seen apart: the components, joined nearest first (single
 * linkage on the gaps between their boxes) into two clusters, each fitting a
 * square and holding at least ink_min. Sets the groups (comp.group 1 / 2),
 * f->apart, f->gap and the clusters' centroids and ink. A wrong split (one
 * cluster holding parts of both digits) is caught by the tracker, which
 * checks each cluster's ink against the digit's. */
static void split_apart(const vg_digits_metrics_config *cfg, scratch *s, int ncomp, vg_digits_frame *f) {
    int idx[APART_MAX_COMPONENTS], parent[APART_MAX_COMPONENTS], k = 0;
    for (int c = 0; c < ncomp; c++)
        if (s->comps[c].group > 0) idx[k] = c, parent[k] = k, k++;
    int clusters = k;
    while (clusters > 2) { /* join the closest pair of clusters (k is small) */
        int bi = -1, bj = -1, bg = 0;
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++) {
                if (find_root(parent, i) == find_root(parent, j)) continue;
                const comp *a = &s->comps[idx[i]], *b = &s->comps[idx[j]];
                int g = box_gap(a->x0, a->y0, a->x1, a->y1, b->x0, b->y0, b->x1, b->y1);
                if (bi < 0 || g < bg) bi = i, bj = j, bg = g;
            }
        parent[find_root(parent, bi)] = find_root(parent, bj);
        clusters--;
    }
    const int r0 = find_root(parent, 0);
    int x0[2] = {cfg->size, cfg->size}, y0[2] = {cfg->size, cfg->size}, x1[2] = {-1, -1}, y1[2] = {-1, -1};
    double ink[2] = {0, 0}, sx[2] = {0, 0}, sy[2] = {0, 0};
    for (int i = 0; i < k; i++) {
        const comp *c = &s->comps[idx[i]];
        int w = find_root(parent, i) == r0 ? 0 : 1;
        if (c->x0 < x0[w]) x0[w] = c->x0;
        if (c->y0 < y0[w]) y0[w] = c->y0;
        if (c->x1 > x1[w]) x1[w] = c->x1;
        if (c->y1 > y1[w]) y1[w] = c->y1;
        ink[w] += c->ink, sx[w] += c->sx, sy[w] += c->sy;
    }
    const int D = cfg->square;
    for (int w = 0; w < 2; w++)
        if (x1[w] - x0[w] >= D || y1[w] - y0[w] >= D || ink[w] < cfg->ink_min) return;
    const int gap = box_gap(x0[0], y0[0], x1[0], y1[0], x0[1], y0[1], x1[1], y1[1]);
    for (int i = 0; i < k; i++) s->comps[idx[i]].group = find_root(parent, i) == r0 ? 1 : 2;
    f->apart = 1;
    f->gap = gap;
    for (int w = 0; w < 2; w++)
        f->cx[w] = (float)(sx[w] / ink[w]), f->cy[w] = (float)(sy[w] / ink[w]), f->group_ink[w] = (float)ink[w];
}

/* Measures frame t; fills s->a[t], s->group[t] and f. */
static void measure_frame(const vg_digits_metrics_config *cfg, const float *clip, int C, int T, int t, scratch *s,
                          vg_digits_frame *f) {
    const int S = cfg->size, N = S * S, D = cfg->square;
    const int64_t plane = (int64_t)N, chan = plane * T;
    float *a = s->a + (int64_t)t * N;
    unsigned char *g = s->group + (int64_t)t * N;
    memset(f, 0, sizeof *f);
    f->x0 = f->y0 = S;
    f->x1 = f->y1 = -1;
    memset(g, 0, (size_t)N);
    int finite = 1;
    for (int i = 0; i < N; i++) {
        double v = 0;
        for (int c = 0; c < C; c++) v += clip[c * chan + t * plane + i];
        v = (v / C + 1) * 0.5;
        if (!isfinite(v)) finite = 0, v = 0;
        a[i] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
    }
    if (!finite) {
        f->verdict = VG_DIGITS_NONFINITE;
        return;
    }

    /* 8-connected components of the ink */
    const float tau = cfg->fg_threshold;
    memset(s->label, 0, (size_t)N * sizeof *s->label);
    int ncomp = 0;
    for (int i0 = 0; i0 < N; i0++) {
        if (s->label[i0] || !(a[i0] > tau)) continue;
        comp *c = &s->comps[ncomp++];
        *c = (comp){.x0 = S, .y0 = S, .x1 = -1, .y1 = -1};
        int top = 0;
        s->label[i0] = ncomp;
        s->stack[top++] = i0;
        while (top) {
            int i = s->stack[--top], x = i % S, y = i / S;
            c->n++;
            c->ink += a[i], c->sx += a[i] * x, c->sy += a[i] * y;
            if (x < c->x0) c->x0 = x;
            if (x > c->x1) c->x1 = x;
            if (y < c->y0) c->y0 = y;
            if (y > c->y1) c->y1 = y;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= S || yy >= S) continue;
                    int j = yy * S + xx;
                    if (!s->label[j] && a[j] > tau) {
                        s->label[j] = ncomp;
                        s->stack[top++] = j;
                    }
                }
        }
    }
    double sx = 0, sy = 0;
    for (int k = 0; k < ncomp; k++) {
        comp *c = &s->comps[k];
        if (c->n < cfg->speck_px) {
            f->speck_pixels += c->n;
            c->group = -1;
            continue;
        }
        f->objects++;
        f->ink += c->ink, sx += c->sx, sy += c->sy;
        if (c->x0 < f->x0) f->x0 = c->x0;
        if (c->y0 < f->y0) f->y0 = c->y0;
        if (c->x1 > f->x1) f->x1 = c->x1;
        if (c->y1 > f->y1) f->y1 = c->y1;
        c->group = 1;
    }
    if (f->objects == 0) {
        f->verdict = VG_DIGITS_EMPTY;
        return;
    }
    f->cx[0] = (float)(sx / f->ink);
    f->cy[0] = (float)(sy / f->ink);

    /* the cover: one square, or two at opposite corners of the ink's box */
    int fits = f->x1 - f->x0 < D && f->y1 - f->y0 < D;
    for (int diag = 0; !fits && cfg->num_digits >= 2 && diag < 2; diag++) {
        const int ax = diag ? f->x1 - D + 1 : f->x0, ay = f->y0;
        const int bx = diag ? f->x0 : f->x1 - D + 1, by = f->y1 - D + 1;
        int covered = 1;
        for (int i = 0; i < N && covered; i++) {
            int l = s->label[i];
            if (l && s->comps[l - 1].group > 0 && !inside(i % S, i / S, ax, ay, D) && !inside(i % S, i / S, bx, by, D))
                covered = 0;
        }
        fits = covered;
    }
    if (fits && cfg->num_digits >= 2 && f->objects >= 2 && f->objects <= APART_MAX_COMPONENTS) split_apart(cfg, s, ncomp, f);
    for (int i = 0; i < N; i++)
        if (s->label[i] && s->comps[s->label[i] - 1].group > 0) g[i] = (unsigned char)s->comps[s->label[i] - 1].group;
    if (!fits)
        f->verdict = VG_DIGITS_SPREAD;
    else if (f->speck_pixels > cfg->speck_budget)
        f->verdict = VG_DIGITS_SPECKLED;
    else if (f->ink < cfg->ink_min)
        f->verdict = VG_DIGITS_FAINT;
    else if (f->ink > cfg->num_digits * cfg->ink_max)
        f->verdict = VG_DIGITS_HEAVY;
    else
        f->verdict = VG_DIGITS_VALID;
}

/* Digit j's patch from group grp of frame t; its position and extent there. */
static void patch_take(const vg_digits_metrics_config *cfg, scratch *s, int T, int t, int grp, int j) {
    const int S = cfg->size, N = S * S;
    const float *a = s->a + (int64_t)t * N;
    const unsigned char *g = s->group + (int64_t)t * N;
    patch *p = &s->pat[j];
    int x0 = S, y0 = S, x1 = -1, y1 = -1;
    double w = 0, wx = 0, wy = 0;
    for (int i = 0; i < N; i++)
        if (g[i] == grp) {
            int x = i % S, y = i / S;
            if (x < x0) x0 = x;
            if (x > x1) x1 = x;
            if (y < y0) y0 = y;
            if (y > y1) y1 = y;
            w += a[i], wx += a[i] * x, wy += a[i] * y;
        }
    p->n = 0;
    p->energy = p->ink = 0;
    p->ox = x0, p->oy = y0, p->w = x1 - x0 + 1, p->h = y1 - y0 + 1;
    p->cx = wx / w, p->cy = wy / w;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            int i = y * S + x;
            if (g[i] != grp) continue;
            p->dx[p->n] = x - x0, p->dy[p->n] = y - y0, p->v[p->n] = a[i];
            p->energy += (double)a[i] * a[i];
            p->ink += a[i];
            p->n++;
        }
    double *pos = s->pos + ((int64_t)j * T + t) * 2, *ext = s->ext + ((int64_t)j * T + t) * 4;
    pos[0] = p->cx, pos[1] = p->cy;
    ext[0] = x0, ext[1] = y0, ext[2] = x1, ext[3] = y1;
}

/* Finds digit j's patch in frame t near the predicted centroid (px, py):
 * 0 when the best place leaves a residual above match_tol. */
static int patch_find(const vg_digits_metrics_config *cfg, scratch *s, int T, int t, int j, double px, double py) {
    const int S = cfg->size, R = cfg->search_px;
    const float *a = s->a + (int64_t)t * S * S;
    const patch *p = &s->pat[j];
    const int bx = (int)lround(px - p->cx), by = (int)lround(py - p->cy); /* predicted shift */
    double best = INFINITY;
    int best_d = 0, sx_best = bx, sy_best = by;
    for (int sy = by - R; sy <= by + R; sy++)
        for (int sx = bx - R; sx <= bx + R; sx++) {
            double r = 0;
            for (int k = 0; k < p->n && r < best + 1e-12 * p->energy; k++) {
                int x = p->ox + p->dx[k] + sx, y = p->oy + p->dy[k] + sy;
                double f = x >= 0 && y >= 0 && x < S && y < S ? a[y * S + x] : 0.0;
                double e = p->v[k] - f;
                if (e > 0) r += e * e;
            }
            int d = abs(sx - bx) + abs(sy - by);
            if (r < best - 1e-12 * p->energy || (r <= best + 1e-12 * p->energy && d < best_d)) {
                best = r < best ? r : best;
                best_d = d, sx_best = sx, sy_best = sy;
            }
        }
    double *pos = s->pos + ((int64_t)j * T + t) * 2, *ext = s->ext + ((int64_t)j * T + t) * 4;
    pos[0] = p->cx + sx_best, pos[1] = p->cy + sy_best;
    ext[0] = p->ox + sx_best, ext[1] = p->oy + sy_best;
    ext[2] = ext[0] + p->w - 1, ext[3] = ext[1] + p->h - 1;
    return best <= cfg->match_tol * p->energy;
}

/* Tracks every digit through a clip whose frames are all valid: s->pos and
 * s->ext, *tracks of them. One digit, or two never seen apart: the centroid
 * of all the ink (*tracks = 1; the caller follows two such digits as
 * layers instead). Returns SMOOTH (tracked) or LOST. */
static vg_digits_motion track(const vg_digits_metrics_config *cfg, const vg_digits_frame *f, int T, scratch *s, int *tracks) {
    /* start where the digits are farthest apart */
    int t0 = -1;
    for (int t = 0; cfg->num_digits >= 2 && t < T; t++)
        if (f[t].apart && (t0 < 0 || f[t].gap > f[t0].gap)) t0 = t;
    if (t0 < 0) {
        *tracks = 1;
        for (int t = 0; t < T; t++) {
            double *pos = s->pos + (int64_t)t * 2, *ext = s->ext + (int64_t)t * 4;
            pos[0] = f[t].cx[0], pos[1] = f[t].cy[0];
            ext[0] = f[t].x0, ext[1] = f[t].y0, ext[2] = f[t].x1, ext[3] = f[t].y1;
        }
        return VG_DIGITS_SMOOTH;
    }
    *tracks = 2;
    memset(s->done, 0, (size_t)T);
    s->done[t0] = 1;
    for (int dir = 1; dir >= -1; dir -= 2) {
        for (int j = 0; j < 2; j++) patch_take(cfg, s, T, t0, 1 + j, j); /* each direction starts from t0's patches */
        for (int t = t0 + dir; t >= 0 && t < T; t += dir) {
            double pred[2][2];
            for (int j = 0; j < 2; j++) {
                const double *p1 = s->pos + ((int64_t)j * T + t - dir) * 2;
                int t2 = t - 2 * dir;
                for (int k = 0; k < 2; k++) pred[j][k] = p1[k];
                if (t2 >= 0 && t2 < T && s->done[t2]) {
                    const double *p2 = s->pos + ((int64_t)j * T + t2) * 2;
                    for (int k = 0; k < 2; k++) pred[j][k] += p1[k] - p2[k];
                }
            }
            /* apart: the groups are the digits when each matches a digit's
             * ink (a wrong split of touching digits does not); else (or
             * touching) each digit's patch is looked for */
            int use_groups = f[t].apart;
            int swap = 0;
            if (use_groups) {
                double d_keep = 0, d_swap = 0;
                for (int j = 0; j < 2; j++) {
                    d_keep += hypot(f[t].cx[j] - pred[j][0], f[t].cy[j] - pred[j][1]);
                    d_swap += hypot(f[t].cx[1 - j] - pred[j][0], f[t].cy[1 - j] - pred[j][1]);
                }
                swap = d_swap < d_keep;
                for (int j = 0; j < 2; j++)
                    if (fabs(f[t].group_ink[swap ? 1 - j : j] - s->pat[j].ink) > cfg->ink_band * s->pat[j].ink) use_groups = 0;
            }
            if (use_groups) {
                for (int j = 0; j < 2; j++) patch_take(cfg, s, T, t, swap ? 2 - j : 1 + j, j);
            } else {
                for (int j = 0; j < 2; j++)
                    if (!patch_find(cfg, s, T, t, j, pred[j][0], pred[j][1])) return VG_DIGITS_MOTION_LOST;
            }
            s->done[t] = 1;
        }
    }
    return VG_DIGITS_SMOOTH;
}

/* Pixels of frame t's ink explained by frame t-1 moved by (sx, sy): equal
 * to within pixel_tol (outside the canvas counts as 0). excl: a shift whose
 * pixels do not count (NULL: none). mark: when not NULL, sets `bit` in
 * own[t] on them and in own[t-1] on their sources. */
static int explained(const vg_digits_metrics_config *cfg, scratch *s, int t, const int *ink, int nink, int sx, int sy,
                     const int *excl, unsigned char bit, int mark) {
    const int S = cfg->size, N = S * S;
    const float *a1 = s->a + (int64_t)t * N, *a0 = a1 - N;
    unsigned char *own = s->own + (int64_t)t * N;
    int n = 0;
    for (int k = 0; k < nink; k++) {
        const int i = ink[k], x = i % S, y = i / S;
        int X = x - sx, Y = y - sy;
        float v0 = X >= 0 && Y >= 0 && X < S && Y < S ? a0[Y * S + X] : 0.0f;
        if (!(fabsf(a1[i] - v0) <= cfg->pixel_tol)) continue;
        if (excl) {
            X = x - excl[0], Y = y - excl[1];
            float e0 = X >= 0 && Y >= 0 && X < S && Y < S ? a0[Y * S + X] : 0.0f;
            if (fabsf(a1[i] - e0) <= cfg->pixel_tol) continue;
        }
        n++;
        if (mark) {
            own[i] |= bit;
            X = x - sx, Y = y - sy;
            if (X >= 0 && Y >= 0 && X < S && Y < S) own[Y * S + X - N] |= bit;
        }
    }
    return n;
}

/* Two digits never seen apart, so never seen alone: each frame's ink must
 * be explained as the previous frame's moved by at most two shifts, the
 * digits' layers (under max overlap every unoccluded ink pixel of a
 * translating digit reappears exactly). The shift with the most explained
 * pixels is one layer, the one explaining most of the rest the other; a
 * shift joins the layer whose pixels its sources overlap most; less than
 * cover_min of the ink explained: LOST. Fills s->pos with each layer's
 * summed shifts and s->ext with the extent of its explained pixels (a part
 * of the digit, so the wall rule is the weaker for it). */
static vg_digits_motion layers(const vg_digits_metrics_config *cfg, int T, scratch *s) {
    const int S = cfg->size, N = S * S, R = cfg->search_px;
    memset(s->own, 0, (size_t)T * N);
    for (int j = 0; j < 2; j++) s->pos[(int64_t)j * T * 2] = s->pos[(int64_t)j * T * 2 + 1] = 0;
    for (int t = 1; t < T; t++) {
        const unsigned char *g = s->group + (int64_t)t * N;
        int *list = s->stack, ink = 0; /* frame t's ink pixels */
        for (int i = 0; i < N; i++)
            if (g[i]) list[ink++] = i;
        int sh[2][2] = {{0, 0}, {0, 0}}, cnt[2] = {-1, -1};
        for (int k = 0; k < 2; k++)
            for (int sy = -R; sy <= R; sy++)
                for (int sx = -R; sx <= R; sx++) {
                    if (k == 1 && sx == sh[0][0] && sy == sh[0][1]) continue;
                    int c = explained(cfg, s, t, list, ink, sx, sy, k ? sh[0] : NULL, 0, 0);
                    if (c > cnt[k]) cnt[k] = c, sh[k][0] = sx, sh[k][1] = sy;
                }
        if (cnt[1] < cfg->speck_px) { /* one motion explains it: both layers share it */
            sh[1][0] = sh[0][0], sh[1][1] = sh[0][1], cnt[1] = 0;
        }
        if (cnt[0] + cnt[1] < cfg->cover_min * ink) return VG_DIGITS_MOTION_LOST;
        /* which layer each shift continues: overlap of its sources with the
         * layers' pixels in frame t-1 (t = 1: first come) */
        int swap = 0;
        if (t > 1) {
            int o[2][2] = {{0, 0}, {0, 0}};
            const unsigned char *prev = s->own + (int64_t)(t - 1) * N;
            for (int k = 0; k < 2; k++) {
                for (int q = 0; q < ink; q++) {
                    const int i = list[q];
                    int x = i % S - sh[k][0], y = i / S - sh[k][1];
                    if (x < 0 || y < 0 || x >= S || y >= S) continue;
                    const float *a1 = s->a + (int64_t)t * N, *a0 = a1 - N;
                    if (!(fabsf(a1[i] - a0[y * S + x]) <= cfg->pixel_tol)) continue;
                    for (int L = 0; L < 2; L++) o[k][L] += prev[y * S + x] == 1 << L; /* its pixels only */
                }
            }
            const int keep_px = o[0][0] + o[1][1], swap_px = o[0][1] + o[1][0];
            if (abs(keep_px - swap_px) > cfg->speck_px)
                swap = swap_px > keep_px;
            else { /* no pixel evidence (layers sharing one shift): the closer velocities */
                double dk = 0, ds = 0;
                for (int k = 0; k < 2; k++) {
                    const double *pa = s->pos + ((int64_t)k * T + t - 1) * 2, *pb = pa - 2;
                    const double *qa = s->pos + ((int64_t)(1 - k) * T + t - 1) * 2, *qb = qa - 2;
                    dk += hypot(sh[k][0] - (pa[0] - pb[0]), sh[k][1] - (pa[1] - pb[1]));
                    ds += hypot(sh[k][0] - (qa[0] - qb[0]), sh[k][1] - (qa[1] - qb[1]));
                }
                swap = ds < dk;
            }
        }
        memset(s->own + (int64_t)t * N, 0, (size_t)N);
        for (int k = 0; k < 2; k++) {
            const int L = swap ? 1 - k : k;
            explained(cfg, s, t, list, ink, sh[k][0], sh[k][1], k && cnt[1] ? sh[0] : NULL, (unsigned char)(1 << L), 1);
            const double *p1 = s->pos + ((int64_t)L * T + t - 1) * 2;
            double *p = s->pos + ((int64_t)L * T + t) * 2;
            p[0] = p1[0] + sh[k][0], p[1] = p1[1] + sh[k][1];
        }
    }
    for (int L = 0; L < 2; L++)
        for (int t = 0; t < T; t++) {
            const unsigned char *own = s->own + (int64_t)t * N;
            int x0 = S, y0 = S, x1 = -1, y1 = -1;
            for (int i = 0; i < N; i++)
                if (own[i] == 1 << L) { /* pixels of this layer alone */
                    int x = i % S, y = i / S;
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                }
            double *ext = s->ext + ((int64_t)L * T + t) * 4;
            ext[0] = x0, ext[1] = y0, ext[2] = x1, ext[3] = y1;
        }
    return VG_DIGITS_SMOOTH;
}

/* Whether a digit whose ink extends over [lo, hi] along an axis, with
 * centroid q, can touch the low (sgn < 0) or high (sgn > 0) wall, to
 * within wall_tol plus half the step d it arrived with (a reflection between
 * two frames leaves the digit up to half a step short of the wall; the
 * recipe's clamp puts it there exactly). */
static int at_wall(const vg_digits_metrics_config *cfg, double q, double lo, double hi, int sgn, double d) {
    const double D = cfg->digit, far = cfg->size - cfg->digit; /* box corner at the high wall */
    const double tol = cfg->wall_tol + 0.5 * fabs(d);
    if (sgn < 0) {
        if (hi - (D - 1) > tol) return 0; /* a box at 0 cannot hold the ink */
        if (cfg->center_tol > 0 && q - cfg->center_offset > cfg->center_tol + tol - cfg->wall_tol) return 0;
    } else {
        if (lo < far - tol) return 0;
        if (cfg->center_tol > 0 && far - (q - cfg->center_offset) > cfg->center_tol + tol - cfg->wall_tol) return 0;
    }
    return 1;
}

/* The steps of digit j along axis ax: TURN, UNEVEN or SMOOTH; *spread the
 * band of |step| used, *mean the mean |step| away from bounces. */
static vg_digits_motion check_axis(const vg_digits_metrics_config *cfg, scratch *s, int T, int j, int ax, int any_turn,
                                   double *spread, double *mean) {
    const double *pos = s->pos + (int64_t)j * T * 2, *ext = s->ext + (int64_t)j * T * 4;
    double *d = s->steps;
    unsigned char *skip = s->skip;
    *spread = *mean = 0;
    memset(skip, 0, (size_t)T);
    int prev = 0;
    for (int t = 1; t < T; t++) {
        d[t] = pos[t * 2 + ax] - pos[(t - 1) * 2 + ax];
        /* a step that touches a wall may be short: one arriving there (the
         * recipe clamps the position at the wall), or one leaving it (a
         * reflection between two frames shortens the step after it) */
        const double q1 = pos[t * 2 + ax], lo1 = ext[t * 4 + ax], hi1 = ext[t * 4 + 2 + ax];
        const double q0 = pos[(t - 1) * 2 + ax], lo0 = ext[(t - 1) * 4 + ax], hi0 = ext[(t - 1) * 4 + 2 + ax];
        for (int sgn = -1; sgn <= 1; sgn += 2) {
            const int towards = fabs(d[t]) <= cfg->zero_tol || (d[t] > 0) == (sgn > 0);
            const int away = fabs(d[t]) <= cfg->zero_tol || (d[t] > 0) != (sgn > 0);
            if ((towards && at_wall(cfg, q1, lo1, hi1, sgn, d[t])) || (away && at_wall(cfg, q0, lo0, hi0, sgn, d[t])))
                skip[t] = 1;
        }
        if (fabs(d[t]) <= cfg->zero_tol) continue;
        if (prev && (d[t] > 0) != (d[prev] > 0)) {
            /* a bounce: the digit is at its extreme in frame prev */
            int sgn = d[prev] > 0 ? 1 : -1;
            if (!any_turn && !at_wall(cfg, pos[prev * 2 + ax], ext[prev * 4 + ax], ext[prev * 4 + 2 + ax], sgn, d[t]))
                return VG_DIGITS_MOTION_TURN;
            for (int u = any_turn ? prev : prev + 1; u < t; u++) skip[u] = 1; /* zero steps at the wall */
        }
        prev = t;
    }
    double lo = INFINITY, hi = -INFINITY, sum = 0;
    int n = 0;
    for (int t = 1; t < T; t++) {
        if (skip[t]) continue;
        double m = fabs(d[t]);
        lo = fmin(lo, m), hi = fmax(hi, m), sum += m, n++;
    }
    *spread = n ? hi - lo : 0;
    *mean = n ? sum / n : 0;
    if (!n) /* every step arrives at a wall: the speed from all of them */
        for (int t = 1; t < T; t++) *mean += fabs(d[t]) / (T - 1);
    /* short steps at the walls are allowed, long ones not: no step may
     * exceed the slowest unclamped one by more than the band */
    for (int t = 1; t < T && n; t++)
        if (fabs(d[t]) - lo > 1 + cfg->step_tol) return VG_DIGITS_MOTION_UNEVEN;
    return VG_DIGITS_SMOOTH;
}

static vg_status check_config(const vg_digits_metrics_config *cfg, const char *fn) {
    if (!cfg) return vg_fail(VG_ERR_INVALID, "%s: NULL config", fn);
    if (cfg->size < 8 || cfg->size > 8192 || cfg->digit < 2 || cfg->digit > cfg->size || cfg->square < cfg->digit)
        return vg_fail(VG_ERR_INVALID,
                       "%s: config size %d, digit %d, square %d: expected 8 <= size <= 8192, 2 <= digit <= size, square >= digit",
                       fn, cfg->size, cfg->digit, cfg->square);
    if (cfg->num_digits < 1 || cfg->num_digits > MAX_DIGITS)
        return vg_fail(VG_ERR_INVALID, "%s: config num_digits %d: expected 1 or 2", fn, cfg->num_digits);
    if (!(cfg->fg_threshold > 0 && cfg->fg_threshold < 1) || cfg->speck_px < 1 || cfg->speck_budget < 0 ||
        !(cfg->ink_min <= cfg->ink_max) || !(cfg->ink_band >= 0 && cfg->ink_band < 1) || !(cfg->match_tol >= 0) ||
        cfg->search_px < 0 || !(cfg->zero_tol >= 0) || !(cfg->step_tol >= 0) || !(cfg->wall_tol >= 0) ||
        !(cfg->center_tol >= 0) || !(cfg->speed_min <= cfg->speed_max))
        return vg_fail(VG_ERR_INVALID, "%s: config thresholds out of range", fn);
    return VG_OK;
}

static int scratch_init(scratch *s, int S, int T, int D) {
    const size_t N = (size_t)S * S;
    memset(s, 0, sizeof *s);
    s->a = malloc((size_t)T * N * sizeof *s->a);
    s->group = malloc((size_t)T * N);
    s->own = malloc((size_t)T * N);
    s->label = malloc(N * sizeof *s->label);
    s->stack = malloc(N * sizeof *s->stack);
    s->comps = malloc(N * sizeof *s->comps);
    s->pos = malloc((size_t)MAX_DIGITS * T * 2 * sizeof *s->pos);
    s->ext = malloc((size_t)MAX_DIGITS * T * 4 * sizeof *s->ext);
    s->steps = malloc((size_t)T * sizeof *s->steps);
    s->done = malloc((size_t)T);
    s->skip = malloc((size_t)T);
    int ok = s->a && s->group && s->own && s->label && s->stack && s->comps && s->pos && s->ext && s->steps && s->done && s->skip;
    for (int j = 0; j < MAX_DIGITS; j++) {
        s->pat[j].dx = malloc((size_t)D * D * sizeof(int));
        s->pat[j].dy = malloc((size_t)D * D * sizeof(int));
        s->pat[j].v = malloc((size_t)D * D * sizeof(float));
        ok = ok && s->pat[j].dx && s->pat[j].dy && s->pat[j].v;
    }
    return ok;
}

static void scratch_free(scratch *s) {
    free(s->a);
    free(s->group);
    free(s->own);
    free(s->label);
    free(s->stack);
    free(s->comps);
    free(s->pos);
    free(s->ext);
    free(s->steps);
    free(s->done);
    free(s->skip);
    for (int j = 0; j < MAX_DIGITS; j++) {
        free(s->pat[j].dx);
        free(s->pat[j].dy);
        free(s->pat[j].v);
    }
}

/* The clip work with caller-provided scratch; f has T entries. */
static void measure_clip(const vg_digits_metrics_config *cfg, const float *clip, int C, int T, scratch *s, vg_digits_frame *f,
                         vg_digits_clip *out) {
    memset(out, 0, sizeof *out);
    out->ink_ratio = out->step_spread = -1;
    out->speed[0] = out->speed[1] = -1;
    for (int t = 0; t < T; t++) {
        measure_frame(cfg, clip, C, T, t, s, &f[t]);
        out->valid_frames += f[t].verdict == VG_DIGITS_VALID;
    }
    if (out->valid_frames < T) {
        out->motion = VG_DIGITS_MOTION_INVALID;
        return;
    }

    /* ink: the reference is the most ink of a frame whose two digits' boxes
     * are disjoint (one digit: any frame), where nothing can hide; where
     * they touch, overlap by max may hide up to half of it */
    const int two = cfg->num_digits >= 2;
    int any_clear = 0;
    for (int t = 0; t < T; t++) any_clear |= f[t].apart && f[t].gap >= 0;
    double ref = 0;
    for (int t = 0; t < T; t++)
        if (!two || !any_clear || (f[t].apart && f[t].gap >= 0)) ref = fmax(ref, f[t].ink);
    double ratio = INFINITY;
    int conserved = 1;
    const double band = cfg->ink_band;
    for (int t = 0; t < T; t++) {
        if (!two || (f[t].apart && f[t].gap >= 0)) {
            ratio = fmin(ratio, f[t].ink / ref);
            conserved &= f[t].ink >= (1 - band) * ref;
        } else {
            conserved &= f[t].ink >= 0.5 * (1 - band) * ref && f[t].ink <= (1 + band) * ref;
        }
    }
    out->ink_conserved = conserved;
    out->ink_ratio = (float)(isfinite(ratio) ? ratio : 1.0);

    if (T < 3) {
        out->smooth = 1;
        return;
    }
    int tracks = 0;
    vg_digits_motion m = track(cfg, f, T, s, &tracks);
    out->as_one = cfg->num_digits > 1 && tracks == 1;
    vg_digits_metrics_config lcfg = *cfg;
    const vg_digits_metrics_config *acfg = cfg;
    if (out->as_one) {
        m = layers(cfg, T, s);
        tracks = 2;
        lcfg.center_tol = 0; /* layers: positions are relative, the extent rule only */
        acfg = &lcfg;
    }
    double spread = 0;
    for (int j = 0; m == VG_DIGITS_SMOOTH && j < tracks; j++) {
        double v[2];
        for (int ax = 0; ax < 2 && m == VG_DIGITS_SMOOTH; ax++) {
            double sp;
            m = check_axis(acfg, s, T, j, ax, out->as_one, &sp, &v[ax]);
            spread = fmax(spread, sp);
        }
        if (m != VG_DIGITS_SMOOTH) break;
        out->speed[j] = (float)hypot(v[0], v[1]);
        if (!(out->speed[j] >= cfg->speed_min && out->speed[j] <= cfg->speed_max)) m = VG_DIGITS_MOTION_SPEED;
    }
    out->step_spread = (float)spread;
    out->motion = m;
    out->smooth = m == VG_DIGITS_SMOOTH;
}

vg_status vg_digits_metrics_clip(const vg_digits_metrics_config *cfg, const float *clip, int C, int T,
                                 vg_digits_frame *frames, vg_digits_clip *out) {
    vg_status st = check_config(cfg, "vg_digits_metrics_clip");
    if (st != VG_OK) return st;
    if (!clip || !out || (C != 1 && C != 3) || T < 1 || T > 1 << 16)
        return vg_fail(VG_ERR_INVALID, "vg_digits_metrics_clip: NULL clip/out, C %d (expected 1 or 3) or T %d < 1", C, T);
    scratch s;
    vg_digits_frame *f = frames ? frames : malloc((size_t)T * sizeof *f);
    int ok = f && scratch_init(&s, cfg->size, T, cfg->square);
    if (ok) measure_clip(cfg, clip, C, T, &s, f, out);
    if (f) scratch_free(&s);
    if (f != frames) free(f);
    return ok ? VG_OK
              : vg_fail(VG_ERR_NOMEM, "vg_digits_metrics_clip: out of memory for %d frames of %dx%d", T, cfg->size, cfg->size);
}

void vg_digits_summary_add(vg_digits_summary *a, const vg_digits_summary *b) {
    a->clips += b->clips;
    a->frames += b->frames;
    a->valid_frames += b->valid_frames;
    a->valid_clips += b->valid_clips;
    a->ink_clips += b->ink_clips;
    a->smooth_clips += b->smooth_clips;
    a->as_one_clips += b->as_one_clips;
    a->as_one_smooth += b->as_one_smooth;
    for (int k = 0; k < VG_DIGITS_VERDICT_COUNT; k++) a->verdicts[k] += b->verdicts[k];
    for (int k = 0; k < VG_DIGITS_MOTION_COUNT; k++) a->motion[k] += b->motion[k];
    a->valid_frac = a->frames ? (double)a->valid_frames / (double)a->frames : 0;
    a->ink_frac = a->clips ? (double)a->ink_clips / (double)a->clips : 0;
    a->smooth_frac = a->clips ? (double)a->smooth_clips / (double)a->clips : 0;
}

vg_status vg_digits_metrics_batch(const vg_digits_metrics_config *cfg, const float *clips, int n, int C, int T,
                                  vg_digits_clip *per_clip, vg_digits_summary *summary) {
    vg_status st = check_config(cfg, "vg_digits_metrics_batch");
    if (st != VG_OK) return st;
    int64_t clip_numel;
    if (!clips || !summary || n < 0 || (C != 1 && C != 3) || T < 1 || T > 1 << 16 ||
        !vg_mul_ok((int64_t)C * T, (int64_t)cfg->size * cfg->size, &clip_numel))
        return vg_fail(VG_ERR_INVALID, "vg_digits_metrics_batch: NULL clips/summary, n %d < 0, C %d (expected 1 or 3) or T %d < 1",
                       n, C, T);
    vg_digits_clip *res = per_clip ? per_clip : malloc((size_t)(n > 0 ? n : 1) * sizeof *res);
    int *verdicts = calloc((size_t)(n > 0 ? n : 1) * VG_DIGITS_VERDICT_COUNT, sizeof *verdicts);
    int failed = !res || !verdicts;
    if (!failed) {
#pragma omp parallel num_threads(vg_get_threads())
        {
            scratch s;
            vg_digits_frame *f = malloc((size_t)T * sizeof *f);
            int ok = f && scratch_init(&s, cfg->size, T, cfg->square);
            if (!ok) {
#pragma omp atomic write
                failed = 1;
            }
#pragma omp for schedule(dynamic, 1)
            for (int i = 0; i < n; i++) {
                if (!ok) continue;
                measure_clip(cfg, clips + i * clip_numel, C, T, &s, f, &res[i]);
                for (int t = 0; t < T; t++) verdicts[(int64_t)i * VG_DIGITS_VERDICT_COUNT + f[t].verdict]++;
            }
            if (f) scratch_free(&s);
            free(f);
        }
    }
    if (failed) {
        if (res != per_clip) free(res);
        free(verdicts);
        return vg_fail(VG_ERR_NOMEM, "vg_digits_metrics_batch: out of memory for %d clips of %dx%d", n, cfg->size, cfg->size);
    }
    vg_digits_summary sum = {0};
    sum.clips = n;
    sum.frames = (int64_t)n * T;
    for (int i = 0; i < n; i++) {
        sum.valid_frames += res[i].valid_frames;
        sum.valid_clips += res[i].valid_frames == T;
        sum.ink_clips += res[i].ink_conserved;
        sum.smooth_clips += res[i].smooth;
        sum.as_one_clips += res[i].as_one;
        sum.as_one_smooth += res[i].as_one && res[i].smooth;
        sum.motion[res[i].motion]++;
        for (int v = 0; v < VG_DIGITS_VERDICT_COUNT; v++) sum.verdicts[v] += verdicts[(int64_t)i * VG_DIGITS_VERDICT_COUNT + v];
    }
    memset(summary, 0, sizeof *summary);
    vg_digits_summary_add(summary, &sum);
    if (res != per_clip) free(res);
    free(verdicts);
    return VG_OK;
}

void vg_digits_window(const float *clip, int C, int T, int64_t HW, int start, int L, float *out) {
    const int P = 2 * (L - 1); /* ping-pong period */
    for (int k = 0; k < T; k++) {
        int i = P > 0 ? k % P : 0;
        if (i >= L) i = P - i;
        for (int c = 0; c < C; c++)
            memcpy(out + ((int64_t)c * T + k) * HW, clip + ((int64_t)c * T + start + i) * HW, (size_t)HW * sizeof *out);
    }
}

vg_status vg_digits_identity(vg_evaluator *e, const float *clips, int64_t n, int64_t *classes, int64_t *stable) {
    const vg_evaluator_config *c = vg_evaluator_get_config(e);
    if (c->task != VG_EVAL_TASK_LABELS || c->frames < 2 || n < 0)
        return vg_fail(VG_ERR_INVALID, "digits identity: needs an evaluator of the labels task and clips of >= 2 frames "
                                       "(this one: task %s, %d frames)", vg_evaluator_task_name(c->task), c->frames);
    enum { CHUNK = 16 };
    const int C = c->channels, T = c->frames, L = T / 2, K = c->num_classes;
    const int64_t HW = (int64_t)c->size * c->size, clip = (int64_t)C * T * HW, dim = vg_evaluator_feature_dim(e);
    float *win = malloc((size_t)(2 * CHUNK * clip) * sizeof *win);
    float *feat = malloc((size_t)(2 * CHUNK * dim) * sizeof *feat);
    float *logits = malloc((size_t)(2 * CHUNK * K) * sizeof *logits);
    vg_status st = VG_OK;
    *stable = 0;
    if (!win || !feat || !logits) st = vg_fail(VG_ERR_NOMEM, "digits identity: out of memory");
    for (int64_t i = 0; i < n && st == VG_OK; i += CHUNK) {
        const int m = (int)(n - i < CHUNK ? n - i : CHUNK);
        /* rows 0 .. m-1: first halves, m .. 2m-1: second halves */
        for (int k = 0; k < m; k++) {
            vg_digits_window(clips + (i + k) * clip, C, T, HW, 0, L, win + (int64_t)k * clip);
            vg_digits_window(clips + (i + k) * clip, C, T, HW, T - L, L, win + (int64_t)(m + k) * clip);
        }
        if ((st = vg_evaluator_features(e, win, 2 * m, feat, logits)) != VG_OK) break;
        for (int k = 0; k < m; k++) {
            int64_t cls[2];
            for (int h = 0; h < 2; h++) {
                const float *l = logits + (int64_t)(h * m + k) * K;
                int best = 0;
                for (int q = 1; q < K; q++)
                    if (l[q] > l[best]) best = q;
                cls[h] = best;
            }
            if (classes) classes[2 * (i + k)] = cls[0], classes[2 * (i + k) + 1] = cls[1];
            *stable += cls[0] == cls[1];
        }
    }
    free(win);
    free(feat);
    free(logits);
    return st;
}
