/* i3d.c — Inception-v1 inflated to 3-D (Carreira & Zisserman 2017, the
 * kinetics-i3d release and its PyTorch port's state_dict layout), inference
 * only, for FVD features.
 *
 * Layers (TensorFlow "SAME" padding everywhere, see same_pad):
 *   Conv3d_1a_7x7 (64, k 7, s 2), MaxPool3d_2a_3x3 (k 1,3,3 s 1,2,2),
 *   Conv3d_2b_1x1 (64), Conv3d_2c_3x3 (192), MaxPool3d_3a_3x3 (k 1,3,3 s 1,2,2),
 *   Mixed_3b, Mixed_3c, MaxPool3d_4a_3x3 (k 3 s 2), Mixed_4b..4f,
 *   MaxPool3d_5a_2x2 (k 2 s 2), Mixed_5b, Mixed_5c,
 *   AvgPool3d (2,7,7) stride 1 "VALID", logits = Conv3d 1x1x1 to 400 with
 *   bias (no BN, no ReLU), squeeze H, W, mean over the remaining frames.
 * A Mixed block has four branches concatenated along C: b0 = 1x1x1;
 * b1a 1x1x1 -> b1b 3x3x3; b2a 1x1x1 -> b2b 3x3x3; MaxPool 3x3x3 s 1 -> b3b
 * 1x1x1. Every unit is conv (no bias) + BatchNorm (eps 1e-3, eval) + ReLU;
 * the BatchNorm is folded into the convolution when the weights load:
 *   w' = w * g / sqrt(v + eps),  b' = beta - m * g / sqrt(v + eps).
 *
 * The preprocessing (TF1 bilinear resize to 224 x 224) is here too, done on
 * the host; the network runs as engine ops with autograd off, one clip at a
 * time, stage by stage inside a mark/release of the step arena. */
#include "models/i3d.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/sha256.h"
#include "core/status.h"
#include "io/safetensors.h"
#include "ops/ctx.h"

#define I3D_BN_EPS 1e-3

typedef struct i3d_mixed_spec {
    const char *name;
    int cin;
    int c[6]; /* b0, b1a, b1b, b2a, b2b, b3b */
} i3d_mixed_spec;

/* Channel counts of Inception-v1 (Szegedy et al. 2015, table 1), as I3D
 * inflates them; branch 2 uses a 3x3x3 kernel where GoogLeNet had 5x5. */
static const i3d_mixed_spec mixed_specs[VG_I3D_MIXED] = {
    {"Mixed_3b", 192, {64, 96, 128, 16, 32, 32}},     {"Mixed_3c", 256, {128, 128, 192, 32, 96, 64}},
    {"Mixed_4b", 480, {192, 96, 208, 16, 48, 64}},    {"Mixed_4c", 512, {160, 112, 224, 24, 64, 64}},
    {"Mixed_4d", 512, {128, 128, 256, 24, 64, 64}},   {"Mixed_4e", 512, {112, 144, 288, 32, 64, 64}},
    {"Mixed_4f", 528, {256, 160, 320, 32, 128, 128}}, {"Mixed_5b", 832, {256, 160, 320, 32, 128, 128}},
    {"Mixed_5c", 832, {384, 192, 384, 48, 128, 128}},
};
static const char *const branch_names[6] = {"b0", "b1a", "b1b", "b2a", "b2b", "b3b"};

typedef struct i3d_unit {
    vg_tensor *w; /* (C_out, C_in, kT, kH, kW), BatchNorm folded in */
    vg_tensor *b; /* (C_out) */
    int k[3], s[3];
} i3d_unit;

struct vg_i3d {
    vg_params *P;
    i3d_unit unit[VG_I3D_UNITS]; /* stem (3), then 6 per Mixed block */
    vg_tensor *logits_w;         /* (400, 1024, 1, 1, 1) */
    vg_tensor *logits_b;         /* (400) */
};

