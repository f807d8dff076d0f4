//! [`AllocatorRc`]: a reference-counted, single-threaded handle to a heap
//! (nightly feature `allocator_api`).

extern crate alloc;

use alloc::rc::Rc;
use core::{alloc::Layout, cell::RefCell, fmt, ptr::NonNull};

use crate::{AllocResult, ByteAllocator};

/// A cloneable, single-threaded `core::alloc::Allocator` over a heap: every
/// clone shares the heap, as in the arceos crate of the same name.
///
/// Collections hold a clone each, so the heap lives as long as the last of
/// them. Not `Send`: for sharing between threads use
/// [`Locked`](crate::Locked) behind a reference or an `Arc`.
pub struct AllocatorRc<A>(Rc<RefCell<A>>);

impl<A: ByteAllocator> AllocatorRc<A> {
    /// Wraps a heap that already has its memory.
    pub fn new(inner: A) -> Self {
        Self(Rc::new(RefCell::new(inner)))
    }

    /// Wraps `inner` and gives it `pool` as its first region.
    ///
    /// # Errors
    /// As [`BaseAllocator::init`](crate::BaseAllocator::init).
    pub fn with_pool(mut inner: A, pool: &'static mut [u8]) -> AllocResult<Self> {
        // SAFETY: `pool` is exclusively borrowed for `'static`: valid,
        // unused by anything else, and never released.
        unsafe { inner.init(pool.as_mut_ptr() as usize, pool.len())? };
        Ok(Self::new(inner))
    }

    /// Runs `f` on the heap (to read its figures, say).
    ///
    /// # Panics
    /// If called from inside an allocation by this same handle (which only
    /// `f` itself could do).
    pub fn with<T>(&self, f: impl FnOnce(&mut A) -> T) -> T {
        f(&mut self.0.borrow_mut())
    }
}

impl<A> Clone for AllocatorRc<A> {
    fn clone(&self) -> Self {
        Self(Rc::clone(&self.0))
    }
}

impl<A> fmt::Debug for AllocatorRc<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AllocatorRc").field("handles", &Rc::strong_count(&self.0)).finish_non_exhaustive()
    }
}

crate::locked::impl_allocator!(
    core::alloc::Allocator,
    core::alloc::AllocError,
    [A: ByteAllocator],
    AllocatorRc<A>,
    |self| self.0.borrow_mut()
);
