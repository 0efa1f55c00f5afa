/* Atomic file writes; see atomic_file.h. */
#include "io/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/status.h"

static int write_all(int fd, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t r = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            if (r == 0) errno = EIO;
            return 0;
        }
        p += r;
        n -= (size_t)r;
    }
    return 1;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) {
        errno = ENOMEM;
        return 0;
    }
    if (slash)
        memcpy(dir, path, n);
    else
        dir[0] = '.';
    dir[n] = '\0';
    int fd = open(dir, O_RDONLY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return 0;
    int ok = fsync(fd) == 0 || errno == EINVAL || errno == EROFS; /* some filesystems cannot sync dirs */
    int e = errno;
    close(fd);
    errno = e;
    return ok;
}

vg_status vg_atomic_open(vg_atomic_file *f, const char *path) {
    VG_ASSERT(f && path);
    *f = (vg_atomic_file){path, NULL, -1};
    if (!*path) return vg_fail(VG_ERR_INVALID, "empty output path");
    size_t tlen = strlen(path) + 48;
    f->tmp = malloc(tlen);
    if (!f->tmp) return vg_fail(VG_ERR_NOMEM, "%s: out of memory", path);
    /* A name unique across processes (pid) and threads (counter); O_EXCL
     * never reuses someone else's file, and mode 0666 respects the umask. */
    static _Atomic unsigned counter;
    for (int tries = 0; f->fd < 0 && tries < 100; tries++) {
        snprintf(f->tmp, tlen, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (f->fd < 0 && errno != EEXIST) break;
    }
    if (f->fd < 0) {
        vg_status s = vg_fail(VG_ERR_IO, "%s: cannot create temporary file %s: %s", path, f->tmp, strerror(errno));
        free(f->tmp);
        f->tmp = NULL;
        return s;
    }
    return VG_OK;
}

vg_status vg_atomic_write(vg_atomic_file *f, const void *data, size_t len) {
    if (!write_all(f->fd, data, len))
        return vg_fail(VG_ERR_IO, "%s: write to %s failed: %s", f->path, f->tmp, strerror(errno));
    return VG_OK;
}

void vg_atomic_abort(vg_atomic_file *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->tmp) unlink(f->tmp);
    free(f->tmp);
    f->tmp = NULL;
    f->fd = -1;
}

vg_status vg_atomic_commit(vg_atomic_file *f) {
    vg_status s = VG_OK;
    if (fsync(f->fd) != 0) s = vg_fail(VG_ERR_IO, "%s: fsync of %s failed: %s", f->path, f->tmp, strerror(errno));
    int rc = close(f->fd);
    f->fd = -1;
    if (s == VG_OK && rc != 0) s = vg_fail(VG_ERR_IO, "%s: close of %s failed: %s", f->path, f->tmp, strerror(errno));
    if (s == VG_OK && rename(f->tmp, f->path) != 0)
        s = vg_fail(VG_ERR_IO, "%s: cannot rename %s into place: %s", f->path, f->tmp, strerror(errno));
    if (s != VG_OK) {
        vg_atomic_abort(f);
        return s;
    }
    free(f->tmp);
    f->tmp = NULL;
    if (!sync_parent_dir(f->path))
        return vg_fail(VG_ERR_IO, "%s: written, but syncing its directory failed: %s", f->path, strerror(errno));
    return VG_OK;
}

vg_status vg_file_write_atomic(const char *path, const void *data, size_t len) {
    VG_ASSERT(path && (data || len == 0));
    vg_atomic_file f;
    vg_status s = vg_atomic_open(&f, path);
    if (s != VG_OK) return s;
    if ((s = vg_atomic_write(&f, data, len)) != VG_OK) {
        vg_atomic_abort(&f);
        return s;
    }
    return vg_atomic_commit(&f);
}
