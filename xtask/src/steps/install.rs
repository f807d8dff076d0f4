//! The install step: the Debian packages the selected steps need, with one
//! `apt-get update` and one `apt-get install`; and the check before each
//! step that what it needs is there.

use std::process::Command;

use crate::{cli::Options, job::Job};

/// The command of this program that the install job runs.
pub(crate) const COMMAND: &str = "install-packages";

/// One job: this program again, installing `options.packages` (those
/// missing), so that its output shows in the step's log.
pub(crate) fn install(options: &Options) -> Vec<Job> {
    let program = std::env::current_exe().map_or_else(|_| "xtask".to_string(), |p| p.display().to_string());
    let mut args = vec![COMMAND];
    args.extend(&options.packages);
    vec![Job::run(&program, "Debian packages", &args)]
}

/// The packages of `packages` that dpkg does not list as installed.
pub(crate) fn missing<'a>(packages: &[&'a str]) -> Vec<&'a str> {
    packages
        .iter()
        .copied()
        .filter(|p| {
            let status = Command::new("dpkg-query").args(["-W", "-f=${Status}", p]).output();
            !status.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect()
}

/// Installs the missing ones of `packages` (one `apt-get update`, one
/// `apt-get install`) and says what it installed, or why it could not.
pub(crate) fn install_missing(packages: &[&str]) -> Result<String, String> {
    let missing = missing(packages);
    if missing.is_empty() {
        return Ok(format!("nothing to install: all {} packages present", packages.len()));
    }
    let list = missing.join(" ");
    println!("installing Debian packages: {list}");
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("could not run apt-get ({e}); install these by hand: {list}"))
            .and_then(|s| {
                if s.success() {
                    Ok(())
                } else {
                    Err(format!("apt-get {} failed; install these by hand (as root): {list}", args[0]))
                }
            })
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq"];
    args.extend(missing.iter().copied());
    apt(&args)?;
    match self::missing(&missing).as_slice() {
        [] => Ok(format!("installed: {list}")),
        still => Err(format!("still missing after apt-get install: {}", still.join(" "))),
    }
}
