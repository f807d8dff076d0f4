//! [`ByteAllocator`]: blocks of arbitrary size and alignment.

use core::{alloc::Layout, ptr::NonNull};

use crate::{check_grow, check_shrink, AllocError, AllocResult, BaseAllocator};

/// A single-owner allocator of byte blocks described by a [`Layout`].
///
/// Methods take `&mut self` and never lock or allocate; wrap the allocator
/// in [`Locked`](crate::Locked) to share it or install it as the
/// `#[global_allocator]`.
///
/// # Zero-size policy
///
/// A `ByteAllocator` hands out real blocks only. [`alloc`](Self::alloc)
/// with `layout.size() == 0` returns [`AllocError::InvalidParam`] and
/// changes nothing; so do [`grow`](Self::grow), [`shrink`](Self::shrink)
/// and [`realloc`](Self::realloc) to a size of zero, and the block stays
/// valid. The sharing adapters answer zero-size requests themselves with a
/// dangling, well-aligned pointer, as Rust's allocator APIs expect, so such
/// requests never reach a backend. The testkit checks this policy for every
/// backend and combinator.
///
/// # Errors
///
/// A request no memory could ever satisfy (a size or alignment beyond the
/// allocator's range) and a request that does not fit now both give
/// [`AllocError::NoMemory`], unless a backend documents a stricter
/// [`AllocError::InvalidParam`] for sizes or alignments it never serves.
///
/// # Accounting
///
/// `used_bytes() + available_bytes() == total_bytes()` holds after every
/// operation. `used_bytes` counts what is really taken out of the free
/// memory (rounded-up block sizes, per-block headers), not requested sizes.
pub trait ByteAllocator: BaseAllocator {
    /// Allocates a block that fits `layout`: at least `layout.size()` bytes,
    /// aligned to `layout.align()`.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] for a zero size; [`AllocError::NoMemory`]
    /// when no free block fits.
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>>;

    /// Frees a block.
    ///
    /// # Safety
    /// `ptr` must have been returned by this allocator (by `alloc`, `grow`,
    /// `shrink` or `realloc`) for exactly `layout`, and not freed since.
    /// Backends check what they cheaply can in debug builds; a violation is
    /// undefined behaviour.
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// Bytes of memory the allocator manages, free or not.
    fn total_bytes(&self) -> usize;

    /// Bytes taken out of the free memory by live blocks.
    fn used_bytes(&self) -> usize;

    /// Bytes still free (not necessarily in one piece).
    fn available_bytes(&self) -> usize;

    /// Grows a block to `new_layout`, in place when the backend can, else by
    /// allocating, copying and freeing. The first `old_layout.size()` bytes
    /// are preserved.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] when `new_layout` is smaller than
    /// `old_layout`; [`AllocError::NoMemory`] when no room is found. On
    /// error the old block is untouched and still allocated.
    ///
    /// # Safety
    /// `ptr` must be a live block of this allocator allocated for
    /// `old_layout`. On success it is freed (or is the returned pointer)
    /// and the block is now described by `new_layout`.
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> AllocResult<NonNull<u8>> {
        check_grow(old_layout, new_layout)?;
        // SAFETY: forwarded from the caller.
        unsafe { move_block(self, ptr, old_layout, new_layout) }
    }

    /// Shrinks a block to `new_layout`; the first `new_layout.size()` bytes
    /// are preserved.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] when `new_layout` is larger than
    /// `old_layout` or has a zero size; [`AllocError::NoMemory`] when the
    /// backend must move the block and finds no room. On error the old block
    /// is untouched and still allocated.
    ///
    /// # Safety
    /// As for [`grow`](Self::grow).
    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> AllocResult<NonNull<u8>> {
        check_shrink(old_layout, new_layout)?;
        // SAFETY: forwarded from the caller.
        unsafe { move_block(self, ptr, old_layout, new_layout) }
    }

    /// Resizes a block to `new_size` bytes, keeping its alignment: the
    /// `realloc` of C and of [`GlobalAlloc`](core::alloc::GlobalAlloc).
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] for a zero `new_size` or one that makes
    /// an invalid [`Layout`]; otherwise as [`grow`](Self::grow) and
    /// [`shrink`](Self::shrink).
    ///
    /// # Safety
    /// As for [`grow`](Self::grow), with `layout` as the old layout.
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> AllocResult<NonNull<u8>> {
        let new_layout =
            Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        if new_size >= layout.size() {
            // SAFETY: forwarded from the caller.
            unsafe { self.grow(ptr, layout, new_layout) }
        } else {
            // SAFETY: forwarded from the caller.
            unsafe { self.shrink(ptr, layout, new_layout) }
        }
    }
}

/// Allocate, copy, free: the resize every backend can do, and the default
/// of [`ByteAllocator::grow`] and [`ByteAllocator::shrink`]. Backends that
/// resize in place call it when they cannot.
///
/// # Errors
/// As [`ByteAllocator::alloc`] for `new_layout`; on error the old block is
/// untouched and still allocated.
///
/// # Safety
/// `ptr` must be a live block of `a` allocated for `old_layout`; on success
/// it is freed.
pub unsafe fn move_block<A: ByteAllocator + ?Sized>(
    a: &mut A,
    ptr: NonNull<u8>,
    old_layout: Layout,
    new_layout: Layout,
) -> AllocResult<NonNull<u8>> {
    let new = a.alloc(new_layout)?;
    let keep = old_layout.size().min(new_layout.size());
    // SAFETY: both blocks are live and at least `keep` bytes long; they are
    // distinct blocks of the same allocator, so they do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(ptr.as_ptr(), new.as_ptr(), keep) };
    // SAFETY: the caller guarantees `ptr` is live for `old_layout`.
    unsafe { a.dealloc(ptr, old_layout) };
    Ok(new)
}
