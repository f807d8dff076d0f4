//! [`BitmapPageAllocator`]: pages from a bitmap indexed from the first
//! region's own start.

use core::fmt;

use allocator_core::{
    helpers::{init_first, is_aligned, region_end, trim_region, RegionSet},
    AllocError, AllocResult, BaseAllocator, PageAllocator,
};
use bitmap_allocator::BitAlloc;

use crate::{run, PageMap, CAPACITY_PAGES};

/// How many separate regions one page allocator tracks (adjacent regions
/// merge and count as one).
pub const MAX_REGIONS: usize = 16;

/// A page allocator over a `bitmap-allocator` tree of [`CAPACITY_PAGES`]
/// bits, one a page. See the crate docs for costs and limits.
///
/// Bit 0 is the first page of the first region, wherever that is, so the
/// whole capacity is usable at any base address.
pub struct BitmapPageAllocator<const PAGE_SIZE: usize> {
    /// Page number (address / `PAGE_SIZE`) of bit 0.
    origin: usize,
    /// The page ranges managed, by address.
    regions: RegionSet<MAX_REGIONS>,
    total: usize,
    used: usize,
    map: PageMap,
}

impl<const PAGE_SIZE: usize> BitmapPageAllocator<PAGE_SIZE> {
    /// Rejected at compile time: a page size that is not a power of two.
    const VALID_PAGE_SIZE: () = assert!(PAGE_SIZE.is_power_of_two(), "PAGE_SIZE must be a power of two");

    /// An allocator with no pages; `const`, so it can sit in a `static`
    /// (which is where a large map belongs: see the capacity features).
    pub const fn new() -> Self {
        let () = Self::VALID_PAGE_SIZE;
        Self { origin: 0, regions: RegionSet::new(), total: 0, used: 0, map: PageMap::DEFAULT }
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

impl<const PAGE_SIZE: usize> Default for BitmapPageAllocator<PAGE_SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const PAGE_SIZE: usize> fmt::Debug for BitmapPageAllocator<PAGE_SIZE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BitmapPageAllocator")
            .field("page_size", &PAGE_SIZE)
            .field("regions", &self.regions)
            .field("total_pages", &self.total)
            .field("used_pages", &self.used)
            .finish_non_exhaustive()
    }
}

impl<const PAGE_SIZE: usize> BaseAllocator for BitmapPageAllocator<PAGE_SIZE> {
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
        self.regions.check(start, end)?;
        let (first, len) = trim_region(start, size, PAGE_SIZE, PAGE_SIZE)?;
        let last = first + len;
        let origin = if self.regions.is_empty() { first / PAGE_SIZE } else { self.origin };
        let index = (first / PAGE_SIZE).checked_sub(origin).ok_or(AllocError::InvalidParam)?;
        if index >= CAPACITY_PAGES {
            return Err(AllocError::InvalidParam);
        }
        let pages = ((last - first) / PAGE_SIZE).min(CAPACITY_PAGES - index);
        self.regions.insert(first, first + pages * PAGE_SIZE)?;
        self.origin = origin;
        self.map.insert(index..index + pages);
        self.total += pages;
        Ok(())
    }
}

// SAFETY: a run is handed out only when every bit of it was free, and
// bits exist only for whole pages of the regions given (clipped to the
// map); the bits stay taken until `dealloc_pages` frees exactly them.
unsafe impl<const PAGE_SIZE: usize> PageAllocator for BitmapPageAllocator<PAGE_SIZE> {
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
