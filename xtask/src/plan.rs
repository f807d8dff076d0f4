//! What CI runs: the step table, and the jobs each step expands to.

/// A command to run, with the label it gets in the summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Job {
    /// What the summary calls it (a target, a package, a feature set).
    pub(crate) label: String,
    /// `cargo` or another program.
    pub(crate) program: String,
    /// Its arguments.
    pub(crate) args: Vec<String>,
    /// Extra environment variables.
    pub(crate) env: Vec<(String, String)>,
    /// Lines the job's standard output must contain (checked when set).
    pub(crate) expect: Vec<&'static str>,
    /// Seconds after which the job is stopped and fails (a hang must not
    /// eat the CI budget).
    pub(crate) limit: Option<u64>,
    /// What to clear before it runs.
    pub(crate) before: Option<Before>,
}

/// Something cleared before a job runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Before {
    /// The unpacked sources of local (not crates.io) registries under
    /// `$CARGO_HOME/registry/src`: `cargo publish --dry-run` unpacks each
    /// package into one and reuses what an earlier run left there (the
    /// directory is named after the checkout's path), so a second dry run
    /// from the same path would build the old sources.
    LocalRegistrySources,
}

impl Job {
    fn cargo(label: &str, args: &[&str]) -> Self {
        Self {
            label: label.to_string(),
            program: "cargo".to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            expect: Vec::new(),
            limit: None,
            before: None,
        }
    }

    fn limit(mut self, seconds: u64) -> Self {
        self.limit = Some(seconds);
        self
    }

    fn expect(mut self, lines: &[&'static str]) -> Self {
        self.expect.extend_from_slice(lines);
        self
    }

    fn before(mut self, what: Before) -> Self {
        self.before = Some(what);
        self
    }

    /// The `--target-dir` it names (argument or `CARGO_TARGET_DIR`), if any.
    pub(crate) fn target_dir(&self) -> Option<&str> {
        let arg = self.args.windows(2).find(|w| w[0] == "--target-dir").map(|w| w[1].as_str());
        arg.or_else(|| self.env.iter().find(|(k, _)| k == "CARGO_TARGET_DIR").map(|(_, v)| v.as_str()))
    }

    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }
}

/// One CI step.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// Its name on the command line and in the summary.
    pub(crate) name: &'static str,
    /// Part of `ci --quick`.
    pub(crate) quick: bool,
    /// Debian packages the step needs (installed with apt-get when missing).
    pub(crate) packages: &'static [&'static str],
    /// One line for `help`.
    pub(crate) about: &'static str,
    /// The jobs it runs.
    pub(crate) jobs: fn() -> Vec<Job>,
}

/// Every step, in the order `ci` runs them.
pub(crate) const STEPS: &[Step] = &[
    step("fmt", true, &[], "rustfmt --check on every crate", fmt),
    step("clippy", true, &[], "clippy -D warnings, all targets (stable; nightly with every feature)", clippy),
    step("doc", true, &[], "rustdoc -D warnings (stable; nightly with every feature, as docs.rs)", doc),
    step("test", true, &[], "the workspace's tests and doc tests (stable)", test),
    step("test-nightly", false, &[], "the tests with every feature (allocator_api) on nightly", test_nightly),
    step(
        "examples",
        true,
        &["valgrind"],
        "run every example and check what it prints; the workbench; wrapper overhead in instructions",
        examples,
    ),
    step("features", false, &[], "the facade with no features, each feature alone, and all", features),
    step(
        "nostd",
        false,
        NOSTD_PACKAGES,
        "every library crate for bare-metal targets (no, default, all no_std features); static heaps cost no flash",
        nostd,
    ),
    step("wasm", false, WASM_PACKAGES, "WasmPages on a real memory.grow: built for wasm32, run under Node.js", wasm),
    step(
        "firmware",
        false,
        FIRMWARE_PACKAGES,
        "a Cortex-M3 and a Cortex-M0 firmware and a 4-hart RISC-V kernel on the heaps, under qemu-system",
        firmware,
    ),
    step(
        "cross",
        false,
        CROSS_PACKAGES,
        "the test suites on i686 (32-bit), aarch64, powerpc (big-endian; qemu)",
        cross,
    ),
    step("asan", false, &[], "the tests under AddressSanitizer (nightly)", asan),
    step("tsan", false, &[], "the multi-threaded global-allocator tests under ThreadSanitizer", tsan),
    step("valgrind", false, &["valgrind"], "the conformance suites under valgrind memcheck", valgrind),
    step(
        "stress",
        false,
        &[],
        "Locked backends as global allocators: 2, 4, 8 threads x 1M operations (release)",
        stress,
    ),
    step(
        "programs",
        false,
        PROGRAM_PACKAGES,
        "the C ABI: its contract from C through LD_PRELOAD, and real programs on each heap against glibc",
        programs,
    ),
    step("msrv", false, &[], "the workspace builds with the rust-version it declares", msrv),
    step("publish", false, &[], "every library crate packages and builds as crates.io would see it", publish),
    step("fuzz", false, &[], "every fuzz target, briefly (cargo xtask fuzz --seconds N: N each)", fuzz),
];

/// Seconds each fuzz target runs (`--seconds N`; 10 in a CI smoke run).
pub(crate) static FUZZ_SECONDS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

