//! The C ABI: its own tests, its contract from C through `LD_PRELOAD` on
//! each heap, and real programs on each heap against glibc.

use crate::{cli::Options, job::Job, packages};

/// The C library's tests, the C contract for each heap of the preload
/// library (its features), then the real programs (release builds in one
/// target directory, so the script reuses the libraries the contract tests
/// built).
pub(crate) fn programs(_: &Options) -> Vec<Job> {
    let preload = packages::named(packages::PRELOAD);
    let heaps = preload.features_alone;
    let mut jobs = vec![Job::cargo(
        packages::MALLOC,
        &["test", "--locked", "-p", packages::MALLOC, "--target-dir", "target/preload"],
    )];
    jobs.extend(heaps.iter().map(|heap| {
        Job::cargo(
            &format!("C contract through LD_PRELOAD ({heap})"),
            &[
                "test",
                "--locked",
                "--release",
                "-p",
                packages::PRELOAD,
                "--no-default-features",
                "--features",
                heap,
                "--target-dir",
                "target/preload",
            ],
        )
        .limit(600)
    }));
    let script = format!("{}/programs.sh", preload.path);
    let mut script = vec![script.as_str()];
    script.extend(heaps);
    jobs.push(
        Job::run("bash", "real programs on each heap vs glibc", &script)
            .env("CARGO_TARGET_DIR", "target/preload")
            .expect(&["every program gave glibc's output"])
            .limit(900),
    );
    jobs
}
