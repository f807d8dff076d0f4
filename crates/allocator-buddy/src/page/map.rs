//! The page map of [`BuddyPageAllocator`](super::BuddyPageAllocator): a
//! free bit and a run-start bit for every page of a window of frames, and a
//! summary tree that says which orders of free buddy blocks lie below each
//! node. Fixed size, no heap: an all-zero value is an empty map.
//!
//! Pages are grouped by 64 (one `u64` per bit kind), by *absolute* frame
//! number, so a block of `2^k` pages is aligned to `2^k` frames as an
//! address, whatever the window's base. The window is `GROUPS` consecutive
//! groups starting at the group of the first region; group `g` lives in
//! slot `g % GROUPS`, so the slot tree may wrap once around the window.
//!
//! Free buddy blocks are not stored: they follow from the free bits. A
//! block of order `k` (`2^k` pages, aligned) is *maximal* when all its pages
//! are free and its parent block's are not. Below a group the maximal
//! blocks come from a few word operations; above it, tree node `v` (stored
//! in group `v`, slots `GROUPS..2 * GROUPS` being the leaves) holds a mask of
//! the orders of the maximal blocks below it, and a node whose two halves
//! are wholly free is itself one free block (its buddies merged).

/// log2 of the pages in a group.
const GROUP_ORDER: u32 = 6;
/// Pages in a group.
pub(crate) const GROUP_PAGES: usize = 1 << GROUP_ORDER;

/// `STARTS[k]`: the bits of a group that can start a block of order `k`.
const STARTS: [u64; 7] = [
    u64::MAX,
    0x5555_5555_5555_5555,
    0x1111_1111_1111_1111,
    0x0101_0101_0101_0101,
    0x0001_0001_0001_0001,
    0x0000_0001_0000_0001,
    1,
];

/// `runs[k]`: bit `p` set when the block of order `k` at page `p` of the
/// group is wholly free.
fn free_blocks(free: u64) -> [u64; 7] {
    let mut runs = [free; 7];
    for k in 0..6 {
        runs[k + 1] = runs[k] & (runs[k] >> (1u32 << k)) & STARTS[k + 1];
    }
    runs
}

/// The maximal free blocks of order `k` in a group: wholly free, and their
/// parent is not.
fn maximal(runs: &[u64; 7], k: usize) -> u64 {
    if k == 6 {
        return runs[6];
    }
    let parents = runs[k + 1];
    runs[k] & !(parents | parents << (1u32 << k))
}

/// The orders of the maximal free blocks of a group, as a mask.
fn group_orders(free: u64) -> u64 {
    let runs = free_blocks(free);
    (0..7).filter(|&k| maximal(&runs, k) != 0).fold(0, |mask, k| mask | 1 << k)
}

/// The bits `lo..=hi` of a word.
#[inline]
fn bits(lo: usize, hi: usize) -> u64 {
    (u64::MAX >> (63 - hi)) & (u64::MAX << lo)
}

/// A page's bits, by group.
#[derive(Clone, Copy)]
struct Group {
    /// Bit `i`: page `i` of the group is free.
    free: u64,
    /// Bit `i`: page `i` starts an allocated run.
    head: u64,
    /// The mask of tree node `index` (see the module docs; unused in group
    /// 0 and when `GROUPS` is 1).
    node: u64,
}

impl Group {
    const EMPTY: Self = Self { free: 0, head: 0, node: 0 };
}

/// The map of a window of `GROUPS * 64` frames (`GROUPS` a power of two).
pub(crate) struct PageMap<const GROUPS: usize> {
    groups: [Group; GROUPS],
    /// The first group of the window (absolute: frame / 64).
    first: usize,
}

impl<const GROUPS: usize> PageMap<GROUPS> {
    /// Frames in the window.
    pub(crate) const PAGES: usize = GROUPS * GROUP_PAGES;
    const LEVELS: u32 = GROUPS.trailing_zeros();

    /// An empty map (no page free): all zero.
    pub(crate) const fn new() -> Self {
        Self { groups: [Group::EMPTY; GROUPS], first: 0 }
    }

