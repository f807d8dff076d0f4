#![doc = include_str!("../README.md")]
#![no_std]

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::{check_layout, init_first, region_end, trim_region, RegionSet},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};
use rlsf::Tlsf;

mod header;

use header::Block;

/// rlsf's block granularity: every block size and pool start is a multiple
/// of it (32 bytes on 64-bit targets, 16 on 32-bit).
pub const GRANULARITY: usize = rlsf::GRANULARITY;

/// log2 of the number of first-level size classes; blocks (and pools) are
/// at most `GRANULARITY << FLLEN` bytes.
const FLLEN: usize = 28;
/// Second-level classes per first-level class.
const SLLEN: usize = 16;

/// The largest pool rlsf takes in one piece; larger regions are split
/// into pools of this size. `None` when the whole address space fits (as
/// on 32-bit targets: `16 << 28` is past `usize`).
pub const MAX_POOL_SIZE: Option<usize> = {
    let shift = GRANULARITY.trailing_zeros() + FLLEN as u32;
    if shift < usize::BITS {
        Some(1 << shift)
    } else {
        None
    }
};

/// The largest block rlsf ever serves, header and alignment padding
/// included: the smallest size of its top size class (7.75 GiB on 64-bit
/// targets, about 3.9 GiB on 32-bit ones). A request whose size, plus the
/// header and the worst-case padding for its alignment, rounds up past it
/// is [`Unsupported`](AllocError::Unsupported).
pub const MAX_BLOCK: usize = {
    let top = 1usize << (GRANULARITY.trailing_zeros() + FLLEN as u32 - 1);
    top + (SLLEN - 1) * (top / SLLEN)
};

/// How many separate regions one allocator tracks (each may be split into
/// several pools; adjacent regions share one entry).
pub const MAX_REGIONS: usize = 32;

/// A TLSF (two-level segregated fit) heap over `rlsf`: O(1) allocate and
/// free, in-place resizing, several regions. See the crate docs.
#[derive(Debug)]
pub struct TlsfByteAllocator {
    tlsf: Tlsf<'static, u32, u16, FLLEN, SLLEN>,
    regions: RegionSet<MAX_REGIONS>,
    total: usize,
    used: usize,
}

// SAFETY: the heap owns the memory it was given (the callers of `init` and
// `add_memory` promised so); its pointers refer to nothing else, so moving
// it to another thread moves the whole heap.
unsafe impl Send for TlsfByteAllocator {}

impl TlsfByteAllocator {
    /// A heap with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        Self { tlsf: Tlsf::new(), regions: RegionSet::new(), total: 0, used: 0 }
    }

    /// The block rlsf searches for to serve `layout` (its size, header and
    /// worst-case padding rounded up to `GRANULARITY`, as `Tlsf::allocate`
    /// computes it), when it is one rlsf can ever serve.
    #[inline]
    fn search_size(layout: Layout) -> Option<usize> {
        let overhead = layout.align().saturating_sub(GRANULARITY / 2) + GRANULARITY / 2;
        let size = layout.size().checked_add(overhead)?.checked_add(GRANULARITY - 1)? & !(GRANULARITY - 1);
        (size <= MAX_BLOCK).then_some(size)
    }

    /// Hands `[start, start + len)` (aligned to and a multiple of
    /// `GRANULARITY`) to rlsf, in pools no larger than it takes. Returns the
    /// bytes that became free.
    ///
    /// # Safety
    /// The range is memory the caller gave to this heap, and `start`
    /// carries its provenance.
    unsafe fn insert_pools(&mut self, start: *mut u8, len: usize) -> usize {
        let (mut cursor, mut left, mut free) = (start, len, 0);
        while left >= 2 * GRANULARITY {
            let chunk = MAX_POOL_SIZE.map_or(left, |max| left.min(max));
            let Some(pool) = NonNull::new(core::ptr::slice_from_raw_parts_mut(cursor, chunk)) else { break };
            // SAFETY: `pool` is part of the caller's region, aligned, a
            // multiple of `GRANULARITY` and at least two of them, and ours
            // for as long as the heap lives.
            let inserted = unsafe { self.tlsf.insert_free_block_ptr(pool) };
            // Each pool ends in a `GRANULARITY`-byte sentinel block.
            free += inserted.map_or(0, |n| n.get() - GRANULARITY);
            // At most one past the region's end.
            cursor = cursor.wrapping_add(chunk);
            left -= chunk;
        }
        free
    }
}

