/* shapes.c — the "shapes" data set: one bouncing circle, square or triangle
 * per clip (labels 0, 1, 2), in a saturated colour over a plain or a
 * two-colour linear-gradient background, anti-aliased by 4x4 supersampling.
 *
 * Every clip parameter is drawn from the clip's own random stream
 * (dataset_impl.h), in a fixed order, so clip i is a pure function of
 * (seed, i). Positions are closed-form (a triangle wave over the free range),
 * so frame t costs the same for any t and the motion is exactly constant
 * velocity between bounces. The per-frame truth for the evaluation metrics
 * comes from the same parameters as the pixels. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/dataset_impl.h"

#define SHAPES_MIN_SIZE 16
#define SHAPES_EXTENT_LO 0.15   /* bounding-box side as a fraction of the frame */
#define SHAPES_EXTENT_HI 0.30
#define SHAPES_SPEED_LO 1.0     /* pixels per frame at 32x32, scaled with size */
#define SHAPES_SPEED_HI 3.0
#define SHAPES_MIN_CONTRAST 0.45 /* RGB distance in [0, 1] units, shape vs background */
#define SHAPES_NOMINAL_EPOCH 10000
#define SS 4                    /* supersampling per axis */

struct vg_shapes {
    int size, frames;
};

/* Everything random about one clip, in [0, 1] colour units and continuous
 * pixel coordinates (pixel x covers [x, x + 1)). */
typedef struct shape_params {
    int label;
    double extent;           /* d: side of the bounding box */
    double fg[3];            /* shape colour */
    int gradient;
    double bg[2][3];         /* background colours */
    double dir[2];           /* gradient direction, unit */
    double p0[2];            /* bounding-box top-left at frame 0, in [0, S - d] */
    double vel[2];           /* pixels per frame */
} shape_params;

static void hsv_to_rgb(double h, double s, double v, double rgb[3]) {
    h = (h - floor(h)) * 6.0;
    int i = (int)h;
    double f = h - i, p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (i % 6) {
    case 0: rgb[0] = v, rgb[1] = t, rgb[2] = p; break;
    case 1: rgb[0] = q, rgb[1] = v, rgb[2] = p; break;
    case 2: rgb[0] = p, rgb[1] = v, rgb[2] = t; break;
    case 3: rgb[0] = p, rgb[1] = q, rgb[2] = v; break;
    case 4: rgb[0] = t, rgb[1] = p, rgb[2] = v; break;
    default: rgb[0] = v, rgb[1] = p, rgb[2] = q; break;
    }
}

/* Distance from colour c to the segment [a, b] of colours. */
static double dist_to_segment(const double c[3], const double a[3], const double b[3]) {
    double ab[3], ac[3], ll = 0, dot = 0;
    for (int k = 0; k < 3; k++) {
        ab[k] = b[k] - a[k];
        ac[k] = c[k] - a[k];
        ll += ab[k] * ab[k];
        dot += ab[k] * ac[k];
    }
    double t = ll > 0 ? fmin(1.0, fmax(0.0, dot / ll)) : 0.0, d2 = 0;
    for (int k = 0; k < 3; k++) {
        double e = ac[k] - t * ab[k];
        d2 += e * e;
    }
    return sqrt(d2);
}

static void draw_params(const vg_dataset *ds, int64_t index, shape_params *p) {
    const int S = ds->shapes->size;
    vg_clip_rng r;
    vg_clip_rng_init(&r, ds->seed, index, VG_RNG_TAG_SHAPES);

    p->label = (int)vg_clip_rng_below(&r, VG_SHAPE_COUNT);
    p->extent = vg_clip_rng_uniform(&r, SHAPES_EXTENT_LO, SHAPES_EXTENT_HI) * S;
    double hue = vg_clip_rng_uniform(&r, 0, 1);
    hsv_to_rgb(hue, vg_clip_rng_uniform(&r, 0.75, 1.0), vg_clip_rng_uniform(&r, 0.8, 1.0), p->fg);
    p->gradient = (int)(vg_clip_rng_u32(&r) & 1u);

    /* Background hues at least a quarter turn from the shape's, muted; redraw
     * until every colour along the gradient is far from the shape's colour
     * (and the two ends visibly differ). Nearly always the first try. */
    int ok = 0;
    for (int attempt = 0; attempt < 32 && !ok; attempt++) {
        for (int e = 0; e < 2; e++)
            hsv_to_rgb(hue + vg_clip_rng_uniform(&r, 0.25, 0.75), vg_clip_rng_uniform(&r, 0.0, 0.6),
                       vg_clip_rng_uniform(&r, 0.15, 0.85), p->bg[e]);
        if (!p->gradient) memcpy(p->bg[1], p->bg[0], sizeof p->bg[0]);
        double ends = 0;
        for (int k = 0; k < 3; k++) ends += (p->bg[1][k] - p->bg[0][k]) * (p->bg[1][k] - p->bg[0][k]);
        ok = dist_to_segment(p->fg, p->bg[0], p->bg[1]) >= SHAPES_MIN_CONTRAST &&
             (!p->gradient || sqrt(ends) >= 0.25);
    }
    if (!ok) { /* plain black-ish or white-ish, whichever is farther */
        static const double dark[3] = {0.1, 0.1, 0.1}, light[3] = {0.9, 0.9, 0.9};
        const double *c = dist_to_segment(p->fg, dark, dark) >= dist_to_segment(p->fg, light, light) ? dark : light;
        p->gradient = 0;
        memcpy(p->bg[0], c, sizeof p->bg[0]);
        memcpy(p->bg[1], c, sizeof p->bg[1]);
    }
    double a = vg_clip_rng_uniform(&r, 0, 2 * M_PI);
    p->dir[0] = cos(a);
    p->dir[1] = sin(a);

    double free_range = S - p->extent;
    p->p0[0] = vg_clip_rng_uniform(&r, 0, free_range);
    p->p0[1] = vg_clip_rng_uniform(&r, 0, free_range);
    double va = vg_clip_rng_uniform(&r, 0, 2 * M_PI);
    double speed = vg_clip_rng_uniform(&r, SHAPES_SPEED_LO, SHAPES_SPEED_HI) * S / 32.0;
    p->vel[0] = speed * cos(va);
    p->vel[1] = speed * sin(va);
}

