//! The multi-thread table: shared allocators, used through `GlobalAlloc`
//! on `&'static` instances (none of them installed as the process's global
//! allocator), under 1, 2, 4 and 8 threads.
//!
//! Every contender gets the same seeds and the same untimed warm-up run;
//! the arena heaps get arenas whose every page was touched first. The
//! harness never allocates from a contender for its own bookkeeping: its
//! arrays and hand-off rings are made before the timed part, by threads
//! whose allocations the routing global allocator sends to the system.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    hint::spin_loop,
    sync::{
        atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering},
        Barrier, Once,
    },
    thread,
    time::{Duration, Instant},
};

use allocator::{
    compose::SizeClasses, policy::LARGE_SLABS, Depot, Locked, SlabByteAllocator, ThreadCached,
    TlsfByteAllocator, YieldLock,
};

use crate::Rng;

/// A shared allocator, as every thread of a run reaches it.
pub(crate) type Shared = &'static (dyn GlobalAlloc + Sync);

/// One contender of the multi-thread table.
#[derive(Clone, Copy)]
pub(crate) struct SharedContender {
    pub(crate) name: &'static str,
    /// One of this workspace's.
    pub(crate) ours: bool,
    /// The allocator, made (and its arena touched) at the first call.
    pub(crate) get: fn() -> Shared,
}

/// The contenders, one line each. A new one is a `fn() -> Shared` (see
/// `locked_over_arena!` for a heap of ours behind a lock) and a line here.
pub(crate) const SHARED: [SharedContender; 8] = [
    SharedContender { name: "system", ours: false, get: system },
    SharedContender { name: "mimalloc", ours: false, get: mimalloc },
    SharedContender { name: "talc", ours: false, get: talc },
    SharedContender { name: "Locked<tlsf>", ours: true, get: locked_tlsf },
    SharedContender { name: "Locked<tlsf,yield>", ours: true, get: locked_tlsf_yield },
    SharedContender { name: "Locked<slab>", ours: true, get: locked_slab },
    SharedContender { name: "ThreadCached<tlsf>", ours: true, get: cached_tlsf },
    SharedContender { name: "policy::Hosted", ours: true, get: hosted },
];

/// The arena each arena heap gets: far more than the 8 × 1,000 live blocks
/// of at most 512 bytes and the blocks in flight need.
pub(crate) const SHARED_ARENA: usize = 64 << 20;

/// A new arena of `SHARED_ARENA` bytes from the system, every page
/// written once (so no contender pays the page faults); never freed, since
/// the heap over it is a `static`.
fn prefaulted_arena() -> *mut u8 {
    let layout = Layout::from_size_align(SHARED_ARENA, 4096).expect("arena layout");
    // SAFETY: a non-zero layout.
    let arena = unsafe { System.alloc(layout) };
    assert!(!arena.is_null(), "could not reserve a {} MiB arena", SHARED_ARENA >> 20);
    // SAFETY: just allocated, `SHARED_ARENA` bytes long.
    unsafe { std::ptr::write_bytes(arena, 0, SHARED_ARENA) };
    arena
}

fn system() -> Shared {
    &System
}

fn mimalloc() -> Shared {
    static MIMALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
    &MIMALLOC
}

/// talc behind the lock its docs pair it with (a spin mutex through
/// `lock_api`; here spin's, the same lock as `Locked`'s default), over an
/// arena it claims.
fn talc() -> Shared {
    static TALC: talc::TalcLock<allocator::SpinLock, talc::source::Manual> =
        talc::TalcLock::new(talc::source::Manual);
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a fresh arena, talc's alone for the rest of the program.
        unsafe { TALC.lock().claim(prefaulted_arena(), SHARED_ARENA) }.expect("talc claims its arena");
    });
    &TALC
}

