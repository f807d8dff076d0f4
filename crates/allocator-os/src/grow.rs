//! [`GrowPages`]: pages from a memory that only grows (WebAssembly's
//! `memory.grow`), with the freed ones kept for reuse.

use allocator_core::{AllocError, AllocResult, BaseAllocator, MemoryPages, PageAllocator};

use crate::{page_align, run_bytes};

/// How many separate free runs a [`GrowPages`] records (adjacent runs merge
/// into one).
pub const FREE_RUNS: usize = 64;

/// A linear memory that grows at its end and never shrinks: WebAssembly's
/// `memory.grow` (`Wasm32Memory` on `wasm32`), or a
/// simulation of it.
///
/// # Safety
/// Every run `grow` returns is memory the program may read and write,
/// `pages * PAGE_SIZE` bytes from the returned address, which as a pointer
/// with exposed provenance (`core::ptr::with_exposed_provenance_mut`) is
/// valid for the whole run; it overlaps no run returned before, and
/// nothing else uses it. `PAGE_SIZE` is a power of two.
pub unsafe trait LinearMemory {
    /// The size of one page of the memory (64 KiB on WebAssembly).
    const PAGE_SIZE: usize;

    /// Grows the memory by `pages` and returns the address of the first
    /// new page, or `None` when it cannot grow that much.
    fn grow(&mut self, pages: usize) -> Option<usize>;
}

/// A [`PageAllocator`] over a [`LinearMemory`]: runs are cut from the free
/// runs kept (first fit), else the memory grows. The memory never shrinks,
/// so freed runs are kept in a table of [`FREE_RUNS`] runs (merged with
/// their neighbours) and handed out again; `total_pages` counts every page
/// grown. See the crate docs.
///
/// Costs: O([`FREE_RUNS`]) per call, one `grow` when no free run fits.
/// Limits: a free run that neither merges nor finds a slot is refused
/// (`dealloc_pages` fails with `TableFull`, nothing changed); the slack of
/// an alignment beyond the page that finds no slot is kept as used pages
/// ([`stranded_pages`](Self::stranded_pages)).
#[derive(Debug)]
pub struct GrowPages<M> {
    mem: M,
    /// Free runs `(base, pages)`, sorted by base, the first `free_len`.
    free: [(usize, usize); FREE_RUNS],
    free_len: usize,
    /// Pages grown, and pages handed out (stranded slack included).
    total: usize,
    used: usize,
    stranded: usize,
    /// The span of every page grown (or given): `[lo, hi)`.
    lo: usize,
    hi: usize,
}

impl<M: LinearMemory> GrowPages<M> {
    /// Pages from `mem`; none taken yet.
    pub const fn new(mem: M) -> Self {
        Self { mem, free: [(0, 0); FREE_RUNS], free_len: 0, total: 0, used: 0, stranded: 0, lo: 0, hi: 0 }
    }

    /// The memory.
    pub fn memory(&self) -> &M {
        &self.mem
    }

    /// Pages of alignment slack that found no slot in the free table: used
    /// by nothing, never handed out.
    pub fn stranded_pages(&self) -> usize {
        self.stranded
    }

    /// Free runs recorded.
    pub fn free_runs(&self) -> usize {
        self.free_len
    }

    fn end(base: usize, pages: usize) -> usize {
        base + pages * M::PAGE_SIZE
    }

    /// Records `(base, pages)` as free, merged with its neighbours.
    fn insert(&mut self, base: usize, pages: usize) -> AllocResult {
        if pages == 0 {
            return Ok(());
        }
        let i = self.free[..self.free_len].partition_point(|&(b, _)| b < base);
        let end = Self::end(base, pages);
        let merge_prev = i > 0 && Self::end(self.free[i - 1].0, self.free[i - 1].1) == base;
        let merge_next = i < self.free_len && self.free[i].0 == end;
        match (merge_prev, merge_next) {
            (true, true) => {
                self.free[i - 1].1 += pages + self.free[i].1;
                self.free.copy_within(i + 1..self.free_len, i);
                self.free_len -= 1;
            }
            (true, false) => self.free[i - 1].1 += pages,
            (false, true) => self.free[i] = (base, pages + self.free[i].1),
            (false, false) => {
                if self.free_len == FREE_RUNS {
                    return Err(AllocError::TableFull);
                }
                self.free.copy_within(i..self.free_len, i + 1);
                self.free[i] = (base, pages);
                self.free_len += 1;
            }
        }
        Ok(())
    }

    /// Cuts `[at, at + pages)` out of free run `i`, which holds it; fails
    /// (changing nothing) when the two pieces left need a slot there is
    /// not.
    fn carve(&mut self, i: usize, at: usize, pages: usize) -> AllocResult {
        let (base, n) = self.free[i];
        let head = (at - base) / M::PAGE_SIZE;
        let tail = n - head - pages;
        match (head, tail) {
            (0, 0) => {
                self.free.copy_within(i + 1..self.free_len, i);
                self.free_len -= 1;
            }
            (0, _) => self.free[i] = (Self::end(at, pages), tail),
            (_, 0) => self.free[i].1 = head,
            _ => {
                if self.free_len == FREE_RUNS {
                    return Err(AllocError::TableFull);
                }
                self.free.copy_within(i + 1..self.free_len, i + 2);
                self.free[i].1 = head;
                self.free[i + 1] = (Self::end(at, pages), tail);
                self.free_len += 1;
            }
        }
        Ok(())
    }

