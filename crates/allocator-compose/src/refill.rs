//! [`Refill`]: a heap that grows from a page allocator.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::check_layout, AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, MemoryPages, Owns,
    PageAllocator,
};

use crate::RefillPolicy;

/// How many runs of pages a [`Refill`] can hold that its heap refused and
/// its page allocator would not take back.
const STRANDED: usize = 4;

/// A byte heap `A` that, when it runs out, takes pages from `P`, adds them
/// to itself and tries again: the heap-grows-from-pages pattern of a
/// kernel. Memory given to the `Refill` goes to `P` (as numbers: `Addr =
/// usize`); the heap gets each run of pages as a pointer.
///
/// A refill asks for enough pages for the request, an eighth more for the
/// heap's size-class rounding, and a page for its metadata — at least what
/// the [`RefillPolicy`] says. Pages are never returned to `P` (the heap
/// keeps them for later requests). The figures count the heap's memory
/// plus `P`'s free pages, so `available` is what could still be had. When
/// `P` has no run that large the request fails with `NoMemory`; when `A`
/// refuses the pages (it takes no more regions) they go back to `P` — and
/// should `P` refuse them too, they are kept (see
/// [`stranded_pages`](Self::stranded_pages)) and given back at the next
/// refill; while [`STRANDED`](Self::STRANDED) runs are held, no more pages
/// are taken. Implements [`Owns`] when `A` does. Costs: `A`'s, plus a page
/// allocation and an `add_memory` per refill.
///
/// Constructing one is `unsafe`: the pages of a page allocator are only
/// numbers, and the `Refill` hands them to a byte heap as memory to write.
#[derive(Debug)]
pub struct Refill<A, P> {
    heap: A,
    pages: P,
    /// The policy, when `custom`; else [`RefillPolicy::DEFAULT`] is used and
    /// this is all zeros, so that `new` is all zeros and a `static` kernel
    /// heap lands in `.bss` (an `Option` would put its "none" in the
    /// `bool`'s spare values: a non-zero byte).
    policy: RefillPolicy,
    custom: bool,
    last: usize,
    /// Runs of pages (base, count) the heap refused and `P` would not take
    /// back: the first `stranded_len` entries.
    stranded: [(usize, usize); STRANDED],
    stranded_len: usize,
}

impl<A, P> Refill<A, P> {
    /// How many refused runs a `Refill` can hold before it stops refilling.
    pub const STRANDED: usize = STRANDED;

    /// `heap` refilled from `pages` with the default policy.
    ///
    /// # Safety
    /// Every page `pages` hands out (now and after any memory given to it
    /// later) is memory the program may read and write, identity-mapped:
    /// its address, as a pointer with exposed provenance
    /// ([`core::ptr::with_exposed_provenance_mut`]), is valid for reads and
    /// writes of the whole run, and the memory is used by nothing else for
    /// as long as the heap or any block it handed out is in use.
    pub const unsafe fn new(heap: A, pages: P) -> Self {
        let policy = RefillPolicy { min_pages: 0, max_pages: 0, doubling: false };
        Self { heap, pages, policy, custom: false, last: 0, stranded: [(0, 0); STRANDED], stranded_len: 0 }
    }

    /// `heap` refilled from `pages` by `policy`.
    ///
    /// # Safety
    /// As [`new`](Self::new).
    pub const unsafe fn with_policy(heap: A, pages: P, policy: RefillPolicy) -> Self {
        Self { heap, pages, policy, custom: true, last: 0, stranded: [(0, 0); STRANDED], stranded_len: 0 }
    }

    /// `heap` refilled by `policy` from `pages`, whose pages are the
    /// program's memory by [`MemoryPages`]' contract (the operating
    /// system's, say): safe, unlike [`new`](Self::new).
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use allocator::compose::{Refill, RefillPolicy};
    /// use allocator::os::OsPages;
    /// use allocator::{ByteAllocator, TlsfByteAllocator};
    ///
    /// let mut heap = Refill::over_memory(TlsfByteAllocator::new(), OsPages::<4096>::new(), RefillPolicy::DEFAULT);
    /// let layout = core::alloc::Layout::from_size_align(100 << 20, 64).unwrap();
    /// let block = heap.alloc(layout).unwrap(); // 100 MiB mapped from the system
    /// unsafe { heap.dealloc(block, layout) };
    /// # }
    /// ```
    pub const fn over_memory(heap: A, pages: P, policy: RefillPolicy) -> Self
    where
        P: MemoryPages,
    {
        // SAFETY: `MemoryPages` promises what `new` asks: every page is
        // readable and writable memory at its address with exposed
        // provenance, used by nothing else while allocated; memory given to
        // `P` later comes through `unsafe` calls whose callers promise it.
        unsafe { Self::with_policy(heap, pages, policy) }
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
    ///
    /// # Safety
    /// While any block of this `Refill` is live, the caller must not
    /// replace, move out or swap the page allocator, nor free pages through
    /// it that the heap holds; pages it hands out later must meet
    /// [`new`](Self::new)'s contract (they may still be given to the heap).
    pub unsafe fn pages_mut(&mut self) -> &mut P {
        &mut self.pages
    }

    /// Pages the heap refused and the page allocator would not take back:
    /// allocated in `P`, used by nothing. They are offered back to `P` at
    /// every refill.
    pub fn stranded_pages(&self) -> usize {
        self.stranded[..self.stranded_len].iter().map(|&(_, n)| n).fold(0, usize::saturating_add)
    }
}

impl<A: ByteAllocator + BaseAllocator<Addr = *mut u8>, P: PageAllocator> Refill<A, P> {
    /// Offers every stranded run back to `P`; keeps those it refuses.
    fn return_stranded(&mut self) {
        let mut i = 0;
        while i < self.stranded_len {
            let (base, count) = self.stranded[i];
            // SAFETY: the run was allocated from `P` and never given to the
            // heap (it refused it): nothing uses it.
            if unsafe { self.pages.dealloc_pages(base, count) }.is_ok() {
                self.stranded_len -= 1;
                self.stranded[i] = self.stranded[self.stranded_len];
            } else {
                i += 1;
            }
        }
    }

