#![doc = include_str!("../README.md")]

mod arenas;
mod charts;
mod heaps;
mod instructions;
mod measure;
mod pages;
mod report;
mod router;
mod threads;
mod workloads;

use std::{
    alloc::{GlobalAlloc, Layout, System},
    io::{IsTerminal, Write},
    path::PathBuf,
    process::ExitCode,
};

use heaps::{Heap, Kind};
use workloads::{AfterRun, Figure, Scale};

#[global_allocator]
static ROUTER: router::Router = router::Router;

/// The bench arena: every arena heap is made over it, one at a time.
const ARENA: usize = 256 << 20;

/// The workloads' generator: the testkit's xorshift (one generator for the
/// tests and the workbench), seeded per workload so that every contender
/// serves the same requests.
#[derive(Clone, Debug)]
pub(crate) struct Rng(allocator_testkit::XorShift);

impl Rng {
    pub(crate) const fn new(seed: u64) -> Self {
        Self(allocator_testkit::XorShift::new(seed))
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0.range(0, n.saturating_sub(1))
    }

    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        self.0.shuffle(v);
    }
}

/// A byte-heap workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Workload {
    Random200,
    Random30k,
    Realloc200,
    Realloc30k,
    VecPush,
    Shuffled,
    BTree,
    Latency,
    Efficiency,
}

impl Workload {
    pub(crate) const ALL: [Workload; 9] = [
        Workload::Random200,
        Workload::Random30k,
        Workload::Realloc200,
        Workload::Realloc30k,
        Workload::VecPush,
        Workload::Shuffled,
        Workload::BTree,
        Workload::Latency,
        Workload::Efficiency,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Workload::Random200 => "random-200",
            Workload::Random30k => "random-30k",
            Workload::Realloc200 => "realloc-200",
            Workload::Realloc30k => "realloc-30k",
            Workload::VecPush => "vec-push-3m",
            Workload::Shuffled => "fill-shuffled-free",
            Workload::BTree => "btree-50k",
            Workload::Latency => "latency",
            Workload::Efficiency => "efficiency",
        }
    }
}

/// One heap under test.
pub(crate) struct Contender {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    /// For ours: the raw crate it wraps (its overhead is measured against it).
    pub(crate) wraps: Option<&'static str>,
    /// `false` for the process-wide allocators (no efficiency figure).
    pub(crate) bounded: bool,
    pub(crate) run: fn(Workload, *mut u8, Scale, u64) -> Figure,
    /// The heap's health after a long random run, where it can tell.
    pub(crate) health: fn(*mut u8) -> Option<AfterRun>,
}

fn run<H: Heap + 'static>(w: Workload, arena: *mut u8, scale: Scale, seed: u64) -> Figure {
    if w == Workload::Efficiency {
        return workloads::efficiency::<H>(arena, scale.rounds, seed);
    }
    // SAFETY: the arena is used by this heap alone until it is dropped here.
    let mut h = unsafe { H::over(arena, ARENA) };
    match w {
        Workload::Random200 => workloads::random_actions(&mut h, 200, false, scale.ops, seed),
        Workload::Random30k => workloads::random_actions(&mut h, 30_000, false, scale.ops, seed),
        Workload::Realloc200 => workloads::random_actions(&mut h, 200, true, scale.ops, seed),
        Workload::Realloc30k => workloads::random_actions(&mut h, 30_000, true, scale.ops, seed),
        Workload::VecPush => workloads::vec_push(&mut h),
        Workload::Shuffled => workloads::fill_shuffled_free(&mut h, seed),
        Workload::BTree => workloads::btree(&mut h, seed),
        Workload::Latency => workloads::latency(&mut h, scale.pairs, seed),
        Workload::Efficiency => unreachable!("handled above"),
    }
}

macro_rules! contender {
    ($name:literal, $kind:ident, $wraps:expr, $bounded:literal, $ty:ty) => {
        Contender {
            name: $name,
            kind: Kind::$kind,
            wraps: $wraps,
            bounded: $bounded,
            run: run::<$ty>,
            health: workloads::after_random_run::<$ty>,
        }
    };
}