/// The fuzz targets: the `[[bin]]` names of the fuzz crate.
pub(crate) fn fuzz_targets(manifest: &str) -> Vec<&str> {
    manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| {
            section.lines().find_map(|l| l.trim().strip_prefix("name = ")?.split('"').nth(1))
        })
        .collect()
}

fn fuzz() -> Vec<Job> {
    let seconds = FUZZ_SECONDS.get().copied().unwrap_or(10);
    let limit = format!("-max_total_time={seconds}");
    let mut jobs = vec![Job::cargo(
        "install cargo-fuzz (when missing)",
        &["install", "--locked", "--quiet", "cargo-fuzz"],
    )];
    for target in fuzz_targets(include_str!("../../fuzz/Cargo.toml")) {
        jobs.push(
            Job::cargo(target, &["+nightly", "fuzz", "run", target, "--", &limit, "-rss_limit_mb=4096"])
                .limit(seconds + 600),
        );
    }
    jobs
}

const fn step(
    name: &'static str,
    quick: bool,
    packages: &'static [&'static str],
    about: &'static str,
    jobs: fn() -> Vec<Job>,
) -> Step {
    Step { name, quick, packages, about, jobs }
}

/// Debian's second Rust, with the standard library's source (for
/// `-Zbuild-std`), and the Cortex-M size tool for the statics check.
const NOSTD_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "binutils-arm-none-eabi"];

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

/// Bare-metal targets (and WebAssembly), and whether they lack
/// compare-and-swap.
pub(crate) const NOSTD_TARGETS: &[(&str, bool)] = &[
    ("thumbv6m-none-eabi", true),
    ("thumbv7em-none-eabihf", false),
    ("riscv32imac-unknown-none-elf", false),
    ("riscv64gc-unknown-none-elf", false),
    ("aarch64-unknown-none", false),
    ("x86_64-unknown-none", false),
    ("loongarch64-unknown-none", false),
    // WebAssembly: `WasmPages` (memory.grow) and every library beside it.
    ("wasm32-unknown-unknown", false),
];

/// The library crates (every one is `no_std`).
pub(crate) const LIBRARIES: &[&str] = &[
    "allocator-core",
    "allocator-sync",
    "allocator-tlsf",
    "allocator-buddy",
    "allocator-slab",
    "allocator-bitmap",
    "allocator-compose",
    "allocator-os",
    "allocator-kit",
];

/// Feature sets for the no_std builds: (label, default features on, extra
/// features). The sets with extra features build the facade alone, whose
/// features switch on every crate's: cargo ignores `crate/feature` for
/// several selected packages at once.
pub(crate) const NOSTD_FEATURE_SETS: &[(&str, bool, &[&str])] = &[
    ("no features", false, &[]),
    ("default features", true, &[]),
    ("all no_std features", true, &["full", "log", "allocator_api", "critical-section", "page-alloc-1t"]),
];

/// Linux targets the test suites run on: (target, runner, linker).
pub(crate) const CROSS_TARGETS: &[(&str, Option<&str>, Option<&str>)] = &[
    (
        "i686-unknown-linux-gnu",
        // Runs natively, through the cross libc's own loader.
        Some("/usr/i686-linux-gnu/lib/ld-linux.so.2 --library-path /usr/i686-linux-gnu/lib"),
        Some("i686-linux-gnu-gcc"),
    ),
    (
        "aarch64-unknown-linux-gnu",
        Some("qemu-aarch64 -L /usr/aarch64-linux-gnu"),
        Some("aarch64-linux-gnu-gcc"),
    ),
    ("powerpc-unknown-linux-gnu", Some("qemu-ppc -L /usr/powerpc-linux-gnu"), Some("powerpc-linux-gnu-gcc")),
];

/// The environment variable cargo reads for `target`'s `key` (`linker`,
/// `runner`).
pub(crate) fn target_env(target: &str, key: &str) -> String {
    format!("CARGO_TARGET_{}_{}", target.to_uppercase().replace(['-', '.'], "_"), key.to_uppercase())
}

/// A job run with Debian's Rust, which can build `core`/`std` from source.
fn debian(label: &str, args: &[&str]) -> Job {
    let mut job = Job::cargo(label, args).env("RUSTC", "/usr/bin/rustc").env("RUSTC_BOOTSTRAP", "1");
    job.program = "/usr/bin/cargo".to_string();
    job
}

/// Debian's second Rust and its linker (`rust-lld` needs `lld-22`), and
/// Node.js as the WebAssembly runtime.
const WASM_PACKAGES: &[&str] =
    &["rustc-web", "cargo-web", "rust-web-src", "rust-web-llvm", "lld-22", "nodejs"];

/// `WasmPages` in a WebAssembly runtime: the check module
/// (`crates/allocator-os/wasm-check`, a workspace of its own) grows, reuses
/// and refuses pages of its memory under Node.js.
fn wasm() -> Vec<Job> {
    let mut job =
        Job::cargo("wasm32-unknown-unknown under Node.js", &["crates/allocator-os/wasm-check/run.sh"])
            .env("CARGO_TARGET_DIR", "target/wasm-check")
            .expect(&["every check passed"])
            .limit(600);
    job.program = "sh".to_string();
    vec![job]
}

