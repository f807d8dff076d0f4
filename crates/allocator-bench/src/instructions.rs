//! The wrapper table in instructions: each byte wrapper of ours against the
//! crate it wraps, per alloc+free pair, counted by callgrind (noise-free,
//! where wall-clock ratios between two runs differ by far more than the
//! few percent a wrapper may cost).
//!
//! Each count runs this program again under `valgrind --tool=callgrind`
//! (the hidden `--count-child` mode) twice, with `n` and `2n` pairs: the
//! difference divided by `n` is the cost of one pair, without start-up and
//! set-up. The same run over a heap that does nothing measures the
//! harness (the loop and its pre-drawn sizes), which is taken off both
//! sides before the overhead is computed.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::black_box,
    process::Command,
    ptr::NonNull,
};

use crate::{
    heaps::{self, Heap},
    Rng,
};

/// Our byte wrappers and the crates they wrap.
pub(crate) const WRAPPERS: [(&str, &str); 3] =
    [("tlsf", "rlsf"), ("buddy", "buddy_system_allocator"), ("slab", "ax_slab_allocator")];

/// Wrappers allowed more than `--check-overhead`, with the reason: (ours,
/// percent, why).
pub(crate) const EXCEPTIONS: [(&str, f64, &str); 1] = [(
    "slab",
    8.0,
    "a pair of ax_slab_allocator costs 45-71 instructions, and soundness needs three checks it lacks \
     (a zero size; an alignment above 4 KiB, which it would serve misaligned; a block above 4 KiB \
     freed with another fitting size, which would break its counter): 2-5 instructions",
)];

/// Checkers against the heap they check: (checker, heap, why it is not
/// held to `--check-overhead`). Their rows are listed apart.
pub(crate) const CHECKERS: [(&str, &str, &str); 1] = [(
    "checked-tlsf",
    "tlsf",
    "Checked is a debug checker, not a wrapper: per call a live-table lookup and 32 canary bytes written \
     and checked, and each freed block poisoned and read back as it leaves the quarantine (O(size))",
)];

/// Every counted pair: the wrappers, then the checkers.
pub(crate) fn all_pairs() -> Vec<(&'static str, &'static str)> {
    WRAPPERS.into_iter().chain(CHECKERS.map(|(c, h, _)| (c, h))).collect()
}

/// `true` for a checker's row (not a wrapper's).
pub(crate) fn is_checker(ours: &str) -> bool {
    CHECKERS.iter().any(|c| c.0 == ours)
}

/// The counted workloads.
pub(crate) const SHAPES: [&str; 2] = ["hot-64", "churn"];

/// The arena of a counted run.
const ARENA: usize = 32 << 20;

/// Live blocks in `churn`.
const CHURN_LIVE: usize = 1000;

/// One row of the table.
#[derive(Clone, Debug)]
pub(crate) struct Count {
    pub(crate) ours: &'static str,
    pub(crate) raw: &'static str,
    pub(crate) workload: &'static str,
    /// Instructions per pair, the harness taken off.
    pub(crate) ours_per_pair: f64,
    pub(crate) raw_per_pair: f64,
}

impl Count {
    /// How much more ours costs than the raw crate, in percent.
    pub(crate) fn overhead_percent(&self) -> f64 {
        (self.ours_per_pair / self.raw_per_pair - 1.0) * 100.0
    }
}

/// A heap whose calls do nothing: the harness alone.
struct Nothing(NonNull<u8>);

impl Heap for Nothing {
    unsafe fn over(start: *mut u8, _: usize) -> Self {
        Nothing(NonNull::new(start).expect("a non-null arena"))
    }

    #[inline(never)]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        black_box(layout);
        Some(self.0)
    }

    #[inline(never)]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        black_box((ptr, layout));
    }

    unsafe fn realloc(&mut self, ptr: NonNull<u8>, _: Layout, _: usize) -> Option<NonNull<u8>> {
        Some(ptr)
    }

    fn holds(&self, _: *mut u8) -> bool {
        true
    }
}

