/* CPU kernels: 3-D convolution and transposed convolution (struct
 * vg_conv_desc; matches torch.nn.Conv3d / ConvTranspose3d with groups = 1,
 * dilation = 1, zero padding, output_padding for the transposed case; 2-D
 * convolutions arrive with T = 1 and k_t = 1).
 *
 * Three implementations:
 * - the reference: naive loops in vg_real with a double accumulator, the
 *   definition the tests hold the fast paths to (and the whole path of the
 *   -DVG_REAL_F64 gradient-check build);
 * - the indirect GEMM on channels-last copies (conv_igemm.c, AVX2+FMA),
 *   taken per canonical pass where use_igemm() says it measured faster;
 * - the packed-GEMM lowering, the fallback for everything else: every pass
 *   is one "canonical" convolution
 *   V = conv(U, Wc) lowered to the packed GEMM engine of gemm_engine.c
 *   without building im2col matrices (the packers gather straight from the
 *   tensors, conv_gather.c). A convolution has U = input, V = output; a
 *   transposed convolution is the adjoint, U = output, V = input, and torch's
 *   (C_in, C_out, k) weight is already canonical (C_v, C_u, k). The three
 *   canonical lowerings:
 *     fwd    V += Wc (Cv, Cu k) * gather(U)                   [M = Cv]
 *     adj    U += adjoint, either per sub-pixel phase of the stride (each
 *            phase a dense small-kernel conv, M = Cu) or, when Cu is small,
 *            Wc^T (Cu k, Cv) * V followed by a col2im scatter [M = Cu k]
 *     wgrad  Wc += V (Cv, N out) * gather(U)^T               [M = Cv]
 *   conv forward = fwd, conv backward = adj (dinp) + wgrad (dweight);
 *   transposed forward = adj, transposed backward = fwd (dinp) + wgrad.
 * Threads split the GEMM columns statically (whole samples for the col2im
 * scatter), so every sum has one fixed order for a given thread count (the
 * indirect GEMM's order does not depend on the thread count at all). */
#include "backend/cpu/conv_gather.h"
#include "backend/cpu/conv_igemm.h"
#include "backend/cpu/cpu.h"
#include "backend/cpu/gemm_engine.h"
#include "core/threads.h"

#include <string.h>

/* ---- reference ---------------------------------------------------------- */

static int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

void vg_cpu_conv_forward_reference(vg_real *out, const vg_real *inp, const vg_real *weight, const vg_real *bias,
                                   const struct vg_conv_desc *d) {
    const int64_t Ci = d->C_in, Co = d->C_out;
    const int64_t I = prod3(d->in), O = prod3(d->out), Kv = (int64_t)d->k[0] * d->k[1] * d->k[2];
    for (int64_t n = 0; n < d->N; n++)
        for (int64_t co = 0; co < Co; co++)
            for (int64_t ot = 0; ot < d->out[0]; ot++)
                for (int64_t oh = 0; oh < d->out[1]; oh++)
                    for (int64_t ow = 0; ow < d->out[2]; ow++) {
                        const int64_t o[3] = {ot, oh, ow};
                        double s = bias ? (double)bias[co] : 0.0;
                        for (int kt = 0; kt < d->k[0]; kt++)
                            for (int kh = 0; kh < d->k[1]; kh++)
                                for (int kw = 0; kw < d->k[2]; kw++) {
                                    const int kk[3] = {kt, kh, kw};
                                    int64_t i[3];
                                    int ok = 1;
                                    for (int a = 0; a < 3; a++) {
                                        if (!d->transposed) {
                                            /* out o reads in o*s - p + k */
                                            i[a] = o[a] * d->s[a] - d->p[a] + kk[a];
                                        } else {
                                            /* in i writes out i*s - p + k */
                                            int64_t q = o[a] + d->p[a] - kk[a];
                                            if (q < 0 || q % d->s[a] != 0) ok = 0;
                                            i[a] = q / d->s[a];
                                        }
                                        if (i[a] < 0 || i[a] >= d->in[a]) ok = 0;
                                    }
                                    if (!ok) continue;
                                    int64_t koff = ((int64_t)kt * d->k[1] + kh) * d->k[2] + kw;
                                    int64_t ioff = (i[0] * d->in[1] + i[1]) * d->in[2] + i[2];
                                    for (int64_t ci = 0; ci < Ci; ci++) {
                                        double w = d->transposed ? weight[(ci * Co + co) * Kv + koff]
                                                                 : weight[(co * Ci + ci) * Kv + koff];
                                        s += w * (double)inp[(n * Ci + ci) * I + ioff];
                                    }
                                }
                        out[(n * Co + co) * O + (ot * d->out[1] + oh) * d->out[2] + ow] = (vg_real)s;
                    }
}

