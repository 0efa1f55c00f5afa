/* Bump allocator with marks and block consolidation on reset; see arena.h. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN 64

void vg_arena_init(vg_arena *a, void *(*alloc)(size_t), void (*release)(void *), size_t initial) {
    a->alloc = alloc;
    a->release = release;
    a->blocks = NULL;
    a->nblocks = a->cap = a->cur = 0;
    a->min_block = initial > 0 ? initial : (size_t)1 << 20;
    a->high_water = 0;
}

void vg_arena_free(vg_arena *a) {
    for (int i = 0; i < a->nblocks; i++) a->release(a->blocks[i].base);
    free(a->blocks);
    a->blocks = NULL;
    a->nblocks = a->cap = a->cur = 0;
}

/* A new block of size bytes at index `at` (later blocks shift up). */
static int arena_insert_block(vg_arena *a, int at, size_t size) {
    if (a->nblocks == a->cap) {
        int cap = a->cap ? 2 * a->cap : 4;
        vg_arena_block *b = realloc(a->blocks, (size_t)cap * sizeof *b);
        if (!b) return 0;
        a->blocks = b;
        a->cap = cap;
    }
    char *base = a->alloc(size);
    if (!base) return 0;
    memmove(a->blocks + at + 1, a->blocks + at, (size_t)(a->nblocks - at) * sizeof *a->blocks);
    a->blocks[at] = (vg_arena_block){base, size, 0};
    a->nblocks++;
    return 1;
}

size_t vg_arena_used(const vg_arena *a) {
    size_t n = 0;
    for (int i = 0; i <= a->cur && i < a->nblocks; i++) n += a->blocks[i].used;
    return n;
}

void *vg_arena_tail(const vg_arena *a, size_t *bytes) {
    *bytes = 0;
    if (!a->nblocks) return NULL;
    const vg_arena_block *b = &a->blocks[a->cur];
    if (b->used >= b->size) return NULL; /* used is a multiple of ARENA_ALIGN, and so is the block's start */
    *bytes = b->size - b->used;
    return b->base + b->used;
}

void *vg_arena_alloc(vg_arena *a, size_t bytes) {
    if (bytes > SIZE_MAX - ARENA_ALIGN) return NULL;
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    vg_arena_block *b = a->nblocks ? &a->blocks[a->cur] : NULL;
    if (!b || b->size - b->used < need) {
        int next = a->nblocks ? a->cur + 1 : 0;
        /* blocks after the current one are spares from before a rewind:
         * nothing lives in them; the ones too small for this request are
         * released rather than skipped, so that their touched pages do not
         * stay resident beside the new block */
        while (next < a->nblocks && a->blocks[next].size < need) {
            a->release(a->blocks[next].base);
            memmove(a->blocks + next, a->blocks + next + 1, (size_t)(a->nblocks - next - 1) * sizeof *a->blocks);
            a->nblocks--;
        }
        if (next < a->nblocks) {
            a->blocks[next].used = 0;
        } else {
            size_t size = a->min_block;
            while (size < need) {
                if (size > SIZE_MAX / 2) return NULL;
                size *= 2;
            }
            if (!arena_insert_block(a, next, size)) return NULL;
        }
        a->cur = next;
        b = &a->blocks[next];
    }
    void *p = b->base + b->used;
    b->used += need;
    size_t used = vg_arena_used(a);
    if (used > a->high_water) a->high_water = used;
    return p;
}

size_t vg_arena_reserved(const vg_arena *a) {
    size_t n = 0;
    for (int i = 0; i < a->nblocks; i++) n += a->blocks[i].size;
    return n;
}

vg_arena_mark vg_arena_get_mark(const vg_arena *a) {
    return (vg_arena_mark){a->cur, a->nblocks ? a->blocks[a->cur].used : 0};
}

void vg_arena_rewind(vg_arena *a, vg_arena_mark m) {
    if (!a->nblocks) return;
    a->cur = m.block;
    a->blocks[m.block].used = m.used;
}

void vg_arena_reset(vg_arena *a) {
    if (a->nblocks > 1) {
        /* Consolidate: one block sized for the most memory in use at once. */
        size_t total = a->high_water + a->high_water / 16;
        vg_arena_free(a);
        if (total > a->min_block) a->min_block = total;
        arena_insert_block(a, 0, a->min_block); /* on failure the next alloc retries */
    }
    for (int i = 0; i < a->nblocks; i++) a->blocks[i].used = 0;
    a->cur = 0;
}
