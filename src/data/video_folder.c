/* video_folder.c — the folder-of-videos data set (video_folder.h): scan the
 * directory, decide its layout (video files, or frame folders), open every
 * video once (frame lists kept for cheap reopening), map clip indices to
 * (video, start) and decode clips through small pools of open decoders.
 * Decoding itself is io/video_reader.c's and data/frame_folder.c's. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checked.h"
#include "core/status.h"
#include "core/threads.h"
#include "data/dataset_impl.h"
#include "data/frame_folder.h"
#include "data/video_folder.h"
#include "io/video_reader.h"

#define MAX_DEPTH 16  /* directory levels followed (guards symlink loops) */
#define POOL_SIZE 8   /* open decoders kept between clips */
#define ROOT_CLASS "(root)"

typedef struct pooled {
    vg_video *v;
    int video;
} pooled;

struct vg_video_folder {
    char *root;
    int frame_folders;       /* 1: videos are folders of frames */
    int T, stride, size, C;
    double fps;              /* > 0: clip frames at this rate (spec.fps) */
    vg_labels labels;
    int64_t span;            /* frames a clip covers with the stride (fps off) */
    vg_folder_video *videos; /* (n) */
    vg_video_index **index;  /* (n) video files */
    vg_frame_list **flist;   /* (n) frame folders */
    int64_t *cum;            /* (n + 1) start positions before video i */
    int n;
    char **classes;
    int num_classes;
    vg_folder_skip *skipped;
    int num_skipped;
    vg_folder_report report;
    pthread_mutex_t lock;
    pooled pool[POOL_SIZE];
    int pool_n;
    vg_image_decoder *ipool[POOL_SIZE]; /* frame folders: idle image decoders */
    int ipool_n;
};

/* ---- scanning ------------------------------------------------------------------- */

int vg_video_folder_is_video_name(const char *path) {
    static const char *const ext[] = {"mp4", "m4v", "mov", "mkv", "webm", "avi", "gif", "mpg", "mpeg"};
    return vg_name_has_ext(path, ext, sizeof ext / sizeof ext[0]);
}

typedef struct found {
    char **path;
    int n, cap;
} found;

static vg_status found_add(found *f, const char *path) {
    if (f->n == f->cap) {
        int cap = f->cap ? 2 * f->cap : 64;
        char **p = realloc(f->path, (size_t)cap * sizeof *p);
        if (!p) return vg_fail(VG_ERR_NOMEM, "out of memory listing videos");
        f->path = p;
        f->cap = cap;
    }
    if (!(f->path[f->n] = strdup(path))) return vg_fail(VG_ERR_NOMEM, "out of memory listing videos");
    f->n++;
    return VG_OK;
}

static void found_free(found *f) {
    for (int i = 0; i < f->n; i++) free(f->path[i]);
    free(f->path);
}

/* Every video file under dir into f, and every folder that directly holds
 * image files into frames (symlinks followed up to MAX_DEPTH levels). */
static vg_status scan_dir(found *f, found *frames, const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return vg_fail(VG_ERR_IO, "%s: cannot list the folder: %s", dir, strerror(errno));
    vg_status st = VG_OK;
    struct dirent *e;
    size_t dl = strlen(dir);
    int has_images = 0;
    while (st == VG_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue; /* hidden, "." and ".." */
        size_t len = dl + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            st = vg_fail(VG_ERR_NOMEM, "out of memory listing %s", dir);
            break;
        }
        snprintf(p, len, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", e->d_name);
        struct stat sb;
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (depth < MAX_DEPTH) st = scan_dir(f, frames, p, depth + 1);
        } else if (vg_video_folder_is_video_name(p)) {
            st = found_add(f, p); /* broken links, directories named x.mp4 etc. fail when opened */
        } else if (vg_frame_is_image_name(e->d_name)) {
            has_images = 1;
        }
        free(p);
    }
    closedir(d);
    if (st == VG_OK && has_images) st = found_add(frames, dir);
    return st;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The first-level sub-folder of path below root, or ROOT_CLASS; with labels
 * none the one class "all". malloc'd. */
