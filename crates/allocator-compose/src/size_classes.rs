//! [`SizeClasses`]: small blocks from per-class slabs carved out of any
//! byte heap.

mod slab;

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::{check_grow, check_layout, check_shrink, class_of, class_size, move_block, CLASSES},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};

use slab::{Geometry, Partial, Slab};

/// The slabs of one class: those with a free block, among them at most one
/// empty slab kept for the next requests.
#[derive(Clone, Copy, Debug)]
struct Class {
    partial: Partial,
    /// The kept empty slab: on `partial`, so that the next request takes a
    /// block from it as from any other slab.
    cached: Option<NonNull<Slab>>,
}

impl Class {
    const EMPTY: Class = Class { partial: Partial::new(), cached: None };
}

/// Size classes over a backing heap `B`: the slab layer of a complete
/// allocator.
///
/// A request whose size class (the workspace's 28 classes, 16 B to 4 KiB:
/// [`class_of`]) is one of the small classes this layer keeps slabs for is
/// served with a whole block of its class from a slab; every other
/// request goes to `B` as it is.
///
/// **Slabs.** A class whose blocks fit at least 8 to a slab of at most
/// `SLAB` bytes (a power of two from 1 KiB to 1 MiB; 2 KiB by default) is
/// served from slabs. A slab is a block of `B` whose size and alignment
/// are the smallest power of two, from 1 KiB up, that holds 8 blocks of
/// the class; it is asked of `B` four words short (32 bytes on 64-bit
/// targets), so that a heap with a header before each block (TLSF) places
/// slabs back to back. Blocks sit back to back from the slab's start; a
/// header (32 bytes on 64-bit targets: a free list, two list links, two
/// counts) follows the last one, where a free finds it by masking the
/// block's address. Free blocks hold the free list's links; fresh blocks
/// are carved one at a time, so a new slab costs no more than its header.
/// A slab loses at most 1/8 of itself to the header, the short end and
/// the rounding to whole blocks. Classes up to 112 B take 1 KiB slabs,
/// up to 224 B 2 KiB slabs, up to 448 B 4 KiB slabs, and so on up to
/// `SLAB` ([`slab_size`](Self::slab_size) tells); requests of the larger
/// classes go to `B` as they are (rounding them to their class would only
/// waste `B`'s memory), after one comparison of their size. Which way a
/// block went follows from its layout alone, so a free needs no lookup.
///
/// **Choosing `SLAB`.** Slabs are aligned to their size, and a heap that
/// cannot place aligned blocks densely holds few large ones: a 16 KiB TLSF
/// heap holds fourteen 1 KiB slabs, six of 2 KiB, but only two of 4 KiB.
/// Filling a heap with blocks of one size, as a share of the heap:
///
/// | heap | `SLAB` | 16 B | 64 B | 128 B | 256 B | 448 B | 512 B |
/// | --- | --- | --- | --- | --- | --- | --- | --- |
/// | 16 KiB TLSF | (TLSF alone) | 50 % | 66 % | 80 % | 88 % | 93 % | 94 % |
/// | 16 KiB TLSF | 2 KiB (default) | 82 % | 82 % | 70 % | 88 % | 93 % | 94 % |
/// | 16 KiB TLSF | 4 KiB | 82 % | 82 % | 70 % | 47 % | 49 % | 94 % |
/// | 48 KiB TLSF | 2 KiB (default) | 90 % | 90 % | 86 % | 89 % | 93 % | 94 % |
/// | 48 KiB TLSF | 4 KiB | 90 % | 90 % | 86 % | 78 % | 82 % | 94 % |
///
/// The default suits a heap from a few KiB up; a kernel or hosted heap of
/// many MiB may take 4 KiB or more, to serve more classes from slabs.
/// Above 4 KiB, every slab class takes the largest slab's size (32 KiB
/// slabs for every class with `SLAB` = 32 KiB): slabs of one size, each
/// aligned to it, tile the heap, where mixed sizes leave padding between
/// them. Random blocks of 16 to 512 B fill a 64 MiB TLSF heap to 91 % with
/// `SLAB` = 32 KiB (TLSF alone: 89 %; mixed slab sizes of up to 8 KiB:
/// 72 %).
///
/// **Empty slabs.** A slab whose last block is freed goes back to `B`,
/// except that each class keeps one empty slab for its next request, so
/// that a block allocated and freed over and over at a slab's edge does
/// not take and give back a slab each time. Kept slabs go back to `B`
/// when `B` refuses a request (which is then asked again), on
/// [`trim`](Self::trim), and when the last live slab block is freed: a
/// layer with no live slab block holds no slab, and `B`'s figures are back
/// where they started. (So a single block allocated and freed in an
/// otherwise empty layer takes a slab from `B` and gives it back each
/// time; a cache of blocks in front of the layer avoids that.)
///
/// **Costs.** Allocating and freeing a slab block is O(1): the class of
/// the layout, a free-list pop or push, and a list link when a slab fills
/// or gets its first free block; taking a slab from `B` or giving one back
/// adds one call of `B`, and giving back the kept slabs O(classes) calls.
/// No per-block overhead: a block takes its class size. Requests for `B`
/// cost what `B` costs, and a comparison. The minimum region is `B`'s,
/// though a slab class is served only once `B` can place a slab (1 or
/// 2 KiB by default, aligned to its size).
///
/// **Sizes.** [`usable_size`](ByteAllocator::usable_size) of a slab block
/// is its class size; `dealloc` takes any size from the one asked for to
/// it (they all map to the class). A slab block resizes in place within
/// its class; a resize to another class, or between a slab and `B`, moves
/// the block. Blocks of `B` have `B`'s usable size and resize as `B`
/// resizes them.
///
/// **Figures.** `total` is `B`'s; `used` is `B`'s less the room in the
/// slabs it holds that no live block takes (each slab's size less its live
/// blocks). So `used` is what live blocks take: a slab block its class
/// size, a block from `B` what `B` counts for it, and whatever `B` spends
/// on a slab beyond its size. A buddy heap spends exactly the size, so
/// over it `used` does not depend on how blocks lie in slabs nor on
/// whether an empty slab is kept. So does TLSF on a slab taken from fresh
/// memory; one placed in a gap of a fragmented TLSF heap can take up to
/// its size again (rlsf keeps an aligned block's padding inside the
/// block), which counts as used while the slab is held. A slab's header
/// and short end, at most 1/8 of it, count as available, as its free
/// blocks do.
/// `largest_free` is `B`'s when it is above the largest slab block (224 B
/// by default); otherwise the largest slab class with a free block at
/// hand.
///
/// Memory given to the layer goes to `B`. It implements [`Owns`] when `B`
/// does.
///
/// ```
/// use core::{alloc::Layout, mem::MaybeUninit};
/// use allocator::compose::SizeClasses;
/// use allocator::{BaseAllocator, ByteAllocator, TlsfByteAllocator};
///
/// # let memory: &'static mut [MaybeUninit<u8>] = Box::leak(vec![MaybeUninit::uninit(); 16 * 1024].into_boxed_slice());
/// let mut heap: SizeClasses<TlsfByteAllocator> = SizeClasses::new(TlsfByteAllocator::new());
/// heap.add_static(memory).unwrap(); // 16 KiB, say a microcontroller's heap
///
/// let small = Layout::new::<[u64; 3]>(); // 24 bytes: a 32-byte block from a 1 KiB slab
/// let block = heap.alloc(small).unwrap();
/// // SAFETY: `block` is live for `small`.
/// assert_eq!(unsafe { heap.usable_size(block, small) }, 32);
/// // SAFETY: `block` is live for `small`.
/// unsafe { heap.dealloc(block, small) };
/// assert_eq!(heap.used_bytes(), 0); // the slab went back to TLSF
/// ```
#[derive(Debug)]
pub struct SizeClasses<B, const SLAB: usize = 2048> {
    backing: B,
    classes: [Class; CLASSES],
    /// Live blocks served from slabs: when it falls to zero, every kept
    /// empty slab goes back to `B`.
    live: usize,
    /// The bytes of the slabs held that no live block takes: each slab's
    /// size less its live blocks (see the figures above).
    slack: usize,
}

