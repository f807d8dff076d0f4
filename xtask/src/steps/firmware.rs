//! Programs run on emulated machines and runtimes: the firmware and the
//! kernel under qemu-system, `WasmPages` under Node.js.

use crate::{cli::Options, job::Job, packages};

/// `WasmPages` in a WebAssembly runtime: the check module (`wasm-check`
/// in allocator-os, a workspace of its own) grows, reuses and refuses
/// pages of its memory under Node.js.
pub(crate) fn wasm(_: &Options) -> Vec<Job> {
    let script = format!("{}/wasm-check/run.sh", packages::named(packages::OS).path);
    vec![Job::run("sh", "wasm32-unknown-unknown under Node.js", &[&script])
        .env("CARGO_TARGET_DIR", "target/wasm-check")
        .expect(&["every check passed"])
        .limit(600)]
}

/// Each board (a name `firmware/run.sh` knows) and the labelled lines it
/// must print; the last one only when all checks passed.
const BOARDS: &[(&str, &[&str])] = &[
    (
        "cortex-m3",
        &[
            "tlsf: 48 KiB heap;",
            "size classes over tlsf: 48 KiB heap;",
            "small blocks (64 B pool, then tlsf): 48 KiB heap;",
            "slab: a 4096 B block is refused: out of memory (as documented)",
            "out of memory: reported (NoMemory), nothing lost",
            "interrupts: the handler allocated 100 times",
            "after dropping: 0 bytes in use",
            "all checks passed",
        ],
    ),
    (
        "cortex-m3-c",
        &[
            "c: checks returned 0, checksum 7141",
            "c: 0 bytes in use after Rust dropped its blocks",
            "c: malloc and Box share the heap; all checks passed",
        ],
    ),
    (
        "cortex-m0",
        &[
            "tlsf: 8 KiB heap;",
            "slab: refuses a 8 KiB heap:",
            "interrupts: the handler allocated 100 times",
            "after dropping: 0 bytes in use",
            "all checks passed",
        ],
    ),
    (
        "riscv64",
        &[
            "harts: 4 allocating at once",
            "hart 3: 50000 operations, pattern ok",
            "heap: 0 bytes in use after flushing",
            "out of memory: reported, nothing lost",
            "kernel: all checks passed",
        ],
    ),
];

/// The firmware and the kernel (`firmware/`, workspaces of their own),
/// each built for its target and run under qemu-system by
/// `firmware/run.sh`; then what each heap costs a Cortex-M3 firmware in
/// flash and RAM (`firmware/footprint.sh`: a regression past a heap's
/// budget, or anything in `.data`, fails it).
pub(crate) fn firmware(_: &Options) -> Vec<Job> {
    let boards = BOARDS.iter().map(|&(name, expect)| {
        Job::run("bash", &format!("{name} under qemu-system"), &["firmware/run.sh", name])
            .env("CARGO_TARGET_DIR", "target/firmware")
            .expect(expect)
            .limit(900)
    });
    let footprint =
        Job::run("bash", "footprint: flash and RAM per heap (Cortex-M3)", &["firmware/footprint.sh"])
            .env("CARGO_TARGET_DIR", "target/firmware")
            .expect(&["tlsf: flash", "firmware: flash", "every heap within its budget, none with .data"])
            .limit(600);
    boards.chain([footprint]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_firmware_runs_through_the_script_with_its_output_checked() {
        let mut jobs = firmware(&Options::default());
        let footprint = jobs.pop().unwrap();
        assert_eq!(footprint.args, ["firmware/footprint.sh"]);
        let names: Vec<&str> = jobs.iter().map(|j| j.args[1].as_str()).collect();
        assert_eq!(names, ["cortex-m3", "cortex-m3-c", "cortex-m0", "riscv64"]);
        let script = include_str!("../../../firmware/run.sh");
        for job in &jobs {
            assert_eq!((job.program.as_str(), job.args[0].as_str()), ("bash", "firmware/run.sh"));
            assert!(script.contains(&format!("{})", job.args[1])), "{} not in run.sh", job.args[1]);
            assert!(job.expect.iter().any(|e| e.ends_with("all checks passed")), "{:?}", job.expect);
            assert!(job.limit.is_some());
        }
    }
}
