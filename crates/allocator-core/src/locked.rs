//! [`Locked`]: one lock around a heap, so that it can be shared.

use core::{
    alloc::{GlobalAlloc, Layout},
    fmt,
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, Ordering},
};

use lock_api::{Mutex, MutexGuard, RawMutex};

use crate::{AllocResult, BaseAllocator, ByteAllocator};

/// The lock `Locked` uses unless told otherwise: a spin lock.
pub type DefaultRawMutex = spin::Mutex<()>;

/// Any [`ByteAllocator`] behind a lock: a `&self` allocator.
///
/// - `unsafe impl GlobalAlloc`, so a `static Locked<…>` is a
///   `#[global_allocator]` ([`new`](Self::new) is `const`);
/// - `allocator_api2::alloc::Allocator` (feature `allocator-api2`, on by
///   default), so `allocator_api2`'s `Vec`/`Box` and `hashbrown` work with
///   the heap on stable Rust;
/// - `core::alloc::Allocator` on nightly (feature `allocator_api`).
///
/// Zero-size requests are answered here with a dangling, aligned pointer
/// and never reach the heap.
///
/// The lock is any [`lock_api::RawMutex`]: a spin lock by default. Code
/// that may run while the lock is held by the code it interrupted (an
/// interrupt handler on the same core) must not spin: it uses
/// [`try_lock`](Self::try_lock), which fails instead of waiting.
///
/// A hosted program's runtime allocates before `main`, so a
/// `#[global_allocator]` must be ready before any code of the program runs:
/// [`with_init`](Self::with_init) gives the heap a function that runs once,
/// under the lock, before the first operation.
pub struct Locked<A, R: RawMutex = DefaultRawMutex> {
    inner: Mutex<R, A>,
    init: Option<fn(&mut A)>,
    /// Set once `init` has run (read and written under the lock).
    ready: AtomicBool,
}

impl<A, R: RawMutex> Locked<A, R> {
    /// Wraps `inner`.
    pub const fn new(inner: A) -> Self {
        Self { inner: Mutex::const_new(R::INIT, inner), init: None, ready: AtomicBool::new(true) }
    }

    /// Wraps `inner`, and runs `init` on it once, under the lock, before the
    /// first operation (the first `lock` or successful `try_lock`): the way
    /// to give a `static` heap its memory before a runtime's first
    /// allocation. `init` must not allocate from this heap (it would wait
    /// for itself).
    ///
    /// ```
    /// # use allocator_core::{BaseAllocator, Locked};
    /// # use allocator_testkit::FirstFit as MyHeap;
    /// static mut ARENA: [u8; 1 << 16] = [0; 1 << 16];
    ///
    /// fn give_memory(heap: &mut MyHeap) {
    ///     // SAFETY: the arena is used by nothing but this heap, and this
    ///     // runs once.
    ///     unsafe { heap.init((&raw mut ARENA) as usize, 1 << 16) }.expect("a valid region");
    /// }
    ///
    /// static HEAP: Locked<MyHeap> = Locked::with_init(MyHeap::new(), give_memory);
    /// assert_eq!(HEAP.total_bytes(), 1 << 16);
    /// ```
    pub const fn with_init(inner: A, init: fn(&mut A)) -> Self {
        Self { inner: Mutex::const_new(R::INIT, inner), init: Some(init), ready: AtomicBool::new(false) }
    }

    /// Runs the one-time `init` if it has not run yet; called with the lock
    /// held, so it runs exactly once.
    #[inline]
    fn ready<'a>(&self, mut guard: MutexGuard<'a, R, A>) -> MutexGuard<'a, R, A> {
        // Relaxed suffices: the lock orders this with every other access.
        if !self.ready.load(Ordering::Relaxed) {
            if let Some(init) = self.init {
                init(&mut guard);
            }
            self.ready.store(true, Ordering::Relaxed);
        }
        guard
    }

    /// Locks the heap, waiting as the lock waits.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, R, A> {
        self.ready(self.inner.lock())
    }

    /// Locks the heap if no one holds it; `None` instead of waiting.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, R, A>> {
        self.inner.try_lock().map(|g| self.ready(g))
    }

    /// The heap, through exclusive access (no locking; runs the one-time
    /// `init` first if it has not run).
    pub fn get_mut(&mut self) -> &mut A {
        if !*self.ready.get_mut() {
            if let Some(init) = self.init {
                init(self.inner.get_mut());
            }
            *self.ready.get_mut() = true;
        }
        self.inner.get_mut()
    }

    /// Unwraps the heap (the one-time `init` runs first if it has not).
    pub fn into_inner(mut self) -> A {
        self.get_mut();
        self.inner.into_inner()
    }
}

