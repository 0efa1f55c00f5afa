/* What every op file uses to build a node: input checks with NULL
 * propagation, output allocation with autograd recording, step-arena
 * scratch, and a guard for kernels the backend lacks. An op file holds the
 * forward function (public API) and its backward (static), nothing else. */
#ifndef VG_OP_H
#define VG_OP_H

#include <stddef.h>
#include "core/status.h"
#include "ops/ctx.h"

/* Record a failure on the context (the first one sticks) and set the
 * thread's error message: "<op>: <message>". Returns NULL for convenience. */
vg_tensor *vg_op_fail(vg_ctx *ctx, vg_status s, const char *op, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* 1 if every given input is non-NULL and belongs to ctx. A NULL input means
 * an earlier op failed: return NULL without touching the message. */
int vg_op_inputs_ok(vg_ctx *ctx, const char *op, int n, vg_tensor *const *xs);

/* A new output tensor of the given shape (uninitialised data). It records
 * srcs and bw for autograd when grad mode is on and any src requires grad.
 * NULL (with ctx failure set) on bad shape or out of memory. */
vg_tensor *vg_op_output(vg_ctx *ctx, const char *op, int ndim, const int64_t *shape, vg_tensor *const *srcs,
                        int nsrc, vg_backward_fn bw);

/* Like vg_op_output with x's shape, but the output shares x's memory (an
 * in-place op); refuses parameters and inputs that require grad. */
vg_tensor *vg_op_output_inplace(vg_ctx *ctx, const char *op, vg_tensor *x, vg_backward_fn bw);

/* Step-arena memory for saved descriptors (host) and buffers (backend). */
void *vg_op_saved(vg_ctx *ctx, const char *op, size_t bytes);
vg_real *vg_op_buffer(vg_ctx *ctx, const char *op, int64_t n);

/* The gradient buffer of a tensor, allocated (zeroed) on first use, or NULL
 * when the tensor needs no gradient. Use inside backward functions. */
vg_real *vg_op_grad(vg_ctx *ctx, vg_tensor *t);

/* The gradient buffer of node (holding its dout) handed over to its input
 * x, when x has none yet: x's first gradient contribution then overwrites
 * node's in place (an elementwise backward reading dout[i] only to write
 * dx[i], with a backend's *_inplace kernel), and later ones accumulate into
 * it as usual. Saves a buffer of x's size and its zeroing. NULL (nothing
 * changed) when x needs no gradient, has one already, is a parameter, or
 * differs from node in size; use vg_op_grad then. */
vg_real *vg_op_grad_take(vg_tensor *x, vg_tensor *node);

/* Around a kernel call: lend the kernels the step arena's free end for
 * their scratch, or during a backward an idle recycled gradient buffer when
 * that is bigger (backend.h's lend_workspace; nothing on a backend without
 * it), and end the loan. Nothing may be allocated from the arena between
 * the two. */
void vg_op_lend_workspace(vg_ctx *ctx);
void vg_op_end_workspace(vg_ctx *ctx);

/* Fail with "backend <name> does not support <kernel>" when a kernel is missing. */
#define VG_NEED_KERNEL(ctx, op, kernel)                                                          \
    do {                                                                                         \
        if (!(ctx)->be->kernel)                                                                  \
            return vg_op_fail((ctx), VG_ERR_UNSUPPORTED, (op), "backend %s does not support %s", \
                              (ctx)->be->name, #kernel);                                         \
    } while (0)

/* Normalise a possibly negative dim index; -1 if out of range. */
static inline int vg_op_dim(int dim, int ndim) {
    if (dim < 0) dim += ndim;
    return (dim >= 0 && dim < ndim) ? dim : -1;
}

/* "(2, 3, 4)" into buf, for messages. */
const char *vg_shape_str(char *buf, size_t n, int ndim, const int64_t *shape);

#endif
