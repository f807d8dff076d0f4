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

    /// The largest block served: `MAX_BLOCK`, and at most the largest power
    /// of two a `Layout` can be (`isize::MAX` rounded down).
    const LARGEST: usize = {
        let layout_max = 1 << (usize::BITS - 2);
        if Self::MAX_BLOCK < layout_max {
            Self::MAX_BLOCK
        } else {
            layout_max
        }
    };

    /// The size of the whole power-of-two block that serves `layout`:
    /// `max(size.next_power_of_two(), align, WORD)`, as the wrapped heap
    /// computes it. `None` for a zero size and when no block is large
    /// enough.
    ///
    /// Computed without a round-up: the bit length of
    /// `max(size, align, WORD) - 1` is the block's log2, and an OR of three
    /// numbers has the bit length of the longest. A zero size wraps to
    /// `usize::MAX`, which fails the same comparison as a size that is too
    /// large.
    #[inline(always)]
    fn block(layout: Layout) -> Option<usize> {
        let last = layout.size().wrapping_sub(1) | (layout.align() - 1) | (WORD - 1);
        if last >= Self::LARGEST {
            return None;
        }
        // `last` is at least 1 (WORD - 1) and below `LARGEST`, so the shift
        // gives a power of two from 2 to `LARGEST`.
        Some(2 << last.ilog2())
    }

    /// The layout the wrapped heap is given for a block of `size` bytes (a
    /// power of two from `block`), for `alloc` and `dealloc` alike: size 0,
    /// aligned to the block. `buddy_system_allocator` serves it with a block
    /// of `max(0.next_power_of_two(), align, WORD)` = `size` bytes (the
    /// unit tests check this through its own `stats_alloc_actual`), and
    /// skips its own round-up of the size, so that work is not done twice;
    /// it adds 0 to its count of requested bytes, so that count never
    /// depends on the size a block is freed with (it subtracts that size,
    /// and underflowed when it was larger than the one allocated).
    #[inline(always)]
    fn raw(size: usize) -> Layout {
        debug_assert!(size.is_power_of_two() && size <= Self::LARGEST);
        // SAFETY: `size` is a power of two (from `block`, or half of such a
        // block and at least a word), so a valid alignment; a size of 0
        // rounded up to it is 0, within `isize::MAX`.
        unsafe { Layout::from_size_align_unchecked(0, size) }
    }

    /// Why `alloc` refused `layout` before the wrapped heap saw it.
    #[cold]
    fn refusal(layout: Layout) -> AllocError {
        match check_layout(layout) {
            Err(e) => e,
            Ok(()) => AllocError::Unsupported,
        }
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
// power-of-two blocks inside the regions given, disjoint while live. Each
// is asked for as `raw(block(layout))`, which it serves with a block of
// exactly `block(layout)` bytes (at least the size, the alignment and a
// word); `usable_size` is that block's size. Every fitting layout (any size
// from the one allocated to the usable one, the same alignment) gives the
// same block, so `dealloc` frees the block it was allocated as, with the
// same counts; `resize_in_place` keeps the block, or gives back whole upper
// halves of it.
unsafe impl<const ORDER: usize> ByteAllocator for BuddyByteAllocator<ORDER> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        // One comparison refuses a zero size and what is never served; which
        // of the two it was is told apart only then.
        let Some(block) = Self::block(layout) else {
            return Err(Self::refusal(layout));
        };
        self.heap.alloc(Self::raw(block)).map_err(|()| AllocError::NoMemory)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "BuddyByteAllocator: freeing {ptr:p}, not from this heap");
        let Some(block) = Self::block(layout) else {
            debug_assert!(false, "BuddyByteAllocator: freeing with a layout it never serves");
            return;
        };
        debug_assert!(ptr.addr().get().is_multiple_of(block), "BuddyByteAllocator: not a block start");
        // SAFETY: the caller guarantees `ptr` is live here for a layout that
        // needs the same block as the one it was allocated with, and the
        // heap was given that block's layout then.
        unsafe { self.heap.dealloc(ptr, Self::raw(block)) }
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
        if new > old {
            return Err(AllocError::Unsupported);
        }
        let mut half = old;
        while half > new {
            half /= 2;
            // SAFETY: `[ptr + half, ptr + 2 * half)` is the upper half of
            // what is left of the live block, so inside it.
            let tail = unsafe { ptr.add(half) };
            // SAFETY: the upper half of a naturally aligned block of
            // `2 * half` bytes is itself a naturally aligned block of `half`
            // bytes (at least a word: `new` is), given as the heap is given
            // every block; its buddy (the lower half) stays live, so the
            // heap merges nothing. The heap's counts drop by `half` bytes,
            // exactly what the block now takes less.
            unsafe { self.heap.dealloc(tail, Self::raw(half)) };
        }
        Ok(())
    }

    #[inline]
    unsafe fn usable_size(&self, _ptr: NonNull<u8>, layout: Layout) -> usize {
        Self::block(layout).unwrap_or(layout.size())
    }

    /// O(1): the wrapped heap's own counts (`stats_total_bytes`,
    /// `stats_alloc_actual`), which no allocation pays more for.
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

    type Buddy = BuddyByteAllocator<32>;

    /// `block` is the block `buddy_system_allocator` computes for a layout,
    /// `max(size.next_power_of_two(), align, WORD)`, wherever that is at
    /// most `LARGEST`; `None` for a zero size and above.
    #[test]
    fn block_is_the_power_of_two_of_size_align_and_word() {
        let sizes = (0..usize::BITS).flat_map(|k| {
            let p = 1usize << k;
            [p - 1, p, p + 1]
        });
        for size in sizes.chain([0, 3, 100, 3000, isize::MAX as usize]) {
            for k in 0..usize::BITS - 1 {
                let align = 1usize << k;
                let Ok(layout) = Layout::from_size_align(size, align) else { continue };
                let expected = size
                    .checked_next_power_of_two()
                    .map(|p| p.max(align).max(WORD))
                    .filter(|&b| size != 0 && b <= Buddy::LARGEST);
                assert_eq!(Buddy::block(layout), expected, "{size} / {align}");
            }
        }
        assert_eq!(Buddy::LARGEST, Buddy::MAX_BLOCK.min(1 << (usize::BITS - 2)));
        assert_eq!(BuddyByteAllocator::<12>::LARGEST, 2048);
    }

    /// The wrapped heap, asked for `raw(size)` (size 0, aligned to the
    /// block), takes a whole naturally aligned block of `size` bytes by its
    /// own count (`stats_alloc_actual`), and blocks taken so do not
    /// overlap; freed the same way, its counts return to zero.
    #[test]
    fn the_wrapped_heap_serves_raw_with_whole_blocks() {
        extern crate std;
        use std::vec::Vec;

        let region = allocator_testkit::TestRegion::new(1 << 16, 1 << 16, 0);
        let mut heap = Heap::<32>::new();
        let start = region.ptr().expose_provenance();
        // SAFETY: the test region is ours for the heap's lifetime; its
        // provenance is exposed for the pointers the heap makes.
        unsafe { heap.add_to_heap(start, start + region.size()) };
        let mut live = Vec::new();
        let mut used = 0;
        for k in WORD.trailing_zeros()..12 {
            for _ in 0..3 {
                let size = 1usize << k;
                let p = heap.alloc(Buddy::raw(size)).unwrap();
                used += size;
                assert_eq!(heap.stats_alloc_actual(), used, "a block of {size} bytes");
                assert!(p.addr().get().is_multiple_of(size));
                live.push((p.addr().get(), size, p));
            }
        }
        live.sort_unstable_by_key(|&(a, ..)| a);
        for pair in live.windows(2) {
            assert!(pair[0].0 + pair[0].1 <= pair[1].0, "overlapping blocks");
        }
        for (_, size, p) in live {
            // SAFETY: live, allocated with this layout.
            unsafe { heap.dealloc(p, Buddy::raw(size)) };
        }
        assert_eq!((heap.stats_alloc_actual(), heap.stats_alloc_user()), (0, 0));
        assert_eq!(heap.alloc(Buddy::raw(1 << 16)).map(|p| p.addr().get()), Ok(start));
    }
}
