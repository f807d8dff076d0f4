//! `GrowPages` (what `WasmPages` is on `wasm32`) over a simulated linear
//! memory: a leaked buffer grown at its end, never shrunk.

use allocator_core::{AllocError, BaseAllocator, PageAllocator};
use allocator_os::{GrowPages, LinearMemory, FREE_RUNS};

const PAGE: usize = 65536;

/// `capacity` pages of leaked memory, handed out from the start.
struct Sim {
    base: usize,
    grown: usize,
    capacity: usize,
}

impl Sim {
    fn new(capacity: usize) -> Self {
        let layout = std::alloc::Layout::from_size_align(capacity * PAGE, PAGE).unwrap();
        // SAFETY: a non-zero size; leaked for the test's life.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        assert!(!p.is_null());
        Self { base: p.expose_provenance(), grown: 0, capacity }
    }
}

// SAFETY: runs are handed out in order from leaked memory whose provenance
// was exposed, each once.
unsafe impl LinearMemory for Sim {
    const PAGE_SIZE: usize = PAGE;
    fn grow(&mut self, pages: usize) -> Option<usize> {
        if self.capacity - self.grown < pages {
            return None;
        }
        self.grown += pages;
        Some(self.base + (self.grown - pages) * PAGE)
    }
}

#[test]
fn freed_runs_are_reused_before_growing() {
    let mut p = GrowPages::new(Sim::new(64));
    let a = p.alloc_pages(4, PAGE).unwrap();
    let b = p.alloc_pages(4, PAGE).unwrap();
    assert_eq!(b, a + 4 * PAGE);
    // SAFETY: the pages are real memory.
    unsafe { std::ptr::with_exposed_provenance_mut::<u8>(a).write_bytes(7, 8 * PAGE) };
    assert_eq!((p.total_pages(), p.used_pages()), (8, 8));
    // SAFETY: unused.
    unsafe { p.dealloc_pages(a, 4) }.unwrap();
    // SAFETY: a double free.
    assert_eq!(unsafe { p.dealloc_pages(a + PAGE, 1) }, Err(AllocError::NotAllocated));
    assert_eq!(p.alloc_pages(2, PAGE), Ok(a), "first fit in the freed run");
    assert_eq!(p.alloc_pages_at(a + 2 * PAGE, 2, PAGE), Ok(a + 2 * PAGE));
    assert_eq!(p.alloc_pages_at(a, 1, PAGE), Err(AllocError::MemoryOverlap));
    assert_eq!(p.total_pages(), 8, "nothing grown");
    // SAFETY: unused; they merge into one run.
    unsafe {
        p.dealloc_pages(a, 2).unwrap();
        p.dealloc_pages(b, 4).unwrap();
        p.dealloc_pages(a + 2 * PAGE, 2).unwrap();
    }
    assert_eq!((p.free_runs(), p.used_pages()), (1, 0));
    // Too large for what is left to grow.
    assert_eq!(p.alloc_pages(57, PAGE), Err(AllocError::NoMemory));
    assert_eq!(p.alloc_pages(56, PAGE), Ok(a + 8 * PAGE), "grows when no free run fits");
}

#[test]
fn alignment_slack_is_kept_free_and_bad_input_refused() {
    let mut p = GrowPages::new(Sim::new(256));
    let _ = p.alloc_pages(1, PAGE).unwrap();
    let big = p.alloc_pages(2, 8 * PAGE).unwrap();
    assert_eq!(big % (8 * PAGE), 0);
    assert_eq!(p.used_pages(), 3);
    assert_eq!(p.available_pages(), p.total_pages() - 3, "the slack is free");
    for (n, align) in [(0, PAGE), (1, 3), (1, 0), (usize::MAX, PAGE)] {
        assert_eq!(p.alloc_pages(n, align), Err(AllocError::InvalidParam));
    }
    assert!(p.alloc_pages(1, 1 << (usize::BITS - 1)).is_err());
    // SAFETY: each is refused before anything changes.
    unsafe {
        assert_eq!(p.dealloc_pages(big + 1, 1), Err(AllocError::InvalidParam));
        assert_eq!(p.dealloc_pages(big, 0), Err(AllocError::InvalidParam));
        assert_eq!(p.dealloc_pages(usize::MAX - PAGE + 1, 2), Err(AllocError::InvalidParam));
        assert_eq!(p.dealloc_pages(big + 1024 * PAGE, 1), Err(AllocError::InvalidParam));
        assert_eq!(p.init(usize::MAX, 2), Err(AllocError::InvalidParam));
    }
    assert_eq!(p.used_pages(), 3);
}

#[test]
fn a_full_free_table_refuses_instead_of_losing_pages() {
    let mut p = GrowPages::new(Sim::new(4 * FREE_RUNS + 8));
    let runs: Vec<usize> = (0..2 * FREE_RUNS + 2).map(|_| p.alloc_pages(1, PAGE).unwrap()).collect();
    // Every other run freed: separate free runs, until the table is full.
    for r in runs.iter().step_by(2).take(FREE_RUNS) {
        // SAFETY: unused.
        unsafe { p.dealloc_pages(*r, 1) }.unwrap();
    }
    let last = runs[2 * FREE_RUNS];
    // SAFETY: unused; refused, nothing changes.
    assert_eq!(unsafe { p.dealloc_pages(last, 1) }, Err(AllocError::TableFull));
    // A run that merges with a free neighbour still goes back.
    // SAFETY: unused.
    unsafe { p.dealloc_pages(runs[1], 1) }.unwrap();
    // SAFETY: now there is a slot.
    unsafe { p.dealloc_pages(last, 1) }.unwrap();
}
