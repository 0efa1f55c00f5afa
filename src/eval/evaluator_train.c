/* Training the evaluator (see evaluator.h): Adam on the cross-entropy of
 * the head, cosine learning-rate decay, then the held-out accuracy with the
 * frozen network. All host buffers are made before the loop; each step's
 * tensors live in the context's arena. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/rng.h"
#include "core/status.h"
#include "eval/evaluator_impl.h"
#include "train/optim.h"

#define HOLDOUT_BASE ((int64_t)1 << 40) /* held-out indices of an infinite set */
#define TEMPORAL_SALT 0x7E3A0C5D1B2F4968ull /* separates the transform stream from the weights' */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void vg_evaluator_train_args_default(vg_evaluator_train_args *a) {
    memset(a, 0, sizeof *a);
    a->steps = 2000;
    a->batch = 32;
    a->lr = 1e-3;
    a->seed = 1;
    a->holdout = 512;
}

static vg_evaluator_label_map label_map_for(const vg_dataset_desc *d) {
    int digits = strcmp(d->source, "mnist") == 0 || strcmp(d->source, "fashion") == 0;
    return digits && d->num_classes == 100 ? VG_EVAL_LABELS_UNORDERED_PAIR : VG_EVAL_LABELS_IDENTITY;
}

void vg_evaluator_config_for(vg_evaluator_config *cfg, const vg_dataset *ds) {
    const vg_dataset_desc *d = vg_dataset_info(ds);
    memset(cfg, 0, sizeof *cfg);
    cfg->channels = d->channels;
    cfg->frames = d->frames;
    cfg->size = d->height;
    cfg->width = 32;
    int classes = label_map_for(d) == VG_EVAL_LABELS_UNORDERED_PAIR ? 55 : d->num_classes;
    cfg->task = classes >= 2 ? VG_EVAL_TASK_LABELS : VG_EVAL_TASK_TEMPORAL;
    cfg->num_classes = classes >= 2 ? classes : 3;
}

/* TEMPORAL: class of clip `index` (0 as recorded, 1 shuffled: a random
 * permutation other than the identity, 2 frozen: from a random frame k in
 * [1, T - 2] on every frame repeats frame k) and the frames rearranged in
 * place. */
static int temporal_transform(float *clip, float *scratch, int C, int T, int64_t HW, uint64_t seed, int64_t index) {
    uint64_t stream = (seed ^ TEMPORAL_SALT) + (uint64_t)index * 0x9E3779B97F4A7C15ull;
    int k = (int)(vg_rng_uniform_at(stream, 0) * 3.0);
    if (k == 0) return 0;
    int src[256];
    for (int t = 0; t < T; t++) src[t] = t;
    if (k == 1) {
        for (int t = T - 1; t > 0; t--) { /* Fisher-Yates */
            int j = (int)(vg_rng_uniform_at(stream, (uint64_t)t) * (t + 1));
            int s = src[t];
            src[t] = src[j], src[j] = s;
        }
        int identity = 1;
        for (int t = 0; t < T; t++) identity &= src[t] == t;
        if (identity) src[0] = 1, src[1] = 0;
    } else {
        int from = 1 + (int)(vg_rng_uniform_at(stream, (uint64_t)T) * (T - 2));
        for (int t = from; t < T; t++) src[t] = from;
    }
    memcpy(scratch, clip, (size_t)C * (size_t)T * (size_t)HW * sizeof *clip);
    for (int c = 0; c < C; c++)
        for (int t = 0; t < T; t++)
            memcpy(clip + ((int64_t)c * T + t) * HW, scratch + ((int64_t)c * T + src[t]) * HW, (size_t)HW * sizeof *clip);
    return k;
}

/* n clips with the given data set indices into x, their head classes into y. */
static vg_status load_clips(const vg_evaluator *e, const vg_dataset *ds, const int64_t *index, int n, int contiguous, float *x,
                            int64_t *labels, int64_t *y, float *scratch) {
    const vg_evaluator_config *c = &e->cfg;
    const int64_t HW = (int64_t)c->size * c->size, clip = c->channels * c->frames * HW;
    vg_status st = VG_OK;
    if (contiguous)
        st = vg_dataset_batch(ds, index[0], n, x, labels);
    else
        for (int i = 0; i < n && st == VG_OK; i++) st = vg_dataset_clip(ds, index[i], x + i * clip, labels + i);
    if (st != VG_OK) return st;
    for (int i = 0; i < n; i++) {
        if (c->task == VG_EVAL_TASK_TEMPORAL) {
            y[i] = temporal_transform(x + i * clip, scratch, c->channels, c->frames, HW, e->seed, index[i]);
        } else {
            y[i] = vg_evaluator_class_of(e, labels[i]);
            if (y[i] < 0)
                return vg_fail(VG_ERR_INVALID, "evaluator: clip %lld has label %lld, outside the head's %d classes",
                               (long long)index[i], (long long)labels[i], c->num_classes);
        }
    }
    return VG_OK;
}