/// `n` pairs of `shape` on a fresh `H` over `arena`.
fn pairs<H: Heap>(arena: *mut u8, shape: &str, n: usize) -> Result<(), String> {
    // SAFETY: the arena is this heap's alone for this run.
    let mut h = unsafe { H::over(arena, ARENA) };
    match shape {
        "hot-64" => {
            let layout = Layout::from_size_align(64, 8).expect("a valid layout");
            for _ in 0..n {
                let p = h.alloc(black_box(layout)).ok_or("hot-64: out of memory")?;
                // SAFETY: just allocated with `layout`.
                unsafe { h.dealloc(black_box(p), layout) };
            }
        }
        "churn" => {
            // Sizes and victims drawn before the counted loop.
            let mut rng = Rng::new(0x0c0f_fee5);
            let size = |rng: &mut Rng| 16 + rng.below(512 - 16 + 1);
            let mut live: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(CHURN_LIVE);
            for _ in 0..CHURN_LIVE {
                let l = Layout::from_size_align(size(&mut rng), 8).expect("a valid layout");
                live.push((h.alloc(l).ok_or("churn: out of memory")?, l));
            }
            let steps: Vec<(usize, Layout)> = (0..n)
                .map(|_| {
                    let victim = rng.below(CHURN_LIVE);
                    (victim, Layout::from_size_align(size(&mut rng), 8).expect("a valid layout"))
                })
                .collect();
            for &(victim, l) in &steps {
                let (p, old) = live[victim];
                // SAFETY: live in `h` with `old`.
                unsafe { h.dealloc(p, old) };
                live[victim] = (h.alloc(l).ok_or("churn: out of memory")?, l);
            }
            for (p, l) in live {
                // SAFETY: live in `h` with `l`.
                unsafe { h.dealloc(p, l) };
            }
        }
        other => return Err(format!("unknown counted workload {other}")),
    }
    Ok(())
}

/// The hidden child mode: `--count-child HEAP WORKLOAD N`.
pub(crate) fn child(args: &[String]) -> Result<(), String> {
    let [heap, shape, n] = args else { return Err("--count-child HEAP WORKLOAD N".into()) };
    let n: usize = n.parse().map_err(|_| format!("not a count: {n}"))?;
    let layout = Layout::from_size_align(ARENA, 4096).expect("arena layout");
    // SAFETY: a non-zero layout.
    let arena = unsafe { System.alloc(layout) };
    if arena.is_null() {
        return Err("could not reserve the arena".into());
    }
    let run = match heap.as_str() {
        "nothing" => pairs::<Nothing>,
        "tlsf" => pairs::<heaps::OurTlsf>,
        "rlsf" => pairs::<heaps::Rlsf>,
        "buddy" => pairs::<heaps::OurBuddy>,
        "buddy_system_allocator" => pairs::<heaps::RawBuddy>,
        "slab" => pairs::<heaps::OurSlab>,
        "ax_slab_allocator" => pairs::<heaps::RawSlab>,
        "checked-tlsf" => pairs::<heaps::CheckedTlsf>,
        other => return Err(format!("no counted heap {other}")),
    };
    let r = run(arena, shape, n);
    // SAFETY: allocated above with this layout; the heap is gone.
    unsafe { System.dealloc(arena, layout) };
    r
}

/// The instructions one child run executes.
fn collected(heap: &str, shape: &str, n: usize) -> Result<u64, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this program: {e}"))?;
    let out = Command::new("valgrind")
        .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
        .arg(exe)
        .args(["--count-child", heap, shape, &n.to_string()])
        .output()
        .map_err(|e| format!("cannot run valgrind ({e}); install it, e.g. `apt-get install valgrind`"))?;
    let log = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("the counted run of {heap} / {shape} failed:\n{log}"));
    }
    // "==123== Collected : 4567"
    log.lines()
        .find_map(|l| l.split_once("Collected :").and_then(|(_, n)| n.trim().parse().ok()))
        .ok_or_else(|| format!("no instruction count in callgrind's output:\n{log}"))
}

/// Instructions per pair of `shape` on `heap`, harness included.
fn per_pair(heap: &str, shape: &str, n: usize) -> Result<f64, String> {
    let once = collected(heap, shape, n)?;
    let twice = collected(heap, shape, 2 * n)?;
    Ok(twice.saturating_sub(once) as f64 / n as f64)
}

/// The table for these (ours, wrapped) pairs (or (checker, heap)), `n` pairs per run;
/// `progress` is told each step.
pub(crate) fn table(
    wrappers: &[(&'static str, &'static str)],
    n: usize,
    mut progress: impl FnMut(&str),
) -> Result<Vec<Count>, String> {
    let mut out = Vec::new();
    for shape in SHAPES {
        progress(&format!("instructions: harness / {shape}"));
        let harness = per_pair("nothing", shape, n)?;
        for &(ours, raw) in wrappers {
            progress(&format!("instructions: {ours} vs {raw} / {shape}"));
            out.push(Count {
                ours,
                raw,
                workload: shape,
                ours_per_pair: per_pair(ours, shape, n)? - harness,
                raw_per_pair: per_pair(raw, shape, n)? - harness,
            });
        }
    }
    Ok(out)
}