void vg_cpu_conv_backward_reference(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                                    const vg_real *inp, const vg_real *weight, const struct vg_conv_desc *d) {
    const int64_t Ci = d->C_in, Co = d->C_out;
    const int64_t I = prod3(d->in), O = prod3(d->out), Kv = (int64_t)d->k[0] * d->k[1] * d->k[2];
    if (dbias)
        for (int64_t co = 0; co < Co; co++) {
            double s = 0;
            for (int64_t n = 0; n < d->N; n++)
                for (int64_t o = 0; o < O; o++) s += dout[(n * Co + co) * O + o];
            dbias[co] += (vg_real)s;
        }
    /* Both gradients visit every (input, output, tap) triple linked by the
     * forward definition: in i and out o are linked through tap k when
     * conv:       i = o*s - p + k
     * transposed: o = i*s - p + k */
    const int64_t *sm = d->transposed ? d->in : d->out; /* the side multiplied by s */
    const int64_t *lg = d->transposed ? d->out : d->in;
    if (dinp)
        for (int64_t n = 0; n < d->N; n++)
            for (int64_t ci = 0; ci < Ci; ci++)
                for (int64_t it = 0; it < d->in[0]; it++)
                    for (int64_t ih = 0; ih < d->in[1]; ih++)
                        for (int64_t iw = 0; iw < d->in[2]; iw++) {
                            const int64_t iv[3] = {it, ih, iw};
                            double s = 0;
                            for (int kt = 0; kt < d->k[0]; kt++)
                                for (int kh = 0; kh < d->k[1]; kh++)
                                    for (int kw = 0; kw < d->k[2]; kw++) {
                                        const int kk[3] = {kt, kh, kw};
                                        int64_t o[3];
                                        int ok = 1;
                                        for (int a = 0; a < 3; a++) {
                                            if (d->transposed) {
                                                o[a] = iv[a] * d->s[a] - d->p[a] + kk[a];
                                            } else {
                                                int64_t q = iv[a] + d->p[a] - kk[a];
                                                if (q < 0 || q % d->s[a] != 0) ok = 0;
                                                o[a] = q / d->s[a];
                                            }
                                            if (o[a] < 0 || o[a] >= d->out[a]) ok = 0;
                                        }
                                        if (!ok) continue;
                                        int64_t koff = ((int64_t)kt * d->k[1] + kh) * d->k[2] + kw;
                                        int64_t ooff = (o[0] * d->out[1] + o[1]) * d->out[2] + o[2];
                                        for (int64_t co = 0; co < Co; co++) {
                                            double w = d->transposed ? weight[(ci * Co + co) * Kv + koff]
                                                                     : weight[(co * Ci + ci) * Kv + koff];
                                            s += w * (double)dout[(n * Co + co) * O + ooff];
                                        }
                                    }
                            vg_real *g = &dinp[(n * Ci + ci) * I + (it * d->in[1] + ih) * d->in[2] + iw];
                            *g = (vg_real)(*g + s);
                        }
    if (dweight)
        for (int64_t ci = 0; ci < Ci; ci++)
            for (int64_t co = 0; co < Co; co++)
                for (int kt = 0; kt < d->k[0]; kt++)
                    for (int kh = 0; kh < d->k[1]; kh++)
                        for (int kw = 0; kw < d->k[2]; kw++) {
                            const int kk[3] = {kt, kh, kw};
                            double s = 0;
                            for (int64_t n = 0; n < d->N; n++)
                                for (int64_t a0 = 0; a0 < sm[0]; a0++)
                                    for (int64_t a1 = 0; a1 < sm[1]; a1++)
                                        for (int64_t a2 = 0; a2 < sm[2]; a2++) {
                                            const int64_t a[3] = {a0, a1, a2};
                                            int64_t b[3]; /* index on the other side */
                                            int ok = 1;
                                            for (int x = 0; x < 3; x++) {
                                                b[x] = a[x] * d->s[x] - d->p[x] + kk[x];
                                                if (b[x] < 0 || b[x] >= lg[x]) ok = 0;
                                            }
                                            if (!ok) continue;
                                            const int64_t *iv = d->transposed ? a : b, *ov = d->transposed ? b : a;
                                            double x = inp[(n * Ci + ci) * I + (iv[0] * d->in[1] + iv[1]) * d->in[2] + iv[2]];
                                            double g = dout[(n * Co + co) * O + (ov[0] * d->out[1] + ov[1]) * d->out[2] + ov[2]];
                                            s += x * g;
                                        }
                            int64_t koff = ((int64_t)kt * d->k[1] + kh) * d->k[2] + kw;
                            vg_real *g = d->transposed ? &dweight[(ci * Co + co) * Kv + koff]
                                                       : &dweight[(co * Ci + ci) * Kv + koff];
                            *g = (vg_real)(*g + s);
                        }
}

