use core::alloc::Layout;

use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator, PageAllocator};

use super::Refill;
use crate::{test_memory::leak, RefillPolicy, Region};

const PAGE: usize = 4096;

/// Pages handed out in order from real memory (never reused), whose frees
/// can be refused at will.
struct Pages {
    base: usize,
    total: usize,
    next: usize,
    used: usize,
    refuse_frees: bool,
}

impl Pages {
    fn new(total: usize) -> Self {
        let base = leak(total * PAGE, PAGE).expose_provenance();
        Self { base, total, next: 0, used: 0, refuse_frees: false }
    }
}

impl BaseAllocator for Pages {
    type Addr = usize;

    unsafe fn init(&mut self, _: usize, _: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }

    unsafe fn add_memory(&mut self, _: usize, _: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }
}

// SAFETY: runs are handed out in order from memory this allocator alone
// holds, each once (freed pages are never handed out again).
unsafe impl PageAllocator for Pages {
    const PAGE_SIZE: usize = PAGE;

    fn alloc_pages(&mut self, num_pages: usize, _align: usize) -> AllocResult<usize> {
        if num_pages == 0 {
            return Err(AllocError::InvalidParam);
        }
        if self.total - self.next < num_pages {
            return Err(AllocError::NoMemory);
        }
        let run = self.base + self.next * PAGE;
        self.next += num_pages;
        self.used += num_pages;
        Ok(run)
    }

    fn alloc_pages_at(&mut self, _: usize, _: usize, _: usize) -> AllocResult<usize> {
        Err(AllocError::Unsupported)
    }

    unsafe fn dealloc_pages(&mut self, _pos: usize, num_pages: usize) -> AllocResult {
        if self.refuse_frees {
            return Err(AllocError::NotAllocated);
        }
        self.used -= num_pages;
        Ok(())
    }

    fn total_pages(&self) -> usize {
        self.total
    }

    fn used_pages(&self) -> usize {
        self.used
    }
}

fn refill(pages: usize) -> Refill<Region, Pages> {
    let policy = RefillPolicy { min_pages: 1, max_pages: 1, doubling: false };
    // SAFETY: `Pages` hands out leaked memory whose provenance it exposed,
    // used by nothing else.
    unsafe { Refill::with_policy(Region::new(), Pages::new(pages), policy) }
}

/// Hole: when the heap refused refilled pages, `Refill` gave them back to
/// the page allocator and ignored its answer: pages it refused to take
/// back vanished (allocated, in no heap, recorded nowhere), at every
/// failed refill. They are now kept and reported, offered back at the next
/// refill, and no more pages are taken while the record is full.
#[test]
fn pages_the_heap_refuses_are_never_dropped() {
    let mut r = refill(64);
    // SAFETY: `Pages` is the test's own, holding no block.
    unsafe { r.pages_mut().refuse_frees = true };
    let l = Layout::from_size_align(3000, 8).unwrap();
    // The first refill (2 pages: the block, its rounding and a page) goes
    // to the region, which takes one region only.
    let a = r.alloc(l).unwrap();
    let b = r.alloc(l).unwrap();
    assert_eq!(r.pages().used_pages(), 2);
    for i in 1..=Refill::<Region, Pages>::STRANDED {
        // The region refuses a second region (`TableFull`), and the pages
        // refuse to be freed.
        assert_eq!(r.alloc(l), Err(AllocError::NoMemory));
        assert_eq!(r.stranded_pages(), 2 * i, "refill {i}: the pages are recorded");
        assert_eq!(r.pages().used_pages(), 2 + 2 * i);
    }
    // The record is full: no more pages are taken.
    assert_eq!(r.alloc(l), Err(AllocError::NoMemory));
    assert_eq!(r.pages().used_pages(), 2 + 2 * Refill::<Region, Pages>::STRANDED);
    // Once the page allocator takes frees again, everything goes back.
    // SAFETY: as above.
    unsafe { r.pages_mut().refuse_frees = false };
    assert_eq!(r.alloc(l), Err(AllocError::NoMemory));
    assert_eq!(r.stranded_pages(), 0);
    assert_eq!(r.pages().used_pages(), 2, "only the region's pages are out");
    // SAFETY: live blocks.
    unsafe {
        r.dealloc(b, l);
        r.dealloc(a, l);
    }
    assert_eq!(r.used_bytes(), 0);
    assert_eq!(r.total_bytes(), 2 * PAGE + 62 * PAGE);
}

/// Blocks of a refilled heap are real memory: the page's address became a
/// pointer with the provenance the page allocator exposed.
#[test]
fn refilled_blocks_are_writable_and_resize() {
    let mut r = refill(8);
    let l = Layout::from_size_align(100, 8).unwrap();
    let a = r.alloc(l).unwrap();
    // SAFETY: `a` is live; 100 bytes, then 200 after the in-place grow.
    unsafe {
        a.as_ptr().write_bytes(1, 100);
        let b = r.grow(a, l, Layout::from_size_align(200, 8).unwrap()).unwrap();
        assert_eq!(a, b, "the last block of a region grows in place");
        b.as_ptr().write_bytes(2, 200);
        r.dealloc(b, Layout::from_size_align(200, 8).unwrap());
    }
    assert_eq!(r.alloc(Layout::from_size_align(isize::MAX as usize, 1).unwrap()), Err(AllocError::NoMemory));
    assert_eq!(r.used_bytes(), 0);
}
