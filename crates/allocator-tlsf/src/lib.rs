#![doc = include_str!("../README.md")]
#![no_std]

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    helpers::{
        check_grow, check_layout, check_shrink, init_first, move_block, region_end, trim_region, RegionSet,
    },
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Health, Owns,
};
use rlsf::Tlsf;

/// rlsf's block granularity: every block size and pool start is a multiple
/// of it (32 bytes on 64-bit targets, 16 on 32-bit).
pub const GRANULARITY: usize = rlsf::GRANULARITY;

/// log2 of the number of first-level size classes; blocks (and pools) are
/// at most `GRANULARITY << FLLEN` bytes.
const FLLEN: usize = 28;
/// Second-level classes per first-level class.
const SLLEN: usize = 16;

/// The largest pool rlsf takes in one piece; larger regions are split
/// into pools of this size. `None` when the whole address space fits (as
/// on 32-bit targets: `16 << 28` is past `usize`).
pub const MAX_POOL_SIZE: Option<usize> = {
    let shift = GRANULARITY.trailing_zeros() + FLLEN as u32;
    if shift < usize::BITS {
        Some(1 << shift)
    } else {
        None
    }
};

/// The largest block rlsf ever serves, header and alignment padding
/// included: the smallest size of its top size class (7.75 GiB on 64-bit
/// targets, about 3.9 GiB on 32-bit ones). A request whose size, plus the
/// header and the worst-case padding for its alignment, rounds up past it
/// is [`Unsupported`](AllocError::Unsupported).
pub const MAX_BLOCK: usize = {
    let top = 1usize << (GRANULARITY.trailing_zeros() + FLLEN as u32 - 1);
    top + (SLLEN - 1) * (top / SLLEN)
};

/// The header rlsf puts before each used block's payload.
const HEADER: usize = GRANULARITY / 2;

/// How many separate regions one allocator tracks (adjacent regions share
/// one entry).
pub const MAX_REGIONS: usize = 32;

/// How many pools one allocator tracks: one per region given (adjacent or
/// not), more for a region larger than [`MAX_POOL_SIZE`].
pub const MAX_POOLS: usize = 64;

/// A pool as given to rlsf: its start and the length rlsf took (what
/// `Tlsf::iter_blocks` needs to walk it). A null start is an empty slot.
#[derive(Clone, Copy, Debug)]
struct Pool {
    start: *mut u8,
    len: usize,
}

impl Pool {
    const EMPTY: Pool = Pool { start: core::ptr::null_mut(), len: 0 };
}

/// A TLSF (two-level segregated fit) heap over `rlsf`: O(1) allocate and
/// free, in-place resizing, several regions. See the crate docs.
#[derive(Debug)]
pub struct TlsfByteAllocator {
    tlsf: Tlsf<'static, u32, u16, FLLEN, SLLEN>,
    regions: RegionSet<MAX_REGIONS>,
    pools: [Pool; MAX_POOLS],
    pool_count: usize,
    total: usize,
}

// SAFETY: the heap owns the memory it was given (the callers of `init` and
// `add_memory` promised so); its pointers refer to nothing else, so moving
// it to another thread moves the whole heap.
unsafe impl Send for TlsfByteAllocator {}

impl TlsfByteAllocator {
    /// A heap with no memory; `const`, so it can sit in a `static`.
    pub const fn new() -> Self {
        Self {
            tlsf: Tlsf::new(),
            regions: RegionSet::new(),
            pools: [Pool::EMPTY; MAX_POOLS],
            pool_count: 0,
            total: 0,
        }
    }

    /// The block rlsf searches for to serve `layout` (its size, header and
    /// worst-case padding rounded up to `GRANULARITY`, as `Tlsf::allocate`
    /// computes it), when it is one rlsf can ever serve.
    #[inline]
    fn search_size(layout: Layout) -> Option<usize> {
        let overhead = layout.align().saturating_sub(GRANULARITY / 2) + GRANULARITY / 2;
        let size = layout.size().checked_add(overhead)?.checked_add(GRANULARITY - 1)? & !(GRANULARITY - 1);
        (size <= MAX_BLOCK).then_some(size)
    }

