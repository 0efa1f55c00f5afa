/* feature_stats.c — Fréchet distance, KID and precision/recall between two
 * feature sets (definitions in feature_stats.h, conventions in docs/eval.md).
 *
 * Everything is double precision. The dense kernels (A^T B products, the
 * Jacobi rotations, pairwise distances and dot products) split their work
 * by rows over vg_get_threads() OpenMP threads; every output element is
 * computed by one thread in a fixed order, so results do not depend on the
 * thread count. The one place that reassociates sums is `omp simd`
 * reductions over a feature vector (fixed for a given build). */
#include "eval/feature_stats.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/threads.h"

#define JACOBI_MAX_SWEEPS 64
/* KID keeps the full kernel matrix of a ∪ b when it has at most this many
 * rows (8192^2 doubles = 512 MiB); beyond, every subset computes its own. */
#define KID_CACHE_MAX_ROWS 8192
/* Work below this many multiply-adds runs on one thread. */
#define PARALLEL_MIN_WORK 200000.0
/* Jacobi shares each step's rows between threads only from this size up: a
 * step is ~n^2 multiply-adds and ends in a barrier, and with smaller steps
 * the barriers cost more than they save as soon as the cores are shared
 * (measured at n = 400 and 512 on a loaded 2-core machine: 1 thread 1.6 s
 * and 3.8 s of CPU, 2 threads 31 s of mostly spinning). */
#define JACOBI_PARALLEL_MIN_DIM 1024

static int threads_for(double work) { return work < PARALLEL_MIN_WORK ? 1 : vg_get_threads(); }

/* calloc of count doubles with an overflow check. */
static double *alloc_doubles(int64_t count) {
    int64_t bytes;
    if (count < 1) count = 1;
    if (!vg_mul_ok(count, (int64_t)sizeof(double), &bytes) || (uint64_t)bytes > SIZE_MAX) return NULL;
    return calloc((size_t)count, sizeof(double));
}

static vg_status check_finite(const double *x, int64_t count, const char *what) {
    for (int64_t i = 0; i < count; i++)
        if (!isfinite(x[i]))
            return vg_fail(VG_ERR_NUMERIC, "feature_stats: %s: element %lld is not finite (%g)", what, (long long)i,
                           x[i]);
    return VG_OK;
}

static vg_status check_set(const double *x, int64_t n, int64_t dim, int64_t min_n, const char *what) {
    int64_t count;
    if (!x) return vg_fail(VG_ERR_INVALID, "feature_stats: %s is NULL", what);
    if (dim < 1) return vg_fail(VG_ERR_INVALID, "feature_stats: %s: dim %lld, expected >= 1", what, (long long)dim);
    if (n < min_n)
        return vg_fail(VG_ERR_INVALID, "feature_stats: %s: %lld rows, expected at least %lld", what, (long long)n,
                       (long long)min_n);
    if (!vg_mul_ok(n, dim, &count)) return vg_fail(VG_ERR_NOMEM, "feature_stats: %s: size overflows", what);
    return check_finite(x, count, what);
}

/* A symmetric (dim, dim) input: finite, and a_ij == a_ji up to rounding. */
static vg_status check_symmetric(const double *a, int64_t dim, const char *what) {
    vg_status s = check_finite(a, dim * dim, what);
    if (s != VG_OK) return s;
    double scale = 0;
    for (int64_t i = 0; i < dim * dim; i++) scale = fmax(scale, fabs(a[i]));
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = i + 1; j < dim; j++)
            if (fabs(a[i * dim + j] - a[j * dim + i]) > 1e-10 * scale)
                return vg_fail(VG_ERR_INVALID, "feature_stats: %s is not symmetric: [%lld,%lld] = %g but [%lld,%lld] = %g",
                               what, (long long)i, (long long)j, a[i * dim + j], (long long)j, (long long)i,
                               a[j * dim + i]);
    return VG_OK;
}

/* ---- dense kernels -------------------------------------------------------- */

/* c (m, n) = a^T b with a (K, m), b (K, n), all row-major: four rows of c
 * at a time against a tile of b's rows, so each b element loaded feeds four
 * multiply-adds. Rows of c are split over threads. */
