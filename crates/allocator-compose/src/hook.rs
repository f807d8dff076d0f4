//! [`Hook`]: what a [`Proxy`](crate::Proxy) calls around each operation.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{AllocResult, Health};

/// What a [`Proxy`](crate::Proxy) calls around each operation. Every method
/// has an empty default, so a hook implements only what it needs. A hook
/// holds no memory: nothing it does can break the allocator.
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

    /// Before an in-place resize (`resize_in_place`) from `old` to `new`
    /// (same alignment); an error refuses it and nothing changes. A refusal
    /// is not a failure to the caller, who usually moves the block instead
    /// (through `alloc`, which the hook sees).
    ///
    /// # Errors
    /// Whatever error the hook injects.
    fn before_resize_in_place(&mut self, _ptr: NonNull<u8>, _old: Layout, _new: Layout) -> AllocResult {
        Ok(())
    }

    /// After an in-place resize, with its result (on error nothing
    /// changed).
    fn after_resize_in_place(
        &mut self,
        _ptr: NonNull<u8>,
        _old: Layout,
        _new: Layout,
        _result: &AllocResult,
    ) {
    }

    /// What the proxy reports as its largest free block, given the
    /// allocator's answer: a hook that refuses requests must narrow it (an
    /// allocation of the reported size must succeed). The default passes
    /// it on.
    fn largest_free(&self, inner: Option<usize>) -> Option<usize> {
        inner
    }

    /// What the proxy reports as its [`Health`], given the allocator's
    /// (its largest free block already narrowed by
    /// [`largest_free`](Self::largest_free)): a statistics hook adds the
    /// bytes requested ([`Stats`](crate::Stats) does). The default passes
    /// it on.
    fn health(&self, inner: Health) -> Health {
        inner
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

    fn before_resize_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult {
        self.0.before_resize_in_place(ptr, old, new)?;
        self.1.before_resize_in_place(ptr, old, new)
    }

    fn after_resize_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout, result: &AllocResult) {
        self.0.after_resize_in_place(ptr, old, new, result);
        self.1.after_resize_in_place(ptr, old, new, result);
    }

    fn largest_free(&self, inner: Option<usize>) -> Option<usize> {
        self.1.largest_free(self.0.largest_free(inner))
    }

    fn health(&self, inner: Health) -> Health {
        self.1.health(self.0.health(inner))
    }
}
