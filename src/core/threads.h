/* Thread count for CPU kernels. Kernels parallelise with OpenMP using a
 * static schedule over vg_get_threads() threads, so the split of work, and
 * with it every floating-point sum, depends only on the thread count. */
#ifndef VG_THREADS_H
#define VG_THREADS_H

#include "vidgan.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#endif
