/* 3D-DCGAN generator and discriminator; see dcgan3d.h for the geometry. */
#include "models/dcgan3d.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "nn/spectral_norm.h"

static int is_pow2(int x) { return x > 0 && (x & (x - 1)) == 0; }
static int ilog2(int x) {
    int n = 0;
    while (x > 1) x >>= 1, n++;
    return n;
}

const char *vg_g_arch_name(vg_g_arch a) {
    switch (a) {
    case VG_G_DECONV: return "deconv";
    case VG_G_RESIZE: return "resize";
    }
    return NULL;
}

int vg_g_arch_parse(const char *name, vg_g_arch *out) {
    for (int a = VG_G_DECONV; a <= VG_G_RESIZE; a++)
        if (name && strcmp(name, vg_g_arch_name((vg_g_arch)a)) == 0) {
            *out = (vg_g_arch)a;
            return 1;
        }
    return 0;
}

int vg_dcgan3d_latent_dim(const vg_dcgan3d_config *c) {
    return c->z_dim + (c->motion_still ? 1 : c->frames + 1) * c->motion_dim;
}

vg_status vg_dcgan3d_config_check(const vg_dcgan3d_config *c) {
    if (!vg_g_arch_name(c->g_arch)) return vg_fail(VG_ERR_INVALID, "dcgan3d: unknown generator architecture %d", (int)c->g_arch);
    if (!is_pow2(c->size) || c->size < 8 || c->size > 512)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: size must be a power of two in [8, 512], got %d", c->size);
    if (!is_pow2(c->frames) || c->frames > 256)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: frames must be a power of two <= 256, got %d", c->frames);
    if (c->two_stream != 0 && c->two_stream != 1)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: two_stream must be 0 or 1, got %d", c->two_stream);
    if (c->channels != 1 && c->channels != 3)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: channels must be 1 or 3, got %d", c->channels);
    if (c->z_dim < 1 || c->z_dim > 4096) return vg_fail(VG_ERR_INVALID, "dcgan3d: z_dim must be in [1, 4096], got %d", c->z_dim);
    if (c->motion_dim < 0 || c->motion_dim > 1024)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: motion_dim must be in [0, 1024], got %d", c->motion_dim);
    if (c->sprite != 0 && c->sprite != 1) return vg_fail(VG_ERR_INVALID, "dcgan3d: sprite must be 0 or 1, got %d", c->sprite);
    if (c->motion_still != 0 && c->motion_still != 1)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: motion_still must be 0 or 1, got %d", c->motion_still);
    if (c->motion_still && c->motion_dim < 1)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: motion_still needs a motion GRU (motion_dim > 0)");
    if (c->sprite && (!c->two_stream || c->motion_dim < 1))
        return vg_fail(VG_ERR_INVALID, "dcgan3d: the sprite generator needs two_stream and motion_dim > 0 (its path comes "
                                       "from the motion GRU, its background from the second stream)");
    if ((int64_t)c->motion_dim * (c->frames + 1) > ((int64_t)1 << 20))
        return vg_fail(VG_ERR_INVALID, "dcgan3d: motion_dim %d x %d frames is too long a latent vector", c->motion_dim, c->frames);
    if (c->g_base < 1 || c->g_base > 1024 || c->d_base < 1 || c->d_base > 1024)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: base widths must be in [1, 1024], got g %d, d %d", c->g_base, c->d_base);
    if (ilog2(c->size / 4) > VG_DCGAN3D_MAX_STAGES)
        return vg_fail(VG_ERR_INVALID, "dcgan3d: size %d needs more than %d stages", c->size, VG_DCGAN3D_MAX_STAGES);
    /* Bound the parameter count before anything is allocated (a checkpoint's
     * configuration comes from outside): the widest conv of G and of D has
     * base * 2^(S-1) channels on one side. */
    const int S = ilog2(c->size / 4);
    int64_t wide_g = (int64_t)c->g_base << (S - 1), wide_d = (int64_t)c->d_base << (S - 1), total = 0;
    total += (int64_t)(c->z_dim + c->motion_dim) * wide_g * 64; /* an upper bound of each layer: kernels have <= 64 taps */
    total += 6 * (int64_t)c->motion_dim * (c->motion_dim + 1) + 4 * ((int64_t)c->motion_dim + 1); /* GRU, path heads */
    for (int64_t w = wide_g; w >= 2; w /= 2) total += w * (w / 2) * (c->two_stream ? 64 + 16 : 64);
    for (int64_t w = wide_d; w >= 2; w /= 2) total += w * (w / 2) * (c->image_d ? 64 + 16 : 64);
    total += (int64_t)(wide_d + c->g_base + c->d_base) * 64 * 3;
    if (total > ((int64_t)1 << 30))
        return vg_fail(VG_ERR_INVALID, "dcgan3d: widths g %d, d %d at size %d give about %lld parameters (limit %lld)",
                       c->g_base, c->d_base, c->size, (long long)total, (long long)1 << 30);
    return VG_OK;
}

