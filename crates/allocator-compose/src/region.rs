//! [`Region`]: bump allocation over one block, with checkpoints and scopes.

use core::{alloc::Layout, cell::RefCell, fmt, ptr::NonNull};

use allocator_core::{
    align_up, check_grow, check_layout, check_shrink, move_block, region_end, AllocError, AllocResult,
    BaseAllocator, ByteAllocator, Owns,
};

/// A bump allocator over one block of memory: O(1) allocation (a pointer
/// moves up), no per-block overhead but alignment padding.
///
/// Memory comes back in three ways:
/// - freeing (or shrinking) the most recent block rolls the pointer back;
/// - when every block made outside a scope has been freed, the region
///   starts again from the bottom;
/// - [`scope`](Self::scope) releases everything allocated inside it when it
///   returns — safely: no block of the scope can outlive it — and
///   [`checkpoint`](Self::checkpoint) / [`rewind`](Self::rewind) /
///   [`reset`](Self::reset) do the same by hand (`unsafe`: the caller vouches
///   that the released blocks are no longer used).
///
/// Freeing any other block releases nothing until then, so `used_bytes`
/// does not drop on every free. The most recent block grows and shrinks in
/// place. One region per `Region` (`add_memory` of a second is
/// `InvalidParam`).
#[derive(Debug, Default)]
pub struct Region {
    start: usize,
    end: usize,
    top: usize,
    /// Blocks made outside any scope and not yet freed.
    live: usize,
    /// Blocks below this address belong to an enclosing scope (or outside
    /// all scopes): a free of one does not move `top`.
    floor: usize,
    /// `top` when the outermost scope began: blocks below it were made
    /// outside every scope and are counted in `live`.
    root: usize,
    /// How many scopes are open.
    depth: usize,
}

/// Where a [`Region`] stood: [`Region::rewind`] goes back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    top: usize,
    live: usize,
}

impl Region {
    /// A region with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        Self { start: 0, end: 0, top: 0, live: 0, floor: 0, root: 0, depth: 0 }
    }

    /// Where the region stands now.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint { top: self.top, live: self.live }
    }

    /// Releases everything allocated since `checkpoint`.
    ///
    /// # Safety
    /// No block allocated since `checkpoint` may be used, or freed, after
    /// this call; `checkpoint` must come from this region, taken after its
    /// last `reset`, and blocks older than it must not have been freed since
    /// (their memory may have been handed out again).
    pub unsafe fn rewind(&mut self, checkpoint: Checkpoint) {
        if (self.start..=self.top).contains(&checkpoint.top) {
            self.top = checkpoint.top;
            self.live = checkpoint.live;
        }
    }

    /// Releases every block.
    ///
    /// # Safety
    /// No block of this region may be used, or freed, after this call.
    pub unsafe fn reset(&mut self) {
        self.top = self.start;
        self.live = 0;
    }

    /// Runs `f` with a [`Scope`]: an allocator whose blocks are all released
    /// when `f` returns. `f` cannot return or keep anything that borrows the
    /// scope, so no block outlives it. Scopes nest
    /// ([`Scope::scope`]); while an inner scope runs, the outer ones refuse
    /// to allocate (with `NoMemory`).
    pub fn scope<R>(&mut self, f: impl FnOnce(&Scope<'_, '_>) -> R) -> R {
        let cell = RefCell::new(self);
        let scope = Scope { region: &cell, level: 0 };
        scope.enter(f)
    }

    fn bump(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        let start = align_up(self.top, layout.align()).ok_or(AllocError::NoMemory)?;
        let end = start.checked_add(layout.size()).filter(|&e| e <= self.end).ok_or(AllocError::NoMemory)?;
        let ptr = NonNull::new(start as *mut u8).ok_or(AllocError::NoMemory)?;
        self.top = end;
        Ok(ptr)
    }

    fn release(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let addr = ptr.as_ptr() as usize;
        if self.depth == 0 || addr < self.root {
            self.live = self.live.saturating_sub(1);
        }
        if addr >= self.floor && addr + layout.size() == self.top {
            self.top = addr;
        }
        if self.depth == 0 && self.live == 0 {
            self.top = self.start;
        }
    }
}

impl BaseAllocator for Region {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        if self.end != 0 {
            return Err(AllocError::InvalidParam);
        }
        let end = region_end(start, size)?;
        // Address 0 is never handed out.
        let start = start.max(1);
        if start >= end {
            return Err(AllocError::InvalidParam);
        }
        *self = Self { start, end, top: start, live: 0, floor: start, root: start, depth: 0 };
        Ok(())
    }

    /// A region has one block: a second is `MemoryOverlap` if it overlaps
    /// the first, else `InvalidParam`. On an empty region, as `init`.
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        if self.end == 0 {
            // SAFETY: forwarded from the caller.
            return unsafe { self.init(start, size) };
        }
        let end = region_end(start, size)?;
        if start < self.end && self.start < end {
            return Err(AllocError::MemoryOverlap);
        }
        Err(AllocError::InvalidParam)
    }
}

impl ByteAllocator for Region {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        let ptr = self.bump(layout)?;
        self.live += 1;
        Ok(ptr)
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "Region: freeing {ptr:p}, not from this region");
        self.release(ptr, layout);
    }

    fn total_bytes(&self) -> usize {
        self.end - self.start
    }

    /// Everything below the bump pointer, padding and freed blocks not yet
    /// released included.
    fn used_bytes(&self) -> usize {
        self.top - self.start
    }

    fn available_bytes(&self) -> usize {
        self.end - self.top
    }

    /// In place for the most recent block (when its address meets the new
    /// alignment and the region has room); moved otherwise.
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }

    /// In place for the most recent block (the tail is released) or any
    /// block whose address meets the new alignment.
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.resize(ptr, old, new) }
    }
}

impl Region {
    /// # Safety
    /// `ptr` is live here for `old`.
    unsafe fn resize(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        let addr = ptr.as_ptr() as usize;
        let aligned = addr.is_multiple_of(new.align());
        let last = addr >= self.floor && addr + old.size() == self.top;
        if aligned && last {
            if let Some(end) = addr.checked_add(new.size()).filter(|&e| e <= self.end) {
                self.top = end;
                return Ok(ptr);
            }
        } else if aligned && new.size() <= old.size() {
            return Ok(ptr);
        }
        // SAFETY: forwarded from the caller.
        unsafe { move_block(self, ptr, old, new) }
    }
}

impl Owns for Region {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        let addr = ptr.as_ptr() as usize;
        addr >= self.start && addr.checked_add(layout.size()).is_some_and(|e| e <= self.end)
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

impl Scope<'_, '_> {
    /// Opens this scope (one level below the current), runs `f`, and
    /// releases what it allocated.
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
        let inner = Scope { region: self.region, level: self.level + 1 };
        let result = f(&inner);
        let mut r = self.region.borrow_mut();
        (r.top, r.floor, r.root) = saved;
        r.depth -= 1;
        if r.depth == 0 && r.live == 0 {
            r.top = r.start;
        }
        result
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
        self.region.borrow().used_bytes()
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
            let dangling = NonNull::new(layout.align() as *mut u8).unwrap_or(NonNull::dangling());
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
