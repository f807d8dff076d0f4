//! [`Proxy`]: an allocator with a [`Hook`] called around each operation.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::{check_grow, check_layout, check_shrink},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Health, Owns,
};

use crate::Hook;

/// `A` with `H` called around each operation: statistics ([`Stats`](crate::Stats)),
/// logging (`Log`, feature `log`), fault injection
/// ([`FailAfter`](crate::FailAfter)), or a hook of your own.
///
/// Everything else passes through: memory, figures, usable sizes,
/// [`Owns`], the largest free block (narrowed by a hook that refuses
/// requests), and the [`Health`] (to which [`Stats`](crate::Stats) adds
/// the requested bytes and their peak). Malformed requests (a zero size, a grow
/// to less, a shrink to more) are refused with `InvalidParam` before any
/// hook sees them. A failure a hook injects is reported to the `after_*`
/// methods too, so `(FailAfter, Stats)` counts it (a pair's `before_*`
/// stops at the first error, so put the injecting hook first).
///
/// `grow`, `shrink` and `realloc` are one resize each to the hook,
/// whether `A` does them in place or by moving; `resize_in_place` (what a
/// lock or a combinator above calls first) is reported through the hook's
/// `*_resize_in_place` methods, so a refused attempt followed by a move is
/// not counted twice.
#[derive(Debug, Default)]
pub struct Proxy<A, H> {
    inner: A,
    hook: H,
}

impl<A, H> Proxy<A, H> {
    /// Wraps `inner` with `hook`.
    pub const fn new(inner: A, hook: H) -> Self {
        Self { inner, hook }
    }

    /// The allocator.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// The allocator, mutably.
    ///
    /// # Safety
    /// While any block of this `Proxy` is live, the caller must not
    /// replace, move out or swap the allocator, nor make it free or reuse
    /// memory that live blocks occupy (a reset, a rewind): the blocks are
    /// still in use.
    pub unsafe fn inner_mut(&mut self) -> &mut A {
        &mut self.inner
    }

    /// The hook (to read its figures, say).
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// The hook, mutably (to reset it, say). Safe: a hook holds no memory.
    pub fn hook_mut(&mut self) -> &mut H {
        &mut self.hook
    }

    /// The allocator and the hook.
    pub fn into_parts(self) -> (A, H) {
        (self.inner, self.hook)
    }
}

impl<A: BaseAllocator, H> BaseAllocator for Proxy<A, H> {
    type Addr = A::Addr;

    unsafe fn init(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.add_memory(start, size) }
    }
}

impl<A: ByteAllocator, H: Hook> Proxy<A, H> {
    /// Runs one resize between the hooks.
    fn around_resize(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        op: impl FnOnce(&mut A) -> AllocResult<NonNull<u8>>,
    ) -> AllocResult<NonNull<u8>> {
        let result = self.hook.before_resize(ptr, old, new).and_then(|()| op(&mut self.inner));
        self.hook.after_resize(ptr, old, new, &result);
        result
    }
}

// SAFETY: every block operation is `A`'s (a hook can only refuse one, which
// then changes nothing), so `A`'s promises are the proxy's. `grow`,
// `shrink` and `realloc` are overridden only to call the hooks once around
// `A`'s own.
unsafe impl<A: ByteAllocator, H: Hook> ByteAllocator for Proxy<A, H> {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        let result = check_layout(layout)
            .and_then(|()| self.hook.before_alloc(layout))
            .and_then(|()| self.inner.alloc(layout));
        self.hook.after_alloc(layout, &result);
        result
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        self.hook.before_dealloc(ptr, layout);
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        let result = self.hook.before_resize_in_place(ptr, layout, new).and_then(|()| {
            // SAFETY: forwarded from the caller.
            unsafe { self.inner.resize_in_place(ptr, layout, new_size) }
        });
        self.hook.after_resize_in_place(ptr, layout, new, &result);
        result
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.usable_size(ptr, layout) }
    }

    fn figures(&self) -> Figures {
        self.inner.figures()
    }

    /// The allocator's, as the hook narrows it ([`Hook::largest_free`]).
    fn largest_free(&self) -> Option<usize> {
        self.hook.largest_free(self.inner.largest_free())
    }

    /// The allocator's, its largest free block narrowed as
    /// [`largest_free`](Self::largest_free) is, then given to
    /// [`Hook::health`] ([`Stats`](crate::Stats) adds the requested bytes,
    /// now and at the peak).
    fn health(&self) -> Health {
        let inner = self.inner.health();
        self.hook.health(inner.with_largest_free(self.hook.largest_free(inner.largest_free)))
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: forwarded from the caller.
        self.around_resize(ptr, old, new, |a| unsafe { a.grow(ptr, old, new) })
    }

    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: forwarded from the caller.
        self.around_resize(ptr, old, new, |a| unsafe { a.shrink(ptr, old, new) })
    }

    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> AllocResult<NonNull<u8>> {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        // SAFETY: forwarded from the caller.
        self.around_resize(ptr, layout, new, |a| unsafe { a.realloc(ptr, layout, new_size) })
    }
}

// SAFETY: forwards to `A`, whose answer it is.
unsafe impl<A: Owns, H> Owns for Proxy<A, H> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.inner.owns(ptr, layout)
    }
}
