//! [`RunSet`]: the shadow of allocated runs shared by the page and id
//! suites (a run is `len` units from `start`, in the unit's own numbers:
//! page addresses step by the page size, ids by one).

use std::collections::BTreeMap;

use crate::{violation::ensure, Violation};

/// Live runs within `[lo, hi)`, each `len` units of `unit` numbers.
#[derive(Clone, Debug)]
pub(crate) struct RunSet {
    lo: usize,
    hi: usize,
    unit: usize,
    live: BTreeMap<usize, usize>,
    /// The units of every live run, kept as runs come and go.
    units: usize,
}

impl RunSet {
    pub(crate) fn new(lo: usize, hi: usize, unit: usize) -> Self {
        Self { lo, hi, unit, live: BTreeMap::new(), units: 0 }
    }

    fn span(&self, len: usize) -> usize {
        len.saturating_mul(self.unit)
    }

    /// Checks and records a run the allocator just handed out.
    pub(crate) fn admit(&mut self, start: usize, len: usize, align: usize) -> Result<(), Violation> {
        ensure(start.is_multiple_of(align.max(1)), || Violation::Misaligned { addr: start, align })?;
        let end = start.saturating_add(self.span(len));
        ensure(self.lo <= start && end <= self.hi, || Violation::OutOfBounds { addr: start, size: len })?;
        if let Some((&s, &l)) = self.live.range(..end).next_back() {
            ensure(s + self.span(l) <= start, || Violation::Overlap { a: (s, l), b: (start, len) })?;
        }
        self.live.insert(start, len);
        self.units += len;
        Ok(())
    }

    pub(crate) fn remove(&mut self, start: usize) -> Option<usize> {
        let len = self.live.remove(&start)?;
        self.units -= len;
        Some(len)
    }

    pub(crate) fn units(&self) -> usize {
        self.units
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn nth(&self, index: usize) -> Option<(usize, usize)> {
        if self.live.is_empty() {
            return None;
        }
        self.live.iter().nth(index % self.live.len()).map(|(&s, &l)| (s, l))
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.live.iter().map(|(&s, &l)| (s, l))
    }

    /// `true` when `unit_start` lies in a live run.
    pub(crate) fn covers(&self, at: usize) -> bool {
        self.live.range(..=at).next_back().is_some_and(|(&s, &l)| at < s + self.span(l))
    }
}
