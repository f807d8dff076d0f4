//! A fixed-capacity set of disjoint address ranges.
//!
//! Every backend that accepts several regions keeps one of these: it is
//! what rejects an overlapping `add_memory` with
//! [`AllocError::MemoryOverlap`] and what answers [`Owns`](crate::Owns).
//! Adjacent ranges are merged as they are inserted, so a block that a
//! backend placed across two adjacent regions is still inside one range.
//! It never allocates, so it can live inside a `static` allocator.

use crate::{AllocError, AllocResult};

/// Up to `N` disjoint, non-adjacent half-open ranges `[start, end)` of
/// addresses (adjacent ranges are merged into one).
///
/// Lookups are O(N); `N` is small (the number of regions an allocator was
/// given), so this is a handful of comparisons.
#[derive(Clone, Copy, Debug)]
pub struct RegionSet<const N: usize> {
    ranges: [(usize, usize); N],
    len: usize,
}

impl<const N: usize> RegionSet<N> {
    /// An empty set.
    pub const fn new() -> Self {
        Self { ranges: [(0, 0); N], len: 0 }
    }

    /// How many ranges the set holds.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// `true` when the set holds no range.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// `true` when no further range fits.
    pub const fn is_full(&self) -> bool {
        self.len == N
    }

    /// Checks that `[start, end)` could be inserted, without inserting it.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] for an empty or reversed range;
    /// [`AllocError::MemoryOverlap`] when it overlaps a range already in the
    /// set; [`AllocError::TableFull`] when it would need a new entry (it is
    /// adjacent to no range) and the set is full.
    pub fn check(&self, start: usize, end: usize) -> AllocResult {
        if start >= end {
            return Err(AllocError::InvalidParam);
        }
        if self.iter().any(|(s, e)| start < e && s < end) {
            return Err(AllocError::MemoryOverlap);
        }
        if self.is_full() && !self.iter().any(|(s, e)| e == start || s == end) {
            return Err(AllocError::TableFull);
        }
        Ok(())
    }

    /// Inserts `[start, end)`, merged with the ranges it touches.
    ///
    /// # Errors
    /// As [`check`](Self::check); nothing changes on error.
    pub fn insert(&mut self, start: usize, end: usize) -> AllocResult {
        self.check(start, end)?;
        let (mut start, mut end) = (start, end);
        // Absorb every range that ends where this starts or starts where
        // this ends (at most two), removing them from the table.
        let mut i = 0;
        while i < self.len {
            let (s, e) = self.ranges[i];
            if e == start || s == end {
                start = start.min(s);
                end = end.max(e);
                self.len -= 1;
                self.ranges[i] = self.ranges[self.len];
            } else {
                i += 1;
            }
        }
        self.ranges[self.len] = (start, end);
        self.len += 1;
        Ok(())
    }

    /// The index of the range holding all of `[addr, addr + size)`, if one
    /// does (`size` zero asks about `addr` alone).
    #[inline]
    pub fn find(&self, addr: usize, size: usize) -> Option<usize> {
        let end = addr.checked_add(size.max(1))?;
        self.iter().position(|(s, e)| s <= addr && end <= e)
    }

    /// `true` when one range holds all of `[addr, addr + size)`.
    #[inline]
    pub fn contains(&self, addr: usize, size: usize) -> bool {
        self.find(addr, size).is_some()
    }

    /// The range at `index`, as `(start, end)`.
    pub fn get(&self, index: usize) -> Option<(usize, usize)> {
        self.ranges[..self.len].get(index).copied()
    }

    /// The ranges, in no particular order, as `(start, end)`.
    pub fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.ranges[..self.len].iter().copied()
    }

    /// The sum of the ranges' lengths.
    pub fn total(&self) -> usize {
        self.iter().map(|(s, e)| e - s).sum()
    }
}

impl<const N: usize> Default for RegionSet<N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_overlap_in_every_position() {
        let mut set = RegionSet::<4>::new();
        set.insert(100, 200).unwrap();
        for (s, e) in [(50, 101), (199, 300), (120, 130), (0, 1000), (100, 200)] {
            assert_eq!(set.insert(s, e), Err(AllocError::MemoryOverlap), "{s}..{e}");
        }
        set.insert(300, 400).unwrap();
        set.insert(0, 50).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.total(), 250);
    }

    #[test]
    fn rejects_empty_reversed_and_overfull() {
        let mut set = RegionSet::<1>::new();
        assert_eq!(set.insert(5, 5), Err(AllocError::InvalidParam));
        assert_eq!(set.insert(6, 5), Err(AllocError::InvalidParam));
        set.insert(0, 10).unwrap();
        assert_eq!(set.insert(20, 30), Err(AllocError::TableFull));
        assert_eq!(set.len(), 1);
        // An adjacent range needs no new entry, so a full set still takes it.
        set.insert(10, 20).unwrap();
        assert_eq!(set.get(0), Some((0, 20)));
    }

    #[test]
    fn adjacent_ranges_merge_so_a_block_may_span_them() {
        let mut set = RegionSet::<3>::new();
        set.insert(0, 10).unwrap();
        set.insert(20, 30).unwrap();
        assert!(!set.contains(5, 10), "a gap between two ranges");
        // Fills the gap: all three become one.
        set.insert(10, 20).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.contains(5, 20));
        assert!(set.contains(29, 0));
        assert!(!set.contains(30, 0));
        assert!(!set.contains(usize::MAX, 2));
        // The top of the address space.
        set.insert(usize::MAX - 10, usize::MAX).unwrap();
        assert!(set.contains(usize::MAX - 10, 10));
        assert!(!set.contains(usize::MAX - 10, 11));
    }
}
