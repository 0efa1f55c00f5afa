#!/bin/sh
# Whole-training-step benchmark, vidgan vs PyTorch side by side: the
# 3D-DCGAN at 32x32x16 and 64x64x16, batch 16, same thread count, PyTorch
# with its best allocator settings. Each size runs vidgan and PyTorch
# alternately `rounds` times (the machine is noisy) and reports medians.
#
# Usage: bench/run_train_bench.sh [threads] [steps] [rounds] [sizes]
set -e
cd "$(dirname "$0")/.."
threads=${1:-2}
steps=${2:-5}
rounds=${3:-2}
sizes=${4:-"32 64"}
PYTHON=${PYTHON:-/usr/bin/python3}
make -s bench >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in $sizes; do
    r=0
    while [ $r -lt "$rounds" ]; do
        build/bench/bench_train "$size" "$threads" "$steps" >> "$tmp/vg.$size"
        GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \
            "$PYTHON" bench/bench_train_torch.py "$size" "$threads" "$steps" >> "$tmp/torch.$size"
        r=$((r + 1))
    done
done
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" "$2" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
echo "threads=$threads, batch 16, $rounds rounds x $steps steps, medians; ratio = vidgan / PyTorch (step, memory) or vidgan / PyTorch (frames/s)"
printf "%-6s %12s %12s %7s | %12s %12s %7s | %10s %10s %7s\n" size "vg step ms" "pt step ms" ratio "vg fps" "pt fps" ratio "vg MiB" "pt MiB" ratio
for size in $sizes; do
    vs=$(field step_ms_median "$tmp/vg.$size"); ps=$(field step_ms_median "$tmp/torch.$size")
    vf=$(field sample_fps "$tmp/vg.$size"); pf=$(field sample_fps "$tmp/torch.$size")
    vm=$(field peak_rss_mib "$tmp/vg.$size"); pm=$(field peak_rss_mib "$tmp/torch.$size")
    awk -v s="$size" -v vs="$vs" -v ps="$ps" -v vf="$vf" -v pf="$pf" -v vm="$vm" -v pm="$pm" 'BEGIN {
        printf "%-6s %12.0f %12.0f %6.2fx | %12.0f %12.0f %6.2fx | %10.0f %10.0f %6.2fx\n", s"^2", vs, ps, vs / ps, vf, pf, vf / pf, vm, pm, vm / pm }'
done
