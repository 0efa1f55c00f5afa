/* Files that appear whole or not at all: written to a temporary beside the
 * target (path.tmp.<pid>.<n>, created with O_EXCL), fsync'ed, renamed over
 * the target, and the folder fsync'ed. On any failure the temporary is
 * removed and an existing file at the target is left untouched. Every
 * writer of outputs and checkpoints goes through here. */
#ifndef VG_IO_ATOMIC_FILE_H
#define VG_IO_ATOMIC_FILE_H

#include <stddef.h>

#include "vidgan.h"

typedef struct vg_atomic_file {
    const char *path; /* the target (borrowed) */
    char *tmp;
    int fd;
} vg_atomic_file;

vg_status vg_atomic_open(vg_atomic_file *f, const char *path);
vg_status vg_atomic_write(vg_atomic_file *f, const void *data, size_t len);
/* fsync, close, rename into place, fsync the folder; the file is closed
 * whatever the result. */
vg_status vg_atomic_commit(vg_atomic_file *f);
/* Close and remove the temporary (after a failure of the caller's own). */
void vg_atomic_abort(vg_atomic_file *f);

/* All of the above for one buffer. */
vg_status vg_file_write_atomic(const char *path, const void *data, size_t len);

#endif