    /// The end of the block whose payload starts at `ptr` and is `size`
    /// bytes long (any size from the one asked for to the usable one).
    ///
    /// rlsf starts every block at a multiple of `GRANULARITY` and sizes it
    /// from there to the payload's end rounded up to `GRANULARITY`, when it
    /// allocates as when it resizes; so the block ends at `ptr + size`
    /// rounded up, whatever the padding before the payload. This is rlsf's
    /// documented granularity, not its header: the unit tests check it
    /// against rlsf's own `allocation_usable_size` and block walk.
    #[inline]
    fn block_end(ptr: NonNull<u8>, size: usize) -> usize {
        // No overflow: a live block ends inside a pool, whose end is a
        // multiple of `GRANULARITY`.
        (ptr.addr().get() + size + (GRANULARITY - 1)) & !(GRANULARITY - 1)
    }

    /// Resizes through rlsf's own `reallocate`, which grows in place into a
    /// free successor, else moves (into a free predecessor, or anywhere),
    /// and shrinks in place; `None` changes nothing.
    ///
    /// # Safety
    /// `ptr` is a live block of this heap with `new`'s alignment; `new` has
    /// a non-zero size that rlsf can serve.
    #[inline]
    unsafe fn reallocate(&mut self, ptr: NonNull<u8>, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.tlsf.reallocate(ptr, new) }.ok_or(AllocError::NoMemory)
    }

    /// Why rlsf refused `layout` (a non-zero size): it never serves it, or
    /// no free block is large enough now.
    #[cold]
    fn refusal(layout: Layout) -> AllocError {
        match Self::search_size(layout) {
            Some(_) => AllocError::NoMemory,
            None => AllocError::Unsupported,
        }
    }

    /// The pools `[start, start + len)` is split into (the last may be too
    /// small to use).
    const fn pools_for(len: usize) -> usize {
        match MAX_POOL_SIZE {
            Some(max) => len.div_ceil(max),
            None => 1,
        }
    }

    /// Hands `[start, start + len)` (aligned to and a multiple of
    /// `GRANULARITY`) to rlsf, in pools no larger than it takes, and records
    /// them. Returns the bytes that became free.
    ///
    /// # Safety
    /// The range is memory the caller gave to this heap, and `start`
    /// carries its provenance; `pools_for(len)` slots are free.
    unsafe fn insert_pools(&mut self, start: *mut u8, len: usize) -> usize {
        let (mut cursor, mut left, mut free) = (start, len, 0);
        while left >= 2 * GRANULARITY {
            let chunk = MAX_POOL_SIZE.map_or(left, |max| left.min(max));
            let Some(pool) = NonNull::new(core::ptr::slice_from_raw_parts_mut(cursor, chunk)) else { break };
            // SAFETY: `pool` is part of the caller's region, aligned, a
            // multiple of `GRANULARITY` and at least two of them, and ours
            // for as long as the heap lives.
            if let Some(taken) = unsafe { self.tlsf.insert_free_block_ptr(pool) } {
                self.pools[self.pool_count] = Pool { start: cursor, len: taken.get() };
                self.pool_count += 1;
                // Each pool ends in a `GRANULARITY`-byte sentinel block.
                free += taken.get() - GRANULARITY;
            }
            // At most one past the region's end.
            cursor = cursor.wrapping_add(chunk);
            left -= chunk;
        }
        free
    }

    /// Walks the heap for debugging and statistics: calls `f` with the
    /// size of every block of every pool, in address order within a pool
    /// (header included; the pools' sentinels left out), and whether it is
    /// used. O(blocks). The sizes add up to the `total` of
    /// [`figures`](ByteAllocator::figures); two free blocks are never
    /// neighbours (rlsf merges them).
    pub fn walk(&self, mut f: impl FnMut(usize, bool)) {
        for pool in &self.pools[..self.pool_count] {
            let Some(whole) = NonNull::new(core::ptr::slice_from_raw_parts_mut(pool.start, pool.len)) else {
                continue;
            };
            // SAFETY: `whole` is a pool of this heap exactly as rlsf took it
            // (the start passed to `insert_free_block_ptr`, the length it
            // returned; pools are never extended), and `&self` keeps the
            // heap unchanged while the walk runs.
            for block in unsafe { self.tlsf.iter_blocks(whole) } {
                f(block.size(), block.is_occupied());
            }
        }
    }
}