// SAFETY: the slab pointers point into memory `B` handed out, which moves
// with `B`; nothing is tied to a thread.
unsafe impl<B: Send, const SLAB: usize> Send for SizeClasses<B, SLAB> {}

impl<B, const SLAB: usize> SizeClasses<B, SLAB> {
    /// Where each class's blocks come from.
    /// (A reference, so that indexing it at run time reads one static
    /// table.)
    const GEOMETRY: &'static [Geometry; CLASSES] = &Geometry::table(SLAB);

    /// How many classes, the smallest ones, are served from slabs.
    const SLAB_CLASSES: usize = Geometry::slab_classes(Self::GEOMETRY);

    /// The largest block served from a slab: larger requests go to `B`
    /// without a look at the class table.
    const LARGEST_SLAB_BLOCK: usize = class_size(Self::SLAB_CLASSES - 1);

    /// Size classes over `backing`; `const`, so that it can sit in a
    /// `static` (all zeros when `backing` is, as every heap of this
    /// workspace is when empty).
    ///
    /// `SLAB` must be a power of two from 1024 to 1 MiB (checked at
    /// compile time).
    #[must_use]
    pub const fn new(backing: B) -> Self {
        let _ = Self::GEOMETRY;
        Self { backing, classes: [Class::EMPTY; CLASSES], live: 0, slack: 0 }
    }

