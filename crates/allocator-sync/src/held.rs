//! [`Held`]: a heap while its lock is held.

use core::{alloc::Layout, fmt, ops::Deref, ptr::NonNull};

use allocator_core::{AllocResult, BaseAllocator, ByteAllocator, Figures, IdAllocator, Owns, PageAllocator};

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
/// ```compile_fail
/// # use allocator_sync::Locked;
/// # use allocator_testkit::FirstFit;
/// let a: Locked<FirstFit> = Locked::new(FirstFit::new());
/// let b: Locked<FirstFit> = Locked::new(FirstFit::new());
/// // Safe code cannot swap (or replace) heaps that may have live blocks:
/// a.with(|x| b.with(|y| core::mem::swap(&mut **x, &mut **y)));
/// ```
///
/// [`Locked::with`]: crate::Locked::with
/// [`AllocatorRc::with`]: https://docs.rs/allocator-sync
pub struct Held<'a, A: ?Sized> {
    heap: &'a mut A,
}

impl<'a, A: ?Sized> Held<'a, A> {
    /// Wraps exclusive access to a heap.
    pub(crate) fn new(heap: &'a mut A) -> Self {
        Self { heap }
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
        unsafe { self.heap.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.add_memory(start, size) }
    }
}

// SAFETY: every method forwards to the heap, whose implementation makes
// the promises.
unsafe impl<A: ByteAllocator + ?Sized> ByteAllocator for Held<'_, A> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.heap.alloc(layout)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.resize_in_place(ptr, layout, new_size) }
    }

    #[inline]
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.usable_size(ptr, layout) }
    }

    fn figures(&self) -> Figures {
        self.heap.figures()
    }

    fn largest_free(&self) -> Option<usize> {
        self.heap.largest_free()
    }

    #[inline]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.grow(ptr, old, new) }
    }

    #[inline]
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.shrink(ptr, old, new) }
    }

    #[inline]
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.realloc(ptr, layout, new_size) }
    }
}

// SAFETY: forwards to the heap, whose implementation makes the promises.
unsafe impl<A: PageAllocator + ?Sized> PageAllocator for Held<'_, A> {
    const PAGE_SIZE: usize = A::PAGE_SIZE;

    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        self.heap.alloc_pages(num_pages, align_pow2)
    }

    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        self.heap.alloc_pages_at(base, num_pages, align_pow2)
    }

    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.dealloc_pages(pos, num_pages) }
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
        self.heap.alloc_id(count, align_pow2)
    }

    fn alloc_fixed_id(&mut self, id: usize) -> AllocResult {
        self.heap.alloc_fixed_id(id)
    }

    fn dealloc_id(&mut self, start_id: usize, count: usize) -> AllocResult {
        self.heap.dealloc_id(start_id, count)
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
