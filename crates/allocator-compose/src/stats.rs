//! [`Stats`]: counting hook, and [`StatsSnapshot`] to measure a phase.

use core::{alloc::Layout, ops::Sub, ptr::NonNull};

use allocator_core::{AllocResult, Health};

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
    /// Successful resizes (in place or moved; a refused in-place attempt
    /// counts as nothing).
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

    /// The size class of a request of `size` bytes: the `k` with
    /// `2^(k-1) < size <= 2^k` (0 for 0 and 1), so always below
    /// [`SIZE_CLASSES`], for every `size`.
    pub const fn size_class(size: usize) -> usize {
        match size.checked_next_power_of_two() {
            Some(p) => p.trailing_zeros() as usize,
            // Above the largest power of two: the last class, 2^BITS.
            None => usize::BITS as usize,
        }
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
///
/// Under a [`Proxy`](crate::Proxy), the proxy's
/// [`health`](allocator_core::ByteAllocator::health) carries the live and
/// peak requested bytes ([`Health::requested`],
/// [`Health::peak_requested`]) beside the heap's own figures, largest free
/// block and fragmentation: the peak is of requested sizes (what the hook
/// sees), not of the heap's `used`.
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

    /// Counts never wrap and never panic: they saturate.
    fn live(&mut self, added: usize, removed: usize) {
        self.now.bytes_live = self.now.bytes_live.saturating_add(added).saturating_sub(removed);
        self.now.peak_bytes_live = self.now.peak_bytes_live.max(self.now.bytes_live);
    }

    fn resized(&mut self, old: Layout, new: Layout, ok: bool) {
        if ok {
            self.now.resizes = self.now.resizes.saturating_add(1);
            self.live(new.size(), old.size());
        } else {
            self.now.failures = self.now.failures.saturating_add(1);
        }
    }
}

impl Hook for Stats {
    fn after_alloc(&mut self, layout: Layout, result: &AllocResult<NonNull<u8>>) {
        if result.is_ok() {
            self.now.allocations = self.now.allocations.saturating_add(1);
            let class = &mut self.now.histogram[StatsSnapshot::size_class(layout.size())];
            *class = class.saturating_add(1);
            self.live(layout.size(), 0);
        } else {
            self.now.failures = self.now.failures.saturating_add(1);
        }
    }

    fn before_dealloc(&mut self, _ptr: NonNull<u8>, layout: Layout) {
        self.now.frees = self.now.frees.saturating_add(1);
        self.live(0, layout.size());
    }

    fn after_resize(
        &mut self,
        _ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        result: &AllocResult<NonNull<u8>>,
    ) {
        self.resized(old, new, result.is_ok());
    }

    /// Only a resize that happened counts: a refused in-place attempt is
    /// not a failure (the caller moves the block instead).
    fn after_resize_in_place(&mut self, _ptr: NonNull<u8>, old: Layout, new: Layout, result: &AllocResult) {
        if result.is_ok() {
            self.resized(old, new, true);
        }
    }

    /// Adds the bytes requested by live blocks, and their peak.
    fn health(&self, inner: Health) -> Health {
        inner.with_requested(self.now.bytes_live, self.now.peak_bytes_live)
    }
}

#[cfg(test)]
mod tests {
    use core::{alloc::Layout, ptr::NonNull};

    use allocator_core::{AllocError, BaseAllocator, ByteAllocator};

    use super::{Stats, StatsSnapshot, SIZE_CLASSES};
    use crate::{test_memory::leak, FailAfter, Fallback, Hook, Pool, Proxy, Region, Segregator};

    /// Hole: `size_class` used `next_power_of_two`, which overflows (a
    /// panic in debug builds) for sizes above `2^(BITS-1)`, and `Stats`
    /// added live bytes unchecked. Every size now has a class, and the
    /// counts saturate.
    #[test]
    fn huge_sizes_have_a_class_and_counts_saturate() {
        let top = 1usize << (usize::BITS - 1);
        assert_eq!(StatsSnapshot::size_class(0), 0);
        assert_eq!(StatsSnapshot::size_class(1), 0);
        assert_eq!(StatsSnapshot::size_class(3), 2);
        assert_eq!(StatsSnapshot::size_class(top), usize::BITS as usize - 1);
        assert_eq!(StatsSnapshot::size_class(top + 1), usize::BITS as usize);
        assert_eq!(StatsSnapshot::size_class(usize::MAX), SIZE_CLASSES - 1);

        let mut s = Stats::new();
        let huge = Layout::from_size_align(isize::MAX as usize, 1).unwrap();
        let p = NonNull::dangling();
        for _ in 0..3 {
            s.after_alloc(huge, &Ok(p));
        }
        assert_eq!(s.snapshot().bytes_live, usize::MAX, "saturated, not wrapped");
        s.after_resize(p, huge, huge, &Ok(p));
        s.after_resize_in_place(p, Layout::new::<u8>(), huge, &Ok(()));
        s.before_dealloc(p, huge);
        assert_eq!(s.snapshot().peak_bytes_live, usize::MAX);
        assert_eq!(s.snapshot().histogram[StatsSnapshot::size_class(huge.size())], 3);
    }

    /// Every combinator answers the largest layouts with an error, never a
    /// panic or a wrapped address.
    #[test]
    fn huge_requests_are_errors_everywhere() {
        type Policy = Proxy<Segregator<64, Pool<64>, Fallback<Region, Region>>, (FailAfter, Stats)>;
        let mut heap: Policy = Proxy::new(
            Segregator::new(Pool::new(), Fallback::new(Region::new(), Region::new())),
            (FailAfter::never(), Stats::new()),
        );
        // SAFETY: leaked memory, the heap's alone.
        unsafe {
            heap.init(leak(4096, 64), 4096).unwrap();
            heap.add_memory(leak(4096, 64), 4096).unwrap();
        }
        let max = isize::MAX as usize;
        for align in [1, 8, 4096, 1 << 20] {
            let l = Layout::from_size_align(max - (align - 1), align).unwrap();
            assert_eq!(heap.alloc(l), Err(AllocError::NoMemory), "align {align}");
        }
        let l = Layout::from_size_align(64, 64).unwrap();
        let p = heap.alloc(l).unwrap();
        // SAFETY: `p` is live for `l`.
        unsafe {
            assert_eq!(heap.resize_in_place(p, l, usize::MAX), Err(AllocError::InvalidParam));
            assert_eq!(heap.resize_in_place(p, l, max - 63), Err(AllocError::Unsupported));
            assert_eq!(heap.realloc(p, l, max - 63), Err(AllocError::NoMemory));
            assert_eq!(heap.realloc(p, l, usize::MAX), Err(AllocError::InvalidParam));
            heap.dealloc(p, l);
        }
        let f = heap.figures();
        assert_eq!((f.total, f.used), (4096 + 4096, 0));
        assert_eq!(heap.hook().1.snapshot().bytes_live, 0);
    }
}