    /// The size of the slabs that serve `layout`, or `None` when `B` serves
    /// it (its class does not fit 8 blocks to a slab of `SLAB` bytes, or it
    /// has no class).
    #[must_use]
    pub const fn slab_size(layout: Layout) -> Option<usize> {
        match Self::slab_class(layout) {
            Some(c) => Some(Self::GEOMETRY[c].slab),
            None => None,
        }
    }

    /// The class of a layout served from slabs; `None` for one served by
    /// `B`. Every size a block may be freed with gets the same answer: a
    /// slab block's sizes all lie within its class, and a larger size with
    /// the same alignment never maps to a smaller class (so a block of `B`
    /// freed with more than it asked for still maps to `B`).
    #[inline]
    const fn slab_class(layout: Layout) -> Option<usize> {
        if layout.size() > Self::LARGEST_SLAB_BLOCK {
            return None;
        }
        match class_of(layout) {
            Some(c) if c < Self::SLAB_CLASSES => Some(c),
            _ => None,
        }
    }

    /// The backing heap.
    pub fn backing(&self) -> &B {
        &self.backing
    }

    /// The backing heap, mutably (to give it memory, say).
    ///
    /// # Safety
    /// While any block of this layer is live, or it holds a slab, the
    /// caller must not replace, move out or swap the heap, nor make it
    /// free or reuse memory that slabs and live blocks occupy (a reset):
    /// they are still in use.
    pub unsafe fn backing_mut(&mut self) -> &mut B {
        &mut self.backing
    }
}

impl<B: ByteAllocator, const SLAB: usize> SizeClasses<B, SLAB> {
    /// Gives every kept empty slab back to `B`. O(classes).
    pub fn trim(&mut self) {
        self.release_cached();
    }

    /// Gives the kept empty slabs back to `B`; `true` when there were any.
    fn release_cached(&mut self) -> bool {
        let mut any = false;
        for (class, geometry) in Self::GEOMETRY.iter().enumerate() {
            let c = &mut self.classes[class];
            if let Some(slab) = c.cached.take() {
                // SAFETY: a kept slab is on its class's list.
                unsafe { c.partial.remove(slab) };
                self.slack = self.slack.saturating_sub(geometry.slab);
                // SAFETY: the header of a kept slab, a live one.
                let start = unsafe { geometry.start_of(slab) };
                // SAFETY: a kept slab is a live block of `B` for the
                // class's slab layout, holding no live block.
                unsafe { self.backing.dealloc(start, geometry.layout()) };
                any = true;
            }
        }
        any
    }

