/* fuzz_image.c — libFuzzer target for the frame-image path of frame-folder
 * data sets (io/image_reader.h): any byte string must pass or fail the
 * header/tail check with a message naming the input, and any input that
 * passes must decode (libavcodec's png / mjpeg decoders, swscale resize)
 * or fail cleanly, never crash, read out of bounds or leak. Both output
 * modes run: native size into a buffer sized from the checked header, and
 * an 8 x 8 centre crop. Build and run with tests/fuzz/run_fuzz.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "io/image_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static vg_image_decoder *dec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dec && vg_image_decoder_new(&dec) != VG_OK) return 0;
    uint8_t *copy = malloc(size ? size : 1); /* exactly size bytes: overreads are caught */
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    vg_image_header h;
    vg_status s = vg_image_check_memory(copy, size, "fuzz.img", &h);
    if (s != VG_OK) {
        VG_ASSERT(strstr(vg_last_error(), "fuzz.img") != NULL);
    } else {
        VG_ASSERT(h.width >= 1 && h.height >= 1);
        /* native size, bounded so the fuzzer does not spend its time on huge frames */
        if ((int64_t)h.width * h.height <= (1 << 20)) {
            size_t cap = (size_t)h.width * h.height * 3;
            uint8_t *out = malloc(cap);
            int w = 0, hh = 0;
            if (out && vg_image_decode(dec, copy, size, "fuzz.img", 0, out, cap, &w, &hh) != VG_OK)
                VG_ASSERT(strstr(vg_last_error(), "fuzz.img") != NULL);
            free(out);
        }
        uint8_t small[8 * 8 * 3];
        if (vg_image_decode(dec, copy, size, "fuzz.img", 8, small, sizeof small, NULL, NULL) != VG_OK)
            VG_ASSERT(strstr(vg_last_error(), "fuzz.img") != NULL);
    }
    free(copy);
    return 0;
}
