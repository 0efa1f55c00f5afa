/* The GAN training iteration; see trainer.h. */
#include "train/trainer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/checked.h"
#include "core/rng.h"
#include "core/status.h"
#include "ops/ctx.h"

/* Stream ids keep the noise and other random draws apart. */
#define NOISE_STREAM 0x6E6F697365ull /* "noise" */
#define INSTANCE_NOISE_STREAM 0x696E6F697365ull /* "inoise" */

void vg_train_config_default(vg_train_config *c) {
    *c = (vg_train_config){
        .model = {.size = 32, .frames = 16, .channels = 3, .z_dim = 100, .g_base = 64, .d_base = 64},
        .loss = VG_LOSS_NONSAT,
        .batch = 16,
        .d_steps = 1,
        .lr_g = 2e-4,
        .lr_d = 2e-4,
        .beta1 = 0.5,
        .beta2 = 0.999,
        .eps = 1e-8,
        .ema_decay = 0.999,
        .seed = 1,
    };
}

vg_status vg_train_config_check(const vg_train_config *cfg) {
    vg_status st = vg_dcgan3d_config_check(&cfg->model);
    if (st != VG_OK) return st;
    if (cfg->batch < 1 || cfg->d_steps < 1)
        return vg_fail(VG_ERR_INVALID, "trainer: batch and d_steps must be >= 1 (got %d, %d)", cfg->batch, cfg->d_steps);
    if (!(cfg->label_smooth >= 0 && cfg->label_smooth < 1))
        return vg_fail(VG_ERR_INVALID, "trainer: label smoothing must be in [0, 1) (got %g)", cfg->label_smooth);
    if (cfg->label_smooth != 0 && cfg->loss == VG_LOSS_HINGE)
        return vg_fail(VG_ERR_INVALID, "trainer: label smoothing needs a loss with targets (nonsat or lsgan), not hinge");
    if (!(cfg->mask_l1 >= 0 && isfinite(cfg->mask_l1)))
        return vg_fail(VG_ERR_INVALID, "trainer: the mask penalty must be a finite weight >= 0 (got %g)", cfg->mask_l1);
    if (cfg->mask_l1 != 0 && !cfg->model.two_stream)
        return vg_fail(VG_ERR_INVALID, "trainer: the mask penalty needs the two-stream generator (it has the mask)");
    if (!(cfg->path_l1 >= 0 && isfinite(cfg->path_l1)))
        return vg_fail(VG_ERR_INVALID, "trainer: the path penalty must be a finite weight >= 0 (got %g)", cfg->path_l1);
    if (cfg->path_l1 != 0 && (!cfg->model.sprite || cfg->model.frames < 3))
        return vg_fail(VG_ERR_INVALID, "trainer: the path penalty needs the sprite generator and 3 or more frames (it "
                                       "penalises the sprite path's second differences)");
    if (!(cfg->instance_noise >= 0 && isfinite(cfg->instance_noise)) || cfg->noise_steps < 0)
        return vg_fail(VG_ERR_INVALID, "trainer: instance noise must be a finite std >= 0 and its steps >= 0 (got %g, %lld)",
                       cfg->instance_noise, (long long)cfg->noise_steps);
    return VG_OK;
}

