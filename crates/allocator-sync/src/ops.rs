//! The `GlobalAlloc` and `Allocator` operations over any shared heap,
//! written once for [`Locked`](crate::Locked) and `AllocatorRc`.

use core::{
    alloc::Layout,
    ptr::{self, NonNull},
};

use allocator_core::{AllocResult, ByteAllocator};

use crate::Held;

/// Moves of blocks up to this size copy under the lock in one go; larger
/// ones copy with the lock released (the old block is the caller's until it
/// is freed), so other threads are not held up by a long copy.
pub(crate) const COPY_OUTSIDE_LOCK: usize = 16 * 1024;

/// Exclusive access to a heap for the length of a closure.
pub(crate) trait Access {
    type Heap: ByteAllocator;

    /// Runs `f` on the heap; an error when the heap cannot be had (held by
    /// the calling context, poisoned).
    fn access<R>(&self, f: impl FnOnce(&mut Held<'_, Self::Heap>) -> R) -> AllocResult<R>;
}

/// A non-null pointer aligned to `align` that points to no allocation: the
/// answer to every zero-size request.
#[inline]
pub(crate) fn dangling(align: usize) -> NonNull<u8> {
    // `Layout` guarantees `align` is a non-zero power of two.
    NonNull::new(ptr::without_provenance_mut(align)).unwrap_or(NonNull::dangling())
}

/// Turns a panic that would unwind out of `GlobalAlloc` (undefined
/// behaviour) into an abort: dropped only while unwinding, it panics again,
/// and a panic during unwinding aborts the process (after the first panic's
/// message was printed, or an allocation failure reported).
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        panic!("a heap operation panicked inside the global allocator; aborting");
    }
}

/// Runs `f`, aborting the process should it unwind (out of `GlobalAlloc`).
#[inline]
pub(crate) fn no_unwind<R>(f: impl FnOnce() -> R) -> R {
    let guard = AbortOnUnwind;
    let r = f();
    core::mem::forget(guard);
    r
}

/// A block and its usable length, or nothing.
pub(crate) type Block = Option<NonNull<[u8]>>;

#[inline]
pub(crate) fn allocate<S: Access>(s: &S, layout: Layout) -> Block {
    if layout.size() == 0 {
        return Some(NonNull::slice_from_raw_parts(dangling(layout.align()), 0));
    }
    let (p, n) = s
        .access(|h| {
            let p = h.alloc(layout)?;
            // SAFETY: `p` was just allocated for `layout`.
            AllocResult::Ok((p, unsafe { h.usable_size(p, layout) }))
        })
        .ok()?
        .ok()?;
    Some(NonNull::slice_from_raw_parts(p, n))
}

/// # Safety
/// `ptr` is live in the heap fitting `layout` (or `layout` has size zero).
#[inline]
pub(crate) unsafe fn deallocate<S: Access>(s: &S, ptr: NonNull<u8>, layout: Layout) {
    if layout.size() != 0 {
        // A heap that cannot be had (re-entered, poisoned) keeps the block:
        // leaking is the only safe answer.
        // SAFETY: forwarded from the caller.
        let _ = s.access(|h| unsafe { h.dealloc(ptr, layout) });
    }
}

/// Resizes a live block (grow or shrink; `new.size() > 0`): in place under
/// the lock when the heap can; else moved — under the lock for small
/// blocks, with the copy outside it for large ones.
///
/// # Safety
/// `ptr` is live fitting `old`, `old.size() > 0`.
unsafe fn resize<S: Access>(s: &S, ptr: NonNull<u8>, old: Layout, new: Layout) -> Block {
    let keep = old.size().min(new.size());
    let small = keep <= COPY_OUTSIDE_LOCK;
    let done = s
        .access(|h| {
            // SAFETY: forwarded from the caller.
            let moved = unsafe {
                if new.align() == old.align() && h.resize_in_place(ptr, old, new.size()).is_ok() {
                    Ok(ptr)
                } else if small {
                    if new.size() >= old.size() {
                        h.grow(ptr, old, new)
                    } else {
                        h.shrink(ptr, old, new)
                    }
                } else {
                    return None;
                }
            };
            // SAFETY: `p` is live for `new`.
            Some(moved.map(|p| (p, unsafe { h.usable_size(p, new) })))
        })
        .ok()?;
    let (p, n) = match done {
        Some(r) => r.ok()?,
        // Large and not in place: allocate, copy without the lock, free.
        None => {
            let q = allocate(s, new)?;
            // SAFETY: both blocks are live, distinct and at least `keep`
            // bytes long; the old one is the caller's until freed below.
            unsafe {
                ptr::copy_nonoverlapping(ptr.as_ptr(), q.cast::<u8>().as_ptr(), keep);
                deallocate(s, ptr, old);
            }
            return Some(q);
        }
    };
    Some(NonNull::slice_from_raw_parts(p, n))
}

