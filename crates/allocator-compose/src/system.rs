//! [`System`]: the operating system's allocator as a `ByteAllocator`.

extern crate std;

use core::{alloc::Layout, ptr::NonNull};
use std::alloc::{GlobalAlloc, System as StdSystem};

use allocator_core::{check_layout, AllocError, AllocResult, BaseAllocator, ByteAllocator};

/// The operating system's allocator (`std::alloc::System`), so a policy can
/// end in it on hosted targets: `Fallback<MyHeap, System>`.
///
/// It takes no memory (`init` / `add_memory` are `InvalidParam`) and owns
/// nothing it can tell, so it is a secondary, never a primary. Its figures
/// count what went through this handle: `used_bytes` is the bytes of live
/// blocks (requested sizes); `total_bytes` is `isize::MAX`, the most any
/// process could have.
#[derive(Clone, Copy, Debug, Default)]
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
    unsafe fn init(&mut self, _start: usize, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }

    unsafe fn add_memory(&mut self, _start: usize, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }
}

impl ByteAllocator for System {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        // SAFETY: the layout has a non-zero size.
        let p = NonNull::new(unsafe { StdSystem.alloc(layout) }).ok_or(AllocError::NoMemory)?;
        self.used += layout.size();
        Ok(p)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the caller guarantees the block came from here.
        unsafe { StdSystem.dealloc(ptr.as_ptr(), layout) };
        self.used -= layout.size();
    }

    fn total_bytes(&self) -> usize {
        TOTAL
    }

    fn used_bytes(&self) -> usize {
        self.used
    }

    fn available_bytes(&self) -> usize {
        TOTAL - self.used
    }

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
        self.used = self.used - layout.size() + new_size;
        Ok(p)
    }
}
