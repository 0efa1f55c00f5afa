/* Step parity with PyTorch (llm.c's test_gpt2 habit): a small 3D-DCGAN
 * starts from the weights in tests/fixtures/train_step.safetensors and runs 5
 * training iterations on the fixture's real clips and noise, for each loss
 * (non-saturating, hinge, least squares), for hinge with a spectrally
 * normalised discriminator, for non-saturating with a resize-convolution
 * generator (--g-arch resize) and with MoCoGAN's image discriminator beside
 * the video one (--image-d), with one-sided label smoothing and annealed
 * instance noise (drawn by the reference with the trainer's Philox stream),
 * lsgan with label smoothing, and VGAN's two-stream generator (with
 * transposed-convolution and with resize stages). The reference
 * (tools/fixtures/make_train_step.py + tools/ref_dcgan3d.py) ran the same
 * iterations in float64. Checked: every iteration's D and G loss within 1e-3
 * relative (measured: <= 5e-6); after 5 iterations every parameter and
 * BatchNorm buffer within 1e-4 of the tensor's largest magnitude (measured:
 * < 2e-5), and Adam's moments likewise. */
#include "fixture.h"
#include "train/params_io.h"
#include "train/trainer.h"

static void compare_params(vg_params *P, const vg_st_file *f, const char *prefix, const char *kind) {
    for (int i = 0; i < vg_params_count(P); i++) {
        vg_tensor *t = vg_params_get(P, i);
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, vg_params_name(P, i));
        int64_t n = vg_tensor_numel(t);
        float *want = malloc((size_t)n * sizeof *want), *got = malloc((size_t)n * sizeof *got);
        vg_status st = vg_st_read_f32(f, name, want, n);
        CHECK(st == VG_OK, "%s: %s", kind, vg_last_error());
        if (st == VG_OK) {
            vg_tensor_read(t, got);
            char what[300];
            snprintf(what, sizeof what, "%s: %s", kind, name);
            CHECK_CLOSE(what, got, want, n, 1e-4, 1e-7);
        }
        free(want);
        free(got);
    }
}

static void compare_moments(vg_adam *a, const vg_st_file *f, const char *prefix, const char *kind) {
    vg_params *P = a->params;
    int64_t off = 0;
    for (int i = 0; i < vg_params_count(P); i++) {
        if (vg_params_is_buffer(P, i)) continue;
        int64_t n = vg_tensor_numel(vg_params_get(P, i));
        for (int which = 0; which < 2; which++) {
            char name[256];
            snprintf(name, sizeof name, "%s%s%s", prefix, which ? "adam_v." : "adam_m.", vg_params_name(P, i));
            float *want = malloc((size_t)n * sizeof *want);
            CHECK(vg_st_read_f32(f, name, want, n) == VG_OK, "%s: %s", kind, vg_last_error());
            char what[300];
            snprintf(what, sizeof what, "%s: %s", kind, name);
            CHECK_CLOSE(what, (which ? a->v : a->m) + off, want, n, 1e-4, 1e-12);
            free(want);
        }
        off += n;
    }
}

