#!/bin/sh
# Side-by-side conv benchmark: vidgan's CPU kernels (bench/bench_conv.c)
# against PyTorch (bench/bench_conv_torch.py, Debian's torch 1.13 under
# /usr/bin/python3) on every 3D-DCGAN conv layer, batch 16, fp32, with the
# same thread count. PyTorch gets its best allocator settings (large buffers
# kept instead of returned to the OS after every call).
#
# Prints one table: shape, pass (fwd / bwd_data / bwd_weight, then the
# fwd+bwd total), vidgan median ms, GFLOP/s, % of the FMA ceiling CEILING
# (GFLOP/s; by default measured here by bench/fma_peak.c at the same thread
# count: 181 on the AVX2-only VM of 2026-11-25, 218 on the AVX-512 one of
# 2026-12-07, whose 512-bit FMAs run at the 256-bit rate), PyTorch
# median ms, and torch/vidgan (> 1: vidgan is faster). GFLOP/s counts every
# (input, output, tap) link of the layer, padding taps included, as torch
# would be credited.
#
# Usage: bench/run_conv_bench.sh [threads] [reps] [filter]
# VIDGAN_CONV_PATH=gemm / =igemm force one conv lowering (bench_conv.c).
set -e
cd "$(dirname "$0")/.."
threads=${1:-2}
reps=${2:-7}
filter=${3:-}
PYTHON=${PYTHON:-/usr/bin/python3}

make -s build/bench/bench_conv >&2
# The FMA ceiling of this machine at this thread count (the larger of the
# AVX2 and AVX-512 figures of bench/fma_peak.c), unless CEILING is given.
if [ -z "${CEILING:-}" ]; then
    gcc -O2 -fopenmp bench/fma_peak.c -o build/bench/fma_peak
    CEILING=$(build/bench/fma_peak | awk -v t="$threads" '$2 == t":" {
        best = 0; for (i = 1; i <= NF; i++) if ($(i + 1) == "GFLOP/s," || $(i + 1) == "GFLOP/s") if ($i + 0 > best) best = $i + 0
        printf "%.0f", best }')
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The machine is noisy: run the two shape by shape, alternating, so that both
# sides of every row see the same background load.
shapes=$(sed -n 's/^    ("\([a-z0-9.]*\)".*/\1/p' bench/bench_conv_torch.py)
for s in $shapes; do
    case "$s" in *"$filter"*) ;; *) continue ;; esac
    build/bench/bench_conv "$threads" "$reps" "$s" | awk -v s="$s" '$1 == s' >> "$tmp/vg.txt"
    GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736 \
        "$PYTHON" bench/bench_conv_torch.py "$threads" "$reps" "$s" | awk -v s="$s" '$1 == s' >> "$tmp/torch.txt"
done

echo "threads=$threads reps=$reps (medians); GFLOP/s and % of the $CEILING GFLOP/s ceiling are vidgan's"
awk -v ceil="$CEILING" '
    FNR == NR { torch[$1 " " $2] = $3; next }
    function row(name, pass, ms, fl, tms) {
        printf "%-7s %-10s %10.2f %9.1f %7.1f%% %10.2f %7.2fx\n", name, pass, ms, fl / ms / 1e6,
               100 * fl / ms / 1e6 / ceil, tms, tms / ms
    }
    BEGIN {
        printf "%-7s %-10s %10s %9s %8s %10s %8s\n", "shape", "pass", "vidgan ms", "GFLOP/s", "%peak", "torch ms", "ratio"
    }
    {
        name = $1; pass = $2; ms = $3; fl = $4; tms = torch[name " " pass]
        row(name, pass, ms, fl, tms)
        tot_ms[name] += ms; tot_fl[name] += fl; tot_t[name] += tms
        if (pass == "bwd_weight") {
            row(name, "total", tot_ms[name], tot_fl[name], tot_t[name])
            all_ms += tot_ms[name]; all_fl += tot_fl[name]; all_t += tot_t[name]
        }
    }
    END { row("all", "total", all_ms, all_fl, all_t) }
' "$tmp/torch.txt" "$tmp/vg.txt"