/// What the firmware step needs: Debian's Rust with its standard-library
/// source, its linker, and the libraries qemu-system loads (qemu-system
/// itself is unpacked by `firmware/qemu.sh`: see there).
const FIRMWARE_PACKAGES: &[&str] = &[
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

/// The firmware and the kernel (`firmware/`, workspaces of their own),
/// each built for its target and run under qemu-system by
/// `firmware/run.sh`; every check prints a line, and the last one only
/// when all passed.
fn firmware() -> Vec<Job> {
    let board = |name: &str, expect: &[&'static str]| {
        let mut job = Job::cargo(&format!("{name} under qemu-system"), &["firmware/run.sh", name])
            .env("CARGO_TARGET_DIR", "target/firmware")
            .expect(expect)
            .limit(900);
        job.program = "bash".to_string();
        job
    };
    vec![
        board(
            "cortex-m3",
            &[
                "tlsf: 48 KiB heap;",
                "size classes over tlsf: 48 KiB heap;",
                "small blocks (64 B pool, then tlsf): 48 KiB heap;",
                "slab: a 4096 B block is refused: out of memory (as documented)",
                "out of memory: reported (NoMemory), nothing lost",
                "interrupts: the handler allocated 100 times",
                "after dropping: 0 bytes in use",
                "all checks passed",
            ],
        ),
        board(
            "cortex-m0",
            &[
                "tlsf: 8 KiB heap;",
                "slab: refuses a 8 KiB heap:",
                "interrupts: the handler allocated 100 times",
                "after dropping: 0 bytes in use",
                "all checks passed",
            ],
        ),
        board(
            "riscv64",
            &[
                "harts: 4 allocating at once",
                "hart 3: 50000 operations, pattern ok",
                "heap: 0 bytes in use after flushing",
                "out of memory: reported, nothing lost",
                "kernel: all checks passed",
            ],
        ),
    ]
}

/// The library crates that build with `core` alone (no `alloc`) with
/// their default features off. `allocator-slab` is not one: the crate it
/// wraps needs `alloc`.
const CORE_ONLY: &[&str] = &[
    "allocator-core",
    "allocator-sync",
    "allocator-tlsf",
    "allocator-buddy",
    "allocator-bitmap",
    "allocator-compose",
    "allocator-os",
    "allocator-kit",
];

/// Each crate of [`CORE_ONLY`] on its own, for a Cortex-M with the
/// standard library built as `core` only: a hidden use of `alloc` fails
/// here (building them together could lend one crate another's `alloc`).
fn core_only() -> Vec<Job> {
    CORE_ONLY
        .iter()
        .map(|lib| {
            debian(
                &format!("{STATICS_TARGET}, {lib}, core alone"),
                &[
                    "build",
                    "--quiet",
                    "--locked",
                    "-Zbuild-std=core",
                    "--target",
                    STATICS_TARGET,
                    "--target-dir",
                    "target/core-only",
                    "-p",
                    lib,
                    "--no-default-features",
                ],
            )
        })
        .collect()
}

fn nostd() -> Vec<Job> {
    let mut jobs = Vec::new();
    for &(target, no_cas) in NOSTD_TARGETS {
        for &(set, default, extra) in NOSTD_FEATURE_SETS {
            let mut args = vec!["build", "--quiet", "--locked", "-Zbuild-std=core,alloc", "--target", target];
            args.extend(["--target-dir", "target/cross"]);
            let packages: &[&str] = if extra.is_empty() { LIBRARIES } else { &["allocator-kit"] };
            for lib in packages {
                args.extend(["-p", lib]);
            }
            if !default {
                args.push("--no-default-features");
            }
            let mut features: Vec<&str> = extra.to_vec();
            if no_cas {
                features.push(if extra.is_empty() {
                    "allocator-sync/portable-atomic"
                } else {
                    "portable-atomic"
                });
            }
            let joined = features.join(",");
            if !features.is_empty() {
                args.extend(["--features", &joined]);
            }
            let mut job = debian(&format!("{target}, {set}"), &args);
            if no_cas {
                // Spin locks from portable-atomic, on a single core.
                job = job.env("RUSTFLAGS", "--cfg portable_atomic_unsafe_assume_single_core");
            }
            jobs.push(job);
        }
    }
    jobs.extend(statics_cost_no_flash());
    jobs.extend(core_only());
    jobs
}

/// The bare-metal target of the statics check.
const STATICS_TARGET: &str = "thumbv7em-none-eabihf";

/// Every `static` heap, lock and combinator (`examples/statics`), built for
/// a Cortex-M, is in `.bss`: the size tool shows no `.data` in the crate's
/// own object (which a firmware would copy from flash at boot), and `nm`
/// places each in `B`.
fn statics_cost_no_flash() -> [Job; 2] {
    let build = debian(
        &format!("{STATICS_TARGET}: the statics"),
        &[
            "build",
            "--quiet",
            "--locked",
            "--release",
            "-Zbuild-std=core,alloc",
            "--target",
            STATICS_TARGET,
            "--target-dir",
            "target/cross",
            "-p",
            "allocator-statics",
        ],
    );
    let script = format!(
        "a=target/cross/{STATICS_TARGET}/release/liballocator_statics.a; \
         arm-none-eabi-size -t \"$a\" | awk '$6 ~ /^allocator_statics-/ {{ data += $2; bss += $3 }} \
           END {{ print \"allocator_statics: .data \" data \" bytes, .bss \" bss \" bytes\"; if (data != 0 || bss == 0) exit 1 }}' && \
         arm-none-eabi-nm -P \"$a\" | awk '/^STATIC_/ {{ n++; if ($2 != \"B\" && $2 != \"b\") {{ bad++; print \"not in .bss: \" $1 \" (\" $2 \")\" }} }} \
           END {{ if (bad || !n) exit 1; print n \" statics, all in .bss\" }}'"
    );
    let mut check =
        Job::cargo(&format!("{STATICS_TARGET}: statics in .bss (arm-none-eabi-size)"), &["-c", &script])
            .expect(&["allocator_statics: .data 0 bytes", "statics, all in .bss"]);
    check.program = "sh".to_string();
    [build, check]
}

/// The test suites of the libraries and the testkit (not the tools, the
/// examples or the workbench, which are host programs).
const LIBRARY_TESTS: &[&str] = &[
    "--no-fail-fast",
    "--workspace",
    "--exclude",
    "xtask",
    "--exclude",
    "allocator-examples",
    "--exclude",
    "allocator-bench",
    "--lib",
    "--tests",
];

fn cross() -> Vec<Job> {
    CROSS_TARGETS
        .iter()
        .map(|&(target, runner, linker)| {
            let mut args =
                vec!["test", "--locked", "-Zbuild-std", "--target", target, "--target-dir", "target/cross"];
            // Doc tests do not run under -Zbuild-std; the host steps run them.
            args.extend(LIBRARY_TESTS);
            let mut job = debian(target, &args)
                .env("PROPTEST_CASES", "16")
                .env("ALLOCATOR_STRESS_OPS", CHECK_STORM_OPS)
                .limit(900);
            if let Some(r) = runner {
                job = job.env(&target_env(target, "runner"), r);
            }
            // Tests that watch a child process run on the host only.
            job = job.env("ALLOCATOR_EMULATED", "1");
            // So do the tests of `OsPages` in a window: the emulator's
            // address space is not the kernel's (allocator-os's tests).
            job.args.extend(["--", "--skip", "in_a_window::"].map(String::from));
            if let Some(l) = linker {
                job = job.env(&target_env(target, "linker"), l);
            }
            job
        })
        .collect()
}

/// `cargo +nightly test` for the host target named explicitly (so that
/// `RUSTFLAGS` instrument the tests, not the build scripts), in `dir`.
fn sanitizer_test(dir: &'static str) -> Vec<&'static str> {
    vec!["+nightly", "test", "--locked", "--target", "x86_64-unknown-linux-gnu", "--target-dir", dir]
}

/// Operations per storm thread where the storms check a target or a
/// sanitizer rather than make volume (the `stress` step makes volume).
const CHECK_STORM_OPS: &str = "20000";

fn asan() -> Vec<Job> {
    let mut args = sanitizer_test("target/asan");
    args.extend(LIBRARY_TESTS);
    // The preload library defines `malloc` itself, as ASan's runtime does:
    // the two cannot share a process (the programs step tests it).
    args.extend(["--exclude", "allocator-malloc-preload"]);
    vec![Job::cargo("x86_64, address", &args)
        .env("RUSTFLAGS", "-Zsanitizer=address")
        .env("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1")
        .env("PROPTEST_CASES", "32")
        .env("ALLOCATOR_STRESS_OPS", CHECK_STORM_OPS)
        .limit(900)]
}

/// The backends with a `global_alloc` test binary (one heap as the
/// program's allocator, real work, then a thread storm). allocator-core's
/// binary runs the test-only reference heap, O(n) per operation: it runs
/// in the `test` step only.
const GLOBAL_ALLOC_TESTS: &[&str] = &[
    "-p",
    "allocator-tlsf",
    "-p",
    "allocator-buddy",
    "-p",
    "allocator-slab",
    "-p",
    "allocator-compose",
    "--test",
    "global_alloc",
];

/// The magazine fronts and the policies built on them, under threads:
/// blocks freed on other threads and CPUs, thread exit with blocks in
/// magazines, the hosted policy as a global allocator.
const MAGAZINE_TESTS: &[&str] = &[
    "-p",
    "allocator-sync",
    "--test",
    "magazines",
    "--test",
    "yield_lock",
    "-p",
    "allocator-kit",
    "--test",
    "hosted_global",
    "--test",
    "policies",
];

fn tsan() -> Vec<Job> {
    let supp = format!(
        "suppressions={}/tsan.supp halt_on_error=1",
        env!("CARGO_MANIFEST_DIR").trim_end_matches("/xtask")
    );
    let job = |name: &str, tests: &[&'static str], skip: &[&'static str]| {
        let mut args = sanitizer_test("target/tsan");
        args.extend(tests);
        if !skip.is_empty() {
            args.push("--");
            args.extend(skip);
        }
        Job::cargo(name, &args)
            // The standard library is not rebuilt (no rust-src): see tsan.supp.
            .env("RUSTFLAGS", "-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer")
            .env("TSAN_OPTIONS", &supp)
            .env("ALLOCATOR_STRESS_OPS", CHECK_STORM_OPS)
            .limit(900)
    };
    vec![
        job("x86_64, thread: global heaps", GLOBAL_ALLOC_TESTS, &[]),
        // The single-thread conformance runs of the fronts add nothing here.
        job(
            "x86_64, thread: magazines and policies",
            MAGAZINE_TESTS,
            &["--skip", "per_cpu::", "--skip", "per_thread::"],
        ),
    ]
}

fn valgrind() -> Vec<Job> {
    let mut args =
        vec!["test", "--locked", "--target", "x86_64-unknown-linux-gnu", "--target-dir", "target/valgrind"];
    for p in ["allocator-tlsf", "allocator-buddy", "allocator-slab", "allocator-compose"] {
        args.extend(["-p", p]);
    }
    args.extend(["--test", "conformance"]);
    vec![Job::cargo("memcheck, conformance suites", &args)
        .env(
            &target_env("x86_64-unknown-linux-gnu", "runner"),
            "valgrind -q --error-exitcode=99 --leak-check=no",
        )
        .env("PROPTEST_CASES", "4")
        .limit(1200)]
}

fn stress() -> Vec<Job> {
    let mut args = vec!["test", "--locked", "--no-fail-fast", "--release", "--target-dir", "target/stress"];
    args.extend(GLOBAL_ALLOC_TESTS);
    let mut magazines =
        vec!["test", "--locked", "--no-fail-fast", "--release", "--target-dir", "target/stress"];
    magazines.extend(MAGAZINE_TESTS);
    vec![
        Job::cargo("2, 4, 8 threads x 1M operations", &args)
            .env("ALLOCATOR_STRESS_OPS", "1000000")
            .limit(600),
        Job::cargo("magazine fronts and policies, 1M operations", &magazines)
            .env("ALLOCATOR_STRESS_OPS", "1000000")
            .limit(600),
    ]
}

/// What the real programs step runs: sqlite3, python3, perl, gcc, git,
/// xz, zstd, and GNU time for their peak memory.
const PROGRAM_PACKAGES: &[&str] = &["sqlite3", "python3", "perl", "gcc", "git", "xz-utils", "zstd", "time"];

/// The preload library's heaps (its Cargo features).
const PRELOAD_HEAPS: &[&str] = &["tlsf", "hosted", "hosted-os", "buddy"];

/// The C contract from C for each heap, then the real programs (release
/// builds in one target directory, so the script reuses the libraries the
/// contract tests built).
fn programs() -> Vec<Job> {
    let contract = PRELOAD_HEAPS.iter().map(|heap| {
        Job::cargo(
            &format!("C contract through LD_PRELOAD ({heap})"),
            &[
                "test",
                "--locked",
                "--release",
                "-p",
                "allocator-malloc-preload",
                "--no-default-features",
                "--features",
                heap,
                "--target-dir",
                "target/preload",
            ],
        )
        .limit(600)
    });
    let mut real =
        Job::cargo("real programs on each heap vs glibc", &["crates/allocator-malloc/preload/programs.sh"])
            .env("CARGO_TARGET_DIR", "target/preload")
            .expect(&["every program gave glibc's output"])
            .limit(900);
    real.program = "bash".to_string();
    real.args.extend(PRELOAD_HEAPS.iter().map(|h| h.to_string()));
    let core = Job::cargo(
        "allocator-malloc",
        &["test", "--locked", "-p", "allocator-malloc", "--target-dir", "target/preload"],
    );
    std::iter::once(core).chain(contract).chain([real]).collect()
}

/// The `rust-version` the workspace declares.
pub(crate) fn declared_msrv(manifest: &str) -> Option<&str> {
    manifest.lines().find_map(|l| l.trim().strip_prefix("rust-version")?.split('"').nth(1))
}

fn msrv() -> Vec<Job> {
    let version = declared_msrv(include_str!("../../Cargo.toml")).unwrap_or("unknown");
    // rustup names toolchains by full version: "1.95" is "1.95.0".
    let toolchain =
        if version.matches('.').count() == 1 { format!("+{version}.0") } else { format!("+{version}") };
    vec![Job::cargo(
        &format!("rust {version}"),
        &[&toolchain, "check", "--locked", "--workspace", "--all-targets", "--target-dir", "target/msrv"],
    )]
}

fn publish() -> Vec<Job> {
    // Each package is built from its own `.crate`, its workspace siblings
    // from a local overlay: what a user downloading them would get.
    vec![Job::cargo(
        "cargo publish --workspace --dry-run",
        &["publish", "--workspace", "--dry-run", "--locked", "--target-dir", "target/publish"],
    )
    .limit(1200)
    .before(Before::LocalRegistrySources)]
}

fn fmt() -> Vec<Job> {
    vec![
        Job::cargo("workspace", &["fmt", "--all", "--", "--check"]),
        Job::cargo("fuzz targets", &["fmt", "--all", "--manifest-path", "fuzz/Cargo.toml", "--", "--check"]),
        Job::cargo(
            "cortex-m firmware",
            &["fmt", "--all", "--manifest-path", "firmware/cortex-m/Cargo.toml", "--", "--check"],
        ),
        Job::cargo(
            "riscv kernel",
            &["fmt", "--all", "--manifest-path", "firmware/riscv/Cargo.toml", "--", "--check"],
        ),
    ]
}

/// The crates that hand out memory through pointers: none may turn an
/// integer into a pointer (or a pointer into an integer) with `as`.
const STRICT_PROVENANCE: &[&str] = &[
    "allocator-core",
    "allocator-sync",
    "allocator-tlsf",
    "allocator-buddy",
    "allocator-slab",
    "allocator-compose",
    "allocator-os",
];

fn clippy() -> Vec<Job> {
    let mut provenance =
        vec!["+nightly", "check", "--quiet", "--locked", "--lib", "--target-dir", "target/provenance"];
    for p in STRICT_PROVENANCE {
        provenance.extend(["-p", p]);
    }
    vec![
        Job::cargo("nightly, strict provenance (byte crates)", &provenance).env(
            "RUSTFLAGS",
            "-Zcrate-attr=feature(strict_provenance_lints) -Dfuzzy_provenance_casts -Dlossy_provenance_casts",
        ),
        Job::cargo("stable", &["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]),
        Job::cargo(
            "nightly, all features",
            &[
                "+nightly",
                "clippy",
                "--workspace",
                "--all-targets",
                "--all-features",
                "--locked",
                "--target-dir",
                "target/nightly",
                "--",
                "-D",
                "warnings",
            ],
        ),
    ]
}

fn doc() -> Vec<Job> {
    vec![
        Job::cargo("stable", &["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"),
        Job::cargo(
            "nightly, all features (as docs.rs)",
            &[
                "+nightly",
                "doc",
                "--workspace",
                "--no-deps",
                "--all-features",
                "--locked",
                "--target-dir",
                "target/nightly",
            ],
        )
        .env("RUSTDOCFLAGS", "-D warnings --cfg docsrs"),
    ]
}

fn test() -> Vec<Job> {
    vec![Job::cargo("stable", &["test", "--workspace", "--locked"])]
}

fn test_nightly() -> Vec<Job> {
    vec![Job::cargo(
        "nightly, all features",
        &["+nightly", "test", "--workspace", "--all-features", "--locked", "--target-dir", "target/nightly"],
    )]
}

/// Every example: its name, whether it needs nightly, and what it must
/// print.
const EXAMPLES: &[(&str, bool, &[&str])] = &[
    ("global_allocator", false, &["distinct words: 997", "sum of squares below 1e6: 333332833333500000"]),
    (
        "kernel_heap",
        false,
        &["100 tasks: pids 2..=101", "the next task gets pid 2", "heap in use at the end: 0 bytes"],
    ),
    ("policy", false, &["allocations: 2000, frees: 2000, failures: 0", "size histogram:"]),
    (
        "collections",
        false,
        &["stable: 1229 primes below 10000, prime #1000 is 7919", "after dropping: 0 bytes in use"],
    ),
    (
        "collections",
        true,
        &["nightly: std Vec and Box in our heap: 22 bytes", "after dropping: 0 bytes in use"],
    ),
    ("statics", false, &["static heaps", "all empty"]),
    ("arena", false, &["100 requests served", "0 in use between requests"]),
];

/// How many percent more instructions per alloc+free pair a byte wrapper
/// may cost than the crate it wraps.
const WRAPPER_OVERHEAD_PERCENT: &str = "3";

fn examples() -> Vec<Job> {
    let bench = Job::cargo(
        "workbench smoke",
        &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            "allocator-bench",
            "--",
            "--only",
            "tlsf,rlsf,system",
            "--workload",
            "random-200,latency,pages",
            "--out",
            "target/bench-smoke",
        ],
    )
    .expect(&["tlsf *", "Pages and ids", "Wrapper overhead", "tlsf           vs rlsf"]);
    // Each byte wrapper against the crate it wraps, in instructions per
    // alloc+free pair: exact, so a CI check and not a timed test.
    let instructions = Job::cargo(
        "wrapper overhead in instructions (callgrind)",
        &[
            "run",
            "--quiet",
            "--locked",
            "--release",
            "-p",
            "allocator-bench",
            "--",
            "--check-overhead",
            WRAPPER_OVERHEAD_PERCENT,
            "--out",
            "target/bench-instructions",
        ],
    )
    .expect(&["every wrapper within"]);
    EXAMPLES
        .iter()
        .map(|&(name, nightly, expect)| {
            let mut args = vec!["run", "--quiet", "--locked", "-p", "allocator-examples", "--example", name];
            if nightly {
                args.splice(0..0, ["+nightly"]);
                args.extend(["--features", "allocator_api", "--target-dir", "target/nightly"]);
            }
            let label = if nightly { format!("{name} (nightly)") } else { name.to_string() };
            Job::cargo(&label, &args).expect(expect)
        })
        .chain([bench, instructions, statics_in_bss()])
        .collect()
}

/// Every `static` heap of the `statics` example (run just before, into
/// `target/debug`) is all zeros: `nm` places it in `.bss` (`B`), not
/// `.data` (`D`), which a firmware would copy from flash at boot.
fn statics_in_bss() -> Job {
    let script = "nm -P target/debug/examples/statics | awk '/^STATIC_/ { n++; if ($2 != \"B\" && $2 != \"b\") { bad++; print \"not in .bss: \" $1 \" (\" $2 \")\" } } \
                  END { if (bad || !n) exit 1; print n \" statics, all in .bss\" }'";
    let mut job = Job::cargo("statics in .bss (nm)", &["-c", script]).expect(&["statics, all in .bss"]);
    job.program = "sh".to_string();
    job
}

/// The facade's manifest, for its feature list.
const FACADE_MANIFEST: &str = include_str!("../../crates/allocator-kit/Cargo.toml");

/// The names in the `[features]` table of a manifest.
pub(crate) fn feature_names(manifest: &str) -> Vec<String> {
    let mut in_features = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_features = line == "[features]";
        } else if in_features && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}

fn features() -> Vec<Job> {
    let check = |label: &str, extra: &[&str]| {
        let mut args =
            vec!["check", "--quiet", "--locked", "-p", "allocator-kit", "--target-dir", "target/features"];
        args.extend_from_slice(extra);
        Job::cargo(label, &args)
    };
    let mut jobs = vec![check("no features", &["--no-default-features"])];
    for name in feature_names(FACADE_MANIFEST).into_iter().filter(|n| n != "default" && n != "allocator_api")
    {
        jobs.push(check(&name, &["--no-default-features", "--features", &name]));
    }
    jobs.push(Job::cargo(
        "all features (nightly)",
        &[
            "+nightly",
            "check",
            "--quiet",
            "--locked",
            "-p",
            "allocator-kit",
            "--all-features",
            "--target-dir",
            "target/nightly",
        ],
    ));
    jobs
}

/// The steps `args` ask for: `ci` (all), `ci --quick`, or step names
/// (with `--seconds N` for the fuzz step).
pub(crate) fn select(args: &[String]) -> Result<Vec<Step>, String> {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    if let Some(i) = args.iter().position(|a| *a == "--seconds") {
        let n = args.get(i + 1).and_then(|n| n.parse().ok()).ok_or("--seconds needs a whole number")?;
        let _ = FUZZ_SECONDS.set(n);
        args.drain(i..i + 2);
    }
    let mut args = args.into_iter();
    match args.next() {
        None | Some("help" | "--help" | "-h") => Ok(Vec::new()),
        Some("ci") => match args.next() {
            None => Ok(STEPS.to_vec()),
            Some("--quick") => Ok(STEPS.iter().copied().filter(|s| s.quick).collect()),
            Some(other) => Err(format!("unknown option to ci: {other}")),
        },
        Some(first) => std::iter::once(first)
            .chain(args)
            .map(|name| {
                STEPS.iter().copied().find(|s| s.name == name).ok_or_else(|| format!("unknown step: {name}"))
            })
            .collect(),
    }
}

/// The help text, from the table.
pub(crate) fn usage() -> String {
    let mut s = String::from(
        "usage: cargo xtask ci [--quick] | cargo xtask <step>...\n\nsteps (ci runs them all, in order):\n",
    );
    for step in STEPS {
        let quick = if step.quick { " [quick]" } else { "" };
        s.push_str(&format!("  {:<14}{}{quick}\n", step.name, step.about));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(steps: &[Step]) -> Vec<&'static str> {
        steps.iter().map(|s| s.name).collect()
    }

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    /// Every job of `ci`, one block each: step, label, program, arguments,
    /// environment, expected lines, time limit and what is cleared first.
    /// Paths of this checkout are written `$ROOT`.
    fn snapshot() -> String {
        let root = env!("CARGO_MANIFEST_DIR").trim_end_matches("/xtask");
        let mut s = String::new();
        for step in select(&args(&["ci"])).unwrap() {
            for job in (step.jobs)() {
                s.push_str(&format!(
                    "[{}] {}\n  program: {:?}\n  args: {:?}\n  env: {:?}\n  expect: {:?}\n  limit: {:?}\n  before: {:?}\n",
                    step.name, job.label, job.program, job.args, job.env, job.expect, job.limit, job.before
                ));
            }
        }
        s.replace(root, "$ROOT")
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
    fn ci_runs_every_step_in_table_order() {
        assert_eq!(names(&select(&args(&["ci"])).unwrap()), names(STEPS));
    }

    #[test]
    fn quick_is_the_quick_prefix() {
        let quick = names(&select(&args(&["ci", "--quick"])).unwrap());
        assert_eq!(quick, ["fmt", "clippy", "doc", "test", "examples"]);
    }

    #[test]
    fn steps_run_alone_and_unknown_ones_are_refused() {
        assert_eq!(names(&select(&args(&["doc", "fmt"])).unwrap()), ["doc", "fmt"]);
        assert!(select(&args(&["nope"])).unwrap_err().contains("nope"));
        assert!(select(&args(&["ci", "--slow"])).is_err());
        assert!(select(&args(&[])).unwrap().is_empty());
    }

    #[test]
    fn every_step_has_jobs_and_unique_name() {
        for (i, s) in STEPS.iter().enumerate() {
            assert!(!(s.jobs)().is_empty(), "{} has no jobs", s.name);
            assert!(STEPS[..i].iter().all(|t| t.name != s.name), "{} twice", s.name);
            assert!(usage().contains(s.name));
        }
    }

    #[test]
    fn the_feature_table_is_read_from_the_manifest() {
        let manifest = "[package]\nname = \"x\"\n[features]\ndefault = [\"a\"]\n## doc\na = []\nb-c = [\"a\"]\n\n[dependencies]\nd = \"1\"\n";
        assert_eq!(feature_names(manifest), ["default", "a", "b-c"]);
        let facade = feature_names(FACADE_MANIFEST);
        for f in ["buddy", "slab", "tlsf", "bitmap", "compose", "full", "page-alloc-1t", "allocator-api2"] {
            assert!(facade.iter().any(|n| n == f), "{f}");
        }
        let jobs = features();
        assert_eq!(jobs.len(), facade.len() - 2 + 2, "none, each but default and nightly's, all");
    }

    #[test]
    fn every_firmware_runs_through_the_script_with_its_output_checked() {
        let jobs = firmware();
        let names: Vec<&str> = jobs.iter().map(|j| j.args[1].as_str()).collect();
        assert_eq!(names, ["cortex-m3", "cortex-m0", "riscv64"]);
        let script = include_str!("../../firmware/run.sh");
        for job in &jobs {
            assert_eq!((job.program.as_str(), job.args[0].as_str()), ("bash", "firmware/run.sh"));
            assert!(script.contains(&format!("{})", job.args[1])), "{} not in run.sh", job.args[1]);
            assert!(job.expect.iter().any(|e| e.contains("all checks passed")), "{:?}", job.expect);
            assert!(job.limit.is_some());
        }
    }

    #[test]
    fn the_no_std_matrix_covers_every_target_and_feature_set() {
        let mut jobs = nostd();
        assert_eq!(jobs.len(), NOSTD_TARGETS.len() * NOSTD_FEATURE_SETS.len() + 2 + CORE_ONLY.len());
        let core_only = jobs.split_off(jobs.len() - CORE_ONLY.len());
        for (job, lib) in core_only.iter().zip(CORE_ONLY) {
            assert!(LIBRARIES.contains(lib), "{lib}");
            assert!(job.args.windows(2).any(|w| w == ["-p", *lib]), "{:?}", job.args);
            assert!(job.args.iter().any(|a| a == "-Zbuild-std=core"), "{:?}", job.args);
        }
        let statics = jobs.split_off(jobs.len() - 2);
        assert!(statics[0].args.iter().any(|a| a == "allocator-statics"));
        assert!(statics[1].args.iter().any(|a| a.contains("arm-none-eabi-size")));
        for job in &jobs {
            assert_eq!(job.program, "/usr/bin/cargo");
            let all = LIBRARIES.iter().all(|l| job.args.iter().any(|a| a == l));
            let facade_with_features = job.args.windows(2).any(|w| w == ["-p", "allocator-kit"])
                && job.args.iter().any(|a| a.contains("full"));
            assert!(all || facade_with_features, "{:?}", job.args);
        }
        let v6m: Vec<&Job> = jobs.iter().filter(|j| j.label.starts_with("thumbv6m")).collect();
        assert!(v6m.iter().all(|j| j.args.iter().any(|a| a.contains("portable-atomic"))));
        assert!(v6m.iter().all(|j| j.env.iter().any(|(k, _)| k == "RUSTFLAGS")));
    }

    #[test]
    fn cross_jobs_get_their_runner_and_linker() {
        assert_eq!(
            target_env("aarch64-unknown-linux-gnu", "runner"),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
        );
        let jobs = cross();
        let ppc = jobs.iter().find(|j| j.label.starts_with("powerpc")).unwrap();
        assert!(ppc.env.iter().any(|(k, v)| k.ends_with("_RUNNER") && v.starts_with("qemu-ppc")));
        let i686 = jobs.iter().find(|j| j.label.starts_with("i686")).unwrap();
        assert!(i686.env.iter().any(|(k, v)| k.ends_with("_LINKER") && v == "i686-linux-gnu-gcc"));
        assert!(jobs.iter().all(|j| j.limit.is_some()), "every cross job has a time limit");
    }

    #[test]
    fn the_msrv_is_read_from_the_manifest() {
        assert_eq!(declared_msrv("[workspace.package]\nrust-version = \"1.95\"\n"), Some("1.95"));
        assert!(msrv()[0].args[0].starts_with("+1."));
        assert_eq!(msrv()[0].args[0].matches('.').count(), 2, "a full toolchain version");
    }

    #[test]
    fn fuzz_targets_come_from_the_fuzz_manifest() {
        let m = "[package]\nname = \"x\"\n[[bin]]\nname = \"a\"\npath = \"a.rs\"\n[[bin]]\nname = \"b\"\n";
        assert_eq!(fuzz_targets(m), ["a", "b"]);
        let real = fuzz_targets(include_str!("../../fuzz/Cargo.toml"));
        assert!(real.len() >= 10 && real.contains(&"tlsf") && real.contains(&"bitmap_ids"));
        assert_eq!(fuzz().len(), real.len() + 1);
        assert!(select(&["fuzz".into(), "--seconds".into(), "x".into()]).is_err());
    }

    #[test]
    fn every_example_is_checked_for_its_output() {
        let jobs = examples();
        assert_eq!(
            jobs.len(),
            EXAMPLES.len() + 3,
            "the examples, the workbench, its instructions, the .bss check"
        );
        assert!(jobs.iter().all(|j| !j.expect.is_empty()));
    }

    #[test]
    fn nightly_work_is_kept_apart() {
        let nightly =
            clippy().into_iter().chain(doc()).chain(test_nightly()).filter(|j| j.args[0] == "+nightly");
        assert_eq!(nightly.clone().count(), 4);
        for job in nightly {
            // Jobs with flags of their own would rebuild the shared
            // nightly directory every time: they get one of their own.
            let dir = if job.env.iter().any(|(k, _)| k == "RUSTFLAGS") {
                "target/provenance"
            } else {
                "target/nightly"
            };
            assert!(job.args.windows(2).any(|w| w == ["--target-dir", dir]), "{:?}", job.args);
        }
    }
}
