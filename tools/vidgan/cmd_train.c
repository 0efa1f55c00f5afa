/* `vidgan train`: trains the 3D-DCGAN on a data set, with a progress bar,
 * a JSONL metrics log, sample grids, atomic checkpoints, exact resume,
 * graceful stop on SIGINT/SIGTERM and roll-back after repeated non-finite
 * steps. The library does the work; this file wires it to files and the
 * terminal. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_data.h"
#include "commands.h"
#include "core/status.h"
#include "data/video_folder.h"
#include "eval_train.h"
#include "io/gif.h"
#include "io/video_frames.h"
#include "options.h"
#include "progress.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) {
    if (stop_signal) _exit(128 + sig); /* second signal: leave at once */
    stop_signal = sig;
}

static void install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* mkdir -p */
static int make_dirs(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    struct stat st;
    return (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) ? 0 : -1;
}

/* Keep only the log lines of steps <= step (a resumed run rewrites what
 * came after its checkpoint). */
static void trim_log(const char *path, int64_t step) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(f);
        return;
    }
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        const char *k = strstr(line, "\"step\":");
        long long s = k ? atoll(k + 7) : 0;
        if (s <= step) fputs(line, out);
    }
    fclose(f);
    if (fclose(out) == 0) rename(tmp, path);
    else remove(tmp);
}

static vg_status write_grid_gif(vg_trainer *t, const char *path, int n, uint64_t seed, double fps) {
    const vg_dcgan3d_config *m = &t->cfg.model;
    int64_t clip = (int64_t)m->channels * m->frames * m->size * m->size;
    float *videos = malloc((size_t)(n * clip) * sizeof *videos);
    if (!videos) return VG_ERR_NOMEM;
    vg_status st = vg_trainer_sample(t, n, seed, 1, videos);
    vg_frames grid = {0};
    if (st == VG_OK) st = vg_frames_grid(&grid, videos, n, m->channels, m->frames, m->size, m->size, 0);
    if (st == VG_OK) st = vg_gif_write(path, grid.rgb, grid.T, grid.H, grid.W, fps, 1);
    vg_frames_free(&grid);
    free(videos);
    return st;
}

static vg_status save_checkpoint(vg_trainer *t, const char *out, const char *data, int keep, char *path, size_t n) {
    snprintf(path, n, "%s/ckpt-%08lld.safetensors", out, (long long)t->step);
    vg_status st = vg_ckpt_save(t, data, path);
    if (st == VG_OK && keep > 0) st = vg_ckpt_prune(out, keep, NULL);
    return st;
}

/* Files a folder data set skipped: a count when training starts, the list
 * once at the end. */
static void report_skipped(const vg_dataset *ds, int at_end) {
    const vg_folder_report *r = vg_dataset_info(ds) ? vg_video_folder_report(ds) : NULL;
    vg_clear_error();
    if (!r || r->num_skipped == 0) return;
    if (!at_end) {
        fprintf(stderr, "skipped %d of the data's files (%d unreadable, %d shorter than a clip): listed at the end\n",
                r->num_skipped, r->num_bad, r->num_short);
        return;
    }
    char span[64] = "";
    if (r->clip_span > 0) snprintf(span, sizeof span, " of %lld frames", (long long)r->clip_span);
    fprintf(stderr, "skipped %d file%s (%d unreadable, %d shorter than a clip%s):\n", r->num_skipped,
            r->num_skipped > 1 ? "s" : "", r->num_bad, r->num_short, span);
    for (int i = 0; i < r->num_skipped; i++) fprintf(stderr, "  %s: %s\n", r->skipped[i].path, r->skipped[i].reason);
}

