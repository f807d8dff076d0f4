//! The magazine fronts: the conformance suite through each (as a heap of
//! the calling context), blocks freed by other threads, thread exit with
//! blocks live, flushes and drains, and out of memory with full caches.

use core::{
    alloc::{GlobalAlloc, Layout},
    ptr::NonNull,
    sync::atomic::{AtomicUsize, Ordering},
};
use std::{cell::Cell, sync::mpsc, thread};

use allocator::{
    AllocError, AllocResult, BaseAllocator, ByteAllocator, CpuId, Depot, Figures, Lock, PerCpu, SpinLock,
    ThreadCached, TlsfByteAllocator, YieldLock,
};
use allocator_testkit::{byte_allocator_tests, ByteConfig};

/// A distinct index per test thread, as a CPU index: no two threads share
/// one, and a thread never runs two operations at once.
struct ThreadIndex;

static NEXT_INDEX: AtomicUsize = AtomicUsize::new(0);

// SAFETY: each thread gets its own index, once; a thread runs one
// operation at a time (the fronts never call back into themselves).
unsafe impl CpuId for ThreadIndex {
    fn current() -> usize {
        std::thread_local! {
            static INDEX: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        INDEX.with(|i| {
            if i.get() == usize::MAX {
                i.set(NEXT_INDEX.fetch_add(1, Ordering::Relaxed));
            }
            i.get()
        })
    }
}

const CPUS: usize = 256;

type Cpus = PerCpu<TlsfByteAllocator, ThreadIndex, CPUS>;
type Threads = ThreadCached<TlsfByteAllocator>;
type ThreadsDepot = Depot<TlsfByteAllocator, YieldLock>;

/// What the suite needs of a front beyond `GlobalAlloc`.
trait Front: GlobalAlloc + Sync + 'static {
    type L: Lock + Sync;
    fn depot(&self) -> &Depot<TlsfByteAllocator, Self::L>;
    fn cached_here(&self) -> usize;
    fn flush_here(&self) -> usize;
    /// # Safety
    /// As the fronts' `usable_size`.
    unsafe fn usable(&self, ptr: NonNull<u8>, layout: Layout) -> usize;
    /// # Safety
    /// As the fronts' `resize_in_place`.
    unsafe fn in_place(&self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult;
}

impl Front for Cpus {
    type L = SpinLock;
    fn depot(&self) -> &Depot<TlsfByteAllocator> {
        PerCpu::depot(self)
    }
    fn cached_here(&self) -> usize {
        self.cached_by_current()
    }
    fn flush_here(&self) -> usize {
        self.flush_current().unwrap()
    }
    unsafe fn usable(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded.
        unsafe { self.usable_size(ptr, layout) }
    }
    unsafe fn in_place(&self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.resize_in_place(ptr, layout, new_size) }
    }
}

impl Front for Threads {
    type L = YieldLock;
    fn depot(&self) -> &ThreadsDepot {
        ThreadCached::depot(self)
    }
    fn cached_here(&self) -> usize {
        self.cached_by_current_thread()
    }
    fn flush_here(&self) -> usize {
        self.flush_current_thread().unwrap()
    }
    unsafe fn usable(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded.
        unsafe { self.usable_size(ptr, layout) }
    }
    unsafe fn in_place(&self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.resize_in_place(ptr, layout, new_size) }
    }
}

fn new_cpus() -> &'static Cpus {
    Box::leak(Box::new(Cpus::new(TlsfByteAllocator::new())))
}

fn new_threads() -> &'static Threads {
    let depot: &'static ThreadsDepot = Box::leak(Box::new(Depot::new(TlsfByteAllocator::new())));
    Box::leak(Box::new(Threads::new(depot)))
}

/// A front seen from the calling thread as a single-owner heap; dropping
/// it gives the thread's magazines back (the test memory goes away with
/// it).
struct AsHeap<F: Front>(&'static F);

impl<F: Front> Drop for AsHeap<F> {
    fn drop(&mut self) {
        self.0.flush_here();
    }
}

impl<F: Front> BaseAllocator for AsHeap<F> {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.0.depot().init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.0.depot().add_memory(start, size) }
    }
}

