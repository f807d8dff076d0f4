//! [`System`]: the operating system's allocator as a `ByteAllocator`.

extern crate std;

use core::{alloc::Layout, ptr::NonNull};
use std::alloc::{GlobalAlloc, System as StdSystem};

use allocator_core::{helpers::check_layout, AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures};

/// The operating system's allocator (`std::alloc::System`), so a policy can
/// end in it on hosted targets: `Fallback<MyHeap, System>`.
///
/// It takes no memory (`init` / `add_memory` are `InvalidParam`) and owns
/// nothing it can tell, so it is a secondary, never a primary. Its figures
/// count what went through this handle: `used` is the bytes of live blocks
/// (requested sizes); `total` is `isize::MAX`, the most any process could
/// have. It is neither `Copy` nor `Clone`: each handle counts its own
/// blocks, so blocks must be freed through the handle that made them.
#[derive(Debug, Default)]
pub struct System {
    used: usize,
}

impl System {
    /// The allocator.
    pub const fn new() -> Self {
        Self { used: 0 }
    }
}

const TOTAL: usize = isize::MAX as usize;

impl BaseAllocator for System {
    type Addr = *mut u8;

    unsafe fn init(&mut self, _start: *mut u8, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }

    unsafe fn add_memory(&mut self, _start: *mut u8, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }
}

// SAFETY: blocks are `std::alloc::System`'s, which makes the same promises
// (`GlobalAlloc`'s contract); frees and reallocations pass it the block's
// layout (a size between the requested and the usable one, which here are
// the same). `resize_in_place` keeps the refusing default.
unsafe impl ByteAllocator for System {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        // SAFETY: the layout has a non-zero size.
        let p = NonNull::new(unsafe { StdSystem.alloc(layout) }).ok_or(AllocError::NoMemory)?;
        self.used = self.used.saturating_add(layout.size());
        Ok(p)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller guarantees the block came from here.
        unsafe { StdSystem.dealloc(ptr.as_ptr(), layout) };
        self.used = self.used.saturating_sub(layout.size());
    }

    fn figures(&self) -> Figures {
        Figures::new(TOTAL, self.used.min(TOTAL))
    }

    /// The system's `realloc` (which may move the block without a copy of
    /// ours).
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> AllocResult<NonNull<u8>> {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        // SAFETY: the caller guarantees the block; `new_size` is non-zero
        // and makes a valid layout.
        let p = NonNull::new(unsafe { StdSystem.realloc(ptr.as_ptr(), layout, new_size) })
            .ok_or(AllocError::NoMemory)?;
        self.used = self.used.saturating_sub(layout.size()).saturating_add(new_size);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hole: `System` was `Copy` and each copy kept its own `used`, so a
    /// block freed through a copy left the original's figures up (and the
    /// copy's counter underflowed: a panic in debug builds). `System` is no
    /// longer `Clone` or `Copy`: this does not compile if it is either.
    #[test]
    fn system_is_neither_copy_nor_clone() {
        trait AmbiguousIfClone<A> {
            fn some_item() {}
        }
        impl<T: ?Sized> AmbiguousIfClone<()> for T {}
        impl<T: Clone> AmbiguousIfClone<u8> for T {}
        // Resolves only while exactly one impl applies: `System: !Clone`
        // (and so `!Copy`).
        <System as AmbiguousIfClone<_>>::some_item();

        let mut s = System::new();
        let l = Layout::from_size_align(64, 8).unwrap();
        let p = s.alloc(l).unwrap();
        assert_eq!(s.used_bytes(), 64);
        // SAFETY: live for `l`, freed through the handle that made it.
        unsafe { s.dealloc(p, l) };
        assert_eq!(s.used_bytes(), 0);
    }

    /// Frees never underflow the count, whatever the handle was told.
    #[test]
    fn figures_saturate() {
        let mut a = System::new();
        let mut b = System::new();
        let l = Layout::from_size_align(32, 8).unwrap();
        let p = a.alloc(l).unwrap();
        // SAFETY: `p` is a live block of the system allocator, which both
        // handles share; only `b`'s count is off (a misuse, not UB).
        unsafe { b.dealloc(p, l) };
        assert_eq!((a.used_bytes(), b.used_bytes()), (32, 0));
        assert_eq!(b.available_bytes(), b.total_bytes());
    }
}
