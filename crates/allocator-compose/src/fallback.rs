//! [`Fallback`]: try one allocator, then another.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{helpers::check_layout, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns};

use crate::route::{route, Routed};

/// Allocates from `P`, and from `S` when `P` fails. Frees, in-place
/// resizes and usable sizes go to whichever part [owns](Owns) the block; a
/// resize the owner cannot do in place moves the block through
/// [`alloc`](ByteAllocator::alloc) (into `P` or `S`, whichever has room),
/// so the primary is asked once.
///
/// Memory given to the `Fallback` itself is routed: `init` to the primary
/// (or the secondary if the primary refuses it), `add_memory` to the
/// secondary (or the primary if the secondary refuses it), and no routed
/// region may overlap another. Parts can also be given memory directly
/// through [`primary_mut`](Self::primary_mut) and
/// [`secondary_mut`](Self::secondary_mut).
///
/// It implements [`Owns`] when both parts do. Costs: one `owns` query of
/// the primary per free or resize, on top of the part's own cost.
#[derive(Debug, Default)]
pub struct Fallback<P, S> {
    primary: P,
    secondary: S,
    routed: Routed,
}

impl<P, S> Fallback<P, S> {
    /// Combines two allocators.
    pub const fn new(primary: P, secondary: S) -> Self {
        Self { primary, secondary, routed: Routed::new() }
    }

    /// The primary part.
    pub fn primary(&self) -> &P {
        &self.primary
    }

    /// The primary part, mutably (to give it memory, say).
    ///
    /// # Safety
    /// While any block of this `Fallback` is live, the caller must not
    /// replace, move out or swap the part, nor make it free or reuse
    /// memory that live blocks occupy (a reset, a rewind): the blocks are
    /// still in use, and frees are routed to the part that owns them.
    pub unsafe fn primary_mut(&mut self) -> &mut P {
        &mut self.primary
    }

    /// The secondary part.
    pub fn secondary(&self) -> &S {
        &self.secondary
    }

    /// The secondary part, mutably.
    ///
    /// # Safety
    /// As [`primary_mut`](Self::primary_mut).
    pub unsafe fn secondary_mut(&mut self) -> &mut S {
        &mut self.secondary
    }

    /// The two parts.
    pub fn into_parts(self) -> (P, S) {
        (self.primary, self.secondary)
    }
}

impl<P: BaseAllocator, S: BaseAllocator<Addr = P::Addr>> BaseAllocator for Fallback<P, S> {
    type Addr = P::Addr;

    unsafe fn init(&mut self, start: P::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.primary, &mut self.secondary, start, size, true) }
    }

    unsafe fn add_memory(&mut self, start: P::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.primary, &mut self.secondary, start, size, false) }
    }
}

impl<P: Owns, S> Fallback<P, S> {
    /// `true` when the (live) block is the primary's: the primary owns
    /// every live block of its own and, its memory being disjoint from the
    /// secondary's, none of the secondary's.
    #[inline]
    fn in_primary(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.primary.owns(ptr, layout)
    }
}

// SAFETY: every block comes from one part and every operation on a block
// goes to the part that owns it (`Owns` is exact for live blocks of parts
// with disjoint memory), so each part's promises hold for the whole;
// `grow`/`shrink`/`realloc` are the provided ones, built on these.
unsafe impl<P: ByteAllocator + Owns, S: ByteAllocator<Addr = P::Addr>> ByteAllocator for Fallback<P, S> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        self.primary.alloc(layout).or_else(|_| self.secondary.alloc(layout))
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the block is live in exactly the part that owns it.
        unsafe {
            if self.in_primary(ptr, layout) {
                self.primary.dealloc(ptr, layout);
            } else {
                self.secondary.dealloc(ptr, layout);
            }
        }
    }

    /// The owner's in-place resize.
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: the block is live in the part that owns it.
        unsafe {
            if self.in_primary(ptr, layout) {
                self.primary.resize_in_place(ptr, layout, new_size)
            } else {
                self.secondary.resize_in_place(ptr, layout, new_size)
            }
        }
    }

    /// The owner's usable size.
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: the block is live in the part that owns it.
        unsafe {
            if self.in_primary(ptr, layout) {
                self.primary.usable_size(ptr, layout)
            } else {
                self.secondary.usable_size(ptr, layout)
            }
        }
    }

    fn figures(&self) -> Figures {
        self.primary.figures().plus(self.secondary.figures())
    }

    /// The larger of the parts' answers: `alloc` tries both, so that size
    /// succeeds (a part that cannot tell is left out; `None` when neither
    /// can).
    fn largest_free(&self) -> Option<usize> {
        self.primary.largest_free().max(self.secondary.largest_free())
    }
}

// SAFETY: true for every live block, since each is live in one part, which
// owns it; false outside both parts' memory, since both parts answer false
// there.
unsafe impl<P: Owns, S: Owns> Owns for Fallback<P, S> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.primary.owns(ptr, layout) || self.secondary.owns(ptr, layout)
    }
}

#[cfg(test)]
mod tests;
