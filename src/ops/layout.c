/* Layout ops: reshape, permute, concat, slice, broadcast_to and pad, matching
 * torch.reshape, torch.permute, torch.cat, Python slicing x[..., a:b:s, ...],
 * torch.broadcast_to and torch.nn.functional.pad (constant mode). Tensors
 * are always contiguous, so every op here copies its result; backward
 * accumulates into the input gradients.
 *
 * torch returns views for permute, slice and broadcast_to; a view's memory
 * sharing is never observable through this API, so copies are equivalent. */
#include "ops/op.h"

/* ---- reshape ----------------------------------------------------------------- */

static void reshape_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    vg_real *dx = vg_op_grad(ctx, x);
    if (dx) ctx->be->accumulate(dx, node->grad, x->numel);
}

vg_tensor *vg_reshape(vg_ctx *ctx, vg_tensor *x, int ndim, const int64_t *shape) {
    const char *op = "reshape";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    char s1[128], s2[128];
    if (ndim < 0 || ndim > VG_MAX_DIMS)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "%d dims requested (at most %d supported)", ndim, VG_MAX_DIMS);
    if (ndim > 0 && !shape) return vg_op_fail(ctx, VG_ERR_INVALID, op, "shape is NULL");
    int64_t out_shape[VG_MAX_DIMS], known = 1;
    int infer = -1;
    for (int i = 0; i < ndim; i++) {
        out_shape[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0)
                return vg_op_fail(ctx, VG_ERR_INVALID, op, "shape %s has more than one -1",
                                  vg_shape_str(s1, sizeof s1, ndim, shape));
            infer = i;
        } else if (shape[i] < 0) {
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "shape %s has a negative size in dim %d",
                              vg_shape_str(s1, sizeof s1, ndim, shape), i);
        } else if (known != 0 && shape[i] > INT64_MAX / known) {
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "shape %s overflows", vg_shape_str(s1, sizeof s1, ndim, shape));
        } else {
            known *= shape[i];
        }
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known != 0)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "cannot reshape %s (%lld elements) into %s",
                              vg_shape_str(s1, sizeof s1, x->ndim, x->shape), (long long)x->numel,
                              vg_shape_str(s2, sizeof s2, ndim, shape));
        out_shape[infer] = x->numel / known;
    } else if (known != x->numel) {
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "cannot reshape %s (%lld elements) into %s (%lld elements)",
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape), (long long)x->numel,
                          vg_shape_str(s2, sizeof s2, ndim, shape), (long long)known);
    }
    vg_tensor *out = vg_op_output(ctx, op, ndim, out_shape, &x, 1, reshape_backward);
    if (!out) return NULL;
    ctx->be->copy(out->data, x->data, (size_t)x->numel * sizeof(vg_real));
    return out;
}

/* ---- permute ----------------------------------------------------------------- */

typedef struct permute_saved {
    struct vg_permute_desc d;
} permute_saved;

static void permute_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    const permute_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x);
    if (dx) ctx->be->permute_backward(dx, node->grad, &s->d);
}

vg_tensor *vg_permute(vg_ctx *ctx, vg_tensor *x, const int *perm) {
    const char *op = "permute";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, permute_forward);
    VG_NEED_KERNEL(ctx, op, permute_backward);
    if (x->ndim > 0 && !perm) return vg_op_fail(ctx, VG_ERR_INVALID, op, "perm is NULL");
    permute_saved *s = vg_op_saved(ctx, op, sizeof *s);
    if (!s) return NULL;
    int seen[VG_MAX_DIMS] = {0};
    int64_t out_shape[VG_MAX_DIMS];
    char s1[128];
    s->d.ndim = x->ndim;
    for (int i = 0; i < x->ndim; i++) {
        int p = perm[i] < 0 ? perm[i] + x->ndim : perm[i]; /* torch accepts negative dims here too */
        if (p < 0 || p >= x->ndim || seen[p]++)
            return vg_op_fail(ctx, VG_ERR_INVALID, op,
                              "perm entry %d is %d: perm must be a permutation of 0..%d for input %s", i, perm[i],
                              x->ndim - 1, vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
        s->d.perm[i] = p;
        s->d.in_shape[i] = x->shape[i];
        out_shape[i] = x->shape[p];
    }
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, out_shape, &x, 1, permute_backward);
    if (!out) return NULL;
    out->saved = s;
    ctx->be->permute_forward(out->data, x->data, &s->d);
    return out;
}

