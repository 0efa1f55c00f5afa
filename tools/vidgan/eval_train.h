/* eval_train.h — `vidgan train --eval-every K`: one metric measured every K
 * steps on a FIXED sample set (latent vectors 0..N-1 of the run's seed; real
 * clips EVAL_REAL_FIRST + 0..2N-1 of the training data, split A for the
 * score and B for its real-vs-real floor), logged to metrics.jsonl, and
 * best.safetensors kept in the run folder by it (atomic write).
 *
 * Nothing here draws from the training's random streams or touches its
 * state: generation uses the sampling latents and BatchNorm on batch
 * statistics (running statistics untouched), so a resumed run stays bit
 * for bit the same with or without evaluation. */
#ifndef VG_CLI_EVAL_TRAIN_H
#define VG_CLI_EVAL_TRAIN_H

#include <stdio.h>

#include "train/trainer.h"

typedef struct train_eval train_eval;

/* metric: "evaluator", "shapes", "fvd" or NULL (evaluator with
 * evaluator_path, else shapes on shapes data, else fvd with i3d_path).
 * Loads the network, measures the real splits once and prints the floor.
 * Prints any error; returns 0, or the exit code (2: bad options). */
int train_eval_open(train_eval **out, const char *metric, const char *evaluator_path, const char *i3d_path, int n,
                    vg_trainer *t, const vg_dataset *ds);
/* After a resume: the best score and its step from the log's eval lines
 * (already trimmed to the resumed step). */
void train_eval_resume(train_eval *e, const char *log_path);
/* Measures t's generator (EMA weights when there are some), appends one
 * line to log, and saves t to run_dir/best.safetensors when it is the
 * best so far. */
vg_status train_eval_step(train_eval *e, vg_trainer *t, const char *data_json, const char *run_dir, FILE *log);
void train_eval_free(train_eval *e);

#endif