static void gemm_atb(double *c, const double *a, const double *b, int64_t K, int64_t m, int64_t n) {
    const int64_t KT = 64;
    memset(c, 0, (size_t)(m * n) * sizeof *c);
    const int64_t nblk = (m + 3) / 4;
#pragma omp parallel for schedule(static) num_threads(threads_for((double)K * m * n))
    for (int64_t blk = 0; blk < nblk; blk++) {
        const int64_t i0 = blk * 4, rows = m - i0 < 4 ? m - i0 : 4;
        double *c0 = c + i0 * n, *c1 = c0 + (rows > 1 ? n : 0), *c2 = c0 + (rows > 2 ? 2 * n : 0),
               *c3 = c0 + (rows > 3 ? 3 * n : 0);
        for (int64_t k0 = 0; k0 < K; k0 += KT) {
            const int64_t k1 = k0 + KT < K ? k0 + KT : K;
            for (int64_t k = k0; k < k1; k++) {
                const double *ak = a + k * m + i0, *bk = b + k * n;
                /* rows beyond m reuse row i0 with a zero coefficient */
                const double x0 = ak[0], x1 = rows > 1 ? ak[1] : 0, x2 = rows > 2 ? ak[2] : 0,
                             x3 = rows > 3 ? ak[3] : 0;
                if (rows == 4) {
#pragma omp simd
                    for (int64_t j = 0; j < n; j++) {
                        const double v = bk[j];
                        c0[j] += x0 * v;
                        c1[j] += x1 * v;
                        c2[j] += x2 * v;
                        c3[j] += x3 * v;
                    }
                } else {
                    for (int64_t j = 0; j < n; j++) {
                        const double v = bk[j];
                        c0[j] += x0 * v;
                        if (rows > 1) c1[j] += x1 * v;
                        if (rows > 2) c2[j] += x2 * v;
                    }
                }
            }
        }
    }
}

/* Dot products of x with four rows y0..y3 (length dim). */
static void dot4(double out[4], const double *x, const double *y0, const double *y1, const double *y2,
                 const double *y3, int64_t dim) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t k = 0; k < dim; k++) {
        s0 += x[k] * y0[k];
        s1 += x[k] * y1[k];
        s2 += x[k] * y2[k];
        s3 += x[k] * y3[k];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

static double dot1(const double *x, const double *y, int64_t dim) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < dim; k++) s += x[k] * y[k];
    return s;
}

/* Squared Euclidean distances of x to four rows y0..y3, from the
 * differences (not |x|^2 + |y|^2 - 2 x.y, which cancels). */
static void sqdist4(double out[4], const double *x, const double *y0, const double *y1, const double *y2,
                    const double *y3, int64_t dim) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (int64_t k = 0; k < dim; k++) {
        const double d0 = x[k] - y0[k], d1 = x[k] - y1[k], d2 = x[k] - y2[k], d3 = x[k] - y3[k];
        s0 += d0 * d0;
        s1 += d1 * d1;
        s2 += d2 * d2;
        s3 += d3 * d3;
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

static double sqdist1(const double *x, const double *y, int64_t dim) {
    double s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t k = 0; k < dim; k++) {
        const double d = x[k] - y[k];
        s += d * d;
    }
    return s;
}

/* ---- moments ---------------------------------------------------------------- */

static void moments(double *mean, double *cov, double *centered, const double *x, int64_t n, int64_t dim) {
    for (int64_t j = 0; j < dim; j++) mean[j] = 0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dim; j++) mean[j] += x[i * dim + j];
    for (int64_t j = 0; j < dim; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < dim; j++) centered[i * dim + j] = x[i * dim + j] - mean[j];
    gemm_atb(cov, centered, centered, n, dim, dim);
    const double inv = 1.0 / (double)(n - 1);
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++) { /* exactly symmetric */
            const double v = 0.5 * (cov[i * dim + j] + cov[j * dim + i]) * inv;
            cov[i * dim + j] = cov[j * dim + i] = v;
        }
}

vg_status vg_feature_moments(double *mean, double *cov, const double *x, int64_t n, int64_t dim) {
    if (!mean || !cov) return vg_fail(VG_ERR_INVALID, "feature_moments: mean or cov output is NULL");
    vg_status s = check_set(x, n, dim, 2, "feature_moments: features");
    if (s != VG_OK) return s;
    double *centered = alloc_doubles(n * dim);
    if (!centered) return vg_fail(VG_ERR_NOMEM, "feature_moments: out of memory for %lld x %lld features",
                                  (long long)n, (long long)dim);
    moments(mean, cov, centered, x, n, dim);
    free(centered);
    return VG_OK;
}

/* ---- symmetric eigen-decomposition by cyclic Jacobi ------------------------- */

