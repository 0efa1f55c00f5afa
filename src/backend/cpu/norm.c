/* CPU kernels: batch normalisation (per channel over N and the spatial dims)
 * and row normalisation (layer norm and instance norm: each row by its own
 * statistics). Matches torch.nn.functional.batch_norm / layer_norm /
 * instance_norm: biased variance for normalising, invstd = 1 / sqrt(var + eps),
 * the unbiased variance in the running-statistics update.
 *
 * Statistics are numerically stable and read the data from memory once:
 * blocks of up to STAT_BLOCK elements (cache-resident) get a corrected
 * two-pass mean and sum of squared deviations, and blocks merge with Chan's
 * pairwise update in double. Sums run in eight lanes added in a fixed
 * order, so results depend only on the data, never on scheduling or thread
 * count. Work is split over channels (batch norm) or rows (row norm);
 * parameter gradients shared between rows are reduced in a fixed order: a
 * separate pass over column blocks (layer norm), or one thread per channel
 * (instance norm). */
#include <math.h>

#include "backend/cpu/cpu.h"
#include "core/threads.h"

#define STAT_BLOCK 4096
#define PAR_MIN 32768 /* elements below which a kernel runs on one thread */

/* Count, mean and sum of squared deviations of a set of values. */
typedef struct moments {
    double n, mean, m2;
} moments;

/* a := a united with b (Chan, Golub & LeVeque's pairwise formula). */
static inline void moments_merge(moments *a, moments b) {
    if (b.n == 0) return;
    if (a->n == 0) {
        *a = b;
        return;
    }
    double n = a->n + b.n, delta = b.mean - a->mean;
    a->mean += delta * (b.n / n);
    a->m2 += b.m2 + delta * delta * (a->n * b.n / n);
    a->n = n;
}

static inline double sum8_total(const double *a) {
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* The sums below run 8 lanes; each lane adds CHUNK / 8 values in vg_real
 * (vectorised, 4 floats a register) and then flushes into a double, so
 * rounding is that of a few float additions, not of thousands. */
#define CHUNK 64

static double block_sum(const vg_real *x, int64_t n) {
    double a[8] = {0};
    int64_t i = 0;
    for (; i + CHUNK <= n; i += CHUNK) {
        vg_real p[8] = {0};
        for (int k = 0; k < CHUNK; k += 8)
            for (int j = 0; j < 8; j++) p[j] += x[i + k + j];
        for (int j = 0; j < 8; j++) a[j] += (double)p[j];
    }
    for (int j = 0; i < n; i++, j = (j + 1) & 7) a[j] += (double)x[i];
    return sum8_total(a);
}

/* *sd = sum(x - m), *sdd = sum((x - m)^2) */
static void block_dev(const vg_real *x, int64_t n, vg_real m, double *sd, double *sdd) {
    double a[8] = {0}, b[8] = {0};
    int64_t i = 0;
    for (; i + CHUNK <= n; i += CHUNK) {
        vg_real p[8] = {0}, q[8] = {0};
        for (int k = 0; k < CHUNK; k += 8)
            for (int j = 0; j < 8; j++) {
                vg_real d = x[i + k + j] - m;
                p[j] += d;
                q[j] += d * d;
            }
        for (int j = 0; j < 8; j++) {
            a[j] += (double)p[j];
            b[j] += (double)q[j];
        }
    }
    for (int j = 0; i < n; i++, j = (j + 1) & 7) {
        double d = (double)x[i] - (double)m;
        a[j] += d;
        b[j] += d * d;
    }
    *sd = sum8_total(a);
    *sdd = sum8_total(b);
}

/* Merge the moments of x[0, n) into m. Per block: a first pass for an
 * approximate mean m, a second for the deviations from it, corrected
 * exactly (mean = m + sum(d) / n, M2 = sum(d^2) - sum(d)^2 / n). */
static void moments_add(moments *m, const vg_real *x, int64_t n) {
    for (int64_t off = 0; off < n; off += STAT_BLOCK) {
        int64_t len = n - off < STAT_BLOCK ? n - off : STAT_BLOCK;
        vg_real approx = (vg_real)(block_sum(x + off, len) / (double)len);
        double sd, sdd;
        block_dev(x + off, len, approx, &sd, &sdd);
        double m2 = sdd - sd * sd / (double)len;
        moments_merge(m, (moments){(double)len, (double)approx + sd / (double)len, m2 > 0 ? m2 : 0});
    }
}

/* *sdy += sum(dy), *sdyx += sum(dy * (x - mean)) over [0, n). */
static void grad_sums(double *sdy, double *sdyx, const vg_real *dy, const vg_real *x, int64_t n, vg_real mean) {
    double a[8] = {0}, b[8] = {0};
    int64_t i = 0;
    for (; i + CHUNK <= n; i += CHUNK) {
        vg_real p[8] = {0}, q[8] = {0};
        for (int k = 0; k < CHUNK; k += 8)
            for (int j = 0; j < 8; j++) {
                vg_real g = dy[i + k + j];
                p[j] += g;
                q[j] += g * (x[i + k + j] - mean);
            }
        for (int j = 0; j < 8; j++) {
            a[j] += (double)p[j];
            b[j] += (double)q[j];
        }
    }
    for (int j = 0; i < n; i++, j = (j + 1) & 7) {
        double g = (double)dy[i];
        a[j] += g;
        b[j] += g * ((double)x[i] - (double)mean);
    }
    *sdy += sum8_total(a);
    *sdyx += sum8_total(b);
}

/* out = (x - mean) * a + b over [0, n). Written in chunks of 8 (and
 * restrict) so that gcc -O2 vectorises it. */
static inline void normalise_run(vg_real *restrict out, const vg_real *restrict x, int64_t n, vg_real mean, vg_real a,
                                 vg_real b) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) out[i + j] = (x[i + j] - mean) * a + b;
    for (; i < n; i++) out[i] = (x[i] - mean) * a + b;
}