pub(crate) fn contenders() -> Vec<Contender> {
    vec![
        contender!("tlsf", Ours, Some("rlsf"), true, heaps::OurTlsf),
        contender!("buddy", Ours, Some("buddy_system_allocator"), true, heaps::OurBuddy),
        contender!("slab", Ours, Some("ax_slab_allocator"), true, heaps::OurSlab),
        contender!("checked-tlsf", Ours, None, true, heaps::CheckedTlsf),
        contender!("pool256+tlsf", Ours, None, true, heaps::PoolTlsf),
        contender!("tlsf<-pages", Ours, None, true, heaps::RefillTlsf),
        contender!("rlsf", Raw, None, true, heaps::Rlsf),
        contender!("buddy_system_allocator", Raw, None, true, heaps::RawBuddy),
        contender!("ax_slab_allocator", Raw, None, true, heaps::RawSlab),
        contender!("talc", Peer, None, true, heaps::TalcHeap),
        contender!("linked_list_allocator", Peer, None, true, heaps::Lla),
        contender!("system", Peer, None, false, heaps::SystemHeap),
        contender!("mimalloc", Peer, None, false, heaps::Mimalloc),
    ]
}

/// Command-line options.
#[derive(Debug)]
struct Options {
    full: bool,
    only: Option<Vec<String>>,
    workloads: Option<Vec<String>>,
    json: bool,
    baseline: String,
    out: PathBuf,
    /// Only the wrapper table in instructions.
    instructions_only: bool,
    /// Fail when a wrapper costs more than this many percent over its crate.
    check_overhead: Option<f64>,
    /// Only the multi-thread table.
    threads_only: bool,
    /// Timed runs per cell.
    repeat: usize,
}

const USAGE: &str = "usage: allocator-bench [--quick | --full] [--only NAME,…] [--workload NAME,…] [--baseline NAME] [--out DIR] [--json] [--list]
                       [--instructions] [--check-overhead PERCENT] [--threads] [--repeat N]

  --quick        the default set, under two minutes
  --full         ten times the operations, five times the rounds
  --only         these contenders (see --list)
  --workload     these workloads (see --list; `pages` for the page and id table,
                 `health` for the heap health after a random run,
                 `arena` for the per-request arena table,
                 mt-private, mt-cross, mt-prodcons for the multi-thread table)
  --baseline     the contender ratios are taken against (default: system)
  --out          the report folder (default: target/allocator-bench)
  --json         print the results as JSON instead of the table
  --list         list contenders and workloads
  --instructions only the wrapper table in instructions per alloc+free pair
                 (each byte wrapper against the crate it wraps, and the
                 Checked debug heap against the heap it checks, under
                 valgrind's callgrind; also part of every run when valgrind
                 is installed)
  --check-overhead PERCENT
                 exit with failure when a wrapper costs more instructions than
                 its crate by more than PERCENT (needs valgrind; the Checked
                 row is a checker, not a wrapper, and has no limit)
  --threads      only the multi-thread table: shared allocators (through
                 GlobalAlloc) under 1, 2, 4 and 8 threads, M operations/s
  --repeat N     timed runs per cell (byte and multi-thread tables), the
                 median shown with the spread (default 3; the byte table
                 runs one untimed warm-up round first)";

fn parse(args: &[String]) -> Result<Option<Options>, String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut o = Options {
        full: false,
        only: None,
        workloads: None,
        json: false,
        baseline: "system".into(),
        out: root.join("target/allocator-bench"),
        instructions_only: false,
        check_overhead: None,
        threads_only: false,
        repeat: 3,
    };
    let mut it = args.iter();
    let list = |v: Option<&String>| -> Result<Vec<String>, String> {
        Ok(v.ok_or("a list is missing")?.split(',').map(str::to_string).collect())
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => o.full = false,
            "--full" => o.full = true,
            "--json" => o.json = true,
            "--only" => o.only = Some(list(it.next())?),
            "--workload" => o.workloads = Some(list(it.next())?),
            "--baseline" => o.baseline = it.next().ok_or("--baseline needs a name")?.clone(),
            "--out" => o.out = PathBuf::from(it.next().ok_or("--out needs a folder")?),
            "--instructions" => o.instructions_only = true,
            "--threads" => o.threads_only = true,
            "--repeat" => {
                let n = it.next().ok_or("--repeat needs a count")?;
                o.repeat = n.parse().ok().filter(|&n| n > 0).ok_or_else(|| format!("not a count: {n}"))?;
            }
            "--check-overhead" => {
                let p = it.next().ok_or("--check-overhead needs a percentage")?;
                o.check_overhead = Some(p.parse().map_err(|_| format!("not a percentage: {p}"))?);
            }
            "--list" => {
                println!("contenders:");
                for c in contenders() {
                    println!(
                        "  {:<24} {:?}{}",
                        c.name,
                        c.kind,
                        c.wraps.map(|w| format!(", wraps {w}")).unwrap_or_default()
                    );
                }
                println!("shared contenders (the multi-thread table):");
                for c in threads::SHARED {
                    println!("  {}", c.name);
                }
                println!(
                    "workloads: {}, pages, health, arena, {}",
                    Workload::ALL.map(Workload::name).join(", "),
                    threads::Shape::ALL.map(threads::Shape::name).join(", ")
                );
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(Some(o))
}

fn progress(done: usize, total: usize, what: &str) {
    // A progress line belongs on a terminal only: piped or redirected,
    // the output keeps the tables alone.
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K[{done}/{total}] {what}");
        let _ = std::io::stderr().flush();
    }
}