/* Diagonalise the symmetric a (n, n, row-major; overwritten) by Jacobi
 * rotations in round-robin ("parallel") order: each step rotates n/2
 * disjoint pairs (p, q) at once, which is the same as applying them one by
 * one. Every rotation zeroes its a_pq (Golub & Van Loan, Alg. 8.5.2); a
 * sweep is n - 1 steps (every pair once). A step is one pass over the
 * matrix: rows p and q of J^T a J are rows p and q of a rotated, then
 * multiplied by J on the right (every column pair of the step), so each
 * pair of rows is one independent task for a thread.
 * A pair is skipped when |a_pq| <= eps sqrt(|a_pp a_qq|) (relative
 * accuracy) or below 1e-3 eps ||a||_F / n (it cannot move any eigenvalue by
 * more than that); in the first three sweeps also when it is below a fifth
 * of the mean off-diagonal magnitude (Rutishauser's threshold, to rotate
 * the large entries first). The iteration ends after a sweep that rotates
 * nothing. vt (n, n), if not NULL, receives the eigenvectors as rows; w the
 * eigenvalues; both unsorted. Returns 1 when converged, 0 if not, -1 when
 * out of memory. */
static int jacobi_rotate(double *a, double *vt, double *w, int64_t n) {
    const int64_t m = n + (n & 1); /* one idle slot when n is odd */
    const int64_t npairs = m / 2;
    int64_t *pos = malloc((size_t)m * sizeof *pos);
    int64_t *slot_p = malloc((size_t)npairs * sizeof *slot_p), *slot_q = malloc((size_t)npairs * sizeof *slot_q);
    double *slot_c = malloc((size_t)npairs * sizeof *slot_c), *slot_s = malloc((size_t)npairs * sizeof *slot_s);
    /* the step's rotations, compacted: (act_p[r], act_q[r], act_c[r], act_s[r]) */
    int64_t *act_p = malloc((size_t)npairs * sizeof *act_p), *act_q = malloc((size_t)npairs * sizeof *act_q);
    double *act_c = malloc((size_t)npairs * sizeof *act_c), *act_s = malloc((size_t)npairs * sizeof *act_s);
    int converged = 0;
    if (!pos || !slot_p || !slot_q || !slot_c || !slot_s || !act_p || !act_q || !act_c || !act_s) {
        converged = -1;
        goto done;
    }
    if (vt)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++) vt[i * n + j] = i == j;
    double norm2 = 0;
    for (int64_t i = 0; i < n * n; i++) norm2 += a[i] * a[i];
    const double floor_abs = 1e-3 * DBL_EPSILON * sqrt(norm2) / (double)n;
    int64_t active = 0, rotations = 0, deferred = 0;
    double early = 0;

