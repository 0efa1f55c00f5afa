/* Overflow-checked size arithmetic (stb's mad3sizes_valid habit):
 * N*C*T*H*W overflows 32 bits quickly, so every product of dims goes here. */
#ifndef VG_CHECKED_H
#define VG_CHECKED_H

#include <stdint.h>

/* *out = a * b; returns 0 on overflow or negative operands. */
static inline int vg_mul_ok(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return 0;
    if (a != 0 && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static inline int vg_add_ok(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0 || a > INT64_MAX - b) return 0;
    *out = a + b;
    return 1;
}

/* Product of dims; returns 0 if any dim is negative or the product overflows. */
static inline int vg_shape_numel(int ndim, const int64_t *shape, int64_t *out) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (!vg_mul_ok(n, shape[i], &n)) return 0;
    *out = n;
    return 1;
}

#endif
