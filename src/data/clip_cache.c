/* clip_cache.c — writing and describing prepared clip caches
 * (clip_cache.h): clips decoded in parallel blocks, quantised to uint8 and
 * streamed into an atomically written .npy, then the JSON sidecar. */
#include "data/clip_cache.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checked.h"
#include "core/status.h"
#include "data/video_folder.h"
#include "io/atomic_file.h"
#include "io/npy.h"

#define BLOCK 64 /* clips decoded per vg_dataset_batch call */

int vg_clip_cache_find(const char *path, char *npy, char *json, size_t cap) {
    struct stat sb;
    size_t l = strlen(path);
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        const char *sep = l && path[l - 1] == '/' ? "" : "/";
        if ((size_t)snprintf(json, cap, "%s%sclips.json", path, sep) >= cap) return 0;
        if ((size_t)snprintf(npy, cap, "%s%sclips.npy", path, sep) >= cap) return 0;
    } else if (l > 4 && strcmp(path + l - 4, ".npy") == 0 && l < cap) {
        snprintf(npy, cap, "%s", path);
        snprintf(json, cap, "%.*s.json", (int)(l - 4), path);
    } else {
        return 0;
    }
    return stat(json, &sb) == 0 && S_ISREG(sb.st_mode);
}

static vg_status make_dir(const char *dir) {
    if (mkdir(dir, 0755) == 0 || errno == EEXIST) {
        struct stat sb;
        if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) return VG_OK;
        return vg_fail(VG_ERR_IO, "%s: exists and is not a folder", dir);
    }
    return vg_fail(VG_ERR_IO, "%s: cannot create the cache folder: %s", dir, strerror(errno));
}

static vg_status write_json(const vg_dataset *ds, const vg_dataset_spec *spec, const char *path, int64_t first,
                            int64_t n, const int64_t *labels) {
    const vg_dataset_desc *d = vg_dataset_info(ds);
    const vg_folder_report *r = vg_video_folder_report(ds);
    vg_clear_error();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)spec->seed);
    json_t *names = json_array(), *labs = json_array();
    for (int c = 0; names && c < d->num_classes; c++) json_array_append_new(names, json_string(d->class_names[c]));
    for (int64_t i = 0; labs && i < n; i++) json_array_append_new(labs, json_integer(labels[i]));
    json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:I, s:I, s:o, s:o}", "format", VG_CLIP_CACHE_FORMAT,
                          "version", 1, "source", d->source, "layout",
                          r ? (r->frame_folders ? "frame folders" : "video files") : "generated or array", "frames",
                          d->frames, "size", d->height, "stride", spec->stride ? spec->stride : 1, "channels",
                          d->channels, "seed", seed, "first", (json_int_t)first, "clips", (json_int_t)n, "class_names",
                          names, "labels", labs);
    if (j) { /* how the clips were sampled: a cache freezes each clip's crop and flip */
        json_object_set_new(j, "crop", json_string(vg_crop_name(spec->crop)));
        json_object_set_new(j, "hflip", json_boolean(spec->hflip));
        json_object_set_new(j, "fps", json_real(spec->fps));
        json_object_set_new(j, "label_source", json_string(vg_labels_name(spec->labels)));
    }
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) return vg_fail(VG_ERR_NOMEM, "%s: cannot describe the cache as JSON (out of memory?)", path);
    vg_status st = vg_file_write_atomic(path, text, strlen(text));
    free(text);
    return st;
}

vg_status vg_clip_cache_write(const vg_dataset *ds, const vg_dataset_spec *spec, const char *dir, int64_t first,
                              int64_t n, void (*progress)(int64_t done, int64_t n)) {
    if (!ds || !spec || !dir) return vg_fail(VG_ERR_INVALID, "vg_clip_cache_write: NULL argument");
    int64_t last;
    if (n < 1 || first < 0 || !vg_add_ok(first, n, &last))
        return vg_fail(VG_ERR_INVALID, "%s: %lld clips from %lld: expected at least one clip, first >= 0", dir, (long long)n,
                       (long long)first);
    const vg_dataset_desc *d = vg_dataset_info(ds);
    const int C = d->channels, T = d->frames, H = d->height, W = d->width;
    const int64_t shape[5] = {n, T, H, W, C};
    int64_t total;
    if (!vg_shape_numel(5, shape, &total)) return vg_fail(VG_ERR_INVALID, "%s: %lld clips: the cache size overflows", dir, (long long)n);
    vg_status st = make_dir(dir);
    if (st != VG_OK) return st;
    char npy[4200], json[4200];
    size_t l = strlen(dir);
    snprintf(npy, sizeof npy, "%s%sclips.npy", dir, l && dir[l - 1] == '/' ? "" : "/");
    snprintf(json, sizeof json, "%s%sclips.json", dir, l && dir[l - 1] == '/' ? "" : "/");
    remove(json); /* the marker of a complete cache goes last */

    const int64_t numel = vg_dataset_clip_numel(ds), plane = (int64_t)H * W;
    float *x = malloc((size_t)BLOCK * (size_t)numel * sizeof *x);
    uint8_t *u = malloc((size_t)BLOCK * (size_t)numel);
    int64_t *labels = malloc((size_t)n * sizeof *labels);
    if (!x || !u || !labels) {
        free(x);
        free(u);
        free(labels);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory for the clip buffers", dir);
    }
    vg_atomic_file f;
    char hdr[512];
    size_t hn = vg_npy_header(hdr, sizeof hdr, VG_NPY_U8, 5, shape);
    st = vg_atomic_open(&f, npy);
    if (st == VG_OK) {
        st = vg_atomic_write(&f, hdr, hn);
        for (int64_t done = 0; st == VG_OK && done < n;) {
            int k = n - done < BLOCK ? (int)(n - done) : BLOCK;
            st = vg_dataset_batch(ds, first + done, k, x, labels + done);
            if (st != VG_OK) break;
            /* (k, C, T, H, W) floats in [-1, 1] -> (k, T, H, W, C) bytes */
            for (int i = 0; i < k; i++)
                for (int t = 0; t < T; t++)
                    for (int64_t p = 0; p < plane; p++)
                        for (int c = 0; c < C; c++) {
                            float v = (x[(((int64_t)i * C + c) * T + t) * plane + p] + 1.0f) * 127.5f;
                            v = v < 0 ? 0 : v > 255 ? 255 : v;
                            u[(((int64_t)i * T + t) * plane + p) * C + c] = (uint8_t)(v + 0.5f);
                        }
            st = vg_atomic_write(&f, u, (size_t)k * (size_t)numel);
            done += k;
            if (st == VG_OK && progress) progress(done, n);
        }
        if (st == VG_OK) st = vg_atomic_commit(&f);
        else vg_atomic_abort(&f);
    }
    if (st == VG_OK) st = write_json(ds, spec, json, first, n, labels);
    free(x);
    free(u);
    free(labels);
    return st;
}

