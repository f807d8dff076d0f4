//! [`ByteAllocator`]: blocks of arbitrary size and alignment.

use core::{alloc::Layout, ptr::NonNull};

use crate::{
    helpers::{check_grow, check_layout, check_shrink},
    AllocError, AllocResult, BaseAllocator,
};

/// A heap's figures, read in one call so that they cannot tear: the bytes
/// it manages and the bytes live blocks take. Every byte heap of this
/// workspace counts `used` the same way: what live blocks take out of the
/// free memory, with their rounding and per-block headers (so `used` can
/// exceed the sum of the requested sizes, and `available` is really free).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Figures {
    /// Bytes of memory the heap manages, free or not (its regions, less
    /// what trimming and the heap's own structures take).
    pub total: usize,
    /// Bytes taken by live blocks, rounding and headers included.
    pub used: usize,
}

impl Figures {
    /// The figures of a heap that manages `total` bytes of which `used` are
    /// taken.
    #[must_use]
    pub const fn new(total: usize, used: usize) -> Self {
        Self { total, used }
    }

    /// Bytes still free (not necessarily in one piece).
    #[must_use]
    pub const fn available(&self) -> usize {
        self.total.saturating_sub(self.used)
    }

    /// The figures of two heaps side by side.
    #[must_use]
    pub const fn plus(self, other: Self) -> Self {
        Self { total: self.total.saturating_add(other.total), used: self.used.saturating_add(other.used) }
    }
}

/// A heap's health, read in one call ([`ByteAllocator::health`]): its
/// [`Figures`], its largest free block, how fragmented its free memory is,
/// and, where a statistics layer tracks them, the bytes requested by live
/// blocks now and at the peak.
///
/// Reading it costs what [`figures`](ByteAllocator::figures) and
/// [`largest_free`](ByteAllocator::largest_free) cost (each backend states
/// it: O(1) for most, O(blocks) for TLSF, which walks its heap once for
/// both so that no allocation or free pays for them). Nothing is tracked
/// per operation for it.
///
/// ```
/// use allocator::Health;
///
/// // 1,000 bytes free, the largest free block 250 of them.
/// let h = Health::new(allocator::Figures::new(4000, 3000), Some(250));
/// assert_eq!(h.free(), 1000);
/// assert_eq!(h.fragmentation_permille(), Some(750));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Health {
    /// Bytes of memory the heap manages, free or not (as in [`Figures`]).
    pub total: usize,
    /// Bytes taken by live blocks, rounding and headers included (as in
    /// [`Figures`]).
    pub used: usize,
    /// The largest request that would succeed now
    /// ([`largest_free`](ByteAllocator::largest_free)); `None` where the
    /// heap cannot tell (the buddy and slab backends, whose wrapped crates
    /// do not expose their free lists).
    pub largest_free: Option<usize>,
    /// Bytes requested by the live blocks (requested sizes, so below
    /// `used` by the heap's rounding and headers), where a statistics
    /// layer counts them (a `Proxy` with the `Stats` hook); else `None`.
    pub requested: Option<usize>,
    /// The highest `requested` reached (since the statistics layer's last
    /// peak reset); `None` where nothing counts it. A peak of `used` itself
    /// would cost a heap walk per operation on TLSF, so the peak is of the
    /// requested sizes, which the layer sees for free.
    pub peak_requested: Option<usize>,
}

impl Health {
    /// The health of a heap with these figures and this largest free
    /// block, with no requested bytes counted.
    #[must_use]
    pub const fn new(figures: Figures, largest_free: Option<usize>) -> Self {
        Self { total: figures.total, used: figures.used, largest_free, requested: None, peak_requested: None }
    }

    /// The same, with the bytes requested by live blocks now and at the
    /// peak (what a statistics layer adds).
    #[must_use]
    pub const fn with_requested(self, requested: usize, peak_requested: usize) -> Self {
        Self { requested: Some(requested), peak_requested: Some(peak_requested), ..self }
    }

    /// The same, with another largest free block (what a layer that
    /// narrows it reports).
    #[must_use]
    pub const fn with_largest_free(self, largest_free: Option<usize>) -> Self {
        Self { largest_free, ..self }
    }

    /// The figures: total and used.
    #[must_use]
    pub const fn figures(&self) -> Figures {
        Figures::new(self.total, self.used)
    }

