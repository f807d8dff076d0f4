//! [`IdAllocator`]: numbers that stand for something (process ids, IRQ
//! vectors, ASIDs…).

use crate::AllocResult;

/// An allocator of integer ids from a fixed range.
///
/// Ids are not memory: nothing here is `unsafe`, and every misuse (freeing
/// an id never allocated, an id out of range) is an error.
/// Implementations set their range when they are constructed.
pub trait IdAllocator {
    /// Allocates `count` consecutive ids whose first is a multiple of
    /// `align_pow2`, and returns the first.
    ///
    /// # Errors
    /// [`InvalidParam`](crate::AllocError::InvalidParam) for a zero count or
    /// an alignment that is not a power of two;
    /// [`NoMemory`](crate::AllocError::NoMemory) when no free run fits.
    fn alloc_id(&mut self, count: usize, align_pow2: usize) -> AllocResult<usize>;

    /// Allocates exactly the id `id`.
    ///
    /// # Errors
    /// [`InvalidParam`](crate::AllocError::InvalidParam) when `id` is out of
    /// range; [`MemoryOverlap`](crate::AllocError::MemoryOverlap) when it is
    /// already allocated.
    fn alloc_fixed_id(&mut self, id: usize) -> AllocResult;

    /// Frees `count` consecutive ids starting at `start_id`.
    ///
    /// # Errors
    /// [`InvalidParam`](crate::AllocError::InvalidParam) for a zero count or
    /// a run out of range; [`NotAllocated`](crate::AllocError::NotAllocated)
    /// when an id of the run is not allocated. Nothing changes on error.
    fn dealloc_id(&mut self, start_id: usize, count: usize) -> AllocResult;

    /// `true` when `id` is in range and allocated.
    fn is_allocated(&self, id: usize) -> bool;

    /// How many ids the range holds.
    fn size(&self) -> usize;

    /// How many ids are allocated.
    fn used(&self) -> usize;

    /// How many ids are free.
    fn available(&self) -> usize;
}
