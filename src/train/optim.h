/* Optimisers over a parameter set's flat arrays: Adam (torch.optim.Adam
 * semantics, one kernel call per step) and an exponential moving average of
 * the weights (generator EMA for sampling). Moments live in one backend
 * allocation each, so a checkpoint writes them as single tensors. */
#ifndef VG_TRAIN_OPTIM_H
#define VG_TRAIN_OPTIM_H

#include "vidgan.h"

typedef struct vg_adam {
    vg_params *params;
    vg_real *m, *v;   /* first and second moments, vg_params_numel elements */
    int64_t n;
    int64_t step;     /* steps taken */
    double lr, beta1, beta2, eps, weight_decay;
} vg_adam;

vg_status vg_adam_init(vg_adam *a, vg_params *p, double lr, double beta1, double beta2, double eps,
                       double weight_decay);
void vg_adam_free(vg_adam *a);
/* One update from the set's gradients. */
void vg_adam_step(vg_adam *a);

typedef struct vg_ema {
    vg_params *params;
    vg_real *shadow; /* vg_params_numel_all elements: weights averaged, buffers copied */
    int64_t n_trainable, n_all;
    double decay;
} vg_ema;

/* Starts the average at the current weights. */
vg_status vg_ema_init(vg_ema *e, vg_params *p, double decay);
void vg_ema_free(vg_ema *e);
/* shadow = d * shadow + (1 - d) * weights with the warm-up
 * d = min(decay, (1 + updates) / (10 + updates)) of TensorFlow's
 * ExponentialMovingAverage(num_updates), so short runs are not dominated by
 * the initial weights; buffers copied. updates = updates done before. */
void vg_ema_update(vg_ema *e, int64_t updates);
/* Put the averaged weights into the set (and the live ones into the
 * shadow); calling it again swaps back. */
void vg_ema_swap(vg_ema *e);

#endif
