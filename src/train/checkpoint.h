/* checkpoint.h — the whole resumable state of a GAN training run in one
 * safetensors file, readable by PyTorch (docs/checkpoints.md).
 *
 * A trainer's state is (weights and buffers of G and D, the EMA generator,
 * Adam's moments and step counts, the iteration count, the configuration):
 * all randomness is counter-based from (seed, step), so loading a checkpoint
 * and training on continues bit for bit as if never stopped (same thread
 * count). Tensors use PyTorch state_dict names:
 *
 *   G.<name>, D.<name>                 every parameter and buffer
 *   G_ema.<name>                       the EMA generator (when ema_decay > 0)
 *   optim.G.exp_avg.<name>, optim.G.exp_avg_sq.<name>, optim.D....
 *                                      Adam's moments (trainable tensors)
 *
 * where <name> is the module-local name ("net.0.weight"). Metadata (all
 * strings; 64-bit integers in decimal): format "vidgan-checkpoint",
 * format_version "1", model "dcgan3d", model_config and train_config (JSON),
 * step, adam_step_g, adam_step_d, skipped, rng (JSON), data (the caller's
 * data set JSON), threads, vidgan_version, created.
 *
 * Saving is atomic (temporary file, fsync, rename) and refuses non-finite
 * values; loading validates everything before touching the trainer, so a
 * failed load leaves it as it was. Every message names the file.
 *
 * File names in a run directory: ckpt-<step, at least 8 digits>.safetensors.
 * Other files (best.safetensors, temporaries "*.tmp.*") are never chosen by
 * vg_ckpt_find_latest; vg_ckpt_prune deletes only older checkpoints and the
 * temporaries of writers that no longer run. */
#ifndef VG_TRAIN_CHECKPOINT_H
#define VG_TRAIN_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "train/trainer.h"
#include "vidgan.h"

#define VG_CKPT_FORMAT "vidgan-checkpoint"
#define VG_CKPT_FORMAT_VERSION 1

/* Save t's state to path atomically. data_json: the data set as JSON (see
 * vg_ckpt_data_json), or NULL (stored as "null"). Fails with VG_ERR_NUMERIC,
 * naming the first tensor with a NaN or inf, and leaves any existing file at
 * path untouched. Save with the live weights in G (not between two
 * vg_ema_swap calls). */
vg_status vg_ckpt_save(const vg_trainer *t, const char *data_json, const char *path);

/* Load path into t, initialised (vg_trainer_init) with the same model and
 * training configuration: every field must match (the error names the first
 * that differs and both values). Restores weights, buffers, EMA, moments,
 * Adam step counts, t->step and t->skipped. On failure t is unchanged. */
vg_status vg_ckpt_load(vg_trainer *t, const char *path);

/* The training configuration stored in path, and (when data_json is not
 * NULL) a malloc'd copy of its data JSON ("null" if none was given); enough
 * to rebuild a trainer from a checkpoint alone. *step (may be NULL)
 * receives the iterations completed. Its precision is FP32: the compute
 * precision is not stored (the weights are float32 either way). */
vg_status vg_ckpt_read_config(const char *path, vg_train_config *out, char **data_json, int64_t *step);

/* Which generator weights vg_ckpt_load_generator uses. */
typedef enum vg_ckpt_weights {
    VG_CKPT_WEIGHTS_DEFAULT = 0, /* the EMA generator if the file has one, else G */
    VG_CKPT_WEIGHTS_EMA,         /* the EMA generator; an error if absent */
    VG_CKPT_WEIGHTS_LIVE,        /* the trained G */
    VG_CKPT_WEIGHTS_COUNT
} vg_ckpt_weights;

/* For sampling: build *model in ctx from the file's configuration and load
 * its G (EMA or live weights, per `which`) and D. cfg_out (may be NULL)
 * receives the training configuration, *used_ema (may be NULL) whether the
 * EMA weights were loaded. On failure *model is zeroed and owns nothing;
 * on success free it with vg_dcgan3d_free. */
vg_status vg_ckpt_load_generator(const char *path, vg_ckpt_weights which, vg_ctx *ctx, vg_dcgan3d *model,
                                 vg_train_config *cfg_out, int *used_ema);

/* Opens path and checks everything vg_ckpt_load would (structure, metadata,
 * every tensor's presence, dtype, shape and finiteness against a model built
 * from the file's configuration), without a trainer. */
vg_status vg_ckpt_validate(const char *path);

/* "<dir>/ckpt-<step %08>.safetensors", malloc'd (NULL when out of memory). */
char *vg_ckpt_path(const char *dir, int64_t step);

/* The newest valid checkpoint in dir by the step in its name, malloc'd into
 * *path_out, or NULL if dir holds none (still VG_OK). Candidates are tried
 * newest first; *skipped (may be NULL) receives how many newer ones failed
 * vg_ckpt_validate (vg_last_error() then says why the last of them failed).
 * Temporary files and other names are ignored. An unreadable dir is
 * VG_ERR_IO. */
vg_status vg_ckpt_find_latest(const char *dir, char **path_out, int *skipped);

/* Keep the newest `keep` (>= 1) valid checkpoints in dir and delete every
 * checkpoint file older than the oldest of them, and temporaries
 * "ckpt-*.safetensors.tmp.<pid>.<n>" whose process <pid> is gone (a killed
 * save). Newer invalid files, files of other names (best.safetensors) and
 * live writers' temporaries are left alone. With
 * fewer than keep valid checkpoints nothing is deleted. *deleted (may be
 * NULL) receives the count. */
vg_status vg_ckpt_prune(const char *dir, int keep, int *deleted);

/* The data set spec as the JSON stored under "data": {"source", "frames",
 * "size", "channels", "seed" (decimal string), "path", "split",
 * "num_digits", "overlap", "stride", "skip_bad", "npy_layout"} with null
 * for unset strings, and when not the default "crop" ("random"), "hflip"
 * (true), "fps" (number) and "labels" ("none"), so a resumed run draws the
 * same clips. malloc'd; NULL (and vg_last_error) on failure. */
char *vg_ckpt_data_json(const vg_dataset_spec *spec);

/* The reverse: fill *spec from such JSON. Its strings point into *owned
 * (malloc'd, free it after the data set is opened). */
vg_status vg_ckpt_data_parse(const char *json, vg_dataset_spec *spec, char **owned);

#endif
