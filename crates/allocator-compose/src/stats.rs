//! [`Stats`]: counting hook, and [`StatsSnapshot`] to measure a phase.

use core::{alloc::Layout, ops::Sub, ptr::NonNull};

use allocator_core::AllocResult;

use crate::Hook;

/// Size classes of the histogram: class `k` counts requests of
/// `(2^(k-1), 2^k]` bytes (class 0: one byte).
pub const SIZE_CLASSES: usize = usize::BITS as usize + 1;

/// Figures a [`Stats`] hook has counted, at one moment. Subtract two to get
/// what happened in between: `after - before`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Successful allocations (resizes that succeed count as neither).
    pub allocations: u64,
    /// Frees.
    pub frees: u64,
    /// Failed allocations and failed resizes.
    pub failures: u64,
    /// Successful resizes.
    pub resizes: u64,
    /// Bytes requested by the live blocks (requested sizes, not what the
    /// allocator took).
    pub bytes_live: usize,
    /// The highest `bytes_live` reached (since the last
    /// [`reset_peak`](Stats::reset_peak)). In a difference: the later peak.
    pub peak_bytes_live: usize,
    /// Successful allocations by power-of-two size class (see
    /// [`SIZE_CLASSES`]).
    pub histogram: [u64; SIZE_CLASSES],
}

impl StatsSnapshot {
    /// Nothing counted.
    pub const ZERO: Self = Self {
        allocations: 0,
        frees: 0,
        failures: 0,
        resizes: 0,
        bytes_live: 0,
        peak_bytes_live: 0,
        histogram: [0; SIZE_CLASSES],
    };

    /// Live blocks: allocations less frees.
    pub fn blocks_live(&self) -> u64 {
        self.allocations.saturating_sub(self.frees)
    }

    /// The size class of a request of `size` bytes.
    pub fn size_class(size: usize) -> usize {
        size.max(1).next_power_of_two().trailing_zeros() as usize
    }
}

impl Default for StatsSnapshot {
    fn default() -> Self {
        Self::ZERO
    }
}

/// What happened between two snapshots. Counters are differences
/// (saturating); `bytes_live` is the change clamped at zero; the peak is
/// the later one's.
impl Sub for StatsSnapshot {
    type Output = StatsSnapshot;

    fn sub(self, before: StatsSnapshot) -> StatsSnapshot {
        let mut histogram = [0; SIZE_CLASSES];
        for (h, (a, b)) in histogram.iter_mut().zip(self.histogram.iter().zip(before.histogram.iter())) {
            *h = a.saturating_sub(*b);
        }
        StatsSnapshot {
            allocations: self.allocations.saturating_sub(before.allocations),
            frees: self.frees.saturating_sub(before.frees),
            failures: self.failures.saturating_sub(before.failures),
            resizes: self.resizes.saturating_sub(before.resizes),
            bytes_live: self.bytes_live.saturating_sub(before.bytes_live),
            peak_bytes_live: self.peak_bytes_live,
            histogram,
        }
    }
}

/// A [`Hook`] that counts allocations, frees, failures, resizes, live and
/// peak bytes, and a size histogram. O(1) per operation, no allocation.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    now: StatsSnapshot,
}

impl Stats {
    /// Nothing counted yet.
    pub const fn new() -> Self {
        Self { now: StatsSnapshot::ZERO }
    }

    /// The figures now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.now
    }

    /// Starts a new peak from the bytes live now (to find the peak of one
    /// phase).
    pub fn reset_peak(&mut self) {
        self.now.peak_bytes_live = self.now.bytes_live;
    }

    fn live(&mut self, added: usize, removed: usize) {
        self.now.bytes_live = (self.now.bytes_live + added).saturating_sub(removed);
        self.now.peak_bytes_live = self.now.peak_bytes_live.max(self.now.bytes_live);
    }
}

impl Hook for Stats {
    fn after_alloc(&mut self, layout: Layout, result: &AllocResult<NonNull<u8>>) {
        if result.is_ok() {
            self.now.allocations += 1;
            self.now.histogram[StatsSnapshot::size_class(layout.size())] += 1;
            self.live(layout.size(), 0);
        } else {
            self.now.failures += 1;
        }
    }

    fn before_dealloc(&mut self, _ptr: NonNull<u8>, layout: Layout) {
        self.now.frees += 1;
        self.live(0, layout.size());
    }

    fn after_resize(
        &mut self,
        _ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        result: &AllocResult<NonNull<u8>>,
    ) {
        if result.is_ok() {
            self.now.resizes += 1;
            self.live(new.size(), old.size());
        } else {
            self.now.failures += 1;
        }
    }
}
