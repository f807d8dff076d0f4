//! Real memory for byte allocators under test.

use std::alloc::{alloc, dealloc, Layout};

/// One block of real memory from the system allocator, handed to an
/// allocator under test as a region. Freed on drop, so the allocator using
/// it must be dropped first.
#[derive(Debug)]
pub struct TestRegion {
    base: *mut u8,
    layout: Layout,
    offset: usize,
    size: usize,
}

impl TestRegion {
    /// `size` usable bytes starting `offset` bytes past an address aligned
    /// to `align` (so `offset` makes odd start addresses).
    ///
    /// # Panics
    /// If the system allocator fails or the figures make no valid layout:
    /// this is test setup, not a code path under test.
    pub fn new(size: usize, align: usize, offset: usize) -> Self {
        let layout = Layout::from_size_align(size + offset, align).expect("test region layout");
        // The memory is left uninitialised: allocators write before they
        // read, and a huge region then costs only the pages touched.
        let base = if layout.size() == 0 {
            align as *mut u8
        } else {
            // SAFETY: non-zero size.
            unsafe { alloc(layout) }
        };
        assert!(!base.is_null(), "the system allocator refused {} bytes", layout.size());
        Self { base, layout, offset, size }
    }

    /// The first usable address.
    pub fn start(&self) -> usize {
        self.base as usize + self.offset
    }

    /// Usable bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The exclusive end.
    pub fn end(&self) -> usize {
        self.start() + self.size
    }
}

impl Drop for TestRegion {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in `new` with this layout.
            unsafe { dealloc(self.base, self.layout) }
        }
    }
}

// SAFETY: the region is plain memory owned by this value.
unsafe impl Send for TestRegion {}