    /// `B`'s allocation; when `B` has no room, kept slabs go back and it is
    /// asked again.
    #[inline]
    fn backing_alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        match self.backing.alloc(layout) {
            Err(AllocError::NoMemory) if self.release_cached() => self.backing.alloc(layout),
            r => r,
        }
    }

    /// A block of slab class `class`: from a slab with a free block (the
    /// kept empty one among them), else from a new slab.
    #[inline]
    fn slab_alloc(&mut self, class: usize) -> AllocResult<NonNull<u8>> {
        let g = &Self::GEOMETRY[class];
        let size = class_size(class);
        let slab = match self.classes[class].partial.head() {
            Some(slab) => slab,
            None => self.fresh_slab(class)?,
        };
        // SAFETY: a slab on the class's list is live and has a free block.
        let (block, full) = unsafe { Slab::take(slab, g, size) };
        if self.classes[class].cached == Some(slab) {
            // No longer empty.
            self.classes[class].cached = None;
        }
        if full {
            // SAFETY: it is on the list (its head).
            unsafe { self.classes[class].partial.remove(slab) };
        }
        self.slack = self.slack.saturating_sub(size);
        self.live += 1;
        Ok(block)
    }

    /// Puts a new slab from `B` on the class's list (which is empty, so
    /// no slab is kept for the class).
    #[cold]
    fn fresh_slab(&mut self, class: usize) -> AllocResult<NonNull<Slab>> {
        let g = &Self::GEOMETRY[class];
        let start = self.backing_alloc(g.layout())?;
        self.slack = self.slack.saturating_add(g.slab);
        // SAFETY: a fresh block of `B` for the slab layout.
        let slab = unsafe { Slab::start(start, g) };
        // SAFETY: a live slab in no list.
        unsafe { self.classes[class].partial.push(slab) };
        Ok(slab)
    }

    /// Frees a block of slab class `class`.
    ///
    /// # Safety
    /// `block` is a live block of this layer of that class.
    #[inline]
    unsafe fn slab_dealloc(&mut self, class: usize, block: NonNull<u8>) {
        let g = &Self::GEOMETRY[class];
        let size = class_size(class);
        let slab = g.header_of(block);
        // SAFETY: the block is live in the slab whose header masking finds.
        let before = unsafe { Slab::give(slab, block) };
        self.slack = self.slack.saturating_add(size);
        self.live = self.live.wrapping_sub(1);
        if before == g.blocks {
            // It was full, so on no list; now it has a free block.
            // SAFETY: a live slab in no list.
            unsafe { self.classes[class].partial.push(slab) };
        } else if before == 1 {
            // SAFETY: a slab with a free block is on the list.
            unsafe { self.empty_slab(class, slab) };
        }
    }

    /// A slab of `class` whose last block was just freed: kept where it is
    /// on the list, or given back to `B`.
    ///
    /// # Safety
    /// `slab` is a live slab of the class on its list, holding no block.
    #[cold]
    unsafe fn empty_slab(&mut self, class: usize, slab: NonNull<Slab>) {
        let g = &Self::GEOMETRY[class];
        if self.live > 0 && self.classes[class].cached.is_none() {
            self.classes[class].cached = Some(slab);
        } else {
            // SAFETY: on the list (caller).
            unsafe { self.classes[class].partial.remove(slab) };
            self.slack = self.slack.saturating_sub(g.slab);
            // SAFETY: the header of a live slab (caller).
            let start = unsafe { g.start_of(slab) };
            // SAFETY: the slab is a live block of `B` for the slab layout,
            // and nothing in it is live.
            unsafe { self.backing.dealloc(start, g.layout()) };
            if self.live == 0 {
                self.release_cached();
            }
        }
    }

    /// A resize that is not between two layouts `B` serves: in place
    /// within a slab class, else moved.
    ///
    /// # Safety
    /// `ptr` is live fitting `old`; `new` is a checked resize of it.
    unsafe fn resize(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(new)?;
        // SAFETY: forwarded from the caller.
        if new.align() == old.align() && unsafe { self.resize_in_place(ptr, old, new.size()) }.is_ok() {
            return Ok(ptr);
        }
        // SAFETY: forwarded; the in-place attempt changed nothing.
        unsafe { move_block(self, ptr, old, new) }
    }
}

impl<B: Default, const SLAB: usize> Default for SizeClasses<B, SLAB> {
    fn default() -> Self {
        Self::new(B::default())
    }
}

impl<B: BaseAllocator, const SLAB: usize> BaseAllocator for SizeClasses<B, SLAB> {
    type Addr = B::Addr;

    unsafe fn init(&mut self, start: B::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.backing.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: B::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.backing.add_memory(start, size) }
    }
}