vg_status vg_trainer_init(vg_trainer *t, const vg_train_config *cfg, const vg_dataset *data) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->data = data;
    vg_status st;
    if ((st = vg_train_config_check(cfg)) != VG_OK) return st;
    if (data) {
        const vg_dataset_desc *d = vg_dataset_info(data);
        const vg_dcgan3d_config *m = &cfg->model;
        if (d->channels != m->channels || d->frames != m->frames || d->height != m->size || d->width != m->size)
            return vg_fail(VG_ERR_INVALID,
                           "trainer: data set '%s' gives clips (C %d, T %d, %dx%d) but the model makes (C %d, T %d, %dx%d)",
                           d->source, d->channels, d->frames, d->height, d->width, m->channels, m->frames, m->size, m->size);
    }
    if ((st = vg_ctx_new(&t->ctx, &(vg_ctx_opts){.precision = cfg->precision})) != VG_OK) return st;
    if ((st = vg_dcgan3d_init(&t->model, t->ctx, &cfg->model, cfg->seed)) != VG_OK) goto fail;
    /* G's and D's gradients are never needed at once: D's step uses its own
     * before G's backward starts, and the other way round */
    if ((st = vg_params_share_grad(t->model.G, t->model.D)) != VG_OK) goto fail;
    if ((st = vg_adam_init(&t->opt_g, t->model.G, cfg->lr_g, cfg->beta1, cfg->beta2, cfg->eps, 0)) != VG_OK) goto fail;
    if ((st = vg_adam_init(&t->opt_d, t->model.D, cfg->lr_d, cfg->beta1, cfg->beta2, cfg->eps, 0)) != VG_OK) goto fail;
    if (cfg->ema_decay > 0 && (st = vg_ema_init(&t->ema, t->model.G, cfg->ema_decay)) != VG_OK) goto fail;
    int64_t clip = (int64_t)cfg->model.channels * cfg->model.frames * cfg->model.size * cfg->model.size;
    int64_t clips = (int64_t)cfg->batch * cfg->d_steps, n_real, n_z;
    if (!vg_mul_ok(clip, clips, &n_real) || !vg_mul_ok(clips, vg_dcgan3d_latent_dim(&cfg->model), &n_z)) {
        st = vg_fail(VG_ERR_NOMEM, "trainer: batch size overflows");
        goto fail;
    }
    if (!data) return VG_OK; /* batches come from the caller: no staging */
    t->host_real = malloc((size_t)n_real * sizeof(float));
    t->host_z = malloc((size_t)n_z * sizeof(float));
    if (!t->host_real || !t->host_z) {
        st = vg_fail(VG_ERR_NOMEM, "trainer: out of memory for the batch staging buffers");
        goto fail;
    }
    return VG_OK;
fail:
    vg_trainer_free(t);
    return st;
}

void vg_trainer_free(vg_trainer *t) {
    vg_prefetch_close(t->prefetch);
    vg_ema_free(&t->ema);
    vg_adam_free(&t->opt_g);
    vg_adam_free(&t->opt_d);
    if (t->model.G) vg_dcgan3d_free(&t->model);
    vg_ctx_free(t->ctx);
    free(t->host_real);
    free(t->host_z);
    memset(t, 0, sizeof *t);
}

#define SAMPLE_STREAM 0x73616D706C65ull /* "sample" */
/* Data clips of stream s start at s * 2^40: far beyond any run's reach. */
#define STREAM_CLIP_OFFSET ((int64_t)1 << 40)

void vg_trainer_noise(const vg_trainer *t, int64_t step, float *z) {
    int64_t n = (int64_t)t->cfg.d_steps * t->cfg.batch * vg_dcgan3d_latent_dim(&t->cfg.model);
    uint64_t base = (uint64_t)step * (uint64_t)n;
    uint64_t key = t->cfg.seed ^ NOISE_STREAM ^ (t->stream * 0x9E3779B97F4A7C15ull);
    for (int64_t i = 0; i < n; i++) z[i] = (float)vg_rng_normal_at(key, base + (uint64_t)i);
}

