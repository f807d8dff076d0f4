//! `BuddyPageAllocator` as the page source of the program's own allocator.
//!
//! Hole: `BuddyPageAllocator` kept its free lists and run records in the
//! global heap, so a `#[global_allocator]` refilled from it re-entered
//! itself on its first allocation (a deadlock under a lock) and aborted
//! when the heap ran out. Here the global allocator serves every request of
//! a page or more with pages from a `BuddyPageAllocator` over a static
//! arena, under a lock, and counts re-entries; a second test counts the
//! global allocations made by the page allocator's operations themselves.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::{Cell, UnsafeCell},
    hint::black_box,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use allocator_buddy::BuddyPageAllocator;
use allocator_core::{AllocError, BaseAllocator, PageAllocator};

const PAGE: usize = 4096;
const ARENA_BYTES: usize = 16 << 20;

/// The memory the pages stand for.
#[repr(C, align(4096))]
struct Arena(UnsafeCell<[u8; ARENA_BYTES]>);

// SAFETY: its bytes are only reached through blocks the page allocator
// hands out, which never overlap.
unsafe impl Sync for Arena {}

static ARENA: Arena = Arena(UnsafeCell::new([0; ARENA_BYTES]));

thread_local! {
    /// This thread holds the page allocator's lock.
    static HOLDING: Cell<bool> = const { Cell::new(false) };
    /// Global allocations made by this thread are counted.
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

/// Requests of a page or more from buddy pages, the rest from the system.
struct PageHeap {
    locked: AtomicBool,
    pages: UnsafeCell<BuddyPageAllocator<PAGE>>,
    ready: Cell<bool>,
    reentered: AtomicUsize,
    from_pages: AtomicUsize,
    refused_frees: AtomicUsize,
}

// SAFETY: `pages` and `ready` are only touched under `locked`.
unsafe impl Sync for PageHeap {}

impl PageHeap {
    /// Runs `f` on the page allocator under the lock; `None` when this
    /// thread already holds it (the page allocator allocated).
    fn with<R>(&self, f: impl FnOnce(&mut BuddyPageAllocator<PAGE>) -> R) -> Option<R> {
        if HOLDING.with(Cell::get) {
            self.reentered.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        while self.locked.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            std::hint::spin_loop();
        }
        HOLDING.with(|h| h.set(true));
        // SAFETY: the lock is held: nothing else reaches `pages` or `ready`.
        let pages = unsafe { &mut *self.pages.get() };
        if !self.ready.get() {
            // SAFETY: the arena is this allocator's alone; page allocators
            // touch no memory anyway.
            unsafe { pages.init(ARENA.0.get().addr(), ARENA_BYTES) }.expect("the arena is a valid region");
            self.ready.set(true);
        }
        let r = f(pages);
        HOLDING.with(|h| h.set(false));
        self.locked.store(false, Ordering::Release);
        Some(r)
    }

    fn in_arena(ptr: *mut u8) -> bool {
        let start = ARENA.0.get().addr();
        (start..start + ARENA_BYTES).contains(&ptr.addr())
    }
}

// SAFETY: blocks from pages are whole runs of the arena, aligned to the
// layout (at least a page) and never handed out twice while live; the rest
// is the system's.
unsafe impl GlobalAlloc for PageHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                COUNT.with(|n| n.set(n.get() + 1));
            }
        });
        if layout.size() >= PAGE {
            let num = layout.size().div_ceil(PAGE);
            if let Some(Ok(addr)) = self.with(|p| p.alloc_pages(num, layout.align().max(PAGE))) {
                self.from_pages.fetch_add(1, Ordering::Relaxed);
                let arena = ARENA.0.get().cast::<u8>();
                return arena.with_addr(addr);
            }
        }
        // SAFETY: forwarded from the caller.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if Self::in_arena(ptr) {
            let num = layout.size().div_ceil(PAGE);
            // SAFETY: the caller gives the block back: nothing uses its pages.
            let r = self.with(|p| unsafe { p.dealloc_pages(ptr.addr(), num) });
            if r != Some(Ok(())) {
                self.refused_frees.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            // SAFETY: forwarded from the caller; the block is the system's.
            unsafe { System.dealloc(ptr, layout) }
        }
    }
}

