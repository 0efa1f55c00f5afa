/* The tensor record. Data is contiguous and row-major; `data` and `grad`
 * point into backend memory (a step arena or a parameter set's single
 * buffer), never owned by the tensor itself. Autograd fields record the op
 * that produced the tensor, its inputs and what its backward needs. */
#ifndef VG_TENSOR_H
#define VG_TENSOR_H

#include <stdint.h>
#include "vidgan.h"

/* Propagate node->grad to node->src[i]->grad (accumulating). */
typedef void (*vg_backward_fn)(vg_ctx *ctx, vg_tensor *node);

#define VG_MAX_SRC 4

struct vg_tensor {
    int ndim;
    int64_t shape[VG_MAX_DIMS];
    int64_t numel;
    vg_real *data;  /* numel elements */
    vg_real *grad;  /* numel elements, or NULL (no gradient yet / none wanted) */
    vg_ctx *ctx;    /* the context whose backend owns data */

    unsigned requires_grad : 1; /* a gradient should reach this tensor */
    unsigned is_param : 1;      /* lives in a vg_params set; grad is its slice */
    unsigned is_leaf_input : 1; /* created by the user with requires_grad */

    /* autograd (NULL backward for leaves) */
    const char *op_name;
    vg_backward_fn backward;
    vg_tensor *src[VG_MAX_SRC];
    void *saved; /* op-specific: descriptor and saved buffers (step arena) */
};

#endif
