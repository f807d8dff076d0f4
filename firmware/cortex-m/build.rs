//! Picks the board's memory map by target: the Cortex-M3 build runs on
//! qemu's lm3s6965evb, the Cortex-M0 build on its microbit. (A file
//! named `memory.x` in this folder would win over the one written here,
//! so the boards' files have names of their own.)

use std::{env, fs, path::PathBuf};

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let board = if target.starts_with("thumbv6m") { "memory-microbit.x" } else { "memory-lm3s6965.x" };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::copy(board, out.join("memory.x")).expect("the board's memory map");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg=-Tlink.x");
    println!("cargo:rerun-if-changed={board}");
    println!("cargo:rerun-if-changed=build.rs");
    // The `c-malloc` program's C code, with the target's gcc (cc picks
    // arm-none-eabi-gcc and the CPU's flags from the target).
    #[cfg(feature = "c")]
    {
        cc::Build::new().file("c/app.c").opt_level_str("s").warnings_into_errors(true).compile("app");
        println!("cargo:rerun-if-changed=c/app.c");
    }
}
