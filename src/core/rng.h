/* Counter-based random numbers: Philox4x32-10 (Salmon et al., "Parallel
 * random numbers: as easy as 1, 2, 3", SC'11), the generator PyTorch's CUDA
 * and JAX use. Element i of a stream (seed, offset) is a pure function of
 * (seed, offset + i): fills are reproducible for any thread count and can be
 * matched by another backend bit for bit. */
#ifndef VG_RNG_H
#define VG_RNG_H

#include <math.h>
#include <stdint.h>

/* One Philox4x32-10 block: 128-bit counter ctr, 64-bit key. */
static inline void vg_philox4x32_block(uint32_t out[4], const uint32_t ctr[4], const uint32_t key[2]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0; c1 = n1; c2 = n2; c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

/* The block for a 64-bit counter (upper counter words 0) and a 64-bit seed. */
static inline void vg_philox4x32(uint32_t out[4], uint64_t counter, uint64_t seed) {
    const uint32_t ctr[4] = {(uint32_t)counter, (uint32_t)(counter >> 32), 0, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    vg_philox4x32_block(out, ctr, key);
}

/* Uniform in (0, 1) with 24 random bits, never 0 or 1. */
static inline double vg_rng_uniform_at(uint64_t seed, uint64_t index) {
    uint32_t r[4];
    vg_philox4x32(r, index, seed);
    return ((double)(r[0] >> 8) + 0.5) * (1.0 / 16777216.0);
}

/* Standard normal by Box-Muller on two 32-bit uniforms of the same block. */
static inline double vg_rng_normal_at(uint64_t seed, uint64_t index) {
    uint32_t r[4];
    vg_philox4x32(r, index, seed);
    double u1 = ((double)r[0] + 0.5) * (1.0 / 4294967296.0);
    double u2 = ((double)r[1] + 0.5) * (1.0 / 4294967296.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
