#!/bin/sh
# Builds the check for wasm32-unknown-unknown with Debian's Rust (core from
# source) and runs it under Node.js.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
# A relative CARGO_TARGET_DIR is the caller's (the workspace root's).
target_dir="${CARGO_TARGET_DIR:-$here/../../../target/wasm-check}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
cd "$here"
# The memory may grow to 64 MiB at most, so that growing can fail.
RUSTFLAGS="-C link-arg=--max-memory=67108864" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 /usr/bin/cargo build --quiet --locked --release \
    -Zbuild-std=core,alloc \
    --target wasm32-unknown-unknown --target-dir "$target_dir"
wasm="$target_dir/wasm32-unknown-unknown/release/allocator_os_wasm_check.wasm"
node -e '
const bytes = require("fs").readFileSync(process.argv[1]);
WebAssembly.instantiate(bytes, {}).then(({ instance }) => {
  const before = instance.exports.memory_pages();
  const code = instance.exports.run();
  const after = instance.exports.memory_pages();
  if (code !== 0) { console.log("WasmPages: check " + code + " failed"); process.exit(1); }
  console.log("WasmPages under Node.js " + process.version + ": every check passed (memory " + before + " -> " + after + " pages of 64 KiB)");
});' "$wasm"
