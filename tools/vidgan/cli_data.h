/* cli_data.h — the data set options every command that opens a data set
 * shares (train, data preview|info|prepare|bench, evaluator train, eval):
 * one set of option-table entries and one translation into a
 * vg_dataset_spec with its checks, so the commands cannot drift apart.
 *
 * The frame rate is --clip-fps, not --fps: train, data preview and sample
 * already use --fps for the rate of the GIFs and MP4s they write.
 *
 * Usage:
 *   cli_data d = CLI_DATA_DEFAULTS;
 *   const cli_option opts[] = {CLI_DATA_OPTIONS(&d), {"size", ...}, ...};
 *   ... cli_parse(opts, ...) ...
 *   vg_dataset_spec spec = {...};
 *   if ((rc = cli_data_spec(&d, &spec)) != 0) return rc;   (prints why) */
#ifndef VG_CLI_DATA_H
#define VG_CLI_DATA_H

#include <stdio.h>

#include "data/dataset.h"
#include "options.h"

typedef struct cli_data {
    const char *data;       /* --data: source */
    const char *data_path;  /* --data-path */
    const char *npy_layout; /* --npy-layout */
    int stride;             /* --stride (eval: 0 = the checkpoint's) */
    double clip_fps;        /* --clip-fps, 0 = off */
    const char *crop;       /* --crop centre|random (NULL = centre) */
    int hflip;              /* --hflip */
    const char *labels;     /* --labels folders|none (NULL = folders) */
    int skip_bad;           /* --skip-bad */
} cli_data;

#define CLI_DATA_DEFAULTS {.data = "shapes", .stride = 1}

/* The option-table entries, bound to the cli_data at d. */
#define CLI_DATA_OPTIONS(d)                                                                                       \
    {"data", OPT_STRING, &(d)->data,                                                                              \
     "data set: shapes, mnist, fashion, a folder of videos or of frame folders (class = sub-folder), a .npy file " \
     "or a clip cache (vidgan data prepare)"},                                                                     \
    {"data-path", OPT_STRING, &(d)->data_path,                                                                    \
     "mnist: digit cache file; fashion: IDX folder (default: built-in locations)"},                               \
    {"npy-layout", OPT_STRING, &(d)->npy_layout,                                                                  \
     ".npy data: NTHW[C] (default) or TNHW (Moving MNIST's mnist_test_seq.npy)"},                                 \
    {"stride", OPT_INT, &(d)->stride, "real videos: take every N-th frame"},                                      \
    {"clip-fps", OPT_DOUBLE, &(d)->clip_fps,                                                                      \
     "video files: sample clip frames at this rate from each video's own (frame k = start + round(k * "           \
     "video fps / X), as torchvision and decord); not with --stride > 1; 0 = off (the default)"},                 \
    {"crop", OPT_STRING, &(d)->crop,                                                                              \
     "real data: centre (the default) or random (shorter side to --size, then a random square along the "         \
     "longer side, one per clip)"},                                                                                \
    {"hflip", OPT_FLAG, &(d)->hflip, "real data: mirror each clip left-right with probability 1/2"},              \
    {"labels", OPT_STRING, &(d)->labels,                                                                          \
     "folders (the default: class = sub-folder, or the data set's own) or none (one class \"all\")"},            \
    {"skip-bad", OPT_FLAG, &(d)->skip_bad, "video folders: skip unreadable files (listed) instead of failing"}

/* Checks the values (crop and labels names, clip-fps >= 0, stride >= 0 and
 * not both clip-fps and stride > 1) and sets spec's source, path,
 * npy_layout, stride (0 stays 0), fps, crop, hflip, labels and skip_bad
 * from them. Prints a message naming the option and returns 2 when one is
 * wrong; 0 when all are fine. Which sources accept which option is
 * checked by vg_dataset_open, whose message names the file. */
int cli_data_spec(const cli_data *d, vg_dataset_spec *spec);

/* The same checks only (eval merges the options with a checkpoint's). */
int cli_data_check(const cli_data *d);

/* One line on f describing how clips are sampled from real data ("sampling:
 * one frame in 2, crop centre, no flips, labels folders"); nothing for the
 * generated sets (shapes, mnist, fashion), which have no such choices. */
void cli_data_describe(FILE *f, const vg_dataset_spec *spec);

#endif