/* Mean cross-entropy of logits (N, K) against classes y: logsumexp minus
 * the picked logit, shifted by each row's maximum (a constant, so the
 * gradient is unchanged) for stability. Counts correct argmaxes. */
static vg_tensor *cross_entropy(vg_ctx *ctx, vg_tensor *logits, const int64_t *y, int n, int K, float *host_logits,
                                float *host_shift, float *host_onehot, int *correct) {
    if (!logits || vg_tensor_read(logits, host_logits) != VG_OK) return NULL;
    *correct = 0;
    for (int i = 0; i < n; i++) {
        const float *row = host_logits + (int64_t)i * K;
        int arg = 0;
        for (int k = 1; k < K; k++)
            if (row[k] > row[arg]) arg = k;
        host_shift[i] = row[arg];
        *correct += arg == y[i];
        for (int k = 0; k < K; k++) host_onehot[(int64_t)i * K + k] = k == y[i] ? 1.0f : 0.0f;
    }
    vg_tensor *shift = vg_tensor_from(ctx, 2, (int64_t[]){n, 1}, host_shift);
    vg_tensor *onehot = vg_tensor_from(ctx, 2, (int64_t[]){n, K}, host_onehot);
    vg_tensor *z = vg_sub(ctx, logits, shift);
    vg_tensor *lse = vg_log(ctx, vg_sum_dim(ctx, vg_exp(ctx, z), 1, 0));
    vg_tensor *picked = vg_sum_dim(ctx, vg_mul(ctx, z, onehot), 1, 0);
    return vg_mean(ctx, vg_sub(ctx, lse, picked));
}

