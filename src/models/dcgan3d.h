/* 3D-DCGAN (VGAN/TGAN-style single stream): a generator of ConvTranspose3d
 * blocks from z to a video, and a discriminator of Conv3d blocks from a video
 * to one logit. Parameter names follow a PyTorch nn.Sequential state_dict
 * ("G.net.0.weight", "D.net.1.running_mean", ...), so weights exchange with
 * the reference model in tools/ref_dcgan3d.py.
 *
 * Geometry: S = log2(size / 4) up-sampling stages. G starts with
 * ConvTranspose3d(z, g_base * 2^(S-1), kernel (t0, 4, 4)) on a 1x1x1 input,
 * t0 = max(1, frames / 2^S); each stage is ConvTranspose3d kernel 4, stride
 * 2, padding 1 (a stage that need not double T uses kernel 3, stride 1,
 * padding 1 in time), BatchNorm + ReLU between, tanh at the end. D mirrors
 * it with Conv3d, LeakyReLU(0.2), BatchNorm on all but the first block, and
 * a final Conv3d(d_base * 2^(S-1), 1, kernel (t0, 4, 4)). All convolutions
 * without bias (DCGAN). With g_arch = VG_G_RESIZE, each of G's stages is
 * instead nearest-neighbour upsampling (x2 in H and W, and in T where the
 * deconv stage doubles it) followed by Conv3d kernel 3, stride 1, padding 1
 * ("resize-convolution", Odena et al. 2016: no checkerboard artefacts);
 * in a PyTorch nn.Sequential the Upsample takes an index of its own, so
 * stage s's conv is "G.net.<4s>" and its BatchNorm "G.net.<4s+1>". With spectral_norm, every D convolution is
 * spectrally normalised (torch.nn.utils.spectral_norm: "weight_orig",
 * "weight_u", "weight_v") and D has no BatchNorm. With image_d, D also
 * holds MoCoGAN's image discriminator D_I ("DI.net.<i>"): the 2D DCGAN
 * discriminator applied to every frame on its own, written as Conv3d with
 * temporal kernel 1 (kernel (1, 4, 4), stride (1, 2, 2), padding (0, 1, 1),
 * widths d_base, 2 d_base, ..., BatchNorm from the second block, a final
 * (1, 4, 4) conv to one logit per frame); the trainer adds its loss to the
 * video discriminator's. With two_stream, G is VGAN's two-stream generator
 * (Vondrick et al. 2016): G's stream ends in channels + 1 outputs, a
 * foreground video (tanh of the first channels) and a mask (sigmoid of the
 * last), and a second stream "G.bg.net.<i>" of the same stages with
 * temporal kernel 1 makes one background image per clip (tanh);
 * video = bg + mask * (fg - bg). With motion_dim M > 0, G is MoCoGAN's
 * (Tulyakov et al. 2018): a clip's latent vector is [z_C (z_dim) | h_0 (M)
 * | e_1 .. e_T (M each)], a GRUCell "G.motion" (weights "weight_ih",
 * "weight_hh", "bias_ih", "bias_hh", PyTorch's uniform init) makes
 * h_t = GRU(e_t, h_{t-1}), and the stream "G.net.<i>" becomes a 2D
 * generator (temporal kernels 1) applied to [z_C | h_t] for every frame t,
 * BatchNorm over all frames of the batch (BatchNorm2d on N * T frames);
 * with two_stream its output is the foreground and mask of each frame and
 * the background stream reads z_C alone. With sprite (needs two_stream and
 * motion_dim), the foreground stream is a 2D generator from z_C alone that
 * draws ONE foreground image and mask per clip (the sprite), and frame t
 * shows it translated by p_t pixels (bilinear, zeros outside: a spatial
 * transformer, Jaderberg et al. 2015, restricted to translation), where
 * p_0 = (size / 2) * path_start(h_0) and p_t = p_{t-1} + (size / 2) *
 * path_step(h_t); so the object keeps its shape while it moves and the
 * GRU only decides where it is. With motion_still, the GRU's inputs are 0
 * (h_t = GRU(0, h_{t-1})): the motion is a deterministic function of h_0.
 * At 64x64x16 with bases 64 this is exactly the
 * engine issue's reference model; at 32x32x16, the 32-pixel one. */
#ifndef VG_MODELS_DCGAN3D_H
#define VG_MODELS_DCGAN3D_H

#include "vidgan.h"

/* How G's stages up-sample. */
typedef enum vg_g_arch {
    VG_G_DECONV = 0, /* ConvTranspose3d kernel 4, stride 2 (DCGAN, VGAN, TGAN) */
    VG_G_RESIZE = 1  /* nearest upsampling + Conv3d kernel 3 */
} vg_g_arch;

/* "deconv" / "resize"; NULL for an unknown value. */
const char *vg_g_arch_name(vg_g_arch a);
/* Sets *out and returns 1 for a known name, else 0. */
int vg_g_arch_parse(const char *name, vg_g_arch *out);

