//! The test suites on the host: stable, nightly, the facade's features,
//! and the threaded tests at volume; and the test selections other steps
//! share.

use crate::{
    cli::Options,
    job::Job,
    manifest,
    packages::{self, Kind},
};

/// Operations per storm thread where the storms check a target or a
/// sanitizer rather than make volume (the `stress` step makes volume).
pub(crate) const CHECK_STORM_OPS: &str = "20000";

/// The test suites of the libraries and the testkit, not of the host
/// programs (doc tests aside: they do not run under `-Zbuild-std`).
pub(crate) fn library_tests() -> Vec<&'static str> {
    let mut args = vec!["--no-fail-fast", "--workspace"];
    for name in packages::names(|p| p.kind == Kind::Program) {
        args.extend(["--exclude", name]);
    }
    args.extend(["--lib", "--tests"]);
    args
}

/// Each heap's `global_alloc` test: one heap as the program's allocator,
/// real work, then a thread storm.
pub(crate) fn global_alloc_tests() -> Vec<&'static str> {
    let mut args = packages::dash_p(|p| p.tests.global_alloc);
    args.extend(["--test", "global_alloc"]);
    args
}

/// The other threaded tests: the magazine fronts and the policies built on
/// them (blocks freed on other threads and CPUs, thread exit with blocks
/// in magazines, the hosted policy as a global allocator).
pub(crate) fn threaded_tests() -> Vec<&'static str> {
    let mut args = Vec::new();
    for p in packages::PACKAGES.iter().filter(|p| !p.tests.threads.is_empty()) {
        args.extend(["-p", p.name]);
        for t in p.tests.threads {
            args.extend(["--test", t]);
        }
    }
    args
}

/// Every test and doc test, on stable.
pub(crate) fn test(_: &Options) -> Vec<Job> {
    vec![Job::cargo("stable", &["test", "--workspace", "--locked"])]
}

/// Every test with every feature (`allocator_api`), on nightly.
pub(crate) fn test_nightly(_: &Options) -> Vec<Job> {
    vec![Job::cargo(
        "nightly, all features",
        &["+nightly", "test", "--workspace", "--all-features", "--locked", "--target-dir", "target/nightly"],
    )]
}

/// The facade's manifest, for its feature list.
const FACADE_MANIFEST: &str = include_str!("../../../crates/allocator-kit/Cargo.toml");

/// The facade with no features, each feature alone (but the default set
/// and nightly's `allocator_api`), and all of them on nightly.
pub(crate) fn features(_: &Options) -> Vec<Job> {
    let check = |label: &str, extra: &[&str]| {
        let mut args =
            vec!["check", "--quiet", "--locked", "-p", packages::FACADE, "--target-dir", "target/features"];
        args.extend_from_slice(extra);
        Job::cargo(label, &args)
    };
    let mut jobs = vec![check("no features", &["--no-default-features"])];
    let names = manifest::feature_names(FACADE_MANIFEST);
    for name in names.iter().filter(|n| *n != "default" && *n != "allocator_api") {
        jobs.push(check(name, &["--no-default-features", "--features", name]));
    }
    jobs.push(Job::cargo(
        "all features (nightly)",
        &[
            "+nightly",
            "check",
            "--quiet",
            "--locked",
            "-p",
            packages::FACADE,
            "--all-features",
            "--target-dir",
            "target/nightly",
        ],
    ));
    jobs
}

/// The threaded tests in release, at a million operations per thread.
pub(crate) fn stress(_: &Options) -> Vec<Job> {
    let job = |label: &str, tests: Vec<&str>| {
        let mut args =
            vec!["test", "--locked", "--no-fail-fast", "--release", "--target-dir", "target/stress"];
        args.extend(tests);
        Job::cargo(label, &args).env("ALLOCATOR_STRESS_OPS", "1000000").limit(600)
    };
    vec![
        job("2, 4, 8 threads x 1M operations", global_alloc_tests()),
        job("magazine fronts and policies, 1M operations", threaded_tests()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_facade_feature_is_checked_alone() {
        let facade = manifest::feature_names(FACADE_MANIFEST);
        for f in ["buddy", "slab", "tlsf", "bitmap", "compose", "full", "page-alloc-1t", "allocator-api2"] {
            assert!(facade.iter().any(|n| n == f), "{f}");
        }
        let jobs = features(&Options::default());
        assert_eq!(jobs.len(), facade.len() - 2 + 2, "none, each but default and nightly's, all");
    }

    #[test]
    fn the_library_tests_leave_out_the_programs_only() {
        let args = library_tests();
        for p in packages::PACKAGES {
            let excluded = args.windows(2).any(|w| w == ["--exclude", p.name]);
            assert_eq!(excluded, p.kind == Kind::Program, "{}", p.name);
        }
    }
}
