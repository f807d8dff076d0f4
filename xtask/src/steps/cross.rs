//! The library test suites on other Linux targets: 32-bit, another
//! architecture, big-endian.

use crate::{
    cli::Options,
    job::{target_env, Job},
    steps::test::{library_tests, CHECK_STORM_OPS},
};

/// Linux targets the test suites run on: (target, runner, linker).
const CROSS_TARGETS: &[(&str, &str, &str)] = &[
    (
        "i686-unknown-linux-gnu",
        // Runs natively, through the cross libc's own loader.
        "/usr/i686-linux-gnu/lib/ld-linux.so.2 --library-path /usr/i686-linux-gnu/lib",
        "i686-linux-gnu-gcc",
    ),
    ("aarch64-unknown-linux-gnu", "qemu-aarch64 -L /usr/aarch64-linux-gnu", "aarch64-linux-gnu-gcc"),
    ("powerpc-unknown-linux-gnu", "qemu-ppc -L /usr/powerpc-linux-gnu", "powerpc-linux-gnu-gcc"),
];

/// The library test suites for each of [`CROSS_TARGETS`], with Debian's
/// Rust building the standard library for it.
pub(crate) fn cross(_: &Options) -> Vec<Job> {
    CROSS_TARGETS
        .iter()
        .map(|&(target, runner, linker)| {
            let mut args =
                vec!["test", "--locked", "-Zbuild-std", "--target", target, "--target-dir", "target/cross"];
            // Doc tests do not run under -Zbuild-std; the host steps run them.
            args.extend(library_tests());
            let mut job = Job::debian(target, &args)
                .env("PROPTEST_CASES", "16")
                .env("ALLOCATOR_STRESS_OPS", CHECK_STORM_OPS)
                .limit(900)
                .env(&target_env(target, "runner"), runner)
                // Tests that watch a child process run on the host only.
                .env("ALLOCATOR_EMULATED", "1");
            // So do the tests of `OsPages` in a window: the emulator's
            // address space is not the kernel's (allocator-os's tests).
            job.args.extend(["--", "--skip", "in_a_window::"].map(String::from));
            job.env(&target_env(target, "linker"), linker)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_jobs_get_their_runner_and_linker() {
        let jobs = cross(&Options::default());
        let ppc = jobs.iter().find(|j| j.label.starts_with("powerpc")).unwrap();
        assert!(ppc.env.iter().any(|(k, v)| k.ends_with("_RUNNER") && v.starts_with("qemu-ppc")));
        let i686 = jobs.iter().find(|j| j.label.starts_with("i686")).unwrap();
        assert!(i686.env.iter().any(|(k, v)| k.ends_with("_LINKER") && v == "i686-linux-gnu-gcc"));
        assert!(jobs.iter().all(|j| j.limit.is_some()), "every cross job has a time limit");
    }
}
