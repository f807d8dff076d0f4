#!/usr/bin/env bash
# Prints the path of qemu-system-<arch> (arm, riscv64): the one on PATH, or
# else one unpacked from Debian's own packages into target/qemu. Debian
# 12's qemu-system-arm and -misc refuse to install beside the newer
# backported qemu-utils this machine kind has ("Breaks:
# qemu-system-common"), so they are downloaded and unpacked instead; the
# libraries they load are installed by the firmware step (apt-get).
set -euo pipefail
arch=${1:?usage: qemu.sh arm|riscv64}
if command -v "qemu-system-$arch" >/dev/null; then
    command -v "qemu-system-$arch"
    exit 0
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$ROOT/target/qemu
bin=$DIR/root/usr/bin/qemu-system-$arch
if [ ! -x "$bin" ]; then
    echo "qemu.sh: unpacking Debian's qemu-system packages into $DIR" >&2
    rm -rf "$DIR" && mkdir -p "$DIR/debs"
    packages="qemu-system-arm qemu-system-misc qemu-system-common qemu-system-data"
    (cd "$DIR/debs" && { apt-get download $packages >&2 || { apt-get update -qq >&2 && apt-get download $packages >&2; }; })
    for deb in "$DIR"/debs/*.deb; do dpkg -x "$deb" "$DIR/root"; done
    rm -rf "$DIR/debs"
fi
if missing=$(ldd "$bin" | grep 'not found'); then
    echo "qemu.sh: $bin needs libraries that are not installed:" >&2
    echo "$missing" >&2
    exit 1
fi
echo "$bin"
