//! [`Pool`]: fixed-size blocks on a free list.

use core::{
    alloc::Layout,
    mem::size_of,
    ptr::{self, NonNull},
};

use allocator_core::{
    helpers::{align_up, check_layout, init_first, region_end, RegionSet},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};

/// How many regions one pool tracks.
pub const POOL_REGIONS: usize = 16;

/// A free block's first bytes: the next free block (read and written
/// unaligned, since blocks are only `BLOCK_ALIGN`-aligned).
type Link = Option<NonNull<u8>>;

/// A pool of `BLOCK`-byte blocks: O(1) allocate and free (a free list
/// threaded through the free blocks; fresh memory is carved lazily, so
/// adding a region touches no memory but the previous region's uncarved
/// rest, which goes onto the free list).
///
/// Blocks are aligned to [`BLOCK_ALIGN`](Self::BLOCK_ALIGN), the largest
/// power of two dividing `BLOCK` (at most 4096). A request larger than
/// `BLOCK` or aligned beyond that is refused with `Unsupported` (this pool
/// never serves it); an exhausted pool says `NoMemory`. `BLOCK` must hold a
/// pointer (checked at compile time). No per-block overhead; a region loses
/// at most `BLOCK_ALIGN - 1 + BLOCK - 1` bytes to trimming, and must hold
/// one whole block after it. Every block's pointer is derived from the
/// pointer of the region it lies in.
#[derive(Debug)]
pub struct Pool<const BLOCK: usize> {
    free: Link,
    /// The next uncarved block of the newest region (meaningful while
    /// `fresh_left > 0`).
    fresh: *mut u8,
    /// Uncarved blocks left at `fresh`: carving counts blocks, so it never
    /// computes an address past the region's end.
    fresh_left: usize,
    regions: RegionSet<POOL_REGIONS>,
    blocks: usize,
    used: usize,
}

// SAFETY: the pointers point only into memory given to the pool, which its
// owner promised is the pool's alone; nothing in it is tied to a thread.
unsafe impl<const BLOCK: usize> Send for Pool<BLOCK> {}

impl<const BLOCK: usize> Pool<BLOCK> {
    /// The alignment every block has.
    pub const BLOCK_ALIGN: usize = {
        assert!(BLOCK >= size_of::<Link>(), "Pool: BLOCK must hold a pointer");
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
        Self {
            free: None,
            fresh: ptr::null_mut(),
            fresh_left: 0,
            regions: RegionSet::new(),
            blocks: 0,
            used: 0,
        }
    }

    /// `Ok` for a layout this pool serves: `Unsupported` beyond `BLOCK`
    /// bytes or `BLOCK_ALIGN` alignment.
    fn fits(layout: Layout) -> AllocResult {
        check_layout(layout)?;
        if layout.size() > BLOCK || layout.align() > Self::BLOCK_ALIGN {
            return Err(AllocError::Unsupported);
        }
        Ok(())
    }

    /// Takes the next uncarved block, if any.
    fn carve(&mut self) -> Option<NonNull<u8>> {
        if self.fresh_left == 0 {
            return None;
        }
        let block = NonNull::new(self.fresh)?;
        self.fresh_left -= 1;
        if self.fresh_left > 0 {
            // At least one more whole block follows inside the region.
            self.fresh = self.fresh.wrapping_add(BLOCK);
        }
        Some(block)
    }

    /// Puts a block on the free list.
    ///
    /// # Safety
    /// `block` is a whole block of this pool's memory that nothing uses.
    unsafe fn push(&mut self, block: NonNull<u8>) {
        // SAFETY: the block is at least a link long (`BLOCK_ALIGN`'s
        // assertion), writable and unused (caller); unaligned write, as
        // blocks may be less aligned than a pointer.
        unsafe { block.as_ptr().cast::<Link>().write_unaligned(self.free) };
        self.free = Some(block);
    }
}

impl<const BLOCK: usize> Default for Pool<BLOCK> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BLOCK: usize> BaseAllocator for Pool<BLOCK> {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    /// Adds the whole blocks of the region (the previous region's uncarved
    /// rest goes onto the free list first: O(its blocks)).
    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let end = region_end(start.addr(), size)?;
        self.regions.check(start.addr(), end)?;
        // Address 0 is never a block.
        let first = align_up(start.addr().max(1), Self::BLOCK_ALIGN).ok_or(AllocError::InvalidParam)?;
        let count = end.saturating_sub(first) / BLOCK;
        if count == 0 {
            return Err(AllocError::InvalidParam);
        }
        self.regions.insert(start.addr(), end)?;
        while let Some(block) = self.carve() {
            // SAFETY: an uncarved block of an earlier region: whole, and
            // used by nothing.
            unsafe { self.push(block) };
        }
        // `first` lies inside the region: the pointer keeps its provenance.
        self.fresh = start.with_addr(first);
        self.fresh_left = count;
        self.blocks = self.blocks.saturating_add(count);
        Ok(())
    }
}

// SAFETY: blocks are whole `BLOCK`-byte pieces of the given regions at
// `BLOCK_ALIGN` multiples (carved by count, never past a region's end),
// each handed out once until freed; the pool writes only into free blocks;
// `resize_in_place` changes nothing but what the block may be freed with,
// within `BLOCK` (its usable size).
unsafe impl<const BLOCK: usize> ByteAllocator for Pool<BLOCK> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        Self::fits(layout)?;
        let block = if let Some(head) = self.free {
            // SAFETY: `head` is a free block of this pool holding a link.
            self.free = unsafe { head.as_ptr().cast::<Link>().read_unaligned() };
            head
        } else {
            self.carve().ok_or(AllocError::NoMemory)?
        };
        self.used += 1;
        Ok(block)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "Pool: freeing {ptr:p}, not from this pool");
        // SAFETY: the caller returns a live block of this pool: whole and
        // no longer used.
        unsafe { self.push(ptr) };
        self.used = self.used.saturating_sub(1);
    }

    /// In place within the block; `Unsupported` beyond it.
    unsafe fn resize_in_place(&mut self, _ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        Self::fits(new)
    }

    /// `BLOCK`.
    unsafe fn usable_size(&self, _ptr: NonNull<u8>, _layout: Layout) -> usize {
        BLOCK
    }

    /// `used` is whole blocks.
    fn figures(&self) -> Figures {
        Figures::new(self.blocks.saturating_mul(BLOCK), self.used.saturating_mul(BLOCK))
    }

    /// `BLOCK` while a block is free, else 0.
    fn largest_free(&self) -> Option<usize> {
        Some(if self.free.is_some() || self.fresh_left > 0 { BLOCK } else { 0 })
    }
}

// SAFETY: every block lies inside a region given to the pool, and the set
// holds exactly those regions (merged when adjacent).
unsafe impl<const BLOCK: usize> Owns for Pool<BLOCK> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr().addr(), layout.size())
    }
}

#[cfg(test)]
mod tests;
