/* sha256.h — SHA-256 (FIPS 180-4), for content hashes of feature networks
 * and other files whose identity a reported number depends on. */
#ifndef VG_CORE_SHA256_H
#define VG_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "vidgan.h"

typedef struct vg_sha256 {
    uint32_t state[8];
    uint64_t length;      /* bytes hashed so far */
    uint8_t block[64];
    size_t used;          /* bytes waiting in block */
} vg_sha256;

void vg_sha256_init(vg_sha256 *h);
void vg_sha256_update(vg_sha256 *h, const void *data, size_t n);
/* Finishes the hash: 32 bytes into digest. */
void vg_sha256_final(vg_sha256 *h, uint8_t digest[32]);
/* digest as 64 lower-case hex digits + NUL. */
void vg_sha256_hex(const uint8_t digest[32], char hex[65]);
/* The hash of a whole file as hex; messages name the file. */
vg_status vg_sha256_file(const char *path, char hex[65]);

#endif