/* Declares a conv weight and, if bn, the BatchNorm parameters and buffers
 * under "<prefix>.net.<index>" and "<prefix>.net.<index + 1>". A transposed
 * convolution's weight is (in, out, ...), a convolution's (out, in, ...). */
static vg_status declare_layer(vg_params *P, vg_dcgan3d_layer *L, const char *prefix, int index, const int64_t wshape[5],
                               int transposed, int bn, int sn) {
    char name[96];
    snprintf(name, sizeof name, "%s.net.%d.weight%s", prefix, index, sn ? "_orig" : "");
    L->weight = vg_param_add(P, name, 5, wshape);
    if (!L->weight) return VG_ERR_INVALID;
    if (sn) {
        int64_t out = wshape[0], rest = wshape[1] * wshape[2] * wshape[3] * wshape[4];
        snprintf(name, sizeof name, "%s.net.%d.weight_u", prefix, index);
        L->sn_u = vg_buffer_add(P, name, 1, &out);
        snprintf(name, sizeof name, "%s.net.%d.weight_v", prefix, index);
        L->sn_v = vg_buffer_add(P, name, 1, &rest);
        if (!L->sn_u || !L->sn_v) return VG_ERR_INVALID;
    }
    if (!bn) return VG_OK;
    /* the BatchNorm's channels are the conv's output channels */
    int64_t c = transposed ? wshape[1] : wshape[0];
    snprintf(name, sizeof name, "%s.net.%d.weight", prefix, index + 1);
    L->bn_weight = vg_param_add(P, name, 1, &c);
    snprintf(name, sizeof name, "%s.net.%d.bias", prefix, index + 1);
    L->bn_bias = vg_param_add(P, name, 1, &c);
    snprintf(name, sizeof name, "%s.net.%d.running_mean", prefix, index + 1);
    L->bn_mean = vg_buffer_add(P, name, 1, &c);
    snprintf(name, sizeof name, "%s.net.%d.running_var", prefix, index + 1);
    L->bn_var = vg_buffer_add(P, name, 1, &c);
    return (L->bn_weight && L->bn_bias && L->bn_mean && L->bn_var) ? VG_OK : VG_ERR_INVALID;
}

static void set_geometry(vg_dcgan3d_layer *L, int kt, int st, int pt, int k, int s, int p) {
    L->k[0] = kt, L->s[0] = st, L->p[0] = pt;
    L->k[1] = L->k[2] = k;
    L->s[1] = L->s[2] = s;
    L->p[1] = L->p[2] = p;
}

/* A random unit vector, as torch's spectral_norm starts u and v. */
static void init_unit(vg_tensor *t, uint64_t seed, uint64_t offset) {
    int64_t n = vg_tensor_numel(t);
    vg_real *h = malloc((size_t)n * sizeof *h);
    if (!h) return;
    vg_tensor_fill_normal(t, seed, offset, 0.0, 1.0);
    vg_tensor_read(t, h);
    double norm = 0;
    for (int64_t i = 0; i < n; i++) norm += (double)h[i] * h[i];
    norm = sqrt(norm) + 1e-12;
    for (int64_t i = 0; i < n; i++) h[i] = (vg_real)(h[i] / norm);
    vg_tensor_write(t, h);
    free(h);
}

/* DCGAN initialisation: conv N(0, 0.02), BN weight N(1, 0.02), BN bias 0,
 * running stats (0, 1), spectral norm vectors random unit; the motion GRU
 * as torch.nn.GRUCell, U(-1/sqrt(M), 1/sqrt(M)) for weights and biases;
 * the sprite's path heads N(0, 0.02) weights (a few tenths of a pixel per
 * frame at first) and zero biases.
 * Each tensor gets its own stream offset. */
