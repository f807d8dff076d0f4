//! Running jobs and reporting them.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use crate::{
    cli::Options,
    job::{Before, Job},
    plan::Step,
    steps::install,
};

/// How one job went.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// The step it belongs to.
    pub(crate) step: &'static str,
    /// The job's label.
    pub(crate) label: String,
    /// It succeeded (and printed what it had to).
    pub(crate) ok: bool,
    /// How long it took.
    pub(crate) time: Duration,
}

/// The workspace root: the parent of this crate's folder.
pub(crate) fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Runs every job of every step, going on after a failure so the summary
/// shows all of them.
///
/// Under CI (`CI` set and not empty), a step's own target directories are
/// deleted once no later step uses them, so the run's disk use peaks near
/// its largest step instead of growing to the sum of all of them.
pub(crate) fn run_steps(root: &Path, steps: &[Step], options: &Options) -> Vec<Outcome> {
    let mut out = Vec::new();
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let plans: Vec<Vec<Job>> = steps.iter().map(|s| (s.jobs)(options)).collect();
    for (index, step) in steps.iter().enumerate() {
        if let Some(free) = free_gib(root) {
            println!("\n==> [{}] starting; {free:.1} GiB free on the disk", step.name);
        }
        let start = Instant::now();
        if let Some(why) = cannot_run(step.packages) {
            eprintln!("\n[{}] cannot run: {why}", step.name);
            out.push(Outcome {
                step: step.name,
                label: "Debian packages".into(),
                ok: false,
                time: start.elapsed(),
            });
            continue;
        }
        for job in plans[index].clone() {
            if let Some(what) = job.before {
                clear(what);
            }
            println!("\n==> [{}] {}: {} {}", step.name, job.label, job.program, job.args.join(" "));
            let start = Instant::now();
            let mut command = match job.limit {
                Some(seconds) => {
                    let mut c = Command::new("timeout");
                    c.args(["--kill-after=30", &format!("{seconds}"), &job.program]);
                    c
                }
                None => Command::new(&job.program),
            };
            command.args(&job.args).envs(job.env.iter().map(|(k, v)| (k, v))).current_dir(root);
            let ok = if job.expect.is_empty() {
                match command.status() {
                    Ok(s) => s.success(),
                    Err(e) => {
                        eprintln!("could not start {}: {e}", job.program);
                        false
                    }
                }
            } else {
                run_and_check(&mut command, &job.expect)
            };
            out.push(Outcome { step: step.name, label: job.label, ok, time: start.elapsed() });
        }
        if in_ci {
            for dir in dirs_done_after(&plans, index) {
                if std::fs::remove_dir_all(root.join(dir)).is_ok() {
                    println!("==> [{}] removed {dir}: no later step builds there", step.name);
                }
            }
        }
    }
    out
}

/// Why a step that needs `packages` cannot run: some are not installed
/// (the install step, run before, could not install them).
fn cannot_run(packages: &[&str]) -> Option<String> {
    let missing = install::missing(packages);
    let list = missing.join(" ");
    (!missing.is_empty()).then(|| {
        format!("Debian packages missing: {list} (the install step could not install them; as root: apt-get install {list})")
    })
}

/// The target directories of step `index` that no later step names.
fn dirs_done_after(plans: &[Vec<Job>], index: usize) -> Vec<&str> {
    let later: Vec<&str> = plans[index + 1..].iter().flatten().filter_map(Job::target_dir).collect();
    let mut done: Vec<&str> =
        plans[index].iter().filter_map(Job::target_dir).filter(|d| !later.contains(d)).collect();
    done.sort_unstable();
    done.dedup();
    // Only directories of their own under `target/`, never `target` itself.
    done.retain(|d| d.strip_prefix("target/").is_some_and(|rest| !rest.is_empty() && !rest.contains("..")));
    done
}

/// Gibibytes free on the file system holding `path` (from `df`), if known.
fn free_gib(path: &Path) -> Option<f64> {
    let out = Command::new("df").arg("-Pk").arg(path).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kib: f64 = text.lines().nth(1)?.split_whitespace().nth(3)?.parse().ok()?;
    Some(kib / (1024.0 * 1024.0))
}