#ifndef VG_REAL_F64

/* ---- fast path ------------------------------------------------------------ */

#define MAX_PARTS 64
#define SLOT_TAB_A 64
#define SLOT_TAB_S 65
#define SLOT_PHASES 66

/* V (N, Cv, vd) = conv(U (N, Cu, ud), Wc (Cv, Cu, k)): struct vg_conv_canon */
#define canon vg_conv_canon

static struct canon make_canon(const struct vg_conv_desc *d) {
    struct canon c;
    c.N = d->N;
    c.Cu = d->transposed ? d->C_out : d->C_in;
    c.Cv = d->transposed ? d->C_in : d->C_out;
    for (int a = 0; a < 3; a++) {
        c.ud[a] = d->transposed ? d->out[a] : d->in[a];
        c.vd[a] = d->transposed ? d->in[a] : d->out[a];
        c.k[a] = d->k[a];
        c.s[a] = d->s[a];
        c.p[a] = d->p[a];
    }
    c.Ug = prod3(c.ud);
    c.Vg = prod3(c.vd);
    c.Kv = (int64_t)c.k[0] * c.k[1] * c.k[2];
    return c;
}

static int pick_parts(double flops) {
    int parts = vg_get_threads();
    if (parts > MAX_PARTS) parts = MAX_PARTS;
    if (parts < 1 || flops < 4e6) parts = 1; /* tiny: one thread (keeps the test shapes parallel) */
    return parts;
}

/* Reserves engine scratch for `parts` parts of ncols columns each; 0 if out of memory. */
static int reserve_work(float **work, int parts, int64_t M, int64_t ncols) {
    for (int p = 0; p < parts; p++) {
        work[p] = vg_gemm_scratch(p, vg_gemm_work_floats(M, ncols));
        if (!work[p]) return 0;
    }
    return 1;
}

/* Runs task t over its N columns, split into `parts` static ranges aligned to `align`. */
static void run_parts(const struct vg_gemm_task *t, float *const *work, int parts, int64_t align) {
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int p = 0; p < parts; p++) {
        int64_t b, e;
        vg_gemm_split(t->N, parts, p, align, &b, &e);
        vg_gemm_run(t, b, e, work[p]);
    }
}

static int64_t cols_per_part(int64_t n, int parts, int64_t align) { return ((n + align - 1) / align + parts - 1) / parts * align; }

/* A kernel that exactly covers an unpadded U (V is 1x1x1): every tap is
 * valid and gather(U) is U itself, so each pass is one plain GEMM over the
 * batch (the first generator layer and the last discriminator layer). */
