//! A job: one command a step runs, and the builders the steps use.

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
    /// `program` with `args`, labelled `label`.
    pub(crate) fn run(program: &str, label: &str, args: &[&str]) -> Self {
        Self {
            label: label.to_string(),
            program: program.to_string(),
            args: args.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            expect: Vec::new(),
            limit: None,
            before: None,
        }
    }

    /// `cargo` (the rustup proxy) with `args`.
    pub(crate) fn cargo(label: &str, args: &[&str]) -> Self {
        Self::run("cargo", label, args)
    }

    /// Debian's `cargo` and `rustc` with `args`: a second Rust that can
    /// build `core`/`std` from source (`-Zbuild-std`).
    pub(crate) fn debian(label: &str, args: &[&str]) -> Self {
        Self::run("/usr/bin/cargo", label, args).env("RUSTC", "/usr/bin/rustc").env("RUSTC_BOOTSTRAP", "1")
    }

    /// Stops it after `seconds`.
    pub(crate) fn limit(mut self, seconds: u64) -> Self {
        self.limit = Some(seconds);
        self
    }

    /// Requires `lines` in its standard output.
    pub(crate) fn expect(mut self, lines: &[&'static str]) -> Self {
        self.expect.extend_from_slice(lines);
        self
    }

    /// Clears `what` before it runs.
    pub(crate) fn before(mut self, what: Before) -> Self {
        self.before = Some(what);
        self
    }

    /// Sets the environment variable `key` to `value`.
    pub(crate) fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// The `--target-dir` it names (argument or `CARGO_TARGET_DIR`), if any.
    pub(crate) fn target_dir(&self) -> Option<&str> {
        let arg = self.args.windows(2).find(|w| w[0] == "--target-dir").map(|w| w[1].as_str());
        arg.or_else(|| self.env.iter().find(|(k, _)| k == "CARGO_TARGET_DIR").map(|(_, v)| v.as_str()))
    }
}

/// The environment variable cargo reads for `target`'s `key` (`linker`,
/// `runner`).
pub(crate) fn target_env(target: &str, key: &str) -> String {
    format!("CARGO_TARGET_{}_{}", target.to_uppercase().replace(['-', '.'], "_"), key.to_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_env_names_cargo_s_variable() {
        assert_eq!(
            target_env("aarch64-unknown-linux-gnu", "runner"),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER"
        );
    }

    #[test]
    fn the_target_dir_is_read_from_arguments_or_environment() {
        assert_eq!(Job::cargo("a", &["b", "--target-dir", "target/x"]).target_dir(), Some("target/x"));
        assert_eq!(Job::cargo("a", &[]).env("CARGO_TARGET_DIR", "target/y").target_dir(), Some("target/y"));
        assert_eq!(Job::cargo("a", &[]).target_dir(), None);
    }
}