// SAFETY: a block not served from slabs is `B`'s, and every operation on
// it goes to `B` with the caller's layout (every size it may be freed
// with is one `B` accepts, and maps to no slab class: see `slab_class`).
// A slab block is a whole class-size block inside a live slab, a block of
// `B`: aligned (the slab is aligned to its size, a multiple of the class's
// alignment, and blocks are class-size multiples from its start), before
// the header, handed out once until freed, found again by masking; the
// layer writes only into free blocks and headers. `resize_in_place` keeps
// a slab block within its class, and a block of `B` out of every slab
// class.
unsafe impl<B: ByteAllocator, const SLAB: usize> ByteAllocator for SizeClasses<B, SLAB> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        match Self::slab_class(layout) {
            Some(c) => self.slab_alloc(c),
            None => self.backing_alloc(layout),
        }
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the block is live fitting `layout` (caller), which maps
        // to the slab class (or to `B`) it was allocated from.
        unsafe {
            match Self::slab_class(layout) {
                Some(c) => self.slab_dealloc(c, ptr),
                None => self.backing.dealloc(ptr, layout),
            }
        }
    }

    /// In place within a slab block's class; `B`'s for a block of `B` whose
    /// new size `B` also serves; `Unsupported` between the two (the block
    /// moves).
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        match (Self::slab_class(layout), Self::slab_class(new)) {
            // SAFETY: forwarded from the caller: a block of `B`.
            (None, None) => unsafe { self.backing.resize_in_place(ptr, layout, new_size) },
            (Some(a), Some(b)) if a == b => Ok(()),
            _ => Err(AllocError::Unsupported),
        }
    }

    /// A slab block's class size; `B`'s for a block of `B`.
    #[inline]
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        match Self::slab_class(layout) {
            Some(c) => class_size(c),
            // SAFETY: forwarded from the caller: a block of `B`.
            None => unsafe { self.backing.usable_size(ptr, layout) },
        }
    }

    /// `B`'s between two layouts `B` serves (so `B`'s own growth in
    /// place); otherwise in place within the class, else moved.
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        if Self::slab_class(old).is_none() && Self::slab_class(new).is_none() {
            // SAFETY: forwarded from the caller: a block of `B`.
            return unsafe { self.backing.grow(ptr, old, new) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }

    /// As [`grow`](Self::grow).
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        if Self::slab_class(old).is_none() && Self::slab_class(new).is_none() {
            // SAFETY: forwarded from the caller: a block of `B`.
            return unsafe { self.backing.shrink(ptr, old, new) };
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }

    /// `B`'s total; `B`'s used less the free bytes inside the slabs held.
    fn figures(&self) -> Figures {
        let b = self.backing.figures();
        Figures::new(b.total, b.used.saturating_sub(self.slack))
    }

    /// `B`'s answer when it is above the largest slab block (such a
    /// request goes to `B`); else the largest slab class with a free block
    /// at hand (0 when none has). O(classes).
    fn largest_free(&self) -> Option<usize> {
        let b = self.backing.largest_free()?;
        if b > Self::LARGEST_SLAB_BLOCK {
            return Some(b);
        }
        let sure = (0..Self::SLAB_CLASSES).rev().find(|&c| self.classes[c].partial.head().is_some());
        Some(sure.map_or(0, class_size))
    }
}

// SAFETY: a live block of `B` is asked about with a layout it may be freed
// with, which `B` owns; a slab block lies inside its slab's blocks, a live
// block of `B` for the slab layout, which `B` owns. Outside `B`'s memory
// `B` answers false for each (a slab's start lies at or below the pointer,
// within the slab).
unsafe impl<B: ByteAllocator + Owns, const SLAB: usize> Owns for SizeClasses<B, SLAB> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        let Some(c) = Self::slab_class(layout) else {
            return self.backing.owns(ptr, layout);
        };
        let g = &Self::GEOMETRY[c];
        let addr = ptr.addr().get();
        let base = g.base(addr);
        let in_blocks = addr - base < g.blocks as usize * class_size(c);
        match NonNull::new(ptr.as_ptr().with_addr(base)) {
            Some(start) => in_blocks && self.backing.owns(start, g.layout()),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests;
