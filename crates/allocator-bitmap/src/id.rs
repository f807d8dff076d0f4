//! [`BitmapIdAllocator`]: ids from a bitmap.

use core::fmt;

use allocator_core::{AllocError, AllocResult, IdAllocator};
use bitmap_allocator::{BitAlloc, BitAlloc64K};

use crate::run;

/// An allocator of ids in `[start, start + size)`, one bit an id, over a
/// `bitmap-allocator` tree `B` (up to `B::CAP` ids; the default holds
/// 65,536). Runs are aligned as ids, whatever `start` is.
pub struct BitmapIdAllocator<B: BitAlloc = BitAlloc64K> {
    start: usize,
    size: usize,
    used: usize,
    map: B,
}

impl<B: BitAlloc> BitmapIdAllocator<B> {
    /// An allocator with an empty range; `const`, so it can sit in a
    /// `static`. Give it a range with [`set_range`](Self::set_range).
    pub const fn new() -> Self {
        Self { start: 0, size: 0, used: 0, map: B::DEFAULT }
    }

    /// An allocator of the ids `[start, start + size)`.
    ///
    /// # Errors
    /// As [`set_range`](Self::set_range).
    pub fn with_range(start: usize, size: usize) -> AllocResult<Self> {
        let mut a = Self::new();
        a.set_range(start, size)?;
        Ok(a)
    }

    /// Sets the range to `[start, start + size)`, all free.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] when `size` is zero or above `B::CAP`,
    /// when `start + size` overflows, or when ids are allocated (the range of
    /// a busy allocator cannot change). Nothing changes on error.
    pub fn set_range(&mut self, start: usize, size: usize) -> AllocResult {
        if size == 0 || size > B::CAP || start.checked_add(size).is_none() || self.used != 0 {
            return Err(AllocError::InvalidParam);
        }
        self.map = B::DEFAULT;
        self.map.insert(0..size);
        (self.start, self.size) = (start, size);
        Ok(())
    }

    /// The first id of the range.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The bit of `id`, when it is in range.
    fn index(&self, id: usize) -> Option<usize> {
        id.checked_sub(self.start).filter(|&i| i < self.size)
    }
}

impl<B: BitAlloc> Default for BitmapIdAllocator<B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<B: BitAlloc> fmt::Debug for BitmapIdAllocator<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BitmapIdAllocator")
            .field("start", &self.start)
            .field("size", &self.size)
            .field("used", &self.used)
            .finish_non_exhaustive()
    }
}

impl<B: BitAlloc> IdAllocator for BitmapIdAllocator<B> {
    fn alloc_id(&mut self, count: usize, align_pow2: usize) -> AllocResult<usize> {
        if count == 0 || !align_pow2.is_power_of_two() {
            return Err(AllocError::InvalidParam);
        }
        if count > self.size - self.used {
            return Err(AllocError::NoMemory);
        }
        let i = run::alloc_run(&mut self.map, count, align_pow2, self.start).ok_or(AllocError::NoMemory)?;
        self.used += count;
        Ok(self.start + i)
    }

    fn alloc_fixed_id(&mut self, id: usize) -> AllocResult {
        let i = self.index(id).ok_or(AllocError::InvalidParam)?;
        self.map.alloc_contiguous(Some(i), 1, 0).ok_or(AllocError::MemoryOverlap)?;
        self.used += 1;
        Ok(())
    }

    fn dealloc_id(&mut self, start_id: usize, count: usize) -> AllocResult {
        let i = self.index(start_id).ok_or(AllocError::InvalidParam)?;
        if count == 0 || count > self.size - i {
            return Err(AllocError::InvalidParam);
        }
        if !run::all_taken(&self.map, i, count) {
            return Err(AllocError::NotAllocated);
        }
        run::free_run(&mut self.map, i, count);
        self.used -= count;
        Ok(())
    }

    fn is_allocated(&self, id: usize) -> bool {
        self.index(id).is_some_and(|i| !self.map.test(i))
    }

    fn size(&self) -> usize {
        self.size
    }

    fn used(&self) -> usize {
        self.used
    }

    fn available(&self) -> usize {
        self.size - self.used
    }
}
