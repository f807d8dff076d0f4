#!/usr/bin/env bash
# What each heap costs a Cortex-M3 firmware: the `footprint` program of
# firmware/cortex-m (a Box and a Vec on the global allocator) built for
# thumbv7m-none-eabi once per heap and once without one, measured with
# arm-none-eabi-size, and run under qemu-system-arm (it must exit cleanly).
#
# Prints one labelled line per heap, ours and peers' (flash = .text + .rodata + vectors +
# .data, RAM = .data + .bss less the 4 KiB arena, each also less the
# baseline), writes them to target/footprint/footprint.tsv for the
# workbench's report, and fails when a heap puts anything in .data or
# grows past its budget below (a regression: raise a budget only on
# purpose, saying why).
#
# Needs what firmware/run.sh needs, and binutils-arm-none-eabi.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TARGET_DIR=${CARGO_TARGET_DIR:-target/firmware}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac
OUT=$ROOT/target/footprint
mkdir -p "$OUT"
TRIPLE=thumbv7m-none-eabi
ARENA=4096

# heap feature, flash budget, RAM budget (bytes, over the baseline)
BUDGETS="
heap-tlsf          4600 3000
heap-buddy         2900  600
heap-firmware      7000 3300
heap-small-blocks  5600 3450
"

# Peers, measured the same way, printed beside ours (no budget):
# feature, name in the table.
PEERS="
peer-embedded-llff embedded-alloc-LlffHeap
peer-embedded-tlsf embedded-alloc-TlsfHeap
peer-talc          talc-TalcLock
"

qemu=$("$HERE/qemu.sh" arm)
data=$(dirname "$qemu")/../share/qemu
measure() { # feature (empty: baseline) -> "flash data bss"
    (cd "$HERE/cortex-m" && RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --quiet --release --locked \
        -Zbuild-std=core,alloc --target $TRIPLE --target-dir "$TARGET_DIR" --bin footprint ${1:+--features "$1"})
    local elf=$TARGET_DIR/$TRIPLE/release/footprint
    timeout --kill-after=5 60 "$qemu" -L "$data" -machine lm3s6965evb -nographic \
        -semihosting-config enable=on,target=native -kernel "$elf" </dev/null ||
        { echo "footprint: the ${1:-baseline} program failed under qemu" >&2; return 1; }
    arm-none-eabi-size -A "$elf" | awk '
        $1 == ".vector_table" || $1 == ".text" || $1 == ".rodata" { flash += $2 }
        $1 == ".data" { data += $2 }
        $1 == ".bss" || $1 == ".uninit" { bss += $2 }
        END { print flash + data, data + 0, bss + 0 }'
}

read -r base_flash base_data base_bss < <(measure "")
echo "baseline (no heap): flash $base_flash bytes, .data $base_data bytes, RAM $((base_data + base_bss)) bytes"
printf 'heap\tflash\tram\tdata\n' >"$OUT/footprint.tsv"
failed=0
while read -r feature flash_budget ram_budget; do
    [ -n "$feature" ] || continue
    read -r flash data bss < <(measure "$feature")
    name=${feature#heap-}
    flash=$((flash - base_flash))
    ram=$((data + bss - ARENA - base_data - base_bss))
    echo "$name: flash $flash bytes, RAM $ram bytes, .data $data bytes (budget: flash $flash_budget, RAM $ram_budget)"
    printf '%s\t%s\t%s\t%s\n' "$name" "$flash" "$ram" "$data" >>"$OUT/footprint.tsv"
    if [ "$data" -ne 0 ]; then
        echo "  FAILED: $name puts $data bytes in .data (copied from flash at every boot)"
        failed=1
    fi
    if [ "$flash" -gt "$flash_budget" ] || [ "$ram" -gt "$ram_budget" ]; then
        echo "  FAILED: $name is over its budget"
        failed=1
    fi
done <<<"$BUDGETS"
while read -r feature name; do
    [ -n "$feature" ] || continue
    read -r flash data bss < <(measure "$feature")
    flash=$((flash - base_flash))
    ram=$((data + bss - ARENA - base_data - base_bss))
    echo "peer $name: flash $flash bytes, RAM $ram bytes, .data $data bytes"
    printf '%s (peer)\t%s\t%s\t%s\n' "$name" "$flash" "$ram" "$data" >>"$OUT/footprint.tsv"
done <<<"$PEERS"
echo "written: $OUT/footprint.tsv"
if [ $failed -ne 0 ]; then exit 1; fi
echo "ours: every heap within its budget, none with .data"
