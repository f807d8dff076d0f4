//! [`BuddyPageAllocator`]: runs of pages from a binary buddy system whose
//! whole bookkeeping lives inside the allocator (no heap, no `alloc`).

use core::fmt;

use allocator_core::{
    helpers::{align_down, init_first, is_aligned, region_end, trim_region, RegionSet},
    AllocError, AllocResult, BaseAllocator, PageAllocator,
};

use crate::MAX_REGIONS;

mod map;

use map::{PageMap, GROUP_PAGES};

/// The default `GROUPS` of [`BuddyPageAllocator`]: 1024 groups of 64
/// pages, a window of 65,536 pages (256 MiB of 4 KiB pages) kept in 24 KiB.
pub const DEFAULT_PAGE_GROUPS: usize = 1024;

/// A buddy allocator of page runs with fixed-size bookkeeping: a run of `n`
/// pages is cut from a free block of `2^k` pages (`2^k >= n`, and at least
/// the alignment asked), aligned to `2^k` pages **as an address**; the
/// pages of the block past the run stay free, so `used_pages` counts
/// exactly the pages asked for.
///
/// It manages a window of `GROUPS × 64` pages ([`CAPACITY_PAGES`]) starting
/// at the 64-page group of the first region; `GROUPS` is a power of two.
/// The map (3 words a group) is inside the value and [`new`](Self::new) is
/// `const` and all zero, so a `static` of it lands in `.bss`. Nothing is
/// ever allocated from the global heap, so it can be the page source of the
/// program's own allocator. See the crate docs for costs and limits.
///
/// Every run is recorded (a free bit and a run-start bit a page), so a
/// double free or a free of a base that is not a run's is `NotAllocated`,
/// and a free with another count than allocated is `InvalidParam`.
///
/// [`CAPACITY_PAGES`]: Self::CAPACITY_PAGES
pub struct BuddyPageAllocator<const PAGE_SIZE: usize, const GROUPS: usize = DEFAULT_PAGE_GROUPS> {
    map: PageMap<GROUPS>,
    /// The page ranges managed, by address (adjacent ones merged).
    regions: RegionSet<MAX_REGIONS>,
    /// The regions as given (not trimmed to pages nor clipped to the
    /// window): no part of one may be given again.
    given: RegionSet<MAX_REGIONS>,
    total: usize,
    used: usize,
}

/// `ceil(log2(n))` for `n >= 1`.
fn ceil_log2(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}

impl<const PAGE_SIZE: usize, const GROUPS: usize> BuddyPageAllocator<PAGE_SIZE, GROUPS> {
    /// Rejected at compile time: a page size or `GROUPS` that is not a power
    /// of two, or a window whose block orders do not fit a 64-bit mask.
    const VALID: () = assert!(
        PAGE_SIZE.is_power_of_two()
            && GROUPS.is_power_of_two()
            && GROUPS <= usize::MAX / GROUP_PAGES
            && GROUPS.trailing_zeros() <= 57,
        "PAGE_SIZE and GROUPS must be powers of two (GROUPS at most 2^57)"
    );

    /// How many pages the window holds: `64 × GROUPS`.
    pub const CAPACITY_PAGES: usize = GROUPS * GROUP_PAGES;

    /// The largest run ever served (the whole window, when its base is
    /// aligned to its size).
    pub const MAX_RUN: usize = Self::CAPACITY_PAGES;

    /// An allocator with no pages: all zero, `const`, so it can sit in a
    /// `static`.
    pub const fn new() -> Self {
        let () = Self::VALID;
        Self { map: PageMap::new(), regions: RegionSet::new(), given: RegionSet::new(), total: 0, used: 0 }
    }

    /// The byte size of `num` pages, when `num` and `align_pow2` are valid.
    fn run_bytes(num: usize, align_pow2: usize) -> AllocResult<usize> {
        if num == 0 || !align_pow2.is_power_of_two() {
            return Err(AllocError::InvalidParam);
        }
        num.checked_mul(PAGE_SIZE).ok_or(AllocError::InvalidParam)
    }

    /// `true` when `frame` is managed, allocated and starts no run: it
    /// continues the run before it.
    fn continues_run(&self, frame: usize) -> bool {
        frame.checked_mul(PAGE_SIZE).is_some_and(|addr| self.regions.contains(addr, PAGE_SIZE))
            && !self.map.any_free(frame, 1)
            && !self.map.any_head(frame, 1)
    }