/* dx += ka * dy + kb * (x - mean) + kc over [0, n) */
static inline void dx_run(vg_real *restrict dx, const vg_real *restrict dy, const vg_real *restrict x, int64_t n,
                          vg_real mean, vg_real ka, vg_real kb, vg_real kc) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) dx[i + j] += ka * dy[i + j] + kb * (x[i + j] - mean) + kc;
    for (; i < n; i++) dx[i] += ka * dy[i] + kb * (x[i] - mean) + kc;
}

/* dx_run with dx = dy = g: g = 0 + (ka * g + kb * (x - mean) + kc), the
 * same value dx_run adds to a zeroed dx (see backend.h) */
static inline void dx_run_inplace(vg_real *restrict g, const vg_real *restrict x, int64_t n, vg_real mean, vg_real ka,
                                  vg_real kb, vg_real kc) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) g[i + j] = (vg_real)0 + (ka * g[i + j] + kb * (x[i + j] - mean) + kc);
    for (; i < n; i++) g[i] = (vg_real)0 + (ka * g[i] + kb * (x[i] - mean) + kc);
}

/* ---- batch norm ------------------------------------------------------------ */

/* inp, out (N, C, S); statistics per channel over (N, S). d->training means
 * "batch statistics" (the ops layer also sets it when there are no running
 * buffers); save_mean/save_invstd (C) receive the statistics used, batch or
 * running, for the backward. */
