/* CPU kernels: reductions along one axis, general permutation of up to five
 * dims, and block copies along one axis (concat, slice).
 *
 * Reductions accumulate in double. How the work is split (tiles of the inner
 * axis, pieces of the reduced axis) depends only on the sizes, never on the
 * thread count, and partial sums are combined in a fixed order: results are
 * bit-identical for every thread count, not only for a given one.
 *
 * Permutations first drop size-1 dims and merge input dims that stay
 * adjacent, so (N, C, T, H, W) -> (N, T, C, H, W) becomes a copy of
 * contiguous H*W rows; when the innermost input dim moves, a 32x32 tiled
 * transpose keeps both reads and writes within cache lines. */
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

#define PAR_MIN 32768 /* elements below which a kernel stays on one thread */

/* ---- reductions ---------------------------------------------------------- */

#define REDUCE_TILE 128       /* inner elements summed side by side */
#define REDUCE_PIECES 64      /* most pieces the reduced axis is cut into */
#define REDUCE_PIECE_MIN 8192 /* fewest elements in a piece */
#define REDUCE_TASKS_MIN 16   /* fewer (outer, tile) tasks than this: split the axis too */

/* acc[0, w) = sum over l in [l0, l1) of inp[o, l, i0 + j] (double). */
static void reduce_part(double *acc, const vg_real *inp, const struct vg_reduce_desc *d, int64_t o, int64_t i0,
                        int64_t w, int64_t l0, int64_t l1) {
    const vg_real *p = inp + (o * d->len + l0) * d->inner + i0;
    if (d->inner == 1) { /* a contiguous run: four interleaved sums for speed, fixed order */
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int64_t n = l1 - l0, k = 0;
        for (; k + 4 <= n; k += 4) {
            s0 += (double)p[k];
            s1 += (double)p[k + 1];
            s2 += (double)p[k + 2];
            s3 += (double)p[k + 3];
        }
        for (; k < n; k++) s0 += (double)p[k];
        acc[0] = (s0 + s1) + (s2 + s3);
        return;
    }
    for (int64_t j = 0; j < w; j++) acc[j] = 0;
    for (int64_t l = l0; l < l1; l++, p += d->inner)
        for (int64_t j = 0; j < w; j++) acc[j] += (double)p[j];
}

/* out (outer, inner) = scale * sum over len of inp (outer, len, inner). */
static void reduce_forward(vg_real *out, const vg_real *inp, const struct vg_reduce_desc *d) {
    int64_t inner = d->inner, len = d->len;
    int64_t tile = inner < REDUCE_TILE ? inner : REDUCE_TILE;
    if (d->outer == 0 || inner == 0) return;
    int64_t ntiles = (inner + tile - 1) / tile, tasks = d->outer * ntiles;
    int64_t pieces = 1;
    if (tasks < REDUCE_TASKS_MIN) {
        pieces = len * tile / REDUCE_PIECE_MIN;
        if (pieces > REDUCE_PIECES) pieces = REDUCE_PIECES;
        if (pieces > len) pieces = len;
        if (pieces < 1) pieces = 1;
    }
    if (pieces == 1) {
        int par = d->outer * len * inner > PAR_MIN && tasks > 1;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (par)
        for (int64_t t = 0; t < tasks; t++) {
            double acc[REDUCE_TILE];
            int64_t o = t / ntiles, i0 = (t % ntiles) * tile;
            int64_t w = inner - i0 < tile ? inner - i0 : tile;
            reduce_part(acc, inp, d, o, i0, w, 0, len);
            for (int64_t j = 0; j < w; j++) out[o * inner + i0 + j] = (vg_real)(d->scale * acc[j]);
        }
        return;
    }
    /* few outputs, long axis: cut the axis into pieces summed in parallel */
    double part[REDUCE_PIECES][REDUCE_TILE];
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / ntiles, i0 = (t % ntiles) * tile;
        int64_t w = inner - i0 < tile ? inner - i0 : tile;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads())
        for (int64_t p = 0; p < pieces; p++)
            reduce_part(part[p], inp, d, o, i0, w, len * p / pieces, len * (p + 1) / pieces);
        for (int64_t j = 0; j < w; j++) {
            double s = 0;
            for (int64_t p = 0; p < pieces; p++) s += part[p][j];
            out[o * inner + i0 + j] = (vg_real)(d->scale * s);
        }
    }
}

