/* The counter-based generator: Philox4x32-10 known-answer vectors from the
 * Random123 distribution (kat_vectors), statistics of the uniform and normal
 * fills, position independence (element i depends only on seed and index)
 * and independence from the thread count. */
#include "test.h"
#include "vidgan.h"
#include "core/rng.h"

static void check_kat(void) {
    struct {
        uint32_t ctr[4], key[2], want[4];
    } kat[] = {
        {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t got[4];
        vg_philox4x32_block(got, kat[k].ctr, kat[k].key);
        CHECK(memcmp(got, kat[k].want, sizeof got) == 0, "philox KAT %d: got %08x %08x %08x %08x", k, got[0], got[1],
              got[2], got[3]);
    }
}

static void check_stats(vg_ctx *ctx) {
    const int64_t n = 1 << 20;
    vg_ctx_reset(ctx);
    vg_tensor *u = vg_tensor_new(ctx, 1, &n, 0), *g = vg_tensor_new(ctx, 1, &n, 0);
    vg_tensor_fill_uniform(u, 42, 0, -1.0, 3.0);
    vg_tensor_fill_normal(g, 42, 0, 0.5, 2.0);
    float *hu = malloc((size_t)n * sizeof *hu), *hg = malloc((size_t)n * sizeof *hg);
    vg_tensor_read(u, hu);
    vg_tensor_read(g, hg);
    double su = 0, su2 = 0, sg = 0, sg2 = 0, lo = 1e9, hi = -1e9;
    int64_t beyond3 = 0;
    for (int64_t i = 0; i < n; i++) {
        su += hu[i];
        su2 += (double)hu[i] * hu[i];
        lo = fmin(lo, hu[i]);
        hi = fmax(hi, hu[i]);
        sg += hg[i];
        sg2 += (double)hg[i] * hg[i];
        beyond3 += fabs((hg[i] - 0.5) / 2.0) > 3.0;
    }
    double mu = su / n, vu = su2 / n - mu * mu, mg = sg / n, vg = sg2 / n - mg * mg;
    /* U(-1, 3): mean 1, var 16/12; standard errors ~0.001 and ~0.001 */
    CHECK(fabs(mu - 1.0) < 0.01 && fabs(vu - 16.0 / 12.0) < 0.01, "uniform mean %g var %g", mu, vu);
    CHECK(lo >= -1.0 && hi < 3.0, "uniform range [%g, %g]", lo, hi);
    /* N(0.5, 2): mean 0.5, var 4; P(|z| > 3) = 0.0027 */
    CHECK(fabs(mg - 0.5) < 0.01 && fabs(vg - 4.0) < 0.03, "normal mean %g var %g", mg, vg);
    CHECK(fabs((double)beyond3 / n - 0.0027) < 0.0005, "normal tail fraction %g", (double)beyond3 / n);
    free(hu);
    free(hg);
}

/* Element i depends only on (seed, offset + i); and not on the thread count. */
static void check_positions(vg_ctx *ctx) {
    const int64_t n = 200000, m = 1000, off = 12345;
    float *a = malloc((size_t)n * sizeof *a), *b = malloc((size_t)m * sizeof *b), *c = malloc((size_t)n * sizeof *c);
    vg_ctx_reset(ctx);
    vg_set_threads(2);
    vg_tensor *big = vg_tensor_new(ctx, 1, &n, 0), *small = vg_tensor_new(ctx, 1, &m, 0);
    vg_tensor_fill_normal(big, 7, 0, 0, 1);
    vg_tensor_fill_normal(small, 7, (uint64_t)off, 0, 1);
    vg_tensor_read(big, a);
    vg_tensor_read(small, b);
    CHECK(memcmp(a + off, b, (size_t)m * sizeof *b) == 0, "a window of the stream equals the stream at that offset");
    vg_set_threads(1);
    vg_tensor_fill_normal(big, 7, 0, 0, 1);
    vg_tensor_read(big, c);
    CHECK(memcmp(a, c, (size_t)n * sizeof *c) == 0, "1 thread and 2 threads give the same stream");
    vg_tensor_fill_normal(big, 8, 0, 0, 1);
    vg_tensor_read(big, c);
    CHECK(memcmp(a, c, (size_t)n * sizeof *c) != 0, "another seed gives another stream");
    vg_set_threads(0);
    free(a);
    free(b);
    free(c);
}

int main(void) {
    vg_ctx *ctx;
    if (vg_ctx_new(&ctx, NULL) != VG_OK) return 1;
    check_kat();
    check_stats(ctx);
    check_positions(ctx);
    vg_ctx_free(ctx);
    TEST_END();
}