int vg_i3d_unit_spec(int i, char *name, size_t name_size, int *cin, int *cout, int k[3], int s[3]) {
    static const struct {
        const char *name;
        int cin, cout, k, s;
    } stem[3] = {{"Conv3d_1a_7x7", 3, 64, 7, 2}, {"Conv3d_2b_1x1", 64, 64, 1, 1}, {"Conv3d_2c_3x3", 64, 192, 3, 1}};
    if (i < 0 || i >= VG_I3D_UNITS) return 0;
    int kk, ss = 1;
    if (i < 3) {
        snprintf(name, name_size, "%s", stem[i].name);
        *cin = stem[i].cin;
        *cout = stem[i].cout;
        kk = stem[i].k;
        ss = stem[i].s;
    } else {
        const i3d_mixed_spec *m = &mixed_specs[(i - 3) / 6];
        int b = (i - 3) % 6;
        snprintf(name, name_size, "%s.%s", m->name, branch_names[b]);
        *cin = (b == 2) ? m->c[1] : (b == 4) ? m->c[3] : m->cin;
        *cout = m->c[b];
        kk = (b == 2 || b == 4) ? 3 : 1;
    }
    for (int a = 0; a < 3; a++) {
        k[a] = kk;
        s[a] = ss;
    }
    return 1;
}

/* ---- TF1 bilinear resize ------------------------------------------------------- */

void vg_i3d_resize_bilinear(float *out, const float *in, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                            int64_t out_w) {
    /* tf.image.resize_bilinear (TF1; align_corners=False, no half-pixel
     * centres): source = dst * (in / out) in float, the upper neighbour
     * clamped to the last row/column, and the same order of float
     * operations as TensorFlow's kernel (top, bottom, then between them). */
    float sy = (float)H / (float)out_h, sx = (float)W / (float)out_w;
    for (int64_t p = 0; p < planes; p++) {
        const float *src = in + p * H * W;
        float *dst = out + p * out_h * out_w;
        for (int64_t y = 0; y < out_h; y++) {
            float fy = (float)y * sy;
            int64_t y0 = (int64_t)floorf(fy), y1 = y0 + 1 < H ? y0 + 1 : H - 1;
            float ly = fy - (float)y0;
            for (int64_t x = 0; x < out_w; x++) {
                float fx = (float)x * sx;
                int64_t x0 = (int64_t)floorf(fx), x1 = x0 + 1 < W ? x0 + 1 : W - 1;
                float lx = fx - (float)x0;
                float tl = src[y0 * W + x0], tr = src[y0 * W + x1];
                float bl = src[y1 * W + x0], br = src[y1 * W + x1];
                float top = tl + (tr - tl) * lx, bottom = bl + (br - bl) * lx;
                dst[y * out_w + x] = top + (bottom - top) * ly;
            }
        }
    }
}

/* ---- loading ---------------------------------------------------------------------- */

static const char *shape_text(char *buf, size_t n, int ndim, const int64_t *shape) {
    size_t used = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < n) snprintf(buf + used, n - used, ")");
    return buf;
}

/* Copy tensor `name` of exactly `shape` into dst (float), or fail naming the
 * file and the tensor. */
static vg_status read_exact(const vg_st_file *f, const char *name, int ndim, const int64_t *shape, float *dst) {
    char want[96], got[96];
    int i = vg_st_find(f, name);
    if (i < 0)
        return vg_fail(VG_ERR_FORMAT, "%s: I3D weights: tensor '%s' is missing (expected shape %s; names in docs/eval.md)",
                       vg_st_path(f), name, shape_text(want, sizeof want, ndim, shape));
    int same = vg_st_ndim(f, i) == ndim;
    for (int k = 0; same && k < ndim; k++) same = vg_st_shape(f, i)[k] == shape[k];
    if (!same)
        return vg_fail(VG_ERR_FORMAT, "%s: I3D weights: tensor '%s' has shape %s, expected %s", vg_st_path(f), name,
                       shape_text(got, sizeof got, vg_st_ndim(f, i), vg_st_shape(f, i)),
                       shape_text(want, sizeof want, ndim, shape));
    int64_t n = 1;
    for (int k = 0; k < ndim; k++) n *= shape[k];
    vg_status s = vg_st_read_f32(f, name, dst, n);
    if (s != VG_OK) return s;
    for (int64_t j = 0; j < n; j++)
        if (!isfinite(dst[j]))
            return vg_fail(VG_ERR_FORMAT, "%s: I3D weights: tensor '%s' has a non-finite value at element %lld",
                           vg_st_path(f), name, (long long)j);
    return VG_OK;
}