impl Default for TlsfByteAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl BaseAllocator for TlsfByteAllocator {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let base = start.addr();
        let end = region_end(base, size)?;
        // The region as given is recorded, so that no part of it, trimmed
        // or not, can be given again.
        self.regions.check(base, end)?;
        // Address 0 is never handed out: start at the next granule.
        let from = base.max(1);
        let (pool, len) = trim_region(from, end - from, GRANULARITY, GRANULARITY)?;
        if len < 2 * GRANULARITY {
            return Err(AllocError::InvalidParam);
        }
        self.regions.insert(base, end)?;
        // SAFETY: the trimmed range lies inside the caller's region, and the
        // pointer derived from `start` keeps its provenance.
        let free = unsafe { self.insert_pools(start.with_addr(pool), len) };
        self.total += free;
        Ok(())
    }
}

// SAFETY: blocks come from rlsf, which hands out disjoint, aligned blocks
// inside the pools built from the caller's regions; `usable_size` stops at
// the block's end as rlsf laid it out; `resize_in_place` calls rlsf only
// when rlsf keeps the block where it is; `dealloc` only needs the alignment,
// so every fitting size is accepted.
unsafe impl ByteAllocator for TlsfByteAllocator {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        Self::search_size(layout).ok_or(AllocError::Unsupported)?;
        let ptr = self.tlsf.allocate(layout).ok_or(AllocError::NoMemory)?;
        // SAFETY: `ptr` was just allocated with `layout.align()`.
        self.used += unsafe { Block::of(ptr, layout.align()).size() };
        Ok(ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "TlsfByteAllocator: freeing {ptr:p}, not from this heap");
        // SAFETY: the caller guarantees `ptr` is live here with this
        // alignment, all rlsf needs.
        unsafe {
            self.used -= Block::of(ptr, layout.align()).size();
            self.tlsf.deallocate(ptr, layout.align());
        }
    }

    /// Shrinks always (the freed tail joins the next free block); grows
    /// when the next block is free and large enough. Never moves.
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        // SAFETY: the caller guarantees `ptr` is live here with this alignment.
        let block = unsafe { Block::of(ptr, layout.align()) };
        // SAFETY: as above.
        if !unsafe { block.stays_in_place(ptr, new_size) } {
            return Err(AllocError::NoMemory);
        }
        // SAFETY: as above.
        let before = unsafe { block.size() };
        // SAFETY: `ptr` is live with `new`'s alignment; `stays_in_place`
        // checked that rlsf takes its in-place, non-moving path.
        let moved = unsafe { self.tlsf.reallocate(ptr, new) };
        // Never false with rlsf 0.2.3 (the version is pinned); were it ever,
        // the block would have moved and the caller's pointer be stale, so
        // stop rather than return it.
        assert_eq!(moved, Some(ptr), "rlsf moved a block it can resize in place: its layout changed");
        // SAFETY: the block is live at `ptr`, now with its new size.
        let after = unsafe { Block::of(ptr, layout.align()).size() };
        self.used = self.used - before + after;
        Ok(())
    }

    #[inline]
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: the caller guarantees `ptr` is live here with this alignment.
        unsafe { Block::of(ptr, layout.align()).usable_from(ptr) }
    }

    fn figures(&self) -> Figures {
        Figures::new(self.total, self.used)
    }
}

// SAFETY: every block lies inside a region recorded in `regions` (rlsf's
// pools never span two regions, and adjacent regions are merged there
// anyway); memory never given is in no recorded region.
unsafe impl Owns for TlsfByteAllocator {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.addr().get(), layout.size())
    }
}
