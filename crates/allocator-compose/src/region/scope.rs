//! [`Scope`]: the allocator of a [`Region::scope`].

use core::{alloc::Layout, cell::RefCell, fmt, ptr::NonNull};

use allocator_core::{AllocError, AllocResult};

use super::Region;

impl Region {
    /// Runs `f` with a [`Scope`]: an allocator whose blocks are all released
    /// when `f` returns, or when a panic unwinds out of it. `f` cannot
    /// return or keep anything that borrows the scope, so no block outlives
    /// it. Scopes nest ([`Scope::scope`]); while an inner scope runs, the
    /// outer ones refuse to allocate (with `NoMemory`).
    pub fn scope<R>(&mut self, f: impl FnOnce(&Scope<'_, '_>) -> R) -> R {
        let cell = RefCell::new(self);
        let scope = Scope { region: &cell, level: 0 };
        scope.enter(f)
    }
}

/// The allocator of a [`Region::scope`]: every block it hands out is
/// released when the scope ends. Share it by reference (`&Scope` is an
/// `allocator_api2::alloc::Allocator` with the `allocator-api2` feature).
pub struct Scope<'c, 'r> {
    region: &'c RefCell<&'r mut Region>,
    level: usize,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").field("level", &self.level).finish_non_exhaustive()
    }
}

/// Closes a scope when dropped — when `f` returns, and also when a panic
/// unwinds out of it: the region goes back to where it stood when the
/// scope opened. Sound on unwind too: nothing `f` made can outlive it
/// (a panic's payload is `'static`, so it cannot borrow the scope).
struct Close<'c, 'r> {
    region: &'c RefCell<&'r mut Region>,
    saved: (usize, usize, usize),
}

impl Drop for Close<'_, '_> {
    fn drop(&mut self) {
        // Every borrow taken inside the scope has ended by now (they are
        // all local to `Scope`'s methods); `try_` keeps a drop from ever
        // panicking during an unwind regardless.
        if let Ok(mut r) = self.region.try_borrow_mut() {
            (r.top, r.floor, r.root) = self.saved;
            r.depth = r.depth.saturating_sub(1);
            if r.depth == 0 && r.live == 0 {
                r.top = r.start;
            }
        }
    }
}

impl Scope<'_, '_> {
    /// Opens this scope (one level below the current), runs `f`, and
    /// releases what it allocated, on return or unwind.
    fn enter<R>(&self, f: impl FnOnce(&Scope<'_, '_>) -> R) -> R {
        let saved = {
            let mut r = self.region.borrow_mut();
            let saved = (r.top, r.floor, r.root);
            if r.depth == 0 {
                r.root = r.top;
            }
            r.floor = r.top;
            r.depth += 1;
            saved
        };
        let _close = Close { region: self.region, saved };
        let inner = Scope { region: self.region, level: self.level + 1 };
        f(&inner)
    }

    /// Opens a nested scope: the blocks it hands out are released when `f`
    /// returns; this scope refuses to allocate meanwhile.
    pub fn scope<R>(&self, f: impl FnOnce(&Scope<'_, '_>) -> R) -> R {
        self.enter(f)
    }

    /// Allocates a block that lives until the scope ends (or is freed).
    ///
    /// # Errors
    /// `InvalidParam` for a zero size; `NoMemory` when the region is full
    /// or an inner scope is open.
    pub fn alloc(&self, layout: Layout) -> AllocResult<NonNull<u8>> {
        let mut r = self.region.borrow_mut();
        if r.depth != self.level {
            return Err(AllocError::NoMemory);
        }
        r.bump(layout)
    }

    /// Frees a block early (memory comes back if it is the most recent).
    ///
    /// # Safety
    /// `ptr` was allocated by this scope for `layout` and is not used after.
    pub unsafe fn dealloc(&self, ptr: NonNull<u8>, layout: Layout) {
        self.region.borrow_mut().release(ptr, layout);
    }

    /// Bytes in use in the whole region.
    pub fn used_bytes(&self) -> usize {
        let r = self.region.borrow();
        r.top - r.start
    }
}

#[cfg(feature = "allocator-api2")]
// SAFETY: blocks are disjoint pieces of the region, valid until the scope
// ends; every `&Scope` (and so every copy of this allocator) is gone by
// then, because `Region::scope` and `Scope::scope` give `f` a reference it
// cannot return. Zero-size requests get a dangling aligned pointer.
unsafe impl allocator_api2::alloc::Allocator for &Scope<'_, '_> {
    fn allocate(&self, layout: Layout) -> Result<NonNull<[u8]>, allocator_api2::alloc::AllocError> {
        if layout.size() == 0 {
            let dangling = NonNull::new(core::ptr::without_provenance_mut(layout.align()))
                .unwrap_or(NonNull::dangling());
            return Ok(NonNull::slice_from_raw_parts(dangling, 0));
        }
        Scope::alloc(self, layout)
            .map(|p| NonNull::slice_from_raw_parts(p, layout.size()))
            .map_err(|_| allocator_api2::alloc::AllocError)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: forwarded from the caller.
            unsafe { Scope::dealloc(self, ptr, layout) }
        }
    }
}