int cmd_train(int argc, char **argv) {
    vg_train_config cfg;
    vg_train_config_default(&cfg);
    cli_data d = CLI_DATA_DEFAULTS;
    const char *out = NULL, *loss = "nonsat", *resume = NULL, *g_arch = "deconv";
    const char *device = "cpu", *precision = "fp32";
    int size = 32, frames = 16, channels = 0, steps = 2000, threads = 0, sample_every = 250, ckpt_every = 500;
    int keep = 3, log_every = 50, max_bad = 5, sample_n = 16, seed = 1;
    int prefetch = 2, data_workers = 1, noise_steps = 0;
    double fps = 8, time_limit = 0;
    const char *eval_metric = NULL, *evaluator = NULL, *i3d = NULL;
    int eval_every = 0, eval_n = 256;
    const cli_option opts[] = {
        CLI_DATA_OPTIONS(&d),
        {"prefetch", OPT_INT, &prefetch, "batches decoded ahead by worker threads while a step computes (0: decode in the step)"},
        {"data-workers", OPT_INT, &data_workers, "threads decoding clips for the prefetch queue"},
        {"size", OPT_INT, &size, "frame height = width (power of two)"},
        {"frames", OPT_INT, &frames, "frames per clip (power of two)"},
        {"channels", OPT_INT, &channels, "channels (0: the data set's default)"},
        {"z-dim", OPT_INT, &cfg.model.z_dim, "latent size (with --motion-dim: the content code)"},
        {"g-base", OPT_INT, &cfg.model.g_base, "generator base width (last hidden layer)"},
        {"d-base", OPT_INT, &cfg.model.d_base, "discriminator base width (first layer)"},
        {"g-arch", OPT_STRING, &g_arch, "generator stages: deconv (ConvTranspose3d kernel 4 stride 2, DCGAN) or resize (nearest upsampling + Conv3d kernel 3: no checkerboard artefacts)"},
        {"image-d", OPT_FLAG, &cfg.model.image_d, "also train MoCoGAN's image discriminator (a 2D DCGAN discriminator on every frame; its loss is added to the video discriminator's)"},
        {"two-stream", OPT_FLAG, &cfg.model.two_stream, "VGAN's two-stream generator: a 3D foreground stream with a mask and a 2D background stream (one image per clip), video = mask * fg + (1 - mask) * bg"},
        {"motion-dim", OPT_INT, &cfg.model.motion_dim, "MoCoGAN's generator: a GRU motion code of this size per frame beside the clip's content code (--z-dim), every frame made by a 2D generator from [content | motion] (0: off; MoCoGAN uses 10)"},
        {"sprite", OPT_FLAG, &cfg.model.sprite, "with --two-stream and --motion-dim: the foreground stream draws one image and mask per clip and every frame shows it translated (bilinear) along a path the motion GRU drives, so the object keeps its shape while it moves"},
        {"motion-still", OPT_FLAG, &cfg.model.motion_still, "with --motion-dim: no per-frame noise into the motion GRU, so a clip's motion follows from h_0 alone (latent vector [z_C | h_0])"},
        {"spectral-norm", OPT_FLAG, &cfg.model.spectral_norm, "spectrally normalise D's convolutions (and drop its BatchNorm)"},
        {"loss", OPT_STRING, &loss, "GAN loss: nonsat, hinge or lsgan"},
        {"batch", OPT_INT, &cfg.batch, "clips per step"},
        {"d-steps", OPT_INT, &cfg.d_steps, "discriminator updates per generator update"},
        {"lr-g", OPT_DOUBLE, &cfg.lr_g, "generator Adam learning rate"},
        {"lr-d", OPT_DOUBLE, &cfg.lr_d, "discriminator Adam learning rate"},
        {"beta1", OPT_DOUBLE, &cfg.beta1, "Adam beta1"},
        {"beta2", OPT_DOUBLE, &cfg.beta2, "Adam beta2"},
        {"ema", OPT_DOUBLE, &cfg.ema_decay, "generator weight EMA decay (0: off)"},
        {"label-smooth", OPT_DOUBLE, &cfg.label_smooth, "one-sided label smoothing: D's target for real clips is 1 - X (nonsat, lsgan; 0: off)"},
        {"mask-l1", OPT_DOUBLE, &cfg.mask_l1, "VGAN's L1 penalty on the two-stream mask: X * mean(mask) is added to G's loss, so the static background shows wherever the foreground is not needed (--two-stream; 0: off)"},
        {"path-l1", OPT_DOUBLE, &cfg.path_l1, "L1 penalty on the sprite path's acceleration: X * mean |p[t+1] - 2 p[t] + p[t-1]| (pixels) is added to G's loss, favouring constant velocity with few changes (--sprite; 0: off)"},
        {"instance-noise", OPT_DOUBLE, &cfg.instance_noise, "std of Gaussian noise added to every clip D sees, real and generated (clips span [-1, 1]), falling linearly to 0 by --noise-steps (0: off)"},
        {"noise-steps", OPT_INT, &noise_steps, "step at which the instance noise reaches 0 (0: --steps; -1: constant)"},
        {"steps", OPT_INT, &steps, "train until this many steps"},
        {"time-limit", OPT_DOUBLE, &time_limit, "also stop (with a checkpoint) after this many seconds (0: none)"},
        {"seed", OPT_INT, &seed, "seed of weights, noise and data"},
        {"threads", OPT_INT, &threads, "CPU threads (0: VIDGAN_THREADS or all cores)"},
        {"device", OPT_STRING, &device, "compute device: cpu, cuda, or auto (cuda when a GPU answers, else cpu)"},
        {"precision", OPT_STRING, &precision, "fp32, or bf16: mixed precision convolutions and GEMMs (bf16 operands, float32 weights and accumulation; --device cuda)"},
        {"out", OPT_STRING, &out, "run folder (default: runs/<data>-<size>x<frames>)"},
        {"resume", OPT_STRING, &resume, "checkpoint to resume from, or 'auto' for the newest valid one in --out"},
        {"sample-every", OPT_INT, &sample_every, "write a sample grid GIF every N steps (0: only at the end)"},
        {"sample-n", OPT_INT, &sample_n, "videos in a sample grid"},
        {"fps", OPT_DOUBLE, &fps, "frame rate of sample GIFs"},
        {"ckpt-every", OPT_INT, &ckpt_every, "write a checkpoint every N steps (0: only at the end)"},
        {"keep", OPT_INT, &keep, "checkpoints to keep (0: all)"},
        {"log-every", OPT_INT, &log_every, "without a terminal: a log line every N steps"},
        {"max-bad", OPT_INT, &max_bad, "roll back to the last checkpoint after N non-finite steps in a row"},
        {"eval-every", OPT_INT, &eval_every, "every N steps score the generator on a fixed sample set, keep best.safetensors (0: off)"},
        {"eval-metric", OPT_STRING, &eval_metric, "evaluator (FED), shapes (valid frames) or fvd (default: evaluator with --evaluator, else shapes)"},
        {"evaluator", OPT_STRING, &evaluator, "evaluator network file for --eval-metric evaluator"},
        {"i3d", OPT_STRING, &i3d, "I3D weights for --eval-metric fvd"},
        {"eval-n", OPT_INT, &eval_n, "generated clips (and clips per real split) of the fixed sample set"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 2, pos, 0, &npos,
                       "usage: vidgan train [options]\n\nTrains a 3D-DCGAN video GAN; writes checkpoints, sample GIFs and metrics.jsonl into the run folder.",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    vg_set_threads(threads);
    if ((rc = cli_use_device(device)) != 0) return rc;
    vg_precision prec;
    if ((rc = cli_use_precision(precision, &prec)) != 0) return rc;
    vg_dataset_spec spec = {.frames = frames, .size = size, .channels = channels, .seed = (uint64_t)seed};
    if ((rc = cli_data_spec(&d, &spec)) != 0) return rc;
    const char *data = d.data;
    if (!vg_g_arch_parse(g_arch, &cfg.model.g_arch)) {
        fprintf(stderr, "vidgan: --g-arch must be deconv or resize, got '%s'\n", g_arch);
        return 2;
    }
    if (!vg_gan_loss_parse(loss, &cfg.loss)) {
        fprintf(stderr, "vidgan: --loss must be nonsat, hinge or lsgan, got '%s'\n", loss);
        return 2;
    }
    cfg.seed = (uint64_t)seed;
    cfg.precision = prec;
    if (noise_steps < -1) {
        fprintf(stderr, "vidgan: --noise-steps must be >= -1, got %d\n", noise_steps);
        return 2;
    }
    cfg.noise_steps = cfg.instance_noise == 0 ? 0 : noise_steps == 0 ? steps : noise_steps < 0 ? 0 : noise_steps;
    if (vg_train_config_check(&cfg) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        return 2;
    }
    char default_out[512];
    if (!out) { /* runs/<data set name, or the folder's last component>-<size>x<frames> */
        char name[256];
        snprintf(name, sizeof name, "%s", data);
        size_t len = strlen(name);
        while (len > 1 && name[len - 1] == '/') name[--len] = '\0';
        const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
        snprintf(default_out, sizeof default_out, "runs/%s-%dx%d", base, size, frames);
        out = default_out;
    }
    if (make_dirs(out) != 0) {
        fprintf(stderr, "vidgan: %s: cannot create the run folder (%s)\n", out, strerror(errno));
        return 1;
    }

    /* what to train: fresh from the options, or everything from a checkpoint */
    char *resume_path = NULL, *data_text = NULL, *spec_strings = NULL;
    if (resume) {
        if (strcmp(resume, "auto") == 0) {
            int skipped = 0;
            if (vg_ckpt_find_latest(out, &resume_path, &skipped) != VG_OK) {
                fprintf(stderr, "vidgan: %s\n", vg_last_error());
                return 1;
            }
            if (skipped) fprintf(stderr, "skipped %d newer checkpoint%s that did not validate\n", skipped, skipped > 1 ? "s" : "");
        } else {
            resume_path = strdup(resume);
        }
        if (resume_path) {
            if (vg_ckpt_read_config(resume_path, &cfg, &data_text, NULL) != VG_OK ||
                vg_ckpt_data_parse(data_text, &spec, &spec_strings) != VG_OK) {
                fprintf(stderr, "vidgan: %s\n", vg_last_error());
                free(resume_path);
                free(data_text);
                return 1;
            }
            fprintf(stderr, "resuming from %s (its model, loss and optimiser settings apply)\n", resume_path);
            cfg.precision = prec; /* not stored in checkpoints: this run's choice */
        } else {
            fprintf(stderr, "no checkpoint in %s yet: starting a new run\n", out);
        }
    }
    int exit_code = 1;
    vg_dataset *ds = NULL;
    vg_trainer t = {0};
    train_eval *te = NULL;
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }
    const vg_dataset_desc *dd = vg_dataset_info(ds);
    if (!resume_path) {
        spec.channels = dd->channels;
        cfg.model.size = size;
        cfg.model.frames = frames;
        cfg.model.channels = dd->channels;
    }
    if (!data_text && !(data_text = vg_ckpt_data_json(&spec))) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }
    if (vg_trainer_init(&t, &cfg, ds) != VG_OK ||
        (resume_path && vg_ckpt_load(&t, resume_path) != VG_OK) ||
        (prefetch > 0 && vg_trainer_prefetch(&t, prefetch, data_workers) != VG_OK)) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        goto done;
    }
    if (eval_every > 0) {
        /* the fixed real splits are measured without augmentation: centre
         * crops, no flips (the convention of evaluation) */
        vg_dataset *eval_ds = NULL;
        if (spec.crop != VG_CROP_CENTRE || spec.hflip) {
            vg_dataset_spec es = spec;
            es.crop = VG_CROP_CENTRE;
            es.hflip = 0;
            if (vg_dataset_open(&eval_ds, &es) != VG_OK) {
                fprintf(stderr, "vidgan: %s\n", vg_last_error());
                goto done;
            }
        }
        exit_code = train_eval_open(&te, eval_metric, evaluator, i3d, eval_n, &t, eval_ds ? eval_ds : ds);
        vg_dataset_close(eval_ds);
        if (exit_code != 0) goto done;
    }
    exit_code = 1;
    char log_path[4096], path[4200], last_ckpt[4200] = "";
    snprintf(log_path, sizeof log_path, "%s/metrics.jsonl", out);
    if (resume_path) {
        trim_log(log_path, t.step);
        snprintf(last_ckpt, sizeof last_ckpt, "%s", resume_path);
        if (te) train_eval_resume(te, log_path);
    } else {
        remove(log_path);
    }
    FILE *log = fopen(log_path, "a");
    if (!log) {
        fprintf(stderr, "vidgan: %s: %s\n", log_path, strerror(errno));
        goto done;
    }
    snprintf(path, sizeof path, "%s/samples", out);
    make_dirs(path);
    install_signals();
    fprintf(stderr, "training 3D-DCGAN %dx%dx%d (C %d, G %s%s%s, D video%s) on %s, batch %d, loss %s, %s %s, %d threads -> %s\n",
            cfg.model.size, cfg.model.size, cfg.model.frames, cfg.model.channels, vg_g_arch_name(cfg.model.g_arch),
            cfg.model.two_stream ? " two-stream" : "", cfg.model.motion_dim ? (cfg.model.sprite ? " motion-GRU sprite" : " motion-GRU") : "", cfg.model.image_d ? " + image" : "", spec.source, cfg.batch,
            vg_gan_loss_name(cfg.loss), vg_get_device(), vg_precision_name(cfg.precision), vg_get_threads(), out);
    progress bar;
    progress_init(&bar, t.step, steps, log_every);
    cli_data_describe(stderr, &spec);
    report_skipped(ds, 0);
    int bad_in_row = 0;
    double data_total = 0, step_total = 0;
    exit_code = 0;
    while (t.step < steps && !stop_signal) {
        if (time_limit > 0 && now_seconds() - bar.t_start > time_limit) break;
        vg_step_stats s;
        const double t_step = now_seconds();
        if (vg_trainer_step(&t, &s) != VG_OK) {
            progress_break(&bar);
            fprintf(stderr, "vidgan: step %lld: %s\n", (long long)t.step, vg_last_error());
            exit_code = 1;
            break;
        }
        const double step_s = now_seconds() - t_step;
        data_total += t.data_seconds;
        step_total += step_s;
        fprintf(log,
                "{\"step\":%lld,\"loss_d\":%.6g,\"loss_g\":%.6g,\"d_real\":%.6g,\"d_fake\":%.6g,\"skipped_d\":%d,"
                "\"skipped_g\":%d,\"skipped_total\":%lld,\"time\":%.3f,\"it_per_s\":%.4g,\"step_s\":%.4f,"
                "\"data_s\":%.4f,\"data_frac\":%.4f,\"precision\":\"%s\"}\n",
                (long long)t.step, s.loss_d, s.loss_g, s.d_real, s.d_fake, s.skipped_d, s.skipped_g,
                (long long)t.skipped, now_seconds() - bar.t_start, progress_rate(&bar, t.step), step_s, t.data_seconds,
                step_s > 0 ? t.data_seconds / step_s : 0.0, vg_precision_name(cfg.precision));
        fflush(log); /* whole lines for readers of a live run, and every finished step survives a kill */
        progress_update(&bar, t.step, s.loss_d, s.loss_g, s.d_real, s.d_fake, t.skipped);
        bad_in_row = (s.skipped_d || s.skipped_g) ? bad_in_row + 1 : 0;
        if (max_bad > 0 && bad_in_row >= max_bad) {
            progress_break(&bar);
            if (!last_ckpt[0]) {
                fprintf(stderr, "vidgan: %d non-finite steps in a row and no checkpoint to roll back to; stopping\n", bad_in_row);
                exit_code = 1;
                break;
            }
            uint64_t stream = t.stream + 1;
            int64_t skipped = t.skipped;
            if (vg_ckpt_load(&t, last_ckpt) != VG_OK) {
                fprintf(stderr, "vidgan: roll-back failed: %s\n", vg_last_error());
                exit_code = 1;
                break;
            }
            t.stream = stream; /* retry the steps with other noise and clips */
            t.skipped = skipped;
            fprintf(stderr, "%d non-finite steps in a row: rolled back to %s (step %lld), random stream %llu\n",
                    bad_in_row, last_ckpt, (long long)t.step, (unsigned long long)stream);
            bad_in_row = 0;
            continue;
        }
        if (sample_every > 0 && t.step % sample_every == 0) {
            snprintf(path, sizeof path, "%s/samples/step-%08lld.gif", out, (long long)t.step);
            if (write_grid_gif(&t, path, sample_n, (uint64_t)seed, fps) != VG_OK) {
                progress_break(&bar);
                fprintf(stderr, "vidgan: sample grid: %s\n", vg_last_error());
            }
        }
        if (ckpt_every > 0 && t.step % ckpt_every == 0) {
            if (save_checkpoint(&t, out, data_text, keep, path, sizeof path) == VG_OK)
                snprintf(last_ckpt, sizeof last_ckpt, "%s", path);
            else {
                progress_break(&bar);
                fprintf(stderr, "vidgan: checkpoint: %s\n", vg_last_error());
            }
        }
        if (te && t.step % eval_every == 0 && train_eval_step(te, &t, data_text, out, log) != VG_OK) {
            progress_break(&bar);
            fprintf(stderr, "vidgan: eval at step %lld: %s\n", (long long)t.step, vg_last_error());
        }
    }
    progress_break(&bar);
    fclose(log);
    if (step_total > 0)
        fprintf(stderr, "data time: %.2f s of %.2f s in steps (%.1f%%; %s)\n", data_total, step_total,
                100.0 * data_total / step_total,
                prefetch > 0 ? "prefetch queue" : "decoded inside each step, --prefetch 0");
    report_skipped(ds, 1);
    int64_t saved_step = ckpt_every > 0 && t.step % ckpt_every == 0 && last_ckpt[0] ? t.step : -1;
    if ((exit_code == 0 || stop_signal) && saved_step != t.step) {
        if (save_checkpoint(&t, out, data_text, keep, path, sizeof path) == VG_OK)
            fprintf(stderr, "checkpoint: %s\n", path);
        else {
            fprintf(stderr, "vidgan: final checkpoint: %s\n", vg_last_error());
            exit_code = 1;
        }
    }
    if (exit_code == 0 || stop_signal) {
        snprintf(path, sizeof path, "%s/samples/final.gif", out);
        if (write_grid_gif(&t, path, sample_n, (uint64_t)seed, fps) == VG_OK) fprintf(stderr, "samples: %s\n", path);
    }
    if (stop_signal) {
        fprintf(stderr, "stopped by signal %d at step %lld\n", (int)stop_signal, (long long)t.step);
        exit_code = 128 + stop_signal;
    } else if (exit_code == 0) {
        fprintf(stderr, "run folder: %s (metrics.jsonl, samples/, checkpoints)\n", out);
    }
done:
    train_eval_free(te);
    vg_trainer_free(&t);
    vg_dataset_close(ds);
    free(resume_path);
    free(data_text);
    free(spec_strings);
    return exit_code;
}