static void init_params(vg_params *P, vg_ctx *ctx, uint64_t seed, int motion_dim) {
    uint64_t offset = 0;
    for (int i = 0; i < vg_params_count(P); i++) {
        vg_tensor *t = vg_params_get(P, i);
        const char *name = vg_params_name(P, i);
        size_t n = strlen(name);
        int is_bn = vg_tensor_ndim(t) == 1;
        if (strncmp(name, "G.motion.", 9) == 0) {
            double bound = 1.0 / sqrt((double)motion_dim);
            vg_tensor_fill_uniform(t, seed, offset, -bound, bound);
        } else if (n > 9 && (strcmp(name + n - 9, ".weight_u") == 0 || strcmp(name + n - 9, ".weight_v") == 0)) {
            init_unit(t, seed, offset);
        } else if (n > 12 && strcmp(name + n - 12, "running_mean") == 0) {
            vg_tensor_fill_uniform(t, seed, 0, 0.0, 0.0);
        } else if (n > 11 && strcmp(name + n - 11, "running_var") == 0) {
            vg_tensor_fill_uniform(t, seed, 0, 1.0, 1.0);
        } else if (is_bn && strcmp(name + n - 5, ".bias") == 0) {
            vg_tensor_fill_uniform(t, seed, 0, 0.0, 0.0);
        } else {
            vg_tensor_fill_normal(t, seed, offset, is_bn ? 1.0 : 0.0, 0.02);
        }
        offset += (uint64_t)vg_tensor_numel(t);
    }
    (void)ctx;
}

/* A generator stream's S + 1 layers under "<prefix>.net.<i>": the first
 * transposed convolution from in_channels latent values (temporal kernel t0), then per stage a
 * transposed convolution (or upsampling + Conv3d) with BatchNorm + ReLU
 * between, `out` channels at the end; T doubles in the last t_doublings
 * stages. t0 = 0: a 2D stream (every temporal kernel 1: T stays that of its
 * input), VGAN's background and MoCoGAN's frame generator. */
static vg_status declare_generator(vg_params *P, vg_dcgan3d_layer *L, const char *prefix, const vg_dcgan3d_config *cfg,
                                   int S, int t_doublings, int t0, int64_t in_channels, int64_t out_channels) {
    const int flat = t0 == 0;
    int64_t ch = (int64_t)cfg->g_base << (S - 1);
    int idx = 0;
    vg_status st = declare_layer(P, &L[0], prefix, idx, (int64_t[]){in_channels, ch, flat ? 1 : t0, 4, 4}, 1, 1, 0);
    set_geometry(&L[0], flat ? 1 : t0, 1, 0, 4, 1, 0);
    idx += 3; /* conv, BN, ReLU */
    for (int s = 1; s <= S && st == VG_OK; s++) {
        int64_t out = s == S ? out_channels : ch / 2;
        int last = s == S;
        int doubles = s > S - t_doublings; /* T doubles in the last t_doublings stages */
        int kt = flat ? 1 : doubles ? 4 : 3;
        if (cfg->g_arch == VG_G_RESIZE) {
            idx += 1; /* the Upsample */
            st = declare_layer(P, &L[s], prefix, idx, (int64_t[]){out, ch, flat ? 1 : 3, 3, 3}, 0, !last, 0);
            L[s].up[0] = doubles ? 2 : 1;
            L[s].up[1] = L[s].up[2] = 2;
        } else {
            st = declare_layer(P, &L[s], prefix, idx, (int64_t[]){ch, out, kt, 4, 4}, 1, !last, 0);
        }
        /* the transposed convolution's geometry, also that of a resize
         * stage's equivalent (resize_as_deconv_weight) */
        set_geometry(&L[s], kt, doubles ? 2 : 1, flat ? 0 : 1, 4, 2, 1);
        idx += last ? 2 : 3; /* conv, BN, ReLU / conv, tanh */
        ch = out;
    }
    return st;
}

/* A discriminator's S + 1 layers under "<prefix>.net.<i>": per stage conv
 * (+ BN from the second on) + LeakyReLU, then the head to one logit. The
 * first t_doublings stages halve T (kernel 4, stride 2), the others keep it
 * (kernel 3); t0 = 0 makes every kernel temporal size 1 (D_I, per frame). */
