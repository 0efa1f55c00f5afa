/* Backends by name: "cpu" always; "cuda" when the library was built with the
 * CUDA backend linked in and a device answers at run time. Also the
 * process-wide default device of new contexts (like the thread count, a
 * setting the command line makes once). */
#include <string.h>

#include "backend/backend.h"
#include "core/status.h"

static const char *default_device = "cpu";

/* Defined by src/backend/cuda/cuda_backend.cu in the programs that link the
 * CUDA objects (see the Makefile's CUDA_PROGS); weak, so everywhere else
 * they are NULL and there is no CUDA backend. */
const vg_backend *vg_cuda_backend_start(void) __attribute__((weak));
const char *vg_cuda_backend_device_name(void) __attribute__((weak));

const vg_backend *vg_backend_cuda(void) {
    if (vg_cuda_backend_start) return vg_cuda_backend_start();
    vg_fail(VG_ERR_UNSUPPORTED, "no CUDA device: this program was built without the CUDA backend (build with nvcc "
                                "present, or make CUDA=1)");
    return NULL;
}

const char *vg_backend_cuda_device_name(void) {
    return vg_cuda_backend_device_name ? vg_cuda_backend_device_name() : "";
}

const vg_backend *vg_backend_by_name(const char *name) {
    if (!name) name = default_device;
    if (strcmp(name, "cpu") == 0) return vg_backend_cpu();
    if (strcmp(name, "cuda") == 0) return vg_backend_cuda();
    vg_fail(VG_ERR_INVALID, "unknown device '%s' (have: cpu, cuda)", name);
    return NULL;
}

vg_status vg_device_probe(const char *device) {
    if (!device) return vg_fail(VG_ERR_INVALID, "no device named (have: cpu, cuda)");
    if (vg_backend_by_name(device)) return VG_OK;
    return strcmp(device, "cuda") == 0 ? VG_ERR_UNSUPPORTED : VG_ERR_INVALID; /* the message is set */
}

vg_status vg_set_device(const char *device) {
    vg_status s = vg_device_probe(device);
    if (s == VG_OK) default_device = strcmp(device, "cuda") == 0 ? "cuda" : "cpu";
    return s;
}

const char *vg_get_device(void) { return default_device; }