    /// Bytes still free (not necessarily in one piece).
    #[must_use]
    pub const fn free(&self) -> usize {
        self.total.saturating_sub(self.used)
    }

    /// How fragmented the free memory is, in thousandths: `1000 × (1 −
    /// largest free / free)`, rounded down to a whole thousandth. 0 when
    /// all the free memory can be had in one request (or none is free);
    /// near 1000 when it is all in pieces too small to serve much. `None`
    /// when the heap cannot tell its largest free block.
    ///
    /// The largest free block is the largest *request* that succeeds, so
    /// a heap's headers and size-class rounding count as lost: an empty
    /// TLSF heap shows a few per cent, and a pool of fixed blocks nearly
    /// 1000 (one block is the most one request can have).
    #[must_use]
    pub const fn fragmentation_permille(&self) -> Option<u16> {
        let Some(largest) = self.largest_free else { return None };
        let free = self.free();
        if free == 0 || largest >= free {
            return Some(0);
        }
        // Below 1000: `largest < free`. No overflow in 128 bits.
        let kept = (largest as u128 * 1000).div_ceil(free as u128);
        Some(1000 - kept as u16)
    }
}

/// A single-owner allocator of byte blocks described by a [`Layout`].
///
/// Methods take `&mut self` and never lock or allocate from anywhere else;
/// wrap the allocator in `allocator_sync::Locked` to share it or install it
/// as the `#[global_allocator]`.
///
/// # Safety
///
/// Unsafe code (the sharing adapters, the combinators, every `Box` built on
/// them) relies on what an implementation returns. An implementor
/// guarantees that:
///
/// - every block [`alloc`](Self::alloc) (or a successful
///   [`grow`](Self::grow), [`shrink`](Self::shrink),
///   [`realloc`](Self::realloc)) returns is aligned to the layout's
///   alignment, at least [`usable_size`](Self::usable_size) bytes long,
///   lies inside memory given to this allocator (through
///   [`BaseAllocator`]), and overlaps no other live block;
/// - a block stays valid, its contents untouched by the allocator, until it
///   is freed (by [`dealloc`](Self::dealloc), or by a resize that moves it);
/// - [`resize_in_place`](Self::resize_in_place) either leaves the block
///   where it is, now `new_size` bytes long (and still disjoint from every
///   other live block), or changes nothing and returns an error;
/// - [`usable_size`](Self::usable_size) is at least the layout's size, and
///   those bytes belong to the block alone;
/// - `dealloc` accepts any layout with the block's alignment and a size
///   between the one asked for and the usable size ("memory fitting", as in
///   Rust's `Allocator`).
///
/// # Zero-size policy
///
/// A `ByteAllocator` hands out real blocks only: [`alloc`](Self::alloc)
/// with `layout.size() == 0` returns [`AllocError::InvalidParam`] and
/// changes nothing; so do the resizes to a size of zero, and the block
/// stays valid. The sharing adapters answer zero-size requests themselves
/// with a dangling, well-aligned pointer, as Rust's allocator APIs expect,
/// so such requests never reach a backend. The testkit checks this policy
/// for every backend and combinator.
///
/// # Errors
///
/// [`AllocError::NoMemory`]: the request is one the heap serves but no
/// free block fits now. [`AllocError::Unsupported`]: a size or alignment
/// the heap never serves (each backend states its limits).
/// [`AllocError::InvalidParam`]: a malformed call (a zero size, a grow to a
/// smaller size).
///
/// ```compile_fail,E0200
/// // A byte allocator cannot be implemented without `unsafe impl`:
/// // unsafe code trusts what it returns.
/// use core::{alloc::Layout, ptr::NonNull};
/// use allocator::{AllocResult, BaseAllocator, ByteAllocator, Figures};
///
/// struct Liar;
/// impl BaseAllocator for Liar {
///     type Addr = *mut u8;
///     unsafe fn init(&mut self, _: *mut u8, _: usize) -> AllocResult { Ok(()) }
///     unsafe fn add_memory(&mut self, _: *mut u8, _: usize) -> AllocResult { Ok(()) }
/// }
/// impl ByteAllocator for Liar {
///     fn alloc(&mut self, _: Layout) -> AllocResult<NonNull<u8>> { Ok(NonNull::dangling()) }
///     unsafe fn dealloc(&mut self, _: NonNull<u8>, _: Layout) {}
///     fn figures(&self) -> Figures { Figures::default() }
/// }
/// ```
pub unsafe trait ByteAllocator: BaseAllocator {
    /// Allocates a block that fits `layout`: at least `layout.size()` bytes,
    /// aligned to `layout.align()`.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] for a zero size;
    /// [`AllocError::NoMemory`] when no free block fits now;
    /// [`AllocError::Unsupported`] for a size or alignment the heap never
    /// serves.
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>>;