#pragma omp parallel num_threads(n >= JACOBI_PARALLEL_MIN_DIM ? vg_get_threads() : 1)
    {
        for (int sweep = 0; sweep < JACOBI_MAX_SWEEPS && !converged; sweep++) {
#pragma omp single
            {
                for (int64_t i = 0; i < m; i++) pos[i] = i;
                rotations = 0, deferred = 0, early = 0;
                if (sweep < 3) {
                    double off = 0;
                    for (int64_t i = 0; i < n; i++)
                        for (int64_t j = 0; j < n; j++) off += i == j ? 0 : fabs(a[i * n + j]);
                    early = 0.2 * off / ((double)n * (double)n);
                }
            }
            for (int64_t step = 0; step < m - 1; step++) {
#pragma omp single
                {
                    active = 0;
                    for (int64_t i = 0; i < npairs; i++) {
                        int64_t p = pos[i], q = pos[m - 1 - i];
                        if (p > q) { int64_t t = p; p = q; q = t; }
                        slot_p[i] = p, slot_q[i] = q, slot_c[i] = 1, slot_s[i] = 0;
                        if (q >= n) continue; /* the idle slot */
                        const double apq = a[p * n + q], app = a[p * n + p], aqq = a[q * n + q];
                        if (fabs(apq) <= floor_abs || fabs(apq) <= DBL_EPSILON * sqrt(fabs(app * aqq))) {
                            a[p * n + q] = a[q * n + p] = 0;
                            continue;
                        }
                        if (fabs(apq) < early) {
                            deferred++;
                            continue;
                        }
                        /* t = tan(theta) of the rotation that zeroes a_pq, the smaller root */
                        const double theta = (aqq - app) / (2 * apq);
                        const double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + hypot(theta, 1.0));
                        const double c = 1 / sqrt(t * t + 1), s = t * c;
                        slot_c[i] = c, slot_s[i] = s;
                        act_p[active] = p, act_q[active] = q, act_c[active] = c, act_s[active] = s;
                        active++;
                    }
                    rotations += active;
                }
                if (active > 0) {
#pragma omp for schedule(static)
                    for (int64_t i = 0; i < npairs; i++) {
                        const int64_t p = slot_p[i], q = slot_q[i];
                        const double c = slot_c[i], s = slot_s[i];
                        const int rotate = s != 0, has_q = q < n;
                        double *ap = a + p * n, *aq = has_q ? a + q * n : NULL;
                        if (rotate) { /* rows: J^T a */
#pragma omp simd
                            for (int64_t k = 0; k < n; k++) {
                                const double x = ap[k], y = aq[k];
                                ap[k] = c * x - s * y;
                                aq[k] = s * x + c * y;
                            }
                            if (vt) {
                                double *vp = vt + p * n, *vq = vt + q * n;
#pragma omp simd
                                for (int64_t k = 0; k < n; k++) {
                                    const double x = vp[k], y = vq[k];
                                    vp[k] = c * x - s * y;
                                    vq[k] = s * x + c * y;
                                }
                            }
                        }
                        /* columns: (J^T a) J, on this task's rows only */
                        for (int which = 0; which < 1 + has_q; which++) {
                            double *ar = which ? aq : ap;
                            for (int64_t r = 0; r < active; r++) {
                                const double x = ar[act_p[r]], y = ar[act_q[r]];
                                ar[act_p[r]] = act_c[r] * x - act_s[r] * y;
                                ar[act_q[r]] = act_s[r] * x + act_c[r] * y;
                            }
                        }
                        if (rotate) ap[q] = aq[p] = 0;
                    }
                }
#pragma omp single
                { /* round robin: keep pos[0], rotate the rest by one */
                    const int64_t last = pos[m - 1];
                    memmove(pos + 2, pos + 1, (size_t)(m - 2) * sizeof *pos);
                    if (m > 1) pos[1] = last;
                }
            }
#pragma omp single
            if (rotations == 0 && deferred == 0) converged = 1;
        }
    }
    for (int64_t i = 0; i < n; i++) w[i] = a[i * n + i];
    if (n == 1) converged = 1;
done:
    free(pos), free(slot_p), free(slot_q), free(slot_c), free(slot_s), free(act_p), free(act_q), free(act_c), free(act_s);
    return converged;
}

/* jacobi_rotate's result as a status; what names the caller and the matrix. */
static vg_status jacobi_status(int r, const char *what, int64_t dim) {
    if (r < 0) return vg_fail(VG_ERR_NOMEM, "%s: out of memory for the Jacobi rotations (dim %lld)", what, (long long)dim);
    if (r == 0)
        return vg_fail(VG_ERR_NUMERIC, "%s: Jacobi did not converge in %d sweeps (dim %lld)", what, JACOBI_MAX_SWEEPS,
                       (long long)dim);
    return VG_OK;
}

/* An eigenvalue and its index, for sorting ascending. */
typedef struct eig_entry {
    double w;
    int64_t i;
} eig_entry;

static int eig_entry_cmp(const void *x, const void *y) {
    const eig_entry *a = x, *b = y;
    if (a->w != b->w) return a->w < b->w ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

vg_status vg_sym_eigen(double *w, double *v, const double *a, int64_t dim) {
    if (!w || !v || !a) return vg_fail(VG_ERR_INVALID, "sym_eigen: NULL argument");
    if (dim < 1) return vg_fail(VG_ERR_INVALID, "sym_eigen: dim %lld, expected >= 1", (long long)dim);
    int64_t nn;
    if (!vg_mul_ok(dim, dim, &nn)) return vg_fail(VG_ERR_NOMEM, "sym_eigen: dim %lld overflows", (long long)dim);
    vg_status s = check_symmetric(a, dim, "sym_eigen: matrix");
    if (s != VG_OK) return s;
    double *work = alloc_doubles(nn), *vt = alloc_doubles(nn), *wu = alloc_doubles(dim);
    eig_entry *order = malloc((size_t)dim * sizeof *order);
    if (!work || !vt || !wu || !order) {
        free(work), free(vt), free(wu), free(order);
        return vg_fail(VG_ERR_NOMEM, "sym_eigen: out of memory for a %lld x %lld matrix", (long long)dim,
                       (long long)dim);
    }
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = 0; j < dim; j++) work[i * dim + j] = 0.5 * (a[i * dim + j] + a[j * dim + i]);
    s = jacobi_status(jacobi_rotate(work, vt, wu, dim), "sym_eigen", dim);
    if (s == VG_OK) {
        for (int64_t i = 0; i < dim; i++) order[i] = (eig_entry){wu[i], i};
        qsort(order, (size_t)dim, sizeof *order, eig_entry_cmp);
        for (int64_t j = 0; j < dim; j++) {
            w[j] = order[j].w;
            for (int64_t i = 0; i < dim; i++) v[i * dim + j] = vt[order[j].i * dim + i];
        }
    }
    free(work), free(vt), free(wu), free(order);
    return s;
}

