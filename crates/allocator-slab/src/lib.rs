#![doc = include_str!("../README.md")]
#![no_std]

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::{check_layout, init_first, region_end, trim_region, RegionSet},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};
use ax_slab_allocator::Heap;

/// Regions start on, and are trimmed to multiples of, this many bytes.
pub const PAGE: usize = 4096;

/// The first region must hold at least this much (and is used in multiples
/// of it; the rest is added as whole pages).
pub const MIN_FIRST_REGION: usize = 0x8000;

/// The largest block a slab serves; larger ones come from the buddy heap.
pub const MAX_SLAB_BLOCK: usize = 4096;

/// The largest block the buddy heap inside can hand out (its order is 32;
/// on 32-bit targets a block is also at most `isize::MAX` bytes).
pub const MAX_BLOCK: usize = 1 << 31;

/// How many separate regions one allocator tracks (adjacent regions share
/// one entry).
pub const MAX_REGIONS: usize = 32;

/// A slab heap over `ax_slab_allocator` 0.4: blocks up to 4 KiB from
/// per-size slabs in O(1), larger ones from a buddy heap. See the crate
/// docs.
///
/// `ax_slab_allocator` takes and returns addresses as integers and turns
/// them into pointers itself. So each region's provenance is *exposed*
/// when it is added, and the blocks it returns are turned back into
/// pointers with `with_exposed_provenance_mut`.
pub struct SlabByteAllocator {
    heap: Option<Heap>,
    /// `FAST_LIMIT` once `heap` exists, 0 before: the bound of the fast
    /// path's one comparison, which so also tells whether there is a heap.
    fast_limit: usize,
    regions: RegionSet<MAX_REGIONS>,
    total: usize,
}

// SAFETY: the heap's free lists point only into memory given to it, which
// its owner promised is the heap's alone; moving the heap moves all of it.
unsafe impl Send for SlabByteAllocator {}

impl core::fmt::Debug for SlabByteAllocator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SlabByteAllocator")
            .field("regions", &self.regions)
            .field("figures", &self.figures())
            .finish()
    }
}

