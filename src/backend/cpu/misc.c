/* CPU kernels: softmax over rows and embedding lookup.
 *
 * Softmax matches torch.softmax(x, -1): the row maximum is subtracted before
 * exp (stable for large inputs) and the row sum is taken in double.
 * Embedding matches torch.nn.functional.embedding (no padding_idx, no
 * max_norm); its backward scatter-adds rows of dout into dweight with each
 * dweight element summed in index order, so repeated indices give the same
 * bits for any thread count. Indices are validated by the ops layer. */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

static void softmax_forward(vg_real *out, const vg_real *inp, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * cols > 16384)
    for (int64_t r = 0; r < rows; r++) {
        const vg_real *x = inp + r * cols;
        vg_real *y = out + r * cols;
        vg_real m = -INFINITY;
        for (int64_t j = 0; j < cols; j++) m = x[j] > m ? x[j] : m;
        double sum = 0;
        for (int64_t j = 0; j < cols; j++) {
            double e = exp((double)x[j] - (double)m);
            y[j] = (vg_real)e;
            sum += e;
        }
        double inv = 1.0 / sum;
        for (int64_t j = 0; j < cols; j++) y[j] = (vg_real)((double)y[j] * inv);
    }
}

/* dx = y * (dy - sum(dy * y)) per row */
static void softmax_backward(vg_real *dinp, const vg_real *dout, const vg_real *out, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * cols > 16384)
    for (int64_t r = 0; r < rows; r++) {
        const vg_real *y = out + r * cols, *dy = dout + r * cols;
        vg_real *dx = dinp + r * cols;
        double dot = 0;
        for (int64_t j = 0; j < cols; j++) dot += (double)dy[j] * (double)y[j];
        for (int64_t j = 0; j < cols; j++) dx[j] += (vg_real)((double)y[j] * ((double)dy[j] - dot));
    }
}

static void embedding_forward(vg_real *out, const vg_real *weight, const int64_t *idx, int64_t n, int64_t dim) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n * dim > 16384)
    for (int64_t i = 0; i < n; i++) {
        const vg_real *src = weight + idx[i] * dim;
        vg_real *dst = out + i * dim;
        for (int64_t j = 0; j < dim; j++) dst[j] = src[j];
    }
}

/* Threads own disjoint column ranges and walk the indices in order. */
static void embedding_backward(vg_real *dweight, const vg_real *dout, const int64_t *idx, int64_t n, int64_t dim) {
    int64_t chunks = vg_get_threads();
    if (chunks > dim) chunks = dim;
    if (chunks < 1) chunks = 1;
    if (n * dim <= 16384) chunks = 1;
    int64_t width = (dim + chunks - 1) / chunks;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (chunks > 1)
    for (int64_t c = 0; c < chunks; c++) {
        int64_t j0 = c * width, j1 = j0 + width < dim ? j0 + width : dim;
        for (int64_t i = 0; i < n; i++) {
            vg_real *dst = dweight + idx[i] * dim;
            const vg_real *src = dout + i * dim;
            for (int64_t j = j0; j < j1; j++) dst[j] += src[j];
        }
    }
}

void vg_cpu_register_misc(vg_backend *be) {
    be->softmax_forward = softmax_forward;
    be->softmax_backward = softmax_backward;
    be->embedding_forward = embedding_forward;
    be->embedding_backward = embedding_backward;
}
