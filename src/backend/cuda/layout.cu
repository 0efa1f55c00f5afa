/* CUDA kernels: reductions along one axis (sums in double, like the CPU),
 * general permutation of up to five dims, and block copies along one axis
 * (concat, slice); semantics of src/backend/cpu/layout.c.
 *
 * A reduction with a long axis gets one block per output (threads stride
 * over the axis, then a tree in shared memory); a short axis gets one thread
 * per output. Both sum in a fixed order: results are deterministic, though
 * not bit-identical to the CPU's (a different order of double additions,
 * rounded once to float). Permutation and blocks are one thread per output
 * element: plain copies, exact. */
#include "backend/cuda/cuda.h"

#define THREADS 256
#define LONG_AXIS 128 /* reduced axis length from which a block sums one output */

#define GRID_LOOP(i, n) \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

/* ---- reductions ---------------------------------------------------------- */

__global__ void reduce_thread_kernel(float *out, const float *inp, int64_t outer, int64_t len, int64_t inner,
                                     double scale) {
    GRID_LOOP(t, outer * inner) {
        int64_t o = t / inner, i = t % inner;
        const float *p = inp + o * len * inner + i;
        double s = 0;
        for (int64_t l = 0; l < len; l++) s += (double)p[l * inner];
        out[t] = (float)(scale * s);
    }
}

__global__ void reduce_block_kernel(float *out, const float *inp, int64_t outer, int64_t len, int64_t inner,
                                    double scale) {
    __shared__ double part[THREADS];
    for (int64_t t = blockIdx.x; t < outer * inner; t += gridDim.x) {
        int64_t o = t / inner, i = t % inner;
        const float *p = inp + o * len * inner + i;
        double s = 0;
        for (int64_t l = threadIdx.x; l < len; l += blockDim.x) s += (double)p[l * inner];
        part[threadIdx.x] = s;
        __syncthreads();
        for (int w = THREADS / 2; w > 0; w >>= 1) {
            if ((int)threadIdx.x < w) part[threadIdx.x] += part[threadIdx.x + w];
            __syncthreads();
        }
        if (threadIdx.x == 0) out[t] = (float)(scale * part[0]);
        __syncthreads();
    }
}

static void reduce_forward(vg_real *out, const vg_real *inp, const struct vg_reduce_desc *d) {
    int64_t outputs = d->outer * d->inner;
    if (outputs <= 0) return;
    if (d->len >= LONG_AXIS && outputs < 65536) {
        reduce_block_kernel<<<(unsigned)outputs, THREADS, 0, vg_cuda.stream>>>(out, inp, d->outer, d->len, d->inner,
                                                                              d->scale);
    } else {
        reduce_thread_kernel<<<vg_cuda_blocks(outputs, THREADS), THREADS, 0, vg_cuda.stream>>>(out, inp, d->outer,
                                                                                                d->len, d->inner, d->scale);
    }
    CUDA_LAUNCHED("reduce_kernel");
}

/* dinp (outer, len, inner) += scale * dout (outer, inner) */
__global__ void reduce_backward_kernel(float *dinp, const float *dout, int64_t outer, int64_t len, int64_t inner,
                                      double scale) {
    GRID_LOOP(e, outer * len * inner) {
        int64_t i = e % inner, r = e / inner;
        dinp[e] += (float)(scale * (double)dout[(r / len) * inner + i]);
    }
}

static void reduce_backward(vg_real *dinp, const vg_real *dout, const struct vg_reduce_desc *d) {
    int64_t n = d->outer * d->len * d->inner;
    if (n <= 0) return;
    reduce_backward_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dinp, dout, d->outer, d->len,
                                                                                      d->inner, d->scale);
    CUDA_LAUNCHED("reduce_backward_kernel");
}

/* ---- permutation ----------------------------------------------------------- */

/* out (contiguous, out_shape) = or += src read with src_stride per out dim. */
struct perm_plan {
    int nd;
    int64_t out_shape[VG_MAX_DIMS];
    int64_t src_stride[VG_MAX_DIMS];
};

