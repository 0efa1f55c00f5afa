/* fuzz_npy.c — libFuzzer target for the .npy reader: any byte string must
 * either open cleanly or fail with a status naming the input, never crash,
 * read out of bounds or leak. On success the accessors and vg_npy_read_f32
 * are exercised over (a bounded prefix of) the data, so a header that passes
 * validation but lies about its size is caught by AddressSanitizer. Build
 * and run with tests/fuzz/run_fuzz.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* a copy of exactly `size` bytes, so reads past the end are caught */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    vg_npy *f = NULL;
    vg_status s = vg_npy_open_memory(&f, copy, size, "fuzz.npy");
    if (s != VG_OK) {
        VG_ASSERT(f == NULL && strstr(vg_last_error(), "fuzz.npy") != NULL);
        free(copy);
        return 0;
    }
    int64_t numel = 1;
    for (int d = 0; d < vg_npy_ndim(f); d++) numel *= vg_npy_shape(f)[d];
    VG_ASSERT(numel == vg_npy_numel(f));
    VG_ASSERT((uint64_t)numel * vg_npy_item_size(f) == vg_npy_nbytes(f));
    const uint8_t *p = vg_npy_data(f);
    VG_ASSERT(p >= copy && p + vg_npy_nbytes(f) == copy + size);
    int64_t n = numel < 4096 ? numel : 4096;
    float dst[4096];
    VG_ASSERT(vg_npy_read_f32(f, numel - n, n, dst) == VG_OK);
    VG_ASSERT(vg_npy_read_f32(f, 0, numel + 1, dst) != VG_OK);
    vg_npy_close(f);
    free(copy);
    return 0;
}
