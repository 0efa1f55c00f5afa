/* The 3D-DCGAN's geometry against the engine issue's reference models: at
 * 64x64x16, G: z(100) -> 512x1x4x4 (kernel 1x4x4) -> 256x2x8x8 -> 128x4x16x16
 * -> 64x8x32x32 -> 3x16x64x64, D the mirror (3 -> 64 -> 128 -> 256 -> 512,
 * then 512 -> 1 with kernel 1x4x4); at 32x32x16 G starts at 256x2x4x4
 * (kernel 2x4x4). Parameter counts are derived here from those layer lists,
 * not from the model code. The resize generator (--g-arch resize), which
 * computes each nearest-upsample + Conv3d stage as one transposed
 * convolution, gives what upsampling and convolving separately give (both
 * ops are checked against PyTorch in their own tests), including a stage
 * that upsamples only H and W (64x64x8; T is 1 there, as in every such
 * stage of this geometry), under PyTorch's Sequential names.
 * Also: configurations that are invalid or absurdly
 * large are refused before anything is allocated. */
#include "models/dcgan3d.h"
#include "test.h"

static int64_t count(vg_params *P, int with_buffers) {
    int64_t n = 0;
    for (int i = 0; i < vg_params_count(P); i++)
        if (with_buffers || !vg_params_is_buffer(P, i)) n += vg_tensor_numel(vg_params_get(P, i));
    return n;
}

static void check(int size, int t0, const int *g_ch, const int *d_ch, int stages) {
    vg_ctx *ctx;
    vg_ctx_new(&ctx, NULL);
    vg_dcgan3d m;
    vg_dcgan3d_config c = {.size = size, .frames = 16, .channels = 3, .z_dim = 100, .g_base = 64, .d_base = 64};
    vg_status st = vg_dcgan3d_init(&m, ctx, &c, 1);
    CHECK(st == VG_OK, "%dx%d: %s", size, size, vg_last_error());
    if (st != VG_OK) {
        vg_ctx_free(ctx);
        return;
    }
    /* G: first conv z -> g_ch[0] with kernel t0x4x4, then 4x4x4 kernels; BN (2 params) after all but the last */
    int64_t g = 100LL * g_ch[0] * t0 * 16, d = 0, g_bn = 0, d_bn = 0;
    for (int s = 0; s < stages; s++) g += (int64_t)g_ch[s] * g_ch[s + 1] * 64;
    for (int s = 0; s < stages; s++) g_bn += 2LL * g_ch[s];
    for (int s = 0; s < stages; s++) d += (int64_t)d_ch[s] * d_ch[s + 1] * 64;
    d += (int64_t)d_ch[stages] * t0 * 16;
    for (int s = 2; s <= stages; s++) d_bn += 2LL * d_ch[s];
    CHECK(count(m.G, 0) == g + g_bn, "%d: G has %lld trainable parameters, the reference %lld", size, (long long)count(m.G, 0),
          (long long)(g + g_bn));
    CHECK(count(m.D, 0) == d + d_bn, "%d: D has %lld trainable parameters, the reference %lld", size, (long long)count(m.D, 0),
          (long long)(d + d_bn));
    vg_ctx_set_grad_enabled(ctx, 0);
    vg_tensor *z = vg_tensor_zeros(ctx, 2, (int64_t[]){2, 100}, 0);
    vg_tensor_fill_normal(z, 3, 0, 0, 1);
    vg_tensor *video = vg_dcgan3d_generate(&m, ctx, z, VG_BN_BATCH);
    CHECK(video && vg_tensor_ndim(video) == 5 && vg_tensor_dim(video, 1) == 3 && vg_tensor_dim(video, 2) == 16 &&
              vg_tensor_dim(video, 3) == size && vg_tensor_dim(video, 4) == size,
          "%d: G output shape", size);
    vg_tensor *logits = vg_dcgan3d_discriminate(&m, ctx, video, VG_BN_BATCH);
    CHECK(logits && vg_tensor_ndim(logits) == 1 && vg_tensor_dim(logits, 0) == 2, "%d: D output is one logit per clip", size);
    vg_dcgan3d_free(&m);
    vg_ctx_free(ctx);
}

/* G's output for z computed the long way from the model's own parameters:
 * first deconv, then per stage vg_upsample (nearest) + vg_conv3d. */
static vg_tensor *resize_by_hand(vg_dcgan3d *m, vg_ctx *ctx, vg_tensor *z) {
    int64_t n = vg_tensor_dim(z, 0);
    vg_tensor *h = vg_reshape(ctx, z, 5, (int64_t[]){n, m->cfg.z_dim, 1, 1, 1});
    for (int s = 0; s <= m->stages; s++) {
        const vg_dcgan3d_layer *L = &m->g[s];
        vg_conv_args a = {0};
        if (s == 0) {
            h = vg_conv_transpose3d(ctx, h, L->weight, NULL, a);
        } else {
            int64_t size[3];
            for (int i = 0; i < 3; i++) size[i] = vg_tensor_dim(h, 2 + i) * L->up[i], a.padding[i] = 1;
            h = vg_conv3d(ctx, vg_upsample(ctx, h, size, VG_INTERP_NEAREST, 0), L->weight, NULL, a);
        }
        if (s < m->stages)
            h = vg_relu(ctx, vg_batch_norm(ctx, h, L->bn_weight, L->bn_bias, NULL, NULL, 1, 0.1, 1e-5));
        else
            h = vg_tanh(ctx, h);
    }
    return h;
}

