/* prefetch.h — worker threads that decode the next batches of a data set
 * while the trainer computes: a bounded queue of `depth` batches, filled
 * clip by clip by `workers` threads.
 *
 * Content never depends on timing: the batch handed out for first clip f is
 * exactly vg_dataset_batch(ds, f, clips, ...) (clips are pure functions of
 * (seed, index), so which worker made which clip does not matter). After
 * batch f the queue decodes f + clips, f + 2 clips, ... ahead. Asking for
 * any other batch (a resumed run, a roll-back to another random stream)
 * waits for the clips in flight, drops what was decoded ahead and starts
 * again from there, so every caller gets what it asked for.
 *
 * A clip that fails is reported by the vg_prefetch_get of its batch (the
 * lowest failing clip's message, as vg_dataset_batch does). Workers block
 * SIGINT/SIGTERM (the caller's thread handles them); vg_prefetch_close
 * stops them after the clip each is decoding and joins them. Memory: depth
 * batches of (clips, C, T, H, W) floats, allocated at open. */
#ifndef VG_DATA_PREFETCH_H
#define VG_DATA_PREFETCH_H

#include <stdint.h>

#include "data/dataset.h"

typedef struct vg_prefetch vg_prefetch;

/* clips: clips per batch (>= 1); depth: batches decoded ahead (1..64);
 * workers: decoding threads (1..64). ds must outlive the queue. Nothing is
 * decoded until the first vg_prefetch_get. */
vg_status vg_prefetch_open(vg_prefetch **out, const vg_dataset *ds, int clips, int depth, int workers);
/* Clips first .. first + clips - 1 into out (clips, C, T, H, W) and labels
 * (may be NULL); *wait_s (may be NULL) receives the seconds spent waiting
 * for them. */
vg_status vg_prefetch_get(vg_prefetch *pf, int64_t first, float *out, int64_t *labels, double *wait_s);
/* Stops and joins the workers, frees everything; NULL is fine. */
void vg_prefetch_close(vg_prefetch *pf);

#endif
