/* bfloat16 <-> float32 by bit manipulation, one definition for the host (C)
 * and the CUDA kernels (the cast of src/backend/cuda/bf16.cu), so the CPU
 * test tests/test_bf16.c checks the very rule the GPU applies.
 *
 * bfloat16 is the upper half of a float32 (sign, 8 exponent bits, 7
 * mantissa bits). float -> bf16 rounds to nearest, ties to even, on the
 * dropped 16 bits (as __float2bfloat16_rn and torch's .to(torch.bfloat16)):
 * overflow goes to infinity, subnormals round like any other number, and
 * NaN stays NaN (its quiet bit set, so no payload can round into infinity),
 * sign kept. bf16 -> float is exact. Values are passed as their bit
 * patterns (uint16_t): no compiler bfloat16 type is needed. */
#ifndef VG_CORE_BF16_H
#define VG_CORE_BF16_H

#include <stdint.h>
#include <string.h>

#ifdef __CUDACC__
#define VG_BF16_FN static inline __host__ __device__
#else
#define VG_BF16_FN static inline
#endif

VG_BF16_FN uint32_t vg_f32_bits(float f) {
#ifdef __CUDA_ARCH__
    return __float_as_uint(f);
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

VG_BF16_FN float vg_f32_from_bits(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

/* float32 -> bfloat16 bits, round to nearest even; NaN stays (quiet) NaN. */
VG_BF16_FN uint16_t vg_bf16_from_f32(float f) {
    uint32_t u = vg_f32_bits(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x0040u);
    u += 0x7FFFu + ((u >> 16) & 1u); /* the half-way carry goes up only from an odd kept bit */
    return (uint16_t)(u >> 16);
}

/* bfloat16 bits -> float32, exact. */
VG_BF16_FN float vg_bf16_to_f32(uint16_t h) { return vg_f32_from_bits((uint32_t)h << 16); }

#endif
