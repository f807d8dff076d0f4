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
}

impl Job {
    fn cargo(label: &str, args: &[&str]) -> Self {
        Self {
            label: label.to_string(),
            program: "cargo".to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            expect: Vec::new(),
        }
    }

    fn expect(mut self, lines: &[&'static str]) -> Self {
        self.expect.extend_from_slice(lines);
        self
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
    /// One line for `help`.
    pub(crate) about: &'static str,
    /// The jobs it runs.
    pub(crate) jobs: fn() -> Vec<Job>,
}

/// Every step, in the order `ci` runs them.
pub(crate) const STEPS: &[Step] = &[
    Step { name: "fmt", quick: true, about: "rustfmt --check on every crate", jobs: fmt },
    Step { name: "clippy", quick: true, about: "clippy -D warnings, all targets", jobs: clippy },
    Step { name: "doc", quick: true, about: "rustdoc -D warnings", jobs: doc },
    Step { name: "test", quick: true, about: "the workspace's tests and doc tests (stable)", jobs: test },
    Step {
        name: "examples",
        quick: true,
        about: "run every example and check what it prints",
        jobs: examples,
    },
    Step {
        name: "features",
        quick: false,
        about: "the facade with no features, each feature alone, and all",
        jobs: features,
    },
    Step {
        name: "test-nightly",
        quick: false,
        about: "the tests with every feature (allocator_api) on nightly",
        jobs: test_nightly,
    },
];

fn fmt() -> Vec<Job> {
    vec![Job::cargo("workspace", &["fmt", "--all", "--", "--check"])]
}

fn clippy() -> Vec<Job> {
    vec![
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
    ("arena", false, &["100 requests served", "0 in use between requests"]),
];

fn examples() -> Vec<Job> {
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
        .collect()
}

/// The facade's manifest, for its feature list.
const FACADE_MANIFEST: &str = include_str!("../../crates/allocator/Cargo.toml");

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
            vec!["check", "--quiet", "--locked", "-p", "allocator", "--target-dir", "target/features"];
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
            "allocator",
            "--all-features",
            "--target-dir",
            "target/nightly",
        ],
    ));
    jobs
}

/// The steps `args` ask for: `ci` (all), `ci --quick`, or step names.
pub(crate) fn select(args: &[String]) -> Result<Vec<Step>, String> {
    let mut args = args.iter().map(String::as_str);
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
    fn every_example_is_checked_for_its_output() {
        let jobs = examples();
        assert_eq!(jobs.len(), EXAMPLES.len());
        assert!(jobs.iter().all(|j| !j.expect.is_empty()));
    }

    #[test]
    fn nightly_work_is_kept_apart() {
        let nightly =
            clippy().into_iter().chain(doc()).chain(test_nightly()).filter(|j| j.args[0] == "+nightly");
        assert_eq!(nightly.clone().count(), 3);
        for job in nightly {
            assert_eq!(job.args[0], "+nightly");
            assert!(job.args.windows(2).any(|w| w == ["--target-dir", "target/nightly"]));
        }
    }
}