static char *class_of(const char *root, const char *path, vg_labels labels) {
    if (labels == VG_LABELS_NONE) return strdup("all");
    size_t rl = strlen(root);
    const char *rel = path + rl;
    while (*rel == '/') rel++;
    const char *slash = strchr(rel, '/');
    if (!slash) return strdup(ROOT_CLASS);
    return strndup(rel, (size_t)(slash - rel));
}

/* ---- open / close ------------------------------------------------------------------ */

typedef struct probe_result {
    vg_status st;
    char *why;
    vg_video_desc desc;
    char codec[32];
    vg_video_index *index;
    vg_frame_list *flist;
} probe_result;

static void probe_frames(probe_result *r, const char *dir) {
    r->st = vg_frame_list_open(&r->flist, dir);
    if (r->st != VG_OK) {
        r->why = strdup(vg_last_error());
        return;
    }
    r->desc = (vg_video_desc){.width = r->flist->width, .height = r->flist->height, .frames = r->flist->n};
    snprintf(r->codec, sizeof r->codec, "%s", r->flist->codec);
}

static void probe_one(probe_result *r, const char *path) {
    vg_video *v = NULL;
    r->st = vg_video_open(&v, path);
    if (r->st == VG_OK) r->st = vg_video_info(v, &r->desc);
    if (r->st == VG_OK) {
        snprintf(r->codec, sizeof r->codec, "%s", r->desc.codec);
        if (!(r->index = vg_video_index_copy(v))) r->st = VG_ERR_NOMEM;
    }
    if (r->st != VG_OK) r->why = strdup(vg_last_error());
    vg_video_close(v);
}

static vg_status add_skip(vg_video_folder *F, const char *path, const char *reason, int too_short) {
    vg_folder_skip *s = &F->skipped[F->num_skipped];
    if (!reason) reason = "unknown error";
    size_t pl = strlen(path); /* the reader's messages start with "path: " */
    if (strncmp(reason, path, pl) == 0 && reason[pl] == ':' && reason[pl + 1] == ' ') reason += pl + 2;
    s->path = strdup(path);
    s->reason = strdup(reason);
    s->too_short = too_short;
    F->num_skipped++;
    if (!s->path || !s->reason) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", F->root);
    return VG_OK;
}

