//! [`AllocatorRc`]: a reference-counted, single-threaded handle to a heap
//! (nightly feature `allocator_api`).

extern crate alloc;

use alloc::rc::Rc;
use core::{alloc::Layout, cell::RefCell, fmt, mem::MaybeUninit, ptr::NonNull};

use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator};

use crate::{ops, Held};

/// A cloneable, single-threaded `core::alloc::Allocator` over a heap: every
/// clone shares the heap, as in the arceos crate of the same name.
///
/// Collections hold a clone each, so the heap lives as long as the last of
/// them (the handle itself is allocated from the global allocator). Not
/// `Send`: for sharing between threads use [`Locked`](crate::Locked)
/// behind a reference or an `Arc`.
pub struct AllocatorRc<A>(Rc<RefCell<A>>);

impl<A: ByteAllocator> AllocatorRc<A> {
    /// Wraps a heap that already has its memory.
    pub fn new(inner: A) -> Self {
        Self(Rc::new(RefCell::new(inner)))
    }

    /// Wraps `inner` and gives it `pool` as its first region.
    ///
    /// # Errors
    /// As [`BaseAllocator::init`].
    pub fn with_pool(mut inner: A, pool: &'static mut [MaybeUninit<u8>]) -> AllocResult<Self>
    where
        A: BaseAllocator<Addr = *mut u8>,
    {
        inner.add_static(pool)?;
        Ok(Self::new(inner))
    }

    /// Runs `f` on the heap (to read its figures, say).
    ///
    /// # Errors
    /// [`AllocError::Busy`] when called from inside `f` of another `with`
    /// on the same heap.
    pub fn with<R>(&self, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        let mut heap = self.0.try_borrow_mut().map_err(|_| AllocError::Busy)?;
        Ok(f(&mut Held::new(&mut heap)))
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

impl<A: ByteAllocator> ops::Access for AllocatorRc<A> {
    type Heap = A;

    fn access<R>(&self, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        self.with(f)
    }
}

ops::impl_allocator!(core::alloc::Allocator, core::alloc::AllocError, [A: ByteAllocator], AllocatorRc<A>);