static int is_dense(const struct canon *c) {
    for (int a = 0; a < 3; a++)
        if (c->vd[a] != 1 || c->ud[a] != c->k[a] || c->p[a] != 0) return 0;
    return 1;
}

/* C (M, N) += op(A) op(B), row-major */
static void gemm_acc(float *C, const float *A, const float *B, int ta, int tb, int64_t M, int64_t N, int64_t K) {
    struct vg_gemm_desc g = {.trans_a = ta, .trans_b = tb, .M = M, .N = N, .K = K,
                             .lda = ta ? M : K, .ldb = tb ? K : N, .ldc = N,
                             .batch = 1, .alpha = 1.0, .beta = 1.0};
    vg_cpu_gemm(C, A, B, &g);
}

/* off[(cu, m)] = offset in a (., Cu, k) weight row of channel cu and gather
 * tap m (the gather may have dropped padding-only taps); returns the count. */
static int64_t tap_offsets(int64_t *off, const struct vg_gather *g, const struct canon *c) {
    int64_t i = 0;
    for (int64_t cu = 0; cu < c->Cu; cu++)
        for (int mt = 0; mt < g->nt[0]; mt++)
            for (int mh = 0; mh < g->nt[1]; mh++)
                for (int mw = 0; mw < g->nt[2]; mw++)
                    off[i++] = cu * c->Kv + ((int64_t)(g->tap0[0] + mt) * c->k[1] + g->tap0[1] + mh) * c->k[2] +
                               g->tap0[2] + mw;
    return i;
}

/* V += Wc * gather(U). Returns 0 (having done nothing) if out of memory. */
static int canon_fwd(float *V, const float *U, const float *Wc, const struct canon *c) {
    const int64_t CuK = c->Cu * c->Kv, NV = c->N * c->Vg;
    if (c->Cv == 0 || NV == 0) return 1;
    if (is_dense(c)) { /* V (N, Cv) += U (N, CuK) Wc^T */
        gemm_acc(V, U, Wc, 0, 1, c->N, c->Cv, CuK);
        return 1;
    }
    int parts = pick_parts(2.0 * (double)c->Cv * (double)CuK * (double)NV);
    int64_t nr = vg_gemm_nr();
    float *work[MAX_PARTS];
    int64_t *acoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_A, (size_t)(CuK > 0 ? CuK : 1) * 2);
    int64_t *scoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_S, (size_t)NV * 2);
    if (!acoff || !scoff || !reserve_work(work, parts, c->Cv, cols_per_part(NV, parts, nr))) return 0;
    struct vg_gather g;
    vg_gather_init_conv(&g, U, c->Cu, c->ud, c->vd, c->k, c->s, c->p);
    const int64_t K = tap_offsets(acoff, &g, c);
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t v = 0; v < c->Vg; v++) scoff[n * c->Vg + v] = n * c->Cv * c->Vg + v;
    struct vg_pack_rows a = {Wc, CuK, acoff};
    struct vg_store_add st = {V, c->Vg, scoff};
    struct vg_gemm_task t = {c->Cv, NV, K, vg_pack_a_rows, &a, vg_gather_pack_b, &g, vg_store_add_fn, &st};
    run_parts(&t, work, parts, nr);
    return 1;
}