static vg_status declare_discriminator(vg_params *P, vg_dcgan3d_layer *L, const char *prefix, const vg_dcgan3d_config *cfg,
                                       int S, int t_doublings, int t0) {
    int64_t ch = cfg->channels;
    int idx = 0;
    vg_status st = VG_OK;
    for (int s = 0; s < S && st == VG_OK; s++) {
        int64_t out = (int64_t)cfg->d_base << s;
        int bn = s > 0 && !cfg->spectral_norm;
        int kt = t0 == 0 ? 1 : s < t_doublings ? 4 : 3;
        st = declare_layer(P, &L[s], prefix, idx, (int64_t[]){out, ch, kt, 4, 4}, 0, bn, cfg->spectral_norm);
        set_geometry(&L[s], kt, kt == 4 ? 2 : 1, kt == 1 ? 0 : 1, 4, 2, 1);
        idx += bn ? 3 : 2;
        ch = out;
    }
    int kt = t0 == 0 ? 1 : t0;
    if (st == VG_OK) st = declare_layer(P, &L[S], prefix, idx, (int64_t[]){1, ch, kt, 4, 4}, 0, 0, cfg->spectral_norm);
    set_geometry(&L[S], kt, 1, 0, 4, 1, 0);
    return st;
}

/* init (allocate: memory and initial weights) or declare (names and shapes). */
static vg_status build(vg_dcgan3d *m, vg_ctx *ctx, const vg_dcgan3d_config *cfg, uint64_t seed, int allocate) {
    memset(m, 0, sizeof *m);
    vg_status st = vg_dcgan3d_config_check(cfg);
    if (st != VG_OK) return st;
    m->cfg = *cfg;
    const int S = ilog2(cfg->size / 4);
    const int t0 = cfg->frames >> S > 0 ? cfg->frames >> S : 1;
    const int t_doublings = ilog2(cfg->frames / t0); /* <= S */
    m->stages = S;
    m->t0 = t0;
    if ((st = vg_params_new(&m->G, ctx)) != VG_OK || (st = vg_params_new(&m->D, ctx)) != VG_OK) return st;

    m->ng = S + 1;
    const int M = cfg->motion_dim; /* > 0: the main stream is a per-frame 2D generator */
    /* the sprite's stream draws one image per clip from z_C alone */
    st = declare_generator(m->G, m->g, "G", cfg, S, M ? 0 : t_doublings, M ? 0 : t0, cfg->z_dim + (cfg->sprite ? 0 : M),
                           cfg->channels + (cfg->two_stream ? 1 : 0));
    if (cfg->two_stream && st == VG_OK) {
        m->nbg = S + 1;
        st = declare_generator(m->G, m->bg, "G.bg", cfg, S, 0, 0, cfg->z_dim, cfg->channels);
    }
    if (M && st == VG_OK) {
        m->gru_w_ih = vg_param_add(m->G, "G.motion.weight_ih", 2, (int64_t[]){3 * M, M});
        m->gru_w_hh = vg_param_add(m->G, "G.motion.weight_hh", 2, (int64_t[]){3 * M, M});
        m->gru_b_ih = vg_param_add(m->G, "G.motion.bias_ih", 1, (int64_t[]){3 * M});
        m->gru_b_hh = vg_param_add(m->G, "G.motion.bias_hh", 1, (int64_t[]){3 * M});
        if (!m->gru_w_ih || !m->gru_w_hh || !m->gru_b_ih || !m->gru_b_hh) st = VG_ERR_INVALID;
    }
    if (cfg->sprite && st == VG_OK) {
        m->path_start_w = vg_param_add(m->G, "G.path_start.weight", 2, (int64_t[]){2, M});
        m->path_start_b = vg_param_add(m->G, "G.path_start.bias", 1, (int64_t[]){2});
        m->path_step_w = vg_param_add(m->G, "G.path_step.weight", 2, (int64_t[]){2, M});
        m->path_step_b = vg_param_add(m->G, "G.path_step.bias", 1, (int64_t[]){2});
        if (!m->path_start_w || !m->path_start_b || !m->path_step_w || !m->path_step_b) st = VG_ERR_INVALID;
    }
    if (st != VG_OK) return st;

    /* D, and D_I (the same blocks with temporal kernel 1) in D's set */
    m->nd = S + 1;
    st = declare_discriminator(m->D, m->d, "D", cfg, S, t_doublings, t0);
    if (cfg->image_d && st == VG_OK) {
        m->ndi = S + 1;
        st = declare_discriminator(m->D, m->di, "DI", cfg, S, 0, 0);
    }
    if (st != VG_OK || !allocate) return st;
    if ((st = vg_params_finalize(m->G)) != VG_OK || (st = vg_params_finalize(m->D)) != VG_OK) return st;
    init_params(m->G, ctx, seed, M);
    init_params(m->D, ctx, seed ^ 0x9E3779B97F4A7C15ull, 0);
    return VG_OK;
}

vg_status vg_dcgan3d_init(vg_dcgan3d *m, vg_ctx *ctx, const vg_dcgan3d_config *cfg, uint64_t seed) {
    return build(m, ctx, cfg, seed, 1);
}

