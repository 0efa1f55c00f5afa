/* Bump allocator for per-step memory (ggml's context, llm.c's "size first,
 * allocate once"). Blocks come from an allocator function (host malloc or a
 * backend's device alloc). A reset keeps the memory; if a step needed more
 * than one block, the reset replaces them with a single block big enough for
 * the step's high-water mark, so from the second step on a training loop
 * allocates nothing. A mark/rewind pair frees everything allocated after the
 * mark (memory that a finished phase of a step no longer needs). */
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
    int cur;           /* block allocations come from; later blocks are spare */
    size_t min_block;  /* smallest block to request */
    size_t high_water; /* most bytes in use at once so far */
} vg_arena;

typedef struct vg_arena_mark {
    int block;
    size_t used;
} vg_arena_mark;

void vg_arena_init(vg_arena *a, void *(*alloc)(size_t), void (*release)(void *), size_t initial);
void vg_arena_free(vg_arena *a);
/* 64-byte aligned; NULL when the allocator fails or bytes overflows. */
void *vg_arena_alloc(vg_arena *a, size_t bytes);
void vg_arena_reset(vg_arena *a);
vg_arena_mark vg_arena_get_mark(const vg_arena *a);
void vg_arena_rewind(vg_arena *a, vg_arena_mark m);
size_t vg_arena_used(const vg_arena *a);
/* The free end of the current block (64-byte aligned) and its size in
 * *bytes (0 and NULL when there is none): memory a caller may use until
 * the next allocation from the arena. */
void *vg_arena_tail(const vg_arena *a, size_t *bytes);
size_t vg_arena_reserved(const vg_arena *a);

#endif
