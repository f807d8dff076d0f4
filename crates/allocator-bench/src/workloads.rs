//! The byte-heap workloads. Each takes a fresh heap and returns one figure.

use std::{alloc::Layout, collections::BTreeMap, hint::black_box, ptr::NonNull, time::Instant};

use allocator::Health;

use crate::{heaps::Heap, router::with_heap, Rng};

/// What a workload measured.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Figure {
    /// Operations per second (higher is better).
    Rate(f64),
    /// Seconds for a fixed piece of work (lower is better).
    Seconds(f64),
    /// Nanoseconds per alloc+free pair: p50, p99, max (lower is better).
    Latency { p50: f64, p99: f64, max: f64 },
    /// Share of the heap in use at the first failure (higher is better).
    Efficiency(f64),
}

/// Size of the sequence-driven workloads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scale {
    /// Operations of each random-actions run.
    pub(crate) ops: usize,
    /// Alloc+free pairs timed for latency.
    pub(crate) pairs: usize,
    /// Rounds of the efficiency workload.
    pub(crate) rounds: usize,
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, 8).expect("bench layouts are valid")
}

/// Random actions on 512 slots (talc's benchmark): an empty slot gets a
/// block of 1..=`max` bytes, a full one is freed (or, with `realloc`, half
/// the time resized instead).
pub(crate) fn random_actions<H: Heap>(h: &mut H, max: usize, realloc: bool, ops: usize, seed: u64) -> Figure {
    let mut rng = Rng::new(seed);
    let mut slots: Vec<Option<(NonNull<u8>, Layout)>> = vec![None; 512];
    let start = Instant::now();
    for _ in 0..ops {
        let i = rng.below(slots.len());
        match slots[i] {
            None => {
                let l = layout(1 + rng.below(max));
                if let Some(p) = h.alloc(l) {
                    // SAFETY: a fresh block of at least one byte.
                    unsafe { p.as_ptr().write(1) };
                    slots[i] = Some((p, l));
                }
            }
            Some((p, l)) if realloc && rng.below(2) == 0 => {
                let n = 1 + rng.below(max);
                // SAFETY: `p` is live for `l`.
                if let Some(q) = unsafe { h.realloc(p, l, n) } {
                    slots[i] = Some((q, layout(n)));
                }
            }
            Some((p, l)) => {
                // SAFETY: `p` is live for `l`.
                unsafe { h.dealloc(p, l) };
                slots[i] = None;
            }
        }
    }
    let rate = ops as f64 / start.elapsed().as_secs_f64();
    for (p, l) in slots.into_iter().flatten() {
        // SAFETY: live blocks.
        unsafe { h.dealloc(p, l) };
    }
    Figure::Rate(rate)
}

/// arceos: push 3 million `u32` into a `Vec` (through the global
/// allocator, so growth goes through the heap's realloc).
pub(crate) fn vec_push<H: Heap + 'static>(h: &mut H) -> Figure {
    with_heap(h, || {
        let start = Instant::now();
        let mut v = Vec::new();
        for i in 0..3_000_000u32 {
            v.push(i);
        }
        black_box(&v);
        drop(v);
        Figure::Seconds(start.elapsed().as_secs_f64())
    })
}

/// arceos: 25,000 × 512 B and 7,500 × 4,160 B blocks allocated, then freed
/// in shuffled order; the allocations and the frees are both timed.
pub(crate) fn fill_shuffled_free<H: Heap>(h: &mut H, seed: u64) -> Figure {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let mut blocks: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(32_500);
    for size in std::iter::repeat_n(512, 25_000).chain(std::iter::repeat_n(4160, 7_500)) {
        if let Some(p) = h.alloc(layout(size)) {
            blocks.push((p, layout(size)));
        }
    }
    rng.shuffle(&mut blocks);
    for (p, l) in blocks {
        // SAFETY: live blocks, each freed once.
        unsafe { h.dealloc(p, l) };
    }
    Figure::Seconds(start.elapsed().as_secs_f64())
}

/// arceos: 50,000 `BTreeMap` operations (inserts, lookups, removals).
pub(crate) fn btree<H: Heap + 'static>(h: &mut H, seed: u64) -> Figure {
    let mut rng = Rng::new(seed);
    with_heap(h, || {
        let start = Instant::now();
        let mut map = BTreeMap::new();
        for i in 0..50_000u64 {
            let key = rng.below(20_000) as u64;
            match i % 4 {
                0 | 1 => {
                    map.insert(key, format!("value {i}"));
                }
                2 => {
                    black_box(map.get(&key));
                }
                _ => {
                    map.remove(&key);
                }
            }
        }
        drop(map);
        Figure::Seconds(start.elapsed().as_secs_f64())
    })
}

