/* vidgan: the command-line tool. Dispatches to subcommands; the library does
 * the work, this file only parses, prints and picks exit codes. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "options.h"
#include "vidgan.h"

static int cmd_info(int argc, char **argv) {
    int threads = 0;
    const cli_option opts[] = {
        {"threads", OPT_INT, &threads, "CPU threads (0: VIDGAN_THREADS or all cores)"},
    };
    const char *pos[1];
    int npos;
    int rc = cli_parse(opts, 1, argc, argv, 2, pos, 0, &npos, "usage: vidgan info [options]\n\nPrints the build, backends and thread count.", stdout, stderr);
    if (rc) return rc > 0 ? 0 : 2;
    vg_set_threads(threads);
    printf("vidgan %s\n", VG_VERSION);
    printf("backends: cpu\n");
    printf("threads: %d\n", vg_get_threads());
#if defined(__x86_64__)
    __builtin_cpu_init();
    printf("cpu: avx2 %s, fma %s, avx512f %s\n", __builtin_cpu_supports("avx2") ? "yes" : "no",
           __builtin_cpu_supports("fma") ? "yes" : "no", __builtin_cpu_supports("avx512f") ? "yes" : "no");
#endif
    return 0;
}

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"train", cmd_train, "train a video GAN (3D-DCGAN) on a data set"},
    {"sample", cmd_sample, "generate videos from a checkpoint"},
    {"data", cmd_data, "preview a data set (a GIF of real clips) or print its geometry"},
    {"eval", cmd_eval, "score generated vs real clips (FED/KID/PR, FVD, D, shapes) beside real-vs-real floors"},
    {"evaluator", cmd_evaluator, "train the evaluator network behind the weight-free metrics"},
    {"info", cmd_info, "show version, backends, threads and CPU features"},
};

static void usage(FILE *out) {
    fprintf(out, "vidgan %s: train video GANs and generate videos\n\nusage: vidgan <command> [options]\n\ncommands:\n", VG_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n`vidgan <command> --help` lists the command's options with their defaults.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("vidgan %s\n", VG_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc, argv);
    fprintf(stderr, "vidgan: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
