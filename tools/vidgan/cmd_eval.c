/* `vidgan eval`: "learned, not noise", measured. Scores real clips of a data
 * set and (with --ckpt) as many generated clips with the same pixel-only
 * metrics, side by side: for "shapes", valid frames (exactly one object of
 * plausible area) and smooth clips (constant velocity between wall
 * bounces); see src/eval/shapes_metrics.h and docs/eval.md. Prints a table
 * and the protocol (data set, size, frames, N, seed, thresholds); --json
 * writes the same as one record. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "data/dataset.h"
#include "eval/shapes_metrics.h"
#include "models/dcgan3d.h"
#include "options.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

/* Labels of the frame verdicts in the table and the JSON. */
static const char *const verdict_label[VG_SHAPES_VERDICT_COUNT] = {
    "valid", "no object", "several objects", "object too small", "object too large", "NaN/inf pixels"};

static json_t *summary_json(const vg_shapes_summary *s) {
    json_t *v = json_object();
    for (int k = 0; k < VG_SHAPES_VERDICT_COUNT; k++)
        json_object_set_new(v, vg_shapes_verdict_name((vg_shapes_verdict)k), json_integer(s->verdicts[k]));
    return json_pack("{s:I, s:I, s:f, s:f, s:f, s:o}", "clips", (json_int_t)s->clips, "frames", (json_int_t)s->frames,
                     "valid_frames", s->valid_frac, "smooth_clips", s->smooth_frac, "valid_clips",
                     s->clips ? (double)s->valid_clips / (double)s->clips : 0.0, "frame_verdicts", v);
}

static void print_row(const char *name, double real, const vg_shapes_summary *gen, double gen_value, const char *unit) {
    if (gen)
        printf("  %-22s %9.1f%s %9.1f%s\n", name, real, unit, gen_value, unit);
    else
        printf("  %-22s %9.1f%s %10s\n", name, real, unit, "-");
}

/* Generates n clips into out (n, C, T, H, W) from the checkpoint; fills the
 * model's geometry into *mc. */
static int generate(const char *ckpt, int no_ema, int n, int seed, int size, int frames, float **out, vg_dcgan3d_config *mc,
                    int *used_ema, int64_t *step) {
    vg_ctx *ctx = NULL;
    vg_dcgan3d model = {0};
    vg_train_config cfg;
    char *data_text = NULL, *owned = NULL;
    float *z = NULL, *x = NULL;
    int rc = 1;
    vg_dataset_spec spec = {0};
    if (vg_ckpt_read_config(ckpt, &cfg, &data_text, step) != VG_OK) goto fail;
    if (strcmp(data_text, "null") != 0 && vg_ckpt_data_parse(data_text, &spec, &owned) != VG_OK) goto fail;
    if (spec.source && strcmp(spec.source, "shapes") != 0) {
        fprintf(stderr, "vidgan: %s: trained on '%s'; eval measures shapes models only\n", ckpt, spec.source);
        rc = 2;
        goto done;
    }
    *mc = cfg.model;
    if (mc->channels != 3) {
        fprintf(stderr, "vidgan: %s: the generator makes %d-channel clips; shapes clips are RGB\n", ckpt, mc->channels);
        rc = 2;
        goto done;
    }
    if ((size && size != mc->size) || (frames && frames != mc->frames)) {
        fprintf(stderr, "vidgan: %s: the generator makes %dx%dx%d clips (size x size x frames); --size %d --frames %d asked\n",
                ckpt, mc->size, mc->size, mc->frames, size ? size : mc->size, frames ? frames : mc->frames);
        rc = 2;
        goto done;
    }
    if (vg_ctx_new(&ctx, NULL) != VG_OK) goto fail;
    vg_ctx_set_grad_enabled(ctx, 0);
    if (vg_ckpt_load_generator(ckpt, no_ema ? VG_CKPT_WEIGHTS_LIVE : VG_CKPT_WEIGHTS_DEFAULT, ctx, &model, NULL, used_ema) != VG_OK)
        goto fail;
    const size_t clip = (size_t)3 * mc->frames * mc->size * mc->size;
    z = malloc((size_t)n * (size_t)mc->z_dim * sizeof *z);
    x = malloc((size_t)n * clip * sizeof *x);
    if (!z || !x) {
        fprintf(stderr, "vidgan: out of memory for %d generated clips\n", n);
        goto done;
    }
    vg_latent_noise((uint64_t)seed, n, mc->z_dim, z);
    /* BatchNorm on batch statistics, as vidgan sample does, in chunks of 16 */
    if (vg_dcgan3d_sample(&model, ctx, z, n, 16, VG_BN_BATCH, x) != VG_OK) goto fail;
    *out = x;
    x = NULL;
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "vidgan: %s\n", vg_last_error());
done:
    if (model.G || model.D) vg_dcgan3d_free(&model);
    vg_ctx_free(ctx);
    free(z);
    free(x);
    free(owned);
    free(data_text);
    return rc;
}

