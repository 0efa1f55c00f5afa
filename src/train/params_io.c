/* Parameter sets <-> safetensors by name; see params_io.h. */
#include "train/params_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"

vg_status vg_params_to_writer(vg_params *P, vg_st_writer *w, const char *prefix, float **staging) {
    *staging = NULL;
    int64_t total = vg_params_numel_all(P);
    float *host = malloc((size_t)(total > 0 ? total : 1) * sizeof(float));
    if (!host) return vg_fail(VG_ERR_NOMEM, "out of memory staging %lld parameters", (long long)total);
    *staging = host;
    int64_t off = 0;
    /* params_finalize lays trainable tensors first, then buffers */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < vg_params_count(P); i++) {
            if (vg_params_is_buffer(P, i) != pass) continue;
            vg_tensor *t = vg_params_get(P, i);
            int64_t shape[VG_MAX_DIMS];
            int nd = vg_tensor_ndim(t);
            for (int k = 0; k < nd; k++) shape[k] = vg_tensor_dim(t, k);
            vg_tensor_read(t, host + off);
            char name[256];
            snprintf(name, sizeof name, "%s%s", prefix, vg_params_name(P, i));
            vg_status st = vg_st_writer_add_f32(w, name, nd, shape, host + off);
            if (st != VG_OK) return st;
            off += vg_tensor_numel(t);
        }
    return VG_OK;
}

vg_status vg_params_from_file(vg_params *P, const vg_st_file *f, const char *prefix, int strict) {
    size_t plen = strlen(prefix);
    for (int i = 0; i < vg_params_count(P); i++) {
        vg_tensor *t = vg_params_get(P, i);
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, vg_params_name(P, i));
        int k = vg_st_find(f, name);
        if (k < 0) return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' is missing", vg_st_path(f), name);
        int nd = vg_tensor_ndim(t);
        const int64_t *shape = vg_st_shape(f, k);
        int same = vg_st_ndim(f, k) == nd;
        for (int d = 0; same && d < nd; d++) same = shape[d] == vg_tensor_dim(t, d);
        if (!same) {
            char want[96] = "(", got[96] = "(";
            for (int d = 0; d < nd; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), d ? ", %lld" : "%lld", (long long)vg_tensor_dim(t, d));
            for (int d = 0; d < vg_st_ndim(f, k); d++)
                snprintf(got + strlen(got), sizeof got - strlen(got), d ? ", %lld" : "%lld", (long long)shape[d]);
            return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' has shape %s), the model needs %s)", vg_st_path(f), name, got, want);
        }
        int64_t n = vg_tensor_numel(t);
        float *host = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
        if (!host) return vg_fail(VG_ERR_NOMEM, "out of memory loading '%s'", name);
        vg_status st = vg_st_read_f32(f, name, host, n);
        if (st == VG_OK) st = vg_tensor_write(t, host);
        free(host);
        if (st != VG_OK) return st;
    }
    if (strict)
        for (int k = 0; k < vg_st_count(f); k++) {
            const char *name = vg_st_name(f, k);
            if (strncmp(name, prefix, plen) == 0 && !vg_params_find(P, name + plen))
                return vg_fail(VG_ERR_FORMAT, "%s: tensor '%s' does not belong to this model", vg_st_path(f), name);
        }
    return VG_OK;
}
