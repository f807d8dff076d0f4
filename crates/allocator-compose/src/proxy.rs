//! [`Proxy`]: an allocator with a [`Hook`] called around each operation.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    check_grow, check_layout, check_shrink, AllocError, AllocResult, BaseAllocator, ByteAllocator, Owns,
};

/// What a [`Proxy`] calls around each operation. Every method has an empty
/// default, so a hook implements only what it needs.
///
/// `before_*` methods may refuse an operation (fault injection): the
/// allocator is then not called and the error is returned as the
/// operation's result.
pub trait Hook {
    /// Before `alloc`; an error here is returned without allocating.
    ///
    /// # Errors
    /// Whatever error the hook injects.
    fn before_alloc(&mut self, _layout: Layout) -> AllocResult {
        Ok(())
    }

    /// After `alloc`, with its result.
    fn after_alloc(&mut self, _layout: Layout, _result: &AllocResult<NonNull<u8>>) {}

    /// Before `dealloc` of a live block.
    fn before_dealloc(&mut self, _ptr: NonNull<u8>, _layout: Layout) {}

    /// Before a resize (`grow`, `shrink`, `realloc`) from `old` to `new`;
    /// an error here is returned without resizing.
    ///
    /// # Errors
    /// Whatever error the hook injects.
    fn before_resize(&mut self, _ptr: NonNull<u8>, _old: Layout, _new: Layout) -> AllocResult {
        Ok(())
    }

    /// After a resize, with its result (on error the old block is still
    /// live).
    fn after_resize(
        &mut self,
        _ptr: NonNull<u8>,
        _old: Layout,
        _new: Layout,
        _result: &AllocResult<NonNull<u8>>,
    ) {
    }
}

/// Two hooks in turn: `(Stats, FailAfter)` counts the failures it injects.
impl<A: Hook, B: Hook> Hook for (A, B) {
    fn before_alloc(&mut self, layout: Layout) -> AllocResult {
        self.0.before_alloc(layout)?;
        self.1.before_alloc(layout)
    }

    fn after_alloc(&mut self, layout: Layout, result: &AllocResult<NonNull<u8>>) {
        self.0.after_alloc(layout, result);
        self.1.after_alloc(layout, result);
    }

    fn before_dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        self.0.before_dealloc(ptr, layout);
        self.1.before_dealloc(ptr, layout);
    }

    fn before_resize(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult {
        self.0.before_resize(ptr, old, new)?;
        self.1.before_resize(ptr, old, new)
    }

    fn after_resize(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        result: &AllocResult<NonNull<u8>>,
    ) {
        self.0.after_resize(ptr, old, new, result);
        self.1.after_resize(ptr, old, new, result);
    }
}

/// `A` with `H` called around each operation: statistics ([`Stats`](crate::Stats)),
/// logging (`Log`, feature `log`), fault injection
/// ([`FailAfter`](crate::FailAfter)), or a hook of your own.
///
/// Everything else passes through: memory, figures, in-place resizing,
/// [`Owns`]. Malformed requests (a zero size, a grow to less, a shrink to
/// more) are refused with `InvalidParam` before any hook sees them. A failure a hook injects is reported to the `after_*` methods
/// too, so `(FailAfter, Stats)` counts it (a pair's `before_*` stops at
/// the first error, so put the injecting hook first).
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
    pub fn inner_mut(&mut self) -> &mut A {
        &mut self.inner
    }

    /// The hook (to read its figures, say).
    pub fn hook(&self) -> &H {
        &self.hook
    }

    /// The hook, mutably (to reset it, say).
    pub fn hook_mut(&mut self) -> &mut H {
        &mut self.hook
    }
}

impl<A: BaseAllocator, H> BaseAllocator for Proxy<A, H> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
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

impl<A: ByteAllocator, H: Hook> ByteAllocator for Proxy<A, H> {
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

    fn total_bytes(&self) -> usize {
        self.inner.total_bytes()
    }

    fn used_bytes(&self) -> usize {
        self.inner.used_bytes()
    }

    fn available_bytes(&self) -> usize {
        self.inner.available_bytes()
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

impl<A: Owns, H> Owns for Proxy<A, H> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.inner.owns(ptr, layout)
    }
}