__global__ void permute_kernel(float *dst, const float *src, int64_t n, perm_plan p, int acc) {
    GRID_LOOP(e, n) {
        int64_t rest = e, off = 0;
        for (int k = p.nd - 1; k >= 0; k--) {
            off += (rest % p.out_shape[k]) * p.src_stride[k];
            rest /= p.out_shape[k];
        }
        if (acc)
            dst[e] += src[off];
        else
            dst[e] = src[off];
    }
}

/* out dim i is in dim perm[i]. */
static void permute_run(vg_real *dst, const vg_real *src, int ndim, const int64_t *in_shape, const int *perm, int acc) {
    int64_t in_stride[VG_MAX_DIMS], s = 1, n = 1;
    for (int k = ndim - 1; k >= 0; k--) {
        in_stride[k] = s;
        s *= in_shape[k];
    }
    perm_plan p;
    p.nd = ndim;
    for (int i = 0; i < ndim; i++) {
        p.out_shape[i] = in_shape[perm[i]];
        p.src_stride[i] = in_stride[perm[i]];
        n *= p.out_shape[i];
    }
    if (n <= 0) return;
    permute_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(dst, src, n, p, acc);
    CUDA_LAUNCHED("permute_kernel");
}

static void permute_forward(vg_real *out, const vg_real *inp, const struct vg_permute_desc *d) {
    permute_run(out, inp, d->ndim, d->in_shape, d->perm, 0);
}

/* dinp += dout under the inverse permutation */
static void permute_backward(vg_real *dinp, const vg_real *dout, const struct vg_permute_desc *d) {
    int64_t out_shape[VG_MAX_DIMS];
    int inv[VG_MAX_DIMS];
    for (int i = 0; i < d->ndim; i++) {
        out_shape[i] = d->in_shape[d->perm[i]];
        inv[d->perm[i]] = i;
    }
    permute_run(dinp, dout, d->ndim, out_shape, inv, 1);
}

/* ---- blocks along one axis ---------------------------------------------------- */

/* to_small: small[o, i, j] (= or +=) big[o, offset + i step, j]; else the reverse. */
__global__ void block_kernel(float *small, float *big, int64_t outer, int64_t inner, int64_t big_len,
                             int64_t small_len, int64_t offset, int64_t step, int to_small, int acc) {
    GRID_LOOP(e, outer * small_len * inner) {
        int64_t j = e % inner, r = e / inner;
        int64_t o = r / small_len, i = r % small_len;
        int64_t b = (o * big_len + offset + i * step) * inner + j;
        if (to_small) {
            if (acc)
                small[e] += big[b];
            else
                small[e] = big[b];
        } else {
            if (acc)
                big[b] += small[e];
            else
                big[b] = small[e];
        }
    }
}

static void block_run(vg_real *small, vg_real *big, const struct vg_block_desc *d, int to_small, int acc) {
    int64_t n = d->outer * d->small_len * d->inner;
    if (n <= 0) return;
    block_kernel<<<vg_cuda_blocks(n, THREADS), THREADS, 0, vg_cuda.stream>>>(small, big, d->outer, d->inner, d->big_len,
                                                                            d->small_len, d->offset, d->step,
                                                                            to_small, acc);
    CUDA_LAUNCHED("block_kernel");
}

static void block_extract(vg_real *small, const vg_real *big, const struct vg_block_desc *d, int accumulate) {
    block_run(small, (vg_real *)big, d, 1, accumulate); /* big only read */
}

static void block_insert(vg_real *big, const vg_real *small, const struct vg_block_desc *d, int accumulate) {
    block_run((vg_real *)small, big, d, 0, accumulate); /* small only read */
}

void vg_cuda_register_layout(vg_backend *be) {
    be->reduce_forward = reduce_forward;
    be->reduce_backward = reduce_backward;
    be->permute_forward = permute_forward;
    be->permute_backward = permute_backward;
    be->block_extract = block_extract;
    be->block_insert = block_insert;
}