vg_status vg_evaluator_train(vg_evaluator **out, double *holdout_accuracy, const vg_dataset *ds, const vg_evaluator_config *cfg,
                             const vg_evaluator_train_args *args) {
    *out = NULL;
    const vg_dataset_desc *d = vg_dataset_info(ds);
    vg_evaluator_train_args A;
    if (args)
        A = *args;
    else
        vg_evaluator_train_args_default(&A);
    if (A.steps < 1 || A.batch < 2 || A.batch > 4096 || !(A.lr > 0) || A.holdout < 1)
        return vg_fail(VG_ERR_INVALID, "evaluator train: need steps >= 1, 2 <= batch <= 4096, lr > 0, holdout >= 1 "
                                       "(got %d, %d, %g, %lld)", A.steps, A.batch, A.lr, (long long)A.holdout);
    if (cfg->channels != d->channels || cfg->frames != d->frames || cfg->size != d->height || d->height != d->width)
        return vg_fail(VG_ERR_INVALID, "evaluator train: config %dx%dx%d (C %d) does not match the data set's %dx%dx%d (C %d)",
                       cfg->size, cfg->size, cfg->frames, cfg->channels, d->height, d->width, d->frames, d->channels);
    vg_evaluator_label_map map = label_map_for(d);
    if (cfg->task == VG_EVAL_TASK_LABELS) {
        int classes = map == VG_EVAL_LABELS_UNORDERED_PAIR ? 55 : d->num_classes;
        if (classes < 2)
            return vg_fail(VG_ERR_INVALID, "evaluator train: %s has %d class; the labels task needs >= 2 (use the temporal task)",
                           d->source, d->num_classes);
        if (cfg->num_classes != classes)
            return vg_fail(VG_ERR_INVALID, "evaluator train: the labels task on %s needs num_classes = %d, got %d", d->source,
                           classes, cfg->num_classes);
    }
    /* held-out and training indices */
    int64_t holdout = A.holdout, train_pool = 0;
    if (!d->infinite) {
        if (d->size < 4) return vg_fail(VG_ERR_INVALID, "evaluator train: %s has only %lld clips", d->source, (long long)d->size);
        if (holdout > d->size / 4) holdout = d->size / 4;
        train_pool = d->size - holdout;
    }

    vg_evaluator *e = NULL;
    vg_status st = vg_evaluator_create(&e, cfg, A.seed);
    if (st != VG_OK) return st;
    e->label_map = map;
    e->steps = A.steps, e->batch = A.batch, e->lr = A.lr, e->seed = A.seed, e->holdout = holdout;
    json_t *dj = json_pack("{s:s, s:i, s:i, s:i}", "source", d->source, "frames", d->frames, "size", d->height, "channels",
                           d->channels);
    char *text = dj ? json_dumps(dj, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(dj);
    st = text ? vg_evaluator_set_data_json(e, text) : vg_fail(VG_ERR_NOMEM, "evaluator train: out of memory");
    free(text);
    if (st != VG_OK) goto fail;

    const int B = A.batch, K = cfg->num_classes, chunk = 64;
    const int64_t clip = vg_dataset_clip_numel(ds), dim = vg_evaluator_feature_dim(e);
    const int rows = B > chunk ? B : chunk;
    float *x = malloc((size_t)rows * (size_t)clip * sizeof *x), *scratch = malloc((size_t)clip * sizeof *scratch);
    float *host_logits = malloc((size_t)rows * (size_t)K * sizeof(float)), *host_onehot = malloc((size_t)rows * (size_t)K * sizeof(float));
    float *host_shift = malloc((size_t)rows * sizeof(float)), *feat = malloc((size_t)rows * (size_t)dim * sizeof(float));
    int64_t *index = malloc((size_t)rows * sizeof *index), *labels = malloc((size_t)rows * sizeof *labels), *y = malloc((size_t)rows * sizeof *y);
    vg_adam opt = {0};
    if (!x || !scratch || !host_logits || !host_onehot || !host_shift || !feat || !index || !labels || !y) {
        st = vg_fail(VG_ERR_NOMEM, "evaluator train: out of memory for a batch of %d clips", rows);
        goto done;
    }
    if ((st = vg_adam_init(&opt, e->P, A.lr, 0.9, 0.999, 1e-8, 0)) != VG_OK) goto done;

    double t0 = now_seconds(), loss_sum = 0;
    int correct_sum = 0, seen = 0, report = A.steps >= 20 ? A.steps / 20 : 1;
    vg_ctx *ctx = e->ctx;
    for (int step = 0; step < A.steps; step++) {
        for (int i = 0; i < B; i++) {
            if (d->infinite)
                index[i] = (int64_t)step * B + i;
            else /* a uniform draw below train_pool (modulo bias < 2^-40 for real data set sizes) */
                index[i] = (int64_t)(((uint64_t)vg_rng_uniform_at(A.seed ^ 0x5A17u, (uint64_t)step * (uint64_t)B + (uint64_t)i) *
                                      (double)train_pool));
        }
        if ((st = load_clips(e, ds, index, B, d->infinite, x, labels, y, scratch)) != VG_OK) goto done;
        vg_ctx_reset(ctx);
        vg_tensor *xt = vg_tensor_from(ctx, 5, (int64_t[]){B, cfg->channels, cfg->frames, cfg->size, cfg->size}, x);
        int correct = 0;
        vg_tensor *loss = cross_entropy(ctx, vg_evaluator_forward(e, ctx, xt, 1, NULL), y, B, K, host_logits, host_shift,
                                        host_onehot, &correct);
        if (!loss) {
            st = vg_ctx_status(ctx) != VG_OK ? vg_ctx_status(ctx) : VG_ERR_INVALID;
            goto done;
        }
        double l = vg_tensor_item(loss);
        if (!isfinite(l)) {
            st = vg_fail(VG_ERR_NUMERIC, "evaluator train: non-finite loss at step %d (try a lower --lr)", step);
            goto done;
        }
        vg_params_zero_grad(e->P);
        if ((st = vg_backward(ctx, loss)) != VG_OK) goto done;
        opt.lr = A.lr * 0.5 * (1.0 + cos(3.141592653589793 * step / A.steps)); /* cosine decay to 0 */
        vg_adam_step(&opt);
        loss_sum += l, correct_sum += correct, seen += B;
        if (A.verbose && ((step + 1) % report == 0 || step + 1 == A.steps)) {
            fprintf(stderr, "evaluator step %5d/%d  loss %.4f  train acc %5.1f%%  %.1f s\n", step + 1, A.steps,
                    loss_sum / (seen / B), 100.0 * correct_sum / seen, now_seconds() - t0);
            loss_sum = 0, correct_sum = 0, seen = 0;
        }
    }
    vg_ctx_reset(ctx);
    vg_params_set_requires_grad(e->P, 0);
    e->train_seconds = now_seconds() - t0;

    /* held-out accuracy of the frozen network */
    int64_t right = 0;
    for (int64_t i = 0; i < holdout; i += chunk) {
        int n = (int)(holdout - i < chunk ? holdout - i : chunk);
        for (int k = 0; k < n; k++) index[k] = (d->infinite ? HOLDOUT_BASE : train_pool) + i + k;
        if ((st = load_clips(e, ds, index, n, 1, x, labels, y, scratch)) != VG_OK ||
            (st = vg_evaluator_features(e, x, n, feat, host_logits)) != VG_OK)
            goto done;
        for (int k = 0; k < n; k++) {
            const float *row = host_logits + (int64_t)k * K;
            int arg = 0;
            for (int c = 1; c < K; c++)
                if (row[c] > row[arg]) arg = c;
            right += arg == y[k];
        }
    }
    e->holdout_accuracy = (double)right / (double)holdout;
    if (holdout_accuracy) *holdout_accuracy = e->holdout_accuracy;
    if (A.verbose)
        fprintf(stderr, "evaluator: held-out accuracy %.2f%% on %lld clips (%s task, %d classes), trained in %.1f s\n",
                100.0 * e->holdout_accuracy, (long long)holdout, vg_evaluator_task_name(cfg->task), K, e->train_seconds);
done:
    vg_adam_free(&opt);
    free(x), free(scratch), free(host_logits), free(host_onehot), free(host_shift), free(feat), free(index), free(labels), free(y);
    if (st == VG_OK) {
        *out = e;
        return VG_OK;
    }
fail:
    vg_evaluator_free(e);
    return st;
}