static vg_status folder_build(vg_video_folder *F, const vg_dataset_spec *spec) {
    found f = {0}, frames = {0};
    vg_status st = scan_dir(&f, &frames, F->root, 0);
    probe_result *res = NULL;
    if (st != VG_OK) goto done;
    if (f.n == 0 && frames.n > 0) { /* no video files: a folder of frame folders */
        found t = f;
        f = frames;
        frames = t;
        F->frame_folders = 1;
    }
    if (F->frame_folders && F->fps > 0) {
        qsort(f.path, (size_t)f.n, sizeof *f.path, cmp_str);
        st = vg_fail(VG_ERR_INVALID,
                     "%s: holds frame folders (%s, ...), which have no frame rate: a clip frame rate (fps %g, --clip-fps) "
                     "needs video files; take every N-th frame with stride (--stride) instead",
                     F->root, f.path[0], F->fps);
        goto done;
    }
    if (f.n == 0) {
        st = vg_fail(VG_ERR_INVALID,
                     "%s: no video files (looked recursively for .mp4 .m4v .mov .mkv .webm .avi .gif .mpg .mpeg) and no "
                     "frame folders (folders of .png / .jpg / .jpeg frames)",
                     F->root);
        goto done;
    }
    qsort(f.path, (size_t)f.n, sizeof *f.path, cmp_str);
    /* classes: first-level folders holding a video file, sorted, unique */
    F->classes = calloc((size_t)f.n, sizeof *F->classes);
    int *label = calloc((size_t)f.n, sizeof *label);
    res = calloc((size_t)f.n, sizeof *res);
    F->videos = calloc((size_t)f.n, sizeof *F->videos);
    F->index = calloc((size_t)f.n, sizeof *F->index);
    F->flist = calloc((size_t)f.n, sizeof *F->flist);
    F->cum = calloc((size_t)f.n + 1, sizeof *F->cum);
    F->skipped = calloc((size_t)f.n, sizeof *F->skipped);
    if (!F->classes || !label || !res || !F->videos || !F->index || !F->flist || !F->cum || !F->skipped) {
        free(label);
        st = vg_fail(VG_ERR_NOMEM, "%s: out of memory for %d videos", F->root, f.n);
        goto done;
    }
    char **names = calloc((size_t)f.n, sizeof *names);
    for (int i = 0; names && i < f.n; i++)
        if (!(names[i] = class_of(F->root, f.path[i], F->labels))) {
            for (int j = 0; j < i; j++) free(names[j]);
            free(names);
            names = NULL;
        }
    if (!names) {
        free(label);
        st = vg_fail(VG_ERR_NOMEM, "%s: out of memory", F->root);
        goto done;
    }
    char **sorted = malloc((size_t)f.n * sizeof *sorted);
    if (!sorted) {
        for (int i = 0; i < f.n; i++) free(names[i]);
        free(names);
        free(label);
        st = vg_fail(VG_ERR_NOMEM, "%s: out of memory", F->root);
        goto done;
    }
    memcpy(sorted, names, (size_t)f.n * sizeof *sorted);
    qsort(sorted, (size_t)f.n, sizeof *sorted, cmp_str);
    for (int i = 0; i < f.n; i++)
        if (F->num_classes == 0 || strcmp(F->classes[F->num_classes - 1], sorted[i]) != 0)
            F->classes[F->num_classes++] = sorted[i];
    for (int i = 0; i < f.n; i++) {
        for (int c = 0; c < F->num_classes; c++)
            if (strcmp(F->classes[c], names[i]) == 0) label[i] = c;
    }
    /* keep one copy of each class name: the ones in F->classes */
    for (int i = 0; i < f.n; i++) {
        int kept = 0;
        for (int c = 0; c < F->num_classes; c++) kept |= F->classes[c] == names[i];
        if (!kept) free(names[i]);
    }
    free(names);
    free(sorted);

    /* open every file once, in parallel; results land in res[i] */
    int threads = vg_get_threads();
    if (threads > f.n) threads = f.n;
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int i = 0; i < f.n; i++) {
        if (F->frame_folders) probe_frames(&res[i], f.path[i]);
        else probe_one(&res[i], f.path[i]);
    }

    for (int i = 0; i < f.n && st == VG_OK; i++) {
        if (res[i].st != VG_OK) {
            if (!spec->skip_bad) {
                st = vg_fail(res[i].st, "%s (skip unreadable files with skip_bad / --skip-bad)",
                             res[i].why ? res[i].why : f.path[i]);
                break;
            }
            st = add_skip(F, f.path[i], res[i].why, 0);
            F->report.num_bad++;
            continue;
        }
        /* frames a clip covers here: the stride's span, or at the target rate
         * round((T - 1) * r) + 1 with r = the video's fps / target fps */
        double step = F->stride;
        int64_t span = F->span;
        if (F->fps > 0) {
            const double vfps = res[i].desc.fps;
            if (!(vfps > 0) || !isfinite(vfps)) {
                char why[200];
                snprintf(why, sizeof why, "frame rate unknown: cannot sample clips at %g fps (--clip-fps)", F->fps);
                if (!spec->skip_bad) {
                    st = vg_fail(VG_ERR_INVALID, "%s: %s (skip such files with skip_bad / --skip-bad, or take every "
                                 "N-th frame with stride instead)", f.path[i], why);
                    break;
                }
                st = add_skip(F, f.path[i], why, 0);
                F->report.num_bad++;
                continue;
            }
            step = vfps / F->fps;
            const double frames_needed = floor((F->T - 1) * step + 0.5) + 1;
            span = frames_needed < 1e15 ? (int64_t)frames_needed : (int64_t)1e15; /* absurd rates: too short */
        }
        if (res[i].desc.frames < span) {
            char why[200];
            if (F->fps > 0)
                snprintf(why, sizeof why, "%lld frames at %.4g fps, a clip of %d frames at %g fps needs %lld",
                         (long long)res[i].desc.frames, res[i].desc.fps, F->T, F->fps, (long long)span);
            else
                snprintf(why, sizeof why, "%lld frames, a clip of %d frames with stride %d needs %lld",
                         (long long)res[i].desc.frames, F->T, F->stride, (long long)span);
            st = add_skip(F, f.path[i], why, 1);
            F->report.num_short++;
            continue;
        }
        vg_folder_video *v = &F->videos[F->n];
        v->path = strdup(f.path[i]);
        v->codec = strdup(res[i].codec);
        if (!v->path || !v->codec) {
            free((char *)v->path);
            free((char *)v->codec);
            st = vg_fail(VG_ERR_NOMEM, "%s: out of memory", F->root);
            break;
        }
        v->label = label[i];
        v->frames = res[i].desc.frames;
        v->width = res[i].desc.width;
        v->height = res[i].desc.height;
        v->fps = res[i].desc.fps;
        v->span = span;
        v->step = step;
        F->index[F->n] = res[i].index;
        F->flist[F->n] = res[i].flist;
        res[i].index = NULL;
        res[i].flist = NULL;
        F->cum[F->n + 1] = F->cum[F->n] + (v->frames - span + 1);
        F->report.total_frames += v->frames;
        F->n++;
    }
    free(label);
    if (st == VG_OK && F->n == 0) {
        const vg_folder_skip *s = F->num_skipped ? &F->skipped[0] : NULL;
        st = vg_fail(VG_ERR_INVALID, "%s: none of the %d %s is usable (%d unreadable, %d shorter than a clip); first: %s: %s",
                     F->root, f.n, F->frame_folders ? "frame folders" : "video files", F->report.num_bad,
                     F->report.num_short, s ? s->path : "?", s ? s->reason : "?");
    }