impl SlabByteAllocator {
    /// A heap with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        Self { heap: None, fast_limit: 0, regions: RegionSet::new(), total: 0 }
    }

    /// `alloc` gives `ax_slab_allocator` the caller's layout as it is when
    /// `(size - 1) | align` is below this (a size from 1 to 4096 bytes, an
    /// alignment up to 2048) and there is a heap.
    const FAST_LIMIT: usize = MAX_SLAB_BLOCK;

    /// `true` when `dealloc` gives `ax_slab_allocator` the caller's layout
    /// as it is: a size and an alignment up to 4 KiB, which it routes
    /// itself to the slab `block` picks (the smallest of at least both;
    /// every fitting size, up to that slab's block size, routes to the same
    /// slab). `size + align <= 4096` is a little stricter (the largest sizes
    /// of the 4 KiB slab go the other way), in one comparison; it cannot
    /// overflow, as a `Layout`'s size is at most `isize::MAX + 1 - align`.
    #[inline(always)]
    fn routed_as_given(layout: Layout) -> bool {
        layout.size() + layout.align() <= MAX_SLAB_BLOCK
    }

    /// The pointer for an address `ax_slab_allocator` handed out.
    ///
    /// # Safety
    /// `addr` is a block `ax_slab_allocator` returned: inside a region given
    /// to it, none of which starts at address 0.
    #[inline(always)]
    unsafe fn pointer(addr: usize) -> NonNull<u8> {
        // SAFETY: the caller's promise: regions are trimmed to start at a
        // page at least, so no block is at address 0.
        unsafe { core::hint::assert_unchecked(addr != 0) };
        // SAFETY: non-zero, as above. The address is inside a region whose
        // provenance was exposed when it was added.
        unsafe { NonNull::new_unchecked(core::ptr::with_exposed_provenance_mut(addr)) }
    }

    /// The layout `alloc` gives `ax_slab_allocator` for a request it does
    /// not give as it is: `block`'s. `None` for a zero size, a block it
    /// never serves, and when there is no heap yet (`refusal` tells which).
    /// Cold, so that the fast path keeps its registers.
    #[cold]
    #[inline(never)]
    fn given_slow(&self, layout: Layout) -> Option<Layout> {
        if layout.size() == 0 || self.heap.is_none() {
            return None;
        }
        Self::block(layout)
    }

    /// Why `alloc` refused `layout` before `ax_slab_allocator` saw it.
    #[cold]
    fn refusal(&self, layout: Layout) -> AllocError {
        if let Err(e) = check_layout(layout) {
            e
        } else if Self::block(layout).is_none() {
            AllocError::Unsupported
        } else {
            AllocError::NoMemory
        }
    }

    /// The whole block that serves `layout`, as the layout
    /// `ax_slab_allocator` is given (for `allocate` and `deallocate` alike):
    /// a slab block as `(class, class)`, a buddy block as `(2^k, 1)`. So
    /// the route and the buddy's counts never depend on the size a block is
    /// freed with. `None` when no block is large enough.
    ///
    /// A small block with an alignment above 4 KiB goes to the buddy heap as
    /// a block of `align` bytes: `ax_slab_allocator` would serve it from its
    /// 4 KiB slab, which is aligned to 4 KiB only.
    #[inline]
    fn block(layout: Layout) -> Option<Layout> {
        let (size, align) = (layout.size(), layout.align());
        if size <= MAX_SLAB_BLOCK && align <= MAX_SLAB_BLOCK {
            // Slab blocks of `class` bytes are aligned to `class`: each slab
            // is carved from a buddy block of 64 of them.
            let class = size.max(align).max(64).next_power_of_two();
            return Layout::from_size_align(class, class).ok();
        }
        // Above 4 KiB: ax_slab_allocator routes it to its buddy heap, which
        // aligns a block to its size.
        let block = size.checked_next_power_of_two()?.max(align);
        if block > MAX_BLOCK {
            return None;
        }
        Layout::from_size_align(block, 1).ok()
    }

    /// `true` when `ax_slab_allocator` serves this (normalised) block from
    /// its buddy heap.
    #[inline]
    fn is_buddy(block: Layout) -> bool {
        block.size() > MAX_SLAB_BLOCK
    }

    /// Hands the page-trimmed range `[start, start + len)` (its provenance
    /// exposed) to the heap, creating it on the first call with at least
    /// `MIN_FIRST_REGION` bytes.
    ///
    /// # Safety
    /// The range is memory the caller gave to this allocator; `len` is a
    /// non-zero multiple of `PAGE`, at least `MIN_FIRST_REGION` for the
    /// first call.
    unsafe fn give(&mut self, start: usize, len: usize) {
        match &mut self.heap {
            Some(heap) => {
                // SAFETY: page-aligned, a multiple of a page, the caller's.
                unsafe { heap.add_memory(start, len) };
            }
            None => {
                let first = len - len % MIN_FIRST_REGION;
                // SAFETY: page-aligned, a non-zero multiple of 32 KiB, the
                // caller's: every assertion of `Heap::new` holds.
                let mut heap = unsafe { Heap::new(start, first) };
                if len > first {
                    // SAFETY: the rest is page-aligned whole pages.
                    unsafe { heap.add_memory(start + first, len - first) };
                }
                self.heap = Some(heap);
                self.fast_limit = Self::FAST_LIMIT;
            }
        }
    }
}