/* ---- concat ------------------------------------------------------------------ */

/* A node holds at most VG_MAX_SRC inputs; longer lists are concatenated in
 * groups of that size first (concat is associative). */
typedef struct concat_saved {
    int n;
    struct vg_block_desc d[VG_MAX_SRC];
} concat_saved;

static void concat_backward(vg_ctx *ctx, vg_tensor *node) {
    const concat_saved *s = node->saved;
    for (int i = 0; i < s->n; i++) {
        vg_real *dx = vg_op_grad(ctx, node->src[i]);
        if (dx) ctx->be->block_extract(dx, node->grad, &s->d[i], 1);
    }
}

/* n in [1, VG_MAX_SRC], inputs already validated; dim normalised. */
static vg_tensor *concat_few(vg_ctx *ctx, vg_tensor *const *xs, int n, int dim) {
    const char *op = "concat";
    concat_saved *s = vg_op_saved(ctx, op, sizeof *s);
    if (!s) return NULL;
    int64_t shape[VG_MAX_DIMS], outer = 1, inner = 1, total = 0;
    for (int k = 0; k < xs[0]->ndim; k++) {
        shape[k] = xs[0]->shape[k];
        if (k < dim) outer *= shape[k];
        if (k > dim) inner *= shape[k];
    }
    for (int i = 0; i < n; i++) total += xs[i]->shape[dim];
    shape[dim] = total;
    s->n = n;
    int64_t offset = 0;
    for (int i = 0; i < n; i++) {
        s->d[i] = (struct vg_block_desc){.outer = outer, .inner = inner, .big_len = total,
                                         .small_len = xs[i]->shape[dim], .offset = offset, .step = 1};
        offset += xs[i]->shape[dim];
    }
    vg_tensor *out = vg_op_output(ctx, op, xs[0]->ndim, shape, xs, n, concat_backward);
    if (!out) return NULL;
    out->saved = s;
    for (int i = 0; i < n; i++) ctx->be->block_insert(out->data, xs[i]->data, &s->d[i], 0);
    return out;
}

static vg_tensor *concat_tree(vg_ctx *ctx, vg_tensor *const *xs, int n, int dim) {
    if (n <= VG_MAX_SRC) return concat_few(ctx, xs, n, dim);
    vg_tensor *parts[VG_MAX_SRC];
    int groups = 0;
    for (int start = 0; start < n; groups++) { /* at most VG_MAX_SRC groups of near-equal size */
        int size = (n - start + (VG_MAX_SRC - groups) - 1) / (VG_MAX_SRC - groups);
        parts[groups] = concat_tree(ctx, xs + start, size, dim);
        if (!parts[groups]) return NULL;
        start += size;
    }
    return concat_few(ctx, parts, groups, dim);
}