vg_status vg_trainer_prefetch(vg_trainer *t, int depth, int workers) {
    if (!t->data) return vg_fail(VG_ERR_INVALID, "trainer: no data set to prefetch from");
    vg_prefetch_close(t->prefetch);
    t->prefetch = NULL;
    return vg_prefetch_open(&t->prefetch, t->data, t->cfg.batch * t->cfg.d_steps, depth, workers);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

vg_status vg_trainer_step(vg_trainer *t, vg_step_stats *stats) {
    if (!t->data) return vg_fail(VG_ERR_INVALID, "trainer: no data set; use vg_trainer_step_with");
    int clips = t->cfg.batch * t->cfg.d_steps;
    int64_t first = t->step * clips + (int64_t)t->stream * STREAM_CLIP_OFFSET;
    const double t0 = now_s();
    vg_status st = t->prefetch ? vg_prefetch_get(t->prefetch, first, t->host_real, NULL, NULL)
                               : vg_dataset_batch(t->data, first, clips, t->host_real, NULL);
    t->data_seconds = now_s() - t0;
    if (st != VG_OK) return st;
    vg_trainer_noise(t, t->step, t->host_z);
    return vg_trainer_step_with(t, t->host_real, t->host_z, stats);
}

void vg_latent_noise(uint64_t seed, int n, int z_dim, float *z) {
    for (int64_t i = 0; i < (int64_t)n * z_dim; i++) z[i] = (float)vg_rng_normal_at(seed ^ SAMPLE_STREAM, (uint64_t)i);
}

vg_status vg_trainer_sample(vg_trainer *t, int n, uint64_t seed, int use_ema, float *out) {
    const int latent = vg_dcgan3d_latent_dim(&t->cfg.model);
    float *z = malloc((size_t)n * (size_t)latent * sizeof *z);
    if (!z) return vg_fail(VG_ERR_NOMEM, "sample: out of memory");
    vg_latent_noise(seed, n, latent, z);
    int swap = use_ema && t->ema.params;
    if (swap) vg_ema_swap(&t->ema);
    vg_status st = vg_dcgan3d_sample(&t->model, t->ctx, z, n, t->cfg.batch, VG_BN_BATCH, out);
    if (swap) vg_ema_swap(&t->ema);
    free(z);
    return st;
}

/* The std of the instance noise at iteration `step`. */
static double noise_std(const vg_train_config *c, int64_t step) {
    if (c->instance_noise <= 0) return 0;
    if (c->noise_steps <= 0) return c->instance_noise;
    return step >= c->noise_steps ? 0 : c->instance_noise * (1.0 - (double)step / (double)c->noise_steps);
}

/* x + noise: the instance noise of draw `call` (0: real clips, 1: the
 * fake clips of D's step, 2: those of G's step) of D step j of the current
 * iteration, or x itself when the noise is off (or has fallen to 0). */
static vg_tensor *with_instance_noise(vg_trainer *t, vg_tensor *x, int j, int call) {
    double std = noise_std(&t->cfg, t->step);
    if (std == 0) return x;
    int64_t n = vg_tensor_numel(x), shape[VG_MAX_DIMS];
    int nd = vg_tensor_ndim(x);
    for (int a = 0; a < nd; a++) shape[a] = vg_tensor_dim(x, a);
    /* element i of the draw is normal number draw * n + i of the stream */
    uint64_t draw = ((uint64_t)t->step * (uint64_t)t->cfg.d_steps + (uint64_t)j) * 3 + (uint64_t)call;
    uint64_t key = t->cfg.seed ^ INSTANCE_NOISE_STREAM ^ (t->stream * 0x9E3779B97F4A7C15ull);
    vg_tensor *noise = vg_tensor_new(t->ctx, nd, shape, 0);
    if (!noise || vg_tensor_fill_normal(noise, key, draw * (uint64_t)n, 0.0, std) != VG_OK) return NULL;
    return vg_add(t->ctx, x, noise);
}

/* Mean of the discriminator's output as a probability (nonsat) or logit;
 * logits are (N), a batch's worth of floats. */
static double mean_output(vg_tensor *logits, vg_gan_loss k) {
    int64_t n = vg_tensor_numel(logits);
    float *all = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!all) return NAN;
    vg_tensor_read(logits, all);
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += k == VG_LOSS_NONSAT ? 1.0 / (1.0 + exp(-(double)all[i])) : all[i];
    free(all);
    return n ? s / (double)n : 0;
}

/* 1 if the loss and every gradient of P are finite. */
static int finite_update(vg_trainer *t, double loss, vg_params *P) {
    const vg_backend *be = vg_ctx_backend(t->ctx);
    return isfinite(loss) && be->count_nonfinite(vg_params_grad(P), vg_params_numel(P)) == 0;
}