/* U += adjoint of the canonical conv applied to V. */
static int canon_adj(float *U, const float *V, const float *Wc, const struct canon *c) {
    const int64_t NV = c->N * c->Vg;
    if (c->Cu == 0 || NV == 0 || c->Ug == 0) return 1;
    if (is_dense(c)) { /* U (N, CuK) += V (N, Cv) Wc */
        gemm_acc(U, V, Wc, 0, 0, c->N, c->Cu * c->Kv, c->Cv);
        return 1;
    }
    int64_t nr = vg_gemm_nr();
    float *work[MAX_PARTS];
    /* Two forms. col2im: measured faster (about 55 vs 42 GFLOP/s a thread on
     * the k4 s2 p1 layers) but its parts must own whole samples; phases:
     * split any way, used for a single sample with enough rows (Cu) and
     * few padding taps (a kernel larger than V, as in a first generator
     * layer on a 1x1x1 input, makes most phase taps padding). MACs per
     * (cu, cv, sample), padding taps included: phases grid x taps summed
     * over phases, col2im Kv x Vg. */
    double phase_macs = 1;
    for (int a = 0; a < 3; a++) {
        double sum = 0;
        for (int r = 0; r < c->s[a] && r < c->k[a]; r++) {
            int64_t u0 = (((int64_t)r - c->p[a]) % c->s[a] + c->s[a]) % c->s[a];
            int64_t g = c->ud[a] > u0 ? (c->ud[a] - u0 + c->s[a] - 1) / c->s[a] : 0;
            sum += (double)g * (double)((c->k[a] - r + c->s[a] - 1) / c->s[a]);
        }
        phase_macs *= sum;
    }
    double col2im_macs = (double)c->Kv * (double)c->Vg;
    if (c->N > 1 || c->Cu < 32 || phase_macs > 1.25 * col2im_macs) {
        /* col2im form: W (Cu k, N out) = Wc^T V, scattered into U; whole
         * samples per part, so no two parts touch the same element. */
        const int64_t M = c->Cu * c->Kv;
        int parts = pick_parts(2.0 * (double)M * (double)c->Cv * (double)NV);
        if (parts > c->N) parts = (int)c->N;
        int64_t *acoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_A, (size_t)(c->Cv > 0 ? c->Cv : 1) * 2);
        if (!acoff || !reserve_work(work, parts, M, cols_per_part(NV, parts, c->Vg))) return 0;
        for (int64_t cv = 0; cv < c->Cv; cv++) acoff[cv] = cv * M;
        struct vg_pack_rows a = {Wc, 1, acoff};
        struct vg_gather g;
        const int one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
        vg_gather_init_conv(&g, V, c->Cv, c->vd, c->vd, one, one, zero);
        struct vg_store_col2im st = {U, c->Cu, {c->ud[0], c->ud[1], c->ud[2]}, {c->vd[0], c->vd[1], c->vd[2]},
                                     {c->k[0], c->k[1], c->k[2]}, {c->s[0], c->s[1], c->s[2]},
                                     {c->p[0], c->p[1], c->p[2]}, vg_gather_cpu_avx2()};
        struct vg_gemm_task t = {M, NV, c->Cv, vg_pack_a_rows, &a, vg_gather_pack_b, &g, vg_store_col2im_fn, &st};
        run_parts(&t, work, parts, c->Vg);
        return 1;
    }
    /* Sub-pixel phases: along an axis, u with (u + p) mod s == r only takes
     * taps k = r + m s, from v = (u + p - k) / s; each phase is a dense conv
     * whose result lands on a stride-s grid of U. */
    int64_t ntmax = 1, gmax = 1;
    for (int a = 0; a < 3; a++) {
        ntmax *= (c->k[a] + c->s[a] - 1) / c->s[a];
        gmax *= (c->ud[a] + c->s[a] - 1) / c->s[a];
    }
    const int nph = c->s[0] * c->s[1] * c->s[2];
    const size_t atab = (size_t)(c->Cv * ntmax > 0 ? c->Cv * ntmax : 1), stab = (size_t)(c->N * gmax > 0 ? c->N * gmax : 1);
    int parts = pick_parts(2.0 * (double)c->Cu * (double)c->Cv * (double)c->Kv * (double)NV);
    /* every phase's tables and task up front, then one parallel region for
     * all phases (one barrier per call, not one per phase) */
    struct phase {
        struct vg_gather g;
        struct vg_pack_rows a;
        struct vg_store_add st;
        struct vg_gemm_task t;
    };
    int64_t *acoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_A, atab * 2 * (size_t)nph);
    int64_t *scoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_S, stab * 2 * (size_t)nph);
    struct phase *ph = (struct phase *)vg_gemm_scratch(SLOT_PHASES, sizeof(struct phase) * (size_t)nph / sizeof(float) + 1);
    if (!acoff || !scoff || !ph || !reserve_work(work, parts, c->Cu, cols_per_part(c->N * gmax, parts, nr))) return 0;
    int np = 0;
    for (int rt = 0; rt < c->s[0]; rt++)
        for (int rh = 0; rh < c->s[1]; rh++)
            for (int rw = 0; rw < c->s[2]; rw++) {
                const int r[3] = {rt, rh, rw};
                struct phase *f = &ph[np];
                struct vg_gather *g = &f->g;
                int64_t u0[3];
                if (!vg_gather_init_phase(g, V, c->Cv, c->vd, c->ud, c->k, c->s, c->p, r, u0)) continue;
                int64_t *ac = acoff + atab * (size_t)np, *sc = scoff + stab * (size_t)np;
                const int64_t ntt = (int64_t)g->nt[0] * g->nt[1] * g->nt[2];
                for (int64_t cv = 0; cv < c->Cv; cv++)
                    for (int mt = 0; mt < g->nt[0]; mt++)
                        for (int mh = 0; mh < g->nt[1]; mh++)
                            for (int mw = 0; mw < g->nt[2]; mw++) {
                                int64_t kt = r[0] + (int64_t)mt * c->s[0], kh = r[1] + (int64_t)mh * c->s[1];
                                int64_t kw = r[2] + (int64_t)mw * c->s[2];
                                ac[cv * ntt + (mt * g->nt[1] + mh) * g->nt[2] + mw] =
                                    cv * c->Cu * c->Kv + (kt * c->k[1] + kh) * c->k[2] + kw;
                            }
                const int64_t G = g->gg;
                for (int64_t n = 0; n < c->N; n++)
                    for (int64_t jt = 0; jt < g->g[0]; jt++)
                        for (int64_t jh = 0; jh < g->g[1]; jh++)
                            for (int64_t jw = 0; jw < g->g[2]; jw++)
                                sc[n * G + (jt * g->g[1] + jh) * g->g[2] + jw] =
                                    n * c->Cu * c->Ug +
                                    ((u0[0] + jt * c->s[0]) * c->ud[1] + u0[1] + jh * c->s[1]) * c->ud[2] + u0[2] +
                                    jw * c->s[2];
                f->a = (struct vg_pack_rows){Wc, c->Kv, ac};
                f->st = (struct vg_store_add){U, c->Ug, sc};
                f->t = (struct vg_gemm_task){c->Cu, c->N * G, c->Cv * ntt, vg_pack_a_rows, &f->a, vg_gather_pack_b, g,
                                             vg_store_add_fn, &f->st};
                np++;
            }
