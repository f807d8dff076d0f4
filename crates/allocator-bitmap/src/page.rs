//! [`BitmapPageAllocator`]: pages from a bitmap indexed from the first
//! region's own start.

use core::fmt;

use allocator_core::{
    helpers::{init_first, is_aligned, region_end, trim_region, RegionSet},
    AllocError, AllocResult, BaseAllocator, PageAllocator,
};
use bitmap_allocator::BitAlloc64K;

use crate::{run, PageMap};

/// How many separate regions one page allocator tracks (adjacent regions
/// merge and count as one).
pub const MAX_REGIONS: usize = 16;

/// A page allocator of `PAGE_SIZE`-byte pages over the `bitmap-allocator`
/// tree `M`, one bit a page: up to [`CAPACITY_PAGES`](Self::CAPACITY_PAGES)
/// (`M::CAP`) pages. See the crate docs for costs and limits.
///
/// The map is held inline, so its size is the allocator's: 8.5 KiB for the
/// default [`BitAlloc64K`] (256 MiB of 4 KiB pages), 34 MiB for
/// [`BitAlloc256M`](crate::BitAlloc256M) (1 TiB). A large map belongs in a
/// `static` ([`new`](Self::new) is `const` and all zeros).
///
/// Bit 0 is the first page of the first region, wherever that is, so the
/// whole capacity is usable at any base address.
pub struct BitmapPageAllocator<const PAGE_SIZE: usize = 4096, M: PageMap = BitAlloc64K> {
    /// Page number (address / `PAGE_SIZE`) of bit 0.
    origin: usize,
    /// The page ranges managed, by address.
    regions: RegionSet<MAX_REGIONS>,
    /// The regions as given (not trimmed to pages nor clipped to the
    /// capacity): no part of one may be given again.
    given: RegionSet<MAX_REGIONS>,
    total: usize,
    used: usize,
    map: M,
}

impl<const PAGE_SIZE: usize, M: PageMap> BitmapPageAllocator<PAGE_SIZE, M> {
    /// Rejected at compile time: a page size that is not a power of two.
    const VALID_PAGE_SIZE: () = assert!(PAGE_SIZE.is_power_of_two(), "PAGE_SIZE must be a power of two");

    /// How many pages this allocator can manage: the capacity of its map
    /// `M`. Regions beyond it are clipped.
    pub const CAPACITY_PAGES: usize = M::CAP;

    /// An allocator with no pages; `const` and all zeros, so it can sit in
    /// a `static` and land in `.bss` (which is where a large map belongs).
    pub const fn new() -> Self {
        let () = Self::VALID_PAGE_SIZE;
        Self {
            origin: 0,
            regions: RegionSet::new(),
            given: RegionSet::new(),
            total: 0,
            used: 0,
            map: M::DEFAULT,
        }
    }

    /// The bit of the page at `addr`, when `[addr, addr + num pages)` is
    /// page-aligned and lies in the managed memory (in one region, or in
    /// regions that are adjacent: the set merges them).
    fn index_of(&self, addr: usize, num: usize) -> AllocResult<usize> {
        let bytes = num.checked_mul(PAGE_SIZE).ok_or(AllocError::InvalidParam)?;
        if num == 0 || !is_aligned(addr, PAGE_SIZE) || !self.regions.contains(addr, bytes) {
            return Err(AllocError::InvalidParam);
        }
        Ok(addr / PAGE_SIZE - self.origin)
    }

    /// Alignment in pages for `align_pow2` bytes.
    fn align_pages(num: usize, align_pow2: usize) -> AllocResult<usize> {
        if num == 0 || !align_pow2.is_power_of_two() {
            return Err(AllocError::InvalidParam);
        }
        Ok((align_pow2 / PAGE_SIZE).max(1))
    }
}

impl<const PAGE_SIZE: usize, M: PageMap> Default for BitmapPageAllocator<PAGE_SIZE, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const PAGE_SIZE: usize, M: PageMap> fmt::Debug for BitmapPageAllocator<PAGE_SIZE, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BitmapPageAllocator")
            .field("page_size", &PAGE_SIZE)
            .field("capacity_pages", &Self::CAPACITY_PAGES)
            .field("regions", &self.regions)
            .field("total_pages", &self.total)
            .field("used_pages", &self.used)
            .finish_non_exhaustive()
    }
}

impl<const PAGE_SIZE: usize, M: PageMap> BaseAllocator for BitmapPageAllocator<PAGE_SIZE, M> {
    type Addr = usize;

    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    /// Adds the whole pages of `[start, start + size)`. The first region
    /// fixes bit 0; a later one must start at or above it and within the
    /// map's capacity. Pages past the capacity are left out (the region is
    /// clipped, and `total_pages` says how many were taken).
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.given.check(start, end)?;
        let (first, len) = trim_region(start, size, PAGE_SIZE, PAGE_SIZE)?;
        let last = first + len;
        let origin = if self.regions.is_empty() { first / PAGE_SIZE } else { self.origin };
        let index = (first / PAGE_SIZE).checked_sub(origin).ok_or(AllocError::InvalidParam)?;
        if index >= Self::CAPACITY_PAGES {
            return Err(AllocError::InvalidParam);
        }
        let pages = ((last - first) / PAGE_SIZE).min(Self::CAPACITY_PAGES - index);
        self.regions.check(first, first + pages * PAGE_SIZE)?;
        self.given.insert(start, end)?;
        self.regions.insert(first, first + pages * PAGE_SIZE)?;
        self.origin = origin;
        self.map.insert(index..index + pages);
        self.total += pages;
        Ok(())
    }
}

// SAFETY: a run is handed out only when every bit of it was free, and
// bits exist only for whole pages of the regions given (clipped to the
// map); the bits stay taken until `dealloc_pages` frees exactly them. `M`
// is one of `bitmap-allocator`'s own trees (`PageMap` is sealed), so no
// map of another crate is trusted with this.
unsafe impl<const PAGE_SIZE: usize, M: PageMap> PageAllocator for BitmapPageAllocator<PAGE_SIZE, M> {
    const PAGE_SIZE: usize = PAGE_SIZE;

    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let align = Self::align_pages(num_pages, align_pow2)?;
        num_pages.checked_mul(PAGE_SIZE).ok_or(AllocError::InvalidParam)?;
        if num_pages > self.total - self.used {
            return Err(AllocError::NoMemory);
        }
        let index =
            run::alloc_run(&mut self.map, num_pages, align, self.origin).ok_or(AllocError::NoMemory)?;
        self.used += num_pages;
        Ok((self.origin + index) * PAGE_SIZE)
    }

    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        Self::align_pages(num_pages, align_pow2)?;
        if !is_aligned(base, align_pow2) {
            return Err(AllocError::InvalidParam);
        }
        let index = self.index_of(base, num_pages)?;
        self.map.alloc_contiguous(Some(index), num_pages, 0).ok_or(AllocError::MemoryOverlap)?;
        self.used += num_pages;
        Ok(base)
    }

    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        let index = self.index_of(pos, num_pages)?;
        if !run::all_taken(&self.map, index, num_pages) {
            return Err(AllocError::NotAllocated);
        }
        run::free_run(&mut self.map, index, num_pages);
        self.used -= num_pages;
        Ok(())
    }

    fn total_pages(&self) -> usize {
        self.total
    }

    fn used_pages(&self) -> usize {
        self.used
    }

    fn available_pages(&self) -> usize {
        self.total - self.used
    }
}
