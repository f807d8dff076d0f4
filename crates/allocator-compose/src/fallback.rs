//! [`Fallback`]: try one allocator, then another.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    check_grow, check_layout, check_shrink, move_block, AllocResult, BaseAllocator, ByteAllocator, Owns,
};

use crate::route::{route, Routed};

/// Allocates from `P`, and from `S` when `P` fails. Frees and resizes go to
/// whichever part [owns](Owns) the block; a grow the owner cannot satisfy
/// moves the block (into `P` or `S`, whichever has room).
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
    pub fn primary_mut(&mut self) -> &mut P {
        &mut self.primary
    }

    /// The secondary part.
    pub fn secondary(&self) -> &S {
        &self.secondary
    }

    /// The secondary part, mutably.
    pub fn secondary_mut(&mut self) -> &mut S {
        &mut self.secondary
    }

    /// The two parts.
    pub fn into_parts(self) -> (P, S) {
        (self.primary, self.secondary)
    }
}

impl<P: BaseAllocator, S: BaseAllocator> BaseAllocator for Fallback<P, S> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.primary, &mut self.secondary, start, size, true) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.primary, &mut self.secondary, start, size, false) }
    }
}

impl<P: ByteAllocator + Owns, S: ByteAllocator> ByteAllocator for Fallback<P, S> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        self.primary.alloc(layout).or_else(|_| self.secondary.alloc(layout))
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the block is live in exactly the part that owns it.
        unsafe {
            if self.primary.owns(ptr, layout) {
                self.primary.dealloc(ptr, layout)
            } else {
                self.secondary.dealloc(ptr, layout)
            }
        }
    }

    fn total_bytes(&self) -> usize {
        self.primary.total_bytes() + self.secondary.total_bytes()
    }

    fn used_bytes(&self) -> usize {
        self.primary.used_bytes() + self.secondary.used_bytes()
    }

    fn available_bytes(&self) -> usize {
        self.primary.available_bytes() + self.secondary.available_bytes()
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new, true) }
    }

    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new, false) }
    }
}

impl<P: ByteAllocator + Owns, S: ByteAllocator> Fallback<P, S> {
    /// The owner resizes in place or moves within itself; failing that, the
    /// block moves to wherever `alloc` finds room.
    ///
    /// # Safety
    /// `ptr` is live here for `old`; `new` is a well-formed resize.
    unsafe fn resize(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        grow: bool,
    ) -> AllocResult<NonNull<u8>> {
        // SAFETY: the block is live in the part that owns it.
        let r = unsafe {
            match (self.primary.owns(ptr, old), grow) {
                (true, true) => self.primary.grow(ptr, old, new),
                (true, false) => self.primary.shrink(ptr, old, new),
                (false, true) => self.secondary.grow(ptr, old, new),
                (false, false) => self.secondary.shrink(ptr, old, new),
            }
        };
        // SAFETY: on error the block is untouched and still live for `old`.
        r.or_else(|_| unsafe { move_block(self, ptr, old, new) })
    }
}

impl<P: Owns, S: Owns> Owns for Fallback<P, S> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.primary.owns(ptr, layout) || self.secondary.owns(ptr, layout)
    }
}