#[global_allocator]
static HEAP: PageHeap = PageHeap {
    locked: AtomicBool::new(false),
    pages: UnsafeCell::new(BuddyPageAllocator::new()),
    ready: Cell::new(false),
    reentered: AtomicUsize::new(0),
    from_pages: AtomicUsize::new(0),
    refused_frees: AtomicUsize::new(0),
};

#[test]
fn a_global_allocator_refills_from_buddy_pages_without_reentering() {
    let mut blocks: Vec<Vec<u64>> = Vec::new();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    for round in 0..3000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let words = 512 + (seed % 40_000) as usize;
        let mut v = vec![round as u64; words];
        v[words - 1] = seed;
        blocks.push(v);
        if blocks.len() > 40 {
            let i = (seed % blocks.len() as u64) as usize;
            let old = blocks.swap_remove(i);
            assert!(old[..old.len() - 1].iter().all(|&w| w == old[0]), "contents kept");
        }
    }
    drop(blocks);
    let big = vec![7u8; 4 << 20];
    assert!(
        PageHeap::in_arena(black_box(big.as_ptr()).cast_mut()),
        "4 MiB from the buddy pages, merged again"
    );
    drop(big);
    assert!(HEAP.from_pages.load(Ordering::Relaxed) > 1000);
    assert_eq!(HEAP.reentered.load(Ordering::Relaxed), 0, "the page allocator allocated from the heap");
    assert_eq!(HEAP.refused_frees.load(Ordering::Relaxed), 0);
}

#[test]
fn page_allocator_operations_allocate_nothing() {
    let mut p = Box::new(BuddyPageAllocator::<PAGE>::new());
    COUNTING.with(|c| c.set(true));
    // SAFETY: page allocators touch no memory.
    unsafe {
        p.init(0x4000_0000, 64 << 20).unwrap();
        p.add_memory(0x4400_0000, 1 << 20).unwrap();
    }
    let mut live = Vec::with_capacity(4096);
    COUNT.with(|n| n.set(0));
    for i in 0..4000usize {
        if let Ok(a) = p.alloc_pages(1 + i % 7, PAGE << (i % 3)) {
            live.push((a, 1 + i % 7));
        }
        if i % 3 == 0 {
            if let Some((a, n)) = live.pop() {
                // SAFETY: touches nothing.
                unsafe { p.dealloc_pages(a, n) }.unwrap();
                // SAFETY: as above; a double free is refused.
                assert_eq!(unsafe { p.dealloc_pages(a, n) }, Err(AllocError::NotAllocated));
            }
        }
    }
    let _ = p.alloc_pages_at(0x43ff_f000, 2, PAGE);
    let _ = p.alloc_pages(usize::MAX, PAGE);
    for (a, n) in live.drain(..) {
        // SAFETY: touches nothing.
        unsafe { p.dealloc_pages(a, n) }.unwrap();
    }
    let counted = COUNT.with(Cell::get);
    COUNTING.with(|c| c.set(false));
    assert_eq!(counted, 0, "global allocations during page allocator operations");
}

#[cfg(target_pointer_width = "64")]
#[test]
fn a_new_allocator_is_all_zero_so_a_static_lands_in_bss() {
    static FRESH: BuddyPageAllocator<PAGE> = BuddyPageAllocator::new();
    let size = core::mem::size_of_val(&FRESH);
    // SAFETY: every field of the allocator is a `u64` or a `usize` (8 bytes
    // here), so it has no padding: all `size` bytes are initialised.
    let bytes = unsafe { core::slice::from_raw_parts((&raw const FRESH).cast::<u8>(), size) };
    assert!(bytes.iter().all(|&b| b == 0));
    assert!(size >= 24 * 1024, "the map is inside the value");
}