typedef struct vg_dcgan3d_config {
    int size;      /* H = W: 32, 64, 128 (a power of two >= 8) */
    int frames;    /* T: a power of two */
    int channels;  /* 3 (RGB) or 1 */
    int z_dim;     /* 100 */
    int g_base;    /* 64 */
    int d_base;    /* 64 */
    int spectral_norm; /* D with spectral normalisation (no BatchNorm then) */
    vg_g_arch g_arch;  /* G's up-sampling stages (default deconv) */
    int image_d;       /* also a per-frame image discriminator (MoCoGAN's D_I) */
    int two_stream;    /* VGAN's two-stream generator: a 3D foreground stream with a
                          mask channel and a 2D background stream */
    int motion_dim;    /* > 0: MoCoGAN's generator, a GRU motion code of this size per
                          frame beside the clip's content code (z_dim), frames made
                          one by one by a 2D generator; 0: off */
    int sprite;        /* with two_stream and motion_dim: the foreground is one image and
                          mask per clip moved along a path the motion GRU drives */
    int motion_still;  /* with motion_dim: the GRU's per-frame inputs are 0, so a clip's
                          motion follows from h_0 alone and the latent vector is
                          [z_C | h_0]; 0: MoCoGAN's noise e_t per frame */
} vg_dcgan3d_config;

/* The latent vector of one clip: z_dim, plus (frames + 1) * motion_dim with
 * a motion code (h_0 and one GRU input per frame), motion_dim with
 * motion_still (h_0 alone). */
int vg_dcgan3d_latent_dim(const vg_dcgan3d_config *c);

#define VG_DCGAN3D_MAX_STAGES 6

typedef struct vg_dcgan3d_layer {
    vg_tensor *weight;
    vg_tensor *bn_weight, *bn_bias, *bn_mean, *bn_var; /* NULL where there is no BatchNorm */
    vg_tensor *sn_u, *sn_v; /* spectral norm's singular vector estimates (out), (rest); NULL without SN */
    int k[3], s[3], p[3];
    int up[3];   /* > 0: a resize stage (nearest upsampling by these factors, then the Conv3d
                    weight); k, s, p are then those of the equivalent transposed convolution it runs as */
} vg_dcgan3d_layer;

typedef struct vg_dcgan3d {
    vg_dcgan3d_config cfg;
    int stages, t0;
    vg_params *G, *D;
    vg_dcgan3d_layer g[VG_DCGAN3D_MAX_STAGES + 1], d[VG_DCGAN3D_MAX_STAGES + 1], di[VG_DCGAN3D_MAX_STAGES + 1],
        bg[VG_DCGAN3D_MAX_STAGES + 1];
    int ng, nd, ndi; /* ndi = 0 without an image discriminator */
    int nbg;         /* 0 without a background stream */
    /* MoCoGAN's motion GRU ("G.motion.weight_ih" ...); NULL without */
    vg_tensor *gru_w_ih, *gru_w_hh, *gru_b_ih, *gru_b_hh;
    /* the sprite's path heads: start position from h_0, per-frame step
     * from h_t ("G.path_start.*", "G.path_step.*", Linear(M, 2)); NULL without */
    vg_tensor *path_start_w, *path_start_b, *path_step_w, *path_step_b;
} vg_dcgan3d;

/* VG_OK, or the first field out of range (the message names it). */
vg_status vg_dcgan3d_config_check(const vg_dcgan3d_config *c);
/* Checks the configuration (messages name the field), declares G's and D's
 * parameters in ctx's backend and initialises them as DCGAN does: conv
 * weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0. */
vg_status vg_dcgan3d_init(vg_dcgan3d *m, vg_ctx *ctx, const vg_dcgan3d_config *cfg, uint64_t seed);
/* The parameters' names and shapes only, no memory (their data pointers
 * stay NULL): for checking a file against the model (vg_ckpt_validate);
 * not for running it. Freed by vg_dcgan3d_free. */
vg_status vg_dcgan3d_declare(vg_dcgan3d *m, vg_ctx *ctx, const vg_dcgan3d_config *cfg);
void vg_dcgan3d_free(vg_dcgan3d *m);
/* How BatchNorm layers run: EVAL uses the running statistics; TRAIN uses
 * batch statistics and updates the running ones; BATCH uses batch
 * statistics without touching the running ones (sampling as the PyTorch
 * DCGAN example does, without changing the training state). */
typedef enum vg_bn_mode { VG_BN_EVAL = 0, VG_BN_TRAIN = 1, VG_BN_BATCH = 2 } vg_bn_mode;

/* z (N, latent_dim) -> video (N, C, T, H, W) in [-1, 1]. */
vg_tensor *vg_dcgan3d_generate(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z, vg_bn_mode bn);
/* The same, and the parts the penalties read: with two_stream and mask !=
 * NULL, *mask is the mask (N, 1, T, H, W) in (0, 1) the video was composed
 * with (NULL with one stream); with sprite and path != NULL, *path is the
 * sprite's path (N, 2, T) in pixels, x then y (NULL without a sprite). */
vg_tensor *vg_dcgan3d_generate_parts(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z, vg_bn_mode bn, vg_tensor **mask,
                                     vg_tensor **path);
/* Videos for n latent vectors z (n, latent_dim) into out (n, C, T, H, W), host
 * memory, forward only, in chunks of at most `chunk` clips (0: 16) so
 * memory stays bounded; ctx is reset. */
vg_status vg_dcgan3d_sample(vg_dcgan3d *m, vg_ctx *ctx, const float *z, int n, int chunk, vg_bn_mode bn, float *out);
/* video (N, C, T, H, W) -> logits (N) */
vg_tensor *vg_dcgan3d_discriminate(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *video, vg_bn_mode bn);
/* The image discriminator: video (N, C, T, H, W) -> one logit per frame,
 * (N * T) in clip-major order; NULL (with an error) without image_d. */
vg_tensor *vg_dcgan3d_discriminate_frames(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *video, vg_bn_mode bn);

#endif
