/* GAN losses on discriminator logits, written over the engine's ops:
 * non-saturating log-loss (the generator minimises -E[log D(G(z))], the
 * discriminator -E[log D(x)] - E[log(1 - D(G(z)))], D = sigmoid(logit),
 * computed stably with softplus), hinge, and least squares. */
#ifndef VG_TRAIN_LOSS_H
#define VG_TRAIN_LOSS_H

#include "vidgan.h"

typedef enum vg_gan_loss { VG_LOSS_NONSAT = 0, VG_LOSS_HINGE, VG_LOSS_LSGAN, VG_LOSS_COUNT } vg_gan_loss;

/* "nonsat", "hinge", "lsgan" */
const char *vg_gan_loss_name(vg_gan_loss k);
int vg_gan_loss_parse(const char *s, vg_gan_loss *out);

/* Discriminator loss: scalar. real_logits/fake_logits (N). It is the sum
 * of a term on real logits and a term on fake logits, also available apart
 * (backpropagated one after the other, as the PyTorch DCGAN example does).
 * smooth: one-sided label smoothing, the target for real clips is
 * 1 - smooth (nonsat: BCE with that target, as torch's BCEWithLogitsLoss;
 * lsgan: 0.5 (x - (1 - smooth))^2); must be 0 for hinge. */
vg_tensor *vg_gan_loss_d(vg_ctx *ctx, vg_gan_loss k, vg_tensor *real_logits, vg_tensor *fake_logits);
vg_tensor *vg_gan_loss_d_real(vg_ctx *ctx, vg_gan_loss k, vg_tensor *real_logits, double smooth);
vg_tensor *vg_gan_loss_d_fake(vg_ctx *ctx, vg_gan_loss k, vg_tensor *fake_logits);
/* Generator loss: scalar. */
vg_tensor *vg_gan_loss_g(vg_ctx *ctx, vg_gan_loss k, vg_tensor *fake_logits);

#endif
