//! The library crates for bare-metal targets: the no_std matrix, the
//! statics in `.bss` on a Cortex-M, and each crate with `core` alone.

use crate::{
    cli::Options,
    job::Job,
    packages::{self, Package, BARE_METAL, NO_CAS},
};

/// A feature set of the matrix: its label, whether default features are
/// on, and which packages it builds with which extra features.
struct FeatureSet {
    /// What the summary calls it.
    label: &'static str,
    /// Default features on.
    default: bool,
    /// The extra features of a package (`None`: not built in this set).
    extra: fn(&Package) -> Option<&'static [&'static str]>,
}

/// The feature sets, in order. The set with extra features builds each
/// package that has some alone (the facade, whose features switch on
/// every crate's): cargo ignores `crate/feature` for several selected
/// packages at once.
const FEATURE_SETS: &[FeatureSet] = &[
    FeatureSet { label: "no features", default: false, extra: |_| Some(&[]) },
    FeatureSet { label: "default features", default: true, extra: |_| Some(&[]) },
    FeatureSet {
        label: "all no_std features",
        default: true,
        extra: |p| (!p.nostd_features.is_empty()).then_some(p.nostd_features),
    },
];

/// The bare-metal target of the statics check.
const STATICS_TARGET: &str = "thumbv7em-none-eabihf";

/// The matrix (every target × feature set), then the statics, then each
/// crate with `core` alone.
pub(crate) fn nostd(_: &Options) -> Vec<Job> {
    let mut jobs = Vec::new();
    for &target in BARE_METAL {
        for set in FEATURE_SETS {
            let on_target = packages::PACKAGES.iter().filter(|p| p.bare_metal.contains(&target));
            let with: Vec<(&str, &[&str])> =
                on_target.filter_map(|p| Some((p.name, (set.extra)(p)?))).collect();
            if with.is_empty() {
                continue;
            }
            if with.iter().all(|(_, extra)| extra.is_empty()) {
                jobs.push(build(target, set, &with.iter().map(|(name, _)| *name).collect::<Vec<_>>(), &[]));
            } else {
                jobs.extend(with.iter().map(|&(name, extra)| build(target, set, &[name], extra)));
            }
        }
    }
    jobs.extend(statics_cost_no_flash());
    jobs.extend(core_alone());
    jobs
}

/// One build of the matrix: `packages` for `target` with `set`'s default
/// features and `extra`.
fn build(target: &str, set: &FeatureSet, packages: &[&str], extra: &[&str]) -> Job {
    let no_cas = NO_CAS.contains(&target);
    let mut args = vec!["build", "--quiet", "--locked", "-Zbuild-std=core,alloc", "--target", target];
    args.extend(["--target-dir", "target/cross"]);
    for name in packages {
        args.extend(["-p", name]);
    }
    if !set.default {
        args.push("--no-default-features");
    }
    let mut features: Vec<String> = extra.iter().map(|f| f.to_string()).collect();
    if no_cas {
        // The lock crate's feature, named through the facade when it is
        // built alone with features of its own.
        features.push(if extra.is_empty() {
            format!("{}/portable-atomic", packages::SYNC)
        } else {
            "portable-atomic".to_string()
        });
    }
    let joined = features.join(",");
    if !features.is_empty() {
        args.extend(["--features", &joined]);
    }
    let mut job = Job::debian(&format!("{target}, {}", set.label), &args);
    if no_cas {
        // Spin locks from portable-atomic, on a single core.
        job = job.env("RUSTFLAGS", "--cfg portable_atomic_unsafe_assume_single_core");
    }
    job
}

/// Every `static` heap, lock and combinator (`examples/statics`), built for
/// a Cortex-M, is in `.bss`: the size tool shows no `.data` in the crate's
/// own object (which a firmware would copy from flash at boot), and `nm`
/// places each in `B`. Both print labelled values that the job expects.
fn statics_cost_no_flash() -> [Job; 2] {
    let build = Job::debian(
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
            packages::STATICS,
        ],
    );
    let script = format!(
        "a=target/cross/{STATICS_TARGET}/release/liballocator_statics.a; \
         arm-none-eabi-size -t \"$a\" | awk '$6 ~ /^allocator_statics-/ {{ data += $2; bss += $3 }} \
           END {{ print \"allocator_statics: .data \" data \" bytes, .bss \" bss \" bytes\"; if (data != 0 || bss == 0) exit 1 }}' && \
         arm-none-eabi-nm -P \"$a\" | awk '/^STATIC_/ {{ n++; if ($2 != \"B\" && $2 != \"b\") {{ bad++; print \"not in .bss: \" $1 \" (\" $2 \")\" }} }} \
           END {{ if (bad || !n) exit 1; print n \" statics, all in .bss\" }}'"
    );
    let check =
        Job::run("sh", &format!("{STATICS_TARGET}: statics in .bss (arm-none-eabi-size)"), &["-c", &script])
            .expect(&["allocator_statics: .data 0 bytes", "statics, all in .bss"]);
    [build, check]
}

/// Each crate that builds with `core` alone, on its own, for a Cortex-M
/// with the standard library built as `core` only: a hidden use of `alloc`
/// fails here (building them together could lend one crate another's
/// `alloc`).
fn core_alone() -> Vec<Job> {
    packages::names(|p| p.core_alone)
        .into_iter()
        .map(|name| {
            Job::debian(
                &format!("{STATICS_TARGET}, {name}, core alone"),
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
                    name,
                    "--no-default-features",
                ],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_no_std_matrix_covers_every_target_and_feature_set() {
        let libraries = packages::names(|p| !p.bare_metal.is_empty());
        let core_only = packages::names(|p| p.core_alone);
        let mut jobs = nostd(&Options::default());
        assert_eq!(jobs.len(), BARE_METAL.len() * FEATURE_SETS.len() + 2 + core_only.len());
        let core_jobs = jobs.split_off(jobs.len() - core_only.len());
        for (job, lib) in core_jobs.iter().zip(&core_only) {
            assert!(libraries.contains(lib), "{lib}");
            assert!(job.args.windows(2).any(|w| w == ["-p", *lib]), "{:?}", job.args);
            assert!(job.args.iter().any(|a| a == "-Zbuild-std=core"), "{:?}", job.args);
        }
        let statics = jobs.split_off(jobs.len() - 2);
        assert!(statics[0].args.iter().any(|a| a == packages::STATICS));
        assert!(statics[1].args.iter().any(|a| a.contains("arm-none-eabi-size")));
        for job in &jobs {
            assert_eq!(job.program, "/usr/bin/cargo");
            let all = libraries.iter().all(|l| job.args.iter().any(|a| a == l));
            let facade_with_features = job.args.windows(2).any(|w| w == ["-p", packages::FACADE])
                && job.args.iter().any(|a| a.contains("full"));
            assert!(all || facade_with_features, "{:?}", job.args);
        }
        let v6m: Vec<&Job> = jobs.iter().filter(|j| j.label.starts_with("thumbv6m")).collect();
        assert!(v6m.iter().all(|j| j.args.iter().any(|a| a.contains("portable-atomic"))));
        assert!(v6m.iter().all(|j| j.env.iter().any(|(k, _)| k == "RUSTFLAGS")));
    }
}
