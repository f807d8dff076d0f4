#![doc = include_str!("../README.md")]
#![no_std]

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    check_grow, check_layout, check_shrink, init_first, move_block, region_end, trim_region, AllocError,
    AllocResult, BaseAllocator, ByteAllocator, Owns, RegionSet,
};
use rlsf::Tlsf;

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

/// How many separate regions one allocator tracks (each may be split into
/// several pools).
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

    /// The bytes rlsf's block for the allocation at `ptr` occupies, header
    /// and padding included.
    ///
    /// rlsf 0.2.3 puts a used block's header (`size | flags`, then a link)
    /// `GRANULARITY / 2` bytes before the payload, or, for alignments of at
    /// least `GRANULARITY`, stores a pointer to the header in the word just
    /// before the payload. The size's low bits are flags.
    ///
    /// # Safety
    /// `ptr` is a live allocation of this heap made with alignment `align`.
    #[inline]
    unsafe fn block_size(ptr: NonNull<u8>, align: usize) -> usize {
        let header: *const usize = if align >= GRANULARITY {
            // SAFETY: for such alignments rlsf keeps the header's address in
            // the word before the payload, inside the block.
            unsafe { ptr.as_ptr().cast::<*const usize>().sub(1).read() }
        } else {
            ptr.as_ptr().wrapping_sub(GRANULARITY / 2).cast()
        };
        // SAFETY: `header` is the block's header, which rlsf keeps valid
        // while the block is live.
        unsafe { header.read() & !(GRANULARITY - 1) }
    }

    /// Hands `[start, start + len)` (aligned to and a multiple of
    /// `GRANULARITY`) to rlsf, in pools no larger than it takes. Returns the
    /// bytes that became free.
    ///
    /// # Safety
    /// The range is memory the caller gave to this heap.
    unsafe fn insert_pools(&mut self, start: usize, len: usize) -> usize {
        let (mut cursor, mut left, mut free) = (start, len, 0);
        while left >= 2 * GRANULARITY {
            let chunk = MAX_POOL_SIZE.map_or(left, |max| left.min(max));
            debug_assert!(chunk >= 2 * GRANULARITY, "a pool is never empty");
            let block = core::ptr::slice_from_raw_parts_mut(cursor as *mut u8, chunk);
            // SAFETY: `block` is part of the caller's region: non-null
            // (regions never start at 0 here), aligned, and ours.
            let inserted = unsafe { self.tlsf.insert_free_block_ptr(NonNull::new_unchecked(block)) };
            // Each pool ends in a `GRANULARITY`-byte sentinel block.
            free += inserted.map_or(0, |n| n.get() - GRANULARITY);
            cursor += chunk;
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
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        // The region as given is recorded, so that no part of it, trimmed
        // or not, can be given again.
        self.regions.check(start, end)?;
        // Address 0 is never handed out: start at the next granule.
        let from = start.max(1);
        let (pool, len) = trim_region(from, end - from, GRANULARITY, GRANULARITY)?;
        if len < 2 * GRANULARITY {
            return Err(AllocError::InvalidParam);
        }
        self.regions.insert(start, end)?;
        // SAFETY: the trimmed range lies inside the caller's region.
        self.total += unsafe { self.insert_pools(pool, len) };
        Ok(())
    }
}

impl ByteAllocator for TlsfByteAllocator {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        let ptr = self.tlsf.allocate(layout).ok_or(AllocError::NoMemory)?;
        // SAFETY: `ptr` was just allocated with `layout.align()`.
        self.used += unsafe { Self::block_size(ptr, layout.align()) };
        Ok(ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "TlsfByteAllocator: freeing {ptr:p}, not from this heap");
        // SAFETY: the caller guarantees `ptr` is live here for `layout`.
        unsafe {
            self.used -= Self::block_size(ptr, layout.align());
            self.tlsf.deallocate(ptr, layout.align());
        }
    }

    fn total_bytes(&self) -> usize {
        self.total
    }

    fn used_bytes(&self) -> usize {
        self.used
    }

    fn available_bytes(&self) -> usize {
        self.total - self.used
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }

    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }
}

impl TlsfByteAllocator {
    /// rlsf's reallocation (in place when it can) for an unchanged
    /// alignment; allocate-copy-free otherwise.
    ///
    /// # Safety
    /// `ptr` is live here for `old`.
    unsafe fn resize(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(new)?;
        if new.align() != old.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { move_block(self, ptr, old, new) };
        }
        // SAFETY: `ptr` is live for `old`, whose alignment `new` shares.
        unsafe {
            let before = Self::block_size(ptr, old.align());
            let moved = self.tlsf.reallocate(ptr, new).ok_or(AllocError::NoMemory)?;
            self.used = self.used - before + Self::block_size(moved, new.align());
            Ok(moved)
        }
    }
}

impl Owns for TlsfByteAllocator {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr() as usize, layout.size())
    }
}