    /// Places the window at the group of `frame`. Only on an empty map.
    pub(crate) fn set_window(&mut self, frame: usize) {
        self.first = frame / GROUP_PAGES;
    }

    /// The window as frames `[start, end)` (`end` saturates at the top of
    /// the address space).
    pub(crate) fn window(&self) -> (usize, usize) {
        let start = self.first * GROUP_PAGES;
        (start, start.saturating_add(Self::PAGES))
    }

    /// The groups and masks of the frames `[first, first + count)`: `count`
    /// at least 1, the frames inside the window.
    fn masks(first: usize, count: usize) -> impl Iterator<Item = (usize, u64)> {
        let last = first + (count - 1);
        let (g0, g1) = (first / GROUP_PAGES, last / GROUP_PAGES);
        (g0..=g1).map(move |g| {
            let lo = if g == g0 { first % GROUP_PAGES } else { 0 };
            let hi = if g == g1 { last % GROUP_PAGES } else { GROUP_PAGES - 1 };
            (g % GROUPS, bits(lo, hi))
        })
    }

    /// `true` when every frame of the run is free.
    pub(crate) fn all_free(&self, first: usize, count: usize) -> bool {
        Self::masks(first, count).all(|(s, m)| self.groups[s].free & m == m)
    }

    /// `true` when a frame of the run is free.
    pub(crate) fn any_free(&self, first: usize, count: usize) -> bool {
        Self::masks(first, count).any(|(s, m)| self.groups[s].free & m != 0)
    }

    /// `true` when a frame of the run starts an allocated run.
    pub(crate) fn any_head(&self, first: usize, count: usize) -> bool {
        Self::masks(first, count).any(|(s, m)| self.groups[s].head & m != 0)
    }

    /// Marks the frames free (pages given to the allocator).
    pub(crate) fn add(&mut self, first: usize, count: usize) {
        for (s, m) in Self::masks(first, count) {
            self.groups[s].free |= m;
        }
        self.refresh(first, count);
    }

    /// Takes the free frames `[first, first + count)` as one run.
    pub(crate) fn take(&mut self, first: usize, count: usize) {
        for (s, m) in Self::masks(first, count) {
            self.groups[s].free &= !m;
        }
        self.groups[(first / GROUP_PAGES) % GROUPS].head |= 1 << (first % GROUP_PAGES);
        self.refresh(first, count);
    }

    /// Frees the run `[first, first + count)`.
    pub(crate) fn release(&mut self, first: usize, count: usize) {
        for (s, m) in Self::masks(first, count) {
            self.groups[s].free |= m;
        }
        self.groups[(first / GROUP_PAGES) % GROUPS].head &= !(1 << (first % GROUP_PAGES));
        self.refresh(first, count);
    }

    /// The first frame of a smallest maximal free block of order `order` or
    /// more, or `None`. O(log GROUPS).
    pub(crate) fn find(&self, order: u32) -> Option<usize> {
        let avail = self.value(1) & u64::MAX.checked_shl(order)?;
        if avail == 0 {
            return None;
        }
        let k = avail.trailing_zeros();
        let mut v = 1;
        while v < GROUPS {
            let level = Self::level(v);
            if self.groups[v].node == 1 << (GROUP_ORDER + level) {
                // A wholly free node: its order is `k`, the only one below it.
                return Some(self.group_of_slot((v << level) - GROUPS) * GROUP_PAGES);
            }
            v = if self.value(2 * v) & 1 << k != 0 { 2 * v } else { 2 * v + 1 };
        }
        let slot = v - GROUPS;
        let block = maximal(&free_blocks(self.groups[slot].free), k as usize);
        debug_assert!(block != 0, "the tree leads to a group holding the order");
        Some(self.group_of_slot(slot) * GROUP_PAGES + block.trailing_zeros() as usize)
    }

    /// The tree level of node `v` (leaves are 0).
    fn level(v: usize) -> u32 {
        Self::LEVELS - v.ilog2()
    }