vg_tensor *vg_concat(vg_ctx *ctx, vg_tensor *const *xs, int n, int dim) {
    const char *op = "concat";
    if (n < 1 || !xs) return vg_op_fail(ctx, VG_ERR_INVALID, op, "needs at least one input (got %d)", n);
    if (!vg_op_inputs_ok(ctx, op, n, xs)) return NULL;
    VG_NEED_KERNEL(ctx, op, block_insert);
    VG_NEED_KERNEL(ctx, op, block_extract);
    char s1[128], s2[128];
    int nd = xs[0]->ndim, d = vg_op_dim(dim, nd);
    if (nd == 0) return vg_op_fail(ctx, VG_ERR_INVALID, op, "cannot concatenate 0-d tensors");
    if (d < 0) return vg_op_fail(ctx, VG_ERR_INVALID, op, "dim %d out of range for %d-D inputs", dim, nd);
    for (int i = 0; i < n; i++) {
        int same = xs[i]->ndim == nd;
        for (int k = 0; same && k < nd; k++) same = k == d || xs[i]->shape[k] == xs[0]->shape[k];
        if (!same)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "input %d has shape %s, input 0 has %s: all dims but %d must match",
                              i, vg_shape_str(s1, sizeof s1, xs[i]->ndim, xs[i]->shape),
                              vg_shape_str(s2, sizeof s2, nd, xs[0]->shape), d);
    }
    return concat_tree(ctx, xs, n, d);
}

/* ---- slice ------------------------------------------------------------------- */

typedef struct slice_saved {
    struct vg_block_desc d;
} slice_saved;

static void slice_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    const slice_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x);
    if (dx) ctx->be->block_insert(dx, node->grad, &s->d, 1);
}

/* Python's rule for one slice bound: negative counts from the end, then
 * clamp to [0, len]. */
static int64_t slice_bound(int64_t v, int64_t len) {
    if (v < 0) v = v < -len ? 0 : v + len;
    return v > len ? len : v;
}

vg_tensor *vg_slice(vg_ctx *ctx, vg_tensor *x, int dim, int64_t start, int64_t end, int64_t step) {
    const char *op = "slice";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, block_extract);
    VG_NEED_KERNEL(ctx, op, block_insert);
    char s1[128];
    int d = vg_op_dim(dim, x->ndim);
    if (d < 0)
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "dim %d out of range for input %s", dim,
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
    if (step < 1) return vg_op_fail(ctx, VG_ERR_INVALID, op, "step must be >= 1, got %lld", (long long)step);
    int64_t len = x->shape[d];
    int64_t a = slice_bound(start, len), b = slice_bound(end, len);
    int64_t count = b > a ? (b - a - 1) / step + 1 : 0;
    slice_saved *s = vg_op_saved(ctx, op, sizeof *s);
    if (!s) return NULL;
    int64_t shape[VG_MAX_DIMS], outer = 1, inner = 1;
    for (int k = 0; k < x->ndim; k++) {
        shape[k] = k == d ? count : x->shape[k];
        if (k < d) outer *= x->shape[k];
        if (k > d) inner *= x->shape[k];
    }
    s->d = (struct vg_block_desc){.outer = outer, .inner = inner, .big_len = len, .small_len = count,
                                  .offset = a, .step = step};
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, shape, &x, 1, slice_backward);
    if (!out) return NULL;
    out->saved = s;
    ctx->be->block_extract(out->data, x->data, &s->d, 0);
    return out;
}

/* ---- broadcast_to -------------------------------------------------------------- */

/* The target shape cut into runs of dims that are all broadcast (input size
 * 1, target size not 1) or all kept; each broadcast run is expanded with one
 * reduce_backward (forward) and summed back with one reduce_forward
 * (backward), so the backward is the deterministic reduction kernel. */
typedef struct broadcast_saved {
    int ngroups;
    int64_t size[VG_MAX_DIMS]; /* target size of each run */
    int bcast[VG_MAX_DIMS];    /* 1: broadcast run (input size 1) */
} broadcast_saved;

