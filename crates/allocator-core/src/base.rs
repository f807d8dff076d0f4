//! [`BaseAllocator`]: giving an allocator its memory.

use crate::AllocResult;

/// An allocator that manages memory handed to it as address ranges.
///
/// `init` gives the first region; `add_memory` adds more. Both are `unsafe`
/// because the allocator trusts that the addresses are memory it may use.
/// Both check the region's *shape* before they touch anything, so a
/// malformed region is an error, never a panic or a write:
///
/// | region | error |
/// | --- | --- |
/// | `size == 0`, or `start + size` overflows `usize` | [`InvalidParam`] |
/// | too small for the backend once trimmed to its alignment and granule | [`InvalidParam`] |
/// | `init` on an allocator that already has memory | [`InvalidParam`] |
/// | overlaps a region the allocator already manages | [`MemoryOverlap`] |
/// | more regions than the backend can track | [`InvalidParam`] |
///
/// When a call fails, the allocator is unchanged. `add_memory` on an
/// allocator that has no memory yet behaves as `init`.
///
/// [`InvalidParam`]: crate::AllocError::InvalidParam
/// [`MemoryOverlap`]: crate::AllocError::MemoryOverlap
pub trait BaseAllocator {
    /// Gives the allocator its first region, `[start, start + size)`.
    ///
    /// # Safety
    /// If the region has a valid shape (see the trait docs), every byte of
    /// it must be valid for reads and writes, must not be used by anything
    /// else, and must stay so for as long as the allocator or any block it
    /// handed out is in use. Page allocators touch no memory themselves;
    /// for them the contract is that the pages are the caller's to hand out.
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult;

    /// Adds the region `[start, start + size)` to the memory the allocator
    /// manages.
    ///
    /// # Safety
    /// As for [`init`](Self::init).
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult;
}

/// The `init` of an allocator whose first region is simply its first
/// `add_memory`: [`AllocError::InvalidParam`] when it already `has_memory`
/// (nothing changes), else `add_memory`. Every backend of this workspace
/// shares this rule through it.
///
/// # Errors
/// `InvalidParam` for a second `init`; else as `add_memory`.
///
/// # Safety
/// As [`BaseAllocator::init`].
///
/// [`AllocError::InvalidParam`]: crate::AllocError::InvalidParam
pub unsafe fn init_first<A: BaseAllocator + ?Sized>(
    allocator: &mut A,
    has_memory: bool,
    start: usize,
    size: usize,
) -> AllocResult {
    if has_memory {
        return Err(crate::AllocError::InvalidParam);
    }
    // SAFETY: forwarded from the caller.
    unsafe { allocator.add_memory(start, size) }
}
