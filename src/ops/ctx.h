/* Internal view of a context: the backend, the two step arenas (tensor
 * records on the host, tensor memory on the backend), the tape of recorded
 * nodes in creation order (a topological order), and the sticky status of
 * the first failed op since the last reset. */
#ifndef VG_CTX_H
#define VG_CTX_H

#include "backend/backend.h"
#include "core/arena.h"
#include "core/tensor.h"

struct vg_ctx {
    const vg_backend *be;
    vg_arena host;   /* tensor records, descriptors */
    vg_arena device; /* tensor data and gradients */
    vg_tensor **tape;
    int64_t tape_len, tape_cap;
    int grad_enabled;
    vg_precision precision; /* of its convolutions and GEMMs (into their descriptors) */
    vg_status status;
    /* gradient buffers free for reuse during a backward pass */
    struct vg_free_grad {
        vg_real *ptr;
        int64_t numel;
    } *free_grads;
    int64_t n_free, cap_free;
};

/* The backend a context (and its parameter sets) computes on. */
static inline const vg_backend *vg_ctx_backend(const vg_ctx *ctx) { return ctx->be; }

#endif
