/* Per-clip measurements over a set of clips and the scores between two sets;
 * see eval_metrics.h. */
#include "eval_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "data/video_folder.h"
#include "eval/feature_stats.h"
#include "progress.h"

int eval_source_is_finite(const vg_dataset *ds) {
    const char *src = vg_dataset_info(ds)->source;
    size_t n = strlen(src);
    if (n > 4 && strcmp(src + n - 4, ".npy") == 0) return 1;
    return vg_video_folder_report(ds) != NULL;
}

void eval_shapes_add(vg_shapes_summary *a, const vg_shapes_summary *b) {
    a->clips += b->clips;
    a->frames += b->frames;
    a->valid_frames += b->valid_frames;
    a->valid_clips += b->valid_clips;
    a->smooth_clips += b->smooth_clips;
    for (int k = 0; k < VG_SHAPES_VERDICT_COUNT; k++) a->verdicts[k] += b->verdicts[k];
    for (int k = 0; k < VG_SHAPES_ACCEL_BINS; k++) a->accel_hist[k] += b->accel_hist[k];
    a->valid_frac = a->frames ? (double)a->valid_frames / (double)a->frames : 0;
    a->smooth_frac = a->clips ? (double)a->smooth_clips / (double)a->clips : 0;
}

vg_status eval_fetch_data(void *user, int64_t first, int n, float *clips, int64_t *labels) {
    const eval_data_source *d = user;
    return vg_dataset_batch(d->ds, d->first + first, n, clips, labels);
}

vg_status eval_fetch_gen(void *user, int64_t first, int n, float *clips, int64_t *labels) {
    const eval_gen_source *g = user;
    for (int i = 0; labels && i < n; i++) labels[i] = -1;
    VG_ASSERT(first % g->batch == 0);
    return vg_dcgan3d_sample(g->model, g->ctx, g->z + first * vg_dcgan3d_latent_dim(&g->model->cfg), n, g->batch, VG_BN_BATCH, clips);
}

void eval_set_free(eval_set *s) {
    free(s->ev);
    free(s->i3d);
    memset(s, 0, sizeof *s);
}

/* The discriminator's logits for n clips, disc_batch at a time; counts
 * those above 0. */
static vg_status disc_count(const eval_nets *nets, const float *clips, int n, int C, int T, int S, int64_t *real) {
    const int64_t clip = (int64_t)C * T * S * S;
    const int b = nets->disc_batch > 0 ? nets->disc_batch : 16;
    float *logits = malloc((size_t)b * sizeof *logits);
    if (!logits) return vg_fail(VG_ERR_NOMEM, "eval: out of memory");
    vg_status st = VG_OK;
    for (int i = 0; i < n && st == VG_OK; i += b) {
        const int m = n - i < b ? n - i : b;
        vg_ctx_reset(nets->disc_ctx);
        vg_ctx_set_grad_enabled(nets->disc_ctx, 0); /* sampling turns it back on */
        const int64_t shape[5] = {m, C, T, S, S};
        vg_tensor *x = vg_tensor_from(nets->disc_ctx, 5, shape, clips + (int64_t)i * clip);
        vg_tensor *y = vg_dcgan3d_discriminate(nets->disc, nets->disc_ctx, x, VG_BN_BATCH);
        st = y ? vg_tensor_read(y, logits) : vg_ctx_status(nets->disc_ctx);
        if (!y && st == VG_OK) st = vg_fail(VG_ERR_INVALID, "eval: the discriminator's forward failed");
        for (int k = 0; st == VG_OK && k < m; k++) *real += logits[k] > 0;
    }
    free(logits);
    vg_ctx_reset(nets->disc_ctx);
    return st;
}