    /// The one frame where a run aligned to `align` pages may start when no
    /// free block of that order exists: the last aligned frame of the
    /// window, when the window's end cuts its block (for an alignment larger
    /// than the window, the only aligned frame in it).
    fn at_window_end(&self, num: usize, bytes: usize, align: usize) -> Option<usize> {
        let (start, end) = self.map.window();
        let frame = align_down(end - 1, align)?;
        if frame < start || end - frame >= align || num > end - frame {
            return None;
        }
        let addr = frame.checked_mul(PAGE_SIZE)?;
        (self.regions.contains(addr, bytes) && self.map.all_free(frame, num)).then_some(frame)
    }
}

impl<const PAGE_SIZE: usize, const GROUPS: usize> Default for BuddyPageAllocator<PAGE_SIZE, GROUPS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const PAGE_SIZE: usize, const GROUPS: usize> fmt::Debug for BuddyPageAllocator<PAGE_SIZE, GROUPS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuddyPageAllocator")
            .field("page_size", &PAGE_SIZE)
            .field("capacity_pages", &Self::CAPACITY_PAGES)
            .field("regions", &self.regions)
            .field("total_pages", &self.total)
            .field("used_pages", &self.used)
            .finish_non_exhaustive()
    }
}

impl<const PAGE_SIZE: usize, const GROUPS: usize> BaseAllocator for BuddyPageAllocator<PAGE_SIZE, GROUPS> {
    type Addr = usize;

    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    /// Adds the whole pages of `[start, start + size)`. The first region
    /// places the window at its first page's 64-page group; a later one
    /// must start inside the window. Pages past the window are left out
    /// (the region is clipped; `total_pages` says how many were taken).
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.given.check(start, end)?;
        let (first, len) = trim_region(start, size, PAGE_SIZE, PAGE_SIZE)?;
        let (f0, f1) = (first / PAGE_SIZE, (first + len) / PAGE_SIZE);
        let fresh = self.regions.is_empty();
        let window_start = if fresh { f0 - f0 % GROUP_PAGES } else { self.map.window().0 };
        let window_end = window_start.saturating_add(Self::CAPACITY_PAGES);
        if f0 < window_start || f0 >= window_end {
            return Err(AllocError::InvalidParam);
        }
        let f1 = f1.min(window_end);
        self.regions.check(first, f1 * PAGE_SIZE)?;
        self.given.insert(start, end)?;
        self.regions.insert(first, f1 * PAGE_SIZE)?;
        if fresh {
            self.map.set_window(f0);
        }
        self.map.add(f0, f1 - f0);
        self.total += f1 - f0;
        Ok(())
    }
}

// SAFETY: a run is handed out only when all its pages are free, and pages
// are free only inside the regions given (clipped to the window); they stay
// taken until `dealloc_pages` frees exactly that run.
unsafe impl<const PAGE_SIZE: usize, const GROUPS: usize> PageAllocator
    for BuddyPageAllocator<PAGE_SIZE, GROUPS>
{
    const PAGE_SIZE: usize = PAGE_SIZE;

    /// Takes the first `num_pages` pages of the smallest free block of at
    /// least `max(num_pages, align_pow2 / PAGE_SIZE)` pages (rounded up to
    /// a power of two); the rest of the block stays free.
    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let bytes = Self::run_bytes(num_pages, align_pow2)?;
        if num_pages > self.total - self.used {
            return Err(AllocError::NoMemory);
        }
        let align = (align_pow2 / PAGE_SIZE).max(1);
        let order = ceil_log2(num_pages).max(align.trailing_zeros());
        let frame = self
            .map
            .find(order)
            .or_else(|| self.at_window_end(num_pages, bytes, align))
            .ok_or(AllocError::NoMemory)?;
        self.map.take(frame, num_pages);
        self.used += num_pages;
        Ok(frame * PAGE_SIZE)
    }

    /// Any free pages of the managed memory, across adjacent regions too,
    /// whatever blocks they lie in.
    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let bytes = Self::run_bytes(num_pages, align_pow2)?;
        if !is_aligned(base, align_pow2.max(PAGE_SIZE)) || !self.regions.contains(base, bytes) {
            return Err(AllocError::InvalidParam);
        }
        let frame = base / PAGE_SIZE;
        if !self.map.all_free(frame, num_pages) {
            return Err(AllocError::MemoryOverlap);
        }
        self.map.take(frame, num_pages);
        self.used += num_pages;
        Ok(base)
    }

    /// Frees a run as it was allocated: `pos` its base and `num_pages` the
    /// count asked for. A `pos` that starts no run is `NotAllocated`;
    /// another count is `InvalidParam` (no partial frees).
    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        if num_pages == 0 || !is_aligned(pos, PAGE_SIZE) {
            return Err(AllocError::InvalidParam);
        }
        let bytes = num_pages.checked_mul(PAGE_SIZE).ok_or(AllocError::InvalidParam)?;
        if !self.regions.contains(pos, bytes) {
            return Err(AllocError::InvalidParam);
        }
        let frame = pos / PAGE_SIZE;
        if !self.map.any_head(frame, 1) {
            return Err(AllocError::NotAllocated);
        }
        // The run is exactly the pages from its start to the next free page,
        // the next run's start or the end of the managed memory.
        if self.map.any_free(frame, num_pages)
            || (num_pages > 1 && self.map.any_head(frame + 1, num_pages - 1))
            || self.continues_run(frame + num_pages)
        {
            return Err(AllocError::InvalidParam);
        }
        self.map.release(frame, num_pages);
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

