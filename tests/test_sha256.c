/* SHA-256 against the FIPS 180-4 example vectors and against coreutils'
 * sha256sum on files of awkward lengths (block boundaries 55/56/63/64). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sha256.h"
#include "test.h"

static void hash_text(const char *text, char hex[65]) {
    vg_sha256 h;
    uint8_t d[32];
    vg_sha256_init(&h);
    vg_sha256_update(&h, text, strlen(text));
    vg_sha256_final(&h, d);
    vg_sha256_hex(d, hex);
}

int main(void) {
    char hex[65];
    /* FIPS 180-4 appendix examples (one block, two blocks) and the empty message. */
    hash_text("abc", hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0, "abc: %s", hex);
    hash_text("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0, "448 bits: %s", hex);
    hash_text("", hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0, "empty: %s", hex);

    /* Files of lengths around the padding boundaries, fed through the file
     * path (64 KiB reads), against sha256sum. */
    const long lengths[] = {55, 56, 63, 64, 65, 1000, 70000};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/vg_sha_%d_%ld.bin", (int)getpid(), lengths[i]);
        FILE *f = fopen(path, "wb");
        CHECK(f != NULL, "cannot write %s", path);
        if (!f) continue;
        uint32_t x = 12345u + (uint32_t)i;
        for (long j = 0; j < lengths[i]; j++) {
            x = x * 1664525u + 1013904223u;
            fputc((int)(x >> 24), f);
        }
        fclose(f);
        CHECK(vg_sha256_file(path, hex) == VG_OK, "%s", vg_last_error());
        char cmd[128], want[128] = {0};
        snprintf(cmd, sizeof cmd, "sha256sum %s", path);
        FILE *p = popen(cmd, "r");
        CHECK(p && fgets(want, sizeof want, p), "sha256sum failed");
        if (p) pclose(p);
        CHECK(strncmp(hex, want, 64) == 0, "length %ld: %s vs %.64s", lengths[i], hex, want);
        remove(path);
    }
    CHECK(vg_sha256_file("/nonexistent/x.safetensors", hex) == VG_ERR_IO, "missing file accepted");
    CHECK(strstr(vg_last_error(), "/nonexistent/x.safetensors") != NULL, "message: %s", vg_last_error());
    TEST_END();
}
