/* Host memory for the engine's buffers (parameters, optimizer state, step
 * arenas, kernel scratch), 64-byte aligned. Buffers of 1 MiB and more are
 * mapped from the system directly and unmapped on release, so their pages
 * leave the process at once: through malloc, every free of a mapped chunk
 * raises glibc's mmap threshold (up to 32 MiB), after which freed buffers of
 * that size stay resident in the heap (measured: +33 MiB peak for the
 * 32x32 model after one 10 MiB release). */
#ifndef VG_CORE_HOST_MEMORY_H
#define VG_CORE_HOST_MEMORY_H

#include <stddef.h>

/* NULL when out of memory (or for a size that overflows). */
void *vg_host_alloc(size_t bytes);
/* Releases a vg_host_alloc buffer; NULL is ignored. */
void vg_host_free(void *p);

#endif
