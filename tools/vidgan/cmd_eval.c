/* `vidgan eval`: real clips of a data set against generated clips (a
 * checkpoint's generator, or videos on disk read through the same data set
 * interface), every score beside its real-vs-real floor: the same metric
 * between two disjoint real splits A and B of the same N (generated is
 * scored against A, B against A). Metrics (docs/eval.md):
 *
 *   evaluator  Fréchet distance (FED), KID, precision/recall on the features
 *              of vidgan's own frozen evaluator network (--evaluator FILE);
 *              its class accuracy on real clips, and "n/a" for generated
 *              ones from an unconditional model
 *   fvd        FVD on I3D features (--i3d FILE)
 *   shapes     the physics metrics of src/eval/shapes_metrics.h
 *   digits     the moving-digit metrics of src/eval/digits_metrics.h, and
 *              with a labels evaluator the class of each half of a clip
 *   disc       the checkpoint's own discriminator: accuracy at logit 0
 *   frames     a different mode: predicted videos against their true
 *              targets pair by pair (L1, MSE, PSNR, SSIM; eval_frames.c)
 *
 * Prints the protocol and a table; --json writes one record holding every
 * number with its protocol (network hashes, N, geometry, seed, data,
 * checkpoint and step, version). The measuring is in eval_metrics.c. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_data.h"
#include "commands.h"
#include "data/dataset.h"
#include "data/video_folder.h"
#include "eval/digits_metrics.h"
#include "eval/shapes_metrics.h"
#include "eval_frames.h"
#include "eval_metrics.h"
#include "models/dcgan3d.h"
#include "options.h"
#include "progress.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

/* Distribution metrics are usually quoted at this N (FVD's fvd2048_16f). */
#define EVAL_N_PUBLISHED 2048

/* M_ALL is every metric of the real-vs-generated mode; frames is a mode of
 * its own, named alone */
enum { M_EVALUATOR = 1, M_FVD = 2, M_SHAPES = 4, M_DISC = 8, M_DIGITS = 16, M_ALL = 31, M_FRAMES = 32 };

/* Parses "all" or a comma list of metric names into M_* bits; 0 on error. */
static int parse_metrics(const char *s) {
    static const struct {
        const char *name;
        int bit;
    } names[] = {{"all", M_ALL},   {"evaluator", M_EVALUATOR}, {"fvd", M_FVD},     {"shapes", M_SHAPES},
                 {"disc", M_DISC}, {"digits", M_DIGITS},       {"frames", M_FRAMES}};
    int bits = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strlen(names[k].name) == len && strncmp(names[k].name, p, len) == 0) bits |= names[k].bit, found = 1;
        if (!found) return 0;
        p += len;
        if (*p == ',') p++;
    }
    return bits;
}

/* Labels of the shapes frame verdicts. */
static const char *const verdict_label[VG_SHAPES_VERDICT_COUNT] = {
    "valid", "no object", "several objects", "object too small", "object too large", "NaN/inf pixels"};

static json_t *shapes_json(const vg_shapes_summary *s) {
    json_t *v = json_object();
    for (int k = 0; k < VG_SHAPES_VERDICT_COUNT; k++)
        json_object_set_new(v, vg_shapes_verdict_name((vg_shapes_verdict)k), json_integer(s->verdicts[k]));
    const double med = vg_shapes_accel_median(s);
    return json_pack("{s:I, s:I, s:f, s:f, s:f, s:o, s:o}", "clips", (json_int_t)s->clips, "frames", (json_int_t)s->frames,
                     "valid_frames", s->valid_frac, "smooth_clips", s->smooth_frac, "valid_clips",
                     s->clips ? (double)s->valid_clips / (double)s->clips : 0.0, "frame_verdicts", v,
                     "median_accel_px", isfinite(med) ? json_real(med) : json_null());
}

/* Labels of the digits frame verdicts and clip motion outcomes. */
static const char *const digits_verdict_label[VG_DIGITS_VERDICT_COUNT] = {
    "valid", "no ink", "specks outside the digits", "ink spread beyond the digits", "too little ink", "too much ink",
    "NaN/inf pixels"};
static const char *const digits_motion_label[VG_DIGITS_MOTION_COUNT] = {
    "smooth", "some frame invalid", "digit lost", "reversal off a wall", "uneven steps", "speed off"};

static json_t *digits_json(const vg_digits_summary *s, const int64_t *id_stable) {
    json_t *v = json_object(), *m = json_object();
    for (int k = 0; k < VG_DIGITS_VERDICT_COUNT; k++)
        json_object_set_new(v, vg_digits_verdict_name((vg_digits_verdict)k), json_integer(s->verdicts[k]));
    for (int k = 0; k < VG_DIGITS_MOTION_COUNT; k++)
        json_object_set_new(m, vg_digits_motion_name((vg_digits_motion)k), json_integer(s->motion[k]));
    const double n = s->clips ? (double)s->clips : 1.0;
    return json_pack("{s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:o, s:o, s:o}", "clips", (json_int_t)s->clips, "frames",
                     (json_int_t)s->frames, "valid_frames", s->valid_frac, "ink_clips", s->ink_frac, "smooth_clips",
                     s->smooth_frac, "valid_clips", (double)s->valid_clips / n, "as_one_clips", (json_int_t)s->as_one_clips,
                     "as_one_smooth", (json_int_t)s->as_one_smooth, "identity_stable",
                     id_stable ? json_real((double)*id_stable / n) : json_null(), "frame_verdicts", v, "motion", m);
}

/* Where the table goes: stdout, or stderr when the JSON goes to stdout. */
static FILE *table;

static json_t *num_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* What every result record repeats: the protocol of its numbers. */
typedef struct protocol {
    const char *data;
    int64_t real_first;
    int C, T, S, stride, seed;
    int64_t n_real, n_gen;
} protocol;

/* One table row and one JSON result: generated vs real A beside the floor,
 * real B vs real A. scale multiplies the printed numbers only; NAN prints
 * "-" and stores null. */
