//! [`BuddyByteAllocator`]: power-of-two blocks over
//! `buddy_system_allocator::Heap`.
//!
//! `buddy_system_allocator` takes and keeps addresses as integers and turns
//! them back into pointers itself (its free lists are integer-to-pointer
//! casts). So the region's provenance is *exposed* when it is added
//! (`expose_provenance`), and the pointers the crate makes pick it up.

use core::{alloc::Layout, mem::size_of, ptr::NonNull};

use allocator_core::{
    helpers::{check_layout, init_first, region_end, trim_region, RegionSet},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
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

    /// The largest block this heap can hand out, in bytes (blocks are also
    /// at most `isize::MAX` bytes, as every `Layout`).
    pub const MAX_BLOCK: usize = 1 << (ORDER - 1);

    /// The whole power-of-two block that serves `layout`, as the layout the
    /// wrapped heap is given (for `alloc` and `dealloc` alike): its size is
    /// the block's, so the heap's counts never depend on the size the
    /// caller frees with. `None` when no block is large enough.
    #[inline]
    fn block(layout: Layout) -> Option<Layout> {
        let size = layout.size().checked_next_power_of_two()?.max(layout.align()).max(WORD);
        if size > Self::MAX_BLOCK {
            return None;
        }
        Layout::from_size_align(size, 1).ok()
    }
}

impl<const ORDER: usize> Default for BuddyByteAllocator<ORDER> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const ORDER: usize> BaseAllocator for BuddyByteAllocator<ORDER> {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let base = start.addr();
        let end = region_end(base, size)?;
        self.regions.check(base, end)?;
        let (first, len) = usable_range(base, end)?;
        // The region as given is recorded, so that no part of it can be
        // given again.
        self.regions.insert(base, end)?;
        // The crate turns these integers back into pointers: expose the
        // region's provenance for them.
        let first = start.with_addr(first).expose_provenance();
        // SAFETY: the trimmed range lies inside the caller's region (whose
        // provenance is exposed), is word-aligned, does not start at 0 and
        // ends two words below the top of the address space.
        unsafe { self.heap.add_to_heap(first, first + len) };
        Ok(())
    }
}

/// The part of the region `[base, end)` the wrapped heap is given, as
/// `(start, len)`: word-aligned start and end, as it wants them; never
/// address 0 (from which it would loop forever); and an end at least a word
/// below the top of the address space (it computes `block + WORD` for every
/// block start up to the end).
fn usable_range(base: usize, end: usize) -> AllocResult<(usize, usize)> {
    let from = base.max(1);
    let to = end.min(usize::MAX - 2 * WORD + 1);
    let len = to.checked_sub(from).ok_or(AllocError::InvalidParam)?;
    trim_region(from, len, WORD, WORD)
}

// SAFETY: blocks come from `buddy_system_allocator`: naturally aligned
// power-of-two blocks (so aligned to the layout: the block is at least its
// alignment) inside the regions given, disjoint while live. `usable_size`
// is that block's size. The heap is always given the whole block's layout,
// so freeing with any fitting size frees the same block with the same
// counts; `resize_in_place` keeps the block, or gives back whole upper
// halves of it.
unsafe impl<const ORDER: usize> ByteAllocator for BuddyByteAllocator<ORDER> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        let block = Self::block(layout).ok_or(AllocError::Unsupported)?;
        self.heap.alloc(block).map_err(|()| AllocError::NoMemory)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "BuddyByteAllocator: freeing {ptr:p}, not from this heap");
        let Some(block) = Self::block(layout) else {
            debug_assert!(false, "BuddyByteAllocator: freeing with a layout it never serves");
            return;
        };
        debug_assert!(ptr.addr().get().is_multiple_of(block.size()), "BuddyByteAllocator: not a block start");
        // SAFETY: the caller guarantees `ptr` is live here for a layout that
        // needs the same block as the one it was allocated with, and the
        // heap was given that block's layout then.
        unsafe { self.heap.dealloc(ptr, block) }
    }

    /// In place while the block stays in its power of two (either way);
    /// shrinking to a smaller power of two gives the upper halves back to
    /// the heap, so it is always in place. Growing past the block is
    /// `Unsupported`: the wrapped heap does not tell whether the buddy is
    /// free.
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        let old = Self::block(layout).ok_or(AllocError::InvalidParam)?;
        let new = Self::block(new).ok_or(AllocError::Unsupported)?;
        if new.size() > old.size() {
            return Err(AllocError::Unsupported);
        }
        let mut half = old.size();
        while half > new.size() {
            half /= 2;
            // SAFETY: `[ptr + half, ptr + 2 * half)` is the upper half of
            // what is left of the live block, so inside it.
            let tail = unsafe { ptr.add(half) };
            // SAFETY: `half` is a power of two below the block's size, a
            // valid layout's size, so at most `isize::MAX`.
            let tail_block = unsafe { Layout::from_size_align_unchecked(half, 1) };
            // SAFETY: the upper half of a naturally aligned block of
            // `2 * half` bytes is itself a naturally aligned block of `half`
            // bytes; its buddy (the lower half) stays live, so the heap
            // merges nothing. The heap's counts drop by `half` bytes,
            // exactly what the block now takes less.
            unsafe { self.heap.dealloc(tail, tail_block) };
        }
        Ok(())
    }

    #[inline]
    unsafe fn usable_size(&self, _ptr: NonNull<u8>, layout: Layout) -> usize {
        Self::block(layout).map_or(layout.size(), |b| b.size())
    }

    fn figures(&self) -> Figures {
        Figures::new(self.heap.stats_total_bytes(), self.heap.stats_alloc_actual())
    }
}

// SAFETY: a block is either inside one region, or (after the heap merged
// buddies from two adjacent regions) inside regions that `RegionSet` has
// merged into one range: `contains` is true for it. Memory never given is
// in no range.
unsafe impl<const ORDER: usize> Owns for BuddyByteAllocator<ORDER> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.addr().get(), layout.size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hole: a region ending at the top of the address space was handed
    /// to the wrapped heap whole, and its `block + WORD <= end` loop test
    /// overflowed (a panic in debug builds, an endless loop writing
    /// through wrapped addresses in release). No memory is touched here:
    /// only the range computation is checked.
    #[test]
    fn a_region_at_the_top_leaves_room_for_block_plus_word() {
        for (base, end) in
            [(usize::MAX - 64, usize::MAX), (usize::MAX - 4095, usize::MAX), (1 << 20, usize::MAX)]
        {
            let (first, len) = usable_range(base, end).unwrap();
            assert!(first >= base && first.is_multiple_of(WORD) && len.is_multiple_of(WORD) && len > 0);
            assert!((first + len).checked_add(WORD).is_some(), "{base:#x}..{end:#x}");
        }
        assert_eq!(usable_range(usize::MAX - 8, usize::MAX), Err(AllocError::InvalidParam));
        assert_eq!(usable_range(0, WORD), Err(AllocError::InvalidParam));
        assert_eq!(usable_range(0, 4 * WORD), Ok((WORD, 3 * WORD)));
    }
}
