//! [`MallocHeap`]: the shared heap the C functions run over, and its
//! implementations for the workspace's shared heaps.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::ByteAllocator;
use allocator_sync::{Depot, InitHeap, Lock, Locked};

/// How many tags a heap may give its blocks (`0..TAGS`): the header keeps
/// the tag in the low bits of the block's alignment, which is at least 16.
pub const TAGS: u8 = 16;

/// A shared (`&self`) heap the C functions can run over: allocate, free
/// with the layout the block was allocated with, and say how much of a
/// block is usable.
///
/// The C functions keep the layout of every block in a 16-byte header in
/// front of it, so the heap is always told a block's layout; the *tag* it
/// returned with a block (any value below [`TAGS`]) comes back with it, so
/// that a heap with two paths (say per-thread magazines and, for calls made
/// from inside them, the shared heap directly) frees each block by the path
/// that allocated it.
///
/// Implemented for [`Locked`] and [`Depot`] over any [`ByteAllocator`], and
/// (feature `std`) for `ThreadCached`, each with tag 0.
///
/// # Safety
///
/// Implementors guarantee that a block returned by
/// [`allocate`](Self::allocate) is at least `layout.size()` bytes, aligned
/// to `layout.align()`, valid for reads and writes and disjoint from every
/// other live block until it is given to [`deallocate`](Self::deallocate),
/// and that its tag is below [`TAGS`]; and that
/// [`usable_size`](Self::usable_size) is at least `layout.size()` and that
/// many bytes of the block are writable. Every method may be called from
/// any thread at once.
pub unsafe trait MallocHeap: Sync {
    /// A block for `layout` (never zero-sized) and its tag, or `None`:
    /// out of memory, or the heap cannot be had now (re-entered by the
    /// thread that holds it).
    fn allocate(&self, layout: Layout) -> Option<(NonNull<u8>, u8)>;

    /// Frees a block.
    ///
    /// # Safety
    /// `block` is a live block of this heap allocated for `layout` with
    /// `tag` (or resized in place to `layout.size()`).
    unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout, tag: u8);

    /// The usable size of a live block: at least `layout.size()`.
    ///
    /// # Safety
    /// As [`deallocate`](Self::deallocate).
    unsafe fn usable_size(&self, block: NonNull<u8>, layout: Layout, tag: u8) -> usize {
        let _ = (block, tag);
        layout.size()
    }

    /// Resizes a block to `new_size` without moving it; `false` (nothing
    /// changed) when it cannot.
    ///
    /// # Safety
    /// As [`deallocate`](Self::deallocate).
    unsafe fn resize_in_place(&self, block: NonNull<u8>, layout: Layout, new_size: usize, tag: u8) -> bool {
        let _ = (block, layout, new_size, tag);
        false
    }
}

/// `MallocHeap` for a heap reached through `with` under one lock
/// (`Locked`, and a `Depot` used without its magazines): the tag is always
/// 0; a heap that cannot be had fails an allocation and keeps a freed block
/// (leaking is safe).
macro_rules! under_one_lock {
    ($($heap:ident),+) => {$(
        // SAFETY: blocks come from the heap, whose `ByteAllocator` contract
        // makes them fit their layout, disjoint and valid until freed, and
        // its usable size writable; the lock serialises every call.
        unsafe impl<A, L, I> MallocHeap for $heap<A, L, I>
        where
            A: ByteAllocator + Send,
            L: Lock + Sync,
            I: InitHeap<A>,
        {
            #[inline]
            fn allocate(&self, layout: Layout) -> Option<(NonNull<u8>, u8)> {
                Some((self.with(|h| h.alloc(layout)).ok()?.ok()?, 0))
            }

            #[inline]
            unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout, _: u8) {
                // SAFETY: forwarded from the caller.
                let _ = self.with(|h| unsafe { h.dealloc(block, layout) });
            }

            unsafe fn usable_size(&self, block: NonNull<u8>, layout: Layout, _: u8) -> usize {
                // SAFETY: forwarded from the caller.
                self.with(|h| unsafe { h.usable_size(block, layout) }).unwrap_or(layout.size())
            }

            unsafe fn resize_in_place(&self, block: NonNull<u8>, layout: Layout, new_size: usize, _: u8) -> bool {
                // SAFETY: forwarded from the caller.
                self.with(|h| unsafe { h.resize_in_place(block, layout, new_size) }).is_ok_and(|r| r.is_ok())
            }
        }
    )+};
}

under_one_lock!(Locked, Depot);

#[cfg(feature = "std")]
mod hosted {
    use core::{
        alloc::{GlobalAlloc, Layout},
        ptr::NonNull,
    };

    use allocator_core::ByteAllocator;
    use allocator_sync::{InitHeap, Lock, ThreadCached};

    use super::MallocHeap;

    // SAFETY: `ThreadCached` is a `GlobalAlloc` (the same promises for
    // non-zero layouts, which are all the C functions pass); its usable
    // size and in-place resize are its size class's or the heap's.
    #[cfg_attr(docsrs, doc(cfg(feature = "std")))]
    unsafe impl<A, L, I> MallocHeap for ThreadCached<A, L, I>
    where
        A: ByteAllocator + Send,
        L: Lock + Sync,
        I: InitHeap<A>,
    {
        #[inline]
        fn allocate(&self, layout: Layout) -> Option<(NonNull<u8>, u8)> {
            // SAFETY: the C functions never pass a zero-sized layout.
            Some((NonNull::new(unsafe { self.alloc(layout) })?, 0))
        }

        #[inline]
        unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout, _: u8) {
            // SAFETY: forwarded from the caller.
            unsafe { self.dealloc(block.as_ptr(), layout) }
        }

        unsafe fn usable_size(&self, block: NonNull<u8>, layout: Layout, _: u8) -> usize {
            // SAFETY: forwarded from the caller.
            unsafe { ThreadCached::usable_size(self, block, layout) }
        }

        unsafe fn resize_in_place(&self, block: NonNull<u8>, layout: Layout, new_size: usize, _: u8) -> bool {
            // SAFETY: forwarded from the caller.
            unsafe { ThreadCached::resize_in_place(self, block, layout, new_size) }.is_ok()
        }
    }
}
