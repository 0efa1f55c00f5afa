#!/bin/sh
# GPU benchmark: a whole 3D-DCGAN training step (64x64x16 by default), vidgan's
# CUDA backend vs PyTorch eager on the same GPU, batch 16 and 64, fp32 (TF32
# off on both sides), TF32, and bf16 mixed precision (vidgan's precision
# bf16: bf16 convolution/GEMM operands, float32 weights and accumulation;
# PyTorch's torch.autocast bf16), plus the GPU's matmul ceiling and each
# side's model FLOP utilisation (MFU = step FLOPs / step time / ceiling of
# that precision; the FLOPs are PyTorch's count of the same model). Last,
# each side's own bf16 gain (fp32 step ms / bf16 step ms).
#
# Usage: bench/run_train_bench_cuda.sh [steps] [sizes] [batches]
# Needs: a GPU, the CUDA build (make with nvcc present), PYTHON with a CUDA torch.
set -e
cd "$(dirname "$0")/.."
steps=${1:-20}
sizes=${2:-64}
batches=${3:-"16 64"}
PYTHON=${PYTHON:-python3}
make -s bench >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" bench/bench_train_torch_cuda.py --ceiling | tee "$tmp/ceiling"
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | head -n 1; }
for size in $sizes; do
    for b in $batches; do
        build/bench/bench_train_cuda "$size" "$steps" "$b" | tee "$tmp/vg.fp32.$size.$b"
        VIDGAN_CUDA_TF32=1 build/bench/bench_train_cuda "$size" "$steps" "$b" | tee "$tmp/vg.tf32.$size.$b"
        build/bench/bench_train_cuda "$size" "$steps" "$b" bf16 | tee "$tmp/vg.bf16.$size.$b"
        for p in fp32 tf32 bf16; do
            "$PYTHON" bench/bench_train_torch_cuda.py "$size" "$steps" "$b" "$p" | tee "$tmp/pt.$p.$size.$b"
        done
    done
done
echo
echo "speed-up = PyTorch step ms / vidgan step ms (> 1: vidgan faster; target 1.5); MFU against the measured ceiling"
printf "%-5s %-5s %-5s %12s %12s %8s %9s %9s\n" size batch prec "vg step ms" "pt step ms" speedup "vg MFU" "pt MFU"
for size in $sizes; do
    for b in $batches; do
        for p in fp32 tf32 bf16; do
            vs=$(field step_ms_median "$tmp/vg.$p.$size.$b"); ps=$(field step_ms_median "$tmp/pt.$p.$size.$b")
            gf=$(field step_gflop "$tmp/pt.$p.$size.$b"); c=$(field ${p}_tflops "$tmp/ceiling")
            awk -v s="$size" -v b="$b" -v p="$p" -v vs="$vs" -v ps="$ps" -v gf="$gf" -v c="$c" 'BEGIN {
                printf "%-5s %-5s %-5s %12.2f %12.2f %7.2fx %8.1f%% %8.1f%%\n", s, b, p, vs, ps, ps / vs,
                       100 * gf / (vs * 1e-3) / (c * 1e3), 100 * gf / (ps * 1e-3) / (c * 1e3) }'
        done
    done
done
echo
echo "bf16 gain = fp32 step ms / bf16 step ms, each side against itself"
printf "%-5s %-5s %12s %12s\n" size batch "vg bf16 gain" "pt bf16 gain"
for size in $sizes; do
    for b in $batches; do
        v32=$(field step_ms_median "$tmp/vg.fp32.$size.$b"); v16=$(field step_ms_median "$tmp/vg.bf16.$size.$b")
        p32=$(field step_ms_median "$tmp/pt.fp32.$size.$b"); p16=$(field step_ms_median "$tmp/pt.bf16.$size.$b")
        awk -v s="$size" -v b="$b" -v v32="$v32" -v v16="$v16" -v p32="$p32" -v p16="$p16" 'BEGIN {
            printf "%-5s %-5s %11.2fx %11.2fx\n", s, b, v32 / v16, p32 / p16 }'
    done
done
