/* evaluator_impl.h — the evaluator's insides, shared by evaluator.c (network,
 * file format, frozen features) and evaluator_train.c (training). Not part
 * of the library's interface. */
#ifndef VG_EVAL_EVALUATOR_IMPL_H
#define VG_EVAL_EVALUATOR_IMPL_H

#include "eval/evaluator.h"

#define VG_EVAL_BLOCKS 4

/* One block: conv3d (3x3x3, padding 1, stride (stride_t, 2, 2), no bias),
 * BatchNorm3d, LeakyReLU(0.2). */
typedef struct vg_eval_block {
    vg_tensor *weight;                         /* (C_out, C_in, 3, 3, 3) */
    vg_tensor *bn_weight, *bn_bias;            /* (C_out) */
    vg_tensor *bn_mean, *bn_var;               /* (C_out) running statistics */
    int stride_t;
} vg_eval_block;

struct vg_evaluator {
    vg_evaluator_config cfg;
    vg_ctx *ctx;
    vg_params *P;
    vg_eval_block block[VG_EVAL_BLOCKS];
    vg_tensor *head_weight, *head_bias; /* (num_classes, feature_dim), (num_classes) */
    /* the training protocol, saved in the file's metadata */
    char *data_json;       /* the data set it was trained on (JSON object) */
    vg_evaluator_label_map label_map;
    int steps, batch;
    double lr;
    uint64_t seed;
    int64_t holdout;
    double holdout_accuracy;
    double train_seconds;
};

/* A fresh network for cfg (validated), weights from seed. */
vg_status vg_evaluator_create(vg_evaluator **out, const vg_evaluator_config *cfg, uint64_t seed);
/* logits (N, num_classes) of x (N, C, T, H, W); features (N, feature_dim)
 * into *features if not NULL. training: BatchNorm on batch statistics
 * (updating the running ones), else on the running statistics. */
vg_tensor *vg_evaluator_forward(vg_evaluator *e, vg_ctx *ctx, vg_tensor *x, int training, vg_tensor **features);

#endif
