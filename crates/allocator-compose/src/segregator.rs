//! [`Segregator`]: small sizes to one allocator, large to another.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::check_layout, AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};

use crate::route::{route, Routed};

/// Blocks of up to `THRESHOLD` bytes from `Small`, larger ones from
/// `Large`. Nests: `Segregator<64, A, Segregator<4096, B, C>>` is three size
/// bands.
///
/// A request of up to `THRESHOLD` bytes that `Small` never serves (it
/// answers `Unsupported`: a `u128` in a `Pool<24>`, whose blocks are only
/// 8-aligned) goes to `Large` instead. Frees and resizes find the side by
/// size while no block was sent that way; after the first, blocks of up to
/// `THRESHOLD` bytes are looked up with `Small`'s [`Owns`] (so `Small` must
/// implement it).
///
/// A resize in place is the owning side's, as long as the new size stays
/// on the same side of the threshold; otherwise the block moves. The usable
/// size of a small block is capped at `THRESHOLD` (so that a free with it
/// still goes to `Small`). Memory given to the `Segregator` is routed:
/// `init` to `Small` (or `Large` if it refuses), `add_memory` to `Large`
/// (or `Small` if it refuses), never overlapping. It implements [`Owns`]
/// when both sides do.
#[derive(Debug, Default)]
pub struct Segregator<const THRESHOLD: usize, Small, Large> {
    small: Small,
    large: Large,
    routed: Routed,
    /// Set (for good) once `Large` served a request of up to `THRESHOLD`
    /// bytes: from then on such blocks are looked up with `Small::owns`.
    diverted: bool,
}

impl<const THRESHOLD: usize, Small, Large> Segregator<THRESHOLD, Small, Large> {
    /// Combines two allocators.
    pub const fn new(small: Small, large: Large) -> Self {
        Self { small, large, routed: Routed::new(), diverted: false }
    }

    /// The side for blocks of up to `THRESHOLD` bytes.
    pub fn small(&self) -> &Small {
        &self.small
    }

    /// The small side, mutably (to give it memory, say).
    ///
    /// # Safety
    /// While any block of this `Segregator` is live, the caller must not
    /// replace, move out or swap the side, nor make it free or reuse memory
    /// that live blocks occupy (a reset, a rewind): the blocks are still in
    /// use, and frees are routed to the side they came from.
    pub unsafe fn small_mut(&mut self) -> &mut Small {
        &mut self.small
    }

    /// The side for larger blocks.
    pub fn large(&self) -> &Large {
        &self.large
    }

    /// The large side, mutably.
    ///
    /// # Safety
    /// As [`small_mut`](Self::small_mut).
    pub unsafe fn large_mut(&mut self) -> &mut Large {
        &mut self.large
    }

    #[inline]
    const fn is_small_size(size: usize) -> bool {
        size <= THRESHOLD
    }
}

impl<const T: usize, Small: Owns, Large> Segregator<T, Small, Large> {
    /// `true` when the live block at `ptr`, fitting `layout`, is `Small`'s.
    /// A small block is always freed with a size of at most `T` (its usable
    /// size is capped there); a large one with more, unless it was
    /// diverted, and then `Small` does not own it (disjoint memory).
    #[inline]
    fn in_small(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        Self::is_small_size(layout.size()) && (!self.diverted || self.small.owns(ptr, layout))
    }
}

impl<const T: usize, Small: BaseAllocator, Large: BaseAllocator<Addr = Small::Addr>> BaseAllocator
    for Segregator<T, Small, Large>
{
    type Addr = Small::Addr;

    unsafe fn init(&mut self, start: Small::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.small, &mut self.large, start, size, true) }
    }

    unsafe fn add_memory(&mut self, start: Small::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.small, &mut self.large, start, size, false) }
    }
}

// SAFETY: every block comes from one side, and every operation on it goes
// to that side (`in_small` is exact: see there), so each side's promises
// hold for the whole. A small block's usable size is capped at `T`, which
// keeps its frees on the small side; an in-place resize never changes the
// side a block is found on. `grow`/`shrink`/`realloc` are the provided
// ones, built on these.
unsafe impl<const T: usize, Small, Large> ByteAllocator for Segregator<T, Small, Large>
where
    Small: ByteAllocator + Owns,
    Large: ByteAllocator<Addr = Small::Addr>,
{
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        if !Self::is_small_size(layout.size()) {
            return self.large.alloc(layout);
        }
        match self.small.alloc(layout) {
            Err(AllocError::Unsupported) => {
                let p = self.large.alloc(layout)?;
                self.diverted = true;
                Ok(p)
            }
            r => r,
        }
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the block is live on the side `in_small` finds.
        unsafe {
            if self.in_small(ptr, layout) {
                self.small.dealloc(ptr, layout);
            } else {
                self.large.dealloc(ptr, layout);
            }
        }
    }

    /// The owning side's, while the new size stays on the same side of
    /// `T`; `Unsupported` across it (the block must move).
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        if Self::is_small_size(new_size) != Self::is_small_size(layout.size()) {
            return match Layout::from_size_align(new_size, layout.align()) {
                Ok(l) if l.size() != 0 => Err(AllocError::Unsupported),
                _ => Err(AllocError::InvalidParam),
            };
        }
        // SAFETY: the block is live on the side `in_small` finds; the new
        // size keeps it there.
        unsafe {
            if self.in_small(ptr, layout) {
                self.small.resize_in_place(ptr, layout, new_size)
            } else {
                self.large.resize_in_place(ptr, layout, new_size)
            }
        }
    }

    /// The owning side's, capped at `T` for a small block.
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: the block is live on the side `in_small` finds.
        unsafe {
            if self.in_small(ptr, layout) {
                self.small.usable_size(ptr, layout).min(T).max(layout.size())
            } else {
                self.large.usable_size(ptr, layout)
            }
        }
    }

    fn figures(&self) -> Figures {
        self.small.figures().plus(self.large.figures())
    }

    /// `Large`'s answer when it is above `T` (such a request goes there),
    /// else `Small`'s when it is at most `T`.
    fn largest_free(&self) -> Option<usize> {
        match self.large.largest_free() {
            Some(n) if !Self::is_small_size(n) => Some(n),
            _ => self.small.largest_free().filter(|&n| Self::is_small_size(n)),
        }
    }
}

// SAFETY: a live block is one side's and that side owns it: a block freed
// with more than `T` bytes is `Large`'s; one with at most `T` is `Small`'s,
// or `Large`'s when diverted (then asked). Outside both sides' memory both
// answer false.
unsafe impl<const T: usize, Small: Owns, Large: Owns> Owns for Segregator<T, Small, Large> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        if Self::is_small_size(layout.size()) {
            self.small.owns(ptr, layout) || (self.diverted && self.large.owns(ptr, layout))
        } else {
            self.large.owns(ptr, layout)
        }
    }
}

#[cfg(test)]
mod tests;