static void check_resize(int size, int frames) {
    vg_ctx *ctx;
    vg_ctx_new(&ctx, NULL);
    vg_dcgan3d m;
    vg_dcgan3d_config c = {.size = size, .frames = frames, .channels = 3, .z_dim = 8, .g_base = 4, .d_base = 4,
                           .g_arch = VG_G_RESIZE};
    vg_status st = vg_dcgan3d_init(&m, ctx, &c, 3);
    CHECK(st == VG_OK, "resize %dx%dx%d: %s", size, size, frames, vg_last_error());
    if (st != VG_OK) {
        vg_ctx_free(ctx);
        return;
    }
    /* names: Upsample takes an index, so stage 1's conv is net.4 and its BN net.5 */
    int found_conv = 0, found_bn = 0;
    for (int i = 0; i < vg_params_count(m.G); i++) {
        const char *name = vg_params_name(m.G, i);
        vg_tensor *t = vg_params_get(m.G, i);
        if (strcmp(name, "G.net.4.weight") == 0)
            found_conv = vg_tensor_ndim(t) == 5 && vg_tensor_dim(t, 1) == 4LL << (m.stages - 1) && vg_tensor_dim(t, 2) == 3 &&
                         vg_tensor_dim(t, 4) == 3;
        if (strcmp(name, "G.net.5.weight") == 0) found_bn = vg_tensor_dim(t, 0) == 4LL << (m.stages - 2);
    }
    CHECK(found_conv && found_bn, "resize %dx%dx%d: G.net.4 is a Conv3d (out, in, 3, 3, 3), G.net.5 its BatchNorm", size,
          size, frames);
    /* BatchNorm weights away from 1 so a mix-up of layers shows */
    for (int i = 0; i < vg_params_count(m.G); i++)
        if (vg_tensor_ndim(vg_params_get(m.G, i)) == 1 && !vg_params_is_buffer(m.G, i))
            vg_tensor_fill_uniform(vg_params_get(m.G, i), 5, (uint64_t)i * 1000, 0.5, 1.5);
    const int n = 2;
    vg_tensor *z = vg_tensor_new(ctx, 2, (int64_t[]){n, c.z_dim}, 0);
    vg_tensor_fill_normal(z, 9, 0, 0.0, 1.0);
    vg_tensor *fast = vg_dcgan3d_generate(&m, ctx, z, VG_BN_BATCH), *slow = resize_by_hand(&m, ctx, z);
    CHECK(fast && slow, "resize %dx%dx%d: forward: %s", size, size, frames, vg_last_error());
    if (fast && slow) {
        int64_t numel = vg_tensor_numel(slow);
        CHECK(vg_tensor_numel(fast) == numel && vg_tensor_dim(fast, 2) == frames && vg_tensor_dim(fast, 4) == size,
              "resize %dx%dx%d: output shape", size, size, frames);
        float *a = malloc((size_t)numel * sizeof *a), *b = malloc((size_t)numel * sizeof *b);
        vg_tensor_read(fast, a);
        vg_tensor_read(slow, b);
        char what[64];
        snprintf(what, sizeof what, "resize G %dx%dx%d", size, size, frames);
        CHECK_CLOSE(what, a, b, numel, 1e-4, 1e-6);
        free(a);
        free(b);
    }
    vg_dcgan3d_free(&m);
    vg_ctx_free(ctx);
}

int main(void) {
    check_resize(32, 16);
    check_resize(64, 8);
    check_resize(16, 1);
    const int g64[] = {512, 256, 128, 64, 3}, d64[] = {3, 64, 128, 256, 512};
    const int g32[] = {256, 128, 64, 3}, d32[] = {3, 64, 128, 256};
    check(64, 1, g64, d64, 4);
    check(32, 2, g32, d32, 3);

    vg_ctx *ctx;
    vg_ctx_new(&ctx, NULL);
    vg_dcgan3d m;
    struct {
        vg_dcgan3d_config c;
        const char *want;
    } bad[] = {
        {{.size = 48, .frames = 16, .channels = 3, .z_dim = 100, .g_base = 64, .d_base = 64}, "size"},
        {{.size = 32, .frames = 12, .channels = 3, .z_dim = 100, .g_base = 64, .d_base = 64}, "frames"},
        {{.size = 32, .frames = 16, .channels = 2, .z_dim = 100, .g_base = 64, .d_base = 64}, "channels"},
        {{.size = 32, .frames = 16, .channels = 3, .z_dim = 0, .g_base = 64, .d_base = 64}, "z_dim"},
        {{.size = 256, .frames = 16, .channels = 3, .z_dim = 100, .g_base = 1024, .d_base = 1024}, "parameters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vg_status st = vg_dcgan3d_init(&m, ctx, &bad[i].c, 1);
        CHECK(st == VG_ERR_INVALID && strstr(vg_last_error(), bad[i].want), "bad config %zu refused naming '%s': %s", i,
              bad[i].want, vg_last_error());
        if (st == VG_OK) vg_dcgan3d_free(&m);
    }
    vg_ctx_free(ctx);
    TEST_END();
}
