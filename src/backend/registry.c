/* Backends by name: "cpu" always; "cuda" when the library was built with the
 * CUDA backend (VG_HAVE_CUDA) and a device answers at run time. Also the
 * process-wide default device of new contexts (like the thread count, a
 * setting the command line makes once). */
#include <string.h>

#include "backend/backend.h"
#include "core/status.h"

static const char *default_device = "cpu";

#if !defined(VG_HAVE_CUDA) || defined(VG_REAL_F64)
const vg_backend *vg_backend_cuda(void) {
    vg_fail(VG_ERR_UNSUPPORTED, "no CUDA device: this vidgan was built without the CUDA backend (rebuild with nvcc "
                                "present, or make CUDA=1)");
    return NULL;
}
#endif

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