// SAFETY: forwards to the front, whose `GlobalAlloc` makes the promises;
// figures are the heap's less this thread's magazines.
unsafe impl<F: Front> ByteAllocator for AsHeap<F> {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        if layout.size() == 0 {
            return Err(AllocError::InvalidParam);
        }
        // SAFETY: a non-zero size.
        NonNull::new(unsafe { self.0.alloc(layout) }).ok_or(AllocError::NoMemory)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded.
        unsafe { self.0.dealloc(ptr.as_ptr(), layout) }
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.0.in_place(ptr, layout, new_size) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded.
        unsafe { self.0.usable(ptr, layout) }
    }

    /// Gives this thread's magazines and the depot's back to the heap
    /// first (the heap counts cached blocks as used), so the suite reads
    /// them amortised (`walked_figures`), between runs of cached
    /// operations.
    fn figures(&self) -> Figures {
        self.0.flush_here();
        self.0.depot().drain().unwrap();
        self.0.depot().figures().unwrap()
    }
}

fn suite_config() -> ByteConfig {
    ByteConfig::new(256 * 1024).more_regions(&[64 * 1024, 128 * 1024]).cases(32).walked_figures()
}

byte_allocator_tests!(per_cpu, AsHeap(new_cpus()), suite_config());
byte_allocator_tests!(per_thread, AsHeap(new_threads()), suite_config());

fn arena<F: Front>(front: &F, size: usize) {
    let memory = Box::leak(vec![core::mem::MaybeUninit::<u8>::uninit(); size].into_boxed_slice());
    front.depot().add_static(memory).unwrap();
}

/// Fills each block with a byte pattern of its own and checks it later.
fn fill(p: *mut u8, size: usize, seed: usize) {
    // SAFETY: the caller's live block of `size` bytes.
    unsafe { p.write_bytes(seed as u8, size) };
}

fn check(p: *mut u8, size: usize, seed: usize) {
    // SAFETY: as `fill`.
    let bytes = unsafe { core::slice::from_raw_parts(p, size) };
    assert!(bytes.iter().all(|&b| b == seed as u8), "block {p:p} corrupted");
}

/// Threads allocate, free their own blocks and free blocks the previous
/// thread sent them; each thread exits with blocks in its magazines (and
/// flushes them first if `flush_at_exit`: a CPU going offline); all memory
/// is back in the heap afterwards.
fn churn_across_threads<F: Front>(front: &'static F, threads: usize, flush_at_exit: bool) {
    let start = front.depot().figures().unwrap().used;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..threads).map(|_| mpsc::channel::<(usize, usize, usize)>()).unzip();
    let handles: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(t, rx)| {
            let next = txs[(t + 1) % threads].clone();
            thread::spawn(move || {
                let mut live: Vec<(usize, usize, usize)> = Vec::new();
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ t as u64;
                for i in 0..20_000usize {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let size = 16 + (x as usize % 600);
                    let layout = Layout::from_size_align(size, 8).unwrap();
                    // SAFETY: a non-zero size.
                    let p = unsafe { front.alloc(layout) };
                    assert!(!p.is_null());
                    fill(p, size, i);
                    live.push((p as usize, size, i));
                    if live.len() > 300 {
                        let (q, s, seed) = live.swap_remove(x as usize % live.len());
                        check(q as *mut u8, s, seed);
                        if i % 4 == 0 {
                            next.send((q, s, seed)).unwrap();
                        } else {
                            // SAFETY: allocated above for this layout.
                            unsafe { front.dealloc(q as *mut u8, Layout::from_size_align(s, 8).unwrap()) };
                        }
                    }
                    while let Ok((q, s, seed)) = rx.try_recv() {
                        check(q as *mut u8, s, seed);
                        // SAFETY: another thread allocated it here and gave it up.
                        unsafe { front.dealloc(q as *mut u8, Layout::from_size_align(s, 8).unwrap()) };
                    }
                }
                drop(next);
                if flush_at_exit {
                    front.flush_here();
                }
                (live, rx)
            })
        })
        .collect();
    drop(txs);
    let rests: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for (live, rx) in rests {
        for (q, s, seed) in live.into_iter().chain(rx.try_iter()) {
            check(q as *mut u8, s, seed);
            // SAFETY: allocated on a thread that has exited; freed once.
            unsafe { front.dealloc(q as *mut u8, Layout::from_size_align(s, 8).unwrap()) };
        }
    }
    front.flush_here();
    assert_eq!(front.cached_here(), 0);
    front.depot().drain().unwrap();
    assert_eq!(front.depot().figures().unwrap().used, start, "every block is back in the heap");
}

#[test]
fn per_thread_blocks_freed_on_other_threads_and_thread_exit_return_everything() {
    let front = new_threads();
    arena(front, 16 << 20);
    for threads in [2, 4, 8] {
        churn_across_threads(front, threads, false);
    }
}