static void report(json_t *results, const protocol *p, const char *label, const char *metric, const char *network,
                   const char *sha, double gen, double floor, const char *better, double scale, const char *fmt,
                   const char *gen_na) {
    char g[64] = "-", f[32] = "-";
    if (gen_na) snprintf(g, sizeof g, "%s", gen_na);
    if (isfinite(gen)) snprintf(g, sizeof g, fmt, gen * scale);
    if (isfinite(floor)) snprintf(f, sizeof f, fmt, floor * scale);
    fprintf(table, "  %-36s %12s %12s\n", label, g, f);
    json_t *r = json_pack("{s:s, s:s?, s:s?, s:o, s:o, s:s, s:I, s:I, s:i, s:i, s:i, s:i, s:i, s:s, s:I}", "metric", metric,
                          "network", network, "network_sha256", sha, "generated", num_or_null(gen), "floor",
                          num_or_null(floor), "better", better, "n_real", (json_int_t)p->n_real, "n_generated",
                          (json_int_t)p->n_gen, "channels", p->C, "frames", p->T, "size", p->S, "stride", p->stride,
                          "seed", p->seed, "data", p->data, "real_first_index", (json_int_t)p->real_first);
    if (r && gen_na) json_object_set_new(r, "generated_na", json_string(gen_na));
    if (r) json_array_append_new(results, r);
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* --fake as a data set spec source: a folder, a .npy, or a single video
 * file, which is linked into a scratch folder of its own (the data set
 * interface reads folders). link/dir receive what to remove afterwards. */
static int fake_source(const char *fake, vg_dataset_spec *spec, char link[600], char dir[64]) {
    struct stat sb;
    if (stat(fake, &sb) != 0) {
        fprintf(stderr, "vidgan: --fake %s: %s\n", fake, strerror(errno));
        return 2;
    }
    if (S_ISDIR(sb.st_mode)) {
        spec->source = "folder";
        spec->path = fake;
        return 0;
    }
    if (has_suffix(fake, ".npy")) {
        spec->source = fake;
        return 0;
    }
    if (!S_ISREG(sb.st_mode) || !vg_video_folder_is_video_name(fake)) {
        fprintf(stderr, "vidgan: --fake %s: expected a folder of videos, a video file (.mp4, .gif, ...) or a .npy file\n", fake);
        return 2;
    }
    char *abs = realpath(fake, NULL);
    snprintf(dir, 64, "/tmp/vidgan_fake_XXXXXX");
    if (!abs || !mkdtemp(dir)) {
        fprintf(stderr, "vidgan: --fake %s: cannot prepare a scratch folder (%s)\n", fake, strerror(errno));
        free(abs);
        dir[0] = '\0';
        return 1;
    }
    const char *base = strrchr(abs, '/') ? strrchr(abs, '/') + 1 : abs;
    snprintf(link, 600, "%s/%s", dir, base);
    int rc = symlink(abs, link);
    free(abs);
    if (rc != 0) {
        fprintf(stderr, "vidgan: --fake %s: cannot link it into %s (%s)\n", fake, dir, strerror(errno));
        link[0] = '\0';
        return 1;
    }
    spec->source = "folder";
    spec->path = dir;
    return 0;
}

/* A table section "  title:" with one row per reason k = 1 .. count-1
 * (0 is "passed"): its share of the generated total ("-" without generated
 * counts) and of real B's. */
static void print_breakdown(FILE *out, const char *title, const char *const *label, int count, const int64_t *gen,
                            int64_t gen_total, const int64_t *real, int64_t real_total) {
    fprintf(out, "  %s:\n", title);
    for (int k = 1; k < count; k++) {
        char name[48], gv[32] = "-";
        snprintf(name, sizeof name, "  %s", label[k]);
        if (gen) snprintf(gv, sizeof gv, "%.1f%%", 100.0 * (double)gen[k] / (double)gen_total);
        fprintf(out, "  %-36s %12s %11.1f%%\n", name, gv, 100.0 * (double)real[k] / (double)real_total);
    }
}

/* The message of the last failure, with path in front unless it names it. */
static void fail_msg(const char *path) {
    const char *e = vg_last_error();
    if (path && !strstr(e, path))
        fprintf(stderr, "vidgan: %s: %s\n", path, e);
    else
        fprintf(stderr, "vidgan: %s\n", e);
}

int cmd_eval(int argc, char **argv) {
    /* no data defaults here: what is not given comes from the checkpoint */
    cli_data d = {0};
    const char *ckpt = NULL, *fake = NULL, *metric = "all";
    const char *evaluator_path = NULL, *i3d_path = NULL, *json = NULL, *target = NULL;
    int size = 0, frames = 0, n = EVAL_N_PUBLISHED, seed = 1, threads = 0, no_ema = 0;
    const cli_option opts[] = {
        CLI_DATA_OPTIONS(&d),
        {"ckpt", OPT_STRING, &ckpt, "checkpoint whose generator (and discriminator) to score"},
        {"fake", OPT_STRING, &fake, "or: generated videos to score, a folder of videos, one video file or a .npy"},
        {"metric", OPT_STRING, &metric, "all, or a comma list of: evaluator, fvd, shapes, digits, disc; or frames alone"},
        {"target", OPT_STRING, &target, "--metric frames: the true videos --fake predicts, pair by pair: a folder, a video or a .npy (default: clips 0.. of --data)"},
        {"evaluator", OPT_STRING, &evaluator_path, "evaluator network file (vidgan evaluator train) for FED/KID/precision/recall"},
        {"i3d", OPT_STRING, &i3d_path, "I3D weights (tools/convert_i3d.py) for FVD"},
        {"n", OPT_INT, &n, "clips per real split and generated (reduced when finite data holds fewer than 2n)"},
        {"seed", OPT_INT, &seed, "seed of the real clips, the latent vectors and KID's subsets"},
        {"size", OPT_INT, &size, "frame height = width (0: the checkpoint's, else the evaluator's, else 64 for mnist and fashion (the Moving MNIST canvas), 32 otherwise)"},
        {"frames", OPT_INT, &frames, "frames per clip (0: the checkpoint's, else the evaluator's, else 16)"},
        {"no-ema", OPT_FLAG, &no_ema, "use the live generator weights instead of their moving average"},
        {"json", OPT_STRING, &json, "also write the results as one JSON record to this file ('-': stdout)"},
        {"threads", OPT_INT, &threads, "CPU threads (0: VIDGAN_THREADS or all cores)"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 2, pos, 0, &npos,
                       "usage: vidgan eval [--data SRC] (--ckpt FILE | --fake PATH) [--metric M] [options]\n"
                       "       vidgan eval --metric frames --fake PRED (--target TRUE | --data SRC) [options]\n\n"
                       "Scores generated clips against real ones, each number beside its real-vs-real floor\n"
                       "(two disjoint real splits A and B of the same N: generated vs A, B vs A); or, with\n"
                       "--metric frames, predicted videos against their targets pair by pair. docs/eval.md.\n"
                       "The real clips are the checkpoint's data unless --data is given (else shapes); --stride,\n"
                       "--clip-fps, --labels and --data-path override it (--stride 0: the checkpoint's, else 1).\n"
                       "Evaluation takes centre crops without flips: --crop random and --hflip are training\n"
                       "augmentations and are refused here.",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    int bits = parse_metrics(metric);
    if (!bits) {
        fprintf(stderr, "vidgan: --metric %s: expected all, or a comma list of evaluator, fvd, shapes, digits, disc; "
                        "or frames alone\n", metric);
        return 2;
    }
    if ((rc = cli_data_check(&d)) != 0) return rc;
    vg_crop crop_given = VG_CROP_CENTRE;
    if ((d.crop && vg_crop_parse(d.crop, &crop_given) && crop_given != VG_CROP_CENTRE) || d.hflip) {
        fprintf(stderr, "vidgan: eval: %s is a training augmentation; evaluation measures centre crops without flips\n",
                d.hflip ? "--hflip" : "--crop random");
        return 2;
    }
    if (bits & M_FRAMES) {
        if (bits != M_FRAMES || ckpt) {
            fprintf(stderr, "vidgan: --metric frames compares --fake videos with their targets pair by pair: name it alone, "
                            "without --ckpt\n");
            return 2;
        }
        vg_set_threads(threads);
        const eval_frames_args fa = {.fake = fake, .target = target, .data = d.data, .data_path = d.data_path,
                                     .npy_layout = d.npy_layout, .size = size, .frames = frames, .seed = seed, .json = json};
        return eval_frames_main(&fa);
    }
    if (target) {
        fprintf(stderr, "vidgan: --target is for --metric frames (predicted videos against their targets)\n");
        return 2;
    }
    const char *data = d.data, *data_path = d.data_path, *npy_layout = d.npy_layout;
    const int stride = d.stride;
    if (n < 2 || n > (1 << 20) || size < 0 || frames < 0) {
        fprintf(stderr, "vidgan: need 2 <= --n <= 1048576 and --size, --frames, --stride >= 0\n");
        return 2;
    }
    if (ckpt && fake) {
        fprintf(stderr, "vidgan: give --ckpt or --fake, not both\n");
        return 2;
    }
    vg_set_threads(threads);
    /* stdout carries the JSON with --json -; the table goes to stderr then */
    table = json && strcmp(json, "-") == 0 ? stderr : stdout;

    int exit_code = 1;
    vg_train_config tcfg;
    vg_train_config_default(&tcfg);
    char *ckpt_data = NULL, *ckpt_owned = NULL;
    int64_t step = 0;
    vg_dataset_spec spec = {0}, fspec = {0};
    vg_dataset *ds = NULL, *fds = NULL;
    vg_evaluator *ev = NULL;
    vg_i3d *i3d = NULL;
    vg_ctx *i3d_ctx = NULL, *gctx = NULL;
    vg_dcgan3d model = {0};
    float *z = NULL;
    int used_ema = 0, channels = 0;
    char ev_hash[65] = "", i3d_hash[65] = "", fake_link[600] = "", fake_dir[64] = "";
    eval_set A = {0}, B = {0}, G = {0};
    json_t *rec = NULL;

    /* the generator fixes the geometry; its training data is the default */
    if (ckpt) {
        if (vg_ckpt_read_config(ckpt, &tcfg, &ckpt_data, &step) != VG_OK) {
            fail_msg(ckpt);
            goto done;
        }
        const vg_dcgan3d_config *m = &tcfg.model;
        if ((size && size != m->size) || (frames && frames != m->frames)) {
            fprintf(stderr, "vidgan: %s: the generator makes %dx%dx%d clips (size x size x frames); --size %d --frames %d asked\n",
                    ckpt, m->size, m->size, m->frames, size ? size : m->size, frames ? frames : m->frames);
            exit_code = 2;
            goto done;
        }
        size = m->size;
        frames = m->frames;
        channels = m->channels;
        if (!data && strcmp(ckpt_data, "null") != 0 && vg_ckpt_data_parse(ckpt_data, &spec, &ckpt_owned) != VG_OK) {
            fail_msg(ckpt);
            goto done;
        }
    }
    if (!spec.source) {
        memset(&spec, 0, sizeof spec);
        spec.source = data ? data : "shapes";
        spec.npy_layout = npy_layout;
    }
    if (data_path) spec.path = data_path;
    if (npy_layout) spec.npy_layout = npy_layout;
    if (d.clip_fps > 0) spec.fps = d.clip_fps, spec.stride = 1;
    else if (stride) spec.fps = 0; /* a stride given replaces the checkpoint's frame rate */
    if (d.labels) vg_labels_parse(d.labels, &spec.labels);
    if (d.skip_bad) spec.skip_bad = 1;
    if (spec.crop != VG_CROP_CENTRE || spec.hflip) { /* the fixed convention of evaluation */
        fprintf(stderr, "note: the checkpoint's data was augmented (%s%s%s); evaluation takes centre crops without flips\n",
                spec.crop != VG_CROP_CENTRE ? "crop random" : "", spec.crop != VG_CROP_CENTRE && spec.hflip ? ", " : "",
                spec.hflip ? "hflip" : "");
        spec.crop = VG_CROP_CENTRE;
        spec.hflip = 0;
    }

    /* which metrics: explicit ones must be possible, "all" takes what is */
    const int explicit = bits != M_ALL;
    const int shapes_data = strcmp(spec.source, "shapes") == 0;
    const int fashion = strcmp(spec.source, "fashion") == 0, digits_data = fashion || strcmp(spec.source, "mnist") == 0;
    struct {
        int bit, ok;
        const char *why;
    } need[] = {
        {M_EVALUATOR, evaluator_path != NULL, "--metric evaluator needs --evaluator FILE (made by vidgan evaluator train)"},
        {M_FVD, i3d_path != NULL, "--metric fvd needs --i3d FILE (tools/convert_i3d.py makes it from the public I3D; docs/eval.md)"},
        {M_SHAPES, shapes_data, "--metric shapes measures shapes clips only (--data shapes)"},
        {M_DIGITS, digits_data, "--metric digits measures moving-digit clips only (--data mnist or fashion)"},
        {M_DISC, ckpt != NULL, "--metric disc needs --ckpt FILE (the discriminator is the checkpoint's)"},
    };
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++) {
        if (!(bits & need[k].bit) || need[k].ok) continue;
        if (explicit) {
            fprintf(stderr, "vidgan: %s\n", need[k].why);
            exit_code = 2;
            goto done;
        }
        bits &= ~need[k].bit;
    }
    if (!bits) {
        fprintf(stderr, "vidgan: eval: nothing to measure on '%s': the shapes metrics need --data shapes, the digits "
                        "metrics --data mnist or fashion; give --evaluator FILE, --i3d FILE or --ckpt FILE\n", spec.source);
        exit_code = 2;
        goto done;
    }

    /* the evaluator: its features (evaluator), or the digits identity check */
    if (bits & M_EVALUATOR || (bits & M_DIGITS && evaluator_path)) {
        if (vg_evaluator_load(&ev, evaluator_path, ev_hash) != VG_OK) {
            fail_msg(evaluator_path);
            goto done;
        }
        const vg_evaluator_config *ec = vg_evaluator_get_config(ev);
        if (!size) size = ec->size;
        if (!frames) frames = ec->frames;
        if (!channels) channels = ec->channels;
    }
    if (!size) size = digits_data ? 64 : 32; /* Moving MNIST is 64x64 by definition */
    if (!frames) frames = 16;
    spec.size = size;
    spec.frames = frames;
    spec.channels = channels;
    spec.seed = (uint64_t)seed;
    if (stride) spec.stride = stride;
    if (!spec.stride) spec.stride = 1;
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        fail_msg(NULL);
        goto done;
    }
    const vg_dataset_desc *dd = vg_dataset_info(ds);
    const int C = dd->channels, T = dd->frames, S = dd->height;
    if (ckpt && C != tcfg.model.channels) {
        fprintf(stderr, "vidgan: %s: the generator makes %d-channel clips; %s gives %d channels\n", ckpt,
                tcfg.model.channels, dd->source, C);
        exit_code = 2;
        goto done;
    }
    if (ev) {
        const vg_evaluator_config *ec = vg_evaluator_get_config(ev);
        if (ec->channels != C || ec->frames != T || ec->size != S) {
            fprintf(stderr,
                    "vidgan: %s: the evaluator takes clips of %d channels, %d frames, %dx%d; these are %d channels, "
                    "%d frames, %dx%d (train one for this geometry)\n",
                    evaluator_path, ec->channels, ec->frames, ec->size, ec->size, C, T, S, S);
            exit_code = 2;
            goto done;
        }
    }
    if (bits & M_SHAPES && (C != 3 || S < 16)) {
        if (explicit) {
            fprintf(stderr, "vidgan: --metric shapes needs RGB clips of size >= 16 (these: %d channels, %dx%d)\n", C, S, S);
            exit_code = 2;
            goto done;
        }
        bits &= ~M_SHAPES;
    }
    if (bits & M_DIGITS && ((C != 1 && C != 3) || S < 32)) {
        if (explicit) {
            fprintf(stderr, "vidgan: --metric digits needs clips of 1 or 3 channels and size >= 32 (these: %d channels, %dx%d)\n",
                    C, S, S);
            exit_code = 2;
            goto done;
        }
        bits &= ~M_DIGITS;
    }
    if (bits & M_FVD && T < 9) {
        fprintf(stderr, "vidgan: FVD needs clips of at least 9 frames for I3D (16 as published); these have %d\n", T);
        exit_code = 2;
        goto done;
    }

    /* N: two disjoint real splits; finite data may hold fewer clips */
    int64_t N = n, n_gen = n;
    if (eval_source_is_finite(ds) && 2 * N > dd->size) {
        N = dd->size / 2;
        fprintf(stderr, "note: %s holds %lld distinct clips: N reduced from %d to %lld per real split\n", dd->source,
                (long long)dd->size, n, (long long)N);
        if (N < 2) {
            fprintf(stderr, "vidgan: %s: too few clips for two real splits of at least 2\n", dd->source);
            exit_code = 2;
            goto done;
        }
        n_gen = N;
    }
    if (fake) {
        /* generated videos are clips already: the real data's stride as before, but
         * no frame rate (a writer's nominal fps says nothing about the clip's) and
         * never augmentation */
        fspec = (vg_dataset_spec){.frames = T, .size = S, .channels = C, .seed = (uint64_t)seed, .stride = spec.stride};
        if ((rc = fake_source(fake, &fspec, fake_link, fake_dir)) != 0) {
            exit_code = rc;
            goto done;
        }
        if (vg_dataset_open(&fds, &fspec) != VG_OK) {
            fail_msg(fake);
            goto done;
        }
        const vg_dataset_desc *fd = vg_dataset_info(fds);
        if (fd->size < n_gen) {
            fprintf(stderr, "note: --fake %s holds %lld distinct clips: N generated reduced to %lld\n", fake,
                    (long long)fd->size, (long long)fd->size);
            n_gen = fd->size;
        }
        if (n_gen < 2) {
            fprintf(stderr, "vidgan: --fake %s: fewer than 2 clips of %d frames\n", fake, T);
            exit_code = 2;
            goto done;
        }
    }
    if (N < EVAL_N_PUBLISHED && bits & (M_EVALUATOR | M_FVD))
        fprintf(stderr, "warning: N = %lld < %d: Fréchet distances and KID from few clips are biased estimates; "
                        "compare only numbers measured at the same N\n", (long long)N, EVAL_N_PUBLISHED);
    if (bits & M_FVD && T < EVAL_FVD_FRAMES)
        fprintf(stderr, "warning: FVD as published uses 16 frames; these clips have %d\n", T);

    if (ckpt) {
        if (vg_ctx_new(&gctx, NULL) != VG_OK) {
            fail_msg(NULL);
            goto done;
        }
        vg_ctx_set_grad_enabled(gctx, 0);
        if (vg_ckpt_load_generator(ckpt, no_ema ? VG_CKPT_WEIGHTS_LIVE : VG_CKPT_WEIGHTS_DEFAULT, gctx, &model, NULL,
                                   &used_ema) != VG_OK) {
            fail_msg(ckpt);
            goto done;
        }
        z = malloc((size_t)n_gen * (size_t)vg_dcgan3d_latent_dim(&tcfg.model) * sizeof *z);
        if (!z) {
            fprintf(stderr, "vidgan: out of memory for %lld latent vectors\n", (long long)n_gen);
            goto done;
        }
        vg_latent_noise((uint64_t)seed, (int)n_gen, vg_dcgan3d_latent_dim(&tcfg.model), z);
    }
    if (bits & M_FVD) {
        if (vg_ctx_new(&i3d_ctx, NULL) != VG_OK) {
            fail_msg(NULL);
            goto done;
        }
        vg_ctx_set_grad_enabled(i3d_ctx, 0);
        if (vg_i3d_load(&i3d, i3d_ctx, i3d_path, i3d_hash) != VG_OK) {
            fail_msg(i3d_path);
            goto done;
        }
    }

    vg_evaluator *ev_feat = bits & M_EVALUATOR ? ev : NULL; /* features, FED, class accuracy */
    eval_nets nets = {.evaluator = ev_feat, .evaluator_path = evaluator_path, .i3d = i3d, .i3d_ctx = i3d_ctx,
                      .i3d_path = i3d_path, .shapes = (bits & M_SHAPES) != 0, .disc = (bits & M_DISC) ? &model : NULL,
                      .disc_ctx = gctx, .disc_batch = tcfg.batch};
    vg_shapes_metrics_default(&nets.shapes_cfg, S);
    const int num_digits = spec.num_digits ? spec.num_digits : 2;
    vg_digits_metrics_default(&nets.digits_cfg, S, num_digits, fashion);
    nets.digits = (bits & M_DIGITS) != 0;
    /* the class of each half of a clip: a labels evaluator on digits data */
    if (nets.digits && ev && vg_evaluator_get_config(ev)->task == VG_EVAL_TASK_LABELS && T >= 2) nets.identity = ev;
    const int batch = ckpt ? tcfg.batch : 16;
    const int chunk = batch * (64 / batch > 1 ? 64 / batch : 1);
    const int labelled = ev_feat && vg_evaluator_get_config(ev)->task == VG_EVAL_TASK_LABELS && dd->num_classes > 1;
    eval_data_source src_a = {ds, EVAL_REAL_FIRST}, src_b = {ds, EVAL_REAL_FIRST + N}, src_f = {fds, 0};
    eval_gen_source src_g = {&model, gctx, z, batch};
    fprintf(stderr, "measuring real split A (%lld clips) ...\n", (long long)N);
    if (eval_set_measure(&A, &nets, eval_fetch_data, &src_a, N, chunk, C, T, S, labelled) != VG_OK) goto measure_failed;
    fprintf(stderr, "measuring real split B (%lld clips) ...\n", (long long)N);
    if (eval_set_measure(&B, &nets, eval_fetch_data, &src_b, N, chunk, C, T, S, labelled) != VG_OK) goto measure_failed;
    const int have_gen = ckpt || fake;
    if (have_gen) {
        fprintf(stderr, "measuring %lld generated clips ...\n", (long long)n_gen);
        if (eval_set_measure(&G, &nets, ckpt ? eval_fetch_gen : eval_fetch_data, ckpt ? (void *)&src_g : (void *)&src_f,
                             n_gen, chunk, C, T, S, 0) != VG_OK)
            goto measure_failed;
    }

    /* scores: generated vs A, and the floor B vs A */
    const double t_scores = now_seconds();
    eval_dist ev_g = {NAN, NAN, NAN, NAN, NAN}, ev_b = ev_g, fvd_g = ev_g, fvd_b = ev_g;
    if (ev_feat && (eval_dist_scores(&ev_b, A.ev, N, B.ev, N, A.ev_dim, (uint64_t)seed, 1) != VG_OK ||
               (have_gen && eval_dist_scores(&ev_g, A.ev, N, G.ev, n_gen, A.ev_dim, (uint64_t)seed, 1) != VG_OK)))
        goto measure_failed;
    if (i3d && (eval_dist_scores(&fvd_b, A.i3d, N, B.i3d, N, EVAL_I3D_DIM, (uint64_t)seed, 0) != VG_OK ||
                (have_gen && eval_dist_scores(&fvd_g, A.i3d, N, G.i3d, n_gen, EVAL_I3D_DIM, (uint64_t)seed, 0) != VG_OK)))
        goto measure_failed;

    const double score_seconds = now_seconds() - t_scores;

    /* the table */
    const protocol P = {.data = dd->source, .real_first = EVAL_REAL_FIRST, .C = C, .T = T, .S = S,
                        .stride = spec.stride, .seed = seed, .n_real = N, .n_gen = have_gen ? n_gen : 0};
    char rate[48] = "";
    if (spec.fps > 0) snprintf(rate, sizeof rate, ", clip fps %g", spec.fps);
    fprintf(table, "protocol: data %s, %d channel%s, %dx%d, %d frames, stride %d%s%s; real: splits A and B of N %lld clips each "
           "(data seed %d, clip indices 2^48 + 0..%lld); generated: %lld clips; seed %d\n",
           dd->source, C, C > 1 ? "s" : "", S, S, T, spec.stride, rate, spec.labels == VG_LABELS_NONE ? ", labels none" : "",
           (long long)N, seed, (long long)(2 * N - 1), (long long)P.n_gen, seed);
    if (ckpt)
        fprintf(table, "generated: %s (step %lld, %s weights), latent vectors 0..%lld of seed %d, BatchNorm on batch statistics in groups of %d\n",
               ckpt, (long long)step, used_ema ? "EMA" : "live", (long long)(n_gen - 1), seed, batch);
    else if (fake)
        fprintf(table, "generated: videos %s (clips 0..%lld of seed %d)\n", fake, (long long)(n_gen - 1), seed);
    else
        fprintf(table, "generated: none (give --ckpt or --fake); only the floors are measured\n");
    if (ev) {
        const vg_evaluator_config *ec = vg_evaluator_get_config(ev);
        fprintf(table, "evaluator: %s (sha256 %s), %lld-d features, task %s, %d classes\n", evaluator_path, ev_hash,
               (long long)vg_evaluator_feature_dim(ev), vg_evaluator_task_name(ec->task), ec->num_classes);
    }
    const int fvd_frames = T < EVAL_FVD_FRAMES ? T : EVAL_FVD_FRAMES;
    if (i3d)
        fprintf(table, "i3d: %s (sha256 %s), 400-d Kinetics logits averaged over time, input 224x224, first %d frames of each clip\n",
                i3d_path, i3d_hash, fvd_frames);
    if (nets.shapes) {
        const vg_shapes_metrics_config *m = &nets.shapes_cfg;
        fprintf(table, "shapes thresholds: foreground = RGB distance > %.2f from the fitted background; components < %d px ignored;\n"
               "            object area %.1f..%.1f px; |2nd difference| <= %.2f px (%.2f px at a bounce, within %.1f px of the wall)\n",
               m->fg_threshold, m->speck_px, m->area_min, m->area_max, m->accel_tol, m->bounce_tol, m->wall_margin);
    }
    if (nets.digits) {
        const vg_digits_metrics_config *m = &nets.digits_cfg;
        fprintf(table, "digits thresholds (%d digit%s, %s): ink = intensity > %.2f; components < %d px are specks, at most %d speck px;\n"
               "            ink in %d squares of %d px, %.0f..%.0f per digit; ink kept to %.0f%%; steps within 1 + %.2f px, "
               "speed %.1f..%.1f px/frame\n",
               m->num_digits, m->num_digits > 1 ? "s" : "", fashion ? "Fashion-MNIST" : "MNIST", m->fg_threshold, m->speck_px,
               m->speck_budget, m->num_digits, m->square, m->ink_min, m->ink_max, 100.0 * (1 - m->ink_band), m->step_tol,
               m->speed_min, m->speed_max);
        if (nets.identity)
            fprintf(table, "digit identity: the evaluator's class of frames 0..%d and of frames %d..%d, each played back and forth to %d frames\n",
                    T / 2 - 1, T - T / 2, T - 1, T);
    }
    fprintf(table, "\n  %-36s %12s %12s\n", "metric", "generated", "floor");
    fprintf(table, "  %-36s %12s %12s\n", "", "vs real A", "real B vs A");
    json_t *results = json_array();
    if (ev_feat) {
        report(results, &P, "FED (evaluator Fréchet distance)", "fed", "evaluator", ev_hash, ev_g.fd, ev_b.fd, "lower", 1, "%.4g", NULL);
        report(results, &P, "KID x 1000 (evaluator)", "kid", "evaluator", ev_hash, ev_g.kid, ev_b.kid, "lower", 1000, "%.4g", NULL);
        report(results, &P, "precision (evaluator, k=3)", "precision", "evaluator", ev_hash, ev_g.precision, ev_b.precision,
               "higher", 100, "%.1f%%", NULL);
        report(results, &P, "recall (evaluator, k=3)", "recall", "evaluator", ev_hash, ev_g.recall, ev_b.recall, "higher", 100,
               "%.1f%%", NULL);
        if (labelled)
            report(results, &P, "class accuracy (evaluator)", "class_accuracy", "evaluator", ev_hash, NAN,
                   B.ev_labelled ? (double)B.ev_correct / (double)B.ev_labelled : NAN, "higher", 100, "%.1f%%",
                   have_gen ? "n/a (1)" : NULL);
    }
    char fvd_label[48];
    snprintf(fvd_label, sizeof fvd_label, "FVD (I3D, %d frames)", fvd_frames);
    if (i3d) report(results, &P, fvd_label, "fvd", "i3d", i3d_hash, fvd_g.fd, fvd_b.fd, "lower", 1, "%.4g", NULL);
    if (nets.disc) {
        double acc_g = (double)(A.d_real + (n_gen - G.d_real)) / (double)(N + n_gen);
        double acc_b = (double)(A.d_real + (N - B.d_real)) / (double)(2 * N);
        report(results, &P, "D accuracy (logit > 0 = real)", "disc_accuracy", "discriminator", NULL, acc_g, acc_b, "lower", 100,
               "%.1f%%", NULL);
        report(results, &P, "D recall of generated (called fake)", "disc_recall", "discriminator", NULL,
               (double)(n_gen - G.d_real) / (double)n_gen, (double)(N - B.d_real) / (double)N, "lower", 100, "%.1f%%", NULL);
        fprintf(table, "  %-36s %12.1f%%\n", "D: real A called real", 100.0 * (double)A.d_real / (double)N);
    }
    if (nets.shapes) {
        const vg_shapes_summary *g = have_gen ? &G.shapes : NULL;
        report(results, &P, "valid frames (shapes)", "shapes_valid_frames", NULL, NULL, g ? g->valid_frac : NAN,
               B.shapes.valid_frac, "higher", 100, "%.1f%%", NULL);
        report(results, &P, "smooth clips (shapes)", "shapes_smooth_clips", NULL, NULL, g ? g->smooth_frac : NAN,
               B.shapes.smooth_frac, "higher", 100, "%.1f%%", NULL);
        report(results, &P, "all-valid clips (shapes)", "shapes_valid_clips", NULL, NULL,
               g ? (double)g->valid_clips / (double)g->clips : NAN, (double)B.shapes.valid_clips / (double)B.shapes.clips,
               "higher", 100, "%.1f%%", NULL);
        /* how far the all-valid clips are from constant velocity, smooth or not */
        report(results, &P, "median max 2nd diff, all-valid clips", "shapes_median_accel_px", NULL, NULL,
               g ? vg_shapes_accel_median(g) : NAN, vg_shapes_accel_median(&B.shapes), "lower", 1, "%.2f px", NULL);
        print_breakdown(table, "frames by verdict", verdict_label, VG_SHAPES_VERDICT_COUNT, g ? g->verdicts : NULL,
                        g ? g->frames : 0, B.shapes.verdicts, B.shapes.frames);
    }
    if (nets.digits) {
        const vg_digits_summary *g = have_gen ? &G.digits : NULL, *b = &B.digits;
        report(results, &P, "valid frames (digits)", "digits_valid_frames", NULL, NULL, g ? g->valid_frac : NAN, b->valid_frac,
               "higher", 100, "%.1f%%", NULL);
        report(results, &P, "ink-conserved clips (digits)", "digits_ink_clips", NULL, NULL, g ? g->ink_frac : NAN, b->ink_frac,
               "higher", 100, "%.1f%%", NULL);
        report(results, &P, "smooth clips (digits)", "digits_smooth_clips", NULL, NULL, g ? g->smooth_frac : NAN,
               b->smooth_frac, "higher", 100, "%.1f%%", NULL);
        report(results, &P, "all-valid clips (digits)", "digits_valid_clips", NULL, NULL,
               g ? (double)g->valid_clips / (double)g->clips : NAN, (double)b->valid_clips / (double)b->clips, "higher", 100,
               "%.1f%%", NULL);
        if (nets.identity)
            report(results, &P, "same class both halves (evaluator)", "digits_identity_stable", "evaluator", ev_hash,
                   have_gen ? (double)G.id_stable / (double)n_gen : NAN, (double)B.id_stable / (double)N, "higher", 100,
                   "%.1f%%", NULL);
        print_breakdown(table, "frames by verdict", digits_verdict_label, VG_DIGITS_VERDICT_COUNT, g ? g->verdicts : NULL,
                        g ? g->frames : 0, b->verdicts, b->frames);
        print_breakdown(table, "clips by motion", digits_motion_label, VG_DIGITS_MOTION_COUNT, g ? g->motion : NULL,
                        g ? g->clips : 0, b->motion, b->clips);
        if (b->as_one_clips || (g && g->as_one_clips)) {
            char gv[32] = "-";
            if (g) snprintf(gv, sizeof gv, "%.1f%%", 100.0 * (double)g->as_one_clips / (double)g->clips);
            fprintf(table, "  %-36s %12s %11.1f%%\n", "  digits never apart (2)", gv,
                    100.0 * (double)b->as_one_clips / (double)b->clips);
        }
    }
    if (nets.digits && (B.digits.as_one_clips || (have_gen && G.digits.as_one_clips)))
        fprintf(table, "(2) two digits never seen apart: checked by their two motions (layers), without the wall rule\n");
    if (labelled) {
        fprintf(table, "\nevaluator accuracy on real A: %.1f%% (the evaluator's own check)\n",
               100.0 * (double)A.ev_correct / (double)(A.ev_labelled ? A.ev_labelled : 1));
        if (have_gen)
            fprintf(table, "(1) class accuracy of generated clips: n/a: the generator is unconditional (no class to check against)\n");
    }
    if (N < EVAL_N_PUBLISHED && (ev_feat || i3d)) fprintf(table, "note: N = %lld < %d: distances are biased upwards at small N\n", (long long)N, EVAL_N_PUBLISHED);
    fprintf(table, "time: real A %.1f s, real B %.1f s, generated %.1f s, scores %.1f s (%d threads)\n", A.seconds, B.seconds,
            G.seconds, score_seconds, vg_get_threads());


    json_t *shapes = NULL;
    if (nets.shapes) {
        const vg_shapes_metrics_config *m = &nets.shapes_cfg;
        json_t *thr = json_pack("{s:f, s:i, s:f, s:f, s:f, s:f, s:f}", "fg_threshold", (double)m->fg_threshold, "speck_px",
                                m->speck_px, "area_min", (double)m->area_min, "area_max", (double)m->area_max, "accel_tol",
                                (double)m->accel_tol, "bounce_tol", (double)m->bounce_tol, "wall_margin", (double)m->wall_margin);
        shapes = json_pack("{s:o, s:o, s:o, s:o}", "thresholds", thr, "real_a", shapes_json(&A.shapes), "real_b",
                           shapes_json(&B.shapes), "generated", have_gen ? shapes_json(&G.shapes) : json_null());
    }
    json_t *digits = NULL;
    if (nets.digits) {
        const vg_digits_metrics_config *m = &nets.digits_cfg;
        json_t *thr = json_pack("{s:i, s:i, s:i, s:f, s:i, s:i, s:f, s:f, s:f, s:f, s:i, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                                "num_digits", m->num_digits, "digit", m->digit, "square", m->square, "fg_threshold",
                                (double)m->fg_threshold, "speck_px", m->speck_px, "speck_budget", m->speck_budget, "ink_min",
                                (double)m->ink_min, "ink_max", (double)m->ink_max, "ink_band", (double)m->ink_band, "match_tol",
                                (double)m->match_tol, "search_px", m->search_px, "pixel_tol", (double)m->pixel_tol, "cover_min",
                                (double)m->cover_min, "zero_tol", (double)m->zero_tol, "step_tol", (double)m->step_tol,
                                "wall_tol", (double)m->wall_tol, "center_offset", (double)m->center_offset, "center_tol",
                                (double)m->center_tol, "speed_min", (double)m->speed_min, "speed_max", (double)m->speed_max);
        digits = json_pack("{s:o, s:o, s:o, s:o}", "thresholds", thr, "real_a",
                           digits_json(&A.digits, nets.identity != NULL ? &A.id_stable : NULL), "real_b",
                           digits_json(&B.digits, nets.identity != NULL ? &B.id_stable : NULL), "generated",
                           have_gen ? digits_json(&G.digits, nets.identity != NULL ? &G.id_stable : NULL) : json_null());
    }
    json_t *networks = json_object();
    if (ev) {
        const vg_evaluator_config *ec = vg_evaluator_get_config(ev);
        json_object_set_new(networks, "evaluator",
                            json_pack("{s:s, s:s, s:I, s:s, s:i, s:i, s:i, s:i, s:o}", "path", evaluator_path, "sha256", ev_hash,
                                      "feature_dim", (json_int_t)vg_evaluator_feature_dim(ev), "task", vg_evaluator_task_name(ec->task), "num_classes",
                                      ec->num_classes, "channels", ec->channels, "frames", ec->frames, "size", ec->size,
                                      "accuracy_real_a",
                                      labelled && A.ev_labelled ? json_real((double)A.ev_correct / (double)A.ev_labelled)
                                                                : json_null()));
    }
    if (i3d)
        json_object_set_new(networks, "i3d", json_pack("{s:s, s:s, s:i, s:i, s:i}", "path", i3d_path, "sha256", i3d_hash,
                                                       "feature_dim", EVAL_I3D_DIM, "input_size", 224, "frames", fvd_frames));
    json_t *gen = json_null();
    if (ckpt)
        gen = json_pack("{s:s, s:s, s:I, s:s, s:i, s:i}", "kind", "checkpoint", "path", ckpt, "step", (json_int_t)step,
                        "weights", used_ema ? "ema" : "live", "latent_seed", seed, "batchnorm_group", batch);
    else if (fake)
        gen = json_pack("{s:s, s:s, s:i}", "kind", "videos", "path", fake, "seed", seed);
#ifdef VG_GIT_COMMIT
    const char *commit = VG_GIT_COMMIT;
#else
    const char *commit = NULL;
#endif
    rec = json_pack("{s:s, s:s?, s:s, s:s?, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:{s:f, s:f, s:f, s:f}, s:i}",
                    "vidgan_version", VG_VERSION, "commit", commit, "data", dd->source, "data_path", spec.path, "channels", C,
                    "frames", T, "size", S, "stride", spec.stride, "seed", seed, "n_real", (json_int_t)N, "n_generated",
                    (json_int_t)P.n_gen, "real_first_index", (json_int_t)EVAL_REAL_FIRST, "real_splits",
                    "A = clip indices first..first+N-1, B = first+N..first+2N-1; generated and B are scored against A",
                    "generated", gen, "networks", networks, "results", results, "shapes", shapes ? shapes : json_null(),
                    "seconds", "real_a", A.seconds, "real_b", B.seconds, "generated", G.seconds, "scores", score_seconds, "threads", vg_get_threads());
    if (rec && spec.fps > 0) json_object_set_new(rec, "clip_fps", json_real(spec.fps));
    if (rec && spec.labels != VG_LABELS_FOLDERS) json_object_set_new(rec, "labels", json_string(vg_labels_name(spec.labels)));
    if (rec)
        json_object_set_new(rec, "digits", digits ? digits : json_null());
    else
        json_decref(digits);
    if (rec && ckpt) {
        json_object_set_new(rec, "ckpt", json_string(ckpt));
        json_object_set_new(rec, "step", json_integer(step));
    }
    if (json) {
        int bad = !rec;
        if (!bad && strcmp(json, "-") == 0) {
            bad = json_dumpf(rec, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(8)) != 0;
            putchar('\n');
        } else if (!bad) {
            bad = json_dump_file(rec, json, JSON_INDENT(2) | JSON_REAL_PRECISION(8)) != 0;
            if (!bad) fprintf(stderr, "wrote %s\n", json);
        }
        if (bad) {
            fprintf(stderr, "vidgan: %s: cannot write the JSON record\n", json);
            goto done;
        }
    }
    exit_code = 0;
    goto done;
measure_failed:
    fail_msg(NULL);
done:
    json_decref(rec);
    eval_set_free(&A);
    eval_set_free(&B);
    eval_set_free(&G);
    if (model.G || model.D) vg_dcgan3d_free(&model);
    vg_ctx_free(gctx);
    if (i3d) vg_i3d_free(i3d);
    vg_ctx_free(i3d_ctx);
    if (ev) vg_evaluator_free(ev);
    vg_dataset_close(fds);
    vg_dataset_close(ds);
    if (fake_link[0]) unlink(fake_link);
    if (fake_dir[0]) rmdir(fake_dir);
    free(z);
    free(ckpt_data);
    free(ckpt_owned);
    return exit_code;
}