#[cfg(test)]
mod tests {
    use super::*;

    type Small = BuddyPageAllocator<4096, 4>;

    fn small(base: usize, size: usize) -> Small {
        let mut p = Small::new();
        // SAFETY: page allocators touch no memory.
        unsafe { p.init(base, size) }.unwrap();
        p
    }

    #[test]
    fn ceil_log2_is_exact() {
        let cases = [(1, 0), (2, 1), (3, 2), (4, 2), (5, 3), (1 << 20, 20), ((1 << 20) + 1, 21)];
        for (n, want) in cases {
            assert_eq!(ceil_log2(n), want, "{n}");
        }
        assert_eq!(ceil_log2(usize::MAX), usize::BITS);
        assert_eq!(ceil_log2(1 << (usize::BITS - 1)), usize::BITS - 1);
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn the_bookkeeping_is_three_bits_a_page_plus_the_table() {
        // As the crate docs state.
        // 544: the tree and figures; 2 x 520: the two region tables.
        assert_eq!(core::mem::size_of::<BuddyPageAllocator<4096>>(), 24 * 1024 + 544 + 520);
        assert_eq!(core::mem::size_of::<Small>(), 24 * 4 + 544 + 520);
    }

    #[test]
    fn the_window_starts_at_the_first_regions_group() {
        let p = small(0x41_3000, 1 << 30);
        assert_eq!(Small::CAPACITY_PAGES, 256);
        assert_eq!(p.map.window(), (0x400, 0x500));
        assert_eq!(p.total_pages(), 256 - 0x13, "clipped at the window's end");
    }

    #[test]
    fn runs_take_the_smallest_block_and_leave_its_tail_free() {
        let mut p = small(0, 256 * 4096);
        let a = p.alloc_pages(1, 4096).unwrap();
        let b = p.alloc_pages(3, 4096).unwrap();
        assert_eq!((a, b), (0, 4 * 4096), "3 pages from a block of 4, after the 1-page block's buddy");
        assert_eq!(p.used_pages(), 4);
        assert_eq!(p.alloc_pages(1, 4096), Ok(4096), "a block of 1 page: page 1");
        assert_eq!(p.alloc_pages(1, 4096), Ok(7 * 4096), "the tail of the 3-page run's block");
        assert_eq!(p.alloc_pages(1, 4096), Ok(2 * 4096), "only now a block of 2 is split");
        assert_eq!(p.alloc_pages(1, 4096), Ok(3 * 4096));
        assert_eq!(p.alloc_pages(256, 4096), Err(AllocError::NoMemory));
    }

    #[test]
    fn empty_allocators_have_nothing() {
        let mut p = Small::new();
        assert_eq!(p.alloc_pages(1, 4096), Err(AllocError::NoMemory));
        assert_eq!(p.alloc_pages_at(0, 1, 4096), Err(AllocError::InvalidParam));
        // SAFETY: touches nothing.
        assert_eq!(unsafe { p.dealloc_pages(0, 1) }, Err(AllocError::InvalidParam));
        assert_eq!((p.total_pages(), p.used_pages(), p.available_pages()), (0, 0, 0));
    }

    #[test]
    fn later_regions_must_start_inside_the_window() {
        let mut p = small(0x10_0000, 4096);
        // SAFETY: page allocators touch no memory.
        unsafe {
            assert_eq!(p.add_memory(0x1000, 4096), Err(AllocError::InvalidParam), "below the window");
            assert_eq!(p.add_memory(0x20_0000, 4096), Err(AllocError::InvalidParam), "past the window");
            assert_eq!(p.add_memory(0x10_0000, 4096), Err(AllocError::MemoryOverlap));
            p.add_memory(0x1f_f000, 1 << 20).unwrap();
        }
        assert_eq!(p.total_pages(), 2, "the second region is clipped to one page");
    }
}
