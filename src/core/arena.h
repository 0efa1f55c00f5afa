/* Bump allocator for per-step memory (ggml's context, llm.c's "size first,
 * allocate once"). Blocks come from an allocator function (host malloc or a
 * backend's device alloc). A reset keeps the memory; if a step needed more
 * than one block, the reset replaces them with a single block big enough for
 * the whole step, so from the second step on a training loop allocates
 * nothing. */
#ifndef VG_ARENA_H
#define VG_ARENA_H

#include <stddef.h>

typedef struct vg_arena_block {
    char *base;
    size_t size, used;
} vg_arena_block;

typedef struct vg_arena {
    void *(*alloc)(size_t bytes);
    void (*release)(void *ptr);
    vg_arena_block *blocks;
    int nblocks, cap;
    size_t min_block;  /* smallest block to request */
    size_t high_water; /* most bytes used by one step so far */
} vg_arena;

void vg_arena_init(vg_arena *a, void *(*alloc)(size_t), void (*release)(void *), size_t initial);
void vg_arena_free(vg_arena *a);
/* 64-byte aligned; NULL when the allocator fails or bytes overflows. */
void *vg_arena_alloc(vg_arena *a, size_t bytes);
void vg_arena_reset(vg_arena *a);
size_t vg_arena_used(const vg_arena *a);
size_t vg_arena_reserved(const vg_arena *a);

#endif