vg_status vg_dcgan3d_declare(vg_dcgan3d *m, vg_ctx *ctx, const vg_dcgan3d_config *cfg) {
    return build(m, ctx, cfg, 0, 0);
}

void vg_dcgan3d_free(vg_dcgan3d *m) {
    vg_params_free(m->G);
    vg_params_free(m->D);
    m->G = m->D = NULL;
}

static vg_conv_args layer_args(const vg_dcgan3d_layer *L) {
    vg_conv_args a = {0};
    for (int i = 0; i < 3; i++) {
        a.stride[i] = L->s[i];
        a.padding[i] = L->p[i];
    }
    return a;
}

static vg_tensor *batch_norm(vg_ctx *ctx, const vg_dcgan3d_layer *L, vg_tensor *x, vg_bn_mode bn) {
    if (bn == VG_BN_BATCH) return vg_batch_norm(ctx, x, L->bn_weight, L->bn_bias, NULL, NULL, 1, 0.1, 1e-5);
    return vg_batch_norm(ctx, x, L->bn_weight, L->bn_bias, L->bn_mean, L->bn_var, bn == VG_BN_TRAIN, 0.1, 1e-5);
}

/* A resize stage (nearest upsampling by 2, then a kernel-3 convolution with
 * padding 1) is exactly a transposed convolution with stride 2, kernel 4,
 * padding 1 whose kernel, per axis, is (w[2], w[1] + w[2], w[0] + w[1],
 * w[0]): an even output pixel sees x[i - 1] through w[0] and x[i] through
 * w[1] + w[2], an odd one x[i] through w[0] + w[1] and x[i + 1] through w[2].
 * An axis without upsampling becomes the flipped kernel (w[2], w[1], w[0])
 * of a stride-1 transposed convolution. So G computes each stage at the
 * input's resolution with 8 taps per output instead of 27, and never holds
 * the upsampled tensor; the weight is rebuilt from the Conv3d weight
 * (out, in, 3, 3, 3) with recorded ops each step, so its gradient flows
 * back to the Conv3d weight that checkpoints store. */
static vg_tensor *resize_as_deconv_weight(vg_ctx *ctx, vg_tensor *w, const int up[3]) {
    for (int axis = 0; axis < 3 && w; axis++) {
        int d = 2 + axis;
        if (vg_tensor_dim(w, d) == 1) continue; /* a kernel of 1 (a 2D stream's time axis): unchanged */
        vg_tensor *w0 = vg_slice(ctx, w, d, 0, 1, 1), *w1 = vg_slice(ctx, w, d, 1, 2, 1), *w2 = vg_slice(ctx, w, d, 2, 3, 1);
        if (up[axis] == 2) {
            vg_tensor *taps[4] = {w2, vg_add(ctx, w1, w2), vg_add(ctx, w0, w1), w0};
            w = vg_concat(ctx, taps, 4, d);
        } else {
            vg_tensor *taps[3] = {w2, w1, w0};
            w = vg_concat(ctx, taps, 3, d);
        }
    }
    return vg_permute(ctx, w, (const int[]){1, 0, 2, 3, 4}); /* (out, in, ...) -> (in, out, ...) */
}

/* A generator stream's layers from z reshaped to (N, z_dim, 1, 1, 1); BN +
 * ReLU between, the last layer's output bare. */
static vg_tensor *run_generator(vg_ctx *ctx, const vg_dcgan3d_layer *layers, int n, vg_tensor *h, vg_bn_mode bn) {
    for (int s = 0; s < n && h; s++) {
        const vg_dcgan3d_layer *L = &layers[s];
        vg_tensor *w = L->up[0] > 0 ? resize_as_deconv_weight(ctx, L->weight, L->up) : L->weight;
        h = vg_conv_transpose3d(ctx, h, w, NULL, layer_args(L));
        if (s < n - 1) h = vg_relu_inplace(ctx, batch_norm(ctx, L, h, bn));
    }
    return h;
}

/* MoCoGAN's motion states from z (N, latent_dim): h[0] = h_0 (a slice of
 * z), h[t] = GRU(e_t, h[t-1]) for t = 1..T, each (N, M); e_t = 0 with
 * motion_still. With codes != NULL, codes[t - 1] = h[t] as (N, M, 1, 1, 1),
 * recorded right after its GRU step (the order of recording fixes the
 * order in which gradients add up, so it is kept as it always was). 0 on
 * failure. */