int cmd_eval(int argc, char **argv) {
    const char *data = "shapes", *ckpt = NULL, *json = NULL;
    int size = 0, frames = 0, n = 256, seed = 1, threads = 0, no_ema = 0;
    const cli_option opts[] = {
        {"data", OPT_STRING, &data, "data set whose metrics to use: shapes"},
        {"ckpt", OPT_STRING, &ckpt, "checkpoint whose generator to score (without it only real clips are scored)"},
        {"size", OPT_INT, &size, "frame height = width (0: the checkpoint's, or 32 without one)"},
        {"frames", OPT_INT, &frames, "frames per clip (0: the checkpoint's, or 16 without one)"},
        {"n", OPT_INT, &n, "clips scored on each side (real and generated)"},
        {"seed", OPT_INT, &seed, "seed of the real clips (indices 0..n-1) and of the latent vectors"},
        {"no-ema", OPT_FLAG, &no_ema, "use the live generator weights instead of their moving average"},
        {"json", OPT_STRING, &json, "also write the results as one JSON record to this file"},
        {"threads", OPT_INT, &threads, "CPU threads (0: VIDGAN_THREADS or all cores)"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 2, pos, 0, &npos,
                       "usage: vidgan eval --data shapes [--ckpt FILE] [options]\n\n"
                       "Scores real and generated clips with pixel-only metrics (docs/eval.md):\n"
                       "valid frames (exactly one object of plausible area) and smooth clips\n"
                       "(constant velocity between wall bounces).",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    if (strcmp(data, "shapes") != 0) {
        fprintf(stderr, "vidgan: eval --data %s: only 'shapes' has metrics so far\n", data);
        return 2;
    }
    if (n < 1 || n > 100000 || size < 0 || frames < 0) {
        fprintf(stderr, "vidgan: need 1 <= --n <= 100000 and --size, --frames >= 0\n");
        return 2;
    }
    vg_set_threads(threads);

    /* generated clips first: they fix the geometry */
    float *gen = NULL;
    vg_dcgan3d_config mc = {0};
    int used_ema = 0;
    int64_t step = 0;
    if (ckpt) {
        if ((rc = generate(ckpt, no_ema, n, seed, size, frames, &gen, &mc, &used_ema, &step)) != 0) return rc;
        size = mc.size;
        frames = mc.frames;
    }
    if (!size) size = 32;
    if (!frames) frames = 16;

    int exit_code = 1;
    float *real = NULL;
    vg_dataset *ds = NULL;
    vg_dataset_spec spec = {.source = data, .frames = frames, .size = size, .seed = (uint64_t)seed};
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        exit_code = 2;
        goto done;
    }
    real = malloc((size_t)n * (size_t)vg_dataset_clip_numel(ds) * sizeof *real);
    if (!real) {
        fprintf(stderr, "vidgan: out of memory for %d real clips\n", n);
        goto done;
    }
    vg_shapes_metrics_config mcfg;
    vg_shapes_metrics_default(&mcfg, size);
    vg_shapes_summary rs, gs;
    if (vg_dataset_batch(ds, 0, n, real, NULL) != VG_OK || vg_shapes_metrics_batch(&mcfg, real, n, frames, NULL, &rs) != VG_OK ||
        (gen && vg_shapes_metrics_batch(&mcfg, gen, n, frames, NULL, &gs) != VG_OK)) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }

    printf("protocol: data %s, %dx%d, %d frames, N %d clips each, seed %d (real: clips 0..%d of data seed %d", data, size, size,
           frames, n, seed, n - 1, seed);
    printf(ckpt ? "; generated: latents 0..%d of seed %d)\n" : ")\n", n - 1, seed);
    if (ckpt) printf("generator: %s (step %lld, %s weights)\n", ckpt, (long long)step, used_ema ? "EMA" : "live");
    printf("thresholds: foreground = RGB distance > %.2f from the fitted background; components < %d px ignored;\n"
           "            object area %.1f..%.1f px; |2nd difference| <= %.2f px (%.2f px at a bounce, within %.1f px of the wall)\n\n",
           mcfg.fg_threshold, mcfg.speck_px, mcfg.area_min, mcfg.area_max, mcfg.accel_tol, mcfg.bounce_tol, mcfg.wall_margin);
    printf("  %-22s %10s %10s\n", "metric", "real", "generated");
    const vg_shapes_summary *g = gen ? &gs : NULL;
    print_row("valid frames", 100 * rs.valid_frac, g, g ? 100 * g->valid_frac : 0, "%");
    print_row("smooth clips", 100 * rs.smooth_frac, g, g ? 100 * g->smooth_frac : 0, "%");
    print_row("all-valid clips", 100.0 * (double)rs.valid_clips / n, g, g ? 100.0 * (double)g->valid_clips / n : 0, "%");
    printf("  frames by verdict:\n");
    for (int k = 1; k < VG_SHAPES_VERDICT_COUNT; k++) {
        char name[40];
        snprintf(name, sizeof name, "  %s", verdict_label[k]);
        print_row(name, 100.0 * (double)rs.verdicts[k] / (double)rs.frames, g,
                  g ? 100.0 * (double)g->verdicts[k] / (double)g->frames : 0, "%");
    }

    if (json) {
        json_t *thr = json_pack("{s:f, s:i, s:f, s:f, s:f, s:f, s:f}", "fg_threshold", (double)mcfg.fg_threshold, "speck_px",
                                mcfg.speck_px, "area_min", (double)mcfg.area_min, "area_max", (double)mcfg.area_max,
                                "accel_tol", (double)mcfg.accel_tol, "bounce_tol", (double)mcfg.bounce_tol, "wall_margin",
                                (double)mcfg.wall_margin);
        json_t *rec = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s?, s:s?, s:o, s:o, s:o, s:s}", "metric", "shapes", "data", data,
                                "size", size, "frames", frames, "n", n, "seed", seed, "ckpt", ckpt,
                                "weights", ckpt ? (used_ema ? "ema" : "live") : NULL, "thresholds", thr, "real",
                                summary_json(&rs), "generated", gen ? summary_json(&gs) : json_null(), "vidgan_version",
                                VG_VERSION);
        if (rec && ckpt) json_object_set_new(rec, "step", json_integer(step));
        if (!rec || json_dump_file(rec, json, JSON_INDENT(2) | JSON_REAL_PRECISION(6)) != 0) {
            fprintf(stderr, "vidgan: %s: cannot write the JSON record\n", json);
            json_decref(rec);
            goto done;
        }
        json_decref(rec);
        fprintf(stderr, "wrote %s\n", json);
    }
    exit_code = 0;
done:
    vg_dataset_close(ds);
    free(real);
    free(gen);
    return exit_code;
}
