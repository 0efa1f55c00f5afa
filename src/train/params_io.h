/* Moving a parameter set in and out of safetensors files by name: the
 * building block of checkpoints and of weight exchange with PyTorch. */
#ifndef VG_TRAIN_PARAMS_IO_H
#define VG_TRAIN_PARAMS_IO_H

#include "io/safetensors.h"
#include "vidgan.h"

/* Adds every tensor of P (parameters and buffers) to w as F32 under
 * prefix + its name (prefix may be ""). Data is staged in host copies owned
 * by *staging (free with free() after the save); on CPU no copy is made. */
vg_status vg_params_to_writer(vg_params *P, vg_st_writer *w, const char *prefix, float **staging);
/* Loads every tensor of P from f (name = prefix + tensor name). A missing
 * tensor or a shape mismatch is an error naming the file and the tensor;
 * with strict, so is a tensor in f under prefix that P does not have. */
vg_status vg_params_from_file(vg_params *P, const vg_st_file *f, const char *prefix, int strict);

#endif