/// Clears the progress line (on a terminal).
fn end_progress() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

/// Instruction counts per run: pairs in the shorter of the two runs.
const COUNTED_PAIRS: usize = 100_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--count-child") {
        return match instructions::child(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    let o = match parse(&args) {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let scale = if o.full {
        Scale { ops: 3_000_000, pairs: 1_000_000, rounds: 50 }
    } else {
        Scale { ops: 300_000, pairs: 100_000, rounds: 10 }
    };
    let wanted = |name: &str| o.workloads.as_ref().is_none_or(|w| w.iter().any(|x| x == name));
    let all = contenders();
    let chosen: Vec<&Contender> =
        all.iter().filter(|c| o.only.as_ref().is_none_or(|only| only.iter().any(|n| n == c.name))).collect();
    let workloads: Vec<Workload> = Workload::ALL.into_iter().filter(|w| wanted(w.name())).collect();

    let mut results = report::Results::new(&o.baseline);
    let counting = o.instructions_only || o.check_overhead.is_some();
    if counting && cfg!(debug_assertions) {
        eprintln!(
            "instructions are counted in release builds only: cargo run --release -p allocator-bench -- …"
        );
        return ExitCode::from(2);
    }
    let shared: Vec<threads::SharedContender> = threads::SHARED
        .into_iter()
        .filter(|c| o.only.as_ref().is_none_or(|only| only.iter().any(|n| n == c.name)))
        .collect();
    let shapes: Vec<threads::Shape> = threads::Shape::ALL.into_iter().filter(|s| wanted(s.name())).collect();
    let mt_scale = threads::MtScale {
        ops: if o.full { 6_000_000 } else { 600_000 },
        repeat: o.repeat,
        budget: std::time::Duration::from_secs(if o.full { 10 } else { 2 }),
    };
    if o.threads_only {
        results.threads = threads::table(&shared, &shapes, mt_scale, |what| progress(0, 1, what));
        end_progress();
        return finish(&o, &results);
    }
    if counting {
        let pairs = instructions::all_pairs();
        results.instructions =
            Some(instructions::table(&pairs, COUNTED_PAIRS, |what| progress(0, pairs.len(), what)));
        end_progress();
        return finish(&o, &results);
    }

    let layout = Layout::from_size_align(ARENA, 4096).expect("arena layout");
    // SAFETY: a non-zero layout; the arena is freed at the end.
    let arena = unsafe { System.alloc(layout) };
    if arena.is_null() {
        eprintln!("could not reserve the {} MiB bench arena", ARENA >> 20);
        return ExitCode::FAILURE;
    }
    keep_process_memory();
    // Touch every page once, so no contender pays the page faults.
    // SAFETY: the arena was just allocated, `ARENA` bytes long.
    unsafe { std::ptr::write_bytes(arena, 0, ARENA) };

    // Round 0 warms every cell up, untimed: the process allocators
    // (system, mimalloc) then serve from memory they already hold, as the
    // arena heaps do from the pre-touched arena. Then `repeat` timed
    // rounds, the contenders interleaved, each round starting one
    // contender later, so that no contender always runs after the same
    // one (or last, sharing the state the others left).
    let cells: Vec<(usize, Workload)> = workloads
        .iter()
        .flat_map(|&w| (0..chosen.len()).map(move |c| (c, w)))
        .filter(|&(c, w)| w != Workload::Efficiency || chosen[c].bounded)
        .collect();
    let total = cells.len() * (o.repeat + 1);
    if !cells.is_empty() {
        results.rows_for(&chosen);
    }
    let mut done = 0;
    for round in 0..=o.repeat {
        for &w in &workloads {
            for k in 0..chosen.len() {
                let c = chosen[(k + round) % chosen.len()];
                if w == Workload::Efficiency && !c.bounded {
                    continue;
                }
                let what = if round == 0 { "warm-up" } else { "run" };
                progress(done, total, &format!("{what} {round}: {} / {}", c.name, w.name()));
                // One seed per workload, the same for every contender and
                // round: each heap serves the same sequence of requests.
                let seed = 0x5eed + workloads.iter().position(|&x| x == w).unwrap_or(0) as u64;
                let figure = (c.run)(w, arena, scale, seed);
                if round > 0 {
                    results.byte(c.name, c.kind, w, figure);
                }
                done += 1;
            }
        }
    }
    if wanted("arena") {
        progress(done, total, "arenas: per-request work");
        results.arenas = arenas::table(o.repeat, 0xa2e4a);
    }
    if wanted("health") {
        progress(done, total, "heap health after a random run");
        results.health = measure::health(&chosen, arena);
    }
    if wanted("pages") {
        progress(done, total, "pages and ids");
        results.pages = measure::pages(if o.full { 200_000 } else { 20_000 });
    }
    progress(done, total, "wrapper overhead");
    results.overhead = measure::overhead(&chosen, arena, scale);
    // SAFETY: allocated above with this layout; no heap uses it any more.
    unsafe { System.dealloc(arena, layout) };
    if !shapes.is_empty() && !shared.is_empty() {
        results.threads = threads::table(&shared, &shapes, mt_scale, |what| progress(done, total, what));
    }
    let pairs: Vec<(&str, &str)> = instructions::all_pairs()
        .into_iter()
        .filter(|(ours, raw)| [ours, raw].iter().all(|n| chosen.iter().any(|c| c.name == **n)))
        .collect();
    if !pairs.is_empty() {
        results.instructions = Some(if cfg!(debug_assertions) {
            Err("instructions are counted in release builds only (cargo run --release)".into())
        } else {
            instructions::table(&pairs, COUNTED_PAIRS, |what| progress(done, total, what))
        });
    }
    end_progress();
    finish(&o, &results)
}

/// mimalloc's `mi_option_purge_delay` in the mimalloc (v3) that
/// `libmimalloc-sys` builds: the option's index in its `mi_option_e`.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Gives the process allocators the arena heaps' treatment of fresh
/// memory: what they got once stays theirs (glibc trims nothing and maps
/// no block of its own up to 32 MiB; mimalloc purges nothing), so after
/// the warm-up round no contender pays page faults in a timed run, as the
/// arena heaps do not over their touched arena. Says so when it cannot.
fn keep_process_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: `mallopt` sets glibc tunables; called before any thread.
        let ok = unsafe {
            libc::mallopt(libc::M_TRIM_THRESHOLD, libc::c_int::MAX) == 1
                && libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1
        };
        if !ok {
            eprintln!("note: glibc's trim and mmap thresholds could not be raised; the system allocator may pay page faults in timed runs");
        }
    }
    // SAFETY: reading and setting an option, before any thread runs.
    unsafe {
        // The default delay is 1000 ms: the index is the option's if so.
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == 1000 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1);
        } else {
            eprintln!("note: mimalloc's purge delay option was not found; mimalloc may pay page faults in timed runs");
        }
    }
}