/// A `fn() -> Shared` giving a heap of ours behind `Locked` (its default
/// lock, `SpinLock`) over its own pre-faulted arena.
macro_rules! locked_over_arena {
    ($name:ident, $heap:ty, $new:expr) => {
        locked_over_arena!($name, $heap, $new, allocator::SpinLock);
    };
    ($name:ident, $heap:ty, $new:expr, $lock:ty) => {
        fn $name() -> Shared {
            static HEAP: Locked<$heap, $lock> = Locked::new($new);
            static ONCE: Once = Once::new();
            ONCE.call_once(|| {
                // SAFETY: a fresh arena, this heap's alone for the rest of
                // the program.
                unsafe { HEAP.init(prefaulted_arena(), SHARED_ARENA) }.expect("the heap takes its arena");
            });
            &HEAP
        }
    };
}

locked_over_arena!(locked_tlsf, TlsfByteAllocator, TlsfByteAllocator::new());
locked_over_arena!(locked_tlsf_yield, TlsfByteAllocator, TlsfByteAllocator::new(), YieldLock);
locked_over_arena!(locked_slab, SlabByteAllocator, SlabByteAllocator::new());

/// A `fn() -> Shared` giving a per-thread magazine front over a depot of
/// `$heap` (behind `YieldLock`) over its own pre-faulted arena.
macro_rules! thread_cached_over_arena {
    ($name:ident, $heap:ty, $new:expr) => {
        fn $name() -> Shared {
            static DEPOT: Depot<$heap, YieldLock> = Depot::new($new);
            static FRONT: ThreadCached<$heap, YieldLock> = ThreadCached::new(&DEPOT);
            static ONCE: Once = Once::new();
            ONCE.call_once(|| {
                // SAFETY: a fresh arena, this heap's alone for the rest of
                // the program.
                unsafe { DEPOT.init(prefaulted_arena(), SHARED_ARENA) }.expect("the heap takes its arena");
            });
            &FRONT
        }
    };
}

thread_cached_over_arena!(cached_tlsf, TlsfByteAllocator, TlsfByteAllocator::new());
// `policy::Hosted`: per-thread magazines over size classes over TLSF.
thread_cached_over_arena!(
    hosted,
    SizeClasses<TlsfByteAllocator, LARGE_SLABS>,
    SizeClasses::new(TlsfByteAllocator::new())
);

/// A multi-thread workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// Each thread replaces random blocks among its own 1,000.
    Private,
    /// The same, but one replaced block in four goes to the next thread
    /// (a ring), which frees it.
    Cross,
    /// Half the threads allocate, the other half free what they are given.
    ProducerConsumer,
}

impl Shape {
    pub(crate) const ALL: [Shape; 3] = [Shape::Private, Shape::Cross, Shape::ProducerConsumer];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Shape::Private => "mt-private",
            Shape::Cross => "mt-cross",
            Shape::ProducerConsumer => "mt-prodcons",
        }
    }

    pub(crate) fn what(self) -> &'static str {
        match self {
            Shape::Private => {
                "private churn: 1,000 live blocks of 16-512 B per thread, a random one replaced each step"
            }
            Shape::Cross => {
                "cross-thread frees: as private, but 1 replaced block in 4 is freed by the next thread"
            }
            Shape::ProducerConsumer => {
                "producer-consumer: half the threads allocate 16-512 B, the other half free"
            }
        }
    }
}

/// The thread counts of the table.
pub(crate) const THREADS: [usize; 4] = [1, 2, 4, 8];

/// Live blocks per thread in the churn workloads.
const LIVE: usize = 1000;
/// Slots of a hand-off ring (a power of two).
const RING: usize = 1024;
/// A thread alone (the 1-thread producer-consumer) keeps at most this many
/// blocks in its ring before freeing the oldest.
const ALONE_IN_FLIGHT: usize = 64;
/// The deadline is read every this many steps.
const CLOCK_EVERY: usize = 64;

