/* eval_frames.h — `vidgan eval --metric frames`: predicted (or generated)
 * videos against their true targets, one to one, with the per-frame scores
 * of src/eval/frame_metrics.h (L1, MSE, PSNR, SSIM), as conditional video
 * prediction papers report them: the means over every frame of every pair
 * and the curves over the frame index.
 *
 * Pairs: --fake and --target are each a folder of videos (every video file
 * under it, sorted by path: the k-th of one pairs with the k-th of the
 * other), one video file, or a .npy (video k pairs with video k); without
 * --target, a built-in data set (--data shapes, mnist, fashion) gives the
 * targets: clip k of data seed --seed pairs with fake video k. Videos are
 * compared at their own size, all their frames (the first --frames when
 * given), pixels in [0, 1]; a pair must agree in width, height and frame
 * count (a grey side is replicated to match an RGB one).
 *
 * Leaves to others: the scores themselves (frame_metrics.c), option
 * parsing (cmd_eval.c). Prints a table and writes the --json record. */
#ifndef VG_CLI_EVAL_FRAMES_H
#define VG_CLI_EVAL_FRAMES_H

/* PSNR of identical frames (MSE 0) is +inf; it enters means as this. */
#define EVAL_PSNR_CAP_DB 100.0

typedef struct eval_frames_args {
    const char *fake;        /* predicted videos */
    const char *target;      /* their targets, or NULL: data below */
    const char *data, *data_path, *npy_layout;
    int size, frames, seed;  /* 0: from the videos */
    const char *json;        /* NULL, a path or "-" */
} eval_frames_args;

/* Runs the comparison; the exit code (0, 1 failure, 2 bad input). */
int eval_frames_main(const eval_frames_args *a);

#endif
