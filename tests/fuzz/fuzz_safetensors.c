/* fuzz_safetensors.c — libFuzzer target for the safetensors reader: any byte
 * string must either open cleanly or fail with a status, never crash, read
 * out of bounds or leak. On success every accessor and vg_st_read_f32 are
 * exercised, so a header that passes validation but lies about its data is
 * caught by AddressSanitizer. Build and run with tests/fuzz/run_fuzz.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vg_st_file *f = NULL;
    vg_status s = vg_st_open_memory(&f, data, size, "fuzz.safetensors");
    if (s != VG_OK) {
        VG_ASSERT(f == NULL && strstr(vg_last_error(), "fuzz.safetensors") != NULL);
        return 0;
    }
    volatile uint64_t sink = 0;
    for (int i = 0; i < vg_st_count(f); i++) {
        const char *name = vg_st_name(f, i);
        VG_ASSERT(vg_st_find(f, name) == i);
        const int64_t *shape = vg_st_shape(f, i);
        for (int d = 0; d < vg_st_ndim(f, i); d++) sink += (uint64_t)shape[d];
        size_t nbytes = vg_st_nbytes(f, i);
        const unsigned char *p = vg_st_data(f, i);
        if (nbytes) sink += p[0] + p[nbytes - 1]; /* first and last byte are in bounds */
        int64_t numel = vg_st_numel(f, i);
        VG_ASSERT((uint64_t)numel * vg_st_dtype_size(vg_st_dtype_of(f, i)) == nbytes);
        if (numel <= (1 << 20)) {
            float *dst = malloc((size_t)(numel ? numel : 1) * sizeof *dst);
            if (dst) {
                vg_st_read_f32(f, name, dst, numel);
                free(dst);
            }
        }
    }
    for (int i = 0; i < vg_st_meta_count(f); i++) {
        const char *k = vg_st_meta_key(f, i);
        VG_ASSERT(vg_st_meta(f, k) != NULL);
        sink += strlen(vg_st_meta_value(f, i));
    }
    (void)sink;
    vg_st_close(f);
    return 0;
}