    /// Moves enough pages for `layout` from `P` to the heap.
    fn refill(&mut self, layout: Layout) -> AllocResult {
        self.return_stranded();
        if self.stranded_len == STRANDED {
            // A refused run could not be recorded: take no more pages.
            return Err(AllocError::NoMemory);
        }
        // Room for the block, its alignment, the heap's metadata (a page),
        // and the heap's rounding of a request up to its size class (TLSF
        // rounds by up to 1/16; an eighth covers it).
        let bytes = layout
            .size()
            .checked_add(layout.size() / 8)
            .and_then(|b| b.checked_add(layout.align()))
            .and_then(|b| b.checked_add(P::PAGE_SIZE));
        let needed = bytes.ok_or(AllocError::NoMemory)?.div_ceil(P::PAGE_SIZE);
        let policy = if self.custom { self.policy } else { RefillPolicy::DEFAULT };
        let mut want = policy.pages(needed, self.last);
        let (base, size) = loop {
            let got = want
                .checked_mul(P::PAGE_SIZE)
                .ok_or(AllocError::NoMemory)
                .and_then(|size| Ok((self.pages.alloc_pages(want, P::PAGE_SIZE)?, size)));
            match got {
                Ok(run) => break run,
                Err(_) if want > needed => want = (want / 2).max(needed),
                Err(_) => return Err(AllocError::NoMemory),
            }
        };
        // The constructor's contract: a page's address is a valid pointer
        // to it, with exposed provenance.
        let start = core::ptr::with_exposed_provenance_mut::<u8>(base);
        // SAFETY: the run was just allocated from `P`, so nothing else uses
        // it; by the constructor's contract it is readable and writable
        // memory at `start`, for as long as the heap lives.
        match unsafe { self.heap.add_memory(start, size) } {
            Ok(()) => {
                self.last = want;
                Ok(())
            }
            Err(_) => {
                // SAFETY: the heap refused the pages untouched; they go back.
                if unsafe { self.pages.dealloc_pages(base, want) }.is_err() {
                    // Never dropped: kept, reported, offered back later
                    // (there is room: checked above).
                    self.stranded[self.stranded_len] = (base, want);
                    self.stranded_len += 1;
                }
                Err(AllocError::NoMemory)
            }
        }
    }
}

impl<A, P: PageAllocator> BaseAllocator for Refill<A, P> {
    type Addr = usize;

    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.pages.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.pages.add_memory(start, size) }
    }
}

// SAFETY: every block is the heap's (its promises hold); a refill only
// gives the heap pages that `P` just handed out, which by the constructor's
// contract are memory the heap may use, disjoint from everything else.
// `grow`/`shrink`/`realloc` are the provided ones: in place by the heap,
// else moved through `alloc`, which refills.
unsafe impl<A, P> ByteAllocator for Refill<A, P>
where
    A: ByteAllocator + BaseAllocator<Addr = *mut u8>,
    P: PageAllocator,
{
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

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.resize_in_place(ptr, layout, new_size) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.usable_size(ptr, layout) }
    }

    /// The heap's figures, with `P`'s free pages counted as free memory.
    fn figures(&self) -> Figures {
        let heap = self.heap.figures();
        let spare = self.pages.available_pages().saturating_mul(P::PAGE_SIZE);
        Figures::new(heap.total.saturating_add(spare), heap.used)
    }

    /// The heap's (a refill may serve more). So [`health`](ByteAllocator::health)
    /// counts `P`'s free pages as free but, until they are refilled, as
    /// fragmented; [`heap`](Self::heap)`().health()` is the heap's own.
    fn largest_free(&self) -> Option<usize> {
        self.heap.largest_free()
    }
}

// SAFETY: every block is the heap's, which answers.
unsafe impl<A: Owns, P> Owns for Refill<A, P> {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.heap.owns(ptr, layout)
    }
}

#[cfg(test)]
mod tests;