/// Latency of alloc+free pairs (1..=1024 bytes) against 500 live blocks:
/// the typical pair (p50) as the median of 64-pair batches' mean, the
/// tail (p99, max) from `pairs` more pairs each timed alone.
pub(crate) fn latency<H: Heap>(h: &mut H, pairs: usize, seed: u64) -> Figure {
    let mut rng = Rng::new(seed);
    let live: Vec<(NonNull<u8>, Layout)> = (0..500)
        .filter_map(|_| {
            let l = layout(1 + rng.below(1024));
            h.alloc(l).map(|p| (p, l))
        })
        .collect();
    let clock = FineClock::calibrated();
    let mut pair = |rng: &mut Rng| {
        let l = layout(1 + rng.below(1024));
        if let Some(p) = h.alloc(l) {
            // SAFETY: just allocated for `l`.
            unsafe { h.dealloc(black_box(p), l) };
        }
    };
    // The typical pair: batches of `BATCH` pairs, each batch's time over
    // `BATCH` (a read of the clock costs as much as a fast pair, and its
    // steps are as coarse: one pair alone would measure mostly the clock).
    const BATCH: usize = 64;
    let mut batches: Vec<f64> = (0..pairs.div_ceil(BATCH))
        .map(|_| {
            let t = clock.now();
            for _ in 0..BATCH {
                pair(&mut rng);
            }
            clock.ns_since(t) / BATCH as f64
        })
        .collect();
    // The tail: each pair timed alone.
    let mut times: Vec<f64> = (0..pairs)
        .map(|_| {
            let t = clock.now();
            pair(&mut rng);
            clock.ns_since(t)
        })
        .collect();
    for (p, l) in live {
        // SAFETY: live blocks.
        unsafe { h.dealloc(p, l) };
    }
    batches.sort_by(f64::total_cmp);
    times.sort_by(f64::total_cmp);
    let at = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    Figure::Latency { p50: at(&batches, 0.5), p99: at(&times, 0.99), max: at(&times, 1.0) }
}

/// A clock for one short operation: the time-stamp counter on x86_64
/// (a read takes a few nanoseconds and counts at a constant rate), else
/// `Instant` (tens of nanoseconds per read, in steps of the OS timer's
/// resolution). The cost of reading it, an empty timed region's median,
/// is taken off every time.
pub(crate) struct FineClock {
    /// Nanoseconds per tick.
    ns_per_tick: f64,
    /// Ticks an empty timed region takes (the median of many).
    empty: u64,
    /// Where `Instant` ticks count from.
    #[cfg(not(target_arch = "x86_64"))]
    origin: Instant,
}

impl FineClock {
    /// The clock, its rate measured against `Instant` over 20 ms and its
    /// own cost over 10,001 empty regions.
    pub(crate) fn calibrated() -> Self {
        let mut clock = Self {
            ns_per_tick: 1.0,
            empty: 0,
            #[cfg(not(target_arch = "x86_64"))]
            origin: Instant::now(),
        };
        if cfg!(target_arch = "x86_64") {
            let (t0, i0) = (clock.now(), Instant::now());
            while i0.elapsed().as_millis() < 20 {
                std::hint::spin_loop();
            }
            let (t1, ns) = (clock.now(), i0.elapsed().as_nanos() as f64);
            clock.ns_per_tick = ns / (t1.saturating_sub(t0).max(1)) as f64;
        }
        let mut empty: Vec<u64> = (0..10_001)
            .map(|_| {
                let t = clock.now();
                clock.now().saturating_sub(t)
            })
            .collect();
        empty.sort_unstable();
        clock.empty = empty[empty.len() / 2];
        clock
    }

    /// The current tick.
    #[inline(always)]
    pub(crate) fn now(&self) -> u64 {
        #[cfg(target_arch = "x86_64")]
        {
            // Ordered after the work before it: `lfence` waits for every
            // earlier instruction to finish.
            // SAFETY: `lfence` and `rdtsc` exist on every x86_64 CPU.
            unsafe {
                core::arch::x86_64::_mm_lfence();
                core::arch::x86_64::_rdtsc()
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self.origin.elapsed().as_nanos() as u64
        }
    }

    /// Nanoseconds from tick `start` to now, less the clock's own cost.
    #[inline(always)]
    pub(crate) fn ns_since(&self, start: u64) -> f64 {
        let ticks = self.now().saturating_sub(start).saturating_sub(self.empty);
        ticks as f64 * self.ns_per_tick
    }
}

/// How full a 4 MiB heap is at its first failed allocation, under random
/// allocations (1..=4096 bytes, two in three) and frees, averaged over
/// `rounds` fresh heaps.
pub(crate) fn efficiency<H: Heap>(arena: *mut u8, rounds: usize, seed: u64) -> Figure {
    const SIZE: usize = 4 << 20;
    let mut rng = Rng::new(seed);
    let mut total = 0.0;
    for _ in 0..rounds {
        // SAFETY: the first 4 MiB of the bench arena, used by this heap alone
        // until it is dropped at the end of the round.
        let mut h = unsafe { H::over(arena, SIZE) };
        let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
        let mut bytes = 0usize;
        loop {
            if live.is_empty() || rng.below(3) != 0 {
                let l = layout(1 + rng.below(4096));
                match h.alloc(l) {
                    Some(p) => {
                        bytes += l.size();
                        live.push((p, l));
                    }
                    None => break,
                }
            } else {
                let (p, l) = live.swap_remove(rng.below(live.len()));
                bytes -= l.size();
                // SAFETY: a live block, freed once.
                unsafe { h.dealloc(p, l) };
            }
        }
        total += bytes as f64 / SIZE as f64;
        for (p, l) in live {
            // SAFETY: live blocks.
            unsafe { h.dealloc(p, l) };
        }
    }
    Figure::Efficiency(total / rounds as f64)
}

/// The heap of the health run.
pub(crate) const HEALTH_HEAP: usize = 16 << 20;
/// Steps of the health run.
pub(crate) const HEALTH_STEPS: usize = 100_000;
/// The seed of the health run: one sequence of requests for every heap.
const HEALTH_SEED: u64 = 0x4ea1_7b5e;

/// What a long random run leaves in a heap.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AfterRun {
    /// The heap's health at the end of the run, the blocks still live.
    pub(crate) health: Health,
    /// Live blocks at the end.
    pub(crate) live: usize,
    /// Allocations refused during the run.
    pub(crate) failures: usize,
    /// Seconds the run took (the steps and the one `health()`).
    pub(crate) seconds: f64,
}

