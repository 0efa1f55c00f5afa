/* clip_cache.h — a prepared clip cache: a data source decoded once into
 * fixed-size uint8 clips, for data sets too slow to decode every epoch
 * (`vidgan data prepare SRC -o DIR`).
 *
 * A cache is a folder with two files:
 *   DIR/clips.npy   uint8 (N, T, H, W, C), C order, NumPy format 1.0: clip i
 *                   of the source (first .. first + N - 1) as RGB (C = 3) or
 *                   grey (C = 1), pixel = round((x + 1) * 127.5) of the
 *                   source's [-1, 1] floats (exact for 8-bit sources)
 *   DIR/clips.json  {"format": "vidgan-clip-cache", "version": 1, "source",
 *                   "layout", "frames", "size", "stride", "channels",
 *                   "seed" (decimal string), "first", "clips" (N),
 *                   "class_names": [...], "labels": [N ints], "crop",
 *                   "hflip", "fps", "label_source" ("folders" / "none"):
 *                   the sampling; a random crop or flip is frozen per clip}
 * Both are written atomically (io/atomic_file.h), the .npy first: a folder
 * whose clips.json exists holds a complete cache.
 *
 * Reading: a data set whose source is such a folder (or its clips.npy) is
 * the .npy source (npy_source.c, memory-mapped; clip i = cached clip i mod
 * N) with the labels and class names of clips.json, checked against the
 * array (N, frames, size, channels) with messages naming the file. */
#ifndef VG_DATA_CLIP_CACHE_H
#define VG_DATA_CLIP_CACHE_H

#include <stdint.h>

#include "data/dataset.h"

#define VG_CLIP_CACHE_FORMAT "vidgan-clip-cache"

/* Decode clips first .. first + n - 1 of ds (n >= 1) into a cache in dir
 * (created if missing); stride and seed are recorded as given. progress
 * (may be NULL) is called after each block of clips with (done, n). */
vg_status vg_clip_cache_write(const vg_dataset *ds, const vg_dataset_spec *spec, const char *dir, int64_t first,
                              int64_t n, void (*progress)(int64_t done, int64_t n));

/* If path is a cache folder (holds clips.json), or X.npy with X.json
 * beside it, the .npy's path and the .json's path into the buffers (cap
 * bytes each) and 1; else 0. */
int vg_clip_cache_find(const char *path, char *npy, char *json, size_t cap);

/* For npy_source.c: the labels and class names of a cache's clips.json,
 * checked against the array's shape (N, T, H, W, C). *labels (N) and
 * *names (*num_classes strings) are malloc'd; free with
 * vg_clip_cache_labels_free. */
vg_status vg_clip_cache_read_labels(const char *json_path, const int64_t shape[5], int64_t **labels, char ***names,
                                    int *num_classes);
void vg_clip_cache_labels_free(int64_t *labels, char **names, int num_classes);

#endif