/// # Safety
/// `ptr` is live fitting `old` (or `old` has size zero);
/// `new.size() >= old.size()`.
#[cfg(any(feature = "allocator-api2", feature = "allocator_api"))]
pub(crate) unsafe fn grow<S: Access>(
    s: &S,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
    zeroed: bool,
) -> Block {
    let block = if old.size() == 0 {
        allocate(s, new)?
    } else {
        // SAFETY: forwarded from the caller.
        unsafe { resize(s, ptr, old, new)? }
    };
    if zeroed {
        let p = block.cast::<u8>().as_ptr();
        // SAFETY: the block is `block.len()` bytes long; everything past
        // `old.size()` is new to the caller and ours to write.
        unsafe { p.add(old.size()).write_bytes(0, block.len() - old.size()) };
    }
    Some(block)
}

/// # Safety
/// `ptr` is live fitting `old` (or `old` has size zero);
/// `new.size() <= old.size()`.
pub(crate) unsafe fn shrink<S: Access>(s: &S, ptr: NonNull<u8>, old: Layout, new: Layout) -> Block {
    if new.size() == 0 {
        // SAFETY: forwarded from the caller.
        unsafe { deallocate(s, ptr, old) };
        return Some(NonNull::slice_from_raw_parts(dangling(new.align()), 0));
    }
    // SAFETY: forwarded from the caller; `old.size() >= new.size() > 0`.
    unsafe { resize(s, ptr, old, new) }
}

/// `GlobalAlloc::realloc`.
///
/// # Safety
/// As `GlobalAlloc::realloc`.
pub(crate) unsafe fn realloc<S: Access>(s: &S, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
        return ptr::null_mut();
    };
    let block = match NonNull::new(ptr).filter(|_| layout.size() != 0) {
        // A zero-size block has no backing: allocate afresh.
        None => allocate(s, new),
        Some(_) if new_size == layout.size() => return ptr,
        Some(p) if new_size == 0 => {
            // SAFETY: forwarded from the caller.
            unsafe { shrink(s, p, layout, new) }
        }
        // SAFETY: forwarded from the caller.
        Some(p) => unsafe { resize(s, p, layout, new) },
    };
    block.map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr())
}

/// Implements an `Allocator` trait (stable `allocator_api2` or nightly
/// `core`) for a shared handle, through the functions above.
#[cfg(any(feature = "allocator-api2", feature = "allocator_api"))]
macro_rules! impl_allocator {
    ($trait:path, $err:path, [$($gen:tt)*], $ty:ty) => {
        // SAFETY: blocks come from the heap (each byte in one live block at
        // a time, at least as long as the slice returned: its usable size)
        // or are dangling zero-size blocks that are never dereferenced;
        // every heap access goes through the handle's exclusive access, so
        // the handle may be shared and cloned.
        unsafe impl<$($gen)*> $trait for $ty {
            #[inline]
            fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, $err> {
                $crate::ops::allocate(self, layout).ok_or($err)
            }

            #[inline]
            unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::ops::deallocate(self, ptr, layout) }
            }

            unsafe fn grow(&self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Result<NonNull<[u8]>, $err> {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::ops::grow(self, ptr, old, new, false) }.ok_or($err)
            }

            unsafe fn grow_zeroed(
                &self,
                ptr: NonNull<u8>,
                old: Layout,
                new: Layout,
            ) -> Result<NonNull<[u8]>, $err> {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::ops::grow(self, ptr, old, new, true) }.ok_or($err)
            }

            unsafe fn shrink(&self, ptr: NonNull<u8>, old: Layout, new: Layout) -> Result<NonNull<[u8]>, $err> {
                // SAFETY: forwarded from the caller.
                unsafe { $crate::ops::shrink(self, ptr, old, new) }.ok_or($err)
            }
        }
    };
}
#[cfg(any(feature = "allocator-api2", feature = "allocator_api"))]
pub(crate) use impl_allocator;
