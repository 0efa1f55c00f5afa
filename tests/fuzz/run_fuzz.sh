#!/bin/sh
# Build and run the safetensors fuzz target for a bounded time.
#
#   tests/fuzz/run_fuzz.sh [seconds]        (default 60; run from anywhere)
#
# Needs clang-14 and its libFuzzer runtime (Debian):
#   apt-get install -y clang-14 libclang-rt-14-dev libjansson-dev
# Crashing inputs are written to build/fuzz/ (crash-*, leak-*, timeout-*);
# new interesting inputs go to build/fuzz/corpus, never into the checked-in
# seed corpus tests/fuzz/corpus/safetensors/.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
CC=${CC:-clang-14}
out=build/fuzz
mkdir -p "$out/corpus"
$CC -std=c11 -g -O1 -D_DEFAULT_SOURCE -Iinclude -Isrc \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -o "$out/fuzz_safetensors" \
    tests/fuzz/fuzz_safetensors.c src/io/safetensors.c src/io/atomic_file.c src/core/status.c -ljansson -lm
# -rss_limit_mb bounds memory: the reader may legitimately allocate a copy of
# the input plus a header's worth of entries, nothing proportional to claims.
"$out/fuzz_safetensors" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
    -artifact_prefix="$out/" -print_final_stats=1 -dict=tests/fuzz/safetensors.dict \
    "$out/corpus" tests/fuzz/corpus/safetensors