    /// The absolute group in `slot`.
    fn group_of_slot(&self, slot: usize) -> usize {
        let wrap = self.first % GROUPS;
        let base = self.first - wrap;
        if slot >= wrap {
            base + slot
        } else {
            base + GROUPS + slot
        }
    }

    /// The mask of node `v`: computed for a leaf, stored otherwise.
    fn value(&self, v: usize) -> u64 {
        if v >= GROUPS {
            group_orders(self.groups[v - GROUPS].free)
        } else {
            self.groups[v].node
        }
    }

    /// Recomputes internal node `v` from its children. Two wholly free
    /// halves merge into one block, unless the node spans the window's wrap
    /// (its slots are then not one block of frames).
    fn combine(&self, v: usize) -> u64 {
        let level = Self::level(v);
        let (left, right) = (self.value(2 * v), self.value(2 * v + 1));
        let half = 1 << (GROUP_ORDER + level - 1);
        let wrap = self.first % GROUPS;
        let start = (v << level) - GROUPS;
        let spans_wrap = start < wrap && wrap < start + (1 << level);
        if left == half && right == half && !spans_wrap {
            half << 1
        } else {
            left | right
        }
    }

    /// Recomputes the tree above the groups of the frames `[first, first +
    /// count)`: O(count / 64 + log GROUPS).
    fn refresh(&mut self, first: usize, count: usize) {
        let (g0, g1) = (first / GROUP_PAGES, (first + (count - 1)) / GROUP_PAGES);
        let (s0, s1) = (g0 % GROUPS, g1 % GROUPS);
        if s0 <= s1 {
            self.refresh_slots(s0, s1);
        } else {
            self.refresh_slots(s0, GROUPS - 1);
            self.refresh_slots(0, s1);
        }
    }

