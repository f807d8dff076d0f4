#![doc = include_str!("../README.md")]
#![no_std]

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    check_grow, check_layout, check_shrink, init_first, move_block, region_end, trim_region, AllocError,
    AllocResult, BaseAllocator, ByteAllocator, Owns, RegionSet,
};
use ax_slab_allocator::Heap;

/// Regions start on, and are trimmed to multiples of, this many bytes.
pub const PAGE: usize = 4096;

/// The first region must hold at least this much (and is used in multiples
/// of it; the rest is added as whole pages).
pub const MIN_FIRST_REGION: usize = 0x8000;

/// The largest block a slab serves; larger ones come from the buddy heap.
pub const MAX_SLAB_BLOCK: usize = 4096;

/// The largest block the buddy heap inside can hand out (its order is 32).
pub const MAX_BLOCK: usize = 1 << 31;

/// How many separate regions one allocator tracks.
pub const MAX_REGIONS: usize = 32;

/// A slab heap over `ax_slab_allocator` 0.4: blocks up to 4 KiB from
/// per-size slabs in O(1), larger ones from a buddy heap. See the crate
/// docs.
pub struct SlabByteAllocator {
    heap: Option<Heap>,
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
            .field("total", &self.total)
            .field("used", &self.used_bytes())
            .finish()
    }
}

/// Where `ax_slab_allocator` serves a layout.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// A slab of blocks of this size.
    Slab(usize),
    /// The buddy heap, in a block of `2^k` bytes.
    Buddy(u32),
}

impl SlabByteAllocator {
    /// A heap with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        Self { heap: None, regions: RegionSet::new(), total: 0 }
    }

    /// The layout to hand `ax_slab_allocator`. It serves a small block with
    /// an alignment above 4 KiB from its 4 KiB slab, which is aligned to
    /// 4 KiB only; such requests are sent to its buddy heap instead, as a
    /// block of `align` bytes (which the buddy aligns to its size).
    #[inline]
    fn normalize(layout: Layout) -> AllocResult<Layout> {
        if layout.size() <= MAX_SLAB_BLOCK && layout.align() > MAX_SLAB_BLOCK {
            Layout::from_size_align(layout.align(), layout.align()).map_err(|_| AllocError::NoMemory)
        } else {
            Ok(layout)
        }
    }

    /// The slab or buddy block a (normalized) layout lands in, as
    /// `ax_slab_allocator` 0.4 routes it.
    fn class(layout: Layout) -> Class {
        if layout.size() > MAX_SLAB_BLOCK {
            let block = layout.size().next_power_of_two().max(layout.align());
            return Class::Buddy(block.trailing_zeros());
        }
        let need = layout.size().max(layout.align()).max(64);
        Class::Slab(need.next_power_of_two())
    }

    /// Hands the page-trimmed range `[start, start + len)` to the heap,
    /// creating it on the first call.
    ///
    /// # Safety
    /// The range is memory the caller gave to this allocator.
    unsafe fn give(&mut self, start: usize, len: usize) -> AllocResult {
        match &mut self.heap {
            Some(heap) => {
                // SAFETY: page-aligned, a multiple of a page, the caller's.
                unsafe { heap.add_memory(start, len) };
            }
            None => {
                let first = len - len % MIN_FIRST_REGION;
                if first == 0 {
                    return Err(AllocError::InvalidParam);
                }
                // SAFETY: page-aligned, a non-zero multiple of 32 KiB, the
                // caller's: every assertion of `Heap::new` holds.
                let mut heap = unsafe { Heap::new(start, first) };
                if len > first {
                    // SAFETY: the rest is page-aligned whole pages.
                    unsafe { heap.add_memory(start + first, len - first) };
                }
                self.heap = Some(heap);
            }
        }
        Ok(())
    }
}

impl Default for SlabByteAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl BaseAllocator for SlabByteAllocator {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = self.heap.is_some();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.regions.check(start, end)?;
        let from = start.max(1);
        let (first, len) = trim_region(from, end - from, PAGE, PAGE)?;
        // SAFETY: the trimmed range lies inside the caller's region.
        unsafe { self.give(first, len)? };
        // The region as given is recorded, so that no part of it can be
        // given again; `check` above made room for it.
        self.regions.insert(start, end)?;
        self.total += len;
        Ok(())
    }
}

impl ByteAllocator for SlabByteAllocator {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        let layout = Self::normalize(layout)?;
        let heap = self.heap.as_mut().ok_or(AllocError::NoMemory)?;
        let addr = heap.allocate(layout).map_err(|_| AllocError::NoMemory)?;
        NonNull::new(addr as *mut u8).ok_or(AllocError::NoMemory)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "SlabByteAllocator: freeing {ptr:p}, not from this heap");
        let (Some(heap), Ok(layout)) = (self.heap.as_mut(), Self::normalize(layout)) else {
            return; // unreachable for a live block
        };
        // SAFETY: the caller guarantees `ptr` is live here for `layout`,
        // and `normalize` maps it as it did when it was allocated.
        unsafe { heap.deallocate(ptr.as_ptr() as usize, layout) }
    }

    fn total_bytes(&self) -> usize {
        self.total
    }

    /// Blocks in use: slab blocks at their slab's size, buddy blocks at
    /// their power of two. `ax_slab_allocator`'s own figures count slab
    /// memory twice (in the slab and in the buddy block it was carved
    /// from); this takes the carved memory out again.
    fn used_bytes(&self) -> usize {
        self.heap.as_ref().map_or(0, |h| h.used_bytes() - (h.total_bytes() - self.total))
    }

    fn available_bytes(&self) -> usize {
        self.total - self.used_bytes()
    }

    /// In place while the block stays in the same slab; else moved.
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new, false) }
    }

    /// In place while the block stays in the same slab or buddy block;
    /// else moved.
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new, true) }
    }
}

impl SlabByteAllocator {
    /// Keeps the block when `new` lands in the same slab (either way) or,
    /// shrinking, the same buddy block: freeing it later with `new` then
    /// returns the same block. (A buddy block is not grown in place, nor
    /// shrunk to a layout the buddy would see as larger: the buddy heap
    /// inside keeps a sum of requested sizes that must not drop below
    /// zero.)
    ///
    /// # Safety
    /// `ptr` is live here for `old`.
    unsafe fn resize(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        shrinking: bool,
    ) -> AllocResult<NonNull<u8>> {
        check_layout(new)?;
        let (no, nn) = (Self::normalize(old)?, Self::normalize(new)?);
        // A buddy block may only keep a layout whose size, as the buddy
        // sees it, is no larger than the one it was allocated with: its
        // running sum of requested sizes must never drop below zero.
        let same_block = Self::class(no) == Self::class(nn)
            && (matches!(Self::class(nn), Class::Slab(_)) || (shrinking && nn.size() <= no.size()));
        if same_block && (ptr.as_ptr() as usize).is_multiple_of(new.align()) {
            return Ok(ptr);
        }
        // SAFETY: forwarded from the caller.
        unsafe { move_block(self, ptr, old, new) }
    }
}

impl Owns for SlabByteAllocator {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr() as usize, layout.size())
    }
}
