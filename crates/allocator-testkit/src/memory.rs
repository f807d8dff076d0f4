//! Real memory for byte allocators under test.

use std::{
    alloc::{alloc, dealloc, Layout},
    sync::Arc,
};

use allocator_core::Address;

/// One allocation from the system allocator, freed when the last region
/// carved from it is dropped.
#[derive(Debug)]
struct Backing {
    base: *mut u8,
    layout: Layout,
}

impl Drop for Backing {
    fn drop(&mut self) {
        if self.layout.size() != 0 {
            // SAFETY: allocated in `Backing::new` with this layout.
            unsafe { dealloc(self.base, self.layout) }
        }
    }
}

// SAFETY: plain memory owned by this value; nothing is shared through it
// but the address.
unsafe impl Send for Backing {}
// SAFETY: as above; `&Backing` gives access to nothing.
unsafe impl Sync for Backing {}

impl Backing {
    fn new(size: usize, align: usize) -> Arc<Self> {
        let layout = Layout::from_size_align(size, align).expect("test region layout");
        // The memory is left uninitialised: allocators write before they
        // read, and a huge region then costs only the pages touched.
        let base = if layout.size() == 0 {
            std::ptr::without_provenance_mut(align)
        } else {
            // SAFETY: non-zero size.
            unsafe { alloc(layout) }
        };
        assert!(!base.is_null(), "the system allocator refused {} bytes", layout.size());
        Arc::new(Self { base, layout })
    }
}

/// A block of real memory from the system allocator, handed to an
/// allocator under test as a region. Freed on drop (of the last region
/// carved from the same allocation), so the allocator using it must be
/// dropped first.
#[derive(Debug)]
pub struct TestRegion {
    _backing: Arc<Backing>,
    ptr: *mut u8,
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
        Self::adjacent(&[size], align, offset).pop().expect("one region")
    }

    /// Regions of `sizes` that follow each other with no gap (each starts
    /// where the previous ends), the first `offset` bytes past an address
    /// aligned to `align`: what a heap sees when it is refilled from
    /// consecutive pages.
    ///
    /// # Panics
    /// As [`new`](Self::new).
    pub fn adjacent(sizes: &[usize], align: usize, offset: usize) -> Vec<Self> {
        let total: usize = sizes.iter().sum();
        let backing = Backing::new(total + offset, align);
        let mut at = offset;
        sizes
            .iter()
            .map(|&size| {
                // SAFETY: `at + size` stays within the backing allocation.
                let ptr = unsafe { backing.base.add(at) };
                at += size;
                Self { _backing: Arc::clone(&backing), ptr, size }
            })
            .collect()
    }

    /// The first usable byte, as a pointer whose provenance covers the
    /// region.
    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The first usable address.
    pub fn start(&self) -> usize {
        self.ptr.addr()
    }

    /// Usable bytes.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The exclusive end.
    pub fn end(&self) -> usize {
        self.start() + self.size
    }

    /// The region's start as an allocator of type `A` takes it: the pointer
    /// for byte heaps, the (exposed) address for page allocators.
    pub fn addr<T: TestAddress>(&self) -> T {
        T::from_region(self.ptr)
    }

    /// The address `addr` as an allocator of type `A` takes it, derived
    /// from this region's pointer (for bad-input calls that name ranges
    /// around the region: a correct allocator refuses them untouched).
    pub fn addr_at<T: TestAddress>(&self, addr: usize) -> T {
        T::from_region(self.ptr.with_addr(addr))
    }
}

// SAFETY: the region is plain memory owned (shared) by this value.
unsafe impl Send for TestRegion {}

/// How the testkit turns its memory into the start address an allocator
/// takes ([`BaseAllocator::Addr`](allocator_core::BaseAllocator::Addr)).
pub trait TestAddress: Address {
    /// The address of `ptr`, as this kind of allocator takes it.
    fn from_region(ptr: *mut u8) -> Self;
}

impl TestAddress for *mut u8 {
    fn from_region(ptr: *mut u8) -> Self {
        ptr
    }
}

impl TestAddress for usize {
    /// Page allocators (and heaps that refill from them) take numbers; the
    /// provenance is exposed so that a heap given these pages may turn them
    /// back into pointers.
    fn from_region(ptr: *mut u8) -> Self {
        ptr.expose_provenance()
    }
}
