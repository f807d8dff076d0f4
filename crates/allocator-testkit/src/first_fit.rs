//! [`FirstFit`]: a small, obviously correct reference heap.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::{align_up, check_layout, init_first, region_end, RegionSet},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
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
    /// The regions as given, with the pointers whose provenance covers
    /// them: every block's pointer is derived from one.
    given: [(*mut u8, usize); 8],
    given_len: usize,
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
        Self {
            regions: RegionSet::new(),
            given: [(core::ptr::null_mut(), 0); 8],
            given_len: 0,
            blocks: [(0, 0); BLOCKS],
            len: 0,
            used: 0,
        }
    }

    /// A pointer to `addr` with the provenance of the region holding it.
    fn pointer(&self, addr: usize) -> Option<NonNull<u8>> {
        let (base, _) =
            self.given[..self.given_len].iter().find(|(p, end)| p.addr() <= addr && addr < *end)?;
        NonNull::new(base.with_addr(addr))
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
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let end = region_end(start.addr(), size)?;
        if self.given_len == self.given.len() {
            return Err(AllocError::TableFull);
        }
        self.regions.insert(start.addr(), end)?;
        self.given[self.given_len] = (start, end);
        self.given_len += 1;
        Ok(())
    }
}

// SAFETY: blocks are disjoint ranges of the regions given (the sorted table
// proves it), aligned as asked, valid until freed; in-place resizes keep
// within the gap before the next block; usable size is the size asked for.
unsafe impl<const BLOCKS: usize> ByteAllocator for FirstFit<BLOCKS> {
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
                    return self.pointer(s).ok_or(AllocError::NoMemory);
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
        let Some(i) = self.index_of(ptr.as_ptr().addr()) else {
            debug_assert!(false, "FirstFit: freeing {ptr:p}, which is not a live block");
            return;
        };
        debug_assert!(self.blocks[i].1 - self.blocks[i].0 <= layout.size(), "FirstFit: wrong layout");
        self.used -= self.blocks[i].1 - self.blocks[i].0;
        self.blocks.copy_within(i + 1..self.len, i);
        self.len -= 1;
    }

    fn figures(&self) -> Figures {
        Figures::new(self.regions.total(), self.used)
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        check_layout(
            Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?,
        )?;
        let addr = ptr.as_ptr().addr();
        let i = self.index_of(addr).ok_or(AllocError::InvalidParam)?;
        let r_end = self.regions.get(self.regions.find(addr, 0).unwrap_or(0)).map_or(0, |r| r.1);
        let limit = self.gap_end(i + 1, r_end);
        let end = addr.checked_add(new_size).filter(|&e| e <= limit).ok_or(AllocError::NoMemory)?;
        self.used = self.used - (self.blocks[i].1 - addr) + new_size;
        self.blocks[i].1 = end;
        Ok(())
    }
}

// SAFETY: true exactly for ranges inside the regions given, which hold
// every live block and nothing of anyone else's.
unsafe impl<const BLOCKS: usize> Owns for FirstFit<BLOCKS> {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.as_ptr().addr(), layout.size())
    }
}