impl TlsfByteAllocator {
    /// The bytes in used blocks, and the size of the largest free block
    /// (header included), in one walk.
    fn used_and_largest_block(&self) -> (usize, usize) {
        let (mut used, mut largest) = (0, 0);
        self.walk(|size, occupied| {
            if occupied {
                used += size;
            } else {
                largest = largest.max(size);
            }
        });
        (used, largest)
    }

    /// The largest request (aligned to at most `GRANULARITY / 2`) that
    /// rlsf's search is sure to serve, given its largest free block: the
    /// smallest size of that block's size class less the header (rlsf only
    /// searches classes whose every block is large enough).
    fn largest_request(largest: usize) -> usize {
        if largest == 0 {
            return 0;
        }
        // A size class spans 1/SLLEN of its power of two, and at least a
        // granule.
        let step = (1usize << largest.ilog2()) / SLLEN;
        let class_min = largest & !(step.max(GRANULARITY) - 1);
        class_min - HEADER
    }
}

impl Default for TlsfByteAllocator {
    fn default() -> Self {
        Self::new()
    }
}

impl BaseAllocator for TlsfByteAllocator {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let has_memory = !self.regions.is_empty();
        // SAFETY: forwarded from the caller.
        unsafe { init_first(self, has_memory, start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        let base = start.addr();
        let end = region_end(base, size)?;
        // The region as given is recorded, so that no part of it, trimmed
        // or not, can be given again.
        self.regions.check(base, end)?;
        // Address 0 is never handed out: start at the next granule.
        let from = base.max(1);
        let (pool, len) = trim_region(from, end - from, GRANULARITY, GRANULARITY)?;
        if len < 2 * GRANULARITY {
            return Err(AllocError::InvalidParam);
        }
        if self.pool_count + Self::pools_for(len) > MAX_POOLS {
            return Err(AllocError::TableFull);
        }
        self.regions.insert(base, end)?;
        // SAFETY: the trimmed range lies inside the caller's region, and the
        // pointer derived from `start` keeps its provenance; the slots were
        // checked above.
        let free = unsafe { self.insert_pools(start.with_addr(pool), len) };
        self.total += free;
        Ok(())
    }
}

// SAFETY: blocks come from rlsf, which hands out disjoint, aligned blocks
// inside the pools built from the caller's regions; `usable_size` stops at
// the block's end (rlsf's granularity: see `block_end`); `resize_in_place`
// only shrinks, which rlsf does where the block is (asserted); `dealloc`
// only needs the alignment, so every fitting size is accepted.
unsafe impl ByteAllocator for TlsfByteAllocator {
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        // rlsf refuses what it can never serve (its size classes end) as
        // what it cannot serve now; which one is told apart only on failure.
        self.tlsf.allocate(layout).ok_or_else(|| Self::refusal(layout))
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        debug_assert!(self.owns(ptr, layout), "TlsfByteAllocator: freeing {ptr:p}, not from this heap");
        // SAFETY: the caller guarantees `ptr` is live here with this
        // alignment, all rlsf needs.
        unsafe { self.tlsf.deallocate(ptr, layout.align()) };
    }

