/* The CPU backend table: host memory, fills and random numbers here; the
 * kernel groups register themselves from their own files (see cpu.h). */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu.h"
#include "core/host_memory.h"
#include "core/rng.h"
#include "core/threads.h"

static void *cpu_alloc(size_t bytes) { return vg_host_alloc(bytes); }
static void cpu_release(void *p) { vg_host_free(p); }
static void cpu_zero(void *dst, size_t bytes) { memset(dst, 0, bytes); }
static void cpu_copy(void *dst, const void *src, size_t bytes) { memmove(dst, src, bytes); }

static void cpu_fill(vg_real *dst, int64_t n, double value) {
    vg_real v = (vg_real)value;
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] = v;
}

static void cpu_accumulate(vg_real *dst, const vg_real *src, int64_t n) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 65536)
    for (int64_t i = 0; i < n; i++) dst[i] += src[i];
}

static void cpu_rng_uniform(vg_real *dst, int64_t n, uint64_t seed, uint64_t offset, double lo, double hi) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 16384)
    for (int64_t i = 0; i < n; i++) dst[i] = (vg_real)(lo + (hi - lo) * vg_rng_uniform_at(seed, offset + (uint64_t)i));
}

static void cpu_rng_normal(vg_real *dst, int64_t n, uint64_t seed, uint64_t offset, double mean, double std) {
#pragma omp parallel for schedule(static) num_threads(vg_get_threads()) if (n > 16384)
    for (int64_t i = 0; i < n; i++) dst[i] = (vg_real)(mean + std * vg_rng_normal_at(seed, offset + (uint64_t)i));
}

static vg_backend cpu_backend;
static int cpu_ready;

const vg_backend *vg_backend_cpu(void) {
    if (!cpu_ready) {
        vg_backend *be = &cpu_backend;
        be->name = "cpu";
        be->host_memory = 1;
        be->alloc = cpu_alloc;
        be->release = cpu_release;
        be->zero = cpu_zero;
        be->copy = cpu_copy;
        be->upload = cpu_copy;
        be->download = cpu_copy;
        be->fill = cpu_fill;
        be->accumulate = cpu_accumulate;
        be->rng_uniform = cpu_rng_uniform;
        be->rng_normal = cpu_rng_normal;
        vg_cpu_register_eltwise(be);
        vg_cpu_register_layout(be);
        vg_cpu_register_gemm(be);
        vg_cpu_register_conv(be);
        vg_cpu_register_norm(be);
        vg_cpu_register_resample(be);
        vg_cpu_register_misc(be);
        vg_cpu_register_optim(be);
        cpu_ready = 1;
    }
    return &cpu_backend;
}
