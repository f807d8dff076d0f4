//! [`Refill`]: a heap that grows from a page allocator.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    check_layout, AllocError, AllocResult, BaseAllocator, ByteAllocator, Owns, PageAllocator,
};

/// How many pages a [`Refill`] asks for when its heap runs out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefillPolicy {
    /// The fewest pages asked for at once.
    pub min_pages: usize,
    /// The most pages asked for at once (unless one request needs more).
    pub max_pages: usize,
    /// Each refill asks for twice the previous one (within the bounds), so
    /// a heap that keeps growing needs few regions.
    pub doubling: bool,
}

impl RefillPolicy {
    /// 4 pages at first, doubling up to 4096 pages.
    pub const DEFAULT: Self = Self { min_pages: 4, max_pages: 4096, doubling: true };

    /// Pages to ask for when `needed` are the least that can serve the
    /// request and `last` were asked for last time.
    pub fn pages(&self, needed: usize, last: usize) -> usize {
        let grown = if self.doubling { last.saturating_mul(2) } else { 0 };
        grown.max(self.min_pages).min(self.max_pages).max(needed)
    }
}

impl Default for RefillPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A byte heap `A` that, when it runs out, takes pages from `P`, adds them
/// to itself and tries again: the heap-grows-from-pages pattern of a
/// kernel. Memory given to the `Refill` goes to `P`.
///
/// A refill asks for enough pages for the request, an eighth more for the
/// heap's size-class rounding, and a page for its metadata — at least what
/// the [`RefillPolicy`] says. Pages
/// are never returned to `P` (the heap keeps them for later requests). The
/// figures count the heap's memory plus `P`'s free pages, so
/// `available_bytes` is what could still be had. When `A` takes no more
/// regions, or `P` has no run that large, the request fails with
/// `NoMemory` and the pages go back to `P`. Implements [`Owns`] when `A`
/// does. Costs: `A`'s, plus a page allocation and an `add_memory` per
/// refill.
#[derive(Debug, Default)]
pub struct Refill<A, P> {
    heap: A,
    pages: P,
    policy: RefillPolicy,
    last: usize,
}

impl<A, P> Refill<A, P> {
    /// `heap` refilled from `pages` with the default policy.
    pub const fn new(heap: A, pages: P) -> Self {
        Self::with_policy(heap, pages, RefillPolicy::DEFAULT)
    }

    /// `heap` refilled from `pages` by `policy`.
    pub const fn with_policy(heap: A, pages: P, policy: RefillPolicy) -> Self {
        Self { heap, pages, policy, last: 0 }
    }

    /// The heap.
    pub fn heap(&self) -> &A {
        &self.heap
    }

    /// The page allocator.
    pub fn pages(&self) -> &P {
        &self.pages
    }

    /// The page allocator, mutably (to share out its pages, say).
    pub fn pages_mut(&mut self) -> &mut P {
        &mut self.pages
    }
}

impl<A: ByteAllocator, P: PageAllocator> Refill<A, P> {
    /// Moves enough pages for `layout` from `P` to the heap.
    fn refill(&mut self, layout: Layout) -> AllocResult {
        // Room for the block, its alignment, the heap's metadata (a page),
        // and the heap's rounding of a request up to its size class (TLSF
        // rounds by up to 1/16; an eighth covers it).
        let bytes = layout
            .size()
            .checked_add(layout.size() / 8)
            .and_then(|b| b.checked_add(layout.align()))
            .and_then(|b| b.checked_add(P::PAGE_SIZE));
        let needed = bytes.ok_or(AllocError::NoMemory)?.div_ceil(P::PAGE_SIZE);
        let mut want = self.policy.pages(needed, self.last);
        let base = loop {
            match self.pages.alloc_pages(want, P::PAGE_SIZE) {
                Ok(base) => break base,
                Err(_) if want > needed => want = (want / 2).max(needed),
                Err(_) => return Err(AllocError::NoMemory),
            }
        };
        // SAFETY: the pages were just allocated from `P`, whose memory its
        // owner gave as usable memory; nothing else uses them.
        match unsafe { self.heap.add_memory(base, want * P::PAGE_SIZE) } {
            Ok(()) => {
                self.last = want;
                Ok(())
            }
            Err(_) => {
                // SAFETY: the heap refused the pages untouched; they go back.
                let _ = unsafe { self.pages.dealloc_pages(base, want) };
                Err(AllocError::NoMemory)
            }
        }
    }
}

impl<A: ByteAllocator, P: PageAllocator> BaseAllocator for Refill<A, P> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.pages.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.pages.add_memory(start, size) }
    }
}

impl<A: ByteAllocator, P: PageAllocator> ByteAllocator for Refill<A, P> {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        match self.heap.alloc(layout) {
            Err(AllocError::NoMemory) => {
                self.refill(layout)?;
                self.heap.alloc(layout)
            }
            r => r,
        }
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    fn total_bytes(&self) -> usize {
        self.heap.total_bytes() + self.pages.available_pages() * P::PAGE_SIZE
    }

    fn used_bytes(&self) -> usize {
        self.heap.used_bytes()
    }

    fn available_bytes(&self) -> usize {
        self.heap.available_bytes() + self.pages.available_pages() * P::PAGE_SIZE
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller; on error the block is untouched.
        match unsafe { self.heap.grow(ptr, old, new) } {
            Err(AllocError::NoMemory) => {
                self.refill(new)?;
                // SAFETY: as above.
                unsafe { self.heap.grow(ptr, old, new) }
            }
            r => r,
        }
    }

    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller; on error the block is untouched.
        match unsafe { self.heap.shrink(ptr, old, new) } {
            Err(AllocError::NoMemory) => {
                self.refill(new)?;
                // SAFETY: as above.
                unsafe { self.heap.shrink(ptr, old, new) }
            }
            r => r,
        }
    }
}

impl<A: Owns, P> Owns for Refill<A, P> {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.heap.owns(ptr, layout)
    }
}