vg_status vg_trainer_step_with(vg_trainer *t, const float *real_host, const float *z_host, vg_step_stats *stats) {
    const vg_train_config *c = &t->cfg;
    const vg_dcgan3d_config *m = &c->model;
    vg_ctx *ctx = t->ctx;
    const int64_t clip_numel = (int64_t)m->channels * m->frames * m->size * m->size;
    const int64_t video_shape[5] = {c->batch, m->channels, m->frames, m->size, m->size};
    const int64_t latent = vg_dcgan3d_latent_dim(m), z_shape[2] = {c->batch, latent};
    vg_step_stats s = {0};
    vg_tensor *fake = NULL, *mask = NULL, *path = NULL;

    vg_ctx_reset(ctx);
    for (int j = 0; j < c->d_steps; j++) {
        int last = j == c->d_steps - 1;
        /* G runs with gradients only for the last fake, which G's step reuses.
         * G's forward comes first so that everything D's step makes can be
         * released after it; D's own calls keep PyTorch's order (real, then
         * fake), and G's and D's BatchNorm statistics do not interact. */
        vg_ctx_mark before_g = vg_ctx_get_mark(ctx);
        vg_params_set_requires_grad(t->model.G, last);
        vg_tensor *z = vg_tensor_from(ctx, 2, z_shape, z_host + (int64_t)j * c->batch * latent);
        fake = vg_dcgan3d_generate_parts(&t->model, ctx, z, VG_BN_TRAIN, last && c->mask_l1 != 0 ? &mask : NULL,
                                         last && c->path_l1 != 0 ? &path : NULL);
        vg_ctx_mark after_g = vg_ctx_get_mark(ctx);
        vg_params_set_requires_grad(t->model.D, 1);
        vg_params_zero_grad(t->model.D);
        /* the real and the fake half of D's loss are backpropagated one
         * after the other, each releasing its activations: the parameter
         * gradients add up to those of the summed loss */
        vg_tensor *real = vg_tensor_from(ctx, 5, video_shape, real_host + (int64_t)j * c->batch * clip_numel);
        real = with_instance_noise(t, real, j, 0);
        vg_tensor *real_logits = vg_dcgan3d_discriminate(&t->model, ctx, real, VG_BN_TRAIN);
        s.d_real = mean_output(real_logits, c->loss);
        vg_tensor *loss_real = vg_gan_loss_d_real(ctx, c->loss, real_logits, c->label_smooth);
        if (m->image_d)
            loss_real = vg_add(ctx, loss_real,
                               vg_gan_loss_d_real(ctx, c->loss, vg_dcgan3d_discriminate_frames(&t->model, ctx, real, VG_BN_TRAIN),
                                                  c->label_smooth));
        vg_status st = vg_backward(ctx, loss_real);
        if (st != VG_OK) return st;
        double loss_d = vg_tensor_item(loss_real);
        vg_ctx_release(ctx, after_g);
        vg_tensor *fake_detached = with_instance_noise(t, vg_detach(ctx, fake), j, 1);
        vg_tensor *fake_logits = vg_dcgan3d_discriminate(&t->model, ctx, fake_detached, VG_BN_TRAIN);
        s.d_fake = mean_output(fake_logits, c->loss);
        vg_tensor *loss_fake = vg_gan_loss_d_fake(ctx, c->loss, fake_logits);
        if (m->image_d)
            loss_fake = vg_add(ctx, loss_fake,
                               vg_gan_loss_d_fake(ctx, c->loss, vg_dcgan3d_discriminate_frames(&t->model, ctx, fake_detached, VG_BN_TRAIN)));
        if ((st = vg_backward(ctx, loss_fake)) != VG_OK) return st;
        loss_d += vg_tensor_item(loss_fake);
        s.loss_d = loss_d;
        if (finite_update(t, loss_d, t->model.D))
            vg_adam_step(&t->opt_d);
        else
            s.skipped_d++;
        vg_ctx_release(ctx, last ? after_g : before_g); /* D's step is done with its tensors */
    }
    /* G step: D frozen, gradients flow through D into the fake video */
    vg_params_set_requires_grad(t->model.D, 0);
    vg_params_set_requires_grad(t->model.G, 1);
    vg_params_zero_grad(t->model.G);
    fake = with_instance_noise(t, fake, c->d_steps - 1, 2);
    vg_tensor *loss_g = vg_gan_loss_g(ctx, c->loss, vg_dcgan3d_discriminate(&t->model, ctx, fake, VG_BN_TRAIN));
    if (m->image_d)
        loss_g = vg_add(ctx, loss_g, vg_gan_loss_g(ctx, c->loss, vg_dcgan3d_discriminate_frames(&t->model, ctx, fake, VG_BN_TRAIN)));
    if (mask) /* VGAN: lambda * |m|_1, as a mean over the mask's elements (m > 0) */
        loss_g = vg_add(ctx, loss_g, vg_scale(ctx, vg_mean(ctx, mask), c->mask_l1));
    if (path) { /* lambda * mean |second difference| of the sprite's path, in pixels */
        const int64_t T = m->frames;
        vg_tensor *accel = vg_add(ctx, vg_sub(ctx, vg_slice(ctx, path, 2, 2, T, 1), vg_scale(ctx, vg_slice(ctx, path, 2, 1, T - 1, 1), 2.0)),
                                  vg_slice(ctx, path, 2, 0, T - 2, 1));
        loss_g = vg_add(ctx, loss_g, vg_scale(ctx, vg_mean(ctx, vg_abs(ctx, accel)), c->path_l1));
    }
    vg_status st = vg_backward(ctx, loss_g);
    vg_params_set_requires_grad(t->model.D, 1);
    if (st != VG_OK) return st;
    s.loss_g = vg_tensor_item(loss_g);
    if (finite_update(t, s.loss_g, t->model.G)) {
        vg_adam_step(&t->opt_g);
        if (t->ema.params) vg_ema_update(&t->ema, t->opt_g.step - 1);
    } else {
        s.skipped_g++;
    }
    t->step++;
    t->skipped += s.skipped_d + s.skipped_g;
    if (stats) *stats = s;
    return VG_OK;
}