static void batchnorm_forward(vg_real *out, vg_real *save_mean, vg_real *save_invstd, const vg_real *inp,
                              const vg_real *weight, const vg_real *bias, vg_real *running_mean,
                              vg_real *running_var, const struct vg_batchnorm_desc *d) {
    const int64_t N = d->N, C = d->C, S = d->S;
    const double M = (double)N * (double)S;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (N * C * S > PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double mean, var;
        if (d->training) {
            moments m = {0, 0, 0};
            for (int64_t n = 0; n < N; n++) moments_add(&m, inp + (n * C + c) * S, S);
            mean = m.mean;
            var = M > 0 ? m.m2 / M : 0;
            if (running_mean) {
                double unbiased = M > 1 ? m.m2 / (M - 1) : 0;
                running_mean[c] = (vg_real)((1 - d->momentum) * (double)running_mean[c] + d->momentum * mean);
                running_var[c] = (vg_real)((1 - d->momentum) * (double)running_var[c] + d->momentum * unbiased);
            }
        } else {
            mean = (double)running_mean[c];
            var = (double)running_var[c];
        }
        double invstd = 1.0 / sqrt(var + d->eps);
        if (save_mean) save_mean[c] = (vg_real)mean;
        if (save_invstd) save_invstd[c] = (vg_real)invstd;
        vg_real a = (vg_real)(invstd * (weight ? (double)weight[c] : 1.0));
        vg_real b = bias ? bias[c] : 0;
        for (int64_t n = 0; n < N; n++) {
            int64_t off = (n * C + c) * S;
            normalise_run(out + off, inp + off, S, (vg_real)mean, a, b);
        }
    }
}

/* With batch statistics, mean and variance depend on x:
 *   dx = w invstd (dy - mean(dy) - xhat mean(dy xhat)),  xhat = (x - mean) invstd;
 * with running statistics (eval) they are constants: dx = w invstd dy.
 * dweight += sum(dy xhat), dbias += sum(dy), sums over (N, S). */
/* inplace: dinp == dout, overwritten (see backend.h); a channel's sums
 * read all of its dout before its dinp is written, and channels are
 * disjoint, so each element is read before it is overwritten. */
static void batchnorm_backward_run(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                                   const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                                   const vg_real *save_invstd, const struct vg_batchnorm_desc *d, int inplace) {
    const int64_t N = d->N, C = d->C, S = d->S;
    const double M = (double)N * (double)S;
    const int need_sums = dweight || dbias || (dinp && d->training);
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (N * C * S > PAR_MIN)
    for (int64_t c = 0; c < C; c++) {
        double mean = (double)save_mean[c], invstd = (double)save_invstd[c];
        double sdy = 0, sdyx = 0;
        if (need_sums)
            for (int64_t n = 0; n < N; n++) {
                int64_t off = (n * C + c) * S;
                grad_sums(&sdy, &sdyx, dout + off, inp + off, S, (vg_real)mean);
            }
        if (dbias) dbias[c] += (vg_real)sdy;
        if (dweight) dweight[c] += (vg_real)(sdyx * invstd);
        if (!dinp) continue;
        double k = invstd * (weight ? (double)weight[c] : 1.0);
        double kb = 0, kc = 0;
        if (d->training && M > 0) {
            kb = -k * invstd * invstd * sdyx / M; /* xhat mean(dy xhat) = (x - mean) invstd^2 sdyx / M */
            kc = -k * sdy / M;
        }
        for (int64_t n = 0; n < N; n++) {
            int64_t off = (n * C + c) * S;
            if (inplace)
                dx_run_inplace(dinp + off, inp + off, S, (vg_real)mean, (vg_real)k, (vg_real)kb, (vg_real)kc);
            else
                dx_run(dinp + off, dout + off, inp + off, S, (vg_real)mean, (vg_real)k, (vg_real)kb, (vg_real)kc);
        }
    }
}

static void batchnorm_backward(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                               const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                               const vg_real *save_invstd, const struct vg_batchnorm_desc *d) {
    batchnorm_backward_run(dinp, dweight, dbias, dout, inp, weight, save_mean, save_invstd, d, 0);
}

static void batchnorm_backward_inplace(vg_real *g, vg_real *dweight, vg_real *dbias, const vg_real *inp,
                                       const vg_real *weight, const vg_real *save_mean, const vg_real *save_invstd,
                                       const struct vg_batchnorm_desc *d) {
    batchnorm_backward_run(g, dweight, dbias, g, inp, weight, save_mean, save_invstd, d, 1);
}

