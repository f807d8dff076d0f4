//! The tests under AddressSanitizer, ThreadSanitizer and valgrind.

use crate::{
    cli::Options,
    job::{target_env, Job},
    packages,
    steps::test::{global_alloc_tests, library_tests, threaded_tests, CHECK_STORM_OPS},
};

/// The host target, named explicitly so that `RUSTFLAGS` instrument the
/// tests and not the build scripts.
const HOST: &str = "x86_64-unknown-linux-gnu";

/// `cargo +nightly test` for the host target, in `dir`.
fn sanitizer_test(dir: &'static str) -> Vec<&'static str> {
    vec!["+nightly", "test", "--locked", "--target", HOST, "--target-dir", dir]
}

/// The library test suites under AddressSanitizer.
pub(crate) fn asan(_: &Options) -> Vec<Job> {
    let mut args = sanitizer_test("target/asan");
    args.extend(library_tests());
    // The programs step tests the crates that cannot share a process with
    // ASan's runtime.
    for name in packages::names(|p| !p.tests.asan) {
        args.extend(["--exclude", name]);
    }
    vec![Job::cargo("x86_64, address", &args)
        .env("RUSTFLAGS", "-Zsanitizer=address")
        .env("ASAN_OPTIONS", "detect_leaks=0:allocator_may_return_null=1")
        .env("PROPTEST_CASES", "32")
        .env("ALLOCATOR_STRESS_OPS", CHECK_STORM_OPS)
        .limit(900)]
}

/// The threaded tests under ThreadSanitizer.
pub(crate) fn tsan(_: &Options) -> Vec<Job> {
    let supp = format!(
        "suppressions={}/tsan.supp halt_on_error=1",
        env!("CARGO_MANIFEST_DIR").trim_end_matches("/xtask")
    );
    let job = |name: &str, tests: Vec<&'static str>, skip: &[&'static str]| {
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
        job("x86_64, thread: global heaps", global_alloc_tests(), &[]),
        // The single-thread conformance runs of the fronts add nothing here.
        job(
            "x86_64, thread: magazines and policies",
            threaded_tests(),
            &["--skip", "per_cpu::", "--skip", "per_thread::"],
        ),
    ]
}

/// The conformance suites under valgrind memcheck.
pub(crate) fn valgrind(_: &Options) -> Vec<Job> {
    let mut args = vec!["test", "--locked", "--target", HOST, "--target-dir", "target/valgrind"];
    args.extend(packages::dash_p(|p| p.tests.conformance));
    args.extend(["--test", "conformance"]);
    vec![Job::cargo("memcheck, conformance suites", &args)
        .env(&target_env(HOST, "runner"), "valgrind -q --error-exitcode=99 --leak-check=no")
        .env("PROPTEST_CASES", "4")
        .limit(1200)]
}
