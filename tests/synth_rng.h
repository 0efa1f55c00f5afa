/* synth_rng.h — a small counter-based generator (splitmix64's mixer) for the
 * synthetic clips of the metric tests: unif in [0, 1), gauss N(0, 1) by
 * Box-Muller. Independent of the library's Philox, on purpose. */
#ifndef VG_TESTS_SYNTH_RNG_H
#define VG_TESTS_SYNTH_RNG_H

#include <math.h>
#include <stdint.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

static inline uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}
static inline double unif(uint64_t *s) { return (double)(mix((*s)++) >> 11) / 9007199254740992.0; }
static inline double gauss(uint64_t *s) {
    double u = unif(s), v = unif(s);
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

#endif