void vg_clip_cache_labels_free(int64_t *labels, char **names, int num_classes) {
    for (int c = 0; names && c < num_classes; c++) free(names[c]);
    free(names);
    free(labels);
}

vg_status vg_clip_cache_read_labels(const char *path, const int64_t shape[5], int64_t **labels, char ***names,
                                    int *num_classes) {
    *labels = NULL;
    *names = NULL;
    *num_classes = 0;
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!j) return vg_fail(VG_ERR_FORMAT, "%s: not valid JSON (line %d: %s)", path, err.line, err.text);
    vg_status st = VG_OK;
    const char *fmt = json_string_value(json_object_get(j, "format"));
    json_t *ver = json_object_get(j, "version"), *nm = json_object_get(j, "class_names"), *lb = json_object_get(j, "labels");
    const char *key[4] = {"clips", "frames", "size", "channels"};
    const int64_t want[4] = {shape[0], shape[1], shape[2], shape[4]};
    if (!json_is_object(j) || !fmt || strcmp(fmt, VG_CLIP_CACHE_FORMAT) != 0)
        st = vg_fail(VG_ERR_FORMAT, "%s: not a clip cache description (\"format\" is not \"%s\")", path, VG_CLIP_CACHE_FORMAT);
    else if (!json_is_integer(ver) || json_integer_value(ver) != 1)
        st = vg_fail(VG_ERR_FORMAT, "%s: clip cache version: expected 1", path);
    else if (shape[2] != shape[3])
        st = vg_fail(VG_ERR_FORMAT, "%s: the cached frames are %lldx%lld, a cache holds square frames", path,
                     (long long)shape[3], (long long)shape[2]);
    for (int i = 0; st == VG_OK && i < 4; i++) {
        json_t *v = json_object_get(j, key[i]);
        if (!json_is_integer(v) || json_integer_value(v) != want[i])
            st = vg_fail(VG_ERR_FORMAT, "%s: \"%s\" is not %lld, as the array beside it has", path, key[i], (long long)want[i]);
    }
    size_t nc = json_is_array(nm) ? json_array_size(nm) : 0;
    if (st == VG_OK && (nc < 1 || nc > 1000000))
        st = vg_fail(VG_ERR_FORMAT, "%s: \"class_names\" is not a non-empty array", path);
    if (st == VG_OK && (!json_is_array(lb) || (int64_t)json_array_size(lb) != shape[0]))
        st = vg_fail(VG_ERR_FORMAT, "%s: \"labels\" is not an array of %lld labels", path, (long long)shape[0]);
    if (st == VG_OK) {
        *names = calloc(nc, sizeof **names);
        *labels = malloc((size_t)shape[0] * sizeof **labels);
        if (!*names || !*labels) st = vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    }
    for (size_t c = 0; st == VG_OK && c < nc; c++) {
        const char *s = json_string_value(json_array_get(nm, c));
        if (!s) st = vg_fail(VG_ERR_FORMAT, "%s: class name %zu is not a string", path, c);
        else if (!((*names)[c] = strdup(s))) st = vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
        else *num_classes = (int)c + 1;
    }
    for (int64_t i = 0; st == VG_OK && i < shape[0]; i++) {
        json_t *v = json_array_get(lb, (size_t)i);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (json_int_t)nc)
            st = vg_fail(VG_ERR_FORMAT, "%s: label %lld is not a class index in [0, %zu)", path, (long long)i, nc);
        else (*labels)[i] = json_integer_value(v);
    }
    json_decref(j);
    if (st != VG_OK) {
        vg_clip_cache_labels_free(*labels, *names, *num_classes);
        *labels = NULL;
        *names = NULL;
        *num_classes = 0;
    }
    return st;
}