impl Default for SlabByteAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl BaseAllocator for SlabByteAllocator {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let has_memory = self.heap.is_some();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let base = start.addr();
        let end = region_end(base, size)?;
        self.regions.check(base, end)?;
        // Never address 0; page-aligned ends stay a page below the top, so
        // the wrapped buddy's `block + WORD` never overflows.
        let from = base.max(1);
        let (first, len) = trim_region(from, end - from, PAGE, PAGE)?;
        if self.heap.is_none() && len < MIN_FIRST_REGION {
            return Err(AllocError::InvalidParam);
        }
        // The region as given is recorded, so that no part of it can be
        // given again.
        self.regions.insert(base, end)?;
        // ax_slab_allocator turns these integers back into pointers.
        let first = start.with_addr(first).expose_provenance();
        // SAFETY: the trimmed range lies inside the caller's region (its
        // provenance exposed), and has the shape `give` needs.
        unsafe { self.give(first, len) };
        self.total += len;
        Ok(())
    }
}

// SAFETY: blocks come from `ax_slab_allocator`, disjoint while live, inside
// the regions given; `block` picks a slab or buddy block aligned to at
// least the layout's alignment and at least `usable_size` long. A layout of
// a size and an alignment up to 4 KiB is given as it is or as `block`:
// ax_slab_allocator routes both to the slab `block` picks, and every
// fitting layout (a size up to that slab's block size, the same alignment)
// to that slab again. Any other layout is given as `block`, the same buddy
// block for every fitting size. So `dealloc` frees the block it was
// allocated as; `resize_in_place` keeps the block or gives back whole upper
// halves of a buddy block.
unsafe impl ByteAllocator for SlabByteAllocator {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        // One comparison passes a non-zero size up to 4 KiB (a zero size
        // wraps to `usize::MAX`) with an alignment up to 2 KiB, when there
        // is a heap (`fast_limit` is 0 before): ax_slab_allocator routes
        // such a layout itself to the slab `block` picks.
        let given = if (layout.size().wrapping_sub(1) | layout.align()) < self.fast_limit {
            layout
        } else {
            match self.given_slow(layout) {
                Some(block) => block,
                None => return Err(self.refusal(layout)),
            }
        };
        // SAFETY: `fast_limit` is non-zero only once the heap exists, and
        // `given_slow` checked it.
        let heap = unsafe { self.heap.as_mut().unwrap_unchecked() };
        match heap.allocate(given) {
            // SAFETY: a block `ax_slab_allocator` returned.
            Ok(addr) => Ok(unsafe { Self::pointer(addr) }),
            Err(_) => Err(AllocError::NoMemory),
        }
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "SlabByteAllocator: freeing {ptr:p}, not from this heap");
        debug_assert!(self.heap.is_some(), "SlabByteAllocator: freeing into a heap with no memory");
        let given = if Self::routed_as_given(layout) {
            layout
        } else {
            let Some(block) = Self::block(layout) else {
                debug_assert!(false, "SlabByteAllocator: freeing a block it never served");
                return;
            };
            block
        };
        // SAFETY: `ptr` is a live block of this heap (the caller's promise),
        // so the heap exists.
        let heap = unsafe { self.heap.as_mut().unwrap_unchecked() };
        // SAFETY: the caller guarantees `ptr` is live here for a fitting
        // layout. `given` is that layout when `ax_slab_allocator` routes it
        // to the slab the block came from (allocated as given or as `block`,
        // which routes alike), else `block`'s, as the block was allocated.
        unsafe { heap.deallocate(ptr.as_ptr().expose_provenance(), given) }
    }

    /// In place while the block stays in its slab or buddy block (either
    /// way); a buddy block shrinking to a smaller buddy block gives its
    /// upper halves back. Other resizes are `Unsupported` (they move).
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        let old = Self::block(layout).ok_or(AllocError::InvalidParam)?;
        let new = Self::block(new).ok_or(AllocError::Unsupported)?;
        if new == old {
            return Ok(());
        }
        if !(Self::is_buddy(old) && Self::is_buddy(new) && new.size() < old.size()) {
            return Err(AllocError::Unsupported);
        }
        let heap = self.heap.as_mut().ok_or(AllocError::InvalidParam)?;
        let mut half = old.size();
        while half > new.size() {
            half /= 2;
            // SAFETY: `half` is a power of two below a valid layout's size.
            let tail_block = unsafe { Layout::from_size_align_unchecked(half, 1) };
            let tail = ptr.as_ptr().wrapping_add(half).expose_provenance();
            // SAFETY: the upper half of what is left of the live buddy block
            // is a naturally aligned block of `half > 4 KiB` bytes (so
            // routed to the buddy heap); its buddy (the lower half) stays
            // live, so nothing merges, and the buddy's counts drop by the
            // bytes the block no longer takes.
            unsafe { heap.deallocate(tail, tail_block) };
        }
        Ok(())
    }

    #[inline]
    unsafe fn usable_size(&self, _ptr: NonNull<u8>, layout: Layout) -> usize {
        Self::block(layout).map_or(layout.size(), |b| b.size())
    }

    /// Blocks in use: slab blocks at their slab's size, buddy blocks at
    /// their power of two. `ax_slab_allocator`'s own figures count slab
    /// memory twice (in the slab and in the buddy block it was carved
    /// from); this takes the carved memory out again.
    fn figures(&self) -> Figures {
        let used = self.heap.as_ref().map_or(0, |h| {
            let carved = h.total_bytes().saturating_sub(self.total);
            h.used_bytes().saturating_sub(carved)
        });
        Figures::new(self.total, used)
    }
}