impl<A: BaseAllocator, R: RawMutex> Locked<A, R> {
    /// Locks and calls [`BaseAllocator::init`].
    ///
    /// # Errors
    /// As [`BaseAllocator::init`].
    ///
    /// # Safety
    /// As [`BaseAllocator::init`].
    pub unsafe fn init(&self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.lock().init(start, size) }
    }

    /// Locks and calls [`BaseAllocator::add_memory`].
    ///
    /// # Errors
    /// As [`BaseAllocator::add_memory`].
    ///
    /// # Safety
    /// As [`BaseAllocator::add_memory`].
    pub unsafe fn add_memory(&self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.lock().add_memory(start, size) }
    }
}

impl<A: ByteAllocator, R: RawMutex> Locked<A, R> {
    /// Bytes managed (locks).
    pub fn total_bytes(&self) -> usize {
        self.lock().total_bytes()
    }

    /// Bytes in use (locks).
    pub fn used_bytes(&self) -> usize {
        self.lock().used_bytes()
    }

    /// Bytes free (locks).
    pub fn available_bytes(&self) -> usize {
        self.lock().available_bytes()
    }
}

impl<A, R: RawMutex> fmt::Debug for Locked<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Locked").field("locked", &self.inner.is_locked()).finish_non_exhaustive()
    }
}

impl<A: Default, R: RawMutex> Default for Locked<A, R> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

/// A non-null pointer aligned to `align` that points to no allocation:
/// the answer to every zero-size request.
#[inline]
pub(crate) fn dangling(align: usize) -> NonNull<u8> {
    // `Layout` guarantees `align` is a non-zero power of two.
    NonNull::new(ptr::without_provenance_mut(align)).unwrap_or(NonNull::dangling())
}

#[cfg(any(feature = "allocator-api2", feature = "allocator_api"))]
/// The `Allocator`-trait operations on a `&mut` heap, shared by every
/// `Allocator` implementation in this crate. Errors are erased to `()`
/// because the traits' error types carry nothing.
pub(crate) mod ops {
    use super::*;

    pub(crate) fn allocate(
        a: impl FnOnce() -> AllocResult<NonNull<u8>>,
        layout: Layout,
    ) -> Result<NonNull<[u8]>, ()> {
        if layout.size() == 0 {
            return Ok(NonNull::slice_from_raw_parts(dangling(layout.align()), 0));
        }
        a().map(|p| NonNull::slice_from_raw_parts(p, layout.size())).map_err(|_| ())
    }

    /// # Safety
    /// `ptr` is live for `layout` in `a` (or `layout` has size zero).
    pub(crate) unsafe fn deallocate<A: ByteAllocator>(a: &mut A, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: forwarded from the caller.
            unsafe { a.dealloc(ptr, layout) }
        }
    }

    /// # Safety
    /// `ptr` is live for `old` in `a` (or `old` has size zero);
    /// `new.size() >= old.size()`.
    pub(crate) unsafe fn grow<A: ByteAllocator>(
        a: &mut A,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        zeroed: bool,
    ) -> Result<NonNull<[u8]>, ()> {
        let p = if old.size() == 0 {
            if new.size() == 0 {
                dangling(new.align())
            } else {
                a.alloc(new).map_err(|_| ())?
            }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { a.grow(ptr, old, new) }.map_err(|_| ())?
        };
        if zeroed {
            // SAFETY: the block is `new.size()` bytes long; the tail past
            // `old.size()` is ours to write.
            unsafe { p.as_ptr().add(old.size()).write_bytes(0, new.size() - old.size()) };
        }
        Ok(NonNull::slice_from_raw_parts(p, new.size()))
    }

    /// # Safety
    /// `ptr` is live for `old` in `a` (or `old` has size zero);
    /// `new.size() <= old.size()`.
    pub(crate) unsafe fn shrink<A: ByteAllocator>(
        a: &mut A,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
    ) -> Result<NonNull<[u8]>, ()> {
        if new.size() == 0 {
            // SAFETY: forwarded from the caller.
            unsafe { deallocate(a, ptr, old) };
            return Ok(NonNull::slice_from_raw_parts(dangling(new.align()), 0));
        }
        // SAFETY: forwarded from the caller; `old.size() >= new.size() > 0`.
        let p = unsafe { a.shrink(ptr, old, new) }.map_err(|_| ())?;
        Ok(NonNull::slice_from_raw_parts(p, new.size()))
    }
}