static int motion_states(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z, vg_tensor **h, vg_tensor **codes) {
    const int64_t Zc = m->cfg.z_dim, M = m->cfg.motion_dim, T = m->cfg.frames;
    h[0] = vg_slice(ctx, z, 1, Zc, Zc + M, 1);
    vg_tensor *still = m->cfg.motion_still ? vg_tensor_zeros(ctx, 2, (int64_t[]){vg_tensor_dim(z, 0), M}, 0) : NULL;
    for (int64_t t = 1; t <= T && h[t - 1]; t++) {
        vg_tensor *e = still ? still : vg_slice(ctx, z, 1, Zc + M * t, Zc + M * (t + 1), 1);
        h[t] = vg_gru_cell(ctx, e, h[t - 1], m->gru_w_ih, m->gru_w_hh, m->gru_b_ih, m->gru_b_hh);
        if (codes && h[t] && !(codes[t - 1] = vg_reshape(ctx, h[t], 5, (int64_t[]){vg_tensor_dim(z, 0), M, 1, 1, 1})))
            return 0;
    }
    return h[T] != NULL;
}

/* MoCoGAN's per-frame latent codes from z (N, latent_dim): (N, z_dim + M,
 * T, 1, 1), frame t's column [z_C | h_t], h_t = GRU(e_t, h_{t-1}). */
static vg_tensor *motion_latents(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z) {
    const int64_t n = vg_tensor_dim(z, 0), Zc = m->cfg.z_dim, T = m->cfg.frames;
    vg_tensor *zc = vg_slice(ctx, z, 1, 0, Zc, 1);
    vg_tensor *h[257], *codes[256]; /* T <= 256 (vg_dcgan3d_config_check) */
    if (!motion_states(m, ctx, z, h, codes)) return NULL;
    vg_tensor *motion = vg_concat(ctx, codes, (int)T, 2);
    vg_tensor *content = vg_broadcast_to(ctx, vg_reshape(ctx, zc, 5, (int64_t[]){n, Zc, 1, 1, 1}), 5,
                                         (int64_t[]){n, Zc, T, 1, 1});
    return vg_concat(ctx, (vg_tensor *[]){content, motion}, 2, 1);
}

/* The sprite's path in pixels, (N, 2, T): row 0 the x offset, row 1 the y
 * offset of frame t, p_t = (size / 2) * (path_start(h_0) + sum over s = 1..t
 * of path_step(h_s)); h_T is not used. The running sum is a product with
 * the constant (T - 1, T) matrix R[s][t] = [s < t]. */
static vg_tensor *sprite_path(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z) {
    const int64_t n = vg_tensor_dim(z, 0), M = m->cfg.motion_dim, T = m->cfg.frames;
    vg_tensor *h[257];
    if (!motion_states(m, ctx, z, h, NULL)) return NULL;
    vg_tensor *start = vg_reshape(ctx, vg_linear(ctx, h[0], m->path_start_w, m->path_start_b), 3, (int64_t[]){n, 2, 1});
    vg_tensor *path = vg_broadcast_to(ctx, start, 3, (int64_t[]){n, 2, T});
    if (T > 1) {
        vg_tensor *rows[256];
        for (int64_t t = 1; t < T; t++)
            if (!(rows[t - 1] = vg_reshape(ctx, h[t], 3, (int64_t[]){n, 1, M}))) return NULL;
        vg_tensor *steps = vg_linear(ctx, vg_concat(ctx, rows, (int)(T - 1), 1), m->path_step_w, m->path_step_b);
        vg_real *r = calloc((size_t)((T - 1) * T), sizeof *r);
        if (!r) {
            vg_fail(VG_ERR_NOMEM, "dcgan3d: out of host memory for the sprite path");
            return NULL;
        }
        for (int64_t s = 0; s < T - 1; s++)
            for (int64_t t = s + 1; t < T; t++) r[s * T + t] = 1;
        vg_tensor *running = vg_tensor_from(ctx, 2, (int64_t[]){T - 1, T}, r);
        free(r);
        /* (N, T - 1, 2) -> (N, 2, T - 1) @ (T - 1, T) */
        path = vg_add(ctx, path, vg_matmul(ctx, vg_permute(ctx, steps, (const int[]){0, 2, 1}), running));
    }
    return vg_scale(ctx, path, 0.5 * m->cfg.size);
}

/* Bilinear translation weights for one axis, (N * T, S, S): entry [i][j] =
 * max(0, 1 - |sign * (i - j) - d|) for the offset d (N * T) in pixels; with
 * sign +1, K @ x moves x by d along that axis (output i reads input i - d,
 * zeros outside), with sign -1 it is that matrix transposed. */
