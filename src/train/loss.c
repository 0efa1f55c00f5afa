/* GAN losses; see loss.h. BCE-with-logits: -log sigmoid(x) = softplus(-x),
 * -log(1 - sigmoid(x)) = softplus(x), as torch.nn.BCEWithLogitsLoss. */
#include "train/loss.h"

#include <string.h>

static const char *names[VG_LOSS_COUNT] = {"nonsat", "hinge", "lsgan"};

const char *vg_gan_loss_name(vg_gan_loss k) { return (k >= 0 && k < VG_LOSS_COUNT) ? names[k] : "?"; }

int vg_gan_loss_parse(const char *s, vg_gan_loss *out) {
    for (int i = 0; i < VG_LOSS_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (vg_gan_loss)i;
            return 1;
        }
    return 0;
}

static vg_tensor *softplus(vg_ctx *ctx, vg_tensor *x) { return vg_softplus(ctx, x, 1.0, 20.0); }

vg_tensor *vg_gan_loss_d_real(vg_ctx *ctx, vg_gan_loss k, vg_tensor *real, double smooth) {
    switch (k) {
    case VG_LOSS_HINGE: return vg_mean(ctx, vg_relu(ctx, vg_affine(ctx, real, -1.0, 1.0)));
    case VG_LOSS_LSGAN:
        return vg_scale(ctx, vg_mean(ctx, vg_square(ctx, vg_affine(ctx, real, 1.0, -(1.0 - smooth)))), 0.5);
    default:
        if (smooth == 0) return vg_mean(ctx, softplus(ctx, vg_scale(ctx, real, -1.0)));
        /* target t = 1 - smooth: t softplus(-x) + (1 - t) softplus(x) */
        return vg_mean(ctx, vg_add(ctx, vg_scale(ctx, softplus(ctx, vg_scale(ctx, real, -1.0)), 1.0 - smooth),
                                   vg_scale(ctx, softplus(ctx, real), smooth)));
    }
}

vg_tensor *vg_gan_loss_d_fake(vg_ctx *ctx, vg_gan_loss k, vg_tensor *fake) {
    switch (k) {
    case VG_LOSS_HINGE: return vg_mean(ctx, vg_relu(ctx, vg_affine(ctx, fake, 1.0, 1.0)));
    case VG_LOSS_LSGAN: return vg_scale(ctx, vg_mean(ctx, vg_square(ctx, fake)), 0.5);
    default: return vg_mean(ctx, softplus(ctx, fake));
    }
}

vg_tensor *vg_gan_loss_d(vg_ctx *ctx, vg_gan_loss k, vg_tensor *real, vg_tensor *fake) {
    return vg_add(ctx, vg_gan_loss_d_real(ctx, k, real, 0.0), vg_gan_loss_d_fake(ctx, k, fake));
}

vg_tensor *vg_gan_loss_g(vg_ctx *ctx, vg_gan_loss k, vg_tensor *fake) {
    switch (k) {
    case VG_LOSS_HINGE: return vg_scale(ctx, vg_mean(ctx, fake), -1.0);
    case VG_LOSS_LSGAN: return vg_scale(ctx, vg_mean(ctx, vg_square(ctx, vg_affine(ctx, fake, 1.0, -1.0))), 0.5);
    default: return vg_mean(ctx, softplus(ctx, vg_scale(ctx, fake, -1.0)));
    }
}
