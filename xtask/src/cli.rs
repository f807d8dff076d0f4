//! The command line: which steps to run, and the options their jobs are
//! built with.

use crate::{
    plan::{Step, STEPS},
    steps::install,
};

/// What the jobs are built with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    /// Seconds each fuzz target runs (`--seconds N`).
    pub(crate) fuzz_seconds: u64,
    /// The Debian packages the install step installs: those the other
    /// selected steps need (every step's when it runs alone).
    pub(crate) packages: Vec<&'static str>,
}

impl Default for Options {
    /// Ten seconds of fuzzing (a CI smoke run); no packages.
    fn default() -> Self {
        Self { fuzz_seconds: 10, packages: Vec::new() }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Command {
    /// The help text.
    Help,
    /// These steps, in this order, with these options.
    Run(Vec<Step>, Options),
    /// Install these Debian packages (what the install step's job runs).
    InstallPackages(Vec<String>),
}

/// Parses `args`: `ci` (every step), `ci --quick`, or step names, with
/// `--seconds N` for the fuzz step. Steps that need Debian packages get
/// the install step before them.
pub(crate) fn parse(args: &[String]) -> Result<Command, String> {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.first() == Some(&install::COMMAND) {
        return Ok(Command::InstallPackages(args[1..].iter().map(|a| a.to_string()).collect()));
    }
    let mut options = Options::default();
    if let Some(i) = args.iter().position(|a| *a == "--seconds") {
        options.fuzz_seconds =
            args.get(i + 1).and_then(|n| n.parse().ok()).ok_or("--seconds needs a whole number")?;
        args.drain(i..i + 2);
    }
    let mut args = args.into_iter();
    let steps: Vec<Step> = match args.next() {
        None | Some("help" | "--help" | "-h") => return Ok(Command::Help),
        Some("ci") => match args.next() {
            None => STEPS.to_vec(),
            Some("--quick") => STEPS.iter().copied().filter(|s| s.quick).collect(),
            Some(other) => return Err(format!("unknown option to ci: {other}")),
        },
        Some(first) => {
            let named = std::iter::once(first)
                .chain(args)
                .map(|name| {
                    STEPS
                        .iter()
                        .copied()
                        .find(|s| s.name == name)
                        .ok_or_else(|| format!("unknown step: {name}"))
                })
                .collect::<Result<Vec<Step>, String>>()?;
            let needs_install =
                named.iter().any(|s| !s.packages.is_empty()) && !named.iter().any(|s| s.name == INSTALL.name);
            if needs_install {
                std::iter::once(INSTALL).chain(named).collect()
            } else {
                named
            }
        }
    };
    options.packages = packages_for(&steps);
    Ok(Command::Run(steps, options))
}

/// The install step (the table's first).
const INSTALL: Step = STEPS[0];

/// The Debian packages `steps` need, each once, in order; every step's
/// when the install step is selected alone.
fn packages_for(steps: &[Step]) -> Vec<&'static str> {
    let others: Vec<&Step> = steps.iter().filter(|s| s.name != INSTALL.name).collect();
    let from: Vec<&Step> = if others.is_empty() { STEPS.iter().collect() } else { others };
    let mut packages = Vec::new();
    for p in from.iter().flat_map(|s| s.packages) {
        if !packages.contains(p) {
            packages.push(*p);
        }
    }
    packages
}

/// The help text, from the table.
pub(crate) fn usage() -> String {
    let mut s = String::from(
        "usage: cargo xtask ci [--quick] | cargo xtask <step>... [--seconds N]\n\nsteps (ci runs them all, in order):\n",
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

    /// The steps and options `args` select.
    fn select(args: &[&str]) -> Result<(Vec<Step>, Options), String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args)? {
            Command::Run(steps, options) => Ok((steps, options)),
            other => Err(format!("not a run: {other:?}")),
        }
    }

    fn names(args: &[&str]) -> Vec<&'static str> {
        select(args).unwrap().0.iter().map(|s| s.name).collect()
    }

    #[test]
    fn ci_runs_every_step_in_table_order() {
        assert_eq!(names(&["ci"]), STEPS.iter().map(|s| s.name).collect::<Vec<_>>());
        assert_eq!(names(&["ci"])[0], "install");
    }

    #[test]
    fn quick_is_the_quick_prefix() {
        assert_eq!(names(&["ci", "--quick"]), ["install", "fmt", "clippy", "doc", "test", "examples"]);
        assert_eq!(select(&["ci", "--quick"]).unwrap().1.packages, ["valgrind"]);
    }

    #[test]
    fn steps_run_alone_and_unknown_ones_are_refused() {
        assert_eq!(names(&["doc", "fmt"]), ["doc", "fmt"]);
        assert!(select(&["nope"]).unwrap_err().contains("nope"));
        assert!(select(&["ci", "--slow"]).is_err());
        assert!(matches!(parse(&[]), Ok(Command::Help)));
        assert!(select(&["fuzz", "--seconds", "x"]).is_err());
        assert_eq!(select(&["fuzz", "--seconds", "60"]).unwrap().1.fuzz_seconds, 60);
    }

    #[test]
    fn a_step_that_needs_packages_gets_them_installed_first() {
        let (steps, options) = select(&["firmware"]).unwrap();
        assert_eq!(steps.iter().map(|s| s.name).collect::<Vec<_>>(), ["install", "firmware"]);
        assert_eq!(options.packages, steps[1].packages);
        let (_, all) = select(&["install"]).unwrap();
        let (_, ci) = select(&["ci"]).unwrap();
        assert_eq!(all.packages, ci.packages, "install alone installs what ci needs");
        assert!(ci.packages.contains(&"qemu-user") && ci.packages.contains(&"valgrind"));
        let mut unique = ci.packages.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), ci.packages.len(), "each package once");
    }

    #[test]
    fn the_install_command_takes_package_names() {
        let args = [install::COMMAND.to_string(), "valgrind".to_string()];
        assert!(matches!(parse(&args), Ok(Command::InstallPackages(p)) if p == ["valgrind"]));
    }
}