/// Prints the results, writes the report, and applies `--check-overhead`.
fn finish(o: &Options, results: &report::Results) -> ExitCode {
    if o.json {
        println!("{}", results.json());
    } else {
        println!("{}", results.table());
    }
    if let Err(e) = results.write(&o.out) {
        eprintln!("could not write the report to {}: {e}", o.out.display());
        return ExitCode::FAILURE;
    }
    eprintln!("report: {}", o.out.join("report.md").display());
    let Some(limit) = o.check_overhead else { return ExitCode::SUCCESS };
    match &results.instructions {
        Some(Ok(counts)) => {
            let limit_of = |ours: &str| {
                instructions::EXCEPTIONS.iter().find(|e| e.0 == ours).map_or(limit, |e| e.1.max(limit))
            };
            let over: Vec<_> = counts
                .iter()
                .filter(|c| !instructions::is_checker(c.ours) && c.overhead_percent() > limit_of(c.ours))
                .collect();
            for c in &over {
                eprintln!(
                    "{} costs {:+.1}% over {} on {} (limit {}%)",
                    c.ours,
                    c.overhead_percent(),
                    c.raw,
                    c.workload,
                    limit_of(c.ours)
                );
            }
            for (ours, allowed, why) in instructions::EXCEPTIONS {
                println!("{ours} may cost up to {allowed}%: {why}");
            }
            for (checker, heap, why) in instructions::CHECKERS {
                println!("{checker} is not held to a limit over {heap}: {why}");
            }
            if over.is_empty() {
                println!(
                    "every wrapper within {limit}% of its crate in instructions, but for the exceptions above \
                     (checkers apart)"
                );
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(Err(why)) => {
            eprintln!("--check-overhead: {why}");
            ExitCode::FAILURE
        }
        None => ExitCode::FAILURE,
    }
}