#[test]
fn per_cpu_blocks_freed_on_other_cpus_come_back_after_flushes() {
    let front = new_cpus();
    arena(front, 16 << 20);
    for threads in [2, 4, 8] {
        churn_across_threads(front, threads, true);
    }
}

/// A kernel's "memory in use": blocks cached on other CPUs come back with
/// `flush_all` (their CPUs parked: here, threads that have ended), and a
/// flush that cannot run says why instead of answering 0.
#[test]
fn flush_all_returns_every_cpu_s_magazines_and_flush_cpu_says_why_it_failed() {
    let front = new_cpus();
    arena(front, 4 << 20);
    let layout = Layout::from_size_align(48, 8).unwrap();
    let cpus: Vec<usize> = (0..3)
        .map(|_| {
            std::thread::spawn(move || {
                // SAFETY: a non-zero size; freed at once, into this CPU's
                // magazine.
                unsafe { front.dealloc(front.alloc(layout), layout) };
                ThreadIndex::current()
            })
            .join()
            .unwrap()
        })
        .collect();
    // Indices are handed out per thread across the whole test binary: one
    // at or above `CPUS` has no magazines (its blocks went straight back).
    let cached: Vec<usize> = cpus.into_iter().filter(|&c| c < CPUS).collect();
    let used = front.figures().unwrap().used;
    assert!(used >= cached.len() * 48, "{} CPUs hold blocks in their magazines: {used}", cached.len());
    // SAFETY: the threads that used those CPU indices have ended; this
    // thread runs no operation of the front while it flushes.
    let returned = unsafe { front.flush_all() }.unwrap();
    assert!(returned >= cached.len() * 48, "{returned}");
    assert_eq!(front.figures().unwrap().used, 0);
    // SAFETY: an index with no magazines; nothing runs there.
    assert_eq!(unsafe { front.flush_cpu(CPUS) }, Err(AllocError::InvalidParam));
    for cpu in cached {
        // SAFETY: that CPU's thread has ended; its magazines are empty now.
        assert_eq!(unsafe { front.flush_cpu(cpu) }, Ok(0));
    }
}

#[test]
fn a_thread_exiting_gives_its_magazines_back() {
    let front = new_threads();
    arena(front, 1 << 20);
    let layout = Layout::from_size_align(64, 8).unwrap();
    thread::spawn(move || {
        // SAFETY: a non-zero size; each block is freed once.
        let blocks: Vec<_> = (0..100).map(|_| unsafe { front.alloc(layout) }).collect();
        for p in blocks {
            // SAFETY: allocated just above.
            unsafe { front.dealloc(p, layout) };
        }
        assert!(front.cached_by_current_thread() > 0);
    })
    .join()
    .unwrap();
    // The depot holds what the thread left; draining it empties the heap.
    assert!(front.depot().cached_bytes().unwrap() >= 64 * 64);
    front.drain().unwrap();
    assert_eq!(front.depot().cached_bytes().unwrap(), 0);
    assert_eq!(front.figures().unwrap().used, 0);
}

#[test]
fn out_of_memory_flushes_the_magazines_and_fills_the_heap() {
    let front = new_threads();
    arena(front, 256 * 1024);
    let small = Layout::from_size_align(48, 8).unwrap();
    // Fill with small blocks, free them all: they sit in magazines and the
    // depot.
    let mut blocks = Vec::new();
    loop {
        // SAFETY: a non-zero size.
        let p = unsafe { front.alloc(small) };
        if p.is_null() {
            break;
        }
        blocks.push(p);
    }
    let filled = blocks.len() * 48;
    // TLSF's own header takes 16 of every 64 bytes here.
    assert!(filled > 180 * 1024, "{filled} bytes in 48-byte blocks of a 256 KiB heap");
    for p in blocks.drain(..) {
        // SAFETY: allocated above.
        unsafe { front.dealloc(p, small) };
    }
    // A large block needs that memory back.
    let large = Layout::from_size_align(200 * 1024, 8).unwrap();
    // SAFETY: a non-zero size.
    let p = unsafe { front.alloc(large) };
    assert!(!p.is_null(), "the magazines went back to the heap");
    // SAFETY: allocated just above.
    unsafe { front.dealloc(p, large) };
}

