#!/usr/bin/env bash
# Builds one firmware for its target and runs it under qemu-system,
# printing what it printed; fails if the build fails, the firmware reports
# a failure, or it runs longer than two minutes.
#
# Usage: firmware/run.sh cortex-m3 | cortex-m3-c | cortex-m0 | riscv64
# Needs: Debian's rustc-web, cargo-web, rust-web-src, rust-web-llvm, lld-22
# (the `firmware` step of `cargo xtask` installs them), gcc-arm-none-eabi
# for cortex-m3-c, and qemu-system (see qemu.sh).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
# A relative CARGO_TARGET_DIR is the workspace root's, as for cargo there.
TARGET_DIR=${CARGO_TARGET_DIR:-target/firmware}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
build=()
case "${1:-}" in
cortex-m3-c)
    crate=cortex-m triple=thumbv7m-none-eabi bin=c-malloc arch=arm build=(--features c --bin c-malloc)
    machine=(-machine lm3s6965evb -semihosting-config enable=on,target=native)
    ;;
cortex-m3)
    crate=cortex-m triple=thumbv7m-none-eabi bin=allocator-firmware-cortex-m arch=arm
    machine=(-machine lm3s6965evb -semihosting-config enable=on,target=native)
    ;;
cortex-m0)
    crate=cortex-m triple=thumbv6m-none-eabi bin=allocator-firmware-cortex-m arch=arm
    machine=(-machine microbit -semihosting-config enable=on,target=native)
    ;;
riscv64)
    crate=riscv triple=riscv64gc-unknown-none-elf bin=riscv-kernel arch=riscv64
    machine=(-machine virt -bios none -smp 4 -m 128M)
    ;;
*)
    echo "usage: firmware/run.sh cortex-m3 | cortex-m3-c | cortex-m0 | riscv64" >&2
    exit 2
    ;;
esac
qemu=$("$HERE/qemu.sh" "$arch")
(cd "$HERE/$crate" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --quiet --release --locked \
    -Zbuild-std=core,alloc --target "$triple" --target-dir "$TARGET_DIR" "${build[@]}")
elf=$TARGET_DIR/$triple/release/$bin
data=$(dirname "$qemu")/../share/qemu
exec timeout --kill-after=5 120 "$qemu" -L "$data" "${machine[@]}" -nographic -kernel "$elf" </dev/null
