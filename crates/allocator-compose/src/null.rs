//! [`NullAllocator`]: the end of a chain.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::check_layout, AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};

/// Fails every allocation with `NoMemory` (a zero size with
/// `InvalidParam`, as every `ByteAllocator`), owns nothing, takes no
/// memory. The terminator of a chain: `Fallback<NullAllocator, X>` behaves
/// exactly as `X`.
///
/// Freeing into it is a caller bug (it never handed anything out): a debug
/// assertion fails, and in release builds the call does nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NullAllocator;

impl NullAllocator {
    /// The allocator.
    pub const fn new() -> Self {
        Self
    }
}

impl BaseAllocator for NullAllocator {
    /// A pointer, so that it composes with byte heaps.
    type Addr = *mut u8;

    /// Refused with `InvalidParam`: a null allocator takes no memory.
    unsafe fn init(&mut self, _start: *mut u8, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }

    /// Refused with `InvalidParam`: a null allocator takes no memory.
    unsafe fn add_memory(&mut self, _start: *mut u8, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }
}

// SAFETY: it hands out no block at all, so every promise about blocks
// holds vacuously; `resize_in_place` keeps the refusing default.
unsafe impl ByteAllocator for NullAllocator {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        Err(AllocError::NoMemory)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, _layout: Layout) {
        debug_assert!(false, "NullAllocator: freeing {ptr:p}, which it never allocated");
    }

    fn figures(&self) -> Figures {
        Figures::new(0, 0)
    }
}

// SAFETY: it is given no memory and has no live block: `false` is right
// for every pointer.
unsafe impl Owns for NullAllocator {
    fn owns(&self, _ptr: NonNull<u8>, _layout: Layout) -> bool {
        false
    }
}