/// Clears what a job needs cleared before it runs (see [`Before`]).
fn clear(what: Before) {
    match what {
        Before::LocalRegistrySources => {
            let home = std::env::var_os("CARGO_HOME")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
            let Some(src) = home.map(|h| h.join("registry").join("src")) else { return };
            let Ok(entries) = std::fs::read_dir(&src) else { return };
            for entry in entries.flatten() {
                // A registry with a host (crates.io) is named after it; a
                // local one's name starts with '-'.
                if entry.file_name().to_string_lossy().starts_with('-') {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
    }
}

/// Runs `command`, shows its output, and checks that it succeeded and
/// printed every line of `expect`.
fn run_and_check(command: &mut Command, expect: &[&str]) -> bool {
    let out = match command.output() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("could not start: {e}");
            return false;
        }
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    let missing: Vec<&&str> = expect.iter().filter(|e| !stdout.contains(**e)).collect();
    for m in &missing {
        eprintln!("expected in the output, not found: {m:?}");
    }
    out.status.success() && missing.is_empty()
}

/// The summary table: step × label × result, with times.
pub(crate) fn summary(results: &[Outcome]) -> String {
    let w_step = results.iter().map(|r| r.step.len()).max().unwrap_or(4).max(4);
    let w_label = results.iter().map(|r| r.label.len()).max().unwrap_or(6).max(6);
    let mut s = format!("{:<w_step$}  {:<w_label$}  result  time\n", "step", "target");
    let mut total = Duration::ZERO;
    for r in results {
        total += r.time;
        let result = if r.ok { "ok" } else { "FAILED" };
        s.push_str(&format!(
            "{:<w_step$}  {:<w_label$}  {result:<6}  {:>6.1}s\n",
            r.step,
            r.label,
            r.time.as_secs_f64()
        ));
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    let verdict = if failed == 0 { "all passed".to_string() } else { format!("{failed} FAILED") };
    s.push_str(&format!("ci: {} jobs, {verdict}, {:.0}s", results.len(), total.as_secs_f64()));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_dir_is_freed_after_its_last_step_only() {
        let options = Options::default();
        let plans = crate::plan::STEPS.iter().map(|s| (s.jobs)(&options)).collect::<Vec<_>>();
        let names: Vec<&str> = crate::plan::STEPS.iter().map(|s| s.name).collect();
        let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
        let freed_after = |name: &str| dirs_done_after(&plans, at(name));
        assert!(freed_after("asan").contains(&"target/asan"));
        assert!(freed_after("cross").contains(&"target/cross"));
        // `target/nightly` is used by test-nightly and again by examples.
        assert!(!freed_after("test-nightly").contains(&"target/nightly"));
        assert!(plans.iter().flatten().filter_map(Job::target_dir).all(|d| d != "target"));
        for step in 0..plans.len() {
            assert!(dirs_done_after(&plans, step).iter().all(|d| d.starts_with("target/") && d.len() > 7));
        }
    }

    #[test]
    fn a_step_whose_packages_are_missing_says_which() {
        assert_eq!(cannot_run(&[]), None);
        let why = cannot_run(&["no-such-package-xtask"]).unwrap();
        assert!(why.contains("missing: no-such-package-xtask"), "{why}");
        assert!(why.contains("apt-get install no-such-package-xtask"), "{why}");
    }

    #[test]
    fn summary_lists_each_job_and_counts() {
        let r = vec![
            Outcome { step: "fmt", label: "workspace".into(), ok: true, time: Duration::from_secs(2) },
            Outcome { step: "test", label: "i686".into(), ok: false, time: Duration::from_millis(1500) },
        ];
        let s = summary(&r);
        assert!(s.contains("fmt   workspace  ok"), "{s}");
        assert!(s.contains("FAILED"), "{s}");
        assert!(s.ends_with("ci: 2 jobs, 1 FAILED, 4s"), "{s}");
    }
}
