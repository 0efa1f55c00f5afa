/* Command-line options from one table (stable-diffusion.cpp habit): the same
 * table drives parsing and --help, so they cannot drift apart. Unknown
 * options are errors with the nearest valid name suggested. */
#ifndef VG_CLI_OPTIONS_H
#define VG_CLI_OPTIONS_H

#include <stdio.h>

#include "vidgan.h"

typedef enum { OPT_INT, OPT_DOUBLE, OPT_STRING, OPT_FLAG } opt_kind;

typedef struct cli_option {
    const char *name;  /* long name without the dashes */
    opt_kind kind;
    void *target;      /* int*, double*, const char**, or int* for flags */
    const char *help;  /* one line; the default is printed from *target */
} cli_option;

/* Parses argv[first..argc) into the table's targets. Positional arguments
 * are stored in positional[] (up to max_positional). Returns 0 on success,
 * 1 when --help was given (help printed to out), -1 on error (message on err). */
int cli_parse(const cli_option *opts, int nopts, int argc, char **argv, int first, const char **positional,
              int max_positional, int *npositional, const char *usage, FILE *out, FILE *err);
void cli_print_help(const cli_option *opts, int nopts, const char *usage, FILE *out);

/* --device: "cpu", "cuda" (no GPU: an error saying why, exit status 1) or
 * "auto" (cuda when a GPU answers, else a note and the CPU). Makes it the
 * library's default device; returns 0, or the exit status to give. */
int cli_use_device(const char *device);

/* --precision: "fp32" or "bf16" into *out, after cli_use_device (bf16 needs
 * the device to be cuda: "bf16 mixed precision needs --device cuda"
 * otherwise). Returns 0, or the exit status to give (2). */
int cli_use_precision(const char *precision, vg_precision *out);

#endif
