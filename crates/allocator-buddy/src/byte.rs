//! [`BuddyByteAllocator`]: power-of-two blocks over
//! `buddy_system_allocator::Heap`.

use core::{alloc::Layout, mem::size_of, ptr::NonNull};

use allocator_core::{
    check_layout, check_shrink, init_first, move_block, region_end, trim_region, AllocError, AllocResult,
    BaseAllocator, ByteAllocator, Owns, RegionSet,
};
use buddy_system_allocator::Heap;

use crate::MAX_REGIONS;

/// The smallest block: one machine word (free blocks hold a list link).
const WORD: usize = size_of::<usize>();

/// A binary buddy heap over `buddy_system_allocator` 0.13, with blocks of
/// `2^k` bytes for `k < ORDER` (the default, 32, allows blocks up to
/// 2 GiB). See the crate docs for costs and limits.
#[derive(Debug)]
pub struct BuddyByteAllocator<const ORDER: usize = 32> {
    heap: Heap<ORDER>,
    regions: RegionSet<MAX_REGIONS>,
}

// SAFETY: the heap's free lists point only into memory given to it, which
// its owner promised is the heap's alone; moving the heap moves all of it.
unsafe impl<const ORDER: usize> Send for BuddyByteAllocator<ORDER> {}

impl<const ORDER: usize> BuddyByteAllocator<ORDER> {
    /// Rejected at compile time: an `ORDER` with no block big enough for a
    /// free-list link, or with blocks larger than the address space.
    const VALID_ORDER: () = assert!(
        ORDER > WORD.trailing_zeros() as usize && ORDER <= usize::BITS as usize,
        "ORDER must be above log2(size_of::<usize>()) and at most usize::BITS"
    );

    /// A heap with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        let () = Self::VALID_ORDER;
        Self { heap: Heap::new(), regions: RegionSet::new() }
    }

    /// The largest block this heap can hand out, in bytes.
    pub const MAX_BLOCK: usize = 1 << (ORDER - 1);

    /// The size class (log2 of the block size) `layout` is served from, as
    /// `buddy_system_allocator` computes it; `None` when no block is large
    /// enough.
    #[inline]
    fn class(layout: Layout) -> Option<usize> {
        let size = layout.size().next_power_of_two().max(layout.align()).max(WORD);
        Some(size.trailing_zeros() as usize).filter(|&c| c < ORDER)
    }
}

impl<const ORDER: usize> Default for BuddyByteAllocator<ORDER> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const ORDER: usize> BaseAllocator for BuddyByteAllocator<ORDER> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.regions.check(start, end)?;
        // Word-aligned start and end, as the buddy wants them, and never
        // address 0 (from which it would loop forever).
        let from = start.max(1);
        let (first, len) = trim_region(from, end - from, WORD, WORD)?;
        // The region as given is recorded, so that no part of it can be
        // given again.
        self.regions.insert(start, end)?;
        // SAFETY: the trimmed range lies inside the caller's region, is
        // word-aligned, does not wrap and does not start at 0.
        unsafe { self.heap.add_to_heap(first, first + len) };
        Ok(())
    }
}

impl<const ORDER: usize> ByteAllocator for BuddyByteAllocator<ORDER> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        Self::class(layout).ok_or(AllocError::NoMemory)?;
        self.heap.alloc(layout).map_err(|()| AllocError::NoMemory)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "BuddyByteAllocator: freeing {ptr:p}, not from this heap");
        // SAFETY: the caller guarantees `ptr` is live here for `layout`.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    fn total_bytes(&self) -> usize {
        self.heap.stats_total_bytes()
    }

    fn used_bytes(&self) -> usize {
        self.heap.stats_alloc_actual()
    }

    fn available_bytes(&self) -> usize {
        self.heap.stats_total_bytes() - self.heap.stats_alloc_actual()
    }

    /// In place when the smaller block still needs the same power-of-two
    /// block (and its address meets the new alignment); else moved.
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        if Self::class(new) == Self::class(old) && (ptr.as_ptr() as usize).is_multiple_of(new.align()) {
            // The block and its size class are unchanged, so freeing it later
            // with `new` returns the same block.
            return Ok(ptr);
        }
        // SAFETY: forwarded from the caller.
        unsafe { move_block(self, ptr, old, new) }
    }
}

impl<const ORDER: usize> Owns for BuddyByteAllocator<ORDER> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr() as usize, layout.size())
    }
}