/* ---- Fréchet distance ---------------------------------------------------------- */

/* tr((S_a S_b)^(1/2)) = sum of sqrt of the eigenvalues of S_a^(1/2) S_b
 * S_a^(1/2). With S_a = U L U^T that matrix is U M U^T with
 * M = L^(1/2) (U^T S_b U) L^(1/2): same eigenvalues, and M is formed
 * without building S_a^(1/2). Negative eigenvalues (rounding on a
 * semi-definite matrix) count as 0. */
static vg_status trace_sqrt_product(double *out, const double *cov_a, const double *cov_b, int64_t dim) {
    const int64_t nn = dim * dim;
    double *work = alloc_doubles(nn), *ut = alloc_doubles(nn), *t = alloc_doubles(nn), *mm = alloc_doubles(nn);
    double *lam = alloc_doubles(dim), *mu = alloc_doubles(dim);
    vg_status s = VG_OK;
    if (!work || !ut || !t || !mm || !lam || !mu) {
        s = vg_fail(VG_ERR_NOMEM, "frechet_distance: out of memory for dim %lld", (long long)dim);
        goto done;
    }
    memcpy(work, cov_a, (size_t)nn * sizeof *work);
    if ((s = jacobi_status(jacobi_rotate(work, ut, lam, dim), "frechet_distance: cov_a", dim)) != VG_OK) goto done;
    /* ut's rows are the eigenvectors: U = ut^T. t = S_b U = S_b^T ut^T, i.e.
     * t^T = ut S_b; compute tt (dim, dim) = ut S_b as (ut^T)^T S_b. */
    double *u = work; /* reuse: U row-major */
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = 0; j < dim; j++) u[i * dim + j] = ut[j * dim + i];
    gemm_atb(t, cov_b, u, dim, dim, dim); /* S_b^T U = S_b U */
    gemm_atb(mm, u, t, dim, dim, dim);    /* U^T S_b U */
    for (int64_t i = 0; i < dim; i++) lam[i] = sqrt(fmax(lam[i], 0.0));
    for (int64_t i = 0; i < dim; i++)
        for (int64_t j = i; j < dim; j++) {
            const double x = 0.5 * (mm[i * dim + j] + mm[j * dim + i]) * lam[i] * lam[j];
            mm[i * dim + j] = mm[j * dim + i] = x;
        }
    if ((s = jacobi_status(jacobi_rotate(mm, NULL, mu, dim), "frechet_distance: S_a^1/2 S_b S_a^1/2", dim)) != VG_OK)
        goto done;
    double tr = 0;
    for (int64_t i = 0; i < dim; i++) tr += sqrt(fmax(mu[i], 0.0));
    *out = tr;
done:
    free(work), free(ut), free(t), free(mm), free(lam), free(mu);
    return s;
}

static vg_status frechet(double *out, const double *mu_a, const double *cov_a, const double *mu_b,
                         const double *cov_b, int64_t dim) {
    double d2 = 0, tr = 0, trs = 0;
    for (int64_t i = 0; i < dim; i++) d2 += (mu_a[i] - mu_b[i]) * (mu_a[i] - mu_b[i]);
    for (int64_t i = 0; i < dim; i++) tr += cov_a[i * dim + i] + cov_b[i * dim + i];
    vg_status s = trace_sqrt_product(&trs, cov_a, cov_b, dim);
    if (s != VG_OK) return s;
    *out = d2 + tr - 2 * trs;
    return VG_OK;
}

