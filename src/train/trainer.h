/* One GAN training iteration of the 3D-DCGAN: d_steps discriminator updates
 * then one generator update, as the PyTorch DCGAN example does it (the last
 * discriminator step's fake batch, detached for D, is reused for G's step
 * after D's update). All randomness is counter-based: the noise of
 * iteration i and the real clips it reads are pure functions of (seed, i),
 * so an interrupted run resumes exactly from (weights, moments, step). */
#ifndef VG_TRAIN_TRAINER_H
#define VG_TRAIN_TRAINER_H

#include "data/dataset.h"
#include "data/prefetch.h"
#include "models/dcgan3d.h"
#include "train/loss.h"
#include "train/optim.h"

typedef struct vg_train_config {
    vg_dcgan3d_config model;
    vg_gan_loss loss;
    int batch;          /* clips per D step and per G step */
    int d_steps;        /* D updates per G update (>= 1) */
    double lr_g, lr_d;  /* Adam learning rates */
    double beta1, beta2, eps;
    double ema_decay;   /* 0: no EMA; else e.g. 0.999 */
    uint64_t seed;      /* weights, noise and clip order */
    double label_smooth;   /* one-sided label smoothing (Salimans et al. 2016): D's
                              target for real clips is 1 - label_smooth (nonsat,
                              lsgan); 0: off */
    double instance_noise; /* instance noise (Sonderby et al. 2017): Gaussian noise
                              of this std is added to every clip D sees, real and
                              generated (G's gradient flows through it), falling
                              linearly to 0 at iteration noise_steps; 0: off */
    int64_t noise_steps;   /* 0: instance_noise stays constant */
    double mask_l1;        /* VGAN's L1 penalty on the two-stream mask: G's loss
                              gains mask_l1 * mean(mask) (two_stream only); 0: off */
    double path_l1;        /* an L1 penalty on the sprite path's acceleration: G's loss
                              gains path_l1 * mean |p_{t+1} - 2 p_t + p_{t-1}| in pixels
                              (sprite only; favours constant velocity with few
                              changes, e.g. bounces); 0: off */
    vg_precision precision; /* of the step's convolutions and GEMMs (default FP32;
                               BF16 needs CUDA); not part of a checkpoint: a run
                               may resume in the other precision */
} vg_train_config;

/* Fills the usual DCGAN defaults: batch 16, Adam 2e-4 (0.5, 0.999),
 * non-saturating loss, 1 D step, EMA 0.999, 3D-DCGAN 32x32x16 RGB. */
void vg_train_config_default(vg_train_config *c);

typedef struct vg_step_stats {
    double loss_d, loss_g; /* with an image discriminator: video D's + image D's loss (MoCoGAN) */
    double d_real, d_fake; /* mean video D output on real / fake clips (sigmoid for nonsat, raw logits otherwise) */
    int skipped_d, skipped_g; /* updates skipped for non-finite loss or gradients */
} vg_step_stats;

typedef struct vg_trainer {
    vg_train_config cfg;
    vg_ctx *ctx;
    vg_dcgan3d model;
    vg_adam opt_g, opt_d;
    vg_ema ema;          /* params NULL when cfg.ema_decay == 0 */
    const vg_dataset *data;
    int64_t step;        /* iterations completed */
    int64_t skipped;     /* updates skipped so far */
    uint64_t stream;     /* random stream: 0, bumped by each roll-back after
                            non-finite steps so the retried steps draw new
                            noise and clips */
    float *host_real;    /* (d_steps * batch, C, T, H, W) staging for dataset clips
                            (NULL without a data set) */
    float *host_z;       /* (d_steps * batch, z_dim) (NULL without a data set) */
    vg_prefetch *prefetch; /* NULL: clips are decoded inside each step */
    double data_seconds;   /* the last vg_trainer_step's wait for its clips */
} vg_trainer;

/* VG_OK, or VG_ERR_INVALID with a message naming the bad setting (the
 * checks vg_trainer_init makes before allocating anything). */
vg_status vg_train_config_check(const vg_train_config *cfg);
/* data may be NULL when batches are given with vg_trainer_step_with. */
vg_status vg_trainer_init(vg_trainer *t, const vg_train_config *cfg, const vg_dataset *data);
void vg_trainer_free(vg_trainer *t);
/* Decode the next batches in `workers` threads, `depth` batches ahead
 * (data/prefetch.h), while steps compute; the clips are the same as without.
 * Owned by the trainer (closed by vg_trainer_free). */
vg_status vg_trainer_prefetch(vg_trainer *t, int depth, int workers);
/* One iteration with clips from the data set and noise from the generator;
 * t->data_seconds says how long it waited for the clips. */
vg_status vg_trainer_step(vg_trainer *t, vg_step_stats *stats);
/* One iteration with given real clips (d_steps * batch, C, T, H, W) and
 * noise (d_steps * batch, z_dim), host memory. */
vg_status vg_trainer_step_with(vg_trainer *t, const float *real, const float *z, vg_step_stats *stats);
/* The noise of iteration `step` (d_steps * batch * z_dim values). */
void vg_trainer_noise(const vg_trainer *t, int64_t step, float *z);
/* n fixed sample videos (n, C, T, H, W) from latent seed `seed`, with the
 * EMA generator when there is one and use_ema, BatchNorm on batch
 * statistics without touching the running ones. */
vg_status vg_trainer_sample(vg_trainer *t, int n, uint64_t seed, int use_ema, float *out);
/* Standard-normal latent vectors for sampling: z (n, z_dim), vector i is a
 * pure function of (seed, i). */
void vg_latent_noise(uint64_t seed, int n, int z_dim, float *z);

#endif
