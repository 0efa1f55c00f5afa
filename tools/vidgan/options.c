/* Option-table parsing and help; see options.h. */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "vidgan.h"

static void print_default(const cli_option *o, FILE *out) {
    switch (o->kind) {
    case OPT_INT: fprintf(out, " (default: %d)", *(int *)o->target); break;
    case OPT_DOUBLE: fprintf(out, " (default: %g)", *(double *)o->target); break;
    case OPT_STRING: {
        const char *s = *(const char **)o->target;
        fprintf(out, s ? " (default: %s)" : " (default: none)", s);
        break;
    }
    case OPT_FLAG: fprintf(out, " (default: %s)", *(int *)o->target ? "on" : "off"); break;
    }
}

void cli_print_help(const cli_option *opts, int nopts, const char *usage, FILE *out) {
    fprintf(out, "%s\n\noptions:\n", usage);
    for (int i = 0; i < nopts; i++) {
        const cli_option *o = &opts[i];
        const char *arg = o->kind == OPT_INT ? " N" : o->kind == OPT_DOUBLE ? " X" : o->kind == OPT_STRING ? " S" : "";
        char left[64];
        snprintf(left, sizeof left, "%s--%s%s", strcmp(o->name, "out") == 0 ? "-o, " : "", o->name, arg);
        fprintf(out, "  %-24s %s", left, o->help);
        if (!strstr(o->help, "default")) print_default(o, out); /* the help states its own default */
        fputc('\n', out);
    }
    fprintf(out, "  %-24s %s\n", "--help", "show this help");
}

/* Levenshtein distance, for "did you mean" suggestions. */
static int edit_distance(const char *a, const char *b) {
    int la = (int)strlen(a), lb = (int)strlen(b);
    if (la > 63 || lb > 63) return 99;
    int d[64][64];
    for (int i = 0; i <= la; i++) d[i][0] = i;
    for (int j = 0; j <= lb; j++) d[0][j] = j;
    for (int i = 1; i <= la; i++)
        for (int j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

static int set_value(const cli_option *o, const char *v, FILE *err) {
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT: {
        long x = strtol(v, &end, 10);
        if (*v == '\0' || *end || errno || x < INT_MIN || x > INT_MAX) {
            fprintf(err, "vidgan: --%s expects an integer, got '%s'\n", o->name, v);
            return -1;
        }
        *(int *)o->target = (int)x;
        return 0;
    }
    case OPT_DOUBLE: {
        double x = strtod(v, &end);
        if (*v == '\0' || *end || errno) {
            fprintf(err, "vidgan: --%s expects a number, got '%s'\n", o->name, v);
            return -1;
        }
        *(double *)o->target = x;
        return 0;
    }
    case OPT_STRING: *(const char **)o->target = v; return 0;
    case OPT_FLAG: *(int *)o->target = 1; return 0;
    }
    return -1;
}

int cli_parse(const cli_option *opts, int nopts, int argc, char **argv, int first, const char **positional,
              int max_positional, int *npositional, const char *usage, FILE *out, FILE *err) {
    *npositional = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-o") == 0) a = "--out"; /* the one short option, everywhere */
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_print_help(opts, nopts, usage, out);
            return 1;
        }
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (*npositional >= max_positional) {
                fprintf(err, "vidgan: unexpected argument '%s'\n", a);
                return -1;
            }
            positional[(*npositional)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const cli_option *o = NULL;
        for (int k = 0; k < nopts; k++)
            if (strlen(opts[k].name) == len && strncmp(opts[k].name, name, len) == 0) o = &opts[k];
        if (!o) {
            char given[64];
            snprintf(given, sizeof given, "%.*s", (int)(len < 63 ? len : 63), name);
            int best = 99;
            const char *near = NULL;
            for (int k = 0; k < nopts; k++) {
                int dist = edit_distance(given, opts[k].name);
                if (dist < best) best = dist, near = opts[k].name;
            }
            if (near && best <= 3)
                fprintf(err, "vidgan: unknown option --%s (did you mean --%s?)\n", given, near);
            else
                fprintf(err, "vidgan: unknown option --%s (see --help)\n", given);
            return -1;
        }
        const char *value = NULL;
        if (o->kind != OPT_FLAG) {
            if (eq)
                value = eq + 1;
            else if (i + 1 < argc)
                value = argv[++i];
            else {
                fprintf(err, "vidgan: --%s needs a value\n", o->name);
                return -1;
            }
        } else if (eq) {
            fprintf(err, "vidgan: --%s takes no value\n", o->name);
            return -1;
        }
        if (set_value(o, value ? value : "", err) != 0) return -1;
    }
    return 0;
}

int cli_use_device(const char *device) {
    if (strcmp(device, "auto") == 0) {
        if (vg_set_device("cuda") != VG_OK) fprintf(stderr, "note: %s; computing on the CPU\n", vg_last_error());
        return 0;
    }
    vg_status s = vg_set_device(device);
    if (s == VG_ERR_UNSUPPORTED) {
        fprintf(stderr, "vidgan: %s; use --device cpu\n", vg_last_error());
        return 1;
    }
    if (s != VG_OK) {
        fprintf(stderr, "vidgan: --device must be cpu, cuda or auto, got '%s'\n", device);
        return 2;
    }
    return 0;
}

int cli_use_precision(const char *precision, vg_precision *out) {
    if (!vg_precision_parse(precision, out)) {
        fprintf(stderr, "vidgan: --precision must be fp32 or bf16, got '%s'\n", precision);
        return 2;
    }
    if (*out == VG_PRECISION_BF16 && strcmp(vg_get_device(), "cuda") != 0) {
        fprintf(stderr, "vidgan: bf16 mixed precision needs --device cuda (computing on the %s)\n", vg_get_device());
        return 2;
    }
    return 0;
}
