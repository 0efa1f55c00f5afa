/* vg_set_threads / vg_get_threads: VIDGAN_THREADS or all cores by default. */
#include "core/threads.h"

#include <stdlib.h>
#include <unistd.h>

static int thread_count; /* 0 = not decided yet */

static int default_threads(void) {
    const char *env = getenv("VIDGAN_THREADS");
    if (env && *env) {
        int n = atoi(env);
        if (n > 0) return n;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

void vg_set_threads(int n) {
    thread_count = n > 0 ? n : default_threads();
#ifdef _OPENMP
    omp_set_num_threads(thread_count);
#endif
}

int vg_get_threads(void) {
    if (thread_count == 0) vg_set_threads(0);
    return thread_count;
}