/* Read one unit's convolution and BatchNorm and write the folded weight and
 * bias into u. buf holds at least C_out * C_in * k^3 + 4 * C_out floats. */
static vg_status load_unit(const vg_st_file *f, const char *unit, const i3d_unit *u, float *buf) {
    int64_t cout = vg_tensor_dim(u->w, 0), cin = vg_tensor_dim(u->w, 1);
    int64_t wshape[5] = {cout, cin, u->k[0], u->k[1], u->k[2]};
    int64_t per = cin * u->k[0] * u->k[1] * u->k[2];
    float *w = buf, *g = w + cout * per, *beta = g + cout, *mean = beta + cout, *var = mean + cout;
    char name[96];
    static const char *const bn_fields[4] = {"weight", "bias", "running_mean", "running_var"};
    float *bn_dst[4] = {g, beta, mean, var};
    snprintf(name, sizeof name, "%s.conv3d.weight", unit);
    vg_status s = read_exact(f, name, 5, wshape, w);
    for (int j = 0; s == VG_OK && j < 4; j++) {
        snprintf(name, sizeof name, "%s.bn.%s", unit, bn_fields[j]);
        s = read_exact(f, name, 1, &cout, bn_dst[j]);
    }
    if (s != VG_OK) return s;
    for (int64_t o = 0; o < cout; o++) {
        if (!(var[o] + I3D_BN_EPS > 0))
            return vg_fail(VG_ERR_FORMAT, "%s: I3D weights: tensor '%s.bn.running_var' has %g at %lld (must be > -%g)",
                           vg_st_path(f), unit, (double)var[o], (long long)o, I3D_BN_EPS);
        double scale = (double)g[o] / sqrt((double)var[o] + I3D_BN_EPS);
        for (int64_t j = 0; j < per; j++) w[o * per + j] = (float)((double)w[o * per + j] * scale);
        g[o] = (float)((double)beta[o] - (double)mean[o] * scale); /* g now holds the folded bias */
    }
    s = vg_tensor_write(u->w, w);
    if (s == VG_OK) s = vg_tensor_write(u->b, g);
    return s;
}

static vg_status load_all(vg_i3d *m, const vg_st_file *f) {
    /* the largest unit: Mixed_5c.b1b or Mixed_4f.b1b (C_out * C_in * 27), logits 400 * 1024 */
    int64_t cap = 400 * 1024 + 4 * 400;
    for (int i = 0; i < VG_I3D_UNITS; i++) {
        const i3d_unit *u = &m->unit[i];
        int64_t need = vg_tensor_numel(u->w) + 4 * vg_tensor_dim(u->w, 0);
        if (need > cap) cap = need;
    }
    float *buf = malloc((size_t)cap * sizeof *buf);
    if (!buf) return vg_fail(VG_ERR_NOMEM, "%s: out of memory for the I3D weights", vg_st_path(f));
    vg_status s = VG_OK;
    for (int i = 0; s == VG_OK && i < VG_I3D_UNITS; i++) {
        char name[64];
        int cin, cout, k[3], st[3];
        vg_i3d_unit_spec(i, name, sizeof name, &cin, &cout, k, st);
        s = load_unit(f, name, &m->unit[i], buf);
    }
    if (s == VG_OK) s = read_exact(f, "logits.conv3d.weight", 5, (int64_t[]){400, 1024, 1, 1, 1}, buf);
    if (s == VG_OK) s = read_exact(f, "logits.conv3d.bias", 1, (int64_t[]){400}, buf + 400 * 1024);
    if (s == VG_OK) s = vg_tensor_write(m->logits_w, buf);
    if (s == VG_OK) s = vg_tensor_write(m->logits_b, buf + 400 * 1024);
    free(buf);
    return s;
}