#pragma omp parallel for schedule(static) num_threads(parts) if (parts > 1)
    for (int p = 0; p < parts; p++)
        for (int i = 0; i < np; i++) {
            int64_t b, e;
            vg_gemm_split(ph[i].t.N, parts, p, nr, &b, &e);
            vg_gemm_run(&ph[i].t, b, e, work[p]);
        }
    return 1;
}

/* Wc += V (Cv, N out) * gather(U)^T. */
static int canon_wgrad(float *dWc, const float *V, const float *U, const struct canon *c) {
    const int64_t CuK = c->Cu * c->Kv, NV = c->N * c->Vg;
    if (c->Cv == 0 || CuK == 0) return 1;
    if (is_dense(c)) { /* Wc (Cv, CuK) += V^T (Cv, N) U (N, CuK) */
        gemm_acc(dWc, V, U, 1, 0, c->Cv, CuK, c->N);
        return 1;
    }
    int parts = pick_parts(2.0 * (double)c->Cv * (double)CuK * (double)NV);
    int64_t nr = vg_gemm_nr();
    float *work[MAX_PARTS];
    int64_t *acoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_A, (size_t)(NV > 0 ? NV : 1) * 2);
    int64_t *scoff = (int64_t *)vg_gemm_scratch(SLOT_TAB_S, (size_t)CuK * 2);
    if (!acoff || !scoff || !reserve_work(work, parts, c->Cv, cols_per_part(CuK, parts, nr))) return 0;
    for (int64_t n = 0; n < c->N; n++)
        for (int64_t v = 0; v < c->Vg; v++) acoff[n * c->Vg + v] = n * c->Cv * c->Vg + v;
    struct vg_gather g;
    vg_gather_init_conv(&g, U, c->Cu, c->ud, c->vd, c->k, c->s, c->p);
    const int64_t J = tap_offsets(scoff, &g, c); /* weights of dropped taps get nothing */
    struct vg_pack_rows a = {V, c->Vg, acoff};
    struct vg_store_add st = {dWc, CuK, scoff};
    struct vg_gemm_task t = {c->Cv, J, NV, vg_pack_a_rows, &a, vg_gather_pack_bt, &g, vg_store_add_fn, &st};
    run_parts(&t, work, parts, nr);
    return 1;
}