// SAFETY: blocks come from the backend, which hands out each byte to one
// live block at a time; the lock serialises every call; zero-size layouts
// (which `GlobalAlloc` callers must not pass) are answered without the
// backend and ignored when freed.
unsafe impl<A: ByteAllocator, R: RawMutex> GlobalAlloc for Locked<A, R> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 0 {
            return dangling(layout.align()).as_ptr();
        }
        self.lock().alloc(layout).map_or(ptr::null_mut(), NonNull::as_ptr)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let (Some(p), true) = (NonNull::new(ptr), layout.size() != 0) {
            // SAFETY: the caller guarantees `ptr` was allocated here for
            // `layout`.
            unsafe { self.lock().dealloc(p, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(p) = NonNull::new(ptr).filter(|_| layout.size() != 0) else {
            // A zero-size block has no backing: allocate afresh.
            return match Layout::from_size_align(new_size, layout.align()) {
                // SAFETY: `new` has the caller's (valid) alignment.
                Ok(new) => unsafe { GlobalAlloc::alloc(self, new) },
                Err(_) => ptr::null_mut(),
            };
        };
        if new_size == layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees `ptr` is live for `layout`.
        unsafe { self.lock().realloc(p, layout, new_size) }.map_or(ptr::null_mut(), NonNull::as_ptr)
    }
}

#[cfg(any(feature = "allocator-api2", feature = "allocator_api"))]
/// Implements an `Allocator` trait (stable `allocator_api2` or nightly
/// `core`) for a `&self` handle to a locked heap, through [`ops`].
macro_rules! impl_allocator {
    ($trait:path, $err:path, [$($gen:tt)*], $ty:ty, |$s:ident| $heap:expr) => {
        // SAFETY: blocks come from the backend (each byte in one live block
        // at a time) or are dangling zero-size blocks that are never
        // dereferenced; every heap access goes through the lock, so the
        // handle may be shared and cloned.
        unsafe impl<$($gen)*> $trait for $ty {
            fn allocate(&$s, layout: Layout) -> Result<NonNull<[u8]>, $err> {
                $crate::locked::ops::allocate(|| $heap.alloc(layout), layout).map_err(|()| $err)
            }

            unsafe fn deallocate(&$s, ptr: NonNull<u8>, layout: Layout) {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::locked::ops::deallocate(&mut *$heap, ptr, layout) }
            }

            unsafe fn grow(
                &$s,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $err> {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::locked::ops::grow(&mut *$heap, ptr, old, new, false) }.map_err(|()| $err)
            }

            unsafe fn grow_zeroed(
                &$s,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $err> {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::locked::ops::grow(&mut *$heap, ptr, old, new, true) }.map_err(|()| $err)
            }

            unsafe fn shrink(
                &$s,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $err> {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::locked::ops::shrink(&mut *$heap, ptr, old, new) }.map_err(|()| $err)
            }
        }
    };
}
#[cfg(feature = "allocator_api")]
pub(crate) use impl_allocator;

#[cfg(feature = "allocator-api2")]
impl_allocator!(
    allocator_api2::alloc::Allocator,
    allocator_api2::alloc::AllocError,
    [A: ByteAllocator, R: RawMutex],
    Locked<A, R>,
    |self| self.lock()
);

#[cfg(feature = "allocator_api")]
impl_allocator!(
    core::alloc::Allocator,
    core::alloc::AllocError,
    [A: ByteAllocator, R: RawMutex],
    Locked<A, R>,
    |self| self.lock()
);