    /// Shrinks always (the freed tail joins the free memory after it); grows
    /// within the block's rounding. A growth past the block's end is
    /// refused with `NoMemory`: rlsf has no grow that is sure not to move,
    /// so [`grow`](ByteAllocator::grow) and
    /// [`realloc`](ByteAllocator::realloc) are the ones that grow into a
    /// free successor. Never moves.
    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        let old_end = Self::block_end(ptr, layout.size());
        let new_end = ptr
            .addr()
            .get()
            .checked_add(new_size)
            .and_then(|e| e.checked_add(GRANULARITY - 1))
            .map(|e| e & !(GRANULARITY - 1))
            .ok_or(AllocError::NoMemory)?;
        if new_end > old_end {
            return Err(AllocError::NoMemory);
        }
        if new_end < old_end {
            // SAFETY: `ptr` is live fitting `layout` (the caller's promise);
            // `new` has its alignment and a size rlsf serves (no larger).
            let kept = unsafe { self.reallocate(ptr, new) };
            // rlsf shrinks where the block is, splitting off its tail; were
            // it ever to move the block instead, the caller's pointer would
            // be stale, so stop rather than report success.
            assert_eq!(kept, Ok(ptr), "rlsf moved a block it was asked to shrink");
        }
        Ok(())
    }

    #[inline]
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        Self::block_end(ptr, layout.size()) - ptr.addr().get()
    }

    /// Through rlsf's `reallocate` for the same alignment: in place when
    /// the next block is free and large enough (or into a free predecessor,
    /// or a new block, copying), all under this one call.
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        check_layout(new)?;
        Self::search_size(new).ok_or(AllocError::Unsupported)?;
        if old.align() != new.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { move_block(self, ptr, old, new) };
        }
        // SAFETY: forwarded from the caller; `new` was checked above.
        unsafe { self.reallocate(ptr, new) }
    }

    /// In place for the same alignment (rlsf splits off the tail), else
    /// moved.
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        check_layout(new)?;
        if old.align() != new.align() {
            // SAFETY: forwarded from the caller.
            return unsafe { move_block(self, ptr, old, new) };
        }
        // SAFETY: forwarded from the caller; a smaller size rlsf serves.
        unsafe { self.reallocate(ptr, new) }
    }

    /// O(blocks): the used blocks are counted by walking the pools, so
    /// that no allocation or free pays for the figures. Exact: whole
    /// blocks, header, alignment padding and rounding included.
    fn figures(&self) -> Figures {
        let mut used = 0;
        self.walk(|size, occupied| {
            if occupied {
                used += size;
            }
        });
        Figures::new(self.total, used)
    }

    /// O(blocks), by the same walk. The largest request (aligned to at most
    /// `GRANULARITY / 2`) that rlsf's search is sure to serve: from the
    /// largest free block, the smallest size of its size class less the
    /// header (rlsf only searches classes whose every block is large
    /// enough).
    fn largest_free(&self) -> Option<usize> {
        Some(Self::largest_request(self.used_and_largest_block().1))
    }

    /// O(blocks): one walk for both figures and the largest free block.
    fn health(&self) -> Health {
        let (used, largest) = self.used_and_largest_block();
        Health::new(Figures::new(self.total, used), Some(Self::largest_request(largest)))
    }
}

// SAFETY: every block lies inside a region recorded in `regions` (rlsf's
// pools never span two regions, and adjacent regions are merged there
// anyway); memory never given is in no recorded region.
unsafe impl Owns for TlsfByteAllocator {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.regions.contains(ptr.addr().get(), layout.size())
    }
}

#[cfg(test)]
mod tests {
    //! The block arithmetic (`block_end`) and the walk against rlsf's own
    //! answers, through its public (`unstable`) queries.

    extern crate std;

    use std::{vec, vec::Vec};

    use super::*;

    type Raw = Tlsf<'static, u32, u16, FLLEN, SLLEN>;