static vg_tensor *shift_weights(vg_ctx *ctx, vg_tensor *d, int64_t S, int sign) {
    vg_real *g = malloc((size_t)(S * S) * sizeof *g);
    if (!g) {
        vg_fail(VG_ERR_NOMEM, "dcgan3d: out of host memory for the sprite warp");
        return NULL;
    }
    for (int64_t i = 0; i < S; i++)
        for (int64_t j = 0; j < S; j++) g[i * S + j] = (vg_real)(sign * (i - j));
    vg_tensor *grid = vg_tensor_from(ctx, 3, (int64_t[]){1, S, S}, g);
    free(g);
    vg_tensor *dist = vg_abs(ctx, vg_sub(ctx, grid, vg_reshape(ctx, d, 3, (int64_t[]){-1, 1, 1})));
    return vg_relu_inplace(ctx, vg_affine(ctx, dist, -1.0, 1.0));
}

/* The sprite (N, K, 1, H, W) translated by the path (N, 2, T) pixels:
 * (N, K, T, H, W), frame t = Ky_t @ sprite @ Kx_t^T per channel; what moves
 * in from outside is 0. This is torch's grid_sample (bilinear, zeros,
 * align_corners=True) at pixel (x - p_x, y - p_y). */
static vg_tensor *translate_sprite(vg_ctx *ctx, vg_tensor *sprite, vg_tensor *path) {
    const int64_t n = vg_tensor_dim(sprite, 0), K = vg_tensor_dim(sprite, 1), H = vg_tensor_dim(sprite, 3),
                  W = vg_tensor_dim(sprite, 4), T = vg_tensor_dim(path, 2);
    vg_tensor *ky = shift_weights(ctx, vg_slice(ctx, path, 1, 1, 2, 1), H, 1);
    vg_tensor *kxt = shift_weights(ctx, vg_slice(ctx, path, 1, 0, 1, 1), W, -1);
    /* (N, K, H, W) -> (N, H, K, W) -> every frame's copy (N * T, H, K * W) */
    vg_tensor *rows = vg_permute(ctx, vg_reshape(ctx, sprite, 4, (int64_t[]){n, K, H, W}), (const int[]){0, 2, 1, 3});
    rows = vg_reshape(ctx, rows, 4, (int64_t[]){n, 1, H, K * W});
    rows = vg_reshape(ctx, vg_broadcast_to(ctx, rows, 4, (int64_t[]){n, T, H, K * W}), 3, (int64_t[]){n * T, H, K * W});
    vg_tensor *moved = vg_reshape(ctx, vg_matmul(ctx, ky, rows), 3, (int64_t[]){n * T, H * K, W});
    moved = vg_reshape(ctx, vg_matmul(ctx, moved, kxt), 5, (int64_t[]){n, T, H, K, W});
    return vg_permute(ctx, moved, (const int[]){0, 3, 1, 2, 4});
}

vg_tensor *vg_dcgan3d_generate(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z, vg_bn_mode bn) {
    return vg_dcgan3d_generate_parts(m, ctx, z, bn, NULL, NULL);
}