done:
    for (int i = 0; res && i < f.n; i++) {
        free(res[i].why);
        vg_video_index_free(res[i].index);
        vg_frame_list_free(res[i].flist);
    }
    free(res);
    found_free(&f);
    found_free(&frames);
    return st;
}

vg_status vg_folder_open(vg_dataset *ds, const vg_dataset_spec *spec, const char *dir) {
    vg_video_folder *F = calloc(1, sizeof *F);
    if (!F) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", dir);
    ds->folder = F;
    if (pthread_mutex_init(&F->lock, NULL) != 0) {
        free(F);
        ds->folder = NULL;
        return vg_fail(VG_ERR_NOMEM, "%s: cannot create a mutex", dir);
    }
    if (!(F->root = strdup(dir))) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", dir);
    ds->desc.source = F->root;
    F->T = spec->frames;
    F->size = spec->size;
    F->stride = spec->stride ? spec->stride : 1;
    F->fps = spec->fps;
    F->labels = spec->labels;
    F->C = spec->channels ? spec->channels : 3;
    if (F->C != 1 && F->C != 3) return vg_fail(VG_ERR_INVALID, "%s: channels %d: expected 1 or 3", dir, spec->channels);
    if (F->stride < 1 || F->stride > 10000)
        return vg_fail(VG_ERR_INVALID, "%s: stride %d: expected 1..10000", dir, spec->stride);
    F->span = (int64_t)(F->T - 1) * F->stride + 1;
    vg_status st = folder_build(F, spec);
    if (st != VG_OK) return st;
    int64_t epoch = 0;
    for (int i = 0; i < F->n; i++) {
        int64_t k = F->videos[i].frames / F->videos[i].span;
        epoch += k > 0 ? k : 1;
    }
    ds->desc.channels = F->C;
    ds->desc.num_classes = F->num_classes;
    ds->desc.class_names = (const char *const *)F->classes;
    ds->desc.size = epoch;
    ds->desc.infinite = 1;
    vg_folder_report *r = &F->report;
    r->root = F->root;
    r->frame_folders = F->frame_folders;
    r->num_videos = F->n;
    r->videos = F->videos;
    r->clip_span = F->fps > 0 ? 0 : F->span;
    r->num_skipped = F->num_skipped;
    r->skipped = F->skipped;
    return VG_OK;
}

