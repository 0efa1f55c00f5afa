/* feature_stats.h — distances between two sets of feature vectors, the
 * statistics behind FVD and the weight-free metrics of `vidgan eval`.
 *
 * Features are row-major (n, dim) doubles (one row per clip). Everything is
 * computed in double precision; nothing here knows which network made the
 * features.
 *
 *   Fréchet distance  ||mu_a - mu_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)),
 *                     covariances unbiased (divide by n - 1, numpy.cov's and
 *                     the FVD / StyleGAN-V convention); tr((S_a S_b)^(1/2))
 *                     as the sum of square roots of the eigenvalues of the
 *                     symmetric S_a^(1/2) S_b S_a^(1/2), square roots by a
 *                     symmetric (Jacobi) eigen-decomposition, never a Newton
 *                     iteration. That matrix is formed in S_a's eigenbasis,
 *                     L^(1/2) (U^T S_b U) L^(1/2) with S_a = U L U^T (same
 *                     eigenvalues); eigenvalues that rounding makes
 *                     slightly negative count as 0.
 *   KID               unbiased MMD^2 with the cubic polynomial kernel
 *                     k(x, y) = (x.y / dim + 1)^3 (Binkowski et al. 2018),
 *                     averaged over random subsets (StyleGAN2-ADA's
 *                     kernel_inception_distance: num_subsets, subset size
 *                     min(n_a, n_b, max_subset_size)). Subset s draws its
 *                     rows of a (b) by a partial Fisher-Yates shuffle: draw
 *                     i swaps position i with i + r mod (remaining), r the
 *                     64-bit (word1 << 32 | word0) of the Philox block at
 *                     counter (2 s) * 2^32 + i ((2 s + 1) * 2^32 + i for b),
 *                     key = seed. The std is over subsets, ddof 0.
 *   precision/recall  k-nearest-neighbour manifolds (Kynkäänniemi et al.
 *                     2019): precision = fraction of b inside a's manifold,
 *                     recall = fraction of a inside b's manifold; a point is
 *                     inside when its distance to some sample is <= that
 *                     sample's distance to its k-th nearest neighbour (itself
 *                     excluded). */
#ifndef VG_EVAL_FEATURE_STATS_H
#define VG_EVAL_FEATURE_STATS_H

#include <stdint.h>

#include "vidgan.h"

/* Mean (dim) and unbiased covariance (dim, dim) of the n rows of x; n >= 2. */
vg_status vg_feature_moments(double *mean, double *cov, const double *x, int64_t n, int64_t dim);

/* Eigen-decomposition of the symmetric (dim, dim) matrix a by cyclic Jacobi
 * rotations: eigenvalues ascending into w (dim), eigenvectors as the columns
 * of v (dim, dim, row-major). a is not modified. */
vg_status vg_sym_eigen(double *w, double *v, const double *a, int64_t dim);

/* Fréchet distance between N(mu_a, cov_a) and N(mu_b, cov_b). */
vg_status vg_frechet_distance(double *out, const double *mu_a, const double *cov_a, const double *mu_b,
                              const double *cov_b, int64_t dim);
/* The same from two feature sets (n_a, dim) and (n_b, dim), n >= 2 each. */
vg_status vg_frechet_distance_features(double *out, const double *a, int64_t n_a, const double *b, int64_t n_b,
                                       int64_t dim);

/* KID: mean (and, if std_out is not NULL, standard deviation) of the
 * unbiased MMD^2 over num_subsets subsets drawn without replacement inside
 * each subset with the Philox stream of `seed`. */
vg_status vg_kid(double *mean_out, double *std_out, const double *a, int64_t n_a, const double *b, int64_t n_b,
                 int64_t dim, int num_subsets, int64_t max_subset_size, uint64_t seed);

/* Precision and recall of b (generated) against a (real) with k neighbours. */
vg_status vg_precision_recall(double *precision, double *recall, const double *a, int64_t n_a, const double *b,
                              int64_t n_b, int64_t dim, int k);

#endif