    /// A small xorshift generator.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// Random allocations, frees and resizes of many sizes and alignments.
    /// After each step every live block's usable size is rlsf's, and the
    /// used figure is the blocks' bytes from header to end (exactly, while
    /// no block is over-aligned; more by the padding after). Every 16
    /// steps, the walk covers the whole memory, and `largest_free` can be
    /// allocated.
    #[test]
    fn block_arithmetic_and_walk_match_rlsf() {
        const LEN: usize = 1 << 20;
        let memory: &'static mut [u64] = vec![0u64; LEN / 8].leak();
        let start = memory.as_mut_ptr().cast::<u8>();
        let mut heap = TlsfByteAllocator::new();
        // SAFETY: leaked, so ours for the rest of the process.
        unsafe { heap.init(start, LEN) }.unwrap();
        let mut rng = Rng(0x1234_5678);
        let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
        let (mut most, mut walks) = (0, 0);
        for step in 0..6_000 {
            let over_aligned = step >= 3_000;
            let align = if over_aligned { 1 << rng.below(10) } else { 1 << rng.below(4) };
            let range = if rng.below(8) == 0 { 5000 } else { 200 };
            let size = 1 + rng.below(range);
            match rng.below(4) {
                0 | 1 => {
                    let layout = Layout::from_size_align(size, align).unwrap();
                    if let Ok(p) = heap.alloc(layout) {
                        live.push((p, layout));
                    }
                }
                2 if !live.is_empty() => {
                    let (p, l) = live.swap_remove(rng.below(live.len()));
                    // SAFETY: live, freed with its layout.
                    unsafe { heap.dealloc(p, l) };
                }
                _ if !live.is_empty() => {
                    let i = rng.below(live.len());
                    let (p, l) = live[i];
                    let new = Layout::from_size_align(size, l.align()).unwrap();
                    // SAFETY: live, fitting `l`.
                    let r = unsafe {
                        match rng.below(3) {
                            0 => heap.resize_in_place(p, l, size).map(|()| p),
                            _ if size >= l.size() => heap.grow(p, l, new),
                            _ => heap.shrink(p, l, new),
                        }
                    };
                    if let Ok(q) = r {
                        live[i] = (q, new);
                    }
                }
                _ => {}
            }
            let mut counted = 0;
            for &(p, l) in &live {
                // SAFETY: live.
                let theirs = unsafe { Raw::allocation_usable_size(p) };
                // SAFETY: live, fitting `l`.
                assert_eq!(unsafe { heap.usable_size(p, l) }, theirs, "usable size of {l:?} at step {step}");
                counted += TlsfByteAllocator::block_end(p, l.size()) - p.addr().get() + HEADER;
            }
            let used = heap.figures().used;
            if over_aligned {
                assert!(used >= counted);
            } else {
                assert_eq!(used, counted, "used at step {step}");
            }
            most = most.max(live.len());
            if step % 16 != 0 {
                continue;
            }
            walks += 1;
            let mut all = 0;
            heap.walk(|size, _| all += size);
            assert_eq!(all, heap.figures().total);
            let largest = heap.largest_free().unwrap();
            if largest > 0 {
                let l = Layout::from_size_align(largest, 1).unwrap();
                let p =
                    heap.alloc(l).unwrap_or_else(|e| panic!("largest_free {largest} at step {step}: {e}"));
                // SAFETY: just allocated.
                unsafe { heap.dealloc(p, l) };
            }
        }
        assert!(most > 500 && walks == 375, "{most} blocks live at most, {walks} walks");
    }

    /// On a fragmented heap, `largest_free` is the largest request sure to
    /// succeed, and within one size class of the largest that does.
    #[test]
    fn largest_free_is_within_a_class_of_the_truth() {
        const LEN: usize = 1 << 18;
        let memory: &'static mut [u64] = vec![0u64; LEN / 8].leak();
        let mut heap = TlsfByteAllocator::new();
        // SAFETY: leaked, so ours for the rest of the process.
        unsafe { heap.init(memory.as_mut_ptr().cast(), LEN) }.unwrap();
        let mut rng = Rng(77);
        let mut live = Vec::new();
        while let Ok(p) = heap.alloc(Layout::from_size_align(1 + rng.below(3000), 8).unwrap()) {
            live.push(p);
        }
        for (i, p) in live.into_iter().enumerate() {
            if i % 3 != 0 {
                // SAFETY: live; TLSF frees by the alignment alone.
                unsafe { heap.dealloc(p, Layout::from_size_align(1, 8).unwrap()) };
            }
        }
        let largest = heap.largest_free().unwrap();
        assert!(fits(&mut heap, largest), "largest_free {largest} does not fit");
        let step = ((1usize << (largest + HEADER).ilog2()) / SLLEN).max(GRANULARITY);
        assert!(
            !fits(&mut heap, largest + 2 * step),
            "{} fits, past largest_free {largest}",
            largest + 2 * step
        );
    }

    /// Whether `n` bytes (8-aligned) can be allocated now; allocated and
    /// freed at once.
    fn fits(heap: &mut TlsfByteAllocator, n: usize) -> bool {
        let layout = Layout::from_size_align(n, 8).unwrap();
        match heap.alloc(layout) {
            Ok(p) => {
                // SAFETY: just allocated.
                unsafe { heap.dealloc(p, layout) };
                true
            }
            Err(_) => false,
        }
    }
}