void vg_folder_close(vg_dataset *ds) {
    vg_video_folder *F = ds->folder;
    if (!F) return;
    for (int i = 0; i < F->pool_n; i++) vg_video_close(F->pool[i].v);
    for (int i = 0; i < F->ipool_n; i++) vg_image_decoder_free(F->ipool[i]);
    for (int i = 0; i < F->n; i++) {
        free((char *)F->videos[i].path);
        free((char *)F->videos[i].codec);
        vg_video_index_free(F->index[i]);
        vg_frame_list_free(F->flist[i]);
    }
    for (int i = 0; i < F->num_skipped; i++) {
        free((char *)F->skipped[i].path);
        free((char *)F->skipped[i].reason);
    }
    for (int i = 0; F->classes && i < F->num_classes; i++) free(F->classes[i]);
    free(F->classes);
    free(F->videos);
    free(F->index);
    free(F->flist);
    free(F->cum);
    free(F->skipped);
    free(F->root);
    pthread_mutex_destroy(&F->lock);
    free(F);
    ds->folder = NULL;
}

const vg_folder_report *vg_video_folder_report(const vg_dataset *ds) {
    if (!ds || ds->kind != VG_DS_FOLDER || !ds->folder) {
        vg_fail(VG_ERR_INVALID, "vg_video_folder_report: '%s' is not a folder of videos", ds ? ds->desc.source : "(null)");
        return NULL;
    }
    return &ds->folder->report;
}

/* ---- clips ----------------------------------------------------------------------------- */

/* An open decoder for video i: from the pool, or newly opened. */
static vg_status pool_take(vg_video_folder *F, int i, vg_video **out) {
    *out = NULL;
    pthread_mutex_lock(&F->lock);
    for (int k = F->pool_n - 1; k >= 0; k--)
        if (F->pool[k].video == i) {
            *out = F->pool[k].v;
            memmove(&F->pool[k], &F->pool[k + 1], (size_t)(F->pool_n - k - 1) * sizeof *F->pool);
            F->pool_n--;
            break;
        }
    pthread_mutex_unlock(&F->lock);
    if (*out) return VG_OK;
    return vg_video_open_indexed(out, F->videos[i].path, F->index[i]);
}

/* Back to the pool (most recent last); the oldest is closed when full. */
static void pool_give(vg_video_folder *F, int i, vg_video *v) {
    vg_video *evict = NULL;
    pthread_mutex_lock(&F->lock);
    if (F->pool_n == POOL_SIZE) {
        evict = F->pool[0].v;
        memmove(&F->pool[0], &F->pool[1], (size_t)(POOL_SIZE - 1) * sizeof *F->pool);
        F->pool_n--;
    }
    F->pool[F->pool_n++] = (pooled){v, i};
    pthread_mutex_unlock(&F->lock);
    vg_video_close(evict);
}