static void broadcast_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    const broadcast_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x);
    if (!dx) return;
    int64_t cur[VG_MAX_DIMS];
    for (int g = 0; g < s->ngroups; g++) cur[g] = s->size[g];
    const vg_real *src = node->grad;
    for (int g = s->ngroups - 1; g >= 0; g--) {
        if (!s->bcast[g]) continue;
        struct vg_reduce_desc d = {.outer = 1, .len = cur[g], .inner = 1, .scale = 1.0};
        for (int k = 0; k < g; k++) d.outer *= cur[k];
        for (int k = g + 1; k < s->ngroups; k++) d.inner *= cur[k];
        vg_real *dst = vg_op_buffer(ctx, "broadcast_to", d.outer * d.inner);
        if (!dst) return;
        ctx->be->reduce_forward(dst, src, &d);
        cur[g] = 1;
        src = dst;
    }
    ctx->be->accumulate(dx, src, x->numel);
}

vg_tensor *vg_broadcast_to(vg_ctx *ctx, vg_tensor *x, int ndim, const int64_t *shape) {
    const char *op = "broadcast_to";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, reduce_forward);
    VG_NEED_KERNEL(ctx, op, reduce_backward);
    char s1[128], s2[128];
    if (ndim < x->ndim || ndim > VG_MAX_DIMS || (ndim > 0 && !shape))
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "cannot broadcast %s to %d dims (need %d to %d dims)",
                          vg_shape_str(s1, sizeof s1, x->ndim, x->shape), ndim, x->ndim, VG_MAX_DIMS);
    int lead = ndim - x->ndim;
    int64_t target[VG_MAX_DIMS];
    broadcast_saved *s = vg_op_saved(ctx, op, sizeof *s);
    if (!s) return NULL;
    s->ngroups = 0;
    for (int k = 0; k < ndim; k++) {
        int64_t have = k < lead ? 1 : x->shape[k - lead], want = shape[k];
        if (want == -1 && k >= lead) want = have; /* torch: -1 keeps an existing dim */
        if (want < 0 || (have != want && have != 1))
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "cannot broadcast %s to %s (dim %d: %lld to %lld)",
                              vg_shape_str(s1, sizeof s1, x->ndim, x->shape), vg_shape_str(s2, sizeof s2, ndim, shape),
                              k, (long long)have, (long long)shape[k]);
        target[k] = want;
        int b = have != want;
        if (s->ngroups > 0 && s->bcast[s->ngroups - 1] == b) {
            s->size[s->ngroups - 1] *= want;
        } else {
            s->size[s->ngroups] = want;
            s->bcast[s->ngroups] = b;
            s->ngroups++;
        }
    }
    vg_tensor *out = vg_op_output(ctx, op, ndim, target, &x, 1, broadcast_backward);
    if (!out) return NULL;
    out->saved = s;
    int last = -1;
    for (int g = 0; g < s->ngroups; g++)
        if (s->bcast[g]) last = g;
    if (last < 0) {
        ctx->be->copy(out->data, x->data, (size_t)x->numel * sizeof(vg_real));
        return out;
    }
    /* expand one broadcast run at a time, left to right; the last writes out */
    int64_t cur[VG_MAX_DIMS];
    for (int g = 0; g < s->ngroups; g++) cur[g] = s->bcast[g] ? 1 : s->size[g];
    const vg_real *src = x->data;
    for (int g = 0; g <= last; g++) {
        if (!s->bcast[g]) continue;
        struct vg_reduce_desc d = {.outer = 1, .len = s->size[g], .inner = 1, .scale = 1.0};
        for (int k = 0; k < g; k++) d.outer *= cur[k];
        for (int k = g + 1; k < s->ngroups; k++) d.inner *= cur[k];
        vg_real *dst = g == last ? out->data : vg_op_buffer(ctx, op, d.outer * d.len * d.inner);
        if (!dst) return NULL;
        ctx->be->zero(dst, (size_t)(d.outer * d.len * d.inner) * sizeof(vg_real));
        ctx->be->reduce_backward(dst, src, &d);
        cur[g] = s->size[g];
        src = dst;
    }
    return out;
}

/* ---- pad ------------------------------------------------------------------- */