/// A long random run on a fresh `HEALTH_HEAP`-byte heap: `HEALTH_STEPS`
/// steps, each allocating a block of 16..=4096 bytes (three times in four
/// while live blocks request less than half the heap, once in four
/// otherwise) or freeing a random live block; then the heap's health, the
/// blocks still live. `None`, without running, for a heap that cannot
/// tell its health.
pub(crate) fn after_random_run<H: Heap>(arena: *mut u8) -> Option<AfterRun> {
    // SAFETY: the first `HEALTH_HEAP` bytes of the bench arena, used by this
    // heap alone until it is dropped here.
    let mut h = unsafe { H::over(arena, HEALTH_HEAP) };
    h.health()?;
    let mut rng = Rng::new(HEALTH_SEED);
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::new();
    let (mut bytes, mut failures) = (0usize, 0usize);
    let start = Instant::now();
    for _ in 0..HEALTH_STEPS {
        let under = bytes < HEALTH_HEAP / 2;
        if live.is_empty() || (rng.below(4) == 0) != under {
            let l = layout(16 + rng.below(4096 - 16 + 1));
            match h.alloc(l) {
                Some(p) => {
                    // SAFETY: a fresh block of at least 16 bytes.
                    unsafe { p.as_ptr().write(1) };
                    bytes += l.size();
                    live.push((p, l));
                }
                None => failures += 1,
            }
        } else {
            let (p, l) = live.swap_remove(rng.below(live.len()));
            bytes -= l.size();
            // SAFETY: a live block, freed once.
            unsafe { h.dealloc(p, l) };
        }
    }
    let health = h.health()?;
    let seconds = start.elapsed().as_secs_f64();
    let after = AfterRun { health, live: live.len(), failures, seconds };
    for (p, l) in live {
        // SAFETY: live blocks.
        unsafe { h.dealloc(p, l) };
    }
    Some(after)
}

#[cfg(test)]
mod tests {
    use std::alloc::{GlobalAlloc, Layout, System};

    use super::{after_random_run, HEALTH_HEAP};
    use crate::heaps::{CountedTlsf, OurBuddy, OurTlsf, TalcHeap};

    /// The health run on a heap of ours: no failure, about half the heap
    /// requested, the peak counted by the `Stats` layer, the same heap
    /// figures with the layer as without; a heap that can tell nothing is
    /// not run.
    #[test]
    fn health_after_a_random_run() {
        let layout = Layout::from_size_align(HEALTH_HEAP, 4096).unwrap();
        // SAFETY: a non-zero layout; freed below.
        let arena = unsafe { System.alloc(layout) };
        assert!(!arena.is_null());
        let bare = after_random_run::<OurTlsf>(arena).unwrap();
        let counted = after_random_run::<CountedTlsf>(arena).unwrap();
        let buddy = after_random_run::<OurBuddy>(arena).unwrap();
        let talc = after_random_run::<TalcHeap>(arena);
        // SAFETY: allocated above with this layout; no heap uses it any more.
        unsafe { System.dealloc(arena, layout) };

        assert_eq!((bare.failures, counted.failures), (0, 0));
        assert_eq!(bare.health.figures(), counted.health.figures());
        assert_eq!(bare.health.largest_free, counted.health.largest_free);
        assert!(bare.health.fragmentation_permille().is_some());
        assert_eq!(bare.health.peak_requested, None);
        let (now, peak) = (counted.health.requested.unwrap(), counted.health.peak_requested.unwrap());
        assert!(now <= peak && now <= counted.health.used);
        assert!((HEALTH_HEAP * 2 / 5..HEALTH_HEAP * 3 / 5).contains(&now), "{now}");
        assert_eq!(buddy.health.largest_free, None);
        assert!(talc.is_none());
    }
}
