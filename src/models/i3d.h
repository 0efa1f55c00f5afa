/* i3d.h — Inception-3D (Carreira & Zisserman 2017), the feature network of
 * FVD (Unterthiner et al. 2018): Kinetics-400 logits, pre-softmax, averaged
 * over time, as in the original FVD code and StyleGAN-V's fvd2048_16f.
 *
 * The weights are never downloaded: the user supplies a safetensors file
 * made by tools/convert_i3d.py from a public release. Batch norm is folded
 * into the convolutions at load time (inference only). */
#ifndef VG_MODELS_I3D_H
#define VG_MODELS_I3D_H

#include <stdint.h>

#include "vidgan.h"

typedef struct vg_i3d vg_i3d;

/* Loads path (see docs/eval.md for the tensor names); messages name the file
 * and the missing or mis-shaped tensor. *hash receives the SHA-256 of the
 * file's bytes as 64 hex digits + NUL when hash is not NULL. */
vg_status vg_i3d_load(vg_i3d **out, vg_ctx *ctx, const char *path, char hash[65]);
void vg_i3d_free(vg_i3d *m);

/* FVD's preprocessing and features: clips (n, C, T, H, W) with C = 3 (C = 1
 * is replicated to RGB) and pixels in [-1, 1] are resized to 224 x 224
 * (bilinear per frame) and fed to I3D; out (n, 400) gets the logits averaged
 * over time. Any T >= 9 (FVD uses 16). Runs in ctx's step arena and rewinds
 * it before returning. */
vg_status vg_i3d_features(vg_i3d *m, vg_ctx *ctx, const float *clips, int64_t n, int64_t C, int64_t T, int64_t H,
                          int64_t W, float *out);

#endif
