/* mnist_cache.c — the driver scripts/fetch_mnist.sh compiles against
 * build/libvidgan.a (until the CLI has `vidgan data prepare-mnist DIR`):
 *   mnist_cache JSON_DIR OUT   convert the npm package's digits into the cache
 *   mnist_cache --check OUT    validate an existing cache (exit 0 if good) */
#include <stdio.h>
#include <string.h>

#include "data/mnist_source.h"

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "--check") == 0) {
        vg_digit_pool pool;
        if (vg_mnist_cache_load(&pool, argv[2]) != VG_OK) {
            fprintf(stderr, "mnist_cache: %s\n", vg_last_error());
            return 1;
        }
        printf("%s: %lld digits\n", argv[2], (long long)pool.count);
        vg_digit_pool_free(&pool);
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-') {
        fprintf(stderr, "usage: mnist_cache JSON_DIR OUT | mnist_cache --check OUT\n");
        return 2;
    }
    if (vg_mnist_cache_build(argv[1], argv[2]) != VG_OK) {
        fprintf(stderr, "mnist_cache: %s\n", vg_last_error());
        return 1;
    }
    vg_digit_pool pool;
    if (vg_mnist_cache_load(&pool, argv[2]) != VG_OK) {
        fprintf(stderr, "mnist_cache: wrote a cache that does not load back: %s\n", vg_last_error());
        return 1;
    }
    printf("%s: %lld digits\n", argv[2], (long long)pool.count);
    vg_digit_pool_free(&pool);
    return 0;
}