vg_status vg_i3d_load(vg_i3d **out, vg_ctx *ctx, const char *path, char hash[65]) {
    VG_ASSERT(out && ctx && path);
    *out = NULL;
    vg_i3d *m = calloc(1, sizeof *m);
    if (!m) return vg_fail(VG_ERR_NOMEM, "%s: out of memory for the I3D model", path);
    vg_st_file *f = NULL;
    vg_status s = vg_params_new(&m->P, ctx);
    for (int i = 0; s == VG_OK && i < VG_I3D_UNITS; i++) {
        char name[64], pname[80];
        int cin, cout;
        i3d_unit *u = &m->unit[i];
        vg_i3d_unit_spec(i, name, sizeof name, &cin, &cout, u->k, u->s);
        snprintf(pname, sizeof pname, "%s.weight", name);
        u->w = vg_param_add(m->P, pname, 5, (int64_t[]){cout, cin, u->k[0], u->k[1], u->k[2]});
        snprintf(pname, sizeof pname, "%s.bias", name);
        u->b = vg_param_add(m->P, pname, 1, (int64_t[]){cout});
        if (!u->w || !u->b) s = VG_ERR_NOMEM;
    }
    if (s == VG_OK) {
        m->logits_w = vg_param_add(m->P, "logits.weight", 5, (int64_t[]){400, 1024, 1, 1, 1});
        m->logits_b = vg_param_add(m->P, "logits.bias", 1, (int64_t[]){400});
        s = (m->logits_w && m->logits_b) ? vg_params_finalize(m->P) : VG_ERR_NOMEM;
    }
    if (s == VG_OK) {
        vg_params_set_requires_grad(m->P, 0);
        s = vg_st_open(&f, path);
    }
    if (s == VG_OK) s = load_all(m, f);
    vg_st_close(f);
    if (s == VG_OK && hash) s = vg_sha256_file(path, hash);
    if (s != VG_OK) {
        vg_i3d_free(m);
        return s;
    }
    *out = m;
    return VG_OK;
}

void vg_i3d_free(vg_i3d *m) {
    if (!m) return;
    vg_params_free(m->P);
    free(m);
}

/* ---- forward ------------------------------------------------------------------------ */

/* TensorFlow "SAME" padding of one axis: out = ceil(in / s), total pad
 * max((out - 1) s + k - in, 0), the odd pixel at the end. */
static void same_pad(int64_t in, int k, int s, int64_t *front, int64_t *back) {
    int64_t out = (in + s - 1) / s, total = (out - 1) * s + k - in;
    if (total < 0) total = 0;
    *front = total / 2;
    *back = total - *front;
}

/* Pads for the three spatial axes of x (N, C, T, H, W): symmetric ones in
 * sym[] (returns 0), or the torch-ordered pad list in pad[] (returns 1). */
static int same_pads(vg_tensor *x, const int k[3], const int s[3], int sym[3], int64_t pad[6]) {
    int asym = 0;
    for (int a = 0; a < 3; a++) {
        int64_t f, b;
        same_pad(vg_tensor_dim(x, 2 + a), k[a], s[a], &f, &b);
        pad[2 * (2 - a)] = f; /* torch lists the last dim first */
        pad[2 * (2 - a) + 1] = b;
        sym[a] = (int)f;
        asym |= f != b;
    }
    return asym;
}

static vg_tensor *unit_forward(vg_ctx *ctx, const i3d_unit *u, vg_tensor *x) {
    if (!x) return NULL;
    int sym[3];
    int64_t pad[6];
    vg_conv_args a = {.stride = {u->s[0], u->s[1], u->s[2]}};
    if (same_pads(x, u->k, u->s, sym, pad)) {
        x = vg_pad(ctx, x, pad, 6, 0.0);
    } else {
        for (int i = 0; i < 3; i++) a.padding[i] = sym[i];
    }
    return vg_relu_inplace(ctx, vg_conv3d(ctx, x, u->w, u->b, a));
}