vg_status vg_frechet_distance(double *out, const double *mu_a, const double *cov_a, const double *mu_b,
                              const double *cov_b, int64_t dim) {
    if (!out || !mu_a || !cov_a || !mu_b || !cov_b) return vg_fail(VG_ERR_INVALID, "frechet_distance: NULL argument");
    if (dim < 1) return vg_fail(VG_ERR_INVALID, "frechet_distance: dim %lld, expected >= 1", (long long)dim);
    int64_t nn;
    if (!vg_mul_ok(dim, dim, &nn)) return vg_fail(VG_ERR_NOMEM, "frechet_distance: dim %lld overflows", (long long)dim);
    vg_status s;
    if ((s = check_finite(mu_a, dim, "frechet_distance: mu_a")) != VG_OK) return s;
    if ((s = check_finite(mu_b, dim, "frechet_distance: mu_b")) != VG_OK) return s;
    if ((s = check_symmetric(cov_a, dim, "frechet_distance: cov_a")) != VG_OK) return s;
    if ((s = check_symmetric(cov_b, dim, "frechet_distance: cov_b")) != VG_OK) return s;
    return frechet(out, mu_a, cov_a, mu_b, cov_b, dim);
}

vg_status vg_frechet_distance_features(double *out, const double *a, int64_t n_a, const double *b, int64_t n_b,
                                       int64_t dim) {
    if (!out) return vg_fail(VG_ERR_INVALID, "frechet_distance: output is NULL");
    vg_status s;
    if ((s = check_set(a, n_a, dim, 2, "frechet_distance: features a")) != VG_OK) return s;
    if ((s = check_set(b, n_b, dim, 2, "frechet_distance: features b")) != VG_OK) return s;
    int64_t nn;
    if (!vg_mul_ok(dim, 2 * dim, &nn)) return vg_fail(VG_ERR_NOMEM, "frechet_distance: dim %lld overflows", (long long)dim);
    const int64_t nmax = n_a > n_b ? n_a : n_b;
    double *mu = alloc_doubles(2 * dim), *cov = alloc_doubles(2 * dim * dim), *centered = alloc_doubles(nmax * dim);
    if (!mu || !cov || !centered) {
        s = vg_fail(VG_ERR_NOMEM, "frechet_distance: out of memory for %lld x %lld features", (long long)nmax,
                    (long long)dim);
    } else {
        moments(mu, cov, centered, a, n_a, dim);
        moments(mu + dim, cov + dim * dim, centered, b, n_b, dim);
        s = frechet(out, mu, cov, mu + dim, cov + dim * dim, dim);
    }
    free(mu), free(cov), free(centered);
    return s;
}

/* ---- KID -------------------------------------------------------------------------- */

/* Subset s draws m distinct rows of a set of n rows by a partial
 * Fisher-Yates shuffle of 0..n-1: step i swaps position i with position
 * i + (r mod (n - i)), r the 64-bit number (word1 << 32 | word0) of the
 * Philox block at counter (2 s + set) * 2^32 + i, set 0 for a and 1 for
 * b (the modulo bias is below n / 2^64). idx receives the first m. */
static void draw_subset(int64_t *idx, int64_t *perm, int64_t n, int64_t m, uint64_t seed, uint64_t stream) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = 0; i < m; i++) {
        uint32_t r[4];
        vg_philox4x32(r, (stream << 32) + (uint64_t)i, seed);
        const uint64_t x = ((uint64_t)r[1] << 32) | r[0];
        const int64_t j = i + (int64_t)(x % (uint64_t)(n - i));
        const int64_t t = perm[i];
        perm[i] = perm[j], perm[j] = t;
        idx[i] = perm[i];
    }
}

static inline double poly_kernel(double dot, double inv_dim) {
    const double u = dot * inv_dim + 1;
    return u * u * u;
}

/* Kernel matrix of all rows z (n, dim), stored full (n, n). */
static void kernel_matrix(double *k, const double *z, int64_t n, int64_t dim) {
    const double inv_dim = 1.0 / (double)dim;
#pragma omp parallel for schedule(dynamic, 8) num_threads(threads_for((double)n * n * dim / 2))
    for (int64_t i = 0; i < n; i++) {
        const double *x = z + i * dim;
        int64_t j = i;
        for (; j + 4 <= n; j += 4) {
            double d[4];
            dot4(d, x, z + j * dim, z + (j + 1) * dim, z + (j + 2) * dim, z + (j + 3) * dim, dim);
            for (int r = 0; r < 4; r++) k[i * n + j + r] = poly_kernel(d[r], inv_dim);
        }
        for (; j < n; j++) k[i * n + j] = poly_kernel(dot1(x, z + j * dim, dim), inv_dim);
    }
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < i; j++) k[i * n + j] = k[j * n + i];
}

/* Sum of k(x_i, y_j) over i in ix (m rows of x) and j in iy (m rows of y),
 * leaving out i == j positions when skip_diag (x == y, same index list).
 * From the cached kernel matrix (row offsets ox, oy into it) or computed.
 * Rows are summed in parallel into rowsum (m), then in order. */