// SAFETY: a block is inside one region, or (a buddy block merged from two
// adjacent regions) inside regions that `RegionSet` merged into one range;
// memory never given is in no range.
unsafe impl Owns for SlabByteAllocator {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.addr().get(), layout.size())
    }
}

#[cfg(test)]
mod tests {
    //! The routes the fast paths rely on, against `ax_slab_allocator`'s own
    //! answer: its `usable_size` names the slab it routes a layout to,
    //! through the same routing as `allocate` and `deallocate`.

    use super::*;

    /// Every layout either fast path gives as it is (and every fitting
    /// layout of the block it gets) routes to the slab `block` picks; every
    /// other layout goes through `block`.
    #[test]
    fn layouts_given_as_they_are_route_to_the_slab_block_picks() {
        let region = allocator_testkit::TestRegion::new(MIN_FIRST_REGION, PAGE, 0);
        // SAFETY: page-aligned, 32 KiB, ours while the heap lives; its
        // provenance is exposed for the pointers the heap makes.
        let raw = unsafe { Heap::new(region.ptr().expose_provenance(), region.size()) };
        let slab_of = |l: Layout| raw.usable_size(l).1;
        let mut fast_alloc = 0;
        let mut fast_dealloc = 0;
        for size in 0..=2 * MAX_SLAB_BLOCK + 1 {
            for k in 0..=14 {
                let Ok(layout) = Layout::from_size_align(size, 1 << k) else { continue };
                let alloc_fast = (size.wrapping_sub(1) | layout.align()) < SlabByteAllocator::FAST_LIMIT;
                let dealloc_fast = SlabByteAllocator::routed_as_given(layout);
                if !(alloc_fast || dealloc_fast) {
                    continue;
                }
                fast_alloc += usize::from(alloc_fast);
                fast_dealloc += usize::from(dealloc_fast);
                assert!(size > 0 || !alloc_fast, "a zero size passes the fast path");
                let block = SlabByteAllocator::block(layout).unwrap();
                assert!(!SlabByteAllocator::is_buddy(block), "{size} / {}", layout.align());
                assert_eq!(slab_of(layout), block.size(), "{size} / {}", layout.align());
                assert_eq!(slab_of(block), block.size());
                for fitting in size.max(1)..=block.size() {
                    let f = Layout::from_size_align(fitting, layout.align()).unwrap();
                    assert_eq!(slab_of(f), block.size(), "{fitting} / {}", layout.align());
                }
            }
        }
        assert!(fast_alloc > 4096 * 10 && fast_dealloc > 4096 * 10);
    }
}
