#!/bin/sh
# Installs what vidgan needs to build and test on Debian 12, with apt-get,
# skipping what is already there. Run as root (or with sudo available).
#   scripts/setup.sh          build + test dependencies
#   scripts/setup.sh --torch  also python3-torch, to regenerate fixtures and
#                             run the side-by-side PyTorch benchmarks
set -eu

PACKAGES="build-essential pkg-config libjansson-dev libpng-dev zlib1g-dev"
[ "${1:-}" = "--torch" ] && PACKAGES="$PACKAGES python3-torch python3-numpy"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "setup: all dependencies present"
    exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
