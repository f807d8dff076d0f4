//! [`Owns`]: "is this block mine?"

use core::{alloc::Layout, ptr::NonNull};

/// An allocator that can tell whether a block came from it.
///
/// `Fallback`-style combinators route frees by it, so a wrong answer frees
/// a block into the wrong heap. The answer is computed from addresses only
/// (no memory is read), so the method is safe to call.
///
/// # Safety
///
/// Implementors guarantee that `owns(ptr, layout)` is
/// - `true` for every live block of this allocator, with any layout it may
///   be freed with — also for a block the allocator placed across two
///   adjacent regions it was given;
/// - `false` for every pointer outside the memory given to this allocator,
///   so never `true` for a live block of another allocator whose memory is
///   disjoint from this one's.
///
/// It may answer `true` for a pointer inside the allocator's memory that is
/// not a live block.
pub unsafe trait Owns {
    /// `true` when `ptr` with `layout` lies in memory this allocator hands
    /// out from.
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool;
}
