/* evaluator.h — vidgan's own feature network for weight-free metrics: a
 * small 3D-CNN trained on the real data (its labels, or a self-supervised
 * temporal task for unlabelled data), then frozen. Its pooled features feed
 * the Fréchet distance, KID and precision/recall (feature_stats.h); its
 * logits give the classifier accuracy on generated clips. Saved as a
 * safetensors file whose SHA-256 names it in every reported number. */
#ifndef VG_EVAL_EVALUATOR_H
#define VG_EVAL_EVALUATOR_H

#include <stdint.h>

#include "data/dataset.h"
#include "vidgan.h"

typedef enum vg_evaluator_task {
    VG_EVAL_TASK_LABELS = 0, /* classify the data set's labels */
    VG_EVAL_TASK_TEMPORAL,   /* self-supervised: forward / reversed / shuffled frames */
    VG_EVAL_TASK_COUNT
} vg_evaluator_task;

typedef struct vg_evaluator_config {
    int channels, frames, size; /* clip geometry it accepts (C, T, H = W) */
    int num_classes;            /* outputs of the head */
    int width;                  /* base channel width (default 32) */
    vg_evaluator_task task;
} vg_evaluator_config;

typedef struct vg_evaluator vg_evaluator;

typedef struct vg_evaluator_train_args {
    int steps, batch;     /* defaults 2000, 32 */
    double lr;            /* Adam, default 1e-3 */
    uint64_t seed;
    int64_t holdout;      /* clips held out to report accuracy (default 512) */
    int verbose;          /* progress lines on stderr */
} vg_evaluator_train_args;

/* Trains an evaluator on ds (task chosen from cfg; labels need num_classes
 * > 1 in the data set) and returns it with its held-out accuracy. */
vg_status vg_evaluator_train(vg_evaluator **out, double *holdout_accuracy, const vg_dataset *ds,
                             const vg_evaluator_config *cfg, const vg_evaluator_train_args *args);
/* Atomic save; the file's metadata holds the config and the training
 * protocol. *hash (may be NULL) receives the file's SHA-256 in hex. */
vg_status vg_evaluator_save(const vg_evaluator *e, const char *path, char hash[65]);
vg_status vg_evaluator_load(vg_evaluator **out, const char *path, char hash[65]);
void vg_evaluator_free(vg_evaluator *e);
const vg_evaluator_config *vg_evaluator_get_config(const vg_evaluator *e);
/* Feature size of vg_evaluator_features. */
int64_t vg_evaluator_feature_dim(const vg_evaluator *e);

/* Frozen forward of n clips (n, C, T, H, W) in [-1, 1], geometry as the
 * config: features (n, feature_dim) and, if logits is not NULL, logits
 * (n, num_classes). Works in batches; bit-identical for any batch split. */
vg_status vg_evaluator_features(vg_evaluator *e, const float *clips, int64_t n, float *features, float *logits);

#endif
