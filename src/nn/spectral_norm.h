/* Spectral normalisation of a weight (Miyato et al. 2018), as
 * torch.nn.utils.spectral_norm with one power iteration and dim 0: the
 * weight (out, ...) is viewed as a matrix W (out, rest); in training mode
 * each call refines the singular vector estimates u (out) and v (rest) by
 * v = W^T u / |W^T u|, u = W v / |W v| (no gradient), then returns
 * W / sigma with sigma = u . W v, the gradient flowing through W in both
 * places and u, v held constant. In eval mode u and v are used as they are. */
#ifndef VG_NN_SPECTRAL_NORM_H
#define VG_NN_SPECTRAL_NORM_H

#include "vidgan.h"

vg_tensor *vg_spectral_norm(vg_ctx *ctx, vg_tensor *weight, vg_tensor *u, vg_tensor *v, int training, double eps);

#endif
