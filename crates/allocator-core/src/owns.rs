//! [`Owns`]: "is this block mine?"

use core::{alloc::Layout, ptr::NonNull};

/// An allocator that can tell whether a block came from it.
///
/// [`Fallback`-style combinators](https://docs.rs/allocator-compose) route
/// frees by it. The answer is computed from addresses only (no memory is
/// read), so the method is safe; it may answer `true` for a pointer inside
/// the allocator's memory that is not a live block.
pub trait Owns {
    /// `true` when `ptr` with `layout` lies in memory this allocator hands
    /// out from.
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool;
}
