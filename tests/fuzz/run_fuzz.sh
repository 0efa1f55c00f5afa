#!/bin/sh
# Build and run the fuzz targets for a bounded time each.
#
#   tests/fuzz/run_fuzz.sh [seconds] [target ...]   (run from anywhere)
#
# seconds: per target, default 60. Targets: safetensors, npy, image (PNG/JPEG
# frames of frame folders), ckpt_meta (checkpoint metadata and data JSON)
# (default: all four). image and ckpt_meta link build/libvidgan.a for the
# code outside the fuzzed parsers (run `make` first).
# Needs clang-14 and its libFuzzer runtime (Debian):
#   apt-get install -y clang-14 libclang-rt-14-dev libjansson-dev
# Crashing inputs are written to build/fuzz/<target>/ (crash-*, leak-*,
# timeout-*); new interesting inputs go to build/fuzz/<target>/corpus, never
# into the checked-in seed corpora tests/fuzz/corpus/<target>/.
set -eu
cd "$(dirname "$0")/../.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-safetensors npy image ckpt_meta}
LIBS="build/libvidgan.a -lgomp -lavformat -lavcodec -lswscale -lavutil -ljansson -lpng -lz -lm"
CC=${CC:-clang-14}
FLAGS="-std=c11 -g -O1 -D_DEFAULT_SOURCE -Iinclude -Isrc -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
for t in $targets; do
    out=build/fuzz/$t
    mkdir -p "$out/corpus"
    case $t in
    safetensors)
        $CC $FLAGS -o "$out/fuzz_safetensors" \
            tests/fuzz/fuzz_safetensors.c src/io/safetensors.c src/io/atomic_file.c src/core/status.c -ljansson -lm
        # -rss_limit_mb bounds memory: the reader may legitimately allocate a copy of
        # the input plus a header's worth of entries, nothing proportional to claims.
        "$out/fuzz_safetensors" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
            -artifact_prefix="$out/" -print_final_stats=1 -dict=tests/fuzz/safetensors.dict \
            "$out/corpus" tests/fuzz/corpus/safetensors
        ;;
    npy)
        # the reader allocates nothing proportional to the input or its claims
        $CC $FLAGS -o "$out/fuzz_npy" tests/fuzz/fuzz_npy.c src/io/npy.c src/core/status.c -lm
        "$out/fuzz_npy" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=1024 \
            -artifact_prefix="$out/" -print_final_stats=1 \
            "$out/corpus" tests/fuzz/corpus/npy
        ;;
    image)
        # FFmpeg's png / mjpeg decoders run uninstrumented; our checks, the
        # buffer handling and the RGB conversion are instrumented
        [ -f build/libvidgan.a ] || make -j2 build/libvidgan.a
        $CC $FLAGS -o "$out/fuzz_image" tests/fuzz/fuzz_image.c src/io/image_reader.c src/io/rgb_convert.c \
            src/core/status.c $LIBS
        "$out/fuzz_image" -max_total_time="$secs" -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
            -artifact_prefix="$out/" -print_final_stats=1 \
            "$out/corpus" tests/fuzz/corpus/image
        ;;
    ckpt_meta)
        [ -f build/libvidgan.a ] || make -j2 build/libvidgan.a
        $CC $FLAGS -o "$out/fuzz_ckpt_meta" tests/fuzz/fuzz_ckpt_meta.c src/io/safetensors.c src/core/status.c $LIBS
        "$out/fuzz_ckpt_meta" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=1024 \
            -artifact_prefix="$out/" -print_final_stats=1 -dict=tests/fuzz/ckpt_meta.dict \
            "$out/corpus" tests/fuzz/corpus/ckpt_meta
        ;;
    *)
        echo "run_fuzz.sh: unknown target '$t' (expected safetensors, npy, image or ckpt_meta)" >&2
        exit 2
        ;;
    esac
done