/// How large a run is and how long it may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MtScale {
    /// Operations (allocations and frees) per run, shared among its threads.
    pub(crate) ops: usize,
    /// Runs per cell (the median is reported).
    pub(crate) repeat: usize,
    /// A run stops at this time, reporting what it reached.
    pub(crate) budget: Duration,
}

/// What one run did.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Operations per second.
    rate: f64,
    /// It hit the time budget.
    capped: bool,
}

/// One cell of the table: a contender, a workload, a thread count.
#[derive(Clone, Debug)]
pub(crate) struct MtCell {
    /// Operations per second: the median, the lowest and the highest run.
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    /// Runs made (fewer than asked when one hit the budget).
    pub(crate) runs: usize,
    /// A run hit the time budget: the figure is the rate reached.
    pub(crate) capped: bool,
    /// Why the cell has no figure (an allocation failed, a block was found
    /// corrupted).
    pub(crate) error: Option<String>,
}

/// A contender's cells for one workload, by thread count.
#[derive(Clone, Debug)]
pub(crate) struct MtRow {
    pub(crate) name: &'static str,
    pub(crate) ours: bool,
    pub(crate) shape: Shape,
    pub(crate) cells: Vec<(usize, MtCell)>,
}

/// A single-producer, single-consumer ring of blocks, made before the
/// timed part (from the system), never allocating afterwards.
struct Ring {
    ptrs: Box<[AtomicPtr<u8>]>,
    sizes: Box<[AtomicUsize]>,
    head: Padded,
    tail: Padded,
    /// The producer will push no more.
    closed: AtomicBool,
}

/// A counter on its own cache lines.
#[repr(align(128))]
struct Padded(AtomicUsize);

impl Ring {
    fn new() -> Self {
        Ring {
            ptrs: (0..RING).map(|_| AtomicPtr::new(std::ptr::null_mut())).collect(),
            sizes: (0..RING).map(|_| AtomicUsize::new(0)).collect(),
            head: Padded(AtomicUsize::new(0)),
            tail: Padded(AtomicUsize::new(0)),
            closed: AtomicBool::new(false),
        }
    }

    fn len(&self) -> usize {
        self.tail.0.load(Ordering::Acquire).wrapping_sub(self.head.0.load(Ordering::Acquire))
    }

    /// By the producer only: `false` when full.
    fn push(&self, ptr: *mut u8, size: usize) -> bool {
        let t = self.tail.0.load(Ordering::Relaxed);
        if t.wrapping_sub(self.head.0.load(Ordering::Acquire)) == RING {
            return false;
        }
        self.ptrs[t % RING].store(ptr, Ordering::Relaxed);
        self.sizes[t % RING].store(size, Ordering::Relaxed);
        self.tail.0.store(t.wrapping_add(1), Ordering::Release);
        true
    }

    /// By the consumer only.
    fn pop(&self) -> Option<(*mut u8, usize)> {
        let h = self.head.0.load(Ordering::Relaxed);
        if h == self.tail.0.load(Ordering::Acquire) {
            return None;
        }
        let block =
            (self.ptrs[h % RING].load(Ordering::Relaxed), self.sizes[h % RING].load(Ordering::Relaxed));
        self.head.0.store(h.wrapping_add(1), Ordering::Release);
        Some(block)
    }
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("bench layouts are valid")
}

/// A random block size, 16..=512 bytes.
fn size(rng: &mut Rng) -> usize {
    16 + rng.below(512 - 16 + 1)
}

