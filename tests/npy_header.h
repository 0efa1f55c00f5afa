/* npy_header.h — writes the header of a version 1.0 .npy file by the format
 * specification (magic, little-endian u16 header length, the dict, spaces
 * and '\n' to a multiple of 64 bytes), for tests that make .npy inputs by
 * hand. The data follows in C order. Independent of src/io/npy.c, which
 * parses it. */
#ifndef VG_TESTS_NPY_HEADER_H
#define VG_TESTS_NPY_HEADER_H

#include <stdio.h>

/* descr: "|u1", "<f4", ...; shape: dims of an ndim <= 5 array. 1 on success. */
static inline int npy_write_header(FILE *f, const char *descr, int ndim, const int *shape) {
    char dims[96] = "", dict[160];
    int at = 0;
    for (int i = 0; i < ndim && i < 5; i++)
        at += snprintf(dims + at, sizeof dims - (size_t)at, "%d%s", shape[i], ndim == 1 || i + 1 < ndim ? ", " : "");
    if (ndim == 1) dims[at - 1] = '\0'; /* "(5,)" */
    int len = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, dims);
    int hl = (10 + len + 1 + 63) / 64 * 64 - 10; /* dict + spaces + '\n' */
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc(hl & 0xff, f);
    fputc(hl >> 8, f);
    fwrite(dict, 1, (size_t)len, f);
    for (int i = len; i < hl - 1; i++) fputc(' ', f);
    return fputc('\n', f) != EOF;
}

#endif
