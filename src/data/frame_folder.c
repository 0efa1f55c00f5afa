/* frame_folder.c — list, sort (naturally) and check the frames of one frame
 * folder, and read clips from it (frame_folder.h). */
#include "data/frame_folder.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/checked.h"
#include "core/status.h"
#include "data/dataset_impl.h"

int vg_frame_is_image_name(const char *name) {
    static const char *const ext[] = {"png", "jpg", "jpeg"};
    return vg_name_has_ext(name, ext, sizeof ext / sizeof ext[0]);
}

int vg_natural_cmp(const char *a, const char *b) {
    const char *p = a, *q = b;
    while (*p && *q) {
        if (isdigit((unsigned char)*p) && isdigit((unsigned char)*q)) {
            while (*p == '0') p++;
            while (*q == '0') q++;
            size_t lp = 0, lq = 0;
            while (isdigit((unsigned char)p[lp])) lp++;
            while (isdigit((unsigned char)q[lq])) lq++;
            if (lp != lq) return lp < lq ? -1 : 1;
            int c = memcmp(p, q, lp);
            if (c) return c < 0 ? -1 : 1;
            p += lp, q += lq;
            continue;
        }
        if (*p != *q) return (unsigned char)*p < (unsigned char)*q ? -1 : 1;
        p++, q++;
    }
    if (*p || *q) return *p ? 1 : -1;
    return strcmp(a, b);
}

static int cmp_natural(const void *x, const void *y) { return vg_natural_cmp(*(char *const *)x, *(char *const *)y); }

void vg_frame_list_free(vg_frame_list *l) {
    if (!l) return;
    for (int64_t i = 0; i < l->n; i++) free(l->paths[i]);
    free(l->paths);
    free(l->dir);
    free(l);
}

/* The image files directly in l->dir into l->paths, naturally sorted. */
static vg_status list_frames(vg_frame_list *l) {
    DIR *d = opendir(l->dir);
    if (!d) return vg_fail(VG_ERR_IO, "%s: cannot list the frame folder: %s", l->dir, strerror(errno));
    vg_status st = VG_OK;
    int64_t cap = 0;
    size_t dl = strlen(l->dir);
    struct dirent *e;
    while (st == VG_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.' || !vg_frame_is_image_name(e->d_name)) continue;
        size_t len = dl + strlen(e->d_name) + 2;
        char *p = malloc(len);
        if (!p) {
            st = vg_fail(VG_ERR_NOMEM, "%s: out of memory listing frames", l->dir);
            break;
        }
        snprintf(p, len, "%s%s%s", l->dir, dl && l->dir[dl - 1] == '/' ? "" : "/", e->d_name);
        if (l->n == cap) {
            char **q = realloc(l->paths, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *q);
            if (!q) {
                free(p);
                st = vg_fail(VG_ERR_NOMEM, "%s: out of memory listing frames", l->dir);
                break;
            }
            l->paths = q;
        }
        l->paths[l->n++] = p;
    }
    closedir(d);
    if (st == VG_OK && l->n == 0) st = vg_fail(VG_ERR_FORMAT, "%s: no .png / .jpg / .jpeg frames in the folder", l->dir);
    if (st == VG_OK) qsort(l->paths, (size_t)l->n, sizeof *l->paths, cmp_natural);
    return st;
}

vg_status vg_frame_list_open(vg_frame_list **out, const char *dir) {
    *out = NULL;
    vg_frame_list *l = calloc(1, sizeof *l);
    if (!l || !(l->dir = strdup(dir))) {
        free(l);
        return vg_fail(VG_ERR_NOMEM, "%s: out of memory", dir);
    }
    vg_status st = list_frames(l);
    int kinds = 0;
    for (int64_t i = 0; st == VG_OK && i < l->n; i++) {
        vg_image_header h;
        if ((st = vg_image_check_file(l->paths[i], &h)) != VG_OK) break;
        kinds |= 1 << h.kind;
        if (i == 0) {
            l->width = h.width;
            l->height = h.height;
        } else if (h.width != l->width || h.height != l->height) {
            st = vg_fail(VG_ERR_FORMAT, "%s: frame of %dx%d pixels, but the folder's first frame (%s) is %dx%d", l->paths[i],
                         h.width, h.height, l->paths[0], l->width, l->height);
        }
    }
    if (st != VG_OK) {
        vg_frame_list_free(l);
        return st;
    }
    snprintf(l->codec, sizeof l->codec, "%s", kinds == 3 ? "png+jpeg" : kinds == 1 ? "png" : "jpeg");
    *out = l;
    return VG_OK;
}

vg_status vg_frame_list_read_clip(const vg_frame_list *l, vg_image_decoder *d, int64_t start, int T, int stride, int size,
                                  const vg_frame_fit *fit, uint8_t *out) {
    int64_t span, last;
    if (T < 1 || stride < 1 || start < 0 || size < 0 || !vg_mul_ok(T - 1, stride, &span) || !vg_add_ok(start, span, &last))
        return vg_fail(VG_ERR_INVALID, "%s: clip of %d frames from frame %lld with stride %d: expected T >= 1, stride >= 1, start >= 0",
                       l->dir, T, (long long)start, stride);
    if (last >= l->n)
        return vg_fail(VG_ERR_INVALID, "%s: clip of %d frames from frame %lld with stride %d needs frame %lld, but the folder has %lld frames",
                       l->dir, T, (long long)start, stride, (long long)last, (long long)l->n);
    const int OH = size > 0 ? size : l->height, OW = size > 0 ? size : l->width;
    const size_t frame_bytes = (size_t)OH * OW * 3;
    for (int k = 0; k < T; k++) {
        const char *path = l->paths[start + (int64_t)k * stride];
        int w, h;
        vg_status st = vg_image_read_file_fit(d, path, size, fit, out + (size_t)k * frame_bytes, frame_bytes, &w, &h);
        if (st != VG_OK) return st;
        if (w != l->width || h != l->height)
            return vg_fail(VG_ERR_FORMAT, "%s: decoded as %dx%d pixels, but the folder's frames are %dx%d", path, w, h, l->width,
                           l->height);
    }
    return VG_OK;
}
