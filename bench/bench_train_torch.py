"""PyTorch side of bench/bench_train.c: the same 3D-DCGAN training step
(tools/ref_dcgan3d.py, float32, non-saturating loss, Adam 2e-4 (0.5, 0.999)),
same batch and thread count, synthetic data; sampling = G forward of a batch
under no_grad with BatchNorm on batch statistics; peak RSS of the process
after the training steps (peak_rss_mib) and after sampling too. Like
vidgan's trainer (ema_decay 0.999 by default, which bench_train keeps), the
step ends with an exponential moving average of G's weights (decay
min(0.999, (1 + u) / (10 + u)) after u updates, buffers copied): the same
work and the same extra copy of G on both sides.

Usage: /usr/bin/python3 bench/bench_train_torch.py SIZE [threads] [steps] [batch]
Run it with GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736
for PyTorch's best allocator behaviour (bench/run_train_bench.sh does)."""
import os
import resource
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch  # noqa: E402
from ref_dcgan3d import Discriminator, Generator, train_step  # noqa: E402


def main():
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else 16
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G, D = Generator(size, 16, 3, 100, 64), Discriminator(size, 16, 3, 64)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 3, 16, size, size) * 2 - 1
    params, buffers = list(G.parameters()), list(G.buffers())
    ema = [p.detach().clone() for p in params]
    ema_buffers = [b.detach().clone() for b in buffers]
    ms = []
    for s in range(steps + 2):
        z = torch.randn(batch, 100)
        t0 = time.perf_counter()
        train_step(G, D, opt_g, opt_d, real, z)
        with torch.no_grad():
            decay = min(0.999, (1.0 + s) / (10.0 + s))
            torch._foreach_mul_(ema, decay)
            torch._foreach_add_(ema, [p.detach() for p in params], alpha=1.0 - decay)
            for e, b in zip(ema_buffers, buffers):
                e.copy_(b)
        if s >= 2:
            ms.append(1e3 * (time.perf_counter() - t0))
    train_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # before sampling, as vidgan's
    z = torch.randn(batch, 100)
    best = 1e30
    with torch.no_grad():
        G(z)
        for _ in range(5):
            t0 = time.perf_counter()
            G(z)
            best = min(best, time.perf_counter() - t0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch size=%d batch=%d threads=%d step_ms_median=%.1f step_ms_all=%s sample_fps=%.1f peak_rss_mib=%.1f "
          "sample_peak_rss_mib=%.1f"
          % (size, batch, threads, statistics.median(ms), ",".join("%.0f" % m for m in sorted(ms)),
             batch * 16 / best, train_peak, peak))


if __name__ == "__main__":
    main()
