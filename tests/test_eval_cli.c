/* `vidgan eval` end to end, as a user runs it: a tiny checkpoint trained
 * for two steps, then eval on real and generated shapes clips: exit codes,
 * the printed table and protocol, and the --json record (real clips score
 * near 100%, the untrained generator near 0%). Runs the vidgan binary of
 * the same build as this test (<build>/tests/test_eval_cli -> <build>/vidgan). */
#include <jansson.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "cli_run.h"


/* A number at "a.b" in a JSON object, NAN when absent. */
static double jnum(json_t *root, const char *a, const char *b) {
    json_t *v = json_object_get(root, a);
    if (b) v = json_object_get(v, b);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

int main(int argc, char **argv) {
    (void)argc;
    if (!cli_setup(argv[0], "eval")) {
        CHECK(0, "mkdtemp");
        TEST_END();
    }

    int rc = run("%s train --size 16 --frames 8 --g-base 8 --d-base 8 --z-dim 16 --batch 4 --steps 2 --sample-n 4 --threads 2 "
                 "--out %s/run",
                 vidgan, tmp);
    CHECK(rc == 0, "train exit %d", rc);
    char ckpt[400], json[400];
    snprintf(ckpt, sizeof ckpt, "%s/run/ckpt-00000002.safetensors", tmp);
    snprintf(json, sizeof json, "%s/eval.json", tmp);

    /* real and generated, geometry from the checkpoint */
    rc = run("%s eval --data shapes --ckpt %s --n 64 --seed 3 --threads 2 --json %s", vidgan, ckpt, json);
    CHECK(rc == 0, "eval exit %d", rc);
    CHECK(output_has("valid frames") && output_has("smooth clips") && output_has("generated"), "the table is printed");
    CHECK(output_has("protocol: data shapes, 16x16, 8 frames, N 64 clips each, seed 3"), "the protocol line names the setup");
    CHECK(output_has("thresholds:"), "the thresholds are printed");
    json_error_t err;
    json_t *rec = json_load_file(json, 0, &err);
    CHECK(rec != NULL, "%s: %s", json, err.text);
    if (rec) {
        CHECK(jnum(rec, "size", NULL) == 16 && jnum(rec, "frames", NULL) == 8 && jnum(rec, "n", NULL) == 64 &&
                  jnum(rec, "seed", NULL) == 3 && jnum(rec, "step", NULL) == 2,
              "record: size %g frames %g n %g seed %g step %g", jnum(rec, "size", NULL), jnum(rec, "frames", NULL),
              jnum(rec, "n", NULL), jnum(rec, "seed", NULL), jnum(rec, "step", NULL));
        CHECK(jnum(rec, "thresholds", "fg_threshold") > 0 && jnum(rec, "thresholds", "area_max") > jnum(rec, "thresholds", "area_min"),
              "record has the thresholds");
        double rv = jnum(rec, "real", "valid_frames"), rs = jnum(rec, "real", "smooth_clips");
        double gv = jnum(rec, "generated", "valid_frames"), gsm = jnum(rec, "generated", "smooth_clips");
        printf("real: valid %.3f smooth %.3f; untrained generator: valid %.3f smooth %.3f\n", rv, rs, gv, gsm);
        CHECK(rv >= 0.95 && rs >= 0.95, "real clips score high: valid %.3f smooth %.3f", rv, rs);
        CHECK(gv <= 0.2 && gsm <= 0.05, "an untrained generator scores low: valid %.3f smooth %.3f", gv, gsm);
        CHECK(jnum(rec, "generated", "clips") == 64 && jnum(rec, "generated", "frames") == 64 * 8, "generated: 64 clips of 8 frames");
        json_decref(rec);
    }

    /* real clips only, geometry from the options */
    rc = run("%s eval --data shapes --size 32 --frames 8 --n 16 --threads 2 --json %s", vidgan, json);
    CHECK(rc == 0, "eval without --ckpt: exit %d", rc);
    rec = json_load_file(json, 0, &err);
    CHECK(rec && json_is_null(json_object_get(rec, "generated")) && jnum(rec, "size", NULL) == 32 &&
              jnum(rec, "real", "valid_frames") >= 0.95,
          "without --ckpt: generated is null, real scored at 32x32");
    json_decref(rec);

    /* errors */
    rc = run("%s eval --data mnist --n 4", vidgan);
    CHECK(rc == 2 && output_has("shapes"), "eval --data mnist: exit %d", rc);
    rc = run("%s eval --ckpt %s --size 32 --n 4", vidgan, ckpt);
    CHECK(rc == 2 && output_has("16x16x8"), "size other than the checkpoint's: exit %d", rc);
    run("head -c 3000 /dev/urandom > %s/noise.safetensors", tmp);
    rc = run("%s eval --ckpt %s/noise.safetensors --n 4", vidgan, tmp);
    CHECK(rc == 1 && output_has("noise.safetensors"), "corrupt checkpoint: exit %d, message names the file", rc);
    rc = run("%s eval --nn 4", vidgan);
    CHECK(rc == 2 && output_has("did you mean --n"), "unknown option: exit %d", rc);
    rc = run("%s eval --help", vidgan);
    CHECK(rc == 0 && output_has("--ckpt") && output_has("--json"), "--help lists the options: exit %d", rc);

    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    CHECK(system(cmd) == 0, "cleanup");
    TEST_END();
}
