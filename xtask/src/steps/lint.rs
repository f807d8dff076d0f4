//! Checks that build nothing to run: formatting, clippy, rustdoc.

use crate::{cli::Options, job::Job, packages};

/// rustfmt on the workspace and on the workspaces beside it (the fuzz
/// targets, the firmware, the kernel).
pub(crate) fn fmt(_: &Options) -> Vec<Job> {
    let beside = [
        ("fuzz targets", "fuzz/Cargo.toml"),
        ("cortex-m firmware", "firmware/cortex-m/Cargo.toml"),
        ("riscv kernel", "firmware/riscv/Cargo.toml"),
    ];
    let mut jobs = vec![Job::cargo("workspace", &["fmt", "--all", "--", "--check"])];
    for (label, manifest) in beside {
        jobs.push(Job::cargo(label, &["fmt", "--all", "--manifest-path", manifest, "--", "--check"]));
    }
    jobs
}

/// Strict provenance on the crates that hand out pointers, then clippy on
/// stable and on nightly with every feature.
pub(crate) fn clippy(_: &Options) -> Vec<Job> {
    let mut provenance =
        vec!["+nightly", "check", "--quiet", "--locked", "--lib", "--target-dir", "target/provenance"];
    provenance.extend(packages::dash_p(|p| p.strict_provenance));
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

/// rustdoc with warnings denied, on stable and as docs.rs builds it.
pub(crate) fn doc(_: &Options) -> Vec<Job> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fmt_reaches_the_workspaces_beside_this_one() {
        let jobs = fmt(&Options::default());
        for manifest in ["fuzz/Cargo.toml", "firmware/cortex-m/Cargo.toml", "firmware/riscv/Cargo.toml"] {
            assert!(jobs.iter().any(|j| j.args.iter().any(|a| a == manifest)), "{manifest}");
            assert!(crate::run::workspace_root().join(manifest).is_file(), "{manifest}");
        }
    }

    #[test]
    fn nightly_work_is_kept_apart() {
        let o = Options::default();
        let nightly = clippy(&o)
            .into_iter()
            .chain(doc(&o))
            .chain(crate::steps::test::test_nightly(&o))
            .filter(|j| j.args[0] == "+nightly");
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