/* One block per padded axis, in the order they are applied (last dim first,
 * as torch lists them): the forward fills a buffer with the value and
 * inserts the previous result; the backward extracts the blocks in reverse. */
typedef struct pad_saved {
    int naxes;
    struct vg_block_desc d[VG_MAX_DIMS];
} pad_saved;

static void pad_backward(vg_ctx *ctx, vg_tensor *node) {
    vg_tensor *x = node->src[0];
    const pad_saved *s = node->saved;
    vg_real *dx = vg_op_grad(ctx, x);
    if (!dx) return;
    if (s->naxes == 0) {
        ctx->be->accumulate(dx, node->grad, x->numel);
        return;
    }
    const vg_real *g = node->grad;
    for (int i = s->naxes - 1; i > 0; i--) {
        const struct vg_block_desc *d = &s->d[i];
        vg_real *small = vg_op_buffer(ctx, "pad", d->outer * d->small_len * d->inner);
        if (!small) return;
        ctx->be->block_extract(small, g, d, 0);
        g = small;
    }
    ctx->be->block_extract(dx, g, &s->d[0], 1);
}

vg_tensor *vg_pad(vg_ctx *ctx, vg_tensor *x, const int64_t *pad, int npad, double value) {
    const char *op = "pad";
    if (!vg_op_inputs_ok(ctx, op, 1, &x)) return NULL;
    VG_NEED_KERNEL(ctx, op, fill);
    VG_NEED_KERNEL(ctx, op, block_insert);
    VG_NEED_KERNEL(ctx, op, block_extract);
    char s1[128];
    if (npad < 0 || npad % 2 != 0 || npad / 2 > x->ndim || (npad > 0 && !pad))
        return vg_op_fail(ctx, VG_ERR_INVALID, op, "%d pad values for input %s: need an even count, at most 2 per dim",
                          npad, vg_shape_str(s1, sizeof s1, x->ndim, x->shape));
    pad_saved *s = vg_op_saved(ctx, op, sizeof *s);
    if (!s) return NULL;
    int64_t cur[VG_MAX_DIMS];
    for (int k = 0; k < x->ndim; k++) cur[k] = x->shape[k];
    s->naxes = 0;
    for (int i = 0; i < npad / 2; i++) {
        int k = x->ndim - 1 - i;
        int64_t front = pad[2 * i], back = pad[2 * i + 1];
        if (front < 0 || back < 0 || front > INT64_MAX / 4 || back > INT64_MAX / 4)
            return vg_op_fail(ctx, VG_ERR_INVALID, op, "pad (%lld, %lld) of dim %d: must be >= 0 (cropping is slice's job)",
                              (long long)front, (long long)back, k);
        if (front == 0 && back == 0) continue;
        struct vg_block_desc d = {.outer = 1, .inner = 1, .big_len = cur[k] + front + back, .small_len = cur[k],
                                  .offset = front, .step = 1};
        for (int j = 0; j < k; j++) d.outer *= cur[j];
        for (int j = k + 1; j < x->ndim; j++) d.inner *= cur[j];
        s->d[s->naxes++] = d;
        cur[k] = d.big_len;
    }
    vg_tensor *out = vg_op_output(ctx, op, x->ndim, cur, &x, 1, pad_backward);
    if (!out) return NULL;
    out->saved = s;
    if (s->naxes == 0) {
        ctx->be->copy(out->data, x->data, (size_t)x->numel * sizeof(vg_real));
        return out;
    }
    const vg_real *src = x->data;
    for (int i = 0; i < s->naxes; i++) {
        const struct vg_block_desc *d = &s->d[i];
        int64_t n = d->outer * d->big_len * d->inner;
        vg_real *dst = i == s->naxes - 1 ? out->data : vg_op_buffer(ctx, op, n);
        if (!dst) return NULL;
        ctx->be->fill(dst, n, value);
        ctx->be->block_insert(dst, src, d, 0);
        src = dst;
    }
    return out;
}