/* dinp (outer, len, inner) += scale * dout (outer, inner), broadcast over len. */
static void reduce_backward(vg_real *dinp, const vg_real *dout, const struct vg_reduce_desc *d) {
    int64_t inner = d->inner, rows = d->outer * d->len;
    if (inner == 1) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows > PAR_MIN)
        for (int64_t r = 0; r < rows; r++) dinp[r] += (vg_real)(d->scale * (double)dout[r / d->len]);
        return;
    }
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * inner > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const vg_real *g = dout + (r / d->len) * inner;
        vg_real *dst = dinp + r * inner;
        if (d->scale == 1.0)
            for (int64_t i = 0; i < inner; i++) dst[i] += g[i];
        else
            for (int64_t i = 0; i < inner; i++) dst[i] += (vg_real)(d->scale * (double)g[i]);
    }
}

/* ---- permutation ----------------------------------------------------------- */

#define PERM_TILE 32

/* The permutation with size-1 dims dropped and runs of input dims that stay
 * adjacent merged. */
typedef struct perm_plan {
    int nd;
    int64_t out_shape[VG_MAX_DIMS];
    int64_t src_stride[VG_MAX_DIMS]; /* element stride in the source per output dim */
    int64_t numel;
} perm_plan;

static void perm_plan_make(perm_plan *pl, int ndim, const int64_t *in_shape, const int *perm) {
    int keep[VG_MAX_DIMS], renum[VG_MAX_DIMS], nk = 0;
    int64_t numel = 1;
    for (int k = 0; k < ndim; k++) {
        numel *= in_shape[k];
        renum[k] = -1;
        if (in_shape[k] != 1) {
            renum[k] = nk;
            keep[nk++] = k;
        }
    }
    pl->numel = numel;
    /* the permutation restricted to the kept dims, in their new numbering */
    int p[VG_MAX_DIMS], np = 0;
    for (int i = 0; i < ndim; i++)
        if (renum[perm[i]] >= 0) p[np++] = renum[perm[i]];
    /* merge out positions i, i+1 whose input dims are consecutive */
    int64_t in_stride[VG_MAX_DIMS];
    int64_t s = 1;
    for (int k = nk - 1; k >= 0; k--) {
        in_stride[k] = s;
        s *= in_shape[keep[k]];
    }
    pl->nd = 0;
    for (int i = 0; i < np; i++) {
        int64_t size = in_shape[keep[p[i]]];
        if (pl->nd > 0 && p[i] == p[i - 1] + 1) {
            pl->out_shape[pl->nd - 1] *= size;
            pl->src_stride[pl->nd - 1] = in_stride[p[i]];
        } else {
            pl->out_shape[pl->nd] = size;
            pl->src_stride[pl->nd] = in_stride[p[i]];
            pl->nd++;
        }
    }
}

static inline void row_move(vg_real *dst, const vg_real *src, int64_t n, int acc) {
    if (n <= 0) return;
    if (acc)
        for (int64_t i = 0; i < n; i++) dst[i] += src[i];
    else
        memcpy(dst, src, (size_t)n * sizeof *dst);
}

