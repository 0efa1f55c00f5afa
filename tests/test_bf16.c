/* bf16 mixed precision on the CPU side: the float32 -> bfloat16 rounding
 * rule of core/bf16.h (the same inline function the CUDA cast kernel runs)
 * against hand-computed bit patterns and, on a million random floats,
 * against the definition (the nearer of the two neighbouring bf16 values by
 * exact double arithmetic, ties to the even one); and the library's answers
 * about precisions: names, parsing, and a CPU context refusing bf16 with a
 * message saying what is needed. The GPU side is tests/test_backend_parity.c. */
#include <stdint.h>
#include <string.h>

#include "core/bf16.h"
#include "core/rng.h"
#include "core/status.h"
#include "test.h"
#include "vidgan.h"

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Expected bits written out by hand: the kept upper half, plus one when the
 * dropped lower half is above 0x8000 or equal to it with an odd kept half. */
static void hand_cases(void) {
    static const struct {
        uint32_t f;
        uint16_t bf;
        const char *what;
    } cases[] = {
        {0x3F800000u, 0x3F80u, "1.0 is exact"},
        {0xBFC00000u, 0xBFC0u, "-1.5 is exact"},
        {0x00000000u, 0x0000u, "+0"},
        {0x80000000u, 0x8000u, "-0 keeps its sign"},
        {0x3F808000u, 0x3F80u, "1 + 2^-8: a tie, down to the even 1.0"},
        {0x3F818000u, 0x3F82u, "1 + 3*2^-8: a tie, up to the even 1 + 2^-6"},
        {0x3F808001u, 0x3F81u, "just above the 1 + 2^-8 tie: up"},
        {0x3F807FFFu, 0x3F80u, "just below the 1 + 2^-8 tie: down"},
        {0xBF808000u, 0xBF80u, "-(1 + 2^-8): a tie, to the even -1.0"},
        {0xBF818000u, 0xBF82u, "-(1 + 3*2^-8): a tie, to the even one"},
        {0x3DCCCCCDu, 0x3DCDu, "0.1f: dropped half 0xCCCD rounds up"},
        {0x40490FDBu, 0x4049u, "pi: dropped half 0x0FDB rounds down"},
        {0x7F7FFFFFu, 0x7F80u, "FLT_MAX overflows to +inf"},
        {0xFF7FFFFFu, 0xFF80u, "-FLT_MAX overflows to -inf"},
        {0x7F7F7FFFu, 0x7F7Fu, "just below the overflow tie: bf16 max"},
        {0x7F7F8000u, 0x7F80u, "the overflow tie (odd 0x7F7F): +inf"},
        {0x7F800000u, 0x7F80u, "+inf"},
        {0xFF800000u, 0xFF80u, "-inf"},
        {0x00000001u, 0x0000u, "smallest subnormal rounds to +0"},
        {0x80000001u, 0x8000u, "smallest negative subnormal rounds to -0"},
        {0x00008000u, 0x0000u, "subnormal tie to even 0"},
        {0x00018000u, 0x0002u, "subnormal tie, odd kept half: up"},
        {0x00008001u, 0x0001u, "above a subnormal tie: the smallest bf16 subnormal"},
        {0x007FFFFFu, 0x0080u, "largest subnormal rounds up to the smallest normal"},
        {0x00800000u, 0x0080u, "smallest normal is exact"},
        {0x7FC00000u, 0x7FC0u, "quiet NaN"},
        {0xFFC00000u, 0xFFC0u, "negative quiet NaN keeps its sign"},
        {0x7F800001u, 0x7FC0u, "signalling NaN with a low payload stays NaN (quiet), not inf"},
        {0x7FBFFFFFu, 0x7FFFu, "NaN whose payload would carry into the exponent: kept, quiet"},
        {0xFFFFFFFFu, 0xFFFFu, "all-ones NaN"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint16_t got = vg_bf16_from_f32(from_bits(cases[i].f));
        CHECK(got == cases[i].bf, "%s: 0x%08X -> 0x%04X, want 0x%04X", cases[i].what, (unsigned)cases[i].f, (unsigned)got,
              (unsigned)cases[i].bf);
    }
    /* bf16 -> float is exact: the bits become the upper half */
    CHECK(vg_bf16_to_f32(0x3F81u) == 1.0078125f, "0x3F81 is 1 + 2^-7");
    CHECK(vg_bf16_to_f32(0xC040u) == -3.0f, "0xC040 is -3");
    CHECK(vg_bf16_to_f32(0x7F7Fu) == 0x1.FEp127f, "0x7F7F is the bf16 max 1.9921875 * 2^127");
    CHECK(vg_bf16_to_f32(0x0001u) == 0x1p-133f, "0x0001 is 2^-133");
    CHECK(isinf(vg_bf16_to_f32(0xFF80u)) && vg_bf16_to_f32(0xFF80u) < 0, "0xFF80 is -inf");
    CHECK(isnan(vg_bf16_to_f32(0x7FC0u)), "0x7FC0 is NaN");
    CHECK(signbit(vg_bf16_to_f32(0x8000u)) && vg_bf16_to_f32(0x8000u) == 0, "0x8000 is -0");
}

/* The value of bf16 bits as a double, with the all-ones exponent of the
 * first bf16 past the max read as 2^128 (IEEE rounds to infinity exactly
 * when the unbounded-exponent result would round to 2^128). */
static double bf16_value(uint32_t bits16) {
    double sign = (bits16 & 0x8000u) ? -1.0 : 1.0;
    uint32_t mag = bits16 & 0x7FFFu;
    if (mag == 0x7F80u) return sign * 0x1p128;
    return (double)from_bits(mag << 16) * sign;
}

/* The definition: the nearer of the two bf16 values around f (truncation
 * towards zero and the next one away from zero), ties to the even bits. */
static uint16_t bf16_by_definition(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t lo = u >> 16, hi = lo + 1; /* same sign; hi is one bf16 step further from zero */
    if ((u & 0xFFFFu) == 0) return (uint16_t)lo;
    double x = (double)f, dlo = fabs(x - bf16_value(lo)), dhi = fabs(bf16_value(hi) - x);
    if (dlo < dhi) return (uint16_t)lo;
    if (dhi < dlo) return (uint16_t)hi;
    return (uint16_t)((lo & 1u) ? hi : lo);
}

static void random_cases(void) {
    int64_t bad = 0, ties = 0;
    uint32_t first_bad = 0;
    for (uint64_t i = 0; i < 1000000; i++) {
        uint32_t r[4];
        vg_philox4x32(r, i, 0xBF16u);
        uint32_t u = r[0];
        /* every fourth value a tie or a near-tie, which random bits rarely give */
        if ((r[1] & 3u) == 0) u = (u & 0xFFFF0000u) | (0x7FFFu + (r[2] % 3u));
        if ((u & 0x7F800000u) == 0x7F800000u) continue; /* inf and NaN: the hand cases */
        ties += (u & 0xFFFFu) == 0x8000u;
        if (vg_bf16_from_f32(from_bits(u)) != bf16_by_definition(from_bits(u))) {
            if (!bad) first_bad = u;
            bad++;
        }
    }
    CHECK(bad == 0, "%lld random floats round differently from the definition (first 0x%08X)", (long long)bad,
          (unsigned)first_bad);
    CHECK(ties > 10000, "the random set has ties (%lld)", (long long)ties);
    /* every bf16 value is a fixed point of float -> bf16 (NaNs aside) */
    int64_t moved = 0;
    for (uint32_t h = 0; h < 0x10000u; h++) {
        if ((h & 0x7F80u) == 0x7F80u && (h & 0x007Fu)) continue;
        moved += vg_bf16_from_f32(vg_bf16_to_f32((uint16_t)h)) != h;
    }
    CHECK(moved == 0, "%lld bf16 values do not survive bf16 -> float -> bf16", (long long)moved);
}

static void precision_api(void) {
    vg_precision p = VG_PRECISION_COUNT;
    CHECK(vg_precision_parse("bf16", &p) && p == VG_PRECISION_BF16, "parse bf16");
    CHECK(vg_precision_parse("fp32", &p) && p == VG_PRECISION_FP32, "parse fp32");
    CHECK(!vg_precision_parse("fp16", &p) && !vg_precision_parse("BF16", &p) && !vg_precision_parse(NULL, &p),
          "fp16, BF16 and NULL are not precisions");
    CHECK(strcmp(vg_precision_name(VG_PRECISION_FP32), "fp32") == 0 &&
          strcmp(vg_precision_name(VG_PRECISION_BF16), "bf16") == 0 && !vg_precision_name(VG_PRECISION_COUNT),
          "names");

    vg_ctx *ctx = NULL;
    vg_status s = vg_ctx_new(&ctx, &(vg_ctx_opts){.device = "cpu", .precision = VG_PRECISION_BF16});
    CHECK(s == VG_ERR_UNSUPPORTED && !ctx, "a CPU context refuses bf16: status %d", (int)s);
    CHECK(strstr(vg_last_error(), "bf16") && strstr(vg_last_error(), "CUDA") && strstr(vg_last_error(), "'cpu'"),
          "the message says bf16 needs CUDA and names the device: '%s'", vg_last_error());
    s = vg_ctx_new(&ctx, &(vg_ctx_opts){.device = "cpu", .precision = (vg_precision)7});
    CHECK(s == VG_ERR_INVALID && !ctx && strstr(vg_last_error(), "precision 7"), "an unknown precision: %d '%s'", (int)s,
          vg_last_error());
    s = vg_ctx_new(&ctx, &(vg_ctx_opts){.device = "cpu"});
    CHECK(s == VG_OK && ctx && vg_ctx_precision(ctx) == VG_PRECISION_FP32, "the default is fp32");
    vg_ctx_free(ctx);
    ctx = NULL;
    CHECK(vg_ctx_new(&ctx, NULL) == VG_OK && vg_ctx_precision(ctx) == VG_PRECISION_FP32, "NULL options: fp32");
    vg_ctx_free(ctx);
}

int main(void) {
    hand_cases();
    random_cases();
    precision_api();
    TEST_END();
}
