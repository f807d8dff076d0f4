//! The C contract, from C: `tests/c/contract.c` compiled with `cc` and run
//! with `LD_PRELOAD` of this package's library (built with the same
//! features as this test), in a multi-threaded program that also forks.

use std::{env, path::PathBuf, process::Command};

/// The library cargo built for this test run: in `deps/`, beside the test
/// (`cargo build` also copies it one level up).
fn library() -> PathBuf {
    let exe = env::current_exe().expect("the test's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let name = "liballocator_malloc_preload.so";
    [deps.join(name), deps.parent().unwrap_or(deps).join(name)]
        .into_iter()
        .find(|p| p.exists())
        .unwrap_or_else(|| deps.join(name))
}

#[test]
fn the_c_contract_holds_through_ld_preload() {
    if env::var_os("ALLOCATOR_EMULATED").is_some() {
        // The cross step builds the library for another architecture: the
        // host's C compiler and loader cannot preload it.
        println!("skipped: the library is built for an emulated target");
        return;
    }
    if env::var_os("ASAN_OPTIONS").is_some() || env::var_os("TSAN_OPTIONS").is_some() {
        // A library built with a sanitizer cannot be preloaded into a C
        // program built without it (the sanitizer's runtime must load
        // first); the programs step runs the contract unsanitised.
        println!("skipped: the library is built with a sanitizer");
        return;
    }
    let lib = library();
    assert!(lib.exists(), "{} not built", lib.display());
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/contract.c");
    let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("contract");
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&cc)
        .args(["-O1", "-Wall", "-Werror", "-pthread", "-o"])
        .arg(&exe)
        .arg(&source)
        .status()
        .expect("a C compiler (cc)");
    assert!(built.success(), "{cc} failed on {}", source.display());
    let out = Command::new(&exe).env("LD_PRELOAD", &lib).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stdout.contains("all passed"), "{}\n{stdout}\n{stderr}", out.status);
}
