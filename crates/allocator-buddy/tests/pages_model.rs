//! BuddyPageAllocator with several regions (gaps, adjacent,
//! unaligned ends) inside a wrapping window, random ops against a model.
use std::collections::BTreeSet;

use allocator_buddy::BuddyPageAllocator;
use allocator_core::{AllocError, BaseAllocator, PageAllocator};

const PS: usize = 4096;
type P = BuddyPageAllocator<PS, 4>; // 256-page window

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn run(seed: u64) {
    let mut r = Rng(seed | 1);
    let mut p = P::new();
    let mut given: BTreeSet<usize> = BTreeSet::new(); // frames
                                                      // Window base: an odd group, so the slot tree wraps.
    let base_frame = (5 + r.below(7)) * 64 + r.below(64);
    let mut frame = base_frame;
    let mut first = true;
    let mut wend = 0;
    while frame < base_frame + 250 {
        let len = 1 + r.below(40);
        let gap = if r.below(3) == 0 { 0 } else { r.below(5) };
        let start = frame * PS + if r.below(4) == 0 { 123 } else { 0 };
        let size =
            len * PS - if !start.is_multiple_of(PS) { 123 } else { 0 } + if r.below(4) == 0 { 77 } else { 0 };
        // SAFETY: page allocators touch no memory.
        let res = unsafe {
            if first {
                p.init(start, size)
            } else {
                p.add_memory(start, size)
            }
        };
        if res.is_ok() {
            if first {
                let f0 = start.div_ceil(PS);
                wend = f0 - f0 % 64 + 256;
            }
            let end = ((start + size) / PS).min(wend);
            for f in start.div_ceil(PS)..end {
                assert!(given.insert(f), "seed {seed}: frame {f} given twice");
            }
            first = false;
        }
        frame += len + gap;
    }
    assert_eq!(p.total_pages(), given.len(), "seed {seed}: total");
    let mut live: Vec<(usize, usize)> = Vec::new();
    let mut taken: BTreeSet<usize> = BTreeSet::new();
    for step in 0..3000 {
        match r.below(5) {
            0 | 1 => {
                let cap = if r.below(4) == 0 { 100 } else { 8 };
                let num = 1 + r.below(cap);
                let align = PS << r.below(9);
                let shift = if r.below(3) == 0 { 13 } else { 0 };
                match p.alloc_pages(num, (align >> shift).max(1)) {
                    Ok(b) => {
                        assert_eq!(b % PS, 0);
                        let f = b / PS;
                        for i in f..f + num {
                            assert!(given.contains(&i), "seed {seed} step {step}: frame {i} never given");
                            assert!(taken.insert(i), "seed {seed} step {step}: frame {i} handed out twice");
                        }
                        live.push((f, num));
                    }
                    Err(AllocError::NoMemory) => {}
                    Err(e) => panic!("seed {seed} step {step}: {e:?}"),
                }
            }
            2 => {
                let f = base_frame - 10 + r.below(280);
                let num = 1 + r.below(6);
                let res = p.alloc_pages_at(f * PS, num, PS);
                let ok = (f..f + num).all(|i| given.contains(&i) && !taken.contains(&i));
                // Only contiguous *managed* ranges are valid; the model accepts
                // any all-given run, which may span a gap in regions (then the
                // allocator must refuse).
                if let Ok(b) = res {
                    assert!(ok, "seed {seed} step {step}: alloc_pages_at({b:#x}, {num}) over taken/ungiven");
                    for i in f..f + num {
                        taken.insert(i);
                    }
                    live.push((f, num));
                }
            }
            3 if !live.is_empty() => {
                let i = r.below(live.len());
                let (f, n) = live.swap_remove(i);
                // SAFETY: touches nothing.
                let res = unsafe { p.dealloc_pages(f * PS, n) };
                assert_eq!(res, Ok(()), "seed {seed} step {step}: free of a live run ({f}, {n})");
                for j in f..f + n {
                    taken.remove(&j);
                }
            }
            _ => {
                // Bogus free: a random frame/count that is not exactly a live run.
                let f = base_frame - 3 + r.below(260);
                let n = 1 + r.below(4);
                if live.iter().any(|&(a, b)| a == f && b == n) {
                    continue;
                }
                // SAFETY: must be refused, touches nothing.
                let res = unsafe { p.dealloc_pages(f * PS, n) };
                assert!(res.is_err(), "seed {seed} step {step}: bogus free ({f}, {n}) accepted");
            }
        }
        assert_eq!(p.used_pages(), taken.len(), "seed {seed} step {step}: used");
    }
}

#[test]
fn random_multi_region() {
    for seed in 1..4000u64 {
        run(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    }
}

/// The region as given is checked for overlap, but only its trimmed pages
/// are recorded: a region overlapping the untrimmed tail is accepted.
#[test]
/// A region that overlaps the part of an earlier one trimmed off to whole
/// pages overlaps it all the same: `MemoryOverlap`, as the byte heaps say.
fn overlap_with_a_trimmed_tail_is_refused() {
    let mut p = P::new();
    // SAFETY: touches nothing.
    unsafe {
        p.init(0x40_0000, 3 * PS + 0x800).unwrap();
        let r = p.add_memory(0x40_0000 + 3 * PS, PS);
        assert_eq!(r, Err(AllocError::MemoryOverlap));
    }
}