    fn refresh_slots(&mut self, s0: usize, s1: usize) {
        let (mut lo, mut hi) = ((s0 + GROUPS) / 2, (s1 + GROUPS) / 2);
        while lo >= 1 {
            for v in lo..=hi {
                self.groups[v].node = self.combine(v);
            }
            (lo, hi) = (lo / 2, hi / 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Maximal free blocks by brute force: order `k` at `p` when all of
    /// `p..p + 2^k` is free and the parent block is not.
    fn brute_orders(free: u64) -> u64 {
        let whole = |k: usize, p: usize| (p..p + (1 << k)).all(|i| free >> i & 1 == 1);
        let mut mask = 0;
        for k in 0..=6usize {
            for p in (0..64).step_by(1 << k) {
                let parent = p & !((2 << k) - 1);
                if whole(k, p) && (k == 6 || !whole(k + 1, parent)) {
                    mask |= 1 << k;
                }
            }
        }
        mask
    }

    #[test]
    fn group_orders_match_brute_force() {
        for w in [0, u64::MAX, 1, 1 << 63, 0xF0, 0x0FF0, u64::MAX - 1, u64::MAX << 32, u64::MAX >> 1] {
            assert_eq!(group_orders(w), brute_orders(w), "{w:#x}");
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for w in [x, x | x >> 1 | x >> 3, x | x << 2 | x >> 5 | x << 9] {
                assert_eq!(group_orders(w), brute_orders(w), "{w:#x}");
            }
        }
    }

    #[test]
    fn bits_cover_any_range() {
        assert_eq!(bits(0, 63), u64::MAX);
        assert_eq!(bits(3, 3), 8);
        assert_eq!(bits(62, 63), 3 << 62);
        assert_eq!(bits(0, 0), 1);
    }

    #[test]
    fn free_halves_merge_up_to_the_window() {
        let mut map = PageMap::<4>::new();
        map.set_window(0);
        map.add(0, 128);
        assert_eq!(map.value(1), 1 << 7);
        map.add(128, 128);
        assert_eq!(map.value(1), 1 << 8, "the whole window is one block");
        assert_eq!(map.find(8), Some(0));
        assert_eq!(map.find(9), None);
        map.take(5, 1);
        // 0..5 and 6..256 free: order 0 at 4, 1 at 6, 2 at 0, 3 at 8, 4 at
        // 16, 5 at 32, 6 at 64, 7 at 128.
        assert_eq!(map.value(1), 0b1111_1111);
        assert_eq!(map.find(0), Some(4));
        assert_eq!(map.find(1), Some(6));
        assert_eq!(map.find(7), Some(128));
        map.release(5, 1);
        assert_eq!(map.value(1), 1 << 8);
    }

    #[test]
    fn a_window_that_wraps_never_merges_across_its_wrap() {
        // Groups 5..9: slots 1, 2, 3, 0.
        let mut map = PageMap::<4>::new();
        map.set_window(5 * 64 + 7);
        assert_eq!(map.window(), (320, 576));
        map.add(320, 256);
        // Groups 5 | 6, 7 (an aligned pair) | 8: orders 6 and 7.
        assert_eq!(map.value(1), 1 << 6 | 1 << 7);
        assert_eq!(map.find(7), Some(6 * 64));
        assert_eq!(map.find(0), Some(8 * 64), "the first slot is group 8");
        assert_eq!(map.find(8), None);
        assert!(map.all_free(320, 256));
        map.take(500, 76);
        assert!(map.any_head(500, 1) && !map.any_head(501, 75) && !map.any_free(500, 76));
        assert_eq!(map.find(7), None);
        map.release(500, 76);
        assert_eq!(map.find(7), Some(6 * 64));
    }

    /// The orders of the maximal free blocks of the window, by brute force:
    /// blocks aligned as frames and wholly inside the window.
    fn brute_window<const G: usize>(map: &PageMap<G>) -> u64 {
        let (start, end) = map.window();
        let inside = |k: u32, b: usize| b >= start && b + (1 << k) <= end;
        let whole = |k: u32, b: usize| inside(k, b) && map.all_free(b, 1 << k);
        let mut mask = 0;
        for k in 0..=(GROUP_ORDER + PageMap::<G>::LEVELS) {
            let mut b = start & !((1 << k) - 1);
            while b < end {
                let parent = b & !((2 << k) - 1);
                if whole(k, b) && !whole(k + 1, parent) {
                    mask |= 1 << k;
                }
                b += 1 << k;
            }
        }
        mask
    }

    #[test]
    fn the_tree_matches_brute_force_under_random_runs() {
        const G: usize = 8;
        let mut map = PageMap::<G>::new();
        // The whole window: groups 5..13 in slots 5, 6, 7, 0, 1 … 4.
        let (lo, hi) = (5 * 64, 13 * 64);
        map.set_window(lo);
        map.add(lo, hi - lo);
        let mut runs = [(0usize, 0usize); 64];
        let mut live = 0;
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for step in 0..4000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if !x.is_multiple_of(3) && live < runs.len() {
                let first = lo + (x >> 8) as usize % (hi - lo);
                let count = (1 + (x >> 40) as usize % 40).min(hi - first);
                if map.all_free(first, count) {
                    map.take(first, count);
                    runs[live] = (first, count);
                    live += 1;
                }
            } else if live > 0 {
                let i = (x >> 20) as usize % live;
                let (first, count) = runs[i];
                map.release(first, count);
                live -= 1;
                runs[i] = runs[live];
            }
            let mask = brute_window(&map);
            assert_eq!(map.value(1), mask, "step {step}");
            for k in 0..12 {
                let want = mask & u64::MAX << k;
                match map.find(k) {
                    None => assert_eq!(want, 0, "step {step}, order {k}"),
                    Some(b) => {
                        let o = want.trailing_zeros();
                        assert_eq!(b % (1 << o), 0, "step {step}: aligned");
                        assert!(map.all_free(b, 1 << o), "step {step}: a free block of order {o}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_single_group_map_works() {
        let mut map = PageMap::<1>::new();
        map.set_window(64 * 1000 + 3);
        map.add(64 * 1000 + 3, 61);
        assert_eq!(map.find(0), Some(64 * 1000 + 3));
        assert_eq!(map.find(5), Some(64 * 1000 + 32));
        assert_eq!(map.find(6), None);
        map.take(64 * 1000 + 32, 32);
        assert_eq!(map.find(3), Some(64 * 1000 + 8));
    }
}
