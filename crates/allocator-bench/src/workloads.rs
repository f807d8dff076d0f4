//! The byte-heap workloads. Each takes a fresh heap and returns one figure.

use std::{alloc::Layout, collections::BTreeMap, hint::black_box, ptr::NonNull, time::Instant};

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
    let mut rng = Rng(seed);
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

/// arceos: 25,000 × 512 B and 7,500 × 4,160 B blocks, freed in shuffled
/// order.
pub(crate) fn shuffled_frees<H: Heap>(h: &mut H, seed: u64) -> Figure {
    let mut rng = Rng(seed);
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
    let mut rng = Rng(seed);
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

/// Latency of alloc+free pairs (1..=1024 bytes) against 500 live blocks.
pub(crate) fn latency<H: Heap>(h: &mut H, pairs: usize, seed: u64) -> Figure {
    let mut rng = Rng(seed);
    let live: Vec<(NonNull<u8>, Layout)> = (0..500)
        .filter_map(|_| {
            let l = layout(1 + rng.below(1024));
            h.alloc(l).map(|p| (p, l))
        })
        .collect();
    let mut times = Vec::with_capacity(pairs);
    for _ in 0..pairs {
        let l = layout(1 + rng.below(1024));
        let t = Instant::now();
        if let Some(p) = h.alloc(l) {
            // SAFETY: just allocated for `l`.
            unsafe { h.dealloc(black_box(p), l) };
        }
        times.push(t.elapsed().as_nanos() as f64);
    }
    for (p, l) in live {
        // SAFETY: live blocks.
        unsafe { h.dealloc(p, l) };
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    Figure::Latency { p50: at(0.5), p99: at(0.99), max: at(1.0) }
}

/// How full a 4 MiB heap is at its first failed allocation, under random
/// allocations (1..=4096 bytes, two in three) and frees, averaged over
/// `rounds` fresh heaps.
pub(crate) fn efficiency<H: Heap>(arena: *mut u8, rounds: usize, seed: u64) -> Figure {
    const SIZE: usize = 4 << 20;
    let mut rng = Rng(seed);
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