/// The pattern a block carries: its first 8 bytes hold this, its last 8
/// the complement; both depend on the address and size, so a block that
/// overlaps another, or is handed out twice, is caught when it is freed.
fn tag(p: *mut u8, size: usize) -> u64 {
    (p.addr() as u64 ^ ((size as u64) << 48)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// One thread's view of its contender, counting operations.
struct Worker {
    a: Shared,
    ops: usize,
    error: Option<String>,
}

impl Worker {
    /// A new block of `size` bytes, its pattern written; null on failure
    /// (recorded).
    fn alloc(&mut self, size: usize) -> *mut u8 {
        // SAFETY: a non-zero size.
        let p = unsafe { self.a.alloc(layout(size)) };
        if p.is_null() {
            self.error.get_or_insert_with(|| format!("allocation of {size} bytes failed"));
            return p;
        }
        let t = tag(p, size);
        // SAFETY: a fresh block of `size >= 16` bytes.
        unsafe {
            p.cast::<u64>().write_unaligned(t);
            p.add(size - 8).cast::<u64>().write_unaligned(!t);
        }
        self.ops += 1;
        p
    }

    /// Checks the pattern of a block from `alloc` and frees it; a
    /// corrupted block is recorded and leaked.
    fn free(&mut self, p: *mut u8, size: usize) {
        let t = tag(p, size);
        // SAFETY: a live block of `size` bytes from `alloc`.
        let (head, tail) =
            unsafe { (p.cast::<u64>().read_unaligned(), p.add(size - 8).cast::<u64>().read_unaligned()) };
        if head != t || tail != !t {
            self.error.get_or_insert_with(|| format!("the {size}-byte block at {p:p} was overwritten"));
            return;
        }
        // SAFETY: live, allocated with this layout.
        unsafe { self.a.dealloc(p, layout(size)) };
        self.ops += 1;
    }
}

/// What a thread does in a run.
#[derive(Clone, Copy)]
enum Role<'r> {
    /// Churn among its own blocks; with `hand_off`, one replaced block in
    /// four goes to `out` and the blocks from `inbox` are freed here.
    Churn {
        hand_off: Option<(&'r Ring, &'r Ring)>,
    },
    Producer(&'r Ring),
    Consumer(&'r Ring),
    /// The 1-thread producer-consumer: both ends of its own ring.
    Alone(&'r Ring),
}

/// What a thread reports: operations, when its timed part began and
/// ended, whether it hit the deadline, and any failure.
struct Report {
    ops: usize,
    start: Instant,
    end: Instant,
    capped: bool,
    error: Option<String>,
}

/// One thread of a run. Every thread passes both barriers, whatever
/// happens, so a failure never leaves the others waiting.
fn thread_body(
    a: Shared,
    role: Role<'_>,
    steps: usize,
    seed: u64,
    budget: Duration,
    barriers: &[Barrier; 2],
) -> Report {
    let mut rng = Rng::new(seed);
    let mut w = Worker { a, ops: 0, error: None };
    // Made here, before the timed part: the routing global allocator sends
    // this thread's allocations to the system, never to the contender.
    let mut live: Vec<(*mut u8, usize)> = Vec::with_capacity(LIVE);
    if let Role::Churn { .. } = role {
        for _ in 0..LIVE {
            let s = size(&mut rng);
            live.push((w.alloc(s), s));
        }
    } else {
        // The same warm-up of this thread's path into the allocator.
        let p = w.alloc(64);
        if !p.is_null() {
            w.free(p, 64);
        }
    }
    w.ops = 0;
    let ready = w.error.is_none();
    barriers[0].wait();
    let start = Instant::now();
    let deadline = start + budget;
    let mut capped = false;
    if ready {
        match role {
            Role::Churn { hand_off } => {
                for step in 0..steps {
                    if step % CLOCK_EVERY == 0 && Instant::now() >= deadline {
                        capped = true;
                        break;
                    }
                    if let Some((_, inbox)) = hand_off {
                        while let Some((p, s)) = inbox.pop() {
                            w.free(p, s);
                        }
                    }
                    let v = rng.below(LIVE);
                    let (p, s) = live[v];
                    let give = rng.below(4) == 0;
                    match hand_off {
                        Some((out, _)) if give && out.push(p, s) => {}
                        _ => w.free(p, s),
                    }
                    let s = size(&mut rng);
                    live[v] = (w.alloc(s), s);
                    if w.error.is_some() {
                        break;
                    }
                }
            }
            Role::Producer(out) => {
                'steps: for step in 0..steps {
                    if step % CLOCK_EVERY == 0 && Instant::now() >= deadline {
                        capped = true;
                        break;
                    }
                    let s = size(&mut rng);
                    let p = w.alloc(s);
                    if p.is_null() {
                        break;
                    }
                    while !out.push(p, s) {
                        if Instant::now() >= deadline {
                            capped = true;
                            w.free(p, s);
                            break 'steps;
                        }
                        thread::yield_now();
                    }
                }
            }
            Role::Consumer(inbox) => loop {
                match inbox.pop() {
                    Some((p, s)) => w.free(p, s),
                    None if inbox.closed.load(Ordering::Acquire) && inbox.len() == 0 => break,
                    None => {
                        spin_loop();
                        thread::yield_now();
                    }
                }
            },
            Role::Alone(ring) => {
                for step in 0..steps {
                    if step % CLOCK_EVERY == 0 && Instant::now() >= deadline {
                        capped = true;
                        break;
                    }
                    let s = size(&mut rng);
                    let p = w.alloc(s);
                    if p.is_null() {
                        break;
                    }
                    ring.push(p, s);
                    if ring.len() > ALONE_IN_FLIGHT {
                        if let Some((p, s)) = ring.pop() {
                            w.free(p, s);
                        }
                    }
                }
            }
        }
    }
    let end = Instant::now();
    let ops = w.ops;
    if let Role::Producer(out) = role {
        // Set whatever happened (a producer that never started too), so
        // that its consumer finishes.
        out.closed.store(true, Ordering::Release);
    }
    // Nobody hands this thread anything after this barrier.
    barriers[1].wait();
    let inbox = match role {
        Role::Churn { hand_off: Some((_, inbox)) } => Some(inbox),
        Role::Consumer(r) | Role::Alone(r) => Some(r),
        _ => None,
    };
    while let Some((p, s)) = inbox.and_then(Ring::pop) {
        w.free(p, s);
    }
    for (p, s) in live {
        if !p.is_null() {
            w.free(p, s);
        }
    }
    Report { ops, start, end, capped, error: w.error }
}

/// One run of `shape` on `a` with `threads` threads.
fn run(a: Shared, shape: Shape, threads: usize, scale: MtScale, seed: u64) -> Result<Run, String> {
    // The rings, made before any thread starts: ring `i` goes from thread
    // `i` to thread `i + 1` (cross), or from producer `i` to consumer `i`.
    let rings: Vec<Ring> = (0..threads).map(|_| Ring::new()).collect();
    let barriers = [Barrier::new(threads), Barrier::new(threads)];
    let roles: Vec<Role<'_>> = (0..threads)
        .map(|i| match shape {
            Shape::Private => Role::Churn { hand_off: None },
            Shape::Cross => Role::Churn { hand_off: Some((&rings[i], &rings[(i + threads - 1) % threads])) },
            Shape::ProducerConsumer if threads == 1 => Role::Alone(&rings[0]),
            Shape::ProducerConsumer if i % 2 == 0 => Role::Producer(&rings[i]),
            Shape::ProducerConsumer => Role::Consumer(&rings[i - 1]),
        })
        .collect();
    // A churn step is two operations; a produced block is two (its alloc
    // and its free).
    let steps = match shape {
        Shape::Private | Shape::Cross => scale.ops / 2 / threads,
        Shape::ProducerConsumer => scale.ops / 2 / threads.div_ceil(2),
    };
    let reports: Vec<Report> = thread::scope(|s| {
        let handles: Vec<_> = roles
            .iter()
            .enumerate()
            .map(|(i, &role)| {
                let barriers = &barriers;
                let seed = seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                s.spawn(move || thread_body(a, role, steps, seed, scale.budget, barriers))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a bench thread panicked")).collect()
    });
    if let Some(e) = reports.iter().find_map(|r| r.error.clone()) {
        return Err(e);
    }
    let start = reports.iter().map(|r| r.start).min().expect("at least one thread");
    let end = reports.iter().map(|r| r.end).max().expect("at least one thread");
    let ops: usize = reports.iter().map(|r| r.ops).sum();
    Ok(Run {
        rate: ops as f64 / end.duration_since(start).as_secs_f64(),
        capped: reports.iter().any(|r| r.capped),
    })
}

/// The table: every chosen contender × workload × thread count, `repeat`
/// runs each, the contenders interleaved within each repetition; a cell
/// whose run hit the budget is not run again. `progress` is told each
/// step.
pub(crate) fn table(
    contenders: &[SharedContender],
    shapes: &[Shape],
    scale: MtScale,
    mut progress: impl FnMut(&str),
) -> Vec<MtRow> {
    // Arenas made and touched, and the same untimed run for everyone.
    for c in contenders {
        progress(&format!("threads: warm-up / {}", c.name));
        let warm = MtScale { ops: scale.ops / 4, ..scale };
        let _ = run((c.get)(), Shape::Private, 2, warm, 0x3a7e);
    }
    let cells: Vec<(Shape, usize)> =
        shapes.iter().flat_map(|&s| THREADS.iter().map(move |&t| (s, t))).collect();
    // runs[contender][cell]
    let mut runs: Vec<Vec<Result<Vec<Run>, String>>> =
        contenders.iter().map(|_| cells.iter().map(|_| Ok(Vec::new())).collect()).collect();
    for rep in 0..scale.repeat {
        for (k, &(shape, threads)) in cells.iter().enumerate() {
            for (ci, c) in contenders.iter().enumerate() {
                let done = match &runs[ci][k] {
                    Ok(v) => v.iter().any(|r| r.capped),
                    Err(_) => true,
                };
                if done {
                    continue;
                }
                progress(&format!(
                    "threads: {} / {} / {threads} thread(s), run {} of {}",
                    c.name,
                    shape.name(),
                    rep + 1,
                    scale.repeat
                ));
                let seed = 0x7ead_5eed ^ ((k as u64) << 8) ^ rep as u64;
                match run((c.get)(), shape, threads, scale, seed) {
                    Ok(r) => {
                        if let Ok(v) = &mut runs[ci][k] {
                            v.push(r);
                        }
                    }
                    Err(e) => runs[ci][k] = Err(e),
                }
            }
        }
    }
    let mut rows = Vec::new();
    for &shape in shapes {
        for (ci, c) in contenders.iter().enumerate() {
            let row_cells = cells
                .iter()
                .enumerate()
                .filter(|(_, cell)| cell.0 == shape)
                .map(|(k, &(_, threads))| (threads, cell(&runs[ci][k])))
                .collect();
            rows.push(MtRow { name: c.name, ours: c.ours, shape, cells: row_cells });
        }
    }
    rows
}

fn cell(runs: &Result<Vec<Run>, String>) -> MtCell {
    match runs {
        Ok(v) if !v.is_empty() => {
            let mut rates: Vec<f64> = v.iter().map(|r| r.rate).collect();
            rates.sort_by(f64::total_cmp);
            MtCell {
                median: rates[rates.len() / 2],
                min: rates[0],
                max: rates[rates.len() - 1],
                runs: rates.len(),
                capped: v.iter().any(|r| r.capped),
                error: None,
            }
        }
        Ok(_) => {
            MtCell { median: 0.0, min: 0.0, max: 0.0, runs: 0, capped: false, error: Some("not run".into()) }
        }
        Err(e) => MtCell { median: 0.0, min: 0.0, max: 0.0, runs: 0, capped: false, error: Some(e.clone()) },
    }
}