/* dst (contiguous, shape pl->out_shape) = or += src read through the plan. */
static void perm_run(vg_real *dst, const vg_real *src, const perm_plan *pl, int acc) {
    int nd = pl->nd;
    int par = pl->numel > PAR_MIN;
    if (pl->numel == 0) return;
    if (nd == 0 || (nd == 1 && pl->src_stride[0] == 1)) {
        row_move(dst, src, pl->numel, acc);
        return;
    }
    const int64_t *os = pl->out_shape, *ss = pl->src_stride;
    if (ss[nd - 1] == 1) { /* innermost dim contiguous on both sides: row copies */
        int64_t L = os[nd - 1], rows = pl->numel / L;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (par)
        for (int64_t r = 0; r < rows; r++) {
            int64_t rest = r, off = 0;
            for (int k = nd - 2; k >= 0; k--) {
                off += (rest % os[k]) * ss[k];
                rest /= os[k];
            }
            row_move(dst + r * L, src + off, L, acc);
        }
        return;
    }
    /* The source's contiguous dim sits at output position q; transpose
     * PERM_TILE x PERM_TILE blocks of (out dim q, out dim nd-1). */
    int q = 0;
    for (int k = 0; k < nd; k++)
        if (ss[k] == 1) q = k;
    int64_t ds[VG_MAX_DIMS];
    int64_t s = 1;
    for (int k = nd - 1; k >= 0; k--) {
        ds[k] = s;
        s *= os[k];
    }
    int64_t A = os[q], B = os[nd - 1], SB = ss[nd - 1], DA = ds[q];
    int64_t ta = (A + PERM_TILE - 1) / PERM_TILE, tb = (B + PERM_TILE - 1) / PERM_TILE;
    int64_t others = pl->numel / (A * B), tasks = others * ta * tb;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (par)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t b0 = (t % tb) * PERM_TILE, a0 = (t / tb % ta) * PERM_TILE, rest = t / (tb * ta);
        int64_t doff = 0, soff = 0;
        for (int k = nd - 2; k >= 0; k--) {
            if (k == q) continue;
            int64_t c = rest % os[k];
            rest /= os[k];
            doff += c * ds[k];
            soff += c * ss[k];
        }
        int64_t a1 = a0 + PERM_TILE < A ? a0 + PERM_TILE : A, b1 = b0 + PERM_TILE < B ? b0 + PERM_TILE : B;
        for (int64_t a = a0; a < a1; a++) {
            vg_real *dr = dst + doff + a * DA;
            const vg_real *sr = src + soff + a;
            if (acc)
                for (int64_t b = b0; b < b1; b++) dr[b] += sr[b * SB];
            else
                for (int64_t b = b0; b < b1; b++) dr[b] = sr[b * SB];
        }
    }
}

/* out dim i is inp dim perm[i] (torch.permute). */
static void permute_forward(vg_real *out, const vg_real *inp, const struct vg_permute_desc *d) {
    perm_plan pl;
    perm_plan_make(&pl, d->ndim, d->in_shape, d->perm);
    perm_run(out, inp, &pl, 0);
}

/* dinp += dout permuted back: the inverse permutation applied to dout. */
static void permute_backward(vg_real *dinp, const vg_real *dout, const struct vg_permute_desc *d) {
    int64_t out_shape[VG_MAX_DIMS];
    int inv[VG_MAX_DIMS];
    for (int i = 0; i < d->ndim; i++) {
        out_shape[i] = d->in_shape[d->perm[i]];
        inv[d->perm[i]] = i;
    }
    perm_plan pl;
    perm_plan_make(&pl, d->ndim, out_shape, inv);
    perm_run(dinp, dout, &pl, 1);
}

/* ---- blocks along one axis --------------------------------------------------- */

/* small[o, i, :] (= or +=) big[o, offset + i * step, :] */
static void block_extract(vg_real *small, const vg_real *big, const struct vg_block_desc *d, int accumulate) {
    int64_t rows = d->outer * d->small_len, inner = d->inner;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * inner > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / d->small_len, i = r % d->small_len;
        row_move(small + r * inner, big + (o * d->big_len + d->offset + i * d->step) * inner, inner, accumulate);
    }
}

/* big[o, offset + i * step, :] (= or +=) small[o, i, :] */
static void block_insert(vg_real *big, const vg_real *small, const struct vg_block_desc *d, int accumulate) {
    int64_t rows = d->outer * d->small_len, inner = d->inner;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * inner > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        int64_t o = r / d->small_len, i = r % d->small_len;
        row_move(big + (o * d->big_len + d->offset + i * d->step) * inner, small + r * inner, inner, accumulate);
    }
}

void vg_cpu_register_layout(vg_backend *be) {
    be->reduce_forward = reduce_forward;
    be->reduce_backward = reduce_backward;
    be->permute_forward = permute_forward;
    be->permute_backward = permute_backward;
    be->block_extract = block_extract;
    be->block_insert = block_insert;
}