/* Max pooling with "SAME" padding. TensorFlow ignores padded cells (as if
 * they were -inf); torch's own pool padding does the same, but it is
 * symmetric, so an odd total is padded with zeros first: the inputs here
 * are ReLU outputs (>= 0) and every window holds at least one real cell, so
 * a zero never exceeds the window's true maximum and the result is equal. */
static vg_tensor *maxpool_same(vg_ctx *ctx, vg_tensor *x, int k0, int k1, int k2, int s0, int s1, int s2) {
    if (!x) return NULL;
    int k[3] = {k0, k1, k2}, s[3] = {s0, s1, s2}, sym[3];
    int64_t pad[6];
    vg_pool_args a = {.kernel = {k0, k1, k2}, .stride = {s0, s1, s2}};
    if (same_pads(x, k, s, sym, pad)) {
        x = vg_pad(ctx, x, pad, 6, 0.0);
    } else {
        for (int i = 0; i < 3; i++) a.padding[i] = sym[i];
    }
    return vg_max_pool(ctx, x, a);
}

static vg_tensor *mixed_forward(vg_ctx *ctx, const i3d_unit *u, vg_tensor *x) {
    vg_tensor *br[4];
    br[0] = unit_forward(ctx, &u[0], x);
    br[1] = unit_forward(ctx, &u[2], unit_forward(ctx, &u[1], x));
    br[2] = unit_forward(ctx, &u[4], unit_forward(ctx, &u[3], x));
    br[3] = unit_forward(ctx, &u[5], maxpool_same(ctx, x, 3, 3, 3, 1, 1, 1));
    for (int i = 0; i < 4; i++)
        if (!br[i]) return NULL;
    return vg_concat(ctx, br, 4, 1);
}

/* Per-channel means of x (1, C, T, H, W) into host (C). */
static vg_status channel_means(vg_ctx *ctx, vg_tensor *x, float *host) {
    vg_tensor *r = vg_reshape(ctx, x, 3, (int64_t[]){1, vg_tensor_dim(x, 1), -1});
    vg_tensor *mean = vg_mean_dim(ctx, r, 2, 0);
    return mean ? vg_tensor_read(mean, host) : vg_ctx_status(ctx);
}

/* End of a stage: keep x (in host memory), give the arena back to mark and
 * put x back. Only the stage's output survives, so the arena's peak is the
 * largest stage, not the whole network (the stem alone makes ~200 MB of
 * activations and padded copies at 16 x 224 x 224). */
typedef struct stage_buf {
    float *data;
    int64_t cap;
} stage_buf;

static vg_tensor *stage_end(vg_ctx *ctx, vg_ctx_mark mark, vg_tensor *x, stage_buf *b) {
    if (!x) return NULL;
    int64_t n = vg_tensor_numel(x), shape[5];
    for (int i = 0; i < 5; i++) shape[i] = vg_tensor_dim(x, i);
    if (n > b->cap) {
        float *p = realloc(b->data, (size_t)n * sizeof *p);
        if (!p) {
            vg_fail(VG_ERR_NOMEM, "i3d: out of memory for a %lld-element activation", (long long)n);
            return NULL;
        }
        b->data = p;
        b->cap = n;
    }
    if (vg_tensor_read(x, b->data) != VG_OK) return NULL;
    vg_ctx_release(ctx, mark);
    return vg_tensor_from(ctx, 5, shape, b->data);
}