vg_status eval_set_measure(eval_set *s, const eval_nets *nets, eval_fetch_fn fetch, void *user, int64_t n, int chunk,
                           int C, int T, int S, int with_labels) {
    memset(s, 0, sizeof *s);
    const double t0 = now_seconds();
    const int64_t clip = (int64_t)C * T * S * S;
    const int num_classes = nets->evaluator ? vg_evaluator_get_config(nets->evaluator)->num_classes : 0;
    s->n = n;
    s->ev_dim = nets->evaluator ? vg_evaluator_feature_dim(nets->evaluator) : 0;
    float *clips = malloc((size_t)chunk * (size_t)clip * sizeof *clips);
    int64_t *labels = malloc((size_t)chunk * sizeof *labels);
    float *fbuf = malloc((size_t)chunk * (size_t)(s->ev_dim > EVAL_I3D_DIM ? s->ev_dim : EVAL_I3D_DIM) * sizeof *fbuf);
    float *logits = malloc((size_t)chunk * (size_t)(num_classes > 0 ? num_classes : 1) * sizeof *logits);
    if (nets->evaluator) s->ev = malloc((size_t)n * (size_t)s->ev_dim * sizeof *s->ev);
    if (nets->i3d) s->i3d = malloc((size_t)n * EVAL_I3D_DIM * sizeof *s->i3d);
    vg_status st = VG_OK;
    if (!clips || !labels || !fbuf || !logits || (nets->evaluator && !s->ev) || (nets->i3d && !s->i3d)) {
        st = vg_fail(VG_ERR_NOMEM, "eval: out of memory for %lld clips of %lld values", (long long)n, (long long)clip);
        goto done;
    }
    for (int64_t i = 0; i < n && st == VG_OK; i += chunk) {
        const int m = (int)(n - i < chunk ? n - i : chunk);
        if ((st = fetch(user, i, m, clips, with_labels ? labels : NULL)) != VG_OK) break;
        if (nets->evaluator) {
            st = vg_evaluator_features(nets->evaluator, clips, m, fbuf, with_labels ? logits : NULL);
            if (st != VG_OK) {
                st = vg_fail(st, "%s: %s", nets->evaluator_path, vg_last_error());
                break;
            }
            for (int64_t k = 0; k < (int64_t)m * s->ev_dim; k++) s->ev[i * s->ev_dim + k] = fbuf[k];
            for (int k = 0; with_labels && k < m; k++) {
                const int64_t cls = labels[k] < 0 ? -1 : vg_evaluator_class_of(nets->evaluator, labels[k]);
                if (cls < 0) continue;
                int best = 0;
                for (int c = 1; c < num_classes; c++)
                    if (logits[(int64_t)k * num_classes + c] > logits[(int64_t)k * num_classes + best]) best = c;
                s->ev_labelled++;
                s->ev_correct += best == cls;
            }
        }
        if (nets->shapes) {
            vg_shapes_summary part;
            if ((st = vg_shapes_metrics_batch(&nets->shapes_cfg, clips, m, T, NULL, &part)) != VG_OK) break;
            eval_shapes_add(&s->shapes, &part);
        }
        if (nets->digits) {
            vg_digits_summary part;
            if ((st = vg_digits_metrics_batch(&nets->digits_cfg, clips, m, C, T, NULL, &part)) != VG_OK) break;
            vg_digits_summary_add(&s->digits, &part);
        }
        if (nets->identity) {
            int64_t stable = 0;
            if ((st = vg_digits_identity(nets->identity, clips, m, NULL, &stable)) != VG_OK) {
                st = vg_fail(st, "%s: %s", nets->evaluator_path, vg_last_error());
                break;
            }
            s->id_stable += stable;
        }
        if (nets->disc && (st = disc_count(nets, clips, m, C, T, S, &s->d_real)) != VG_OK) break;
        if (nets->i3d) {
            /* last: FVD's clips are 16 frames, longer ones are cut to their
             * first 16 in place */
            const int Ti = T < EVAL_FVD_FRAMES ? T : EVAL_FVD_FRAMES;
            if (Ti < T) {
                const int64_t run = (int64_t)Ti * S * S, full = (int64_t)T * S * S;
                for (int64_t k = 0; k < (int64_t)m * C; k++) memmove(clips + k * run, clips + k * full, (size_t)run * sizeof *clips);
            }
            st = vg_i3d_features(nets->i3d, nets->i3d_ctx, clips, m, C, Ti, S, S, fbuf);
            if (st != VG_OK) {
                st = vg_fail(st, "%s: %s", nets->i3d_path, vg_last_error());
                break;
            }
            for (int64_t k = 0; k < (int64_t)m * EVAL_I3D_DIM; k++) s->i3d[i * EVAL_I3D_DIM + k] = fbuf[k];
        }
    }
done:
    free(clips);
    free(labels);
    free(fbuf);
    free(logits);
    s->seconds = now_seconds() - t0;
    if (st != VG_OK) {
        free(s->ev);
        free(s->i3d);
        s->ev = s->i3d = NULL;
    }
    return st;
}

vg_status eval_dist_scores(eval_dist *out, const double *ref, int64_t n_ref, const double *x, int64_t n_x, int64_t dim,
                           uint64_t seed, int with_extra) {
    *out = (eval_dist){.fd = NAN, .kid = NAN, .kid_std = NAN, .precision = NAN, .recall = NAN};
    if (n_ref < 2 || n_x < 2) return vg_fail(VG_ERR_INVALID, "eval: need at least 2 clips per set (got %lld and %lld)",
                                             (long long)n_ref, (long long)n_x);
    vg_status st = vg_frechet_distance_features(&out->fd, ref, n_ref, x, n_x, dim);
    if (st != VG_OK || !with_extra) return st;
    if ((st = vg_kid(&out->kid, &out->kid_std, ref, n_ref, x, n_x, dim, EVAL_KID_SUBSETS, EVAL_KID_SUBSET_MAX, seed)) != VG_OK)
        return st;
    if (n_ref > EVAL_PR_K && n_x > EVAL_PR_K)
        st = vg_precision_recall(&out->precision, &out->recall, ref, n_ref, x, n_x, dim, EVAL_PR_K);
    return st;
}
