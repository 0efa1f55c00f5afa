"""PyTorch side of bench/bench_train_cuda.c on the same GPU: the 3D-DCGAN
training step of tools/ref_dcgan3d.py (non-saturating loss, Adam 2e-4
(0.5, 0.999)), eager mode, synthetic data; precision fp32 (TF32 off), tf32,
or bf16 (torch.autocast, float32 master weights and optimizer state).
Also: the FLOPs of one step (torch.utils.flop_counter) and, with --ceiling,
the GPU's measured matmul ceiling, so both sides' model FLOP utilisation
(MFU = step FLOPs / step time / ceiling) can be reported.

Usage: python3 bench/bench_train_torch_cuda.py SIZE [steps] [batch] [fp32|tf32|bf16]
       python3 bench/bench_train_torch_cuda.py --ceiling
Prints one line of key=value fields (as bench_train_cuda.c)."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import torch  # noqa: E402
from ref_dcgan3d import Discriminator, Generator, train_step  # noqa: E402


def set_precision(prec):
    tf32 = prec == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cudnn.benchmark = True


def ceiling(n=8192, reps=20):
    """Best matmul TFLOP/s of an n x n x n product in fp32, tf32 and bf16."""
    out = []
    for prec, dtype in (("fp32", torch.float32), ("tf32", torch.float32), ("bf16", torch.bfloat16)):
        set_precision(prec)
        a = torch.randn(n, n, device="cuda", dtype=dtype)
        b = torch.randn(n, n, device="cuda", dtype=dtype)
        for _ in range(3):
            a @ b
        torch.cuda.synchronize()
        best = 1e30
        for _ in range(reps):
            t0 = time.perf_counter()
            a @ b
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
        out.append("%s_tflops=%.1f" % (prec, 2.0 * n ** 3 / best / 1e12))
    print("ceiling n=%d %s device=\"%s\"" % (n, " ".join(out), torch.cuda.get_device_name()))


def step_flops(G, D, opt_g, opt_d, real, z):
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        train_step(G, D, opt_g, opt_d, real, z)
    return counter.get_total_flops()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--ceiling":
        ceiling()
        return
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    batch = int(sys.argv[3]) if len(sys.argv) > 3 else 16
    prec = sys.argv[4] if len(sys.argv) > 4 else "fp32"
    if prec not in ("fp32", "tf32", "bf16"):
        sys.exit("precision must be fp32, tf32 or bf16")
    set_precision(prec)
    torch.manual_seed(0)
    dev = "cuda"
    G, D = Generator(size, 16, 3, 100, 64).to(dev), Discriminator(size, 16, 3, 64).to(dev)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(batch, 3, 16, size, size, device=dev) * 2 - 1
    flops = step_flops(G, D, opt_g, opt_d, real, torch.randn(batch, 100, device=dev))
    ms = []
    for s in range(steps + 3):
        z = torch.randn(batch, 100, device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=prec == "bf16"):
            train_step(G, D, opt_g, opt_d, real, z)  # ends in .item(): synchronised
        if s >= 3:
            ms.append(1e3 * (time.perf_counter() - t0))
    z = torch.randn(batch, 100, device=dev)
    best = 1e30
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=prec == "bf16"):
        G(z)
        for _ in range(10):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            G(z)
            torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t0)
    print("torch-cuda size=%d batch=%d prec=%s step_ms_median=%.2f step_ms_all=%s sample_fps=%.1f step_gflop=%.1f "
          "peak_mem_mib=%.1f torch=%s device=\"%s\""
          % (size, batch, prec, statistics.median(ms), ",".join("%.1f" % m for m in sorted(ms)), batch * 16 / best,
             flops / 1e9, torch.cuda.max_memory_allocated() / 1048576.0, torch.__version__,
             torch.cuda.get_device_name()))


if __name__ == "__main__":
    main()