/* One clip (1, 3, T, 224, 224) -> logits (400); taps may be NULL. */
static vg_status clip_forward(vg_i3d *m, vg_ctx *ctx, vg_tensor *x, float *logits, float *mean_3c, float *mean_4f) {
    const i3d_unit *u = m->unit;
    vg_ctx_mark mark = vg_ctx_get_mark(ctx);
    stage_buf buf = {0};
    vg_status s = VG_OK;
    x = unit_forward(ctx, &u[0], x);
    x = stage_end(ctx, mark, maxpool_same(ctx, x, 1, 3, 3, 1, 2, 2), &buf);
    x = unit_forward(ctx, &u[1], x);
    x = unit_forward(ctx, &u[2], x);
    x = stage_end(ctx, mark, maxpool_same(ctx, x, 1, 3, 3, 1, 2, 2), &buf);
    for (int b = 0; b < VG_I3D_MIXED; b++) {
        if (b == 2) x = maxpool_same(ctx, x, 3, 3, 3, 2, 2, 2);
        if (b == 7) x = maxpool_same(ctx, x, 2, 2, 2, 2, 2, 2);
        x = mixed_forward(ctx, &u[3 + 6 * b], x);
        if (x && b == 1 && mean_3c) s = channel_means(ctx, x, mean_3c);
        if (x && b == 6 && mean_4f && s == VG_OK) s = channel_means(ctx, x, mean_4f);
        x = stage_end(ctx, mark, x, &buf);
    }
    x = vg_avg_pool(ctx, x, (vg_pool_args){.kernel = {2, 7, 7}, .stride = {1, 1, 1}});
    x = vg_conv3d(ctx, x, m->logits_w, m->logits_b, (vg_conv_args){{1, 1, 1}, {0, 0, 0}, {0, 0, 0}});
    if (x) x = vg_mean_dim(ctx, vg_reshape(ctx, x, 2, (int64_t[]){400, -1}), 1, 0);
    free(buf.data);
    if (!x) return vg_ctx_status(ctx) != VG_OK ? vg_ctx_status(ctx) : VG_ERR_NOMEM;
    if (s != VG_OK) return s;
    return vg_tensor_read(x, logits);
}

vg_status vg_i3d_features_taps(vg_i3d *m, vg_ctx *ctx, const float *clips, int64_t n, int64_t C, int64_t T,
                               int64_t H, int64_t W, float *out, float *mean_3c, float *mean_4f) {
    VG_ASSERT(m && ctx && (clips || n == 0) && (out || n == 0));
    if (n < 0 || (C != 1 && C != 3) || T < 9 || H < 1 || W < 1)
        return vg_fail(VG_ERR_INVALID,
                       "i3d: clips of shape (%lld, %lld, %lld, %lld, %lld): need C = 1 or 3, T >= 9 frames, H, W >= 1",
                       (long long)n, (long long)C, (long long)T, (long long)H, (long long)W);
    if (H > (INT64_MAX / 16) / W || T > (INT64_MAX / 16) / (H * W))
        return vg_fail(VG_ERR_INVALID, "i3d: clip of %lld x %lld x %lld is too large", (long long)T, (long long)H,
                       (long long)W);
    const int64_t S = VG_I3D_SIZE, plane = S * S;
    float *rgb = malloc((size_t)(3 * T * plane) * sizeof *rgb); /* (3, T, 224, 224) */
    if (!rgb) return vg_fail(VG_ERR_NOMEM, "i3d: out of memory for a %lld-frame clip", (long long)T);
    int grad = ctx->grad_enabled;
    vg_ctx_set_grad_enabled(ctx, 0);
    vg_status s = VG_OK;
    for (int64_t i = 0; s == VG_OK && i < n; i++) {
        const float *clip = clips + i * C * T * H * W;
        vg_i3d_resize_bilinear(rgb, clip, C * T, H, W, S, S);
        for (int64_t c = C; c < 3; c++) memcpy(rgb + c * T * plane, rgb, (size_t)(T * plane) * sizeof *rgb);
        vg_ctx_mark mark = vg_ctx_get_mark(ctx);
        vg_tensor *x = vg_tensor_from(ctx, 5, (int64_t[]){1, 3, T, S, S}, rgb);
        s = x ? clip_forward(m, ctx, x, out + i * 400, mean_3c ? mean_3c + i * 480 : NULL,
                             mean_4f ? mean_4f + i * 832 : NULL)
              : vg_ctx_status(ctx);
        vg_ctx_release(ctx, mark);
    }
    vg_ctx_set_grad_enabled(ctx, grad);
    free(rgb);
    return s;
}

vg_status vg_i3d_features(vg_i3d *m, vg_ctx *ctx, const float *clips, int64_t n, int64_t C, int64_t T, int64_t H,
                          int64_t W, float *out) {
    return vg_i3d_features_taps(m, ctx, clips, n, C, T, H, W, out, NULL, NULL);
}
