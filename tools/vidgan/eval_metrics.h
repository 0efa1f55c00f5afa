/* eval_metrics.h — the measuring half of `vidgan eval` and of `vidgan train
 * --eval-every`: one pass over a set of clips, in chunks, taking every
 * per-clip measurement the chosen networks give (features of the evaluator
 * network, I3D features for FVD, the shapes and moving-digit physics
 * verdicts, the evaluator's classes of each half of a digits clip, the
 * discriminator's logits), then the scores of one set against a reference
 * set (Fréchet distance, KID, precision/recall on features; shapes
 * fractions; discriminator accuracy). Clips come from a callback, so the
 * same code measures data set clips, videos on disk and a generator.
 *
 * Leaves to others: opening the networks and the clip sources, printing.
 * Messages name the network's file (the caller sets the paths). */
#ifndef VG_CLI_EVAL_METRICS_H
#define VG_CLI_EVAL_METRICS_H

#include <stdint.h>

#include "data/dataset.h"
#include "eval/digits_metrics.h"
#include "eval/evaluator.h"
#include "eval/shapes_metrics.h"
#include "models/dcgan3d.h"
#include "models/i3d.h"
#include "vidgan.h"

/* KID as StyleGAN2-ADA computes it; precision/recall with k = 3. */
#define EVAL_KID_SUBSETS 100
#define EVAL_KID_SUBSET_MAX 1000
#define EVAL_PR_K 3
#define EVAL_I3D_DIM 400
#define EVAL_FVD_FRAMES 16 /* I3D sees the first 16 frames of longer clips */
/* Real clips are data indices EVAL_REAL_FIRST + 0 .. 2N - 1: training reads
 * indices below 2^40 per random stream (trainer.c), so for the generated
 * data sets these clips are never ones the model was trained on. */
#define EVAL_REAL_FIRST ((int64_t)1 << 48)

/* Which measurements to take; a NULL network is skipped. */
typedef struct eval_nets {
    vg_evaluator *evaluator;
    const char *evaluator_path;
    vg_i3d *i3d;
    vg_ctx *i3d_ctx;
    const char *i3d_path;
    int shapes;                        /* 1: shapes physics metrics */
    vg_shapes_metrics_config shapes_cfg;
    int digits;                        /* 1: moving-digit physics metrics */
    vg_digits_metrics_config digits_cfg;
    vg_evaluator *identity;            /* a labels evaluator: its class of each half of a digits clip, or NULL */
    vg_dcgan3d *disc;                  /* a checkpoint's discriminator */
    vg_ctx *disc_ctx;
    int disc_batch;                    /* clips per D forward (BatchNorm on batch statistics, as in training) */
} eval_nets;

/* What one set of clips measured. */
typedef struct eval_set {
    int64_t n;
    int64_t ev_dim;
    double *ev;                 /* (n, ev_dim) evaluator features, or NULL */
    int64_t ev_correct, ev_labelled; /* evaluator's argmax == its class of the label (vg_evaluator_class_of), over labelled clips */
    double *i3d;                /* (n, 400) I3D features, or NULL */
    vg_shapes_summary shapes;   /* when nets->shapes */
    vg_digits_summary digits;   /* when nets->digits */
    int64_t id_stable;          /* when nets->identity: clips whose two halves get the same class */
    int64_t d_real;             /* clips the discriminator calls real (logit > 0) */
    double seconds;             /* wall time of the pass (fetching included) */
} eval_set;

/* Fills clips (n, C, T, S, S) with clips first .. first + n - 1 of a source,
 * and labels (n) when labels is not NULL (a source without labels sets -1). */
typedef vg_status (*eval_fetch_fn)(void *user, int64_t first, int n, float *clips, int64_t *labels);

/* Measures n clips of geometry (C, T, S, S) fetched `chunk` at a time.
 * with_labels: fetch labels and count the evaluator's accuracy on them. */
vg_status eval_set_measure(eval_set *s, const eval_nets *nets, eval_fetch_fn fetch, void *user, int64_t n, int chunk,
                           int C, int T, int S, int with_labels);
void eval_set_free(eval_set *s);

/* Scores of features x against reference features ref (both (n, dim)). */
typedef struct eval_dist {
    double fd;                  /* Fréchet distance */
    double kid, kid_std;        /* KID mean and standard deviation over subsets (NAN when not computed) */
    double precision, recall;   /* NAN when not computed */
} eval_dist;

/* with_extra: also KID (subsets drawn from `seed`) and precision/recall. */
vg_status eval_dist_scores(eval_dist *out, const double *ref, int64_t n_ref, const double *x, int64_t n_x, int64_t dim,
                           uint64_t seed, int with_extra);

/* Clip sources for eval_set_measure. Data set clips first + i (labels as
 * the data set's): */
typedef struct eval_data_source {
    const vg_dataset *ds;
    int64_t first;
} eval_data_source;
vg_status eval_fetch_data(void *user, int64_t first, int n, float *clips, int64_t *labels);

/* A generator: clip i from latent vector i (z holds them all), BatchNorm on
 * batch statistics in groups of `batch` latents as vidgan sample does, so
 * a fetch must start at a multiple of batch (chunk a multiple of it) for
 * the clips not to depend on the chunking. Labels are -1. */
typedef struct eval_gen_source {
    vg_dcgan3d *model;
    vg_ctx *ctx;
    const float *z;             /* (n, z_dim) */
    int batch;
} eval_gen_source;
vg_status eval_fetch_gen(void *user, int64_t first, int n, float *clips, int64_t *labels);

/* 1 for sources with a fixed number of distinct clips (a .npy: its videos;
 * a folder: its non-overlapping clips, the nominal epoch), whose clip
 * indices wrap or repeat: two disjoint splits need 2N <= desc.size. */
int eval_source_is_finite(const vg_dataset *ds);

/* Adds b's counts to a and recomputes the fractions. */
void eval_shapes_add(vg_shapes_summary *a, const vg_shapes_summary *b);

#endif
