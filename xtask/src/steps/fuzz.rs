//! Every fuzz target (the fuzz crate, a workspace of its own), briefly.

use crate::{cli::Options, job::Job, packages::PACKAGES};

/// Installs cargo-fuzz, then runs each crate's fuzz targets for
/// `options.fuzz_seconds` each.
pub(crate) fn fuzz(options: &Options) -> Vec<Job> {
    let seconds = options.fuzz_seconds;
    let limit = format!("-max_total_time={seconds}");
    let mut jobs = vec![Job::cargo(
        "install cargo-fuzz (when missing)",
        &["install", "--locked", "--quiet", "cargo-fuzz"],
    )];
    for target in PACKAGES.iter().flat_map(|p| p.fuzz) {
        jobs.push(
            Job::cargo(target, &["+nightly", "fuzz", "run", target, "--", &limit, "-rss_limit_mb=4096"])
                .limit(seconds + 600),
        );
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_runs_for_the_seconds_asked() {
        let options = Options { fuzz_seconds: 42, ..Options::default() };
        let jobs = fuzz(&options);
        assert_eq!(jobs.len(), PACKAGES.iter().map(|p| p.fuzz.len()).sum::<usize>() + 1);
        for job in &jobs[1..] {
            assert!(job.args.iter().any(|a| a == "-max_total_time=42"), "{:?}", job.args);
            assert_eq!(job.limit, Some(642));
        }
    }
}