/* ---- row norm -------------------------------------------------------------- */

/* The affine scale and shift of element (r, j), given the desc's mode;
 * under an affine mode weight or bias alone may be NULL (1 and 0). */
static inline vg_real row_weight(const vg_real *w, const struct vg_rownorm_desc *d, int64_t r, int64_t j) {
    if (!w || d->affine == VG_AFFINE_NONE) return 1;
    return d->affine == VG_AFFINE_PER_COL ? w[j] : w[r % d->C];
}

static void rownorm_forward(vg_real *out, vg_real *save_mean, vg_real *save_invstd, const vg_real *inp,
                            const vg_real *weight, const vg_real *bias, const struct vg_rownorm_desc *d) {
    const int64_t rows = d->rows, cols = d->cols;
    const int per_col = d->affine == VG_AFFINE_PER_COL;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * cols > PAR_MIN)
    for (int64_t r = 0; r < rows; r++) {
        const vg_real *x = inp + r * cols;
        vg_real *y = out + r * cols;
        moments m = {0, 0, 0};
        moments_add(&m, x, cols);
        double invstd = 1.0 / sqrt((cols > 0 ? m.m2 / (double)cols : 0) + d->eps);
        if (save_mean) save_mean[r] = (vg_real)m.mean;
        if (save_invstd) save_invstd[r] = (vg_real)invstd;
        vg_real mean = (vg_real)m.mean, is = (vg_real)invstd;
        if (per_col) {
            for (int64_t j = 0; j < cols; j++) {
                vg_real v = (x[j] - mean) * is;
                if (weight) v *= weight[j];
                if (bias) v += bias[j];
                y[j] = v;
            }
        } else {
            vg_real a = (vg_real)(invstd * (double)row_weight(weight, d, r, 0));
            vg_real b = (bias && d->affine == VG_AFFINE_PER_CHANNEL) ? bias[r % d->C] : 0;
            normalise_run(y, x, cols, mean, a, b);
        }
    }
}

/* One row's input gradient, with g = dy * w (w per column or per row):
 *   dx = invstd (g - mean(g) - xhat mean(g xhat)).
 * For a per-row weight, *sdy / *sdyx return sum(dy) and sum(dy (x - mean))
 * for the parameter gradients. */
static void rownorm_row_backward(vg_real *dx, const vg_real *dy, const vg_real *x, const vg_real *weight,
                                 int64_t r, double mean, double invstd, const struct vg_rownorm_desc *d,
                                 double *sdy, double *sdyx) {
    const int64_t cols = d->cols;
    double sg = 0, sgx = 0;
    if (d->affine == VG_AFFINE_PER_COL && weight) {
        double a[8] = {0}, b[8] = {0};
        for (int64_t j = 0; j < cols; j++) {
            double g = (double)dy[j] * (double)weight[j];
            a[j & 7] += g;
            b[j & 7] += g * ((double)x[j] - mean);
        }
        sg = sum8_total(a);
        sgx = sum8_total(b);
        *sdy = *sdyx = 0;
    } else {
        grad_sums(sdy, sdyx, dy, x, cols, (vg_real)mean);
        double w = (double)row_weight(weight, d, r, 0);
        sg = w * *sdy;
        sgx = w * *sdyx;
    }
    if (!dx) return;
    double mg = sg / (double)cols, mgx = sgx * invstd * invstd / (double)cols;
    vg_real is = (vg_real)invstd, m = (vg_real)mean;
    if (d->affine == VG_AFFINE_PER_COL && weight) {
        vg_real kb = (vg_real)(-invstd * mgx), kc = (vg_real)(-invstd * mg);
        for (int64_t j = 0; j < cols; j++) dx[j] += is * dy[j] * weight[j] + kb * (x[j] - m) + kc;
    } else {
        double k = invstd * (double)row_weight(weight, d, r, 0);
        dx_run(dx, dy, x, cols, m, (vg_real)k, (vg_real)(-invstd * mgx), (vg_real)(-invstd * mg));
    }
}

