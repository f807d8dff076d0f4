//! [`BuddyPageAllocator`]: power-of-two runs of pages over
//! `buddy_system_allocator::FrameAllocator`.

use alloc::collections::BTreeMap;
use core::fmt;

use allocator_core::{
    init_first, region_end, trim_region, AllocError, AllocResult, BaseAllocator, PageAllocator, RegionSet,
};
use buddy_system_allocator::FrameAllocator;

use crate::MAX_REGIONS;

/// The default `ORDER` of [`BuddyPageAllocator`]: 33 (runs of up to 2^32
/// pages) where `usize` allows it, `usize::BITS` otherwise.
pub const DEFAULT_PAGE_ORDER: usize = if usize::BITS < 33 { usize::BITS as usize } else { 33 };

/// A live run: the block of frames taken, and the pages asked for.
#[derive(Clone, Copy, Debug)]
struct Run {
    block: usize,
    asked: usize,
}

/// A buddy allocator of page runs: each run takes a naturally aligned block
/// of `2^k` pages (`k < ORDER`), so runs come out aligned to their size.
///
/// Its free lists (`FrameAllocator`'s) and the record of live runs are
/// kept in the heap, hence the `alloc` feature. Keeping the record is what
/// lets it refuse double frees, frees of pages never allocated, and frees
/// with a different count, where `FrameAllocator` alone would corrupt its
/// lists. See the crate docs for costs.
pub struct BuddyPageAllocator<const PAGE_SIZE: usize, const ORDER: usize = DEFAULT_PAGE_ORDER> {
    frames: FrameAllocator<ORDER>,
    /// The page ranges managed, by address.
    regions: RegionSet<MAX_REGIONS>,
    /// Live runs by first frame.
    live: BTreeMap<usize, Run>,
    total: usize,
    used: usize,
}

impl<const PAGE_SIZE: usize, const ORDER: usize> BuddyPageAllocator<PAGE_SIZE, ORDER> {
    /// Rejected at compile time: a page size that is not a power of two, or
    /// an `ORDER` of zero or beyond the address space.
    const VALID: () = assert!(
        PAGE_SIZE.is_power_of_two() && ORDER >= 1 && ORDER <= usize::BITS as usize,
        "PAGE_SIZE must be a power of two and ORDER in 1..=usize::BITS"
    );

    /// The largest run, in pages.
    pub const MAX_RUN: usize = 1 << (ORDER - 1);

    /// An allocator with no pages; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        let () = Self::VALID;
        Self {
            frames: FrameAllocator::new(),
            regions: RegionSet::new(),
            live: BTreeMap::new(),
            total: 0,
            used: 0,
        }
    }

    /// The block (in frames) that `num` pages aligned to `align_pow2` bytes
    /// take.
    fn block(num: usize, align_pow2: usize) -> AllocResult<usize> {
        if num == 0 || !align_pow2.is_power_of_two() || num.checked_mul(PAGE_SIZE).is_none() {
            return Err(AllocError::InvalidParam);
        }
        let block = num.checked_next_power_of_two().ok_or(AllocError::NoMemory)?.max(align_pow2 / PAGE_SIZE);
        if block > Self::MAX_RUN {
            return Err(AllocError::NoMemory);
        }
        Ok(block)
    }

    fn record(&mut self, frame: usize, block: usize, asked: usize) -> usize {
        self.live.insert(frame, Run { block, asked });
        self.used += block;
        frame * PAGE_SIZE
    }
}

impl<const PAGE_SIZE: usize, const ORDER: usize> Default for BuddyPageAllocator<PAGE_SIZE, ORDER> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const PAGE_SIZE: usize, const ORDER: usize> fmt::Debug for BuddyPageAllocator<PAGE_SIZE, ORDER> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuddyPageAllocator")
            .field("page_size", &PAGE_SIZE)
            .field("regions", &self.regions)
            .field("total_pages", &self.total)
            .field("used_pages", &self.used)
            .field("live_runs", &self.live.len())
            .finish_non_exhaustive()
    }
}

impl<const PAGE_SIZE: usize, const ORDER: usize> BaseAllocator for BuddyPageAllocator<PAGE_SIZE, ORDER> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    /// Adds the whole pages of `[start, start + size)`, anywhere (up to 32
    /// regions).
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.regions.check(start, end)?;
        let (first, len) = trim_region(start, size, PAGE_SIZE, PAGE_SIZE)?;
        let last = first + len;
        self.regions.insert(first, last)?;
        self.frames.add_frame(first / PAGE_SIZE, last / PAGE_SIZE);
        self.total += (last - first) / PAGE_SIZE;
        Ok(())
    }
}

impl<const PAGE_SIZE: usize, const ORDER: usize> PageAllocator for BuddyPageAllocator<PAGE_SIZE, ORDER> {
    const PAGE_SIZE: usize = PAGE_SIZE;

    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let block = Self::block(num_pages, align_pow2)?;
        let frame = self.frames.alloc(block).ok_or(AllocError::NoMemory)?;
        Ok(self.record(frame, block, num_pages))
    }

    /// The run must start on a multiple of its own block size (the
    /// next power of two of `num_pages`), as every buddy block does;
    /// otherwise `InvalidParam`. Pages already taken give `MemoryOverlap`.
    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let block = Self::block(num_pages, PAGE_SIZE)?;
        if !align_pow2.is_power_of_two() || !base.is_multiple_of(align_pow2.max(PAGE_SIZE)) {
            return Err(AllocError::InvalidParam);
        }
        let frame = base / PAGE_SIZE;
        if !frame.is_multiple_of(block) || !self.regions.contains(base, block * PAGE_SIZE) {
            return Err(AllocError::InvalidParam);
        }
        self.frames.alloc_at(frame, block).ok_or(AllocError::MemoryOverlap)?;
        Ok(self.record(frame, block, num_pages))
    }

    /// Frees a run as it was allocated: `pos` its base and `num_pages` the
    /// count asked for (`InvalidParam` for another count; partial frees are
    /// not supported by a buddy).
    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        if num_pages == 0 || !pos.is_multiple_of(PAGE_SIZE) || !self.regions.contains(pos, PAGE_SIZE) {
            return Err(AllocError::InvalidParam);
        }
        let frame = pos / PAGE_SIZE;
        let run = *self.live.get(&frame).ok_or(AllocError::NotAllocated)?;
        if run.asked != num_pages {
            return Err(AllocError::InvalidParam);
        }
        self.live.remove(&frame);
        self.frames.dealloc(frame, run.block);
        self.used -= run.block;
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