static double kernel_sum(double *rowsum, const double *kc, int64_t ldk, int64_t ox, int64_t oy, const double *x,
                         const double *y, const int64_t *ix, const int64_t *iy, int64_t m, int64_t dim,
                         int skip_diag) {
    const double inv_dim = 1.0 / (double)dim;
#pragma omp parallel for schedule(static) num_threads(threads_for((double)m * m * (kc ? 1 : dim)))
    for (int64_t i = 0; i < m; i++) {
        double row = 0;
        if (kc) {
            const double *kr = kc + (ox + ix[i]) * ldk + oy;
            for (int64_t j = 0; j < m; j++)
                if (!(skip_diag && j == i)) row += kr[iy[j]];
        } else {
            const double *xi = x + ix[i] * dim;
            for (int64_t j = 0; j < m; j++)
                if (!(skip_diag && j == i)) row += poly_kernel(dot1(xi, y + iy[j] * dim, dim), inv_dim);
        }
        rowsum[i] = row;
    }
    double total = 0;
    for (int64_t i = 0; i < m; i++) total += rowsum[i];
    return total;
}

vg_status vg_kid(double *mean_out, double *std_out, const double *a, int64_t n_a, const double *b, int64_t n_b,
                 int64_t dim, int num_subsets, int64_t max_subset_size, uint64_t seed) {
    if (!mean_out) return vg_fail(VG_ERR_INVALID, "kid: output is NULL");
    vg_status s;
    if ((s = check_set(a, n_a, dim, 2, "kid: features a")) != VG_OK) return s;
    if ((s = check_set(b, n_b, dim, 2, "kid: features b")) != VG_OK) return s;
    if (num_subsets < 1) return vg_fail(VG_ERR_INVALID, "kid: num_subsets %d, expected >= 1", num_subsets);
    if (max_subset_size < 2)
        return vg_fail(VG_ERR_INVALID, "kid: max_subset_size %lld, expected >= 2", (long long)max_subset_size);
    int64_t m = n_a < n_b ? n_a : n_b;
    if (max_subset_size < m) m = max_subset_size;
    const int64_t nz = n_a + n_b, nmax = n_a > n_b ? n_a : n_b;
    const int cache = nz <= KID_CACHE_MAX_ROWS;
    double *kc = NULL, *z = NULL, *mmd = malloc((size_t)num_subsets * sizeof *mmd);
    int64_t *ia = malloc((size_t)m * sizeof *ia), *ib = malloc((size_t)m * sizeof *ib);
    int64_t *perm = malloc((size_t)nmax * sizeof *perm);
    double *rowsum = malloc((size_t)m * sizeof *rowsum);
    if (cache) {
        kc = alloc_doubles(nz * nz), z = alloc_doubles(nz * dim);
        if (kc && z) {
            memcpy(z, a, (size_t)(n_a * dim) * sizeof *z);
            memcpy(z + n_a * dim, b, (size_t)(n_b * dim) * sizeof *z);
        }
    }
    if (!mmd || !ia || !ib || !perm || !rowsum || (cache && (!kc || !z))) {
        s = vg_fail(VG_ERR_NOMEM, "kid: out of memory (%lld + %lld rows of dim %lld)", (long long)n_a, (long long)n_b,
                    (long long)dim);
        goto done;
    }
    if (cache) kernel_matrix(kc, z, nz, dim);
    for (int sub = 0; sub < num_subsets; sub++) {
        draw_subset(ia, perm, n_a, m, seed, 2 * (uint64_t)sub);
        draw_subset(ib, perm, n_b, m, seed, 2 * (uint64_t)sub + 1);
        const double kaa = kernel_sum(rowsum, kc, nz, 0, 0, a, a, ia, ia, m, dim, 1);
        const double kbb = kernel_sum(rowsum, kc, nz, n_a, n_a, b, b, ib, ib, m, dim, 1);
        const double kab = kernel_sum(rowsum, kc, nz, 0, n_a, a, b, ia, ib, m, dim, 0);
        mmd[sub] = (kaa + kbb) / ((double)m * (double)(m - 1)) - 2 * kab / ((double)m * (double)m);
    }
    double mean = 0, var = 0;
    for (int i = 0; i < num_subsets; i++) mean += mmd[i];
    mean /= num_subsets;
    for (int i = 0; i < num_subsets; i++) var += (mmd[i] - mean) * (mmd[i] - mean);
    *mean_out = mean;
    if (std_out) *std_out = sqrt(var / num_subsets);
done:
    free(kc), free(z), free(mmd), free(ia), free(ib), free(perm), free(rowsum);
    return s;
}

