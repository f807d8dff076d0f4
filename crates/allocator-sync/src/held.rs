//! [`Held`]: a heap while its lock is held.

use core::{alloc::Layout, cell::Cell, fmt, ops::Deref, ptr::NonNull, sync::atomic::AtomicU8};

use allocator_core::{
    AllocResult, BaseAllocator, ByteAllocator, Figures, Health, IdAllocator, Owns, PageAllocator,
};

/// A shared heap while its lock is held: what [`Locked::with`] and
/// [`AllocatorRc::with`] give the closure.
///
/// It implements the heap's own traits ([`ByteAllocator`],
/// [`PageAllocator`], [`IdAllocator`], [`Owns`], [`BaseAllocator`]) and
/// reads through to the heap (`Deref`), so code can allocate, free, read
/// figures and give memory — but it never hands safe code a `&mut` to the
/// heap: with one, safe code could swap two heaps, or replace one, while
/// `Box`es live in it, and the next allocation would land on a live block.
/// [`get_mut`](Self::get_mut) gives it under a contract.
///
/// ```compile_fail,E0596
/// # use allocator::{Locked, TlsfByteAllocator};
/// let a: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
/// let b: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
/// // Safe code cannot swap (or replace) heaps that may have live blocks:
/// a.with(|x| b.with(|y| core::mem::swap(&mut **x, &mut **y)));
/// ```
///
/// [`Locked::with`]: crate::Locked::with
/// [`AllocatorRc::with`]: https://docs.rs/allocator-sync
pub struct Held<'a, A: ?Sized> {
    heap: &'a mut A,
    /// The `Locked` heap's state, poisoned when an operation panics.
    state: Option<&'a AtomicU8>,
    /// Set when the closure took the heap raw ([`get_mut`](Self::get_mut)).
    raw: Option<&'a Cell<bool>>,
}

impl<'a, A: ?Sized> Held<'a, A> {
    /// Wraps exclusive access to a heap that nothing poisons.
    #[cfg(feature = "allocator_api")]
    pub(crate) fn new(heap: &'a mut A) -> Self {
        Self { heap, state: None, raw: None }
    }

    /// Wraps a `Locked` heap: a panic inside one of its operations poisons
    /// `state`; `raw` records raw access.
    pub(crate) fn shared(heap: &'a mut A, state: &'a AtomicU8, raw: &'a Cell<bool>) -> Self {
        Self { heap, state: Some(state), raw: Some(raw) }
    }

    /// A part of the heap (a combinator's inner heap), held by the same
    /// lock, poisoned with it.
    pub(crate) fn project<B: ?Sized>(&mut self, f: impl FnOnce(&mut A) -> &mut B) -> Held<'_, B> {
        Held { heap: f(self.heap), state: self.state, raw: self.raw }
    }

    /// Runs one heap operation; a panic inside it poisons the heap.
    #[inline]
    pub(crate) fn op<R>(&mut self, f: impl FnOnce(&mut A) -> R) -> R {
        let poison = self.state.map(crate::locked::Poison);
        let r = f(self.heap);
        core::mem::forget(poison);
        r
    }

    /// As `op`, for the operations that only read.
    #[inline]
    fn read<R>(&self, f: impl FnOnce(&A) -> R) -> R {
        let poison = self.state.map(crate::locked::Poison);
        let r = f(self.heap);
        core::mem::forget(poison);
        r
    }

    /// The heap itself, mutably: for its own `&mut self` methods (a
    /// combinator's parts, a region's reset).
    ///
    /// # Safety
    /// While any block, page or id of the heap is live, the caller must not
    /// replace, move or swap the heap or any part of it, nor call anything
    /// that frees or reuses memory that live blocks occupy (a reset, a
    /// rewind): blocks handed out through the shared handle are still in
    /// use by code that cannot know.
    pub unsafe fn get_mut(&mut self) -> &mut A {
        if let Some(raw) = self.raw {
            // A panic while the caller holds the heap raw may leave it
            // half-changed: the scope poisons the heap then.
            raw.set(true);
        }
        self.heap
    }
}

impl<A: ?Sized> Deref for Held<'_, A> {
    type Target = A;

    fn deref(&self) -> &A {
        self.heap
    }
}

impl<A: ?Sized> fmt::Debug for Held<'_, A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

impl<A: BaseAllocator + ?Sized> BaseAllocator for Held<'_, A> {
    type Addr = A::Addr;

    unsafe fn init(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.init(start, size) })
    }

    unsafe fn add_memory(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.add_memory(start, size) })
    }
}

// SAFETY: every method forwards to the heap, whose implementation makes
// the promises.
unsafe impl<A: ByteAllocator + ?Sized> ByteAllocator for Held<'_, A> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.op(|h| h.alloc(layout))
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.dealloc(ptr, layout) })
    }

    #[inline]
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.resize_in_place(ptr, layout, new_size) })
    }

    #[inline]
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        self.read(|h| unsafe { h.usable_size(ptr, layout) })
    }

    fn figures(&self) -> Figures {
        self.read(|h| h.figures())
    }

    fn largest_free(&self) -> Option<usize> {
        self.read(|h| h.largest_free())
    }

    fn health(&self) -> Health {
        self.read(|h| h.health())
    }

    #[inline]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.grow(ptr, old, new) })
    }

    #[inline]
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.shrink(ptr, old, new) })
    }

    #[inline]
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.realloc(ptr, layout, new_size) })
    }
}

// SAFETY: forwards to the heap, whose implementation makes the promises.
unsafe impl<A: PageAllocator + ?Sized> PageAllocator for Held<'_, A> {
    const PAGE_SIZE: usize = A::PAGE_SIZE;

    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        self.op(|h| h.alloc_pages(num_pages, align_pow2))
    }

    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        self.op(|h| h.alloc_pages_at(base, num_pages, align_pow2))
    }

    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        self.op(|h| unsafe { h.dealloc_pages(pos, num_pages) })
    }

    fn total_pages(&self) -> usize {
        self.heap.total_pages()
    }

    fn used_pages(&self) -> usize {
        self.heap.used_pages()
    }

    fn available_pages(&self) -> usize {
        self.heap.available_pages()
    }
}

impl<A: IdAllocator + ?Sized> IdAllocator for Held<'_, A> {
    fn alloc_id(&mut self, count: usize, align_pow2: usize) -> AllocResult<usize> {
        self.op(|h| h.alloc_id(count, align_pow2))
    }

    fn alloc_fixed_id(&mut self, id: usize) -> AllocResult {
        self.op(|h| h.alloc_fixed_id(id))
    }

    fn dealloc_id(&mut self, start_id: usize, count: usize) -> AllocResult {
        self.op(|h| h.dealloc_id(start_id, count))
    }

    fn is_allocated(&self, id: usize) -> bool {
        self.heap.is_allocated(id)
    }

    fn size(&self) -> usize {
        self.heap.size()
    }

    fn used(&self) -> usize {
        self.heap.used()
    }

    fn available(&self) -> usize {
        self.heap.available()
    }
}

// SAFETY: forwards to the heap, whose implementation makes the promise.
unsafe impl<A: Owns + ?Sized> Owns for Held<'_, A> {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.heap.owns(ptr, layout)
    }
}
