/* Bump allocator with block consolidation on reset; see arena.h. */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>

#define ARENA_ALIGN 64

void vg_arena_init(vg_arena *a, void *(*alloc)(size_t), void (*release)(void *), size_t initial) {
    a->alloc = alloc;
    a->release = release;
    a->blocks = NULL;
    a->nblocks = a->cap = 0;
    a->min_block = initial > 0 ? initial : (size_t)1 << 20;
    a->high_water = 0;
}

void vg_arena_free(vg_arena *a) {
    for (int i = 0; i < a->nblocks; i++) a->release(a->blocks[i].base);
    free(a->blocks);
    a->blocks = NULL;
    a->nblocks = a->cap = 0;
}

static int arena_add_block(vg_arena *a, size_t size) {
    if (a->nblocks == a->cap) {
        int cap = a->cap ? 2 * a->cap : 4;
        vg_arena_block *b = realloc(a->blocks, (size_t)cap * sizeof *b);
        if (!b) return 0;
        a->blocks = b;
        a->cap = cap;
    }
    char *base = a->alloc(size);
    if (!base) return 0;
    a->blocks[a->nblocks++] = (vg_arena_block){base, size, 0};
    return 1;
}

void *vg_arena_alloc(vg_arena *a, size_t bytes) {
    if (bytes > SIZE_MAX - ARENA_ALIGN) return NULL;
    size_t need = (bytes + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need == 0) need = ARENA_ALIGN;
    vg_arena_block *b = a->nblocks ? &a->blocks[a->nblocks - 1] : NULL;
    if (!b || b->size - b->used < need) {
        size_t size = a->min_block;
        while (size < need) {
            if (size > SIZE_MAX / 2) return NULL;
            size *= 2;
        }
        if (!arena_add_block(a, size)) return NULL;
        b = &a->blocks[a->nblocks - 1];
    }
    void *p = b->base + b->used;
    b->used += need;
    return p;
}

size_t vg_arena_used(const vg_arena *a) {
    size_t n = 0;
    for (int i = 0; i < a->nblocks; i++) n += a->blocks[i].used;
    return n;
}

size_t vg_arena_reserved(const vg_arena *a) {
    size_t n = 0;
    for (int i = 0; i < a->nblocks; i++) n += a->blocks[i].size;
    return n;
}

void vg_arena_reset(vg_arena *a) {
    size_t used = vg_arena_used(a);
    if (used > a->high_water) a->high_water = used;
    if (a->nblocks > 1) {
        /* Consolidate: one block sized for the largest step seen. */
        size_t total = a->high_water + a->high_water / 8;
        vg_arena_free(a);
        if (total > a->min_block) a->min_block = total;
        arena_add_block(a, a->min_block); /* on failure the next alloc retries */
    }
    for (int i = 0; i < a->nblocks; i++) a->blocks[i].used = 0;
}