void vg_folder_sample(const vg_dataset *ds, int64_t index, vg_clip_sample *out) {
    const vg_video_folder *F = ds->folder;
    vg_clip_rng r;
    vg_clip_rng_init(&r, ds->seed, index, VG_RNG_TAG_FOLDER);
    uint64_t hi = vg_clip_rng_u32(&r), lo = vg_clip_rng_u32(&r);
    const int64_t u = (int64_t)(((hi << 32) | lo) % (uint64_t)F->cum[F->n]);
    int a = 0, b = F->n - 1; /* the video with cum[v] <= u < cum[v + 1] */
    while (a < b) {
        int mid = (a + b + 1) / 2;
        if (F->cum[mid] <= u) a = mid;
        else b = mid - 1;
    }
    const vg_folder_video *v = &F->videos[a];
    out->item = a;
    out->start = u - F->cum[a];
    out->step = v->step;
    int rw, rh, offset, flip;
    vg_fit_resized(v->width, v->height, F->size, &rw, &rh);
    vg_clip_aug(ds->seed, index, (rw > rh ? rw : rh) - F->size, &offset, &flip);
    out->crop_x = out->crop_y = -1;
    if (ds->crop == VG_CROP_RANDOM) {
        out->crop_x = rw > rh ? offset : 0;
        out->crop_y = rw > rh ? 0 : offset;
    }
    out->flip = ds->hflip ? flip : 0;
}

vg_status vg_folder_clip(const vg_dataset *ds, int64_t index, float *out, int64_t *label) {
    vg_video_folder *F = ds->folder;
    vg_clip_sample cs;
    vg_folder_sample(ds, index, &cs);
    const int vi = (int)cs.item;
    const int64_t start = cs.start;
    const vg_frame_fit fit = {cs.crop_x >= 0 ? VG_FIT_WINDOW : VG_FIT_CENTRE, cs.crop_x, cs.crop_y};
    const int T = F->T, S = F->size;
    const size_t plane = (size_t)S * S;
    uint8_t *rgb = malloc((size_t)T * plane * 3);
    int64_t *frames = malloc((size_t)T * sizeof *frames);
    if (!rgb || !frames) {
        free(rgb);
        free(frames);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory for a clip", F->videos[vi].path);
    }
    for (int k = 0; k < T; k++) frames[k] = vg_clip_sample_frame(&cs, k);
    vg_status st;
    if (F->frame_folders) {
        vg_image_decoder *d = NULL;
        pthread_mutex_lock(&F->lock);
        if (F->ipool_n > 0) d = F->ipool[--F->ipool_n];
        pthread_mutex_unlock(&F->lock);
        st = d ? VG_OK : vg_image_decoder_new(&d);
        if (st == VG_OK) st = vg_frame_list_read_clip(F->flist[vi], d, start, T, F->stride, S, &fit, rgb);
        pthread_mutex_lock(&F->lock);
        if (d && F->ipool_n < POOL_SIZE) F->ipool[F->ipool_n++] = d, d = NULL;
        pthread_mutex_unlock(&F->lock);
        vg_image_decoder_free(d);
    } else {
        vg_video *v;
        st = pool_take(F, vi, &v);
        if (st == VG_OK) st = vg_video_read_frames(v, frames, T, S, &fit, rgb);
        if (st == VG_OK) pool_give(F, vi, v);
        else vg_video_close(v);
    }
    if (st == VG_OK) {
        /* (T, S, S, 3) uint8 -> (C, T, S, S) in [-1, 1], mirrored when flipped */
        for (int t = 0; t < T; t++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    const size_t p = (size_t)y * S + x;
                    const uint8_t *px = rgb + ((size_t)t * plane + (size_t)y * S + (cs.flip ? S - 1 - x : x)) * 3;
                    if (F->C == 3) {
                        for (int c = 0; c < 3; c++) out[((size_t)c * T + t) * plane + p] = px[c] / 127.5f - 1.0f;
                    } else {
                        float l = 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2];
                        out[(size_t)t * plane + p] = l / 127.5f - 1.0f;
                    }
                }
        if (label) *label = F->videos[vi].label;
    }
    free(rgb);
    free(frames);
    return st;
}