/* u folded into [0, L] by reflection at both ends (a triangle wave). */
static double reflect(double u, double L) {
    double m = fmod(u, 2 * L);
    if (m < 0) m += 2 * L;
    return m <= L ? m : 2 * L - m;
}

static void box_at(const shape_params *p, int S, int t, double box[2]) {
    double L = S - p->extent;
    box[0] = reflect(p->p0[0] + p->vel[0] * t, L);
    box[1] = reflect(p->p0[1] + p->vel[1] * t, L);
}

/* Area centroid relative to the bounding box's top-left corner. */
static void centroid_offset(const shape_params *p, double off[2]) {
    off[0] = p->extent / 2;
    off[1] = p->label == VG_SHAPE_TRIANGLE ? p->extent * 2.0 / 3.0 : p->extent / 2;
}

/* Is the point (u, w), relative to the bounding box's top-left, inside? The
 * triangle is isosceles with its apex up and its base on the bottom side. */
static int inside(int label, double d, double u, double w) {
    switch (label) {
    case VG_SHAPE_CIRCLE: {
        double r = d / 2, a = u - r, b = w - r;
        return a * a + b * b <= r * r;
    }
    case VG_SHAPE_SQUARE: return u >= 0 && u <= d && w >= 0 && w <= d;
    default: return w >= 0 && w <= d && fabs(u - d / 2) <= w / 2;
    }
}

/* A lower bound on the distance from (u, w) to the shape's boundary, signed
 * (negative inside), exact inside: pixels whose centre is more than half a
 * diagonal inside (outside) are fully covered (empty) and skip supersampling.
 * The shapes are convex, so this changes no pixel. */
static double boundary_distance(int label, double d, double u, double w) {
    double h = d / 2;
    switch (label) {
    case VG_SHAPE_CIRCLE: return hypot(u - h, w - h) - h;
    case VG_SHAPE_SQUARE: return fmax(fabs(u - h), fabs(w - h)) - h;
    default: return fmax(w - d, (fabs(u - h) - w / 2) * (2 / sqrt(5.0)));
    }
}

static double gradient_t(const double dir[2], int S, double cx, double cy) {
    double t = 0.5 + ((cx - S / 2.0) * dir[0] + (cy - S / 2.0) * dir[1]) / (S * (fabs(dir[0]) + fabs(dir[1])));
    return t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
}

void vg_shapes_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label) {
    const int S = ds->shapes->size, T = ds->shapes->frames;
    const int64_t plane = (int64_t)S * S, chan = plane * T; /* out: (3, T, S, S) */
    shape_params p;
    draw_params(ds, index, &p);

    /* background of frame 0, then copied to every frame */
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double t = p.gradient ? gradient_t(p.dir, S, x + 0.5, y + 0.5) : 0.0;
            for (int c = 0; c < 3; c++)
                out[c * chan + (int64_t)y * S + x] = (float)(2.0 * (p.bg[0][c] + t * (p.bg[1][c] - p.bg[0][c])) - 1.0);
        }
    for (int c = 0; c < 3; c++)
        for (int t = 1; t < T; t++) memcpy(out + c * chan + t * plane, out + c * chan, (size_t)plane * sizeof *out);

    float fg[3];
    for (int c = 0; c < 3; c++) fg[c] = (float)(2.0 * p.fg[c] - 1.0);
    for (int t = 0; t < T; t++) {
        double box[2];
        box_at(&p, S, t, box);
        int x0 = (int)floor(box[0]), y0 = (int)floor(box[1]);
        int x1 = (int)ceil(box[0] + p.extent), y1 = (int)ceil(box[1] + p.extent);
        if (x0 < 0) x0 = 0;
        if (y0 < 0) y0 = 0;
        if (x1 > S) x1 = S;
        if (y1 > S) y1 = S;
        for (int y = y0; y < y1; y++)
            for (int x = x0; x < x1; x++) {
                double dist = boundary_distance(p.label, p.extent, x + 0.5 - box[0], y + 0.5 - box[1]);
                if (dist > 0.7072) continue;
                int hits = dist < -0.7072 ? SS * SS : 0;
                for (int sy = 0; sy < SS && dist >= -0.7072; sy++)
                    for (int sx = 0; sx < SS; sx++)
                        hits += inside(p.label, p.extent, x + (sx + 0.5) / SS - box[0], y + (sy + 0.5) / SS - box[1]);
                if (!hits) continue;
                float a = (float)hits / (SS * SS);
                for (int c = 0; c < 3; c++) {
                    float *px = out + c * chan + t * plane + (int64_t)y * S + x;
                    *px = *px + a * (fg[c] - *px);
                }
            }
    }
    if (label) *label = p.label;
}

