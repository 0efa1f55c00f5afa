/* Host buffers: small ones from malloc, big ones mapped; see host_memory.h. */
#include "core/host_memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define ALIGN 64
#define MAP_FROM ((size_t)1 << 20)
#define MAGIC_HEAP 0x76674865617030ull /* "vgHeap0" */
#define MAGIC_MAP 0x76674d61703030ull  /* "vgMap00" */

/* ALIGN bytes in front of every buffer: how it was obtained */
struct header {
    uint64_t magic;
    size_t mapped; /* bytes mapped (MAGIC_MAP) */
};

void *vg_host_alloc(size_t bytes) {
    if (bytes > SIZE_MAX - 2 * ALIGN - ((size_t)1 << 12)) return NULL;
    size_t total = ALIGN + ((bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1));
    char *base;
    struct header h;
    if (total >= MAP_FROM) {
        void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) return NULL;
        base = m;
        h = (struct header){MAGIC_MAP, total};
    } else {
        base = aligned_alloc(ALIGN, total);
        if (!base) return NULL;
        h = (struct header){MAGIC_HEAP, 0};
    }
    *(struct header *)base = h;
    return base + ALIGN;
}

void vg_host_free(void *p) {
    if (!p) return;
    char *base = (char *)p - ALIGN;
    const struct header *h = (const struct header *)base;
    if (h->magic == MAGIC_MAP)
        munmap(base, h->mapped);
    else
        free(base);
}
