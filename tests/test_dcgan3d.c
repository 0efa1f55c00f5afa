/* The 3D-DCGAN's geometry against the engine issue's reference models: at
 * 64x64x16, G: z(100) -> 512x1x4x4 (kernel 1x4x4) -> 256x2x8x8 -> 128x4x16x16
 * -> 64x8x32x32 -> 3x16x64x64, D the mirror (3 -> 64 -> 128 -> 256 -> 512,
 * then 512 -> 1 with kernel 1x4x4); at 32x32x16 G starts at 256x2x4x4
 * (kernel 2x4x4). Parameter counts are derived here from those layer lists,
 * not from the model code. Also: configurations that are invalid or absurdly
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

int main(void) {
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
