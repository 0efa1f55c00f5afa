/* CPU convolution kernels: the reference against hand computations and
 * against itself (forward/backward adjointness), then the fast path (the
 * backend table's conv_forward / conv_backward) against the reference on
 * many shapes: stride 2 with odd sizes, non-cubic kernels, 1x1x1 kernels,
 * stride larger than the kernel, output_padding, batch 1, T = 1, C_in = 3,
 * padding >= kernel / 2, channel counts off the register tiles, and the
 * 3D-DCGAN layer geometries with fewer channels or samples, through both
 * fast lowerings (packed GEMM, and the indirect GEMM where the CPU has it,
 * forced onto every case so its edges are covered; with 1 to 8 U channels
 * that is its narrow adj kernel). Each case checks the forward (which must
 * overwrite), every gradient (which must accumulate), NULL gradients,
 * bit-identical reruns, and results bit-identical for 1, 2 and 3 threads,
 * and with the kernels' scratch lent (vg_gemm_lend_workspace: none, too
 * little, plenty; the lent memory filled with NaN first, so no kernel may
 * count on zeroed scratch). PyTorch parity of the op lives in the fixture
 * tests. */
#include "backend/cpu/conv_igemm.h"
#include "backend/cpu/cpu.h"
#include "backend/cpu/gemm_engine.h"
#include "test.h"