/* out (N, C, S) = bias broadcast (or 0) */
static void fill_bias(float *out, const float *bias, int64_t N, int64_t C, int64_t S) {
#pragma omp parallel for schedule(static) num_threads(pick_parts((double)N * C * S))
    for (int64_t r = 0; r < N * C; r++) {
        float b = bias ? bias[r % C] : 0.0f;
        for (int64_t i = 0; i < S; i++) out[r * S + i] = b;
    }
}

static double conv_flops(const struct canon *c) {
    return 2.0 * (double)c->Cu * (double)c->Cv * (double)c->Kv * (double)c->N * (double)c->Vg;
}

enum ig_pass { IG_FWD, IG_ADJ, IG_WGRAD };

/* Whether a canonical pass takes the indirect GEMM of conv_igemm.c: where
 * the CPU runs it, and (unless forced) where it measured faster than the
 * packed-GEMM lowering on the 3D-DCGAN layers (bench/README.md, "conv
 * kernels"): not for the dense layers (one plain GEMM); adj with at most
 * VG_CONV_IGEMM_NARROW_CU U channels runs its narrow kernel (vectorised over
 * the reduction; 1.3-1.6x the packed GEMM for 4, 6 and 8 channels on a
 * g64.5-like layer), from 12 channels the 16-wide tile (1.2x at 12, even at
 * 10: 9..11 stay on the packed GEMM); not for fwd over fewer than 512 outputs, where each thread's
 * tiles are too few to amortise streaming the packed weights (~10% slower);
 * wgrad for 16..256 V channels with 16+ U channels (or at most 32 V
 * channels) over 512+ positions: on the AVX-512 VM (1 thread, CPU time,
 * batch 16) 0.75-0.91x the packed GEMM's time on g64.3, g64.4, d64.2, d64.3,
 * g32.2, g32.3, d32.2, d32.3, while 512 V channels (g64.2, d64.4), 3 U
 * channels (g64.5, d64.1, g32.4) and the 1x1-input first layers ran
 * 1.1-1.8x; a whole step of the demo's width-16 model 15% less CPU time. */
static int use_igemm(const struct canon *c, enum ig_pass pass) {
    const int mode = vg_conv_igemm_mode();
    if (mode == 0) return 0;
    for (int a = 0; a < 3; a++)
        if (c->s[a] > VG_CONV_IGEMM_MAX_S) return 0;
    if (mode == 2) return 1;
    if (is_dense(c)) return 0;
    switch (pass) {
    case IG_FWD: return c->Cv >= 16 && c->N * c->Vg >= 512;
    case IG_ADJ: return c->Cu >= 12 || c->Cu <= VG_CONV_IGEMM_NARROW_CU;
    case IG_WGRAD: return c->Cv >= 16 && c->Cv <= 256 && (c->Cu >= 16 || c->Cv <= 32) && c->N * c->Vg >= 512;
    default: return 0;
    }
}

static int fast_ok(const struct vg_conv_desc *d) {
    for (int a = 0; a < 3; a++)
        if (d->k[a] < 1 || d->k[a] > VG_GATHER_MAX_TAPS || d->s[a] < 1 || d->p[a] < 0) return 0;
    return 1;
}

