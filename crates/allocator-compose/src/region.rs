//! [`Region`]: bump allocation over one block, with checkpoints and scopes.

use core::{alloc::Layout, ptr, ptr::NonNull};

use allocator_core::{
    helpers::{align_up, check_layout, region_end},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};

mod scope;

pub use scope::Scope;

/// A bump allocator over one block of memory: O(1) allocation (a pointer
/// moves up), no per-block overhead but alignment padding.
///
/// Memory comes back in three ways:
/// - freeing (or shrinking) the most recent block rolls the pointer back;
/// - when every block made outside a scope has been freed, the region
///   starts again from the bottom;
/// - [`scope`](Self::scope) releases everything allocated inside it when it
///   returns — safely: no block of the scope can outlive it, and a panic
///   that unwinds out of it releases them too — and
///   [`checkpoint`](Self::checkpoint) / [`rewind`](Self::rewind) /
///   [`reset`](Self::reset) do the same by hand (`unsafe`: the caller vouches
///   that the released blocks are no longer used).
///
/// Freeing any other block releases nothing until then, so `used` does not
/// drop on every free. The most recent block grows and shrinks in place;
/// any block shrinks in place. One region per `Region`: a second `init` is
/// `AlreadyInitialized`, a second region `TableFull` (`MemoryOverlap` if it
/// overlaps the first). Every block's pointer is derived from the region's.
#[derive(Debug)]
pub struct Region {
    /// The pointer the region was given (null while it has none).
    base: *mut u8,
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

// SAFETY: `base` points into memory the region's owner gave it for its
// exclusive use; nothing in it is tied to a thread.
unsafe impl Send for Region {}

/// Where a [`Region`] stood: [`Region::rewind`] goes back to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    top: usize,
    live: usize,
}

impl Region {
    /// A region with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        Self { base: ptr::null_mut(), start: 0, end: 0, top: 0, live: 0, floor: 0, root: 0, depth: 0 }
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

    fn has_memory(&self) -> bool {
        // Not `base`: a region may be given at address 0 (its first byte is
        // never handed out), but its end is never 0.
        self.end != 0
    }

    fn bump(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        let start = align_up(self.top, layout.align()).ok_or(AllocError::NoMemory)?;
        let end = start.checked_add(layout.size()).filter(|&e| e <= self.end).ok_or(AllocError::NoMemory)?;
        // `start` lies inside the region (`top` >= `self.start` >= 1).
        let ptr = NonNull::new(self.base.with_addr(start)).ok_or(AllocError::NoMemory)?;
        self.top = end;
        Ok(ptr)
    }

    /// `true` when the block `[addr, addr + size)` is the most recent one
    /// of the innermost open scope (or of the region, outside scopes).
    fn is_last(&self, addr: usize, size: usize) -> bool {
        addr >= self.floor && addr.checked_add(size) == Some(self.top)
    }

    fn release(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let addr = ptr.as_ptr().addr();
        if self.depth == 0 || addr < self.root {
            self.live = self.live.saturating_sub(1);
        }
        if self.is_last(addr, layout.size()) {
            self.top = addr;
        }
        if self.depth == 0 && self.live == 0 {
            self.top = self.start;
        }
    }
}

impl Default for Region {
    fn default() -> Self {
        Self::new()
    }
}

impl BaseAllocator for Region {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        if self.has_memory() {
            return Err(AllocError::AlreadyInitialized);
        }
        let end = region_end(start.addr(), size)?;
        // Address 0 is never handed out.
        let first = start.addr().max(1);
        if first >= end {
            return Err(AllocError::InvalidParam);
        }
        *self =
            Self { base: start, start: first, end, top: first, live: 0, floor: first, root: first, depth: 0 };
        Ok(())
    }

    /// A region has one block: a second is `MemoryOverlap` if it overlaps
    /// the first, else `TableFull`. On an empty region, as `init`.
    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        if !self.has_memory() {
            // SAFETY: forwarded from the caller.
            return unsafe { self.init(start, size) };
        }
        let end = region_end(start.addr(), size)?;
        if start.addr() < self.end && self.start < end {
            return Err(AllocError::MemoryOverlap);
        }
        Err(AllocError::TableFull)
    }
}

// SAFETY: blocks are disjoint pieces of the one region below `top`, each
// aligned by `bump`; memory above `top` is never handed out twice while a
// block in it is live (`top` comes down only over the most recent block,
// or to the bottom when no block is live); the region never writes into
// its memory. `resize_in_place` moves `top` only for the most recent block
// and keeps every block inside the region.
unsafe impl ByteAllocator for Region {
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

    /// The most recent block grows or shrinks (its end is the bump
    /// pointer); any other block shrinks (the tail is not reused until the
    /// region empties), and cannot grow (`NoMemory`).
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        let addr = ptr.as_ptr().addr();
        if self.is_last(addr, layout.size()) {
            let end = addr.checked_add(new_size).filter(|&e| e <= self.end).ok_or(AllocError::NoMemory)?;
            self.top = end;
            Ok(())
        } else if new_size <= layout.size() {
            Ok(())
        } else {
            Err(AllocError::NoMemory)
        }
    }

    /// `used` is everything below the bump pointer, padding and freed
    /// blocks not yet released included.
    fn figures(&self) -> Figures {
        Figures::new(self.end - self.start, self.top - self.start)
    }

    /// What is left above the bump pointer (for alignment 1).
    fn largest_free(&self) -> Option<usize> {
        Some(self.end - self.top)
    }
}

// SAFETY: every block lies inside `[start, end)`, the one region given.
unsafe impl Owns for Region {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        let addr = ptr.as_ptr().addr();
        addr >= self.start && addr.checked_add(layout.size()).is_some_and(|e| e <= self.end)
    }
}

#[cfg(test)]
mod tests;