    /// Grows by `pages` and widens the span.
    fn grow(&mut self, pages: usize) -> AllocResult<usize> {
        let base = self.mem.grow(pages).ok_or(AllocError::NoMemory)?;
        self.total += pages;
        self.lo = if self.hi == 0 { base } else { self.lo.min(base) };
        self.hi = self.hi.max(Self::end(base, pages));
        Ok(base)
    }

    /// Frees slack `(base, pages)` of a fresh grow, or strands it.
    fn keep_slack(&mut self, base: usize, pages: usize) {
        if self.insert(base, pages).is_err() {
            self.stranded += pages;
            self.used += pages;
        }
    }
}

impl<M: LinearMemory> BaseAllocator for GrowPages<M> {
    type Addr = usize;

    /// Gives the allocator memory of its own (beside what it grows), as
    /// [`add_memory`](Self::add_memory).
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.add_memory(start, size) }
    }

    /// Adds `[start, start + size)`, rounded inwards to pages, as free
    /// pages. The caller promises what [`LinearMemory`] promises of a grown
    /// run.
    ///
    /// # Errors
    /// `InvalidParam` for a region with no whole page or past the address
    /// space; `MemoryOverlap` when it overlaps pages of this allocator;
    /// `TableFull` when the free table has no slot.
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let ps = M::PAGE_SIZE;
        let end = start.checked_add(size).ok_or(AllocError::InvalidParam)?;
        let lo = start.checked_next_multiple_of(ps).ok_or(AllocError::InvalidParam)?.max(ps);
        let hi = end & !(ps - 1);
        if lo >= hi {
            return Err(AllocError::InvalidParam);
        }
        if self.hi != 0 && lo < self.hi && self.lo < hi {
            return Err(AllocError::MemoryOverlap);
        }
        let pages = (hi - lo) / ps;
        self.insert(lo, pages)?;
        self.total += pages;
        self.lo = if self.hi == 0 { lo } else { self.lo.min(lo) };
        self.hi = self.hi.max(hi);
        Ok(())
    }
}

// SAFETY: runs come from the memory (fresh, by `LinearMemory`'s contract)
// or from the free table, which holds only pages grown or given and not
// handed out; carving and merging keep the table's runs disjoint from
// every run handed out.
unsafe impl<M: LinearMemory> PageAllocator for GrowPages<M> {
    const PAGE_SIZE: usize = M::PAGE_SIZE;

    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let ps = M::PAGE_SIZE;
        let bytes = run_bytes(num_pages, ps)?;
        let align = page_align(align_pow2, ps)?;
        // First fit in the free runs.
        for i in 0..self.free_len {
            let (base, n) = self.free[i];
            let Some(at) = base.checked_next_multiple_of(align) else { continue };
            if (at - base) / ps + num_pages <= n && self.carve(i, at, num_pages).is_ok() {
                self.used += num_pages;
                return Ok(at);
            }
        }
        // Grow: exactly, or with room to align.
        let extra = align / ps - 1;
        let grown = num_pages.checked_add(extra).ok_or(AllocError::NoMemory)?;
        let _ = bytes.checked_add(align - ps).ok_or(AllocError::NoMemory)?;
        let base = self.grow(grown)?;
        let at = base.next_multiple_of(align);
        let head = (at - base) / ps;
        self.keep_slack(base, head);
        self.keep_slack(Self::end(at, num_pages), extra - head);
        self.used += num_pages;
        Ok(at)
    }

    /// Cuts the run out of a free run; pages handed out give
    /// `MemoryOverlap`, pages past what was grown `InvalidParam` (the
    /// memory grows only at its end, for `alloc_pages`).
    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let ps = M::PAGE_SIZE;
        let bytes = run_bytes(num_pages, ps)?;
        let align = page_align(align_pow2, ps)?;
        let end = base.checked_add(bytes).ok_or(AllocError::InvalidParam)?;
        if !base.is_multiple_of(align) || self.hi == 0 || base < self.lo || end > self.hi {
            return Err(AllocError::InvalidParam);
        }
        let i = self.free[..self.free_len].partition_point(|&(b, _)| b <= base);
        if i == 0 || Self::end(self.free[i - 1].0, self.free[i - 1].1) < end {
            return Err(AllocError::MemoryOverlap);
        }
        self.carve(i - 1, base, num_pages)?;
        self.used += num_pages;
        Ok(base)
    }

    /// Keeps the run as free pages (merged with free neighbours).
    ///
    /// # Errors
    /// Also `TableFull` when the run merges with no free run and the table
    /// is full (nothing changes: the pages stay allocated).
    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        let bytes = run_bytes(num_pages, M::PAGE_SIZE)?;
        let end = pos.checked_add(bytes).ok_or(AllocError::InvalidParam)?;
        if !pos.is_multiple_of(M::PAGE_SIZE) || self.hi == 0 || pos < self.lo || end > self.hi {
            return Err(AllocError::InvalidParam);
        }
        // Any free run overlapping it: not allocated.
        let i = self.free[..self.free_len].partition_point(|&(b, _)| b < end);
        if num_pages > self.used - self.stranded
            || (i > 0 && Self::end(self.free[i - 1].0, self.free[i - 1].1) > pos)
        {
            return Err(AllocError::NotAllocated);
        }
        self.insert(pos, num_pages)?;
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

// SAFETY: runs come from grown memory (readable and writable at an address
// with exposed provenance, by `LinearMemory`'s contract) or from memory
// given to `add_memory`, whose caller promises the same.
unsafe impl<M: LinearMemory> MemoryPages for GrowPages<M> {}