#[test]
fn realloc_stays_in_place_within_a_class_and_moves_across() {
    let front = new_threads();
    arena(front, 1 << 20);
    let layout = Layout::from_size_align(100, 8).unwrap();
    // SAFETY: non-zero sizes; each block is used while live and freed once.
    unsafe {
        let p = front.alloc(layout);
        fill(p, 100, 7);
        assert_eq!(front.realloc(p, layout, 112), p, "100 and 112 bytes share a class");
        let q = front.realloc(p, Layout::from_size_align(112, 8).unwrap(), 5000);
        assert!(!q.is_null());
        check(q, 100, 7);
        let r = front.realloc(q, Layout::from_size_align(5000, 8).unwrap(), 20);
        check(r, 20, 7);
        front.dealloc(r, Layout::from_size_align(20, 8).unwrap());
    }
    front.flush_current_thread().unwrap();
    front.drain().unwrap();
    assert_eq!(front.figures().unwrap().used, 0);
}

#[test]
fn a_cpu_index_out_of_range_uses_the_depot_directly() {
    struct Far;
    // SAFETY: an index at or above CPUS never reaches a magazine.
    unsafe impl CpuId for Far {
        fn current() -> usize {
            usize::MAX
        }
    }
    let front: &'static PerCpu<TlsfByteAllocator, Far, 2> =
        Box::leak(Box::new(PerCpu::new(TlsfByteAllocator::new())));
    let memory = Box::leak(vec![core::mem::MaybeUninit::<u8>::uninit(); 1 << 16].into_boxed_slice());
    front.depot().add_static(memory).unwrap();
    let layout = Layout::new::<[u64; 4]>();
    // SAFETY: a non-zero size; freed once.
    unsafe {
        let p = front.alloc(layout);
        assert!(!p.is_null());
        assert!(front.figures().unwrap().used >= 32);
        front.dealloc(p, layout);
    }
    assert_eq!(front.figures().unwrap().used, 0, "nothing cached");
    assert_eq!(front.cached_by_current(), 0);
}

/// A flush while the thread holds the depot's lock gives nothing back and
/// keeps the slot (with its blocks) for its front: another front never
/// inherits blocks of a depot that is not its own.
#[test]
fn a_flush_that_cannot_reach_the_depot_keeps_the_magazines() {
    let (f1, f2) = (new_threads(), new_threads());
    arena(f1, 1 << 20);
    arena(f2, 1 << 20);
    let layout = Layout::from_size_align(64, 8).unwrap();
    // SAFETY: a non-zero size; freed once.
    unsafe {
        let p = f1.alloc(layout);
        f1.dealloc(p, layout);
    }
    let cached = f1.cached_by_current_thread();
    assert!(cached > 0);
    assert_eq!(
        f1.depot().with(|_| f1.flush_current_thread()).unwrap(),
        Err(AllocError::Busy),
        "the depot is held here"
    );
    assert_eq!(f1.cached_by_current_thread(), cached);
    // Every other slot of this thread goes to other fronts: none may hand
    // out f1's blocks.
    let lo = f2.depot().with(|h| h.figures().total).unwrap();
    let mut got = Vec::new();
    for _ in 0..2000 {
        // SAFETY: a non-zero size.
        let p = unsafe { f2.alloc(layout) };
        assert!(!p.is_null());
        got.push(p);
    }
    let f1_blocks = f1.depot().with(|h| h.figures().used).unwrap();
    for p in got {
        // SAFETY: allocated above.
        unsafe { f2.dealloc(p, layout) };
    }
    assert!(lo > 0 && f1_blocks <= 64 * 64 + 4096, "f1's heap did not grow: f2 used its own");
    assert_eq!(f1.flush_current_thread(), Ok(cached));
    assert_eq!(f2.flush_current_thread().unwrap() % 64, 0);
    f1.drain().unwrap();
    f2.drain().unwrap();
    assert_eq!((f1.figures().unwrap().used, f2.figures().unwrap().used), (0, 0));
}

/// Frees through a front while its thread holds the depot's lock (inside
/// `Depot::with`) cannot spill a magazine: the blocks stay in the
/// magazines, beyond their size, and all go back later.
#[test]
fn frees_that_cannot_spill_lose_nothing() {
    let front = new_threads();
    arena(front, 4 << 20);
    let layout = Layout::from_size_align(64, 8).unwrap();
    for _ in 0..3 {
        // SAFETY: a non-zero size.
        let blocks: Vec<_> = (0..1000).map(|_| unsafe { front.alloc(layout) }).collect();
        assert!(blocks.iter().all(|p| !p.is_null()));
        front
            .depot()
            .with(|_| {
                for &p in &blocks {
                    // SAFETY: allocated above, freed once.
                    unsafe { front.dealloc(p, layout) };
                }
            })
            .unwrap();
        front.flush_current_thread().unwrap();
        front.drain().unwrap();
        assert_eq!(front.figures().unwrap().used, 0, "every block went back");
    }
}
