//! A fixed-capacity set of disjoint address ranges.
//!
//! Every backend that accepts several regions keeps one of these: it is
//! what rejects an overlapping `add_memory` with
//! [`AllocError::MemoryOverlap`] and what answers [`Owns`](crate::Owns).
//! It never allocates, so it can live inside a `static` allocator.

use crate::{AllocError, AllocResult};

/// Up to `N` disjoint half-open ranges `[start, end)` of addresses.
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
    /// [`AllocError::InvalidParam`] for an empty or reversed range or a full
    /// set; [`AllocError::MemoryOverlap`] when it overlaps a range already
    /// in the set.
    pub fn check(&self, start: usize, end: usize) -> AllocResult {
        if start >= end || self.is_full() {
            return Err(AllocError::InvalidParam);
        }
        if self.iter().any(|(s, e)| start < e && s < end) {
            return Err(AllocError::MemoryOverlap);
        }
        Ok(())
    }

    /// Inserts `[start, end)`.
    ///
    /// # Errors
    /// As [`check`](Self::check); nothing changes on error.
    pub fn insert(&mut self, start: usize, end: usize) -> AllocResult {
        self.check(start, end)?;
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

    /// The ranges, in insertion order, as `(start, end)`.
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
        set.insert(200, 300).unwrap();
        set.insert(0, 100).unwrap();
        assert_eq!(set.len(), 3);
        assert_eq!(set.total(), 300);
    }

    #[test]
    fn rejects_empty_reversed_and_overfull() {
        let mut set = RegionSet::<1>::new();
        assert_eq!(set.insert(5, 5), Err(AllocError::InvalidParam));
        assert_eq!(set.insert(6, 5), Err(AllocError::InvalidParam));
        set.insert(0, 10).unwrap();
        assert_eq!(set.insert(20, 30), Err(AllocError::InvalidParam));
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn contains_needs_the_whole_span_in_one_range() {
        let mut set = RegionSet::<2>::new();
        set.insert(0, 10).unwrap();
        set.insert(10, 20).unwrap();
        assert!(set.contains(0, 10));
        assert!(set.contains(9, 0));
        assert!(!set.contains(5, 10), "spans two ranges");
        assert!(!set.contains(20, 0));
        assert!(!set.contains(usize::MAX, 2));
        assert_eq!(set.find(15, 5), Some(1));
    }
}
