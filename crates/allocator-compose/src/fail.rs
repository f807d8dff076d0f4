//! [`FailAfter`]: fault injection.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{AllocError, AllocResult};

use crate::Hook;

/// A [`Hook`] that makes chosen allocation requests fail with `NoMemory`,
/// to exercise out-of-memory paths: the `n`-th request (counting from 1),
/// and/or every request over a size. Requests are `alloc`s and resizes
/// (`grow`, `realloc`) to a larger size; frees and shrinks always go
/// through. Nothing else changes: an injected failure never reaches the
/// allocator.
///
/// An in-place grow (`resize_in_place`) beyond the size limit is refused
/// too, so that the caller's next step (moving the block, an `alloc`) is
/// the request that fails; it is neither a request nor an injected failure
/// itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailAfter {
    nth: Option<u64>,
    over: Option<usize>,
    seen: u64,
    injected: u64,
}

impl FailAfter {
    /// Injects nothing (until configured).
    pub const fn never() -> Self {
        Self { nth: None, over: None, seen: 0, injected: 0 }
    }

    /// Fails exactly the `n`-th request (`n` from 1; 0 fails none).
    pub const fn nth(n: u64) -> Self {
        Self { nth: if n == 0 { None } else { Some(n) }, ..Self::never() }
    }

    /// Fails every request for more than `size` bytes.
    pub const fn over(size: usize) -> Self {
        Self { over: Some(size), ..Self::never() }
    }

    /// Also fails every request for more than `size` bytes.
    pub const fn and_over(mut self, size: usize) -> Self {
        self.over = Some(size);
        self
    }

    /// Requests seen so far.
    pub const fn requests(&self) -> u64 {
        self.seen
    }

    /// Failures injected so far.
    pub const fn injected(&self) -> u64 {
        self.injected
    }

    /// Starts counting again, failing the `n`-th request from now.
    pub fn rearm(&mut self, n: u64) {
        *self = Self { nth: if n == 0 { None } else { Some(n) }, over: self.over, ..Self::never() };
    }

    fn request(&mut self, size: usize) -> AllocResult {
        self.seen = self.seen.saturating_add(1);
        if self.nth == Some(self.seen) || self.too_large(size) {
            self.injected = self.injected.saturating_add(1);
            return Err(AllocError::NoMemory);
        }
        Ok(())
    }

    fn too_large(&self, size: usize) -> bool {
        self.over.is_some_and(|o| size > o)
    }
}

impl Hook for FailAfter {
    fn before_alloc(&mut self, layout: Layout) -> AllocResult {
        self.request(layout.size())
    }

    fn before_resize(&mut self, _ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult {
        if new.size() > old.size() {
            self.request(new.size())
        } else {
            Ok(())
        }
    }

    /// Nothing when the next request is the one to fail; never more than
    /// the size limit.
    fn largest_free(&self, inner: Option<usize>) -> Option<usize> {
        if self.nth == Some(self.seen.saturating_add(1)) {
            return Some(0);
        }
        match (inner, self.over) {
            (Some(n), Some(over)) => Some(n.min(over)),
            (n, _) => n,
        }
    }

    fn before_resize_in_place(&mut self, _ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult {
        if new.size() > old.size() && self.too_large(new.size()) {
            Err(AllocError::NoMemory)
        } else {
            Ok(())
        }
    }
}