    /// Frees a block.
    ///
    /// # Safety
    /// `ptr` must be a live block of this allocator, and `layout` must have
    /// the alignment it was allocated with and a size between the size it
    /// was allocated (or last resized) with and its
    /// [`usable_size`](Self::usable_size). Backends check what they cheaply
    /// can in debug builds; a violation is undefined behaviour.
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// Resizes a block without moving it: the primitive every resize is
    /// built on. On success the block is `new_size` bytes long at the same
    /// address and alignment (free it with a layout of `new_size`); on
    /// error nothing changed and the block is still `layout`'s.
    ///
    /// The default refuses (`Unsupported`): a heap that cannot resize in
    /// place still resizes, by moving.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] for a zero `new_size` or one that makes
    /// no valid layout; [`AllocError::NoMemory`] when the neighbouring
    /// memory is taken; [`AllocError::Unsupported`] when the heap never
    /// resizes this block in place.
    ///
    /// # Safety
    /// As [`dealloc`](Self::dealloc): `ptr` is a live block of this
    /// allocator fitting `layout`.
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let _ = (ptr, layout, new_size);
        Err(AllocError::Unsupported)
    }

    /// The bytes of the block at `ptr` that are really usable: at least
    /// `layout.size()`, more where the heap rounds blocks up. The block may
    /// be written up to it, and freed with any size up to it.
    ///
    /// # Safety
    /// As [`dealloc`](Self::dealloc).
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        let _ = ptr;
        layout.size()
    }

    /// The heap's figures in one snapshot.
    fn figures(&self) -> Figures;

    /// The largest block (with alignment up to the heap's minimum block
    /// alignment) that would succeed now, where the heap can tell cheaply;
    /// `None` where it cannot. Where it answers, an allocation of that size
    /// succeeds.
    fn largest_free(&self) -> Option<usize> {
        None
    }

    /// The heap's [`Health`]: its figures, its largest free block and the
    /// fragmentation they give. The default reads
    /// [`figures`](Self::figures) and [`largest_free`](Self::largest_free);
    /// a heap that can read both at once overrides it (TLSF walks its
    /// heap once); a statistics layer adds the requested bytes.
    fn health(&self) -> Health {
        Health::new(self.figures(), self.largest_free())
    }

    /// Bytes of memory the allocator manages, free or not.
    fn total_bytes(&self) -> usize {
        self.figures().total
    }

    /// Bytes taken out of the free memory by live blocks.
    fn used_bytes(&self) -> usize {
        self.figures().used
    }

    /// Bytes still free (not necessarily in one piece).
    fn available_bytes(&self) -> usize {
        self.figures().available()
    }

    /// Grows a block to `new_layout`: in place when the heap can
    /// ([`resize_in_place`](Self::resize_in_place), same alignment), else by
    /// allocating, copying and freeing. The first `old_layout.size()` bytes
    /// are preserved.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] when `new_layout` is smaller than
    /// `old_layout`; otherwise as [`alloc`](Self::alloc). On error the old
    /// block is untouched and still allocated.
    ///
    /// # Safety
    /// `ptr` must be a live block of this allocator fitting `old_layout`.
    /// On success it is freed (or is the returned pointer) and the block is
    /// now described by `new_layout`.
    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> AllocResult<NonNull<u8>> {
        check_grow(old_layout, new_layout)?;
        // SAFETY: forwarded from the caller.
        unsafe { resize(self, ptr, old_layout, new_layout) }
    }

    /// Shrinks a block to `new_layout`; the first `new_layout.size()` bytes
    /// are preserved. In place when the heap can, else moved.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] when `new_layout` is larger than
    /// `old_layout` or has a zero size; [`AllocError::NoMemory`] when the
    /// block must move and finds no room. On error the old block is
    /// untouched and still allocated.
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
        unsafe { resize(self, ptr, old_layout, new_layout) }
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

