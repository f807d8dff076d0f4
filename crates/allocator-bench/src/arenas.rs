//! The arena table: a per-request workload — parse a request's numbers,
//! sort them, write the response — on this workspace's `Region` scopes,
//! on bumpalo (reset after each request) and on the global heap, through
//! `allocator_api2` collections.

use std::{hint::black_box, mem::MaybeUninit, time::Instant};

use allocator::{compose::Region, BaseAllocator};
use allocator_api2::{
    alloc::{Allocator, Global},
    vec::Vec as AVec,
};
use bumpalo::Bump;

use crate::Rng;

/// Requests per run.
pub(crate) const REQUESTS: usize = 20_000;
/// Numbers per request.
pub(crate) const NUMBERS: usize = 64;
/// Bytes each arena holds: more than one request needs.
const ARENA: usize = 64 * 1024;

/// One contender's runs: requests per second.
pub(crate) struct ArenaRow {
    pub(crate) name: &'static str,
    pub(crate) ours: bool,
    pub(crate) runs: Vec<f64>,
}

impl ArenaRow {
    /// The median run.
    pub(crate) fn median(&self) -> f64 {
        let mut r = self.runs.clone();
        r.sort_by(f64::total_cmp);
        r.get(r.len().saturating_sub(1) / 2).copied().unwrap_or(0.0)
    }

    /// (best - worst) / median.
    pub(crate) fn spread(&self) -> f64 {
        let (lo, hi) = self.runs.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if self.runs.len() < 2 || self.median() <= 0.0 {
            0.0
        } else {
            (hi - lo) / self.median()
        }
    }
}

/// The requests: `REQUESTS` lines of `NUMBERS` numbers, the same for every
/// contender.
fn requests(seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..REQUESTS)
        .map(|_| (0..NUMBERS).map(|_| rng.below(1_000_000).to_string()).collect::<Vec<_>>().join(" "))
        .collect()
}

/// Writes `n` in decimal at the end of `out`.
fn push_decimal<A: Allocator>(out: &mut AVec<u8, A>, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// One request: its numbers parsed into a vector, sorted, and written back
/// comma-separated into a response that grows as it is written; returns a
/// checksum of the response.
fn handle<A: Allocator + Copy>(request: &str, a: A) -> usize {
    let mut numbers = AVec::new_in(a);
    for token in request.split(' ') {
        numbers.push(token.parse::<u32>().unwrap_or(0));
    }
    numbers.sort_unstable();
    let mut response = AVec::new_in(a);
    response.extend_from_slice(b"sorted:");
    for n in &numbers {
        push_decimal(&mut response, *n);
        response.push(b',');
    }
    response.len() + usize::from(response[response.len() / 2])
}

/// Requests per second of one run of `serve` over every request.
fn run(requests: &[String], mut serve: impl FnMut(&str) -> usize) -> f64 {
    let start = Instant::now();
    let mut sum = 0usize;
    for r in requests {
        sum = sum.wrapping_add(serve(r));
    }
    black_box(sum);
    requests.len() as f64 / start.elapsed().as_secs_f64()
}

/// The arena table: `repeat` timed rounds after a warm-up, the contenders
/// interleaved; every contender serves the same requests and must give the
/// same checksum.
pub(crate) fn table(repeat: usize, seed: u64) -> Vec<ArenaRow> {
    let requests = requests(seed);
    // The region's memory, leaked once: a `Region` takes `'static` memory.
    let memory: &'static mut [MaybeUninit<u8>] =
        Box::leak(vec![MaybeUninit::uninit(); ARENA].into_boxed_slice());
    let mut region = Region::new();
    if region.add_static(memory).is_err() {
        return Vec::new();
    }
    let mut bump = Bump::with_capacity(ARENA);
    let mut rows = vec![
        ArenaRow { name: "region scope", ours: true, runs: Vec::new() },
        ArenaRow { name: "bumpalo", ours: false, runs: Vec::new() },
        ArenaRow { name: "global heap", ours: false, runs: Vec::new() },
    ];
    for round in 0..=repeat {
        for k in 0..rows.len() {
            let which = (k + round) % rows.len();
            let rate = match which {
                0 => run(&requests, |r| region.scope(|s| handle(r, s))),
                1 => run(&requests, |r| {
                    let sum = handle(r, &bump);
                    bump.reset();
                    sum
                }),
                _ => run(&requests, |r| handle(r, Global)),
            };
            if round > 0 {
                rows[which].runs.push(rate);
            }
        }
    }
    // The same answers from every contender (checked once, untimed).
    let first = &requests[0];
    let want = handle(first, Global);
    let got_region = region.scope(|s| handle(first, s));
    let got_bump = handle(first, &bump);
    assert_eq!((got_region, got_bump), (want, want), "an arena gave another response");
    rows
}
