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
    VG_EVAL_TASK_TEMPORAL,   /* self-supervised: as recorded / shuffled / frozen frames
                                (not reversed: bouncing objects and moving digits move
                                as plausibly backwards as forwards) */
    VG_EVAL_TASK_COUNT
} vg_evaluator_task;

/* "labels", "temporal"; parse returns 0 for an unknown name. */
const char *vg_evaluator_task_name(vg_evaluator_task t);
int vg_evaluator_task_parse(const char *s, vg_evaluator_task *out);

/* How a data set's label becomes a class of the LABELS head. Two-digit
 * Moving MNIST / Fashion labels are ordered pairs (10 * first + second), but
 * which digit is "first" cannot be seen in a clip, so the head predicts the
 * unordered pair: 55 classes, {a, b} with a <= b -> a * 10 - a (a - 1) / 2
 * + (b - a). */
typedef enum vg_evaluator_label_map {
    VG_EVAL_LABELS_IDENTITY = 0, /* class = label */
    VG_EVAL_LABELS_UNORDERED_PAIR,
    VG_EVAL_LABELS_COUNT
} vg_evaluator_label_map;

/* Architecture (evaluator.c): the input is the clip and its frame
 * differences x[t + 1] - x[t] (zero after the last frame), 2C channels, so
 * motion reaches the first layer directly; 4 blocks of conv3d 3x3x3 (padding 1, stride 2
 * in H and W, stride 2 in T while T > 1, no bias) + BatchNorm3d +
 * LeakyReLU(0.2), widths width * (1, 2, 4, 8); the mean over (T, H, W) is
 * the feature vector (8 * width); a linear layer gives the logits. */
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

/* The defaults above (seed 1, verbose 0). */
void vg_evaluator_train_args_default(vg_evaluator_train_args *a);
/* A config for ds: its geometry, width 32, the LABELS task when the data
 * set has >= 2 classes (num_classes after the label map), else TEMPORAL
 * (3 classes: as recorded, shuffled, frozen). */
void vg_evaluator_config_for(vg_evaluator_config *cfg, const vg_dataset *ds);

/* Trains an evaluator on ds (task chosen from cfg; labels need num_classes
 * > 1 in the data set) and returns it with its held-out accuracy.
 * Training clips: indices 0, 1, 2, ... of an infinite set (each seen once),
 * random indices below size - holdout of a finite one; held out: indices
 * from 2^40 on (infinite) or the last `holdout` clips (finite). TEMPORAL
 * clips are kept, shuffled (a random permutation other than the identity)
 * or frozen (from a random frame k in [1, T - 2] on, frame k repeats), a
 * Philox draw of (seed, index) choosing. */
vg_status vg_evaluator_train(vg_evaluator **out, double *holdout_accuracy, const vg_dataset *ds,
                             const vg_evaluator_config *cfg, const vg_evaluator_train_args *args);
/* Atomic save; the file's metadata holds the config and the training
 * protocol. *hash (may be NULL) receives the file's SHA-256 in hex. */
vg_status vg_evaluator_save(const vg_evaluator *e, const char *path, char hash[65]);
vg_status vg_evaluator_load(vg_evaluator **out, const char *path, char hash[65]);
void vg_evaluator_free(vg_evaluator *e);
/* The data set the evaluator is trained on, as a JSON object stored in the
 * file's metadata (e.g. vg_ckpt_data_json's); the default names the data
 * set's source and geometry only. Call before saving. */
vg_status vg_evaluator_set_data_json(vg_evaluator *e, const char *json);
/* The LABELS class of a data set label (-1 if out of range; TEMPORAL: -1). */
int64_t vg_evaluator_class_of(const vg_evaluator *e, int64_t label);
/* Held-out accuracy recorded at training (also after a load). */
double vg_evaluator_holdout_accuracy(const vg_evaluator *e);
const vg_evaluator_config *vg_evaluator_get_config(const vg_evaluator *e);
/* Feature size of vg_evaluator_features. */
int64_t vg_evaluator_feature_dim(const vg_evaluator *e);

/* Frozen forward of n clips (n, C, T, H, W) in [-1, 1], geometry as the
 * config: features (n, feature_dim) and, if logits is not NULL, logits
 * (n, num_classes). Works in chunks of 16 clips (the last one zero-padded);
 * bit-identical for any batch split (for one thread count). Uses the
 * evaluator's own context: one call at a time per evaluator. */
vg_status vg_evaluator_features(vg_evaluator *e, const float *clips, int64_t n, float *features, float *logits);

#endif