#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static float frand(void) { /* uniform in [-1, 1) */
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}
static float *rand_buf(int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    for (int64_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static float *copy_buf(const float *x, int64_t n) {
    float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
    if (n > 0) memcpy(p, x, sizeof(float) * (size_t)n);
    return p;
}

static struct vg_conv_desc make(int64_t N, int64_t Ci, int64_t Co, int64_t T, int64_t H, int64_t W, int kt, int kh,
                                int kw, int st, int sh, int sw, int pt, int ph, int pw, int transposed, int opt,
                                int oph, int opw) {
    struct vg_conv_desc d = {.N = N, .C_in = Ci, .C_out = Co, .in = {T, H, W}, .k = {kt, kh, kw},
                             .s = {st, sh, sw}, .p = {pt, ph, pw}, .op = {opt, oph, opw}, .transposed = transposed};
    for (int a = 0; a < 3; a++)
        d.out[a] = transposed ? (d.in[a] - 1) * d.s[a] - 2 * d.p[a] + d.k[a] + d.op[a]
                              : (d.in[a] + 2 * d.p[a] - d.k[a]) / d.s[a] + 1;
    return d;
}

static int64_t n_in(const struct vg_conv_desc *d) { return d->N * d->C_in * d->in[0] * d->in[1] * d->in[2]; }
static int64_t n_out(const struct vg_conv_desc *d) { return d->N * d->C_out * d->out[0] * d->out[1] * d->out[2]; }
static int64_t n_w(const struct vg_conv_desc *d) { return d->C_in * d->C_out * d->k[0] * d->k[1] * d->k[2]; }

/* Tiny cases worked out by hand (1-D along W). */
static void test_reference_by_hand(void) {
    float x[4] = {1, 2, 3, 4}, w[2] = {10, 1}, b[1] = {0.5f}, y[3];
    struct vg_conv_desc d = make(1, 1, 1, 1, 1, 4, 1, 1, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
    vg_cpu_conv_forward_reference(y, x, w, b, &d);
    CHECK(y[0] == 12.5f && y[1] == 23.5f && y[2] == 34.5f, "conv1d: %g %g %g", y[0], y[1], y[2]);

    /* stride 2, pad 1, k 3 over W = 4: out 2; out o reads x[2o - 1 + k] */
    float w3[3] = {1, 10, 100}, y2[2];
    d = make(1, 1, 1, 1, 1, 4, 1, 1, 3, 1, 1, 2, 0, 0, 1, 0, 0, 0, 0);
    vg_cpu_conv_forward_reference(y2, x, w3, NULL, &d);
    CHECK(y2[0] == 0 * 1 + 1 * 10 + 2 * 100 && y2[1] == 2 * 1 + 3 * 10 + 4 * 100, "conv s2p1: %g %g", y2[0], y2[1]);

    /* transposed, in 2, k 3, s 2, p 1, op 1: out (2-1)*2 - 2 + 3 + 1 = 4,
     * in i writes out 2i - 1 + k */
    float xt[2] = {1, 2}, yt[4];
    d = make(1, 1, 1, 1, 1, 2, 1, 1, 3, 1, 1, 2, 0, 0, 1, 1, 0, 0, 1);
    CHECK(d.out[2] == 4, "transposed out size %ld", (long)d.out[2]);
    vg_cpu_conv_forward_reference(yt, xt, w3, NULL, &d);
    CHECK(yt[0] == 10 && yt[1] == 100 + 2 && yt[2] == 20 && yt[3] == 200, "convT: %g %g %g %g", yt[0], yt[1], yt[2],
          yt[3]);

    /* two channels in, two out, 1x1x1 kernel: a matrix product per pixel */
    float xc[4] = {1, 2, 3, 4}, wc[4] = {1, 2, 3, 4}, yc[4]; /* x (1, 2, 1,1,2); w (2, 2) */
    d = make(1, 2, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
    vg_cpu_conv_forward_reference(yc, xc, wc, NULL, &d);
    CHECK(yc[0] == 1 * 1 + 2 * 3 && yc[1] == 1 * 2 + 2 * 4 && yc[2] == 3 * 1 + 4 * 3 && yc[3] == 3 * 2 + 4 * 4,
          "1x1 conv: %g %g %g %g", yc[0], yc[1], yc[2], yc[3]);
    /* transposed: weight (C_in, C_out): y[co] = sum_ci w[ci, co] x[ci] */
    d.transposed = 1;
    vg_cpu_conv_forward_reference(yc, xc, wc, NULL, &d);
    CHECK(yc[0] == 1 * 1 + 3 * 3 && yc[2] == 1 * 2 + 3 * 4, "1x1 convT: %g %g", yc[0], yc[2]);

    /* backward by hand on the first case: dy = (1, 1, 1) */
    float dy[3] = {1, 1, 1}, dx[4] = {0, 0, 0, 0}, dw[2] = {0, 0}, db[1] = {0};
    d = make(1, 1, 1, 1, 1, 4, 1, 1, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0);
    vg_cpu_conv_backward_reference(dx, dw, db, dy, x, w, &d);
    CHECK(dx[0] == 10 && dx[1] == 11 && dx[2] == 11 && dx[3] == 1, "dx %g %g %g %g", dx[0], dx[1], dx[2], dx[3]);
    CHECK(dw[0] == 6 && dw[1] == 9 && db[0] == 3, "dw %g %g db %g", dw[0], dw[1], db[0]);
}

/* <y(x, w), g> == <x, dx(g)> == <w, dw(g)>: the reference backward is the
 * exact adjoint of the reference forward. */
static void test_reference_adjoint(const struct vg_conv_desc *d, const char *name) {
    int64_t ni = n_in(d), no = n_out(d), nw = n_w(d);
    float *x = rand_buf(ni), *w = rand_buf(nw), *g = rand_buf(no), *y = rand_buf(no);
    float *dx = calloc((size_t)ni, sizeof(float)), *dw = calloc((size_t)nw, sizeof(float));
    vg_cpu_conv_forward_reference(y, x, w, NULL, d);
    vg_cpu_conv_backward_reference(dx, dw, NULL, g, x, w, d);
    double a = 0, b = 0, c = 0, scale = 0;
    for (int64_t i = 0; i < no; i++) a += (double)y[i] * g[i], scale += fabs((double)y[i] * g[i]);
    for (int64_t i = 0; i < ni; i++) b += (double)x[i] * dx[i];
    for (int64_t i = 0; i < nw; i++) c += (double)w[i] * dw[i];
    CHECK(fabs(a - b) <= 1e-5 * scale + 1e-6 && fabs(a - c) <= 1e-5 * scale + 1e-6,
          "%s: adjoint <y,g> %.8g <x,dx> %.8g <w,dw> %.8g", name, a, b, c);
    free(x), free(w), free(g), free(y), free(dx), free(dw);
}

/* One case: inputs and reference results, computed once for all thread counts. */
struct fcase {
    const struct vg_conv_desc *d;
    int64_t ni, no, nw;
    float *x, *w, *b, *g, *dx0, *dw0, *db0;
    float *y_ref, *y_ref_nb, *dx_ref, *dw_ref, *db_ref;
};

static void fcase_init(struct fcase *c, const struct vg_conv_desc *d) {
    c->d = d;
    c->ni = n_in(d), c->no = n_out(d), c->nw = n_w(d);
    c->x = rand_buf(c->ni), c->w = rand_buf(c->nw), c->b = rand_buf(d->C_out), c->g = rand_buf(c->no);
    /* gradients start from random values: every kernel must accumulate */
    c->dx0 = rand_buf(c->ni), c->dw0 = rand_buf(c->nw), c->db0 = rand_buf(d->C_out);
    c->y_ref = malloc(sizeof(float) * (size_t)c->no), c->y_ref_nb = malloc(sizeof(float) * (size_t)c->no);
    vg_cpu_conv_forward_reference(c->y_ref, c->x, c->w, c->b, d);
    vg_cpu_conv_forward_reference(c->y_ref_nb, c->x, c->w, NULL, d);
    c->dx_ref = copy_buf(c->dx0, c->ni), c->dw_ref = copy_buf(c->dw0, c->nw), c->db_ref = copy_buf(c->db0, d->C_out);
    vg_cpu_conv_backward_reference(c->dx_ref, c->dw_ref, c->db_ref, c->g, c->x, c->w, d);
}

static void fcase_free(struct fcase *c) {
    float *p[] = {c->x, c->w, c->b, c->g, c->dx0, c->dw0, c->db0, c->y_ref, c->y_ref_nb, c->dx_ref, c->dw_ref, c->db_ref};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) free(p[i]);
}

/* Runs one case; `first`: keep its results in y1/dx1/dw1, else require
 * them bit-identical (the sum order must not depend on the thread count). */
static void test_fast_case(const vg_backend *be, const struct fcase *c, const char *name, int first, float *y1,
                           float *dx1k, float *dw1k) {
    const struct vg_conv_desc *d = c->d;
    const int64_t ni = c->ni, no = c->no, nw = c->nw;
    float *y = malloc(sizeof(float) * (size_t)no);
    char what[224];
    for (int64_t i = 0; i < no; i++) y[i] = NAN; /* the forward must overwrite */
    be->conv_forward(y, c->x, c->w, c->b, d);
    snprintf(what, sizeof what, "%s fwd", name);
    CHECK_CLOSE(what, y, c->y_ref, no, 1e-4, 1e-6);
    be->conv_forward(y, c->x, c->w, NULL, d);
    snprintf(what, sizeof what, "%s fwd no bias", name);
    CHECK_CLOSE(what, y, c->y_ref_nb, no, 1e-4, 1e-6);

    float *dx = copy_buf(c->dx0, ni), *dw = copy_buf(c->dw0, nw), *db = copy_buf(c->db0, d->C_out);
    be->conv_backward(dx, dw, db, c->g, c->x, c->w, d);
    snprintf(what, sizeof what, "%s bwd-data", name);
    CHECK_CLOSE(what, dx, c->dx_ref, ni, 1e-4, 1e-6);
    snprintf(what, sizeof what, "%s bwd-weight", name);
    CHECK_CLOSE(what, dw, c->dw_ref, nw, 1e-4, 1e-6);
    snprintf(what, sizeof what, "%s bwd-bias", name);
    CHECK_CLOSE(what, db, c->db_ref, d->C_out, 1e-4, 1e-6);

    /* one gradient at a time (the others NULL) gives the same numbers */
    float *dx1 = copy_buf(c->dx0, ni), *dw1 = copy_buf(c->dw0, nw), *db1 = copy_buf(c->db0, d->C_out);
    be->conv_backward(dx1, NULL, NULL, c->g, c->x, c->w, d);
    be->conv_backward(NULL, dw1, NULL, c->g, c->x, c->w, d);
    be->conv_backward(NULL, NULL, db1, c->g, c->x, c->w, d);
    CHECK(memcmp(dx1, dx, sizeof(float) * (size_t)ni) == 0, "%s: dinp alone differs", name);
    CHECK(memcmp(dw1, dw, sizeof(float) * (size_t)nw) == 0, "%s: dweight alone differs", name);
    CHECK(memcmp(db1, db, sizeof(float) * (size_t)d->C_out) == 0, "%s: dbias alone differs", name);

    if (first) {
        memcpy(y1, y, sizeof(float) * (size_t)no);
        memcpy(dx1k, dx, sizeof(float) * (size_t)ni);
        memcpy(dw1k, dw, sizeof(float) * (size_t)nw);
    } else {
        CHECK(memcmp(y1, y, sizeof(float) * (size_t)no) == 0 && memcmp(dx1k, dx, sizeof(float) * (size_t)ni) == 0 &&
                  memcmp(dw1k, dw, sizeof(float) * (size_t)nw) == 0,
              "%s: results differ from 1 thread", name);
    }
    /* bit-identical reruns */
    float *y2 = malloc(sizeof(float) * (size_t)no);
    be->conv_forward(y2, c->x, c->w, NULL, d);
    CHECK(memcmp(y2, y, sizeof(float) * (size_t)no) == 0, "%s: forward rerun differs", name);
    free(y2), free(y), free(dx), free(dw), free(db), free(dx1), free(dw1), free(db1);
}

int main(void) {
    vg_backend be;
    memset(&be, 0, sizeof be);
    vg_cpu_register_conv(&be);
    CHECK(be.conv_forward && be.conv_backward, "conv kernels not registered");
    if (!be.conv_forward || !be.conv_backward) TEST_END();

    test_reference_by_hand();

    struct {
        const char *name;
        struct vg_conv_desc d;
    } cases[] = {
        /*                       N  Ci  Co   T   H   W  kt kh kw st sh sw pt ph pw tr opt oph opw */
        {"k3 s1 p1", make(2, 3, 5, 5, 7, 6, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0)},
        {"k4 s2 p1 odd", make(2, 4, 6, 5, 7, 9, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"2d T=1 Cin=3 N=1", make(1, 3, 8, 1, 9, 11, 1, 3, 3, 1, 2, 2, 0, 1, 1, 0, 0, 0, 0)},
        {"1x1x1", make(3, 5, 7, 2, 3, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)},
        {"non-cubic", make(2, 6, 4, 4, 6, 5, 2, 3, 4, 1, 2, 3, 0, 1, 2, 0, 0, 0, 0)},
        {"stride > kernel", make(2, 4, 5, 5, 7, 8, 1, 2, 2, 2, 3, 3, 0, 1, 0, 0, 0, 0, 0)},
        {"Cin 40 (col2im dinp)", make(2, 40, 6, 4, 6, 7, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"Cin 40 N=1 (phase dinp)", make(1, 40, 6, 4, 6, 7, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"Cin 33 k3 s2", make(1, 33, 7, 3, 5, 6, 3, 3, 3, 2, 2, 2, 1, 0, 1, 0, 0, 0, 0)},
        {"T k4 s2 p1 op", make(2, 5, 3, 3, 4, 5, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 0, 1)},
        {"T Cout 40 (col2im)", make(2, 8, 40, 2, 3, 4, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 0, 1)},
        {"T Cout 40 N=1 (phase)", make(1, 8, 40, 2, 3, 4, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 1, 0, 1)},
        {"T Cout 33 N=1 k(1,4,4) 1x1x1 in", make(1, 20, 33, 1, 1, 1, 1, 4, 4, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0)},
        {"T Cout 34 N=1 p1 s1 k3", make(1, 5, 34, 2, 3, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0)},
        {"T Cout 36 N=1 k3 s3", make(1, 6, 36, 2, 3, 3, 3, 2, 3, 3, 3, 2, 1, 0, 1, 1, 2, 1, 0)},
        {"T 1x1x1", make(2, 7, 5, 2, 3, 4, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0)},
        {"T stride > kernel", make(2, 4, 5, 2, 3, 4, 1, 2, 2, 2, 3, 3, 0, 0, 1, 1, 1, 2, 0)},
        {"T stride > kernel Cout 34", make(2, 4, 34, 2, 3, 4, 1, 2, 2, 2, 3, 3, 0, 0, 1, 1, 1, 2, 0)},
        {"T non-cubic", make(2, 6, 4, 3, 4, 5, 2, 3, 4, 1, 2, 3, 0, 1, 2, 1, 0, 1, 2)},
        {"T 2d N=1 Cin=3", make(1, 3, 5, 1, 6, 7, 1, 4, 4, 1, 2, 2, 0, 1, 1, 1, 0, 1, 0)},
        /* edges of the indirect-GEMM path: padding >= kernel / 2 (taps that
         * read only padding are dropped), channel counts off the 6/8/16
         * tiles, strides 3 and 4 (phases without taps), 5 > its stride limit,
         * one-position outputs and sizes below the kernel */
        {"k3 p2 pad > k/2", make(2, 17, 19, 3, 4, 5, 3, 3, 3, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0)},
        {"k5 s2 p4 Cin 9", make(1, 9, 21, 2, 7, 3, 5, 5, 5, 2, 2, 2, 4, 4, 4, 0, 0, 0, 0)},
        {"k3 s2 p1 T=1 in 1x1", make(2, 20, 18, 1, 1, 1, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"k(1,1,3) p(0,0,2) Cout 17", make(3, 12, 17, 2, 2, 5, 1, 1, 3, 1, 1, 1, 0, 0, 2, 0, 0, 0, 0)},
        {"k4 s4 p0 odd", make(2, 7, 23, 5, 9, 10, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0)},
        {"k2 s5 p1 stride > 4", make(2, 6, 18, 6, 7, 11, 2, 2, 2, 5, 5, 5, 1, 1, 1, 0, 0, 0, 0)},
        {"T k3 s2 p2 op1 Cout 19", make(2, 17, 19, 3, 4, 5, 3, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1)},
        {"T k4 s4 p1 op3 Cout 20", make(1, 9, 20, 2, 3, 2, 4, 4, 4, 4, 4, 4, 1, 1, 1, 1, 3, 2, 1)},
        {"T k2 s3 p0 op2 Cout 18", make(2, 10, 18, 2, 3, 3, 2, 2, 2, 3, 3, 3, 0, 0, 0, 1, 2, 1, 0)},
        {"T k5 s2 p3 in 2x3x2", make(2, 13, 22, 2, 3, 2, 5, 5, 5, 2, 2, 2, 3, 3, 3, 1, 1, 0, 1)},
        {"T k3 s1 p2 Cin 3 Cout 16", make(1, 3, 16, 2, 3, 4, 3, 3, 3, 1, 1, 1, 2, 2, 2, 1, 0, 0, 0)},
        /* the narrow adj kernel (U with at most 8 channels: transposed conv
         * forward with few C_out, conv input gradient with few C_in):
         * channel groups of 3, 2 and 1, reductions off the 8-float chunks,
         * odd sizes, stride 1 and 2, padding 0..2, phases without taps */
        {"T Cout 1 k4 s2 p1 odd N=1", make(1, 5, 1, 3, 5, 7, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 0, 1, 0)},
        {"T Cout 2 k3 s1 p0", make(2, 9, 2, 3, 4, 5, 3, 3, 3, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0)},
        {"T Cout 3 k4 s2 p2 Cin 13", make(1, 13, 3, 2, 3, 5, 4, 4, 4, 2, 2, 2, 2, 2, 2, 1, 1, 0, 1)},
        {"T Cout 4 k3 s2 p1 Cin 17", make(2, 17, 4, 3, 3, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 0)},
        {"T Cout 5 k(2,3,4) s(1,2,2) Cin 8", make(1, 8, 5, 3, 4, 3, 2, 3, 4, 1, 2, 2, 1, 0, 2, 1, 0, 1, 1)},
        {"T Cout 2 k2 s3 (phases without taps)", make(2, 4, 2, 2, 3, 3, 2, 2, 2, 3, 3, 3, 0, 0, 0, 1, 2, 1, 0)},
        {"Cin 1 k3 s2 p1 odd", make(1, 1, 6, 5, 7, 9, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"Cin 2 k4 s2 p2", make(2, 2, 9, 4, 6, 5, 4, 4, 4, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0)},
        {"Cin 4 k(1,2,2) s1 p0 T=1 N=1", make(1, 4, 5, 1, 7, 6, 1, 2, 2, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)},
        {"Cin 7 Cout 3 k3 s2 p0", make(1, 7, 3, 3, 5, 7, 3, 3, 3, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0)},
        {"Cin 8 Cout 65 k4 s2 p1", make(1, 8, 65, 2, 6, 6, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        /* the 3D-DCGAN geometries (exact where small, else fewer channels) */
        {"g64.1 100->512 k(1,4,4)", make(2, 100, 512, 1, 1, 1, 1, 4, 4, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0)},
        {"g32.1 100->256 k(2,4,4)", make(2, 100, 256, 1, 1, 1, 2, 4, 4, 1, 1, 1, 0, 0, 0, 1, 0, 0, 0)},
        {"g64.2 geometry 64->32", make(2, 64, 32, 1, 4, 4, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0)},
        {"g64.4 geometry 16->8", make(1, 16, 8, 4, 16, 16, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0)},
        {"g64.5 geometry 8->3", make(2, 8, 3, 4, 16, 16, 4, 4, 4, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0)},
        {"d64.1 geometry 3->8", make(2, 3, 8, 8, 32, 32, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"d64.2 geometry 8->32", make(1, 8, 32, 8, 16, 16, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"d64.4 geometry 32->64", make(2, 32, 64, 2, 8, 8, 4, 4, 4, 2, 2, 2, 1, 1, 1, 0, 0, 0, 0)},
        {"d64.5 512->1 k(1,4,4)", make(2, 512, 1, 1, 4, 4, 1, 4, 4, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)},
        {"d32.4 256->1 k(2,4,4)", make(3, 256, 1, 2, 4, 4, 2, 4, 4, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)},
    };
    const int ncases = (int)(sizeof cases / sizeof cases[0]);
    for (int i = 0; i < 16; i++) test_reference_adjoint(&cases[i].d, cases[i].name);

    /* every case through both fast lowerings: the packed GEMM (mode 0) and,
     * where the CPU runs it, the indirect GEMM on channels-last copies
     * (mode 1: forced on every shape it can take) */
    const int threads[] = {1, 2, 3};
    const int modes = vg_conv_igemm_mode() ? 2 : 1;
    if (modes == 1) printf("indirect-GEMM conv path not available on this CPU: not tested\n");
    for (int i = 0; i < ncases; i++) {
        struct fcase c;
        fcase_init(&c, &cases[i].d);
        float *y1 = malloc(sizeof(float) * (size_t)c.no), *dx1 = malloc(sizeof(float) * (size_t)(c.ni > 0 ? c.ni : 1));
        float *dw1 = malloc(sizeof(float) * (size_t)(c.nw > 0 ? c.nw : 1));
        for (int m = 0; m < modes; m++) {
            vg_conv_igemm_force(m);
            for (int t = 0; t < 3; t++) {
                char name[160];
                vg_set_threads(threads[t]);
                snprintf(name, sizeof name, "%s [%s, threads %d]", cases[i].name, m ? "igemm" : "gemm", threads[t]);
                test_fast_case(&be, &c, name, t == 0, y1, dx1, dw1);
            }
        }
        /* scratch lent: nothing (every slot allocated for the loan), a
         * little (some slots carved, the rest allocated), plenty (every
         * slot carved: the lent memory is written) */
        static const size_t loans[] = {0, 4096, (size_t)64 << 20};
        for (int m = 0; m < modes; m++) {
            vg_conv_igemm_force(m);
            vg_set_threads(2);
            char base[160];
            snprintf(base, sizeof base, "%s [%s, own scratch]", cases[i].name, m ? "igemm" : "gemm");
            test_fast_case(&be, &c, base, 1, y1, dx1, dw1); /* this lowering's results, to compare with */
            for (int l = 0; l < 3; l++) {
                float *lent = loans[l] ? aligned_alloc(64, loans[l]) : NULL;
                for (size_t k = 0; k < loans[l] / sizeof(float); k++) lent[k] = NAN;
                char name[160];
                snprintf(name, sizeof name, "%s [%s, %zu bytes lent]", cases[i].name, m ? "igemm" : "gemm", loans[l]);
                vg_gemm_lend_workspace(lent, loans[l]);
                test_fast_case(&be, &c, name, 0, y1, dx1, dw1);
                vg_gemm_end_workspace();
                if (l == 2) {
                    size_t written = 0;
                    for (size_t k = 0; k < loans[l] / sizeof(float); k++) written += !isnan(lent[k]);
                    CHECK(written > 0, "%s: the kernels did not use the lent memory", name);
                }
                free(lent);
            }
        }
        /* the indirect GEMM one sample per chunk (the batch's copies in
         * pieces, the weight gradient summed across them): as exact, and
         * the same at every thread count */
        if (modes == 2 && cases[i].d.N > 1) {
            vg_conv_igemm_force(1);
            vg_conv_igemm_set_chunk(1);
            for (int t = 0; t < 2; t++) {
                char name[160];
                vg_set_threads(threads[t]);
                snprintf(name, sizeof name, "%s [igemm, 1-sample chunks, threads %d]", cases[i].name, threads[t]);
                test_fast_case(&be, &c, name, t == 0, y1, dx1, dw1);
            }
            vg_conv_igemm_set_chunk(0);
        }
        free(y1), free(dx1), free(dw1);
        fcase_free(&c);
    }
    vg_conv_igemm_force(-1);
    TEST_END();
}