/* ---- precision / recall -------------------------------------------------------------- */

/* Insert d into the ascending list best[0..k) (k smallest so far). */
static inline void keep_smallest(double *best, int k, double d) {
    if (d >= best[k - 1]) return;
    int i = k - 1;
    while (i > 0 && best[i - 1] > d) {
        best[i] = best[i - 1];
        i--;
    }
    best[i] = d;
}

/* Squared distance of every row of x to its k-th nearest other row. */
static vg_status knn_radii(double *r2, const double *x, int64_t n, int64_t dim, int k) {
    int fail = 0;
#pragma omp parallel num_threads(threads_for((double)n * n * dim))
    {
        double *best = malloc((size_t)k * sizeof *best);
        if (!best) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            if (!best) continue;
            const double *xi = x + i * dim;
            for (int r = 0; r < k; r++) best[r] = INFINITY;
            int64_t j = 0;
            for (; j + 4 <= n; j += 4) {
                double d[4];
                sqdist4(d, xi, x + j * dim, x + (j + 1) * dim, x + (j + 2) * dim, x + (j + 3) * dim, dim);
                for (int q = 0; q < 4; q++)
                    if (j + q != i) keep_smallest(best, k, d[q]);
            }
            for (; j < n; j++)
                if (j != i) keep_smallest(best, k, sqdist1(xi, x + j * dim, dim));
            r2[i] = best[k - 1];
        }
        free(best);
    }
    return fail ? vg_fail(VG_ERR_NOMEM, "precision_recall: out of memory") : VG_OK;
}

/* inside[j] = 1 iff row j of y lies in some ball (row i of x, radius^2 r2[i]). */
static void inside_manifold(unsigned char *inside, const double *y, int64_t ny, const double *x, const double *r2,
                            int64_t nx, int64_t dim) {
#pragma omp parallel for schedule(dynamic, 16) num_threads(threads_for((double)nx * ny * dim))
    for (int64_t j = 0; j < ny; j++) {
        const double *yj = y + j * dim;
        int in = 0;
        int64_t i = 0;
        for (; !in && i + 4 <= nx; i += 4) {
            double d[4];
            sqdist4(d, yj, x + i * dim, x + (i + 1) * dim, x + (i + 2) * dim, x + (i + 3) * dim, dim);
            for (int q = 0; q < 4; q++) in |= d[q] <= r2[i + q];
        }
        for (; !in && i < nx; i++) in = sqdist1(yj, x + i * dim, dim) <= r2[i];
        inside[j] = (unsigned char)in;
    }
}

vg_status vg_precision_recall(double *precision, double *recall, const double *a, int64_t n_a, const double *b,
                              int64_t n_b, int64_t dim, int k) {
    if (!precision || !recall) return vg_fail(VG_ERR_INVALID, "precision_recall: output is NULL");
    if (k < 1) return vg_fail(VG_ERR_INVALID, "precision_recall: k %d, expected >= 1", k);
    vg_status s;
    if ((s = check_set(a, n_a, dim, (int64_t)k + 1, "precision_recall: features a")) != VG_OK) return s;
    if ((s = check_set(b, n_b, dim, (int64_t)k + 1, "precision_recall: features b")) != VG_OK) return s;
    double *ra = alloc_doubles(n_a), *rb = alloc_doubles(n_b);
    unsigned char *in_a = malloc((size_t)n_a), *in_b = malloc((size_t)n_b);
    if (!ra || !rb || !in_a || !in_b) {
        s = vg_fail(VG_ERR_NOMEM, "precision_recall: out of memory");
        goto done;
    }
    if ((s = knn_radii(ra, a, n_a, dim, k)) != VG_OK) goto done;
    if ((s = knn_radii(rb, b, n_b, dim, k)) != VG_OK) goto done;
    inside_manifold(in_b, b, n_b, a, ra, n_a, dim);
    inside_manifold(in_a, a, n_a, b, rb, n_b, dim);
    int64_t cb = 0, ca = 0;
    for (int64_t j = 0; j < n_b; j++) cb += in_b[j];
    for (int64_t i = 0; i < n_a; i++) ca += in_a[i];
    *precision = (double)cb / (double)n_b;
    *recall = (double)ca / (double)n_a;
done:
    free(ra), free(rb), free(in_a), free(in_b);
    return s;
}
