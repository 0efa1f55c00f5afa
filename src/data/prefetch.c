/* prefetch.c — the prefetch queue (prefetch.h): a ring of batch slots under
 * one mutex; workers claim single clips of the oldest unfinished batch,
 * schedule the next batch when a slot is free, and decode outside the lock;
 * the consumer waits for its slot to be complete, copies it out and frees
 * it. */
#include "data/prefetch.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/checked.h"
#include "core/status.h"

typedef struct slot {
    int64_t first;      /* first clip index of the batch */
    int claimed, done;  /* clips handed to workers / finished */
    int failed_at;      /* lowest failing clip, or clips */
    vg_status st;
    char why[512];
    float *x;           /* (clips, C, T, H, W) */
    int64_t *labels;    /* (clips) */
} slot;

struct vg_prefetch {
    const vg_dataset *ds;
    int clips, depth;
    int64_t numel;           /* floats per clip */
    pthread_mutex_t lock;
    pthread_cond_t work_cv;  /* workers: there may be work, or stop */
    pthread_cond_t done_cv;  /* consumer: a clip finished */
    slot *slots;             /* (depth) batch seq s lives in slots[s % depth] */
    int64_t head, tail;      /* batches [head, tail) are scheduled */
    int64_t next_first;      /* first clip of batch tail */
    int running;             /* 0 until the first get, and during a restart */
    int in_flight;           /* clips being decoded outside the lock */
    int stop;
    pthread_t *threads;
    int nthreads;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *worker(void *arg) {
    vg_prefetch *pf = arg;
    pthread_mutex_lock(&pf->lock);
    while (!pf->stop) {
        slot *sl = NULL;
        int j = 0;
        for (int64_t s = pf->head; s < pf->tail && !sl; s++) {
            slot *c = &pf->slots[s % pf->depth];
            if (c->claimed < pf->clips) sl = c, j = c->claimed++;
        }
        if (!sl) {
            if (pf->running && pf->tail < pf->head + pf->depth) { /* a free slot: schedule the next batch */
                slot *c = &pf->slots[pf->tail % pf->depth];
                c->first = pf->next_first;
                c->claimed = c->done = 0;
                c->failed_at = pf->clips;
                c->st = VG_OK;
                c->why[0] = 0;
                pf->next_first += pf->clips;
                pf->tail++;
            } else {
                pthread_cond_wait(&pf->work_cv, &pf->lock);
            }
            continue;
        }
        pf->in_flight++;
        const int64_t index = sl->first + j;
        pthread_mutex_unlock(&pf->lock);
        vg_status st = vg_dataset_clip(pf->ds, index, sl->x + (int64_t)j * pf->numel, &sl->labels[j]);
        pthread_mutex_lock(&pf->lock);
        if (st != VG_OK && j < sl->failed_at) {
            sl->failed_at = j;
            sl->st = st;
            snprintf(sl->why, sizeof sl->why, "%s", vg_last_error());
        }
        sl->done++;
        pf->in_flight--;
        pthread_cond_broadcast(&pf->done_cv);
    }
    pthread_mutex_unlock(&pf->lock);
    return NULL;
}

vg_status vg_prefetch_open(vg_prefetch **out, const vg_dataset *ds, int clips, int depth, int workers) {
    *out = NULL;
    if (!ds) return vg_fail(VG_ERR_INVALID, "vg_prefetch_open: no data set");
    if (clips < 1 || depth < 1 || depth > 64 || workers < 1 || workers > 64)
        return vg_fail(VG_ERR_INVALID, "prefetch: %d clips per batch, depth %d, %d workers: expected >= 1, 1..64, 1..64", clips,
                       depth, workers);
    vg_prefetch *pf = calloc(1, sizeof *pf);
    if (!pf) return vg_fail(VG_ERR_NOMEM, "prefetch: out of memory");
    pf->ds = ds;
    pf->clips = clips;
    pf->depth = depth;
    pf->numel = vg_dataset_clip_numel(ds);
    int64_t batch;
    if (!vg_mul_ok(pf->numel, clips, &batch) || batch > ((int64_t)1 << 40)) {
        free(pf);
        return vg_fail(VG_ERR_NOMEM, "prefetch: a batch of %d clips is too large", clips);
    }
    pthread_mutex_init(&pf->lock, NULL);
    pthread_cond_init(&pf->work_cv, NULL);
    pthread_cond_init(&pf->done_cv, NULL);
    pf->slots = calloc((size_t)depth, sizeof *pf->slots);
    pf->threads = calloc((size_t)workers, sizeof *pf->threads);
    vg_status st = pf->slots && pf->threads ? VG_OK : vg_fail(VG_ERR_NOMEM, "prefetch: out of memory");
    for (int i = 0; st == VG_OK && i < depth; i++) {
        pf->slots[i].x = malloc((size_t)batch * sizeof(float));
        pf->slots[i].labels = malloc((size_t)clips * sizeof(int64_t));
        if (!pf->slots[i].x || !pf->slots[i].labels)
            st = vg_fail(VG_ERR_NOMEM, "prefetch: out of memory for %d batches of %d clips", depth, clips);
    }
    if (st == VG_OK) { /* workers leave SIGINT / SIGTERM to the caller's thread */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        for (int i = 0; i < workers; i++) {
            if (pthread_create(&pf->threads[i], NULL, worker, pf) != 0) {
                st = vg_fail(VG_ERR_NOMEM, "prefetch: cannot start worker thread %d of %d", i + 1, workers);
                break;
            }
            pf->nthreads++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (st != VG_OK) {
        vg_prefetch_close(pf);
        return st;
    }
    *out = pf;
    return VG_OK;
}

/* Drops everything scheduled and restarts the queue at clip `first`
 * (lock held). */
static void restart(vg_prefetch *pf, int64_t first) {
    pf->running = 0;
    pf->tail = pf->head; /* nothing left to claim */
    while (pf->in_flight > 0) pthread_cond_wait(&pf->done_cv, &pf->lock);
    pf->next_first = first;
    pf->running = 1;
    pthread_cond_broadcast(&pf->work_cv);
}

vg_status vg_prefetch_get(vg_prefetch *pf, int64_t first, float *out, int64_t *labels, double *wait_s) {
    if (!pf || !out) return vg_fail(VG_ERR_INVALID, "vg_prefetch_get: NULL argument");
    if (first < 0) return vg_fail(VG_ERR_INVALID, "prefetch: first clip %lld < 0", (long long)first);
    const double t0 = now_s();
    pthread_mutex_lock(&pf->lock);
    const int64_t expected = pf->head < pf->tail ? pf->slots[pf->head % pf->depth].first : pf->next_first;
    if (!pf->running || expected != first) restart(pf, first);
    slot *sl = &pf->slots[pf->head % pf->depth];
    while (pf->head == pf->tail || sl->done < pf->clips) pthread_cond_wait(&pf->done_cv, &pf->lock);
    pthread_mutex_unlock(&pf->lock);
    /* the slot is complete and stays ours until head moves on */
    if (wait_s) *wait_s = now_s() - t0;
    vg_status st = sl->st;
    char why[512];
    if (st == VG_OK) {
        memcpy(out, sl->x, (size_t)pf->clips * (size_t)pf->numel * sizeof(float));
        if (labels) memcpy(labels, sl->labels, (size_t)pf->clips * sizeof *labels);
    } else {
        snprintf(why, sizeof why, "%s", sl->why);
    }
    pthread_mutex_lock(&pf->lock);
    pf->head++;
    pthread_cond_broadcast(&pf->work_cv);
    pthread_mutex_unlock(&pf->lock);
    return st == VG_OK ? VG_OK : vg_fail(st, "%s", why);
}

void vg_prefetch_close(vg_prefetch *pf) {
    if (!pf) return;
    pthread_mutex_lock(&pf->lock);
    pf->stop = 1;
    pthread_cond_broadcast(&pf->work_cv);
    pthread_mutex_unlock(&pf->lock);
    for (int i = 0; i < pf->nthreads; i++) pthread_join(pf->threads[i], NULL);
    for (int i = 0; pf->slots && i < pf->depth; i++) {
        free(pf->slots[i].x);
        free(pf->slots[i].labels);
    }
    free(pf->slots);
    free(pf->threads);
    pthread_cond_destroy(&pf->work_cv);
    pthread_cond_destroy(&pf->done_cv);
    pthread_mutex_destroy(&pf->lock);
    free(pf);
}