vg_status vg_shapes_clip_truth(const vg_dataset *ds, int64_t index, vg_shapes_truth *truth, float *centroids) {
    if (!ds || !truth) return vg_fail(VG_ERR_INVALID, "vg_shapes_clip_truth: NULL argument");
    if (ds->kind != VG_DS_SHAPES)
        return vg_fail(VG_ERR_INVALID, "vg_shapes_clip_truth: data set \"%s\" is not \"shapes\"", ds->desc.source);
    if (index < 0) return vg_fail(VG_ERR_INVALID, "vg_shapes_clip_truth: clip index %lld < 0", (long long)index);
    const int S = ds->shapes->size;
    shape_params p;
    draw_params(ds, index, &p);
    truth->label = p.label;
    truth->extent = (float)p.extent;
    truth->gradient = p.gradient;
    for (int c = 0; c < 3; c++) {
        truth->color[c] = (float)(2.0 * p.fg[c] - 1.0);
        truth->background[0][c] = (float)(2.0 * p.bg[0][c] - 1.0);
        truth->background[1][c] = (float)(2.0 * p.bg[1][c] - 1.0);
    }
    truth->direction[0] = (float)p.dir[0];
    truth->direction[1] = (float)p.dir[1];
    truth->velocity[0] = (float)p.vel[0];
    truth->velocity[1] = (float)p.vel[1];
    if (centroids) {
        double off[2];
        centroid_offset(&p, off);
        for (int t = 0; t < ds->shapes->frames; t++) {
            double box[2];
            box_at(&p, S, t, box);
            /* continuous coordinates put pixel x's centre at x + 0.5 */
            centroids[2 * t] = (float)(box[0] + off[0] - 0.5);
            centroids[2 * t + 1] = (float)(box[1] + off[1] - 0.5);
        }
    }
    return VG_OK;
}

void vg_shapes_background_at(const vg_shapes_truth *truth, int size, int x, int y, float rgb[3]) {
    const double dir[2] = {truth->direction[0], truth->direction[1]};
    double t = truth->gradient ? gradient_t(dir, size, x + 0.5, y + 0.5) : 0.0;
    for (int c = 0; c < 3; c++) {
        /* same arithmetic as the renderer, from the colours in [0, 1] */
        double b0 = (truth->background[0][c] + 1.0) / 2.0, b1 = (truth->background[1][c] + 1.0) / 2.0;
        rgb[c] = (float)(2.0 * (b0 + t * (b1 - b0)) - 1.0);
    }
}

vg_status vg_shapes_open(vg_dataset *ds, const vg_dataset_spec *spec) {
    static const char *const names[VG_SHAPE_COUNT] = {"circle", "square", "triangle"};
    if (spec->size < SHAPES_MIN_SIZE)
        return vg_fail(VG_ERR_INVALID, "shapes: size %d: expected at least %d", spec->size, SHAPES_MIN_SIZE);
    if (spec->channels != 0 && spec->channels != 3)
        return vg_fail(VG_ERR_INVALID, "shapes: channels %d: expected 3 (RGB)", spec->channels);
    if (spec->path || spec->split || spec->num_digits || spec->overlap)
        return vg_fail(VG_ERR_INVALID, "shapes: path, split, num_digits and overlap apply to mnist/fashion only");
    vg_shapes *s = malloc(sizeof *s);
    if (!s) return vg_fail(VG_ERR_NOMEM, "shapes: out of memory");
    s->size = spec->size;
    s->frames = spec->frames;
    ds->shapes = s;
    ds->desc.channels = 3;
    ds->desc.num_classes = VG_SHAPE_COUNT;
    ds->desc.size = SHAPES_NOMINAL_EPOCH;
    for (int i = 0; i < VG_SHAPE_COUNT; i++) ds->names[i] = names[i];
    return VG_OK;
}

void vg_shapes_close(vg_dataset *ds) {
    free(ds->shapes);
    ds->shapes = NULL;
}