int main(void) {
    vg_st_file *f;
    if (vg_st_open(&f, "tests/fixtures/train_step.safetensors") != VG_OK) {
        CHECK(0, "%s (regenerate with `make fixtures`)", vg_last_error());
        TEST_END();
    }
    json_t *cfg = json_loads(vg_st_meta(f, "config"), 0, NULL);
    CHECK(cfg != NULL, "train_step fixture: no config metadata");
    if (!cfg) TEST_END();
    vg_train_config c;
    vg_train_config_default(&c);
    c.model = (vg_dcgan3d_config){.size = (int)vt_arg_int(cfg, "size"), .frames = (int)vt_arg_int(cfg, "frames"),
                                  .channels = (int)vt_arg_int(cfg, "channels"), .z_dim = (int)vt_arg_int(cfg, "z_dim"),
                                  .g_base = (int)vt_arg_int(cfg, "g_base"), .d_base = (int)vt_arg_int(cfg, "d_base")};
    c.batch = (int)vt_arg_int(cfg, "batch");
    c.lr_g = c.lr_d = vt_arg_double(cfg, "lr");
    c.beta1 = vt_arg_double(cfg, "beta1");
    c.beta2 = vt_arg_double(cfg, "beta2");
    c.eps = vt_arg_double(cfg, "eps");
    c.ema_decay = 0;
    int steps = (int)vt_arg_int(cfg, "steps");
    const double noise_std = vt_arg_double(cfg, "noise_std"), smooth = vt_arg_double(cfg, "label_smooth");
    const int motion_dim = (int)vt_arg_int(cfg, "motion_dim");
    const double mask_l1 = vt_arg_double(cfg, "mask_l1"), path_l1 = vt_arg_double(cfg, "path_l1");
    const int64_t noise_steps = vt_arg_int(cfg, "noise_steps");
    json_decref(cfg);

    int64_t clip = (int64_t)c.model.channels * c.model.frames * c.model.size * c.model.size;
    float *real = malloc((size_t)(steps * c.batch * clip) * sizeof *real);
    float *z = malloc((size_t)(steps * c.batch * c.model.z_dim) * sizeof *z);
    CHECK(vg_st_read_f32(f, "real", real, steps * c.batch * clip) == VG_OK, "%s", vg_last_error());
    CHECK(vg_st_read_f32(f, "z", z, steps * c.batch * c.model.z_dim) == VG_OK, "%s", vg_last_error());
    /* MoCoGAN's latent vectors: z_C, h_0 and one GRU input per frame */
    vg_dcgan3d_config with_motion = c.model;
    with_motion.motion_dim = motion_dim;
    const int64_t motion_latent = vg_dcgan3d_latent_dim(&with_motion);
    float *z_motion = malloc((size_t)(steps * c.batch * motion_latent) * sizeof *z_motion);
    CHECK(vg_st_read_f32(f, "z_motion", z_motion, steps * c.batch * motion_latent) == VG_OK, "%s", vg_last_error());
    float *z_still = malloc((size_t)(steps * c.batch * motion_latent) * sizeof *z_still);

    const char *kinds[] = {"nonsat",       "hinge",        "lsgan",
                           "hinge_sn",     "nonsat_resize", "nonsat_imaged",
                           "nonsat_noise", "lsgan_smooth",  "nonsat_twostream",
                           "nonsat_twostream_resize", "nonsat_motion_twostream_resize", "nonsat_twostream_mask",
                           "nonsat_sprite_twostream_resize", "nonsat_sprite_still_twostream_resize"};
    for (int k = 0; k < (int)(sizeof kinds / sizeof kinds[0]); k++) {
        int sn = strstr(kinds[k], "_sn") != NULL, rs = strstr(kinds[k], "_resize") != NULL;
        int image_d = strstr(kinds[k], "_imaged") != NULL, noise = strstr(kinds[k], "_noise") != NULL;
        c.label_smooth = noise || strstr(kinds[k], "_smooth") ? smooth : 0;
        c.instance_noise = noise ? noise_std : 0;
        c.noise_steps = noise ? noise_steps : 0;
        char loss[16];
        snprintf(loss, sizeof loss, "%.*s", (int)strcspn(kinds[k], "_"), kinds[k]);
        CHECK(vg_gan_loss_parse(loss, &c.loss), "loss name %s", kinds[k]);
        c.model.spectral_norm = sn;
        c.model.g_arch = rs ? VG_G_RESIZE : VG_G_DECONV;
        c.model.image_d = image_d;
        c.model.two_stream = strstr(kinds[k], "_twostream") != NULL;
        c.model.sprite = strstr(kinds[k], "_sprite") != NULL;
        c.model.motion_still = strstr(kinds[k], "_still") != NULL;
        c.model.motion_dim = strstr(kinds[k], "_motion") || c.model.sprite ? motion_dim : 0;
        c.mask_l1 = strstr(kinds[k], "_mask") ? mask_l1 : 0;
        c.path_l1 = c.model.sprite ? path_l1 : 0;
        const int64_t latent = vg_dcgan3d_latent_dim(&c.model);
        /* --motion-still reads the first z_dim + motion_dim values of each z_motion row */
        for (int64_t r = 0; c.model.motion_still && r < steps * c.batch; r++)
            memcpy(z_still + r * latent, z_motion + r * motion_latent, (size_t)latent * sizeof *z_still);
        const float *zk = c.model.motion_still ? z_still : c.model.motion_dim ? z_motion : z;
        const char *init = sn ? "init_sn." : image_d ? "init_di." : "init.";
        vg_trainer t;
        if (vg_trainer_init(&t, &c, NULL) != VG_OK) {
            CHECK(0, "%s: trainer: %s", kinds[k], vg_last_error());
            continue;
        }
        const char *init_g = c.model.sprite       ? "init_sp."
                             : c.model.motion_dim ? "init_mo."
                             : c.model.two_stream ? (rs ? "init_tsrs." : "init_ts.")
                             : rs ? "init_rs." : init;
        CHECK(vg_params_from_file(t.model.G, f, init_g, 0) == VG_OK, "%s", vg_last_error());
        CHECK(vg_params_from_file(t.model.D, f, init, 0) == VG_OK, "%s", vg_last_error());
        char name[64];
        snprintf(name, sizeof name, "%s.losses", kinds[k]);
        double want[64];
        int wi = vg_st_find(f, name);
        CHECK(wi >= 0 && vg_st_numel(f, wi) == 2 * steps, "%s: fixture has no %s", kinds[k], name);
        if (wi < 0) {
            vg_trainer_free(&t);
            continue;
        }
        memcpy(want, vg_st_data(f, wi), (size_t)(2 * steps) * sizeof(double));
        for (int s = 0; s < steps; s++) {
            vg_step_stats st;
            vg_status rc = vg_trainer_step_with(&t, real + (int64_t)s * c.batch * clip, zk + (int64_t)s * c.batch * latent, &st);
            CHECK(rc == VG_OK, "%s step %d: %s", kinds[k], s, vg_last_error());
            double rd = fabs(st.loss_d - want[2 * s]) / fabs(want[2 * s]);
            double rg = fabs(st.loss_g - want[2 * s + 1]) / fabs(want[2 * s + 1]);
            CHECK(rd < 1e-3, "%s step %d: loss_D %.9g vs torch %.9g (rel %.2g)", kinds[k], s, st.loss_d, want[2 * s], rd);
            CHECK(rg < 1e-3, "%s step %d: loss_G %.9g vs torch %.9g (rel %.2g)", kinds[k], s, st.loss_g, want[2 * s + 1], rg);
            if (getenv("VERBOSE"))
                printf("%s step %d: loss_D rel %.2g, loss_G rel %.2g\n", kinds[k], s, rd, rg);
        }
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%s.final.", kinds[k]);
        compare_params(t.model.G, f, prefix, kinds[k]);
        compare_params(t.model.D, f, prefix, kinds[k]);
        if (k == 0) {
            snprintf(prefix, sizeof prefix, "%s.", kinds[k]);
            compare_moments(&t.opt_g, f, prefix, kinds[k]);
            compare_moments(&t.opt_d, f, prefix, kinds[k]);
        }
        vg_trainer_free(&t);
    }
    free(real);
    free(z);
    free(z_motion);
    free(z_still);
    vg_st_close(f);
    TEST_END();
}
