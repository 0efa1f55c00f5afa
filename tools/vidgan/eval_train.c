/* In-training evaluation and the best checkpoint; see eval_train.h. */
#include "eval_train.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "eval_metrics.h"
#include "train/checkpoint.h"

typedef enum { TE_EVALUATOR, TE_SHAPES, TE_FVD } te_kind;

struct train_eval {
    te_kind kind;
    const char *name;         /* "fed", "shapes_valid_frames", "fvd" */
    int lower_is_better;
    int64_t n;
    int chunk;
    eval_nets nets;
    vg_evaluator *ev;
    vg_i3d *i3d;
    vg_ctx *i3d_ctx;
    eval_set real_a;          /* features of split A, kept */
    double floor;             /* the metric of split B against A */
    float *z;                 /* (n, latent_dim) fixed latent vectors */
    char sha256[65];          /* of the network's file ("" for shapes) */
    double best;              /* NAN until the first evaluation */
    int64_t best_step;
};

void train_eval_free(train_eval *e) {
    if (!e) return;
    eval_set_free(&e->real_a);
    if (e->ev) vg_evaluator_free(e->ev);
    if (e->i3d) vg_i3d_free(e->i3d);
    vg_ctx_free(e->i3d_ctx);
    free(e->z);
    free(e);
}

/* x as a JSON number, or null when not finite. */
static const char *json_number(char buf[32], double x) {
    if (isfinite(x))
        snprintf(buf, 32, "%.9g", x);
    else
        snprintf(buf, 32, "null");
    return buf;
}

/* The score of set x against split A: a distance, or shapes' valid frames. */
static vg_status score(const train_eval *e, const eval_set *x, double *out) {
    eval_dist d;
    vg_status st = VG_OK;
    if (e->kind == TE_SHAPES)
        *out = x->shapes.valid_frac;
    else if (e->kind == TE_EVALUATOR)
        st = eval_dist_scores(&d, e->real_a.ev, e->n, x->ev, x->n, e->real_a.ev_dim, 0, 0), *out = d.fd;
    else
        st = eval_dist_scores(&d, e->real_a.i3d, e->n, x->i3d, x->n, EVAL_I3D_DIM, 0, 0), *out = d.fd;
    return st;
}

int train_eval_open(train_eval **out, const char *metric, const char *evaluator_path, const char *i3d_path, int n,
                    vg_trainer *t, const vg_dataset *ds) {
    *out = NULL;
    const vg_dataset_desc *dd = vg_dataset_info(ds);
    const vg_dcgan3d_config *m = &t->cfg.model;
    if (!metric) metric = evaluator_path ? "evaluator" : strcmp(dd->source, "shapes") == 0 ? "shapes" : i3d_path ? "fvd" : NULL;
    if (!metric) {
        fprintf(stderr, "vidgan: --eval-every: choose --eval-metric evaluator (with --evaluator FILE) or fvd (with --i3d FILE); "
                        "shapes measures shapes data only\n");
        return 2;
    }
    if (n < 2) {
        fprintf(stderr, "vidgan: --eval-n %d: need at least 2 clips\n", n);
        return 2;
    }
    if (eval_source_is_finite(ds) && 2 * (int64_t)n > dd->size) {
        if (dd->size / 2 < 2) {
            fprintf(stderr, "vidgan: --eval-every: %s holds %lld clips, too few for two real splits\n", dd->source,
                    (long long)dd->size);
            return 2;
        }
        fprintf(stderr, "note: %s holds %lld distinct clips: --eval-n reduced from %d to %lld\n", dd->source,
                (long long)dd->size, n, (long long)(dd->size / 2));
        n = (int)(dd->size / 2);
    }
    train_eval *e = calloc(1, sizeof *e);
    if (!e) return 1;
    e->best = NAN;
    e->best_step = -1;
    e->n = n;
    e->chunk = t->cfg.batch * (64 / t->cfg.batch > 1 ? 64 / t->cfg.batch : 1);
    int rc = 2;
    if (strcmp(metric, "evaluator") == 0) {
        e->kind = TE_EVALUATOR, e->name = "fed", e->lower_is_better = 1;
        if (!evaluator_path) {
            fprintf(stderr, "vidgan: --eval-metric evaluator needs --evaluator FILE\n");
            goto fail;
        }
        if (vg_evaluator_load(&e->ev, evaluator_path, e->sha256) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            rc = 1;
            goto fail;
        }
        const vg_evaluator_config *ec = vg_evaluator_get_config(e->ev);
        if (ec->channels != m->channels || ec->frames != m->frames || ec->size != m->size) {
            fprintf(stderr,
                    "vidgan: %s: the evaluator takes clips of %d channels, %d frames, %dx%d; this run makes %d channels, "
                    "%d frames, %dx%d\n",
                    evaluator_path, ec->channels, ec->frames, ec->size, ec->size, m->channels, m->frames, m->size, m->size);
            goto fail;
        }
        e->nets.evaluator = e->ev;
        e->nets.evaluator_path = evaluator_path;
    } else if (strcmp(metric, "shapes") == 0) {
        e->kind = TE_SHAPES, e->name = "shapes_valid_frames", e->lower_is_better = 0;
        if (strcmp(dd->source, "shapes") != 0 || m->channels != 3 || m->size < 16) {
            fprintf(stderr, "vidgan: --eval-metric shapes measures RGB shapes clips of size >= 16 only\n");
            goto fail;
        }
        e->nets.shapes = 1;
        vg_shapes_metrics_default(&e->nets.shapes_cfg, m->size);
    } else if (strcmp(metric, "fvd") == 0) {
        e->kind = TE_FVD, e->name = "fvd", e->lower_is_better = 1;
        if (!i3d_path || m->frames < 9) {
            fprintf(stderr, "vidgan: --eval-metric fvd needs --i3d FILE and clips of at least 9 frames\n");
            goto fail;
        }
        if (vg_ctx_new(&e->i3d_ctx, NULL) != VG_OK || vg_i3d_load(&e->i3d, e->i3d_ctx, i3d_path, e->sha256) != VG_OK) {
            fprintf(stderr, "vidgan: %s\n", vg_last_error());
            rc = 1;
            goto fail;
        }
        vg_ctx_set_grad_enabled(e->i3d_ctx, 0);
        e->nets.i3d = e->i3d;
        e->nets.i3d_ctx = e->i3d_ctx;
        e->nets.i3d_path = i3d_path;
    } else {
        fprintf(stderr, "vidgan: --eval-metric %s: expected evaluator, shapes or fvd\n", metric);
        goto fail;
    }
    rc = 1;
    e->z = malloc((size_t)n * (size_t)vg_dcgan3d_latent_dim(m) * sizeof *e->z);
    if (!e->z) {
        fprintf(stderr, "vidgan: out of memory for %d latent vectors\n", n);
        goto fail;
    }
    vg_latent_noise(t->cfg.seed, n, vg_dcgan3d_latent_dim(m), e->z);
    eval_data_source a = {ds, EVAL_REAL_FIRST}, b = {ds, EVAL_REAL_FIRST + n};
    eval_set real_b = {0};
    if (eval_set_measure(&e->real_a, &e->nets, eval_fetch_data, &a, n, e->chunk, m->channels, m->frames, m->size, 0) != VG_OK ||
        eval_set_measure(&real_b, &e->nets, eval_fetch_data, &b, n, e->chunk, m->channels, m->frames, m->size, 0) != VG_OK ||
        score(e, &real_b, &e->floor) != VG_OK) {
        fprintf(stderr, "vidgan: --eval-every: %s\n", vg_last_error());
        eval_set_free(&real_b);
        goto fail;
    }
    eval_set_free(&real_b);
    fprintf(stderr, "eval: %s on %d generated vs %d real clips; real-vs-real floor %.6g (%s is better)\n",
            e->name, n, n, e->floor, e->lower_is_better ? "lower" : "higher");
    *out = e;
    return 0;
fail:
    train_eval_free(e);
    return rc;
}