/* Per-column parameter gradients (layer norm): dweight[j] += sum_r dy xhat,
 * dbias[j] += sum_r dy. Threads own column blocks; rows go in order. */
#define COL_BLOCK 64
static void rownorm_col_param_grads(vg_real *dweight, vg_real *dbias, const vg_real *dout, const vg_real *inp,
                                    const vg_real *save_mean, const vg_real *save_invstd,
                                    const struct vg_rownorm_desc *d) {
    const int64_t rows = d->rows, cols = d->cols, nblocks = (cols + COL_BLOCK - 1) / COL_BLOCK;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (rows * cols > PAR_MIN)
    for (int64_t blk = 0; blk < nblocks; blk++) {
        int64_t j0 = blk * COL_BLOCK, len = cols - j0 < COL_BLOCK ? cols - j0 : COL_BLOCK;
        double aw[COL_BLOCK] = {0}, ab[COL_BLOCK] = {0};
        for (int64_t r = 0; r < rows; r++) {
            const vg_real *x = inp + r * cols + j0, *dy = dout + r * cols + j0;
            double mean = (double)save_mean[r], invstd = (double)save_invstd[r];
            for (int64_t j = 0; j < len; j++) {
                aw[j] += (double)dy[j] * ((double)x[j] - mean) * invstd;
                ab[j] += (double)dy[j];
            }
        }
        for (int64_t j = 0; j < len; j++) {
            if (dweight) dweight[j0 + j] += (vg_real)aw[j];
            if (dbias) dbias[j0 + j] += (vg_real)ab[j];
        }
    }
}

static void rownorm_backward(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                             const vg_real *inp, const vg_real *weight, const vg_real *save_mean,
                             const vg_real *save_invstd, const struct vg_rownorm_desc *d) {
    const int64_t rows = d->rows, cols = d->cols;
    const int par = rows * cols > PAR_MIN;
    if (d->affine != VG_AFFINE_PER_CHANNEL) {
        if (dweight || dbias) /* only PER_COL has parameters here */
            rownorm_col_param_grads(dweight, dbias, dout, inp, save_mean, save_invstd, d);
        if (!dinp) return;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (par)
        for (int64_t r = 0; r < rows; r++) {
            double sdy = 0, sdyx = 0;
            int64_t off = r * cols;
            rownorm_row_backward(dinp + off, dout + off, inp + off, weight, r, (double)save_mean[r],
                                 (double)save_invstd[r], d, &sdy, &sdyx);
        }
        return;
    }
    /* per channel: rows c, c + C, c + 2C, ... stay on one thread, in order,
     * so each channel's parameter gradient is summed in a fixed order */
    const int64_t C = d->C, N = C > 0 ? rows / C : 0;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (par)
    for (int64_t c = 0; c < C; c++) {
        double gw = 0, gb = 0;
        for (int64_t n = 0; n < N; n++) {
            int64_t r = n * C + c, off = r * cols;
            double sdy = 0, sdyx = 0, invstd = (double)save_invstd[r];
            rownorm_row_backward(dinp ? dinp + off : NULL, dout + off, inp + off, weight, r, (double)save_mean[r],
                                 invstd, d, &sdy, &sdyx);
            gw += sdyx * invstd;
            gb += sdy;
        }
        if (dweight) dweight[c] += (vg_real)gw;
        if (dbias) dbias[c] += (vg_real)gb;
    }
}

void vg_cpu_register_norm(vg_backend *be) {
    be->batchnorm_forward = batchnorm_forward;
    be->batchnorm_backward = batchnorm_backward;
    be->batchnorm_backward_inplace = batchnorm_backward_inplace;
    be->rownorm_forward = rownorm_forward;
    be->rownorm_backward = rownorm_backward;
}
