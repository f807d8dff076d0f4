//! [`Pool`]: fixed-size blocks on a free list.

use core::{alloc::Layout, mem::size_of, ptr::NonNull};

use allocator_core::{
    align_up, check_grow, check_layout, check_shrink, init_first, region_end, AllocError, AllocResult,
    BaseAllocator, ByteAllocator, Owns, RegionSet,
};

/// How many regions one pool tracks.
pub const POOL_REGIONS: usize = 16;

/// A pool of `BLOCK`-byte blocks: O(1) allocate and free (a free list
/// threaded through the free blocks; fresh memory is carved lazily, so
/// adding a region is O(1) too).
///
/// Blocks are aligned to [`BLOCK_ALIGN`](Self::BLOCK_ALIGN), the largest
/// power of two dividing `BLOCK` (at most 4096). A request larger than
/// `BLOCK` or aligned beyond that is refused with `InvalidParam`; an
/// exhausted pool says `NoMemory`. `BLOCK` must hold a pointer (checked at
/// compile time). No per-block overhead; a region loses at most
/// `BLOCK_ALIGN - 1 + BLOCK - 1` bytes to trimming.
#[derive(Debug)]
pub struct Pool<const BLOCK: usize> {
    free: Option<NonNull<FreeBlock>>,
    /// Uncarved memory of the newest region: `[fresh, fresh_end)`.
    fresh: usize,
    fresh_end: usize,
    regions: RegionSet<POOL_REGIONS>,
    blocks: usize,
    used: usize,
}

/// A free block's first word: the next free block.
struct FreeBlock {
    next: Option<NonNull<FreeBlock>>,
}

// SAFETY: the free list points only into memory given to the pool, which
// its owner promised is the pool's alone.
unsafe impl<const BLOCK: usize> Send for Pool<BLOCK> {}

impl<const BLOCK: usize> Pool<BLOCK> {
    /// The alignment every block has.
    pub const BLOCK_ALIGN: usize = {
        assert!(BLOCK >= size_of::<usize>(), "Pool: BLOCK must hold a pointer");
        let a = 1 << BLOCK.trailing_zeros();
        if a > 4096 {
            4096
        } else {
            a
        }
    };

    /// A pool with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        let _ = Self::BLOCK_ALIGN;
        Self { free: None, fresh: 0, fresh_end: 0, regions: RegionSet::new(), blocks: 0, used: 0 }
    }

    fn fits(layout: Layout) -> AllocResult {
        check_layout(layout)?;
        if layout.size() > BLOCK || layout.align() > Self::BLOCK_ALIGN {
            return Err(AllocError::InvalidParam);
        }
        Ok(())
    }

    /// Threads `[from, to)` (whole blocks) onto the free list.
    ///
    /// # Safety
    /// The range is uncarved pool memory.
    unsafe fn thread(&mut self, mut from: usize, to: usize) {
        while from + BLOCK <= to {
            let block = from as *mut FreeBlock;
            // SAFETY: a whole, aligned, unused block of pool memory.
            unsafe { block.write(FreeBlock { next: self.free }) };
            self.free = NonNull::new(block);
            from += BLOCK;
        }
    }
}

impl<const BLOCK: usize> Default for Pool<BLOCK> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BLOCK: usize> BaseAllocator for Pool<BLOCK> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    /// Adds the whole blocks of the region (the previous region's uncarved
    /// rest goes onto the free list first: O(its blocks)).
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.regions.check(start, end)?;
        let first = align_up(start.max(1), Self::BLOCK_ALIGN).ok_or(AllocError::InvalidParam)?;
        let count = end.saturating_sub(first) / BLOCK;
        if count == 0 {
            return Err(AllocError::InvalidParam);
        }
        self.regions.insert(start, end)?;
        // SAFETY: the old fresh range is uncarved memory of an earlier region.
        unsafe { self.thread(self.fresh, self.fresh_end) };
        (self.fresh, self.fresh_end) = (first, first + count * BLOCK);
        self.blocks += count;
        Ok(())
    }
}

impl<const BLOCK: usize> ByteAllocator for Pool<BLOCK> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        Self::fits(layout)?;
        let block = if let Some(head) = self.free {
            // SAFETY: `head` is a free block of this pool holding a link.
            self.free = unsafe { head.as_ptr().read().next };
            head.cast()
        } else if self.fresh < self.fresh_end {
            let p = self.fresh;
            self.fresh += BLOCK;
            NonNull::new(p as *mut u8).ok_or(AllocError::NoMemory)?
        } else {
            return Err(AllocError::NoMemory);
        };
        self.used += 1;
        Ok(block)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "Pool: freeing {ptr:p}, not from this pool");
        let block = ptr.cast::<FreeBlock>();
        // SAFETY: the caller returns a live block of this pool: whole,
        // aligned, and no longer used.
        unsafe { block.as_ptr().write(FreeBlock { next: self.free }) };
        self.free = Some(block);
        self.used -= 1;
    }

    fn total_bytes(&self) -> usize {
        self.blocks * BLOCK
    }

    fn used_bytes(&self) -> usize {
        self.used * BLOCK
    }

    fn available_bytes(&self) -> usize {
        (self.blocks - self.used) * BLOCK
    }

    /// In place within the block; `InvalidParam` beyond it.
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        Self::fits(new)?;
        Ok(ptr)
    }

    /// In place.
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        Self::fits(new)?;
        Ok(ptr)
    }
}

impl<const BLOCK: usize> Owns for Pool<BLOCK> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr() as usize, layout.size())
    }
}
