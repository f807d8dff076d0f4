//! Magazines: one context's stacks of free blocks, one pair per size class
//! (Bonwick's "loaded" and "previous"), kept inside the free blocks
//! themselves.
//!
//! A magazine is a singly linked list of free blocks of one class, linked
//! through each block's first word, with its length. A context allocates by
//! popping its loaded magazine and frees by pushing onto it; only when the
//! loaded one is empty (or full) and the previous one cannot be swapped in
//! does it go to the [`Depot`](crate::Depot) — once per a magazine's worth
//! of operations. `previous` is always empty or full, so a context that
//! alternates allocating and freeing at a boundary swaps its two magazines
//! instead of going to the depot each time.

use core::{
    alloc::Layout,
    ptr::{self, NonNull},
};

use allocator_core::helpers::{class_of_size, class_size, CLASSES, MIN_CLASS_SIZE};

/// The size class a front caches a block of `layout` in: blocks up to
/// 4 KiB aligned up to 16. More aligned blocks bypass the magazines (they
/// are rare, and caching them would make every cached block pay for the
/// largest alignment of its class).
#[inline]
pub(crate) fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() <= MIN_CLASS_SIZE {
        class_of_size(layout.size())
    } else {
        None
    }
}

/// The layout a front allocates and frees each block of `class` with.
#[inline]
pub(crate) fn block_layout(class: usize) -> Layout {
    // The size is a multiple of 16 and at most 4096: a valid layout.
    Layout::from_size_align(class_size(class), MIN_CLASS_SIZE).unwrap_or(Layout::new::<[u128; 1]>())
}

/// Bytes a full magazine holds at most (for classes up to 2 KiB; a larger
/// class's magazine holds [`MIN_ROUNDS`] blocks).
pub const MAGAZINE_BYTES: usize = 8 * 1024;

/// The most blocks in one magazine (small classes).
pub const MAX_ROUNDS: usize = 64;

/// The fewest blocks in one magazine (the largest classes).
pub const MIN_ROUNDS: usize = 4;

/// Blocks per full magazine, by class: `MAGAZINE_BYTES / size`, within
/// `MIN_ROUNDS ..= MAX_ROUNDS`.
const ROUNDS: [u16; CLASSES] = {
    let mut rounds = [0; CLASSES];
    let mut c = 0;
    while c < CLASSES {
        let r = MAGAZINE_BYTES / class_size(c);
        let r = if r > MAX_ROUNDS {
            MAX_ROUNDS
        } else if r < MIN_ROUNDS {
            MIN_ROUNDS
        } else {
            r
        };
        rounds[c] = r as u16;
        c += 1;
    }
    rounds
};

/// Blocks in a full magazine of `class` (`class < CLASSES`).
#[inline]
pub(crate) fn rounds(class: usize) -> usize {
    ROUNDS[class] as usize
}

/// The most bytes one context's magazines can hold: two full magazines of
/// every class.
pub const fn max_cached_per_context() -> usize {
    let mut total = 0;
    let mut c = 0;
    while c < CLASSES {
        total += 2 * ROUNDS[c] as usize * class_size(c);
        c += 1;
    }
    total
}

/// A list of free blocks of one class, linked through their first words.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mag {
    head: *mut u8,
    count: usize,
}

impl Mag {
    /// No blocks (all zeros, so caches in a `static` land in `.bss`).
    pub(crate) const EMPTY: Self = Self { head: ptr::null_mut(), count: 0 };

    /// How many blocks it holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Takes the first block.
    ///
    /// # Safety
    /// Every block on the list is a free block of at least 16 bytes,
    /// aligned to 16, that this list owns (the invariant `push` keeps).
    #[inline]
    pub(crate) unsafe fn pop(&mut self) -> Option<NonNull<u8>> {
        let block = NonNull::new(self.head)?;
        // SAFETY: a listed block is owned here and its first word holds the
        // next link, written by `push`; blocks are 16-aligned.
        self.head = unsafe { block.cast::<*mut u8>().read() };
        self.count -= 1;
        Some(block)
    }

    /// Adds `block` in front.
    ///
    /// # Safety
    /// `block` is a free block of a size class (at least 16 bytes, aligned
    /// to 16), owned by the caller, who gives it to this list.
    #[inline]
    pub(crate) unsafe fn push(&mut self, block: NonNull<u8>) {
        // SAFETY: the block is the caller's to give, 16-aligned and at
        // least a pointer long.
        unsafe { block.cast::<*mut u8>().write(self.head) };
        self.head = block.as_ptr();
        self.count += 1;
    }

    /// The first block, for the depot's links between magazines.
    #[inline]
    pub(crate) fn head(&self) -> Option<NonNull<u8>> {
        NonNull::new(self.head)
    }

    /// A magazine of `count` blocks starting at `head` (the depot giving a
    /// stored magazine back).
    #[inline]
    pub(crate) fn from_parts(head: NonNull<u8>, count: usize) -> Self {
        Self { head: head.as_ptr(), count }
    }
}

/// Where a context's magazines are refilled and emptied: the depot behind
/// its lock.
pub(crate) trait Supply {
    /// Fills the empty `mag` with free blocks of `class`: a full magazine
    /// from the depot, or fresh blocks from the heap. `false` when nothing
    /// could be had (the heap is out of memory).
    fn refill(&self, class: usize, mag: &mut Mag) -> bool;

