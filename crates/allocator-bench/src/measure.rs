//! The measurements the byte table does not hold: pages and ids, the
//! wrapper overhead in time, and heap health after a random run.

use crate::{
    heaps::{self, Kind},
    pages::{self, Pages},
    report::goodness,
    workloads::{self, AfterRun, Scale},
    Contender, Workload,
};

/// A page or id contender's rates, by label.
pub(crate) struct PageRow {
    pub(crate) name: &'static str,
    pub(crate) rates: Vec<(&'static str, f64)>,
}

/// Ours against the crate it wraps, on one workload.
pub(crate) struct Overhead {
    pub(crate) ours: &'static str,
    pub(crate) raw: &'static str,
    pub(crate) workload: &'static str,
    /// Our time divided by the raw crate's (1.03 = 3 % slower).
    pub(crate) ratio: f64,
}

/// A heap's health after the long random run.
pub(crate) struct HealthRow {
    pub(crate) name: &'static str,
    pub(crate) ours: bool,
    pub(crate) after: AfterRun,
}
/// The page and id table.
pub(crate) fn pages(pairs: usize) -> Vec<PageRow> {
    fn runs<P: Pages>(name: &'static str, pairs: usize) -> PageRow {
        let mut rates = Vec::new();
        for (label, n, frag) in [
            ("1", 1, false),
            ("8", 8, false),
            ("64", 64, false),
            ("1 frag", 1, true),
            ("8 frag", 8, true),
            ("64 frag", 64, true),
        ] {
            let reps = if frag && n > 1 { (pairs / 20).max(100) } else { pairs };
            rates.push((label, pages::page_pairs::<P>(n, frag, reps)));
        }
        PageRow { name, rates }
    }
    vec![
        runs::<pages::OurBitmap>("bitmap pages *", pairs),
        runs::<pages::RawBitmap>("bitmap-allocator", pairs),
        runs::<pages::OurBuddyPages>("buddy pages *", pairs),
        runs::<pages::RawFrames>("FrameAllocator", pairs),
        PageRow { name: "bitmap ids *", rates: vec![("1 id", pages::id_pairs::<pages::OurIds>(pairs * 10))] },
        PageRow {
            name: "bitmap-allocator ids",
            rates: vec![("1 id", pages::id_pairs::<pages::RawIds>(pairs * 10))],
        },
    ]
}

/// Ours against the crate it wraps: 7 alternating runs each, the best of
/// each side, on the workloads where the wrapper does most per call.
pub(crate) fn overhead(chosen: &[&Contender], arena: *mut u8, scale: Scale) -> Vec<Overhead> {
    let mut out = Vec::new();
    let small = Scale { ops: scale.ops / 3, pairs: scale.pairs, rounds: scale.rounds };
    for ours in chosen.iter().filter(|c| c.kind == Kind::Ours) {
        let Some(raw) = ours.wraps.and_then(|w| chosen.iter().find(|c| c.name == w)) else { continue };
        for w in [Workload::Random200, Workload::Random30k] {
            let (mut best_ours, mut best_raw) = (0.0f64, 0.0f64);
            for i in 0..7 {
                best_ours = best_ours.max(goodness((ours.run)(w, arena, small, 99 + i)));
                best_raw = best_raw.max(goodness((raw.run)(w, arena, small, 99 + i)));
            }
            out.push(Overhead {
                ours: ours.name,
                raw: raw.name,
                workload: w.name(),
                ratio: best_raw / best_ours,
            });
        }
    }
    let pairs = (scale.pairs / 2).max(10_000);
    let mut page_pair = |ours: &'static str,
                         raw: &'static str,
                         a: fn(usize, bool, usize) -> f64,
                         b: fn(usize, bool, usize) -> f64| {
        let (mut x, mut y) = (0.0f64, 0.0f64);
        for _ in 0..7 {
            x = x.max(a(1, false, pairs));
            y = y.max(b(1, false, pairs));
        }
        out.push(Overhead { ours, raw, workload: "1 page", ratio: y / x });
    };
    page_pair(
        "bitmap pages",
        "bitmap-allocator",
        pages::page_pairs::<pages::OurBitmap>,
        pages::page_pairs::<pages::RawBitmap>,
    );
    page_pair(
        "buddy pages",
        "FrameAllocator",
        pages::page_pairs::<pages::OurBuddyPages>,
        pages::page_pairs::<pages::RawFrames>,
    );
    out
}

/// The heap health after a random run, for each chosen heap that can tell
/// (`tlsf` followed by itself under a `Stats` layer, for the peak).
pub(crate) fn health(chosen: &[&Contender], arena: *mut u8) -> Vec<HealthRow> {
    let mut out = Vec::new();
    for c in chosen {
        if let Some(after) = (c.health)(arena) {
            out.push(HealthRow { name: c.name, ours: c.kind == Kind::Ours, after });
        }
        if c.name == "tlsf" {
            if let Some(after) = workloads::after_random_run::<heaps::CountedTlsf>(arena) {
                out.push(HealthRow { name: "counted-tlsf", ours: true, after });
            }
        }
    }
    out
}
