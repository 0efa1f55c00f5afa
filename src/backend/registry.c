/* Backends by name: "cpu" always; "cuda" when a device answers at run time.
 * Also the process-wide default device of new contexts (like the thread
 * count, a setting the command line makes once).
 *
 * The CUDA backend is linked into the GPU test and benchmark programs;
 * everywhere else (the vidgan command, libvidgan.so) it is the plugin
 * libvidgan_cuda.so, loaded on the first request for the device: cuDNN and
 * cuBLAS cost every process that loads them ~200 MiB of resident memory and
 * most of a second, which a run on the CPU should not pay. The plugin is
 * looked for beside the running program, beside libvidgan.so when that is
 * the caller, one folder above the program (the build's tests and
 * benchmarks), then by name (LD_LIBRARY_PATH, the system's folders). It is
 * not opened at all when the CUDA driver (libcuda.so.1) is missing. */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend.h"
#include "core/status.h"

#define CUDA_PLUGIN "libvidgan_cuda.so"

static const char *default_device = "cpu";

/* Defined by src/backend/cuda/cuda_backend.cu in the programs that link the
 * CUDA objects (see the Makefile's CUDA_PROGS); weak, so everywhere else
 * they are NULL and the plugin supplies them. */
const vg_backend *vg_cuda_backend_start(vg_fail_fn fail) __attribute__((weak));
const char *vg_cuda_backend_device_name(void) __attribute__((weak));

static pthread_once_t plugin_once = PTHREAD_ONCE_INIT;
static vg_cuda_start_fn plugin_start;
static vg_cuda_device_name_fn plugin_device_name;
static char plugin_error[768]; /* why there is no plugin, when there is none */

/* dlsym's object pointer into a function pointer, without the cast ISO C
 * leaves undefined */
static int plugin_symbol(void *lib, const char *name, void *fn) {
    void *p = dlsym(lib, name);
    if (p) memcpy(fn, &p, sizeof p);
    return p != NULL;
}

/* dir/CUDA_PLUGIN, where dir is the folder of `file` plus `up`; NULL when
 * the file has no folder or it does not open. */
static void *open_beside(const char *file, const char *up) {
    const char *slash = strrchr(file, '/');
    char path[PATH_MAX];
    if (!slash || snprintf(path, sizeof path, "%.*s/%s" CUDA_PLUGIN, (int)(slash - file), file, up) >= (int)sizeof path)
        return NULL;
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

/* The plugin from the places the file comment names, or NULL (dlerror()
 * then says why the last place failed). */
static void *open_plugin(void) {
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    Dl_info self;
    const char *lib = dladdr((const void *)&default_device, &self) && self.dli_fname ? self.dli_fname : "";
    void *h = NULL;
    if (!(h = open_beside(exe, ""))) h = open_beside(lib, "");
    if (!h) h = open_beside(exe, "../");
    if (!h) h = dlopen(CUDA_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    return h;
}

static void load_plugin(void) {
    if (vg_cuda_backend_start) {
        plugin_start = vg_cuda_backend_start;
        plugin_device_name = vg_cuda_backend_device_name;
        return;
    }
    const char *why;
    /* without the driver no device can answer: skip the plugin's libraries */
    if (!dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
        why = dlerror();
        snprintf(plugin_error, sizeof plugin_error, "no CUDA driver (%s)", why ? why : "libcuda.so.1 did not load");
        return;
    }
    void *lib = open_plugin();
    if (!lib) {
        why = dlerror();
        snprintf(plugin_error, sizeof plugin_error,
                 "the CUDA backend " CUDA_PLUGIN " did not load (it is built when nvcc is present, or with make "
                 "CUDA=1, beside the vidgan program or on LD_LIBRARY_PATH): %s",
                 why ? why : "unknown reason");
        return;
    }
    if (!plugin_symbol(lib, "vg_cuda_backend_start", &plugin_start) ||
        !plugin_symbol(lib, "vg_cuda_backend_device_name", &plugin_device_name)) {
        plugin_start = NULL;
        snprintf(plugin_error, sizeof plugin_error, CUDA_PLUGIN " lacks the backend's entry points (not vidgan's plugin?)");
    }
}

const vg_backend *vg_backend_cuda(void) {
    pthread_once(&plugin_once, load_plugin);
    if (plugin_start) return plugin_start(vg_fail);
    vg_fail(VG_ERR_UNSUPPORTED, "no CUDA device: %s", plugin_error);
    return NULL;
}

const char *vg_backend_cuda_device_name(void) {
    pthread_once(&plugin_once, load_plugin);
    return plugin_device_name ? plugin_device_name() : "";
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