void train_eval_resume(train_eval *e, const char *log_path) {
    FILE *f = fopen(log_path, "r");
    if (!f) return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        if (!strstr(line, "\"eval_value\"")) continue;
        json_t *j = json_loads(line, 0, NULL);
        json_t *name = json_object_get(j, "eval_metric"), *best = json_object_get(j, "eval_best"),
               *step = json_object_get(j, "eval_best_step");
        if (json_is_string(name) && strcmp(json_string_value(name), e->name) == 0 && json_is_number(best) &&
            json_is_integer(step)) {
            e->best = json_number_value(best);
            e->best_step = json_integer_value(step);
        }
        json_decref(j);
    }
    fclose(f);
}

vg_status train_eval_step(train_eval *e, vg_trainer *t, const char *data_json, const char *run_dir, FILE *log) {
    const vg_dcgan3d_config *m = &t->cfg.model;
    eval_gen_source g = {&t->model, t->ctx, e->z, t->cfg.batch};
    eval_set gen;
    const int swap = t->ema.params != NULL;
    if (swap) vg_ema_swap(&t->ema);
    vg_status st = eval_set_measure(&gen, &e->nets, eval_fetch_gen, &g, e->n, e->chunk, m->channels, m->frames, m->size, 0);
    if (swap) vg_ema_swap(&t->ema);
    double value = NAN;
    if (st == VG_OK) st = score(e, &gen, &value);
    const double seconds = gen.seconds;
    eval_set_free(&gen);
    if (st != VG_OK) return st;
    int better = isfinite(value) && (!isfinite(e->best) || (e->lower_is_better ? value < e->best : value > e->best));
    if (better) {
        char path[4200];
        snprintf(path, sizeof path, "%s/best.safetensors", run_dir);
        if ((st = vg_ckpt_save(t, data_json, path)) != VG_OK) return st;
        e->best = value;
        e->best_step = t->step;
    }
    char v[32], f[32], b[32];
    fprintf(log,
            "{\"step\":%lld,\"eval_metric\":\"%s\",\"eval_value\":%s,\"eval_floor\":%s,\"eval_n\":%lld,"
            "\"eval_best\":%s,\"eval_best_step\":%lld,\"eval_weights\":\"%s\",\"eval_sha256\":\"%s\","
            "\"eval_seconds\":%.3f}\n",
            (long long)t->step, e->name, json_number(v, value), json_number(f, e->floor), (long long)e->n,
            json_number(b, e->best), (long long)e->best_step, swap ? "ema" : "live", e->sha256, seconds);
    fflush(log);
    return VG_OK;
}