static void conv_forward(vg_real *out, const vg_real *inp, const vg_real *weight, const vg_real *bias,
                         const struct vg_conv_desc *d) {
    if (!fast_ok(d)) {
        vg_cpu_conv_forward_reference(out, inp, weight, bias, d);
        return;
    }
    struct canon c = make_canon(d);
    if (use_igemm(&c, d->transposed ? IG_ADJ : IG_FWD)) {
        int parts = pick_parts(conv_flops(&c));
        if (d->transposed ? vg_conv_igemm_adj(out, inp, weight, bias, 1, &c, parts)
                          : vg_conv_igemm_fwd(out, inp, weight, bias, 1, &c, parts))
            return;
    }
    fill_bias(out, bias, d->N, d->C_out, prod3(d->out));
    int ok = d->transposed ? canon_adj(out, inp, weight, &c) : canon_fwd(out, inp, weight, &c);
    if (!ok) vg_cpu_conv_forward_reference(out, inp, weight, bias, d);
}

static void conv_backward(vg_real *dinp, vg_real *dweight, vg_real *dbias, const vg_real *dout,
                          const vg_real *inp, const vg_real *weight, const struct vg_conv_desc *d) {
    if (!fast_ok(d)) {
        vg_cpu_conv_backward_reference(dinp, dweight, dbias, dout, inp, weight, d);
        return;
    }
    struct canon c = make_canon(d);
    if (dbias) {
        const int64_t O = prod3(d->out), Co = d->C_out;
#pragma omp parallel for schedule(static) num_threads(pick_parts((double)d->N * Co * O))
        for (int64_t co = 0; co < Co; co++) {
            double s = 0;
            for (int64_t n = 0; n < d->N; n++) {
                /* 8 interleaved partial sums: independent adds, in an order fixed by O */
                const float *g = dout + (n * Co + co) * O;
                float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                int64_t i = 0;
                for (; i + 8 <= O; i += 8)
                    for (int l = 0; l < 8; l++) part[l] += g[i + l];
                float tail = 0;
                for (; i < O; i++) tail += g[i];
                s += (double)(((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]))) +
                     (double)tail;
            }
            dbias[co] += (float)s;
        }
    }
    const int parts = pick_parts(conv_flops(&c));
    if (dinp && use_igemm(&c, d->transposed ? IG_FWD : IG_ADJ) &&
        (d->transposed ? vg_conv_igemm_fwd(dinp, dout, weight, NULL, 0, &c, parts)
                       : vg_conv_igemm_adj(dinp, dout, weight, NULL, 0, &c, parts)))
        dinp = NULL; /* done */
    vg_gemm_scratch_restart(); /* each kernel below starts from fresh scratch */
    if (dweight && use_igemm(&c, IG_WGRAD) &&
        (d->transposed ? vg_conv_igemm_wgrad(dweight, inp, dout, &c, parts)
                       : vg_conv_igemm_wgrad(dweight, dout, inp, &c, parts)))
        dweight = NULL;
    vg_gemm_scratch_restart();
    if (dinp) {
        int ok = d->transposed ? canon_fwd(dinp, dout, weight, &c) : canon_adj(dinp, dout, weight, &c);
        if (!ok) vg_cpu_conv_backward_reference(dinp, NULL, NULL, dout, inp, weight, d);
    }
    vg_gemm_scratch_restart();
    if (dweight) {
        int ok = d->transposed ? canon_wgrad(dweight, inp, dout, &c) : canon_wgrad(dweight, dout, inp, &c);
        if (!ok) vg_cpu_conv_backward_reference(NULL, dweight, NULL, dout, inp, weight, d);
    }
}

void vg_cpu_register_conv(vg_backend *be) {
    be->conv_forward = conv_forward;
    be->conv_backward = conv_backward;
}

#else

void vg_cpu_register_conv(vg_backend *be) {
    be->conv_forward = vg_cpu_conv_forward_reference;
    be->conv_backward = vg_cpu_conv_backward_reference;
}

#endif
