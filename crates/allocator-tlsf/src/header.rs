//! What this crate knows of rlsf 0.2.3's block layout (hence the `=0.2.3`
//! pin): where a used block's header is, what its size word holds, and when
//! `Tlsf::reallocate` keeps a block where it is.
//!
//! Every block starts with a header whose first word is `size | flags`
//! (`size` a multiple of `GRANULARITY`, `SIZE_USED` in bit 0, the pool's
//! last block also `SIZE_SENTINEL` in bit 1; a free block's word is its bare
//! size). The next block's header is `size` bytes further. A used block's
//! payload follows its `GRANULARITY / 2`-byte header directly for
//! alignments below `GRANULARITY`; for larger ones, rlsf stores a pointer
//! to the header in the word just before the payload.

use core::ptr::NonNull;

use crate::GRANULARITY;

/// Bit 0 of the size word: the block is used (or is a pool's sentinel).
const SIZE_USED: usize = 1;
/// The bits of the size word that hold the size.
const SIZE_MASK: usize = !(GRANULARITY - 1);

/// A used block as rlsf laid it out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Block {
    /// The header's first word (`size | flags`).
    header: NonNull<usize>,
}

impl Block {
    /// The block holding the allocation at `ptr`.
    ///
    /// # Safety
    /// `ptr` is a live allocation of an rlsf 0.2.3 heap, made (or last
    /// reallocated) with alignment `align`.
    #[inline]
    pub(crate) unsafe fn of(ptr: NonNull<u8>, align: usize) -> Self {
        let header = if align >= GRANULARITY {
            // SAFETY: for such alignments rlsf keeps a pointer to the header
            // (with the pool's provenance) in the word before the payload:
            // inside the block, aligned because the payload is aligned to at
            // least `GRANULARITY`.
            unsafe { ptr.cast::<NonNull<usize>>().sub(1).read() }
        } else {
            // SAFETY: the header sits `GRANULARITY / 2` bytes before the
            // payload, inside the same block (and pool).
            unsafe { ptr.sub(GRANULARITY / 2).cast() }
        };
        Self { header }
    }

    /// The bytes the block occupies: header, padding and payload.
    ///
    /// # Safety
    /// The block is still live (so its header is valid).
    #[inline]
    pub(crate) unsafe fn size(self) -> usize {
        // SAFETY: rlsf keeps a live block's header valid.
        unsafe { self.header.read() & SIZE_MASK }
    }

    /// The bytes from `ptr` (the payload) to the block's end.
    ///
    /// # Safety
    /// As [`size`](Self::size); `ptr` is this block's payload.
    #[inline]
    pub(crate) unsafe fn usable_from(self, ptr: NonNull<u8>) -> usize {
        // SAFETY: forwarded.
        let end = self.header.addr().get() + unsafe { self.size() };
        end - ptr.addr().get()
    }

    /// Whether `Tlsf::reallocate` resizes this block's payload `ptr` to
    /// `new_size` bytes *without moving it*: when the new block (header and
    /// padding unchanged, rounded up to `GRANULARITY`) is no larger, or the
    /// next block is free and at least as large as the growth. This is
    /// exactly the test of rlsf's `reallocate_inplace` before it would try
    /// to move the block into its free predecessor.
    ///
    /// # Safety
    /// As [`usable_from`](Self::usable_from).
    pub(crate) unsafe fn stays_in_place(self, ptr: NonNull<u8>, new_size: usize) -> bool {
        let overhead = ptr.addr().get() - self.header.addr().get();
        let Some(new_block) = overhead
            .checked_add(new_size)
            .and_then(|s| s.checked_add(GRANULARITY - 1))
            .map(|s| s & SIZE_MASK)
        else {
            return false;
        };
        // SAFETY: forwarded.
        let old_block = unsafe { self.size() };
        if new_block <= old_block {
            return true;
        }
        // SAFETY: a used block is never a pool's sentinel, so another block
        // (maybe the sentinel) starts right after it, inside the same pool;
        // its header is valid.
        let next = unsafe { self.header.byte_add(old_block).read() };
        next & SIZE_USED == 0 && new_block - old_block <= next
    }
}
