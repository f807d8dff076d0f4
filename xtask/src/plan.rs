//! What CI runs: the step table. The jobs of each step come from its
//! builder in [`steps`](crate::steps), the crates they name from the
//! package table in [`packages`](crate::packages).

use crate::{cli::Options, job::Job, steps::*};

/// One CI step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// Its name on the command line and in the summary.
    pub(crate) name: &'static str,
    /// Part of `ci --quick`.
    pub(crate) quick: bool,
    /// Debian packages the step needs (the install step installs them).
    pub(crate) packages: &'static [&'static str],
    /// One line for `help`.
    pub(crate) about: &'static str,
    /// The jobs it runs.
    pub(crate) jobs: fn(&Options) -> Vec<Job>,
}

/// Every step, in the order `ci` runs them.
pub(crate) const STEPS: &[Step] = &[
    step(
        "install",
        true,
        &[],
        "the Debian packages the other steps need: one apt-get update and install (alone: all of ci's)",
        install::install,
    ),
    step("fmt", true, &[], "rustfmt --check on every crate, the fuzz targets and the firmware", lint::fmt),
    step("clippy", true, &[], "clippy -D warnings, all targets (stable; nightly with every feature)", lint::clippy),
    step("doc", true, &[], "rustdoc -D warnings (stable; nightly with every feature, as docs.rs)", lint::doc),
    step("test", true, &[], "the workspace's tests and doc tests (stable)", test::test),
    step("test-nightly", false, &[], "the tests with every feature (allocator_api) on nightly", test::test_nightly),
    step(
        "examples",
        true,
        &["valgrind"],
        "run every example and check what it prints; the workbench; wrapper overhead in instructions",
        examples::examples,
    ),
    step("features", false, &[], "the facade with no features, each feature alone, and all", test::features),
    step(
        "nostd",
        false,
        NOSTD_PACKAGES,
        "every library crate for bare-metal targets (no, default, all no_std features); static heaps cost no flash",
        nostd::nostd,
    ),
    step(
        "wasm",
        false,
        WASM_PACKAGES,
        "WasmPages on a real memory.grow: built for wasm32, run under Node.js",
        firmware::wasm,
    ),
    step(
        "firmware",
        false,
        FIRMWARE_PACKAGES,
        "a Cortex-M3 and a Cortex-M0 firmware and a 4-hart RISC-V kernel on the heaps, under qemu-system; flash and RAM per heap",
        firmware::firmware,
    ),
    step(
        "cross",
        false,
        CROSS_PACKAGES,
        "the test suites on i686 (32-bit), aarch64, powerpc (big-endian; qemu)",
        cross::cross,
    ),
    step("asan", false, &[], "the tests under AddressSanitizer (nightly)", sanitize::asan),
    step("tsan", false, &[], "the multi-threaded global-allocator tests under ThreadSanitizer", sanitize::tsan),
    step("valgrind", false, &["valgrind"], "the conformance suites under valgrind memcheck", sanitize::valgrind),
    step(
        "stress",
        false,
        &[],
        "Locked backends as global allocators: 2, 4, 8 threads x 1M operations (release)",
        test::stress,
    ),
    step(
        "programs",
        false,
        PROGRAM_PACKAGES,
        "the C ABI: its contract from C through LD_PRELOAD, and real programs on each heap against glibc",
        programs::programs,
    ),
    step("msrv", false, &[], "the workspace builds with the rust-version it declares", publish::msrv),
    step(
        "publish",
        false,
        &[],
        "every library crate packages and builds as crates.io would see it",
        publish::publish,
    ),
    step("fuzz", false, &[], "every fuzz target, briefly (cargo xtask fuzz --seconds N: N each)", fuzz::fuzz),
];

/// A row of [`STEPS`].
const fn step(
    name: &'static str,
    quick: bool,
    packages: &'static [&'static str],
    about: &'static str,
    jobs: fn(&Options) -> Vec<Job>,
) -> Step {
    Step { name, quick, packages, about, jobs }
}

/// Debian's second Rust, with the standard library's source (for
/// `-Zbuild-std`), and the Cortex-M size tool for the statics check.
const NOSTD_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "binutils-arm-none-eabi"];

/// Debian's second Rust and its linker (`rust-lld` needs `lld-22`), and
/// Node.js as the WebAssembly runtime.
const WASM_PACKAGES: &[&str] =
    &["rustc-web", "cargo-web", "rust-web-src", "rust-web-llvm", "lld-22", "nodejs"];

