/* test_lazy_libs.c — FFmpeg and the CUDA backend are loaded when used, not
 * at start: the vidgan program and libvidgan.so name neither in their
 * dynamic section; this process maps libavcodec only once it writes an MP4
 * (which ffprobe then reads); asking for the CUDA backend gives the backend
 * or "no CUDA device: ..." and, without a driver, leaves cuDNN unloaded;
 * and with a stub driver (the CUDA toolkit's libcuda stub) the vidgan
 * program really opens its plugin, whose probe then says why there is no
 * device, and writes no run folder. */
#include <stdint.h>
#include <sys/stat.h>

#include "test.h"

#include "cli_run.h"

#include "backend/backend.h"
#include "io/mp4.h"

#ifndef VG_CUDA_BUILT
#define VG_CUDA_BUILT 0
#endif
#ifndef VG_CUDA_HOME
#define VG_CUDA_HOME "/usr/local/cuda"
#endif

/* 1 if a file whose name contains `name` is mapped into this process. */
static int mapped(const char *name) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) found = strstr(line, name) != NULL;
    if (f) fclose(f);
    return found;
}

static void check_dynamic_section(const char *path) {
    static const char *const lazy[] = {"libavformat", "libavcodec", "libswscale", "libavutil",
                                       "libcudnn",    "libcublas",  "libcudart"};
    int rc = run("readelf -d %s", path);
    CHECK(rc == 0 && output_has("(NEEDED)") && output_has("libc.so.6"), "readelf -d %s: exit %d", path, rc);
    for (size_t i = 0; i < sizeof lazy / sizeof *lazy; i++)
        CHECK(!output_has(lazy[i]), "%s links %s at start", path, lazy[i]);
}

int main(int argc, char **argv) {
    (void)argc;
    if (!cli_setup(argv[0], "lazy")) {
        fprintf(stderr, "cannot make a scratch folder\n");
        return 1;
    }
    char lib[600];
    snprintf(lib, sizeof lib, "%.*s/libvidgan.so", (int)(strlen(vidgan) - strlen("/vidgan")), vidgan);
    check_dynamic_section(vidgan);
    check_dynamic_section(lib);

    /* FFmpeg: not mapped until the first video write, then a valid MP4 */
    CHECK(!mapped("libavcodec.so"), "libavcodec is mapped before any video I/O");
    enum { T = 4, H = 16, W = 16 };
    static uint8_t rgb[T * H * W * 3];
    for (int i = 0; i < T * H * W * 3; i++) rgb[i] = (uint8_t)(i * 7);
    char mp4[400];
    snprintf(mp4, sizeof mp4, "%s/lazy.mp4", tmp);
    vg_status st = vg_mp4_write(mp4, rgb, T, H, W, 8.0);
    CHECK(st == VG_OK, "vg_mp4_write: %s", vg_last_error());
    CHECK(mapped("libavcodec.so") && mapped("libavformat.so") && mapped("libswscale.so"),
          "FFmpeg's libraries are not mapped after an MP4 write");
    int rc = run("ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames "
                 "-of default=nw=1:nk=1 %s",
                 mp4);
    CHECK(rc == 0 && output_has("4"), "ffprobe of the lazily written MP4: exit %d", rc);

    /* CUDA through the registry (this program does not link the CUDA objects) */
    const vg_backend *gpu = vg_backend_cuda();
    if (gpu) {
        CHECK(strcmp(gpu->name, "cuda") == 0, "the CUDA backend is named '%s'", gpu->name);
    } else {
        const char *why = vg_last_error();
        CHECK(strncmp(why, "no CUDA device: ", 16) == 0 && strlen(why) > 20, "no CUDA backend, reason '%s'", why);
        if (strstr(why, "no CUDA driver")) CHECK(!mapped("libcudnn"), "cuDNN was loaded without a CUDA driver");
    }

    /* the plugin opened for real, through a stub driver */
    char stub[300];
    snprintf(stub, sizeof stub, "%s/lib64/stubs/libcuda.so", VG_CUDA_HOME);
    struct stat sb;
    if (stat(stub, &sb) != 0) {
        printf("SKIP: no CUDA driver stub at %s: the plugin is not opened here\n", stub);
    } else {
        rc = run("mkdir -p %s/drv && ln -sf %s %s/drv/libcuda.so.1 && LD_LIBRARY_PATH=%s/drv %s train --data shapes "
                 "--size 16 --frames 8 --steps 1 --device cuda --out %s/run",
                 tmp, stub, tmp, tmp, vidgan, tmp);
        CHECK(rc == 1 && output_has("no CUDA device: ") && !output_has("no CUDA driver"),
              "train --device cuda with a stub driver: exit %d", rc);
        if (VG_CUDA_BUILT)
            CHECK(!output_has("did not load") && output_has("stub"),
                  "the plugin did not load, or its probe did not name the stub driver");
        else
            CHECK(output_has("libvidgan_cuda.so did not load"), "a build without CUDA names the missing plugin");
        char run_dir[300];
        snprintf(run_dir, sizeof run_dir, "%s/run", tmp);
        CHECK(stat(run_dir, &sb) != 0, "a run folder was written although the device was refused");
    }
    run("rm -rf %s", tmp);
    TEST_END();
}
