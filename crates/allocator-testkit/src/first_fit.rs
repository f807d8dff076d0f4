//! [`FirstFit`]: a small, obviously correct reference heap.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    align_up, check_grow, check_layout, check_shrink, init_first, move_block, region_end, AllocError,
    AllocResult, BaseAllocator, ByteAllocator, Owns, RegionSet,
};

/// First fit over a sorted, fixed-size table of live blocks.
///
/// O(live blocks) per operation, at most `BLOCKS` live blocks and 8
/// regions, no memory of its own inside the regions (so `used_bytes` is
/// exactly the sum of the live blocks' sizes). It exists to test the
/// testkit and the adapters before any real backend, and to be the model a
/// real backend is compared with. Grows and shrinks in place when it can.
#[derive(Debug)]
pub struct FirstFit<const BLOCKS: usize = 4096> {
    regions: RegionSet<8>,
    /// Live blocks as `(start, end)`, sorted by start.
    blocks: [(usize, usize); BLOCKS],
    len: usize,
    used: usize,
}

// SAFETY: the heap holds addresses only; the memory behind them is owned
// by whoever owns the heap.
unsafe impl<const BLOCKS: usize> Send for FirstFit<BLOCKS> {}

impl<const BLOCKS: usize> FirstFit<BLOCKS> {
    /// A heap with no memory.
    pub const fn new() -> Self {
        Self { regions: RegionSet::new(), blocks: [(0, 0); BLOCKS], len: 0, used: 0 }
    }

    fn live(&self) -> &[(usize, usize)] {
        &self.blocks[..self.len]
    }

    fn index_of(&self, addr: usize) -> Option<usize> {
        self.live().binary_search_by_key(&addr, |b| b.0).ok()
    }

    /// Where the gap after block `i` (or after `start` when no block
    /// precedes) ends, within the region ending at `region_end`.
    fn gap_end(&self, next: usize, region_end: usize) -> usize {
        match self.live().get(next) {
            Some(&(s, _)) if s < region_end => s,
            _ => region_end,
        }
    }
}

impl<const BLOCKS: usize> Default for FirstFit<BLOCKS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const BLOCKS: usize> BaseAllocator for FirstFit<BLOCKS> {
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        let end = region_end(start, size)?;
        self.regions.insert(start, end)
    }
}

impl<const BLOCKS: usize> ByteAllocator for FirstFit<BLOCKS> {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        if self.len == BLOCKS {
            return Err(AllocError::NoMemory);
        }
        for (r_start, r_end) in self.regions.iter() {
            let mut cursor = r_start;
            let mut next = self.live().partition_point(|b| b.0 < r_start);
            loop {
                let gap_end = self.gap_end(next, r_end);
                let fits = align_up(cursor, layout.align())
                    .and_then(|s| Some((s, s.checked_add(layout.size())?)))
                    .filter(|&(_, e)| e <= gap_end);
                if let Some((s, e)) = fits {
                    self.blocks.copy_within(next..self.len, next + 1);
                    self.blocks[next] = (s, e);
                    self.len += 1;
                    self.used += layout.size();
                    return NonNull::new(s as *mut u8).ok_or(AllocError::NoMemory);
                }
                if gap_end == r_end {
                    break;
                }
                cursor = self.blocks[next].1;
                next += 1;
            }
        }
        Err(AllocError::NoMemory)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        let Some(i) = self.index_of(ptr.as_ptr() as usize) else {
            debug_assert!(false, "FirstFit: freeing {ptr:p}, which is not a live block");
            return;
        };
        debug_assert_eq!(self.blocks[i].1 - self.blocks[i].0, layout.size(), "FirstFit: wrong layout");
        self.used -= self.blocks[i].1 - self.blocks[i].0;
        self.blocks.copy_within(i + 1..self.len, i);
        self.len -= 1;
    }

    fn total_bytes(&self) -> usize {
        self.regions.total()
    }

    fn used_bytes(&self) -> usize {
        self.used
    }

    fn available_bytes(&self) -> usize {
        self.total_bytes() - self.used
    }

    unsafe fn grow(
        &mut self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> AllocResult<NonNull<u8>> {
        check_grow(old_layout, new_layout)?;
        let addr = ptr.as_ptr() as usize;
        if let (Some(i), true) = (self.index_of(addr), addr.is_multiple_of(new_layout.align())) {
            let r_end = self.regions.get(self.regions.find(addr, 0).unwrap_or(0)).map_or(0, |r| r.1);
            let limit = self.gap_end(i + 1, r_end);
            if let Some(end) = addr.checked_add(new_layout.size()).filter(|&e| e <= limit) {
                self.used += new_layout.size() - old_layout.size();
                self.blocks[i].1 = end;
                return Ok(ptr);
            }
        }
        // SAFETY: `ptr` is live for `old_layout` (caller's contract).
        unsafe { move_block(self, ptr, old_layout, new_layout) }
    }

    unsafe fn shrink(
        &mut self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> AllocResult<NonNull<u8>> {
        check_shrink(old_layout, new_layout)?;
        let addr = ptr.as_ptr() as usize;
        match self.index_of(addr) {
            Some(i) if addr.is_multiple_of(new_layout.align()) => {
                self.used -= old_layout.size() - new_layout.size();
                self.blocks[i].1 = addr + new_layout.size();
                Ok(ptr)
            }
            // SAFETY: `ptr` is live for `old_layout` (caller's contract).
            _ => unsafe { move_block(self, ptr, old_layout, new_layout) },
        }
    }
}

impl<const BLOCKS: usize> Owns for FirstFit<BLOCKS> {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr() as usize, layout.size())
    }
}