vg_tensor *vg_dcgan3d_generate_parts(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z, vg_bn_mode bn, vg_tensor **mask_out,
                                     vg_tensor **path_out) {
    if (mask_out) *mask_out = NULL;
    if (path_out) *path_out = NULL;
    if (!z) return NULL;
    int64_t n = vg_tensor_dim(z, 0), C = m->cfg.channels;
    if (vg_tensor_ndim(z) != 2 || vg_tensor_dim(z, 1) != vg_dcgan3d_latent_dim(&m->cfg)) {
        vg_fail(VG_ERR_INVALID, "dcgan3d: latent vectors must be (N, %d), got %d-D with %lld values per row",
                vg_dcgan3d_latent_dim(&m->cfg), vg_tensor_ndim(z), (long long)(vg_tensor_ndim(z) == 2 ? vg_tensor_dim(z, 1) : -1));
        return NULL;
    }
    /* the content code as a 1x1x1 "video": the background stream's input, and
     * the main stream's without a motion code */
    vg_tensor *z5 = vg_reshape(ctx, m->cfg.motion_dim ? vg_slice(ctx, z, 1, 0, m->cfg.z_dim, 1) : z, 5,
                               (int64_t[]){n, m->cfg.z_dim, 1, 1, 1});
    const int sprite = m->cfg.sprite;
    vg_tensor *h = run_generator(ctx, m->g, m->ng, m->cfg.motion_dim && !sprite ? motion_latents(m, ctx, z) : z5, bn);
    /* tanh and sigmoid in place: nothing's backward reads their inputs (a
     * transposed convolution's output, a slice's copy) */
    if (!m->nbg) return vg_tanh_inplace(ctx, h);
    /* VGAN: video = mask * foreground + (1 - mask) * background, the
     * background one image per clip, repeated over time */
    vg_tensor *fg = vg_tanh_inplace(ctx, vg_slice(ctx, h, 1, 0, C, 1));
    vg_tensor *mask = vg_sigmoid_inplace(ctx, vg_slice(ctx, h, 1, C, C + 1, 1));
    if (sprite) { /* one foreground image and mask per clip, moved along the path */
        vg_tensor *path = sprite_path(m, ctx, z);
        if (path_out) *path_out = path;
        vg_tensor *moved = translate_sprite(ctx, vg_concat(ctx, (vg_tensor *[]){fg, mask}, 2, 1), path);
        fg = vg_slice(ctx, moved, 1, 0, C, 1);
        mask = vg_slice(ctx, moved, 1, C, C + 1, 1);
    }
    if (mask_out) *mask_out = mask;
    vg_tensor *bg = vg_tanh_inplace(ctx, run_generator(ctx, m->bg, m->nbg, z5, bn));
    return vg_add(ctx, bg, vg_mul(ctx, mask, vg_sub(ctx, fg, bg)));
}

/* A discriminator's blocks: conv (spectrally normalised if so declared),
 * BatchNorm where declared, LeakyReLU(0.2); the last layer is the bare conv. */
static vg_tensor *run_discriminator(vg_ctx *ctx, const vg_dcgan3d_layer *layers, int n, vg_tensor *h, vg_bn_mode bn) {
    for (int s = 0; s < n && h; s++) {
        const vg_dcgan3d_layer *L = &layers[s];
        vg_tensor *w = L->sn_u ? vg_spectral_norm(ctx, L->weight, L->sn_u, L->sn_v, bn == VG_BN_TRAIN, 1e-12) : L->weight;
        h = vg_conv3d(ctx, h, w, NULL, layer_args(L));
        if (s == n - 1) break;
        if (L->bn_weight) h = batch_norm(ctx, L, h, bn);
        h = vg_leaky_relu_inplace(ctx, h, 0.2);
    }
    return h;
}

vg_tensor *vg_dcgan3d_discriminate(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *video, vg_bn_mode bn) {
    if (!video) return NULL;
    int64_t n = vg_tensor_dim(video, 0);
    return vg_reshape(ctx, run_discriminator(ctx, m->d, m->nd, video, bn), 1, &n);
}

vg_tensor *vg_dcgan3d_discriminate_frames(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *video, vg_bn_mode bn) {
    if (!video) return NULL;
    if (m->ndi == 0) {
        vg_fail(VG_ERR_INVALID, "dcgan3d: this model has no image discriminator");
        return NULL;
    }
    /* (N, 1, T, 1, 1) -> (N * T), clip-major */
    int64_t n = vg_tensor_dim(video, 0) * vg_tensor_dim(video, 2);
    return vg_reshape(ctx, run_discriminator(ctx, m->di, m->ndi, video, bn), 1, &n);
}

vg_status vg_dcgan3d_sample(vg_dcgan3d *m, vg_ctx *ctx, const float *z, int n, int chunk, vg_bn_mode bn, float *out) {
    const vg_dcgan3d_config *c = &m->cfg;
    const int64_t clip = (int64_t)c->channels * c->frames * c->size * c->size, latent = vg_dcgan3d_latent_dim(c);
    if (chunk <= 0) chunk = 16;
    vg_ctx_set_grad_enabled(ctx, 0);
    vg_status st = VG_OK;
    for (int i = 0; i < n && st == VG_OK; i += chunk) {
        int k = n - i < chunk ? n - i : chunk;
        vg_ctx_reset(ctx);
        vg_tensor *zt = vg_tensor_from(ctx, 2, (int64_t[]){k, latent}, z + (int64_t)i * latent);
        vg_tensor *video = vg_dcgan3d_generate(m, ctx, zt, bn);
        if (!video)
            st = vg_ctx_status(ctx) != VG_OK ? vg_ctx_status(ctx) : VG_ERR_INVALID;
        else
            st = vg_tensor_read(video, out + (int64_t)i * clip);
    }
    vg_ctx_reset(ctx);
    vg_ctx_set_grad_enabled(ctx, 1);
    return st;
}