/// What the firmware step needs: Debian's Rust with its standard-library
/// source, its linker, and the libraries qemu-system loads (qemu-system
/// itself is unpacked by `firmware/qemu.sh`: see there).
const FIRMWARE_PACKAGES: &[&str] = &[
    "binutils-arm-none-eabi",
    "gcc-arm-none-eabi",
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "rust-web-llvm",
    "lld-22",
    "libfdt1",
    "libpmem1",
    "librdmacm1",
    "libibverbs1",
    "libslirp0",
    "libvdeplug2",
];

/// Cross toolchains for linking. (i686 links with the i686 cross gcc:
/// `gcc-multilib` cannot be installed beside the aarch64 cross gcc.)
const CROSS_PACKAGES: &[&str] = &[
    "rustc-web",
    "cargo-web",
    "rust-web-src",
    "gcc-i686-linux-gnu",
    "libc6-dev-i386-cross",
    "gcc-aarch64-linux-gnu",
    "libc6-dev-arm64-cross",
    "gcc-powerpc-linux-gnu",
    "libc6-dev-powerpc-cross",
    "qemu-user",
];

/// What the real programs step runs: sqlite3, python3, perl, gcc, git,
/// xz, zstd, and GNU time for their peak memory.
const PROGRAM_PACKAGES: &[&str] = &["sqlite3", "python3", "perl", "gcc", "git", "xz-utils", "zstd", "time"];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cli, packages};

    /// The steps and jobs of `ci`.
    fn ci() -> Vec<(Step, Vec<Job>)> {
        match cli::parse(&["ci".to_string()]) {
            Ok(cli::Command::Run(steps, options)) => {
                steps.into_iter().map(|s| (s, (s.jobs)(&options))).collect()
            }
            other => panic!("{other:?}"),
        }
    }

    /// Every job of `ci`, one block each: step, label, program, arguments,
    /// environment, expected lines, time limit and what is cleared first.
    /// Paths of this checkout are written `$ROOT`, this program `$XTASK`.
    fn snapshot() -> String {
        let root = env!("CARGO_MANIFEST_DIR").trim_end_matches("/xtask");
        let exe = std::env::current_exe().unwrap().display().to_string();
        let mut s = String::new();
        for (step, jobs) in ci() {
            for job in jobs {
                s.push_str(&format!(
                    "[{}] {}\n  program: {:?}\n  args: {:?}\n  env: {:?}\n  expect: {:?}\n  limit: {:?}\n  before: {:?}\n",
                    step.name, job.label, job.program, job.args, job.env, job.expect, job.limit, job.before
                ));
            }
        }
        s.replace(&exe, "$XTASK").replace(root, "$ROOT")
    }

    /// The plan `ci` runs is the one in `xtask/plan.golden`: a change to
    /// any job shows as a diff of that file. `XTASK_BLESS=1 cargo test -p
    /// xtask` rewrites it after a deliberate change.
    #[test]
    fn the_plan_is_the_golden_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/plan.golden");
        let now = snapshot();
        if std::env::var_os("XTASK_BLESS").is_some() {
            std::fs::write(path, &now).unwrap();
        }
        let golden = std::fs::read_to_string(path).unwrap_or_default();
        if now != golden {
            let first = now.lines().zip(golden.lines()).position(|(a, b)| a != b);
            panic!("the plan differs from {path} (first at line {first:?}); XTASK_BLESS=1 rewrites it");
        }
    }

    #[test]
    fn every_step_has_jobs_and_unique_name() {
        let usage = cli::usage();
        for (i, (s, jobs)) in ci().iter().enumerate() {
            assert!(!jobs.is_empty(), "{} has no jobs", s.name);
            assert!(STEPS[..i].iter().all(|t| t.name != s.name), "{} twice", s.name);
            assert!(usage.contains(s.name));
        }
    }

    #[test]
    fn every_crate_a_job_names_has_a_row() {
        for (step, jobs) in ci() {
            for job in jobs {
                for w in job.args.windows(2).filter(|w| w[0] == "-p" || w[0] == "--exclude") {
                    let name = &w[1];
                    assert!(packages::PACKAGES.iter().any(|p| p.name == *name), "[{}] {name}", step.name);
                }
            }
        }
    }
}
