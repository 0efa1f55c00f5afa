/* i3d.h — Inception-3D (Carreira & Zisserman 2017), the feature network of
 * FVD (Unterthiner et al. 2018): Kinetics-400 logits, pre-softmax, averaged
 * over time, as in the original FVD code and StyleGAN-V's fvd2048_16f.
 *
 * The weights are never downloaded: the user supplies a safetensors file
 * made by tools/convert_i3d.py from a public release. Batch norm is folded
 * into the convolutions at load time (inference only).
 *
 * Preprocessing, two conventions in the wild:
 * - The original FVD code (google-research frechet_video_distance) resizes
 *   each frame with TF1 tf.image.resize_bilinear (align_corners=False and no
 *   half-pixel centres: source = dst * in / out, the upper neighbour clamped)
 *   to 224 x 224 and maps [0, 255] to [-1, 1]. This is what vidgan does.
 * - StyleGAN-V's fvd2048_16f feeds uint8 frames to a TorchScript export of
 *   the TF-Hub I3D with rescale=True, resize=True; its own docstring says it
 *   matches the TensorFlow code "up to the upsampling operation": it resizes
 *   inside the TorchScript with PyTorch's interpolation (align_corners=False
 *   in PyTorch means half-pixel centres), so its features differ slightly
 *   from the TF1 formula unless the frames are already 224 x 224, where both
 *   resizes are the identity. Not verified against the TorchScript here (it
 *   is not in this repository). Bilinear weights sum to 1, so resizing
 *   before or after the map to [-1, 1] gives the same values up to rounding.
 *
 * Cost: 27.79 G multiply-adds in the convolutions (55.6 GFLOPs) per
 * 16 x 224 x 224 clip (tools/ref_i3d.py conv_macs; pools are extra). */
#ifndef VG_MODELS_I3D_H
#define VG_MODELS_I3D_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

typedef struct vg_i3d vg_i3d;

#define VG_I3D_SIZE 224    /* frames are resized to VG_I3D_SIZE x VG_I3D_SIZE */
#define VG_I3D_CLASSES 400 /* feature (logit) dimension */
#define VG_I3D_MIXED 9     /* Mixed_3b .. Mixed_5c */
#define VG_I3D_UNITS (3 + 6 * VG_I3D_MIXED) /* conv + BN + ReLU units */

/* Loads path (see docs/eval.md for the tensor names); messages name the file
 * and the missing or mis-shaped tensor. *hash receives the SHA-256 of the
 * file's bytes as 64 hex digits + NUL when hash is not NULL. */
vg_status vg_i3d_load(vg_i3d **out, vg_ctx *ctx, const char *path, char hash[65]);
void vg_i3d_free(vg_i3d *m);

/* Unit i in [0, VG_I3D_UNITS) in network order: its state_dict prefix
 * ("Conv3d_1a_7x7", "Mixed_3b.b1b", ...), channels, kernel and stride (all
 * three axes). 0 if i is out of range. */
int vg_i3d_unit_spec(int i, char *name, size_t name_size, int *cin, int *cout, int k[3], int s[3]);

/* FVD's preprocessing and features: clips (n, C, T, H, W) with C = 3 (C = 1
 * is replicated to RGB) and pixels in [-1, 1] are resized to 224 x 224
 * (TF1 bilinear per frame, see above) and fed to I3D; out (n, 400) gets the
 * logits averaged over time. Any T >= 9 (FVD uses 16), any H, W >= 1. Runs
 * one clip at a time in ctx's step arena with autograd off (the previous
 * setting is restored) and rewinds the arena before returning. */
vg_status vg_i3d_features(vg_i3d *m, vg_ctx *ctx, const float *clips, int64_t n, int64_t C, int64_t T, int64_t H,
                          int64_t W, float *out);

/* The same, also writing per-channel means (over T, H, W) of the outputs of
 * Mixed_3c (n, 480) and Mixed_4f (n, 832) where not NULL: for debugging a
 * converted model against its reference layer by layer. */
vg_status vg_i3d_features_taps(vg_i3d *m, vg_ctx *ctx, const float *clips, int64_t n, int64_t C, int64_t T,
                               int64_t H, int64_t W, float *out, float *mean_3c, float *mean_4f);

/* TF1 tf.image.resize_bilinear (align_corners=False, half_pixel_centers=
 * False) of planes images (H, W) to (out_h, out_w), in float as TF computes
 * it. out must not overlap in. */
void vg_i3d_resize_bilinear(float *out, const float *in, int64_t planes, int64_t H, int64_t W, int64_t out_h,
                            int64_t out_w);

#endif
