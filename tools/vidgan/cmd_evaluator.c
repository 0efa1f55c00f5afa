/* `vidgan evaluator train`: trains vidgan's own evaluator network (a small
 * 3D-CNN, src/eval/evaluator.h) on a data set's labels, or on the
 * self-supervised temporal task for data with fewer than two classes,
 * freezes it and saves it as safetensors. Prints progress, the held-out
 * accuracy and the file's SHA-256, the name every weight-free metric
 * computed with it carries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_data.h"
#include "commands.h"
#include "data/dataset.h"
#include "eval/evaluator.h"
#include "options.h"
#include "train/checkpoint.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int evaluator_train(int argc, char **argv) {
    cli_data d = CLI_DATA_DEFAULTS;
    const char *out = NULL, *task = NULL;
    int size = 32, frames = 16, channels = 0, steps = 2000, batch = 32, seed = 1, threads = 0, width = 32, holdout = 512;
    double lr = 1e-3;
    const cli_option opts[] = {
        CLI_DATA_OPTIONS(&d),
        {"size", OPT_INT, &size, "frame height = width"},
        {"frames", OPT_INT, &frames, "frames per clip"},
        {"channels", OPT_INT, &channels, "channels (0: the data set's default)"},
        {"task", OPT_STRING, &task, "labels or temporal (default: labels when the data set has >= 2 classes, else temporal)"},
        {"width", OPT_INT, &width, "base channel width (features = 8 x width)"},
        {"steps", OPT_INT, &steps, "training steps"},
        {"batch", OPT_INT, &batch, "clips per step"},
        {"lr", OPT_DOUBLE, &lr, "Adam learning rate (cosine decay to 0)"},
        {"holdout", OPT_INT, &holdout, "held-out clips for the reported accuracy"},
        {"seed", OPT_INT, &seed, "seed of the weights, the data clips and the temporal task's draws"},
        {"threads", OPT_INT, &threads, "CPU threads (0: VIDGAN_THREADS or all cores)"},
        {"out", OPT_STRING, &out, "output file (required), e.g. evaluator.safetensors"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, (int)(sizeof opts / sizeof opts[0]), argc, argv, 3, pos, 0, &npos,
                       "usage: vidgan evaluator train --data SRC -o evaluator.safetensors [options]\n\n"
                       "Trains vidgan's evaluator network (a small 3D-CNN) on the data set's labels, or on\n"
                       "telling clips as recorded from shuffled and frozen ones when it has fewer than two classes;\n"
                       "saves it frozen, with its protocol, and prints its held-out accuracy and SHA-256.",
                       stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    if (!out) {
        fprintf(stderr, "vidgan: evaluator train: -o FILE is required\n");
        return 2;
    }
    vg_evaluator_task forced = VG_EVAL_TASK_LABELS;
    if (task && !vg_evaluator_task_parse(task, &forced)) {
        fprintf(stderr, "vidgan: --task must be labels or temporal, got '%s'\n", task);
        return 2;
    }
    if (steps < 1 || batch < 2 || holdout < 1 || !(lr > 0) || width < 1 || width > 256) {
        fprintf(stderr, "vidgan: need --steps >= 1, --batch >= 2, --holdout >= 1, --lr > 0, 1 <= --width <= 256\n");
        return 2;
    }
    vg_set_threads(threads);

    int exit_code = 1;
    vg_dataset *ds = NULL;
    vg_evaluator *e = NULL;
    char *data_json = NULL;
    vg_dataset_spec spec = {.frames = frames, .size = size, .channels = channels, .seed = (uint64_t)seed};
    if ((exit_code = cli_data_spec(&d, &spec)) != 0) goto done;
    exit_code = 1;
    const char *data = d.data;
    if (vg_dataset_open(&ds, &spec) != VG_OK) {
        fprintf(stderr, "vidgan: %s\n", vg_last_error());
        exit_code = 2;
        goto done;
    }
    const vg_dataset_desc *dd = vg_dataset_info(ds);
    spec.channels = dd->channels;
    if (!(data_json = vg_ckpt_data_json(&spec))) goto fail;
    vg_evaluator_config cfg;
    vg_evaluator_config_for(&cfg, ds);
    cfg.width = width;
    if (task && forced != cfg.task) {
        if (forced == VG_EVAL_TASK_LABELS) {
            fprintf(stderr, "vidgan: %s has %d class%s: the labels task needs >= 2\n", data, dd->num_classes,
                    dd->num_classes == 1 ? "" : "es");
            exit_code = 2;
            goto done;
        }
        cfg.task = VG_EVAL_TASK_TEMPORAL;
        cfg.num_classes = 3;
    }
    vg_evaluator_train_args args;
    vg_evaluator_train_args_default(&args);
    args.steps = steps, args.batch = batch, args.lr = lr, args.seed = (uint64_t)seed, args.holdout = holdout, args.verbose = 1;
    fprintf(stderr, "training the evaluator (%s task, %d classes, width %d, %d features) on %s %dx%dx%d (C %d), %d steps of %d, "
                    "%d threads\n",
            vg_evaluator_task_name(cfg.task), cfg.num_classes, cfg.width, 8 * cfg.width, dd->source, cfg.size, cfg.size,
            cfg.frames, cfg.channels, steps, batch, vg_get_threads());
    double t0 = now_seconds(), accuracy = 0;
    char hash[65];
    if (vg_evaluator_train(&e, &accuracy, ds, &cfg, &args) != VG_OK || vg_evaluator_set_data_json(e, data_json) != VG_OK ||
        vg_evaluator_save(e, out, hash) != VG_OK)
        goto fail;
    printf("evaluator: %s\n", out);
    printf("task: %s (%d classes), held-out accuracy %.2f%% (chance %.2f%%)\n", vg_evaluator_task_name(cfg.task), cfg.num_classes,
           100 * accuracy, 100.0 / cfg.num_classes);
    printf("time: %.1f s on %d threads\n", now_seconds() - t0, vg_get_threads());
    printf("sha256: %s\n", hash);
    exit_code = 0;
    goto done;
fail:
    fprintf(stderr, "vidgan: %s\n", vg_last_error());
done:
    vg_evaluator_free(e);
    vg_dataset_close(ds);
    free(data_json);
    return exit_code;
}

int cmd_evaluator(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[2], "train") == 0) return evaluator_train(argc, argv);
    FILE *f = argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0) ? stdout : stderr;
    fprintf(f, "usage: vidgan evaluator train --data SRC -o evaluator.safetensors [options]\n\n"
               "subcommands:\n  train   train the evaluator network on a data set (see `vidgan evaluator train --help`)\n");
    return f == stdout ? 0 : 2;
}
