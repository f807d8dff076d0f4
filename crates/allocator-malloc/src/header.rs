//! The header in front of every block: the layout the heap allocated the
//! block with, and the heap's tag, so that `free(p)` can give the heap back
//! exactly what it handed out.

use core::{alloc::Layout, ptr::NonNull};

use crate::TAGS;

/// Bytes in front of each block that hold its header (two words, padded
/// to 16 so that every block keeps the 16-byte alignment C's
/// `max_align_t` asks for). A block aligned to more than 16 has `align`
/// bytes in front of it instead, the header in the last 16.
pub const HEADER: usize = 16;

/// The smallest alignment of any block: `max_align_t` on 64-bit targets.
pub(crate) const MIN_ALIGN: usize = 16;

/// A block as the heap sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    /// Where the heap's block starts.
    pub(crate) start: NonNull<u8>,
    /// What it was allocated (or last resized) with.
    pub(crate) layout: Layout,
    /// The heap's tag.
    pub(crate) tag: u8,
}

impl Block {
    /// Bytes from the heap's block to the caller's: the alignment, at
    /// least [`HEADER`].
    #[inline]
    pub(crate) fn offset(&self) -> usize {
        self.layout.align()
    }

    /// The heap's layout for `size` caller bytes aligned to `align` (a
    /// power of two): `None` when it would overflow.
    #[inline]
    pub(crate) fn layout_for(size: usize, align: usize) -> Option<Layout> {
        let align = align.max(MIN_ALIGN);
        Layout::from_size_align(size.checked_add(align)?, align).ok()
    }

    /// The caller's pointer: `offset` bytes in; writes the header in the
    /// 16 bytes before it.
    ///
    /// # Safety
    /// `start` is a live block of at least `layout.size()` bytes aligned to
    /// `layout.align()` (at least 16), made by `layout_for`.
    #[inline]
    pub(crate) unsafe fn publish(self) -> NonNull<u8> {
        debug_assert!(self.tag < TAGS && self.layout.align() >= MIN_ALIGN);
        // SAFETY: the block has at least `align` bytes in front of the
        // caller's part (`layout_for`), so `user` and the two words before
        // it are inside the block, and aligned (align >= 16).
        unsafe {
            let user = self.start.add(self.offset());
            let words = user.cast::<usize>().sub(2);
            words.write(self.layout.size());
            words.add(1).write(self.layout.align() | usize::from(self.tag));
            user
        }
    }

    /// The block whose caller's pointer is `user`.
    ///
    /// # Safety
    /// `user` was returned by [`publish`](Self::publish) and its block is
    /// live.
    #[inline]
    pub(crate) unsafe fn of(user: NonNull<u8>) -> Self {
        // SAFETY: `publish` wrote the two words before `user`, inside the
        // live block.
        unsafe {
            let words = user.cast::<usize>().sub(2);
            let size = words.read();
            let align_tag = words.add(1).read();
            let align = align_tag & !(usize::from(TAGS) - 1);
            let tag = (align_tag & (usize::from(TAGS) - 1)) as u8;
            // The header holds what `layout_for` made: a valid layout.
            let layout = Layout::from_size_align_unchecked(size, align);
            Self { start: user.sub(align), layout, tag }
        }
    }

    /// Records a new size after an in-place resize.
    ///
    /// # Safety
    /// As [`of`](Self::of), for the caller's pointer `user` of this block.
    #[inline]
    pub(crate) unsafe fn set_size(user: NonNull<u8>, size: usize) {
        // SAFETY: the header's first word, inside the live block.
        unsafe { user.cast::<usize>().sub(2).write(size) }
    }
}
