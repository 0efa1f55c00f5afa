/* The step arena (src/core/arena.h) with a counting block allocator: data
 * before a mark survives a rewind; after a rewind, spare blocks too small
 * for a request are released (not left resident beside a new block) and a
 * big enough spare is reused; a reset consolidates a multi-block step into
 * one block of at least the high-water mark, after which the same step
 * allocates nothing; every block is released by vg_arena_free. Also the
 * host allocator's alignment and its mapped path (src/core/host_memory.h). */
#include <stdint.h>

#include "core/arena.h"
#include "core/host_memory.h"
#include "test.h"

static int live_blocks, total_allocs;

static void *counting_alloc(size_t bytes) {
    live_blocks++;
    total_allocs++;
    return aligned_alloc(64, (bytes + 63) / 64 * 64); /* as the real allocators: 64-byte aligned */
}

static void counting_release(void *p) {
    live_blocks--;
    free(p);
}

static void fill(char *p, size_t n, int v) { memset(p, v, n); }

static int holds(const char *p, size_t n, int v) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (char)v) return 0;
    return 1;
}

int main(void) {
    const size_t MiB = (size_t)1 << 20;
    vg_arena a;
    vg_arena_init(&a, counting_alloc, counting_release, MiB);

    size_t tail_bytes = 1;
    CHECK(vg_arena_tail(&a, &tail_bytes) == NULL && tail_bytes == 0, "no block, no free end");

    /* one step: 0.75 MiB kept, then a phase of two 0.75 MiB buffers (each
     * needing its own 1 MiB block) released by a rewind */
    char *keep = vg_arena_alloc(&a, 3 * MiB / 4);
    CHECK(keep && ((uintptr_t)keep % 64) == 0, "first allocation, 64-byte aligned");
    /* the free end: right after the last allocation, to the block's end */
    char *tail = vg_arena_tail(&a, &tail_bytes);
    CHECK(tail == keep + 3 * MiB / 4 && tail_bytes == MiB / 4 && ((uintptr_t)tail % 64) == 0,
          "free end %p + %zu after a 0.75 MiB allocation in a 1 MiB block", (void *)tail, tail_bytes);
    vg_arena_mark before_odd = vg_arena_get_mark(&a);
    char *odd = vg_arena_alloc(&a, 100); /* rounded up to 128: the end stays aligned */
    tail = vg_arena_tail(&a, &tail_bytes);
    CHECK(odd == keep + 3 * MiB / 4 && tail == odd + 128 && tail_bytes == MiB / 4 - 128,
          "free end after a 100-byte allocation: %zu bytes", tail_bytes);
    vg_arena_rewind(&a, before_odd);
    fill(keep, 3 * MiB / 4, 7);
    vg_arena_mark m = vg_arena_get_mark(&a);
    char *p1 = vg_arena_alloc(&a, 3 * MiB / 4), *p2 = vg_arena_alloc(&a, 3 * MiB / 4);
    CHECK(p1 && p2 && live_blocks == 3, "three 1 MiB blocks for three 0.75 MiB buffers: %d", live_blocks);
    fill(p1, 3 * MiB / 4, 1);
    fill(p2, 3 * MiB / 4, 2);
    vg_arena_rewind(&a, m);
    CHECK(holds(keep, 3 * MiB / 4, 7), "data from before the mark survives the rewind");
    CHECK(live_blocks == 3, "a rewind keeps the spare blocks: %d", live_blocks);

    /* the next phase wants 3 MiB: both 1 MiB spares are too small and are
     * released, not skipped */
    char *big = vg_arena_alloc(&a, 3 * MiB);
    CHECK(big && live_blocks == 2, "spares too small are released: %d blocks live (want the first and the new one)",
          live_blocks);
    fill(big, 3 * MiB, 3);
    CHECK(holds(keep, 3 * MiB / 4, 7), "still intact after the new block");

    /* rewind again: the spare 4 MiB block is big enough and is reused */
    vg_arena_rewind(&a, m);
    int allocs_before = total_allocs;
    char *again = vg_arena_alloc(&a, 2 * MiB);
    CHECK(again == big && total_allocs == allocs_before, "a big enough spare block is reused");
    size_t high = a.high_water;
    CHECK(high >= 3 * MiB / 4 + 3 * MiB, "high water %zu covers the step's largest phase", high);

    /* reset: one block for the high-water mark; the same step then fits */
    vg_arena_reset(&a);
    CHECK(a.nblocks == 1 && a.blocks[0].size >= high && live_blocks == 1, "reset consolidates: %d blocks, %zu bytes",
          a.nblocks, a.nblocks ? a.blocks[0].size : 0);
    allocs_before = total_allocs;
    keep = vg_arena_alloc(&a, 3 * MiB / 4);
    m = vg_arena_get_mark(&a);
    CHECK(vg_arena_alloc(&a, 3 * MiB) != NULL, "the step's largest phase");
    vg_arena_rewind(&a, m);
    CHECK(vg_arena_alloc(&a, 3 * MiB / 4) && vg_arena_alloc(&a, 3 * MiB / 4), "the other phase");
    CHECK(total_allocs == allocs_before, "the second step allocates no block (%d new)", total_allocs - allocs_before);
    CHECK(vg_arena_alloc(&a, SIZE_MAX - 8) == NULL, "an overflowing request fails cleanly");
    vg_arena_free(&a);
    CHECK(live_blocks == 0, "vg_arena_free releases every block: %d left", live_blocks);

    /* host memory: small and mapped sizes, aligned, writable, released */
    size_t sizes[] = {1, 100, MiB - 100, MiB, 5 * MiB + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = vg_host_alloc(sizes[i]);
        CHECK(p && ((uintptr_t)p % 64) == 0, "host alloc of %zu bytes, 64-byte aligned", sizes[i]);
        if (p) {
            fill(p, sizes[i], 9);
            CHECK(holds(p, sizes[i], 9), "host buffer of %zu bytes holds its data", sizes[i]);
        }
        vg_host_free(p);
    }
    vg_host_free(NULL);
    CHECK(vg_host_alloc(SIZE_MAX - 16) == NULL, "an overflowing host request fails cleanly");
    TEST_END();
}
