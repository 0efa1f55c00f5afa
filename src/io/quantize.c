/* quantize.c — global palette (exact colours, or median cut + k-means) and
 * nearest-entry mapping (see quantize.h). */
#include "io/quantize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/status.h"

static inline uint32_t pack(const uint8_t *p) {
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline int sq(int v) { return v * v; }

static inline int dist2(const uint8_t *a, int r, int g, int b) {
    return sq(a[0] - r) + sq(a[1] - g) + sq(a[2] - b);
}

int vg_palette_nearest(const vg_palette *pal, int r, int g, int b) {
    int best = 0, bd = dist2(pal->rgb[0], r, g, b);
    for (int i = 1; i < pal->n; i++) {
        int d = dist2(pal->rgb[i], r, g, b);
        if (d < bd) bd = d, best = i;
    }
    return best;
}

/* ---- exact nearest search ---------------------------------------------------
 * The RGB cube is cut into 16^3 cells of 16^3 colours. For a cell, an entry
 * can be the nearest to some colour in it only if its smallest possible
 * distance to the cell is at most the smallest over entries of their largest
 * distance to it; those candidates (in index order) are listed when the cell
 * is first queried. A query then scans only its cell's list: exact, ties to
 * the lowest index (every tied nearest entry passes the test), and tens of
 * distances instead of 256. If the list memory cannot grow, the query falls
 * back to scanning every entry: slower, never wrong. */
enum { CELL_BITS = 4, CELL_SIDE = 256 >> CELL_BITS, NCELLS = CELL_SIDE * CELL_SIDE * CELL_SIDE };

typedef struct searcher {
    const vg_palette *pal;
    int32_t *off;  /* (NCELLS) start of the cell's list in pool; -1 = not built */
    uint16_t *cnt; /* (NCELLS) its length */
    uint8_t *pool; /* candidate palette indices */
    size_t pool_n, pool_cap;
} searcher;

static int searcher_init(searcher *s, const vg_palette *pal) {
    memset(s, 0, sizeof *s);
    s->pal = pal;
    s->off = malloc(NCELLS * sizeof *s->off);
    s->cnt = malloc(NCELLS * sizeof *s->cnt);
    if (!s->off || !s->cnt) return 0;
    memset(s->off, 0xFF, NCELLS * sizeof *s->off);
    return 1;
}

/* The palette changed: forget every list, keep the memory. */
static void searcher_reset(searcher *s) {
    memset(s->off, 0xFF, NCELLS * sizeof *s->off);
    s->pool_n = 0;
}

static void searcher_free(searcher *s) {
    free(s->off);
    free(s->cnt);
    free(s->pool);
    memset(s, 0, sizeof *s);
}

static int build_cell(searcher *s, int cell, int cr, int cg, int cb) {
    const vg_palette *pal = s->pal;
    const int np = pal->n;
    int lo[3] = {cr << CELL_BITS, cg << CELL_BITS, cb << CELL_BITS}, mind[VG_PALETTE_MAX];
    int bound = 1 << 30;
    for (int j = 0; j < np; j++) {
        int mn = 0, mx = 0;
        for (int c = 0; c < 3; c++) {
            int v = pal->rgb[j][c], l = lo[c], h = lo[c] + (1 << CELL_BITS) - 1;
            int dn = v < l ? l - v : v > h ? v - h : 0;
            int dx = v - l > h - v ? v - l : h - v;
            mn += dn * dn;
            mx += dx * dx;
        }
        mind[j] = mn;
        if (mx < bound) bound = mx;
    }
    if (s->pool_cap - s->pool_n < (size_t)np) {
        size_t cap = s->pool_cap ? 2 * s->pool_cap : 16384;
        uint8_t *p = realloc(s->pool, cap);
        if (!p) return 0;
        s->pool = p;
        s->pool_cap = cap;
    }
    s->off[cell] = (int32_t)s->pool_n;
    int n = 0;
    for (int j = 0; j < np; j++)
        if (mind[j] <= bound) s->pool[s->pool_n + (size_t)n++] = (uint8_t)j;
    s->cnt[cell] = (uint16_t)n;
    s->pool_n += (size_t)n;
    return 1;
}

static int searcher_find(searcher *s, int r, int g, int b) {
    int cr = r >> CELL_BITS, cg = g >> CELL_BITS, cb = b >> CELL_BITS;
    int cell = (cr * CELL_SIDE + cg) * CELL_SIDE + cb;
    if (s->off[cell] < 0 && !build_cell(s, cell, cr, cg, cb)) return vg_palette_nearest(s->pal, r, g, b);
    const uint8_t *list = s->pool + s->off[cell];
    int best = list[0], bd = dist2(s->pal->rgb[best], r, g, b);
    for (int k = 1; k < s->cnt[cell]; k++) {
        int d = dist2(s->pal->rgb[list[k]], r, g, b);
        if (d < bd) bd = d, best = list[k];
    }
    return best;
}

/* ---- palette building -------------------------------------------------------- */

/* Distinct colours of the whole video if there are at most max of them:
 * returns their count (sorted into out), or -1 if there are more. */
static int exact_colours(uint32_t *out, const uint8_t *rgb, int64_t npix, int max) {
    enum { SLOTS = 1024 }; /* > 2 * (VG_PALETTE_MAX + 1): short probe chains */
    uint32_t set[SLOTS] = {0}; /* packed colour + 1; 0 = empty */
    int n = 0;
    uint32_t prev = UINT32_MAX;
    for (int64_t i = 0; i < npix; i++) {
        uint32_t c = pack(rgb + 3 * i);
        if (c == prev) continue;
        prev = c;
        uint32_t h = (c * 2654435761u) >> 22; /* Fibonacci hash to 10 bits */
        while (set[h] && set[h] != c + 1) h = (h + 1) & (SLOTS - 1);
        if (set[h]) continue;
        if (n == max) return -1;
        set[h] = c + 1;
        out[n++] = c;
    }
    for (int i = 1; i < n; i++) /* insertion sort: n <= 256 */
        for (int j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint32_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
    return n;
}

typedef struct wcol {
    uint8_t c[3];
    uint32_t w; /* how many sample pixels have this colour */
} wcol;

typedef struct box {
    int lo, hi;  /* [lo, hi) in the colour array */
    double sse;  /* weighted squared error around the mean */
    double mean[3];
} box;

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Sort by one channel, ties by the packed colour: a total order, so the
 * result is the same on every libc. One comparator per channel (no global
 * state: several threads may quantise at once). */
static int cmp_wcol_on(const wcol *x, const wcol *y, int axis) {
    int d = (int)x->c[axis] - (int)y->c[axis];
    if (d) return d;
    uint32_t px = pack(x->c), py = pack(y->c);
    return (px > py) - (px < py);
}
static int cmp_wcol_r(const void *a, const void *b) { return cmp_wcol_on(a, b, 0); }
static int cmp_wcol_g(const void *a, const void *b) { return cmp_wcol_on(a, b, 1); }
static int cmp_wcol_b(const void *a, const void *b) { return cmp_wcol_on(a, b, 2); }

static void box_stats(box *bx, const wcol *cols) {
    double w = 0, s[3] = {0, 0, 0}, q = 0;
    for (int i = bx->lo; i < bx->hi; i++) {
        double wi = cols[i].w;
        w += wi;
        for (int c = 0; c < 3; c++) {
            s[c] += wi * cols[i].c[c];
            q += wi * cols[i].c[c] * cols[i].c[c];
        }
    }
    for (int c = 0; c < 3; c++) bx->mean[c] = s[c] / w;
    bx->sse = q - (s[0] * s[0] + s[1] * s[1] + s[2] * s[2]) / w;
    if (bx->hi - bx->lo < 2 || bx->sse < 1e-9) bx->sse = 0;
}

/* Split bx along its axis of largest variance where the halves' summed
 * squared error is smallest; the right half goes to *right. */
static void box_split(box *bx, box *right, wcol *cols, double *pre /* (n+1, 5) scratch */) {
    double var[3] = {0, 0, 0}, w = 0;
    for (int i = bx->lo; i < bx->hi; i++) {
        w += cols[i].w;
        for (int c = 0; c < 3; c++) {
            double d = cols[i].c[c] - bx->mean[c];
            var[c] += cols[i].w * d * d;
        }
    }
    int axis = 0;
    for (int c = 1; c < 3; c++)
        if (var[c] > var[axis]) axis = c;
    qsort(cols + bx->lo, (size_t)(bx->hi - bx->lo), sizeof *cols,
          axis == 0 ? cmp_wcol_r : axis == 1 ? cmp_wcol_g : cmp_wcol_b);
    int n = bx->hi - bx->lo;
    memset(pre, 0, 5 * sizeof *pre);
    for (int i = 0; i < n; i++) {
        const wcol *k = &cols[bx->lo + i];
        double wi = k->w, *p = pre + 5 * i, *o = pre + 5 * (i + 1);
        o[0] = p[0] + wi;
        o[1] = p[1] + wi * k->c[0];
        o[2] = p[2] + wi * k->c[1];
        o[3] = p[3] + wi * k->c[2];
        o[4] = p[4] + wi * (k->c[0] * k->c[0] + k->c[1] * k->c[1] + k->c[2] * k->c[2]);
    }
    const double *all = pre + 5 * n;
    int best = -1;
    double best_e = 0;
    for (int k = 1; k < n; k++) {
        if (cols[bx->lo + k - 1].c[axis] == cols[bx->lo + k].c[axis]) continue;
        const double *l = pre + 5 * k;
        double rw = all[0] - l[0], r1 = all[1] - l[1], r2 = all[2] - l[2], r3 = all[3] - l[3];
        double e = l[4] - (l[1] * l[1] + l[2] * l[2] + l[3] * l[3]) / l[0] + (all[4] - l[4]) -
                   (r1 * r1 + r2 * r2 + r3 * r3) / rw;
        if (best < 0 || e < best_e) best = k, best_e = e;
    }
    VG_ASSERT(best > 0); /* sse > 0 means two distinct values on the widest axis */
    right->lo = bx->lo + best;
    right->hi = bx->hi;
    bx->hi = right->lo;
    box_stats(bx, cols);
    box_stats(right, cols);
}

static uint8_t round_u8(double v) {
    return v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)(v + 0.5);
}

/* Lloyd iterations on the weighted sample; entries with no members stay. */
static void kmeans(vg_palette *pal, searcher *s, const wcol *cols, int n, double *acc /* (VG_PALETTE_MAX, 4) */) {
    const int np = pal->n;
    for (int it = 0; it < VG_QUANT_KMEANS_ITERS; it++) {
        searcher_reset(s);
        memset(acc, 0, (size_t)np * 4 * sizeof *acc);
        for (int i = 0; i < n; i++) {
            double *a = acc + 4 * searcher_find(s, cols[i].c[0], cols[i].c[1], cols[i].c[2]);
            a[0] += cols[i].w;
            for (int c = 0; c < 3; c++) a[1 + c] += (double)cols[i].w * cols[i].c[c];
        }
        int changed = 0;
        for (int k = 0; k < np; k++) {
            if (acc[4 * k] == 0) continue;
            for (int c = 0; c < 3; c++) {
                uint8_t v = round_u8(acc[4 * k + 1 + c] / acc[4 * k]);
                changed |= v != pal->rgb[k][c];
                pal->rgb[k][c] = v;
            }
        }
        if (!changed) break;
    }
}

vg_status vg_palette_build(vg_palette *pal, const uint8_t *rgb, int64_t npix, int max_colors) {
    VG_ASSERT(pal && rgb);
    memset(pal, 0, sizeof *pal);
    if (npix < 1) return vg_fail(VG_ERR_INVALID, "palette: no pixels");
    if (max_colors < 1 || max_colors > VG_PALETTE_MAX)
        return vg_fail(VG_ERR_INVALID, "palette: %d colours requested (expected 1..%d)", max_colors,
                       VG_PALETTE_MAX);

    uint32_t exact[VG_PALETTE_MAX];
    int ne = exact_colours(exact, rgb, npix, max_colors);
    if (ne > 0) {
        pal->n = ne;
        for (int i = 0; i < ne; i++) {
            pal->rgb[i][0] = (uint8_t)(exact[i] >> 16);
            pal->rgb[i][1] = (uint8_t)(exact[i] >> 8);
            pal->rgb[i][2] = (uint8_t)exact[i];
        }
        return VG_OK;
    }

    /* A deterministic sample: one pixel from each of ns equal strides, at a
     * hashed offset inside the stride so it does not alias with the rows. */
    int64_t ns = npix < VG_QUANT_SAMPLE ? npix : VG_QUANT_SAMPLE, step = npix / ns;
    uint32_t *packed = malloc((size_t)ns * sizeof *packed);
    wcol *cols = malloc((size_t)ns * sizeof *cols);
    double *pre = malloc((size_t)(ns + 1) * 5 * sizeof *pre);
    box *boxes = malloc(VG_PALETTE_MAX * sizeof *boxes);
    double *acc = malloc(VG_PALETTE_MAX * 4 * sizeof *acc);
    searcher srch;
    vg_status st = VG_OK;
    if (!searcher_init(&srch, pal) || !packed || !cols || !pre || !boxes || !acc) {
        st = vg_fail(VG_ERR_NOMEM, "palette: out of memory for a %lld-pixel sample", (long long)ns);
        goto done;
    }
    for (int64_t i = 0; i < ns; i++) {
        uint64_t h = (uint64_t)i * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
        int64_t at = i * step + (int64_t)(h % (uint64_t)step);
        packed[i] = pack(rgb + 3 * at);
    }
    qsort(packed, (size_t)ns, sizeof *packed, cmp_u32);
    int n = 0;
    for (int64_t i = 0; i < ns; i++) {
        if (n > 0 && pack(cols[n - 1].c) == packed[i]) {
            cols[n - 1].w++;
            continue;
        }
        cols[n].c[0] = (uint8_t)(packed[i] >> 16);
        cols[n].c[1] = (uint8_t)(packed[i] >> 8);
        cols[n].c[2] = (uint8_t)packed[i];
        cols[n].w = 1;
        n++;
    }

    int nb = 1;
    boxes[0].lo = 0;
    boxes[0].hi = n;
    box_stats(&boxes[0], cols);
    while (nb < max_colors) {
        int pick = -1;
        for (int i = 0; i < nb; i++)
            if (boxes[i].sse > 0 && (pick < 0 || boxes[i].sse > boxes[pick].sse)) pick = i;
        if (pick < 0) break; /* every box holds one colour */
        box_split(&boxes[pick], &boxes[nb], cols, pre);
        nb++;
    }
    pal->n = nb;
    for (int i = 0; i < nb; i++)
        for (int c = 0; c < 3; c++) pal->rgb[i][c] = round_u8(boxes[i].mean[c]);
    kmeans(pal, &srch, cols, n, acc);
done:
    searcher_free(&srch);
    free(acc);
    free(boxes);
    free(pre);
    free(cols);
    free(packed);
    return st;
}

/* ---- mapping ------------------------------------------------------------------ */

static const uint8_t bayer4[4][4] = {{0, 8, 2, 10}, {12, 4, 14, 6}, {3, 11, 1, 9}, {15, 7, 13, 5}};

/* Mean distance from each entry to its nearest other entry: the dither
 * amplitude that just bridges the steps between neighbouring colours. */
static double mean_spacing(const vg_palette *pal) {
    if (pal->n < 2) return 0;
    double sum = 0;
    for (int i = 0; i < pal->n; i++) {
        int bd = 1 << 30;
        for (int j = 0; j < pal->n; j++)
            if (j != i) {
                int d = dist2(pal->rgb[j], pal->rgb[i][0], pal->rgb[i][1], pal->rgb[i][2]);
                if (d < bd) bd = d;
            }
        sum += sqrt((double)bd);
    }
    return sum / pal->n;
}

vg_status vg_palette_map(uint8_t *idx, const vg_palette *pal, const uint8_t *rgb, int T, int H, int W,
                         int dither) {
    VG_ASSERT(idx && pal && rgb);
    int64_t npix;
    if (pal->n < 1 || pal->n > VG_PALETTE_MAX)
        return vg_fail(VG_ERR_INVALID, "palette: %d entries (expected 1..%d)", pal->n, VG_PALETTE_MAX);
    if (T < 1 || H < 1 || W < 1 || !vg_shape_numel(3, (int64_t[]){T, H, W}, &npix))
        return vg_fail(VG_ERR_INVALID, "palette: bad video size T=%d H=%d W=%d", T, H, W);
    if (dither != 0 && dither != 1) return vg_fail(VG_ERR_INVALID, "palette: dither %d (expected 0 or 1)", dither);
    /* Direct-mapped cache of recent colours: generated videos repeat colours
     * a lot, and a hit skips even the cell lookup. */
    enum { CACHE_BITS = 12, CACHE = 1 << CACHE_BITS };
    searcher s;
    uint32_t *key = calloc(CACHE, sizeof *key); /* packed colour + 1; 0 = empty */
    uint8_t *val = malloc(CACHE);
    if (!searcher_init(&s, pal) || !key || !val) {
        searcher_free(&s);
        free(key);
        free(val);
        return vg_fail(VG_ERR_NOMEM, "palette: out of memory");
    }
    int offs[4][4] = {{0}};
    if (dither) {
        double amp = mean_spacing(pal);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                double o = ((bayer4[y][x] + 0.5) / 16.0 - 0.5) * amp;
                offs[y][x] = (int)(o < 0 ? o - 0.5 : o + 0.5);
            }
    }
    const uint8_t *px = rgb;
    uint8_t *out = idx;
    for (int t = 0; t < T; t++)
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++, px += 3, out++) {
                int r = px[0], g = px[1], b = px[2];
                if (dither) {
                    int o = offs[y & 3][x & 3];
                    r = r + o < 0 ? 0 : r + o > 255 ? 255 : r + o;
                    g = g + o < 0 ? 0 : g + o > 255 ? 255 : g + o;
                    b = b + o < 0 ? 0 : b + o > 255 ? 255 : b + o;
                }
                uint32_t c = (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
                uint32_t h = (c * 2654435761u) >> (32 - CACHE_BITS);
                if (key[h] != c + 1) {
                    key[h] = c + 1;
                    val[h] = (uint8_t)searcher_find(&s, r, g, b);
                }
                *out = val[h];
            }
    searcher_free(&s);
    free(key);
    free(val);
    return VG_OK;
}
