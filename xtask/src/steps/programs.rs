//! The C ABI: its own tests, its contract from C through `LD_PRELOAD` on
//! each heap, and real programs on each heap against glibc.

use crate::{cli::Options, job::Job, packages};

/// The C library's tests, then the script: the preload library built for
/// each heap (its features), the C contract from C through `LD_PRELOAD` on
/// each, and the real programs against glibc.
pub(crate) fn programs(_: &Options) -> Vec<Job> {
    let preload = packages::named(packages::PRELOAD);
    let heaps = preload.features_alone;
    let tests = Job::cargo(
        packages::MALLOC,
        &["test", "--locked", "-p", packages::MALLOC, "--target-dir", "target/preload"],
    );
    let script = format!("{}/programs.sh", preload.path);
    let mut script = vec![script.as_str()];
    script.extend(heaps);
    let real = Job::run("bash", "C contract and real programs on each heap vs glibc", &script)
        .env("CARGO_TARGET_DIR", "target/preload")
        .expect(&[
            "C contract through LD_PRELOAD: all passed on every library",
            "every program gave glibc's output",
        ])
        .limit(1200);
    vec![tests, real]
}
