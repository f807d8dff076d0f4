//! Every example run with its output checked, the workbench, and the
//! statics of the host example in `.bss`.

use crate::{cli::Options, job::Job, packages};

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
    ("statics", false, &["static heaps", "all empty"]),
    ("arena", false, &["100 requests served", "0 in use between requests"]),
];

/// How many percent more instructions per alloc+free pair a byte wrapper
/// may cost than the crate it wraps.
const WRAPPER_OVERHEAD_PERCENT: &str = "3";

/// Where the workbench smoke run writes its report.
const SMOKE_OUT: &str = "target/bench-smoke";

/// The examples, then the workbench (a smoke run and the instruction
/// counts), then the `.bss` check of the `statics` example.
pub(crate) fn examples(_: &Options) -> Vec<Job> {
    let mut jobs: Vec<Job> = EXAMPLES
        .iter()
        .map(|&(name, nightly, expect)| {
            let mut args = vec!["run", "--quiet", "--locked", "-p", packages::EXAMPLES, "--example", name];
            if nightly {
                args.splice(0..0, ["+nightly"]);
                args.extend(["--features", "allocator_api", "--target-dir", "target/nightly"]);
            }
            let label = if nightly { format!("{name} (nightly)") } else { name.to_string() };
            Job::cargo(&label, &args).expect(expect)
        })
        .collect();
    jobs.extend(workbench());
    jobs.push(statics_in_bss());
    jobs
}

/// The workbench: a smoke run on three heaps (its wrapper-overhead row
/// checked in its CSV, by label), and each byte wrapper against the crate
/// it wraps in instructions per alloc+free pair: exact, so a CI check and
/// not a timed test.
fn workbench() -> [Job; 3] {
    let smoke = Job::cargo(
        "workbench smoke",
        &[
            "run",
            "--quiet",
            "--locked",
            "-p",
            packages::WORKBENCH,
            "--",
            "--only",
            "tlsf,rlsf,system",
            "--workload",
            "random-200,latency,pages",
            "--repeat",
            "1",
            "--out",
            SMOKE_OUT,
        ],
    )
    .expect(&["tlsf *", "Pages and ids", "Wrapper overhead"]);
    let overhead_row = Job::run(
        "grep",
        "workbench smoke: tlsf's overhead vs rlsf",
        &["-F", "tlsf,overhead vs rlsf,", &format!("{SMOKE_OUT}/results.csv")],
    )
    .expect(&["tlsf,overhead vs rlsf,"]);
    let instructions = Job::cargo(
        "wrapper overhead in instructions (callgrind)",
        &[
            "run",
            "--quiet",
            "--locked",
            "--release",
            "-p",
            packages::WORKBENCH,
            "--",
            "--check-overhead",
            WRAPPER_OVERHEAD_PERCENT,
            "--out",
            "target/bench-instructions",
        ],
    )
    .expect(&["every wrapper within"]);
    [smoke, overhead_row, instructions]
}

/// Every `static` heap of the `statics` example (run just before, into
/// `target/debug`) is all zeros: `nm` places it in `.bss` (`B`), not
/// `.data` (`D`), which a firmware would copy from flash at boot.
fn statics_in_bss() -> Job {
    let script = "nm -P target/debug/examples/statics | awk '/^STATIC_/ { n++; if ($2 != \"B\" && $2 != \"b\") { bad++; print \"not in .bss: \" $1 \" (\" $2 \")\" } } \
                  END { if (bad || !n) exit 1; print n \" statics, all in .bss\" }'";
    Job::run("sh", "statics in .bss (nm)", &["-c", script]).expect(&["statics, all in .bss"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_example_is_checked_for_its_output() {
        let jobs = examples(&Options::default());
        assert_eq!(
            jobs.len(),
            EXAMPLES.len() + 4,
            "the examples, the workbench, its overhead row, its instructions, the .bss check"
        );
        assert!(jobs.iter().all(|j| !j.expect.is_empty()));
    }

    #[test]
    fn no_expectation_depends_on_column_padding() {
        for job in examples(&Options::default()) {
            assert!(job.expect.iter().all(|e| !e.contains("  ")), "{}: {:?}", job.label, job.expect);
        }
    }
}
