"""PyTorch side of the conv benchmark: times every reference Conv3d /
ConvTranspose3d shape of the 3D-DCGAN models (batch 16, fp32) pass by pass,
with the same thread count as bench_conv.c.

Prints one line per (shape, pass): "name pass median_ms" (pass is fwd,
bwd_data or bwd_weight), the format run_conv_bench.sh joins with
bench_conv's output. Run with /usr/bin/python3 (Debian's torch 1.13) and,
for a fair comparison, GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
(see run_conv_bench.sh).

Usage: bench_conv_torch.py [threads] [reps] [filter]"""
import sys
import time

import torch

# name, transposed, C_in, C_out, in (T, H, W), k, s, p -- kept in step with
# the table in bench_conv.c.
SHAPES = [
    ("g64.1", 1, 100, 512, (1, 1, 1), (1, 4, 4), 1, 0),
    ("g64.2", 1, 512, 256, (1, 4, 4), (4, 4, 4), 2, 1),
    ("g64.3", 1, 256, 128, (2, 8, 8), (4, 4, 4), 2, 1),
    ("g64.4", 1, 128, 64, (4, 16, 16), (4, 4, 4), 2, 1),
    ("g64.5", 1, 64, 3, (8, 32, 32), (4, 4, 4), 2, 1),
    ("d64.1", 0, 3, 64, (16, 64, 64), (4, 4, 4), 2, 1),
    ("d64.2", 0, 64, 128, (8, 32, 32), (4, 4, 4), 2, 1),
    ("d64.3", 0, 128, 256, (4, 16, 16), (4, 4, 4), 2, 1),
    ("d64.4", 0, 256, 512, (2, 8, 8), (4, 4, 4), 2, 1),
    ("d64.5", 0, 512, 1, (1, 4, 4), (1, 4, 4), 1, 0),
    ("g32.1", 1, 100, 256, (1, 1, 1), (2, 4, 4), 1, 0),
    ("g32.2", 1, 256, 128, (2, 4, 4), (4, 4, 4), 2, 1),
    ("g32.3", 1, 128, 64, (4, 8, 8), (4, 4, 4), 2, 1),
    ("g32.4", 1, 64, 3, (8, 16, 16), (4, 4, 4), 2, 1),
    ("d32.1", 0, 3, 64, (16, 32, 32), (4, 4, 4), 2, 1),
    ("d32.2", 0, 64, 128, (8, 16, 16), (4, 4, 4), 2, 1),
    ("d32.3", 0, 128, 256, (4, 8, 8), (4, 4, 4), 2, 1),
    ("d32.4", 0, 256, 1, (2, 4, 4), (2, 4, 4), 1, 0),
]
N = 16


def median_ms(fn, reps):
    fn()  # warm-up (first call sets up oneDNN primitives, allocator pools)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    filt = sys.argv[3] if len(sys.argv) > 3 else ""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for name, tr, ci, co, ins, k, s, p in SHAPES:
        if filt and filt not in name:
            continue
        x = torch.randn(N, ci, *ins)
        if tr:
            w = torch.randn(ci, co, *k) * 0.02
        else:
            w = torch.randn(co, ci, *k) * 0.02
        b = torch.randn(co)
        stride, pad = (s,) * 3, (p,) * 3
        with torch.no_grad():
            if tr:
                y = torch.nn.functional.conv_transpose3d(x, w, b, stride, pad)
            else:
                y = torch.nn.functional.conv3d(x, w, b, stride, pad)
        dy = torch.randn_like(y)

        def fwd():
            with torch.no_grad():
                if tr:
                    torch.nn.functional.conv_transpose3d(x, w, b, stride, pad)
                else:
                    torch.nn.functional.conv3d(x, w, b, stride, pad)

        def bwd(mask):
            def f():
                torch.ops.aten.convolution_backward(
                    dy, x, w, [co], stride, pad, (1, 1, 1), bool(tr), (0, 0, 0), 1, mask)
            return f

        print(f"{name} fwd {median_ms(fwd, reps):.3f}", flush=True)
        print(f"{name} bwd_data {median_ms(bwd([True, False, False]), reps):.3f}", flush=True)
        # torch computes the bias gradient together with the weight gradient
        print(f"{name} bwd_weight {median_ms(bwd([False, True, True]), reps):.3f}", flush=True)


if __name__ == "__main__":
    main()