/// In place when the alignment is unchanged and the heap agrees, else
/// moved: the body of the provided resizes.
///
/// # Safety
/// `ptr` is live in `a` fitting `old`; `new` is a checked resize of it.
unsafe fn resize<A: ByteAllocator + ?Sized>(
    a: &mut A,
    ptr: NonNull<u8>,
    old: Layout,
    new: Layout,
) -> AllocResult<NonNull<u8>> {
    check_layout(new)?;
    // SAFETY: forwarded from the caller.
    if new.align() == old.align() && unsafe { a.resize_in_place(ptr, old, new.size()) }.is_ok() {
        return Ok(ptr);
    }
    // SAFETY: forwarded from the caller; the in-place attempt changed
    // nothing when it failed.
    unsafe { move_block(a, ptr, old, new) }
}

/// Allocate, copy, free: the resize every backend can do, and what the
/// provided resizes fall back to when the block cannot stay in place.
///
/// # Errors
/// As [`ByteAllocator::alloc`] for `new_layout`; on error the old block is
/// untouched and still allocated.
///
/// # Safety
/// `ptr` must be a live block of `a` fitting `old_layout`; on success it is
/// freed.
pub unsafe fn move_block<A: ByteAllocator + ?Sized>(
    a: &mut A,
    ptr: NonNull<u8>,
    old_layout: Layout,
    new_layout: Layout,
) -> AllocResult<NonNull<u8>> {
    let new = a.alloc(new_layout)?;
    let keep = old_layout.size().min(new_layout.size());
    // SAFETY: both blocks are live and at least `keep` bytes long; they are
    // distinct live blocks of the same allocator, so they do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(ptr.as_ptr(), new.as_ptr(), keep) };
    // SAFETY: the caller guarantees `ptr` is live fitting `old_layout`.
    unsafe { a.dealloc(ptr, old_layout) };
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::{Figures, Health};

    fn permille(total: usize, used: usize, largest: Option<usize>) -> Option<u16> {
        Health::new(Figures::new(total, used), largest).fragmentation_permille()
    }

    /// `1000 × (1 − largest / free)`, rounded down; no overflow at the
    /// largest sizes; 0 when nothing is free or the largest block is all
    /// of it (or, from a layer that counts it apart, more); unknown stays
    /// unknown.
    #[test]
    fn fragmentation_in_thousandths() {
        assert_eq!(permille(4000, 3000, Some(250)), Some(750));
        assert_eq!(permille(3000, 0, Some(1000)), Some(666));
        assert_eq!(permille(1000, 0, Some(1000)), Some(0));
        assert_eq!(permille(1000, 0, Some(999)), Some(1));
        assert_eq!(permille(10_000, 0, Some(9995)), Some(0), "half a thousandth rounds down");
        assert_eq!(permille(1000, 0, Some(1)), Some(999));
        assert_eq!(permille(1000, 0, Some(0)), Some(1000));
        assert_eq!(permille(1000, 1000, Some(0)), Some(0), "nothing free");
        assert_eq!(permille(0, 0, Some(0)), Some(0), "no memory");
        assert_eq!(permille(1000, 0, Some(5000)), Some(0));
        assert_eq!(permille(1000, 0, None), None);
        assert_eq!(permille(usize::MAX, 0, Some(usize::MAX / 3)), Some(666));
        assert_eq!(permille(usize::MAX, 0, Some(usize::MAX - 1)), Some(0));
    }

    #[test]
    fn builders_keep_the_rest() {
        let h = Health::new(Figures::new(100, 40), Some(50));
        assert_eq!(
            (h.free(), h.figures(), h.requested, h.peak_requested),
            (60, Figures::new(100, 40), None, None)
        );
        let s = h.with_requested(30, 70).with_largest_free(Some(10));
        assert_eq!(
            (s.total, s.used, s.largest_free, s.requested, s.peak_requested),
            (100, 40, Some(10), Some(30), Some(70))
        );
        assert_eq!(Health::default().fragmentation_permille(), None);
    }
}