    /// Takes the full magazine `mag` of `class` (leaving it empty): into
    /// the depot, or (depot full) back to the heap. `false`, with `mag`
    /// untouched, when the depot cannot be had (held by this context,
    /// poisoned).
    fn spill(&self, class: usize, mag: &mut Mag) -> bool;

    /// Takes every block of `cache` back (a context going away, a flush),
    /// leaving it empty; `false`, with `cache` untouched, when the depot
    /// cannot be had.
    fn take_all(&self, cache: &mut Cache) -> bool;
}

/// A loaded magazine and the previous one, for one class.
#[derive(Clone, Copy, Debug)]
struct Pair {
    loaded: Mag,
    previous: Mag,
}

/// One context's magazines, a pair per size class.
#[derive(Debug)]
pub(crate) struct Cache {
    pairs: [Pair; CLASSES],
}

impl Cache {
    /// Empty magazines (all zeros).
    pub(crate) const fn new() -> Self {
        Self { pairs: [Pair { loaded: Mag::EMPTY, previous: Mag::EMPTY }; CLASSES] }
    }

    /// A free block of `class` (`class < CLASSES`) from the loaded
    /// magazine, if it has one.
    ///
    /// # Safety
    /// As `alloc`.
    #[inline]
    pub(crate) unsafe fn pop(&mut self, class: usize) -> Option<NonNull<u8>> {
        // SAFETY: the cache's invariant.
        unsafe { self.pairs.get_mut(class)?.loaded.pop() }
    }

    /// Keeps `block` in the loaded magazine if it has room; `false` (and
    /// nothing changed) when it is full.
    ///
    /// # Safety
    /// As `free`.
    #[inline]
    pub(crate) unsafe fn push(&mut self, class: usize, block: NonNull<u8>) -> bool {
        let Some(pair) = self.pairs.get_mut(class) else { return false };
        if pair.loaded.len() >= rounds(class) {
            return false;
        }
        // SAFETY: forwarded from the caller.
        unsafe { pair.loaded.push(block) };
        true
    }

    /// A free block of `class` (`class < CLASSES`), from the loaded
    /// magazine, else by swapping or refilling; `None` when the supply has
    /// nothing.
    ///
    /// # Safety
    /// Every block in this cache is a free block of its class owned by the
    /// cache, from `supply`'s heap.
    #[inline]
    pub(crate) unsafe fn alloc(&mut self, class: usize, supply: &impl Supply) -> Option<NonNull<u8>> {
        let pair = &mut self.pairs[class];
        // SAFETY: the cache's invariant.
        if let Some(p) = unsafe { pair.loaded.pop() } {
            return Some(p);
        }
        // SAFETY: the cache's invariant.
        unsafe { Self::alloc_slow(pair, class, supply) }
    }

    /// # Safety
    /// As `alloc`.
    #[cold]
    unsafe fn alloc_slow(pair: &mut Pair, class: usize, supply: &impl Supply) -> Option<NonNull<u8>> {
        if pair.previous.len() > 0 {
            core::mem::swap(&mut pair.loaded, &mut pair.previous);
        } else if !supply.refill(class, &mut pair.loaded) {
            return None;
        }
        // SAFETY: the cache's invariant; `refill` hands over free blocks.
        unsafe { pair.loaded.pop() }
    }

    /// Keeps the free block `block` of `class`, swapping or spilling a
    /// magazine if need be. When both magazines are full and the depot
    /// cannot take one (this context holds its lock), the loaded magazine
    /// takes the block anyway, beyond its size: it goes back at the next
    /// exchange, and no block is ever lost.
    ///
    /// # Safety
    /// `block` is a block of `class` (`class < CLASSES`) from `supply`'s
    /// heap (allocated with the class's layout), no longer used by anyone:
    /// the cache takes it.
    pub(crate) unsafe fn free(&mut self, class: usize, block: NonNull<u8>, supply: &impl Supply) {
        let pair = &mut self.pairs[class];
        if pair.loaded.len() >= rounds(class)
            && (pair.previous.len() == 0 || supply.spill(class, &mut pair.previous))
        {
            core::mem::swap(&mut pair.loaded, &mut pair.previous);
        }
        // SAFETY: forwarded from the caller.
        unsafe { pair.loaded.push(block) };
    }

    /// Bytes held in free blocks.
    pub(crate) fn bytes(&self) -> usize {
        self.pairs.iter().enumerate().map(|(c, p)| (p.loaded.len() + p.previous.len()) * class_size(c)).sum()
    }

    /// Empties every magazine, handing each (with its class) to `f`.
    pub(crate) fn drain(&mut self, mut f: impl FnMut(usize, Mag)) {
        for (class, pair) in self.pairs.iter_mut().enumerate() {
            for mag in [&mut pair.loaded, &mut pair.previous] {
                let m = core::mem::replace(mag, Mag::EMPTY);
                if m.len() > 0 {
                    f(class, m);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magazines_hold_at_most_8_kib_except_for_the_largest_classes() {
        for c in 0..CLASSES {
            let r = rounds(c);
            assert!((MIN_ROUNDS..=MAX_ROUNDS).contains(&r));
            assert!(r * class_size(c) <= MAGAZINE_BYTES || r == MIN_ROUNDS, "class {c}");
        }
        assert_eq!(rounds(0), 64);
        assert_eq!(rounds(CLASSES - 1), 4);
        // The bounds the docs quote.
        assert_eq!(max_cached_per_context() / 1024, 424);
        assert_eq!(crate::max_cached_in_depot() / 1024, 848);
    }
}
