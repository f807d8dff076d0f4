//! What each combinator promises beyond the shared suite.

use core::{
    alloc::Layout,
    ptr::{without_provenance_mut, NonNull},
};

use allocator_compose::{
    FailAfter, Fallback, NullAllocator, Pool, Proxy, Region, Segregator, Stats, StatsSnapshot, System,
};
use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns};
use allocator_testkit::{
    byte::{self, ByteOp, ByteShadow, Resize},
    proptest::prelude::*,
    run_cases, ByteConfig, TestRegion,
};
use allocator_tlsf::TlsfByteAllocator;

fn config() -> ByteConfig {
    ByteConfig::new(16 * 1024).more_regions(&[128 * 1024]).initial_regions(2).cases(48)
}

/// After any sequence, every live block is owned by exactly one part, and
/// it is the part its size and the parts' room say it came from.
#[test]
fn every_live_block_has_exactly_one_owner() {
    let c = config();
    run_cases(c.cases, byte::byte_ops(&c), |ops| {
        let mut s = ByteShadow::new(Fallback::new(Pool::<64>::new(), TlsfByteAllocator::new()), &c)?;
        for op in &ops {
            byte::apply(&mut s, op)?;
        }
        let blocks: Vec<(usize, Layout)> = s.live_blocks().collect();
        let f = s.allocator();
        for (addr, layout) in blocks {
            // Only compared, never dereferenced.
            let p = NonNull::new(without_provenance_mut(addr)).unwrap();
            let (a, b) = (f.primary().owns(p, layout), f.secondary().owns(p, layout));
            assert!(a != b, "{addr:#x} owned by the pool: {a}, by TLSF: {b}");
            assert!(!a || layout.size() <= 64, "a {}-byte block in the 64-byte pool", layout.size());
        }
        s.free_all(None)
    });
}

/// The segregator sends each size to its side, and frees find it there.
#[test]
fn segregator_routes_by_size_alone() {
    let small = TestRegion::new(8192, 4096, 0);
    let large = TestRegion::new(64 * 1024, 4096, 0);
    let mut s: Segregator<128, Pool<128>, TlsfByteAllocator> =
        Segregator::new(Pool::new(), TlsfByteAllocator::new());
    // SAFETY: the regions outlive the allocator.
    unsafe {
        s.init(small.ptr(), small.size()).unwrap();
        s.add_memory(large.ptr(), large.size()).unwrap();
        assert_eq!(
            s.add_memory(small.ptr().wrapping_add(8), 64),
            Err(AllocError::MemoryOverlap),
            "routed regions are known"
        );
    }
    for (size, on_small) in [(1, true), (128, true), (129, false), (5000, false)] {
        let l = Layout::from_size_align(size, 8).unwrap();
        let p = s.alloc(l).unwrap();
        assert_eq!(s.small().owns(p, l), on_small, "{size}");
        assert_eq!(s.large().owns(p, l), !on_small, "{size}");
        // SAFETY: live for `l`.
        unsafe { s.dealloc(p, l) };
    }
    assert_eq!(s.used_bytes(), 0);
}

/// TLSF reporting the requested size as usable (the provided
/// `usable_size`), so that the shadow frees and resizes every block with
/// the size it asked for: `Stats` counts sizes as callers describe them.
#[derive(Debug, Default)]
struct Exact(TlsfByteAllocator);

impl BaseAllocator for Exact {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.add_memory(start, size) }
    }
}

// SAFETY: every operation is TLSF's; a smaller usable size only narrows
// what callers may do.
unsafe impl ByteAllocator for Exact {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.0.alloc(layout)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr, layout) }
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.resize_in_place(ptr, layout, new_size) }
    }

    fn figures(&self) -> Figures {
        self.0.figures()
    }
}

/// `Stats` counts exactly what the shadow model saw.
#[test]
fn stats_agree_with_the_shadow() {
    let c = ByteConfig::new(64 * 1024).cases(48);
    run_cases(c.cases, byte::byte_ops(&c), |ops| {
        let mut s = ByteShadow::new(Proxy::new(Exact::default(), Stats::new()), &c)?;
        let (mut allocs, mut frees, mut fails, mut resizes) = (0u64, 0u64, 0u64, 0u64);
        let mut histogram = [0u64; allocator_compose::SIZE_CLASSES];
        for op in &ops {
            match op {
                ByteOp::Alloc { size, align_log2 } => {
                    let Ok(l) = Layout::from_size_align(*size, 1 << (align_log2 % 64)) else { continue };
                    match s.alloc(l)? {
                        Ok(_) => {
                            allocs += 1;
                            histogram[StatsSnapshot::size_class(*size)] += 1;
                        }
                        Err(_) => fails += 1,
                    }
                }
                ByteOp::Dealloc { index } => {
                    if let Some(a) = s.nth_live(*index) {
                        s.dealloc(a)?;
                        frees += 1;
                    }
                }
                ByteOp::Resize { index, new_size, align_log2, how } => {
                    let (Some(a), Ok(l)) =
                        (s.nth_live(*index), Layout::from_size_align(*new_size, 1 << (align_log2 % 64)))
                    else {
                        continue;
                    };
                    let old = s.live_blocks().find(|b| b.0 == a).unwrap().1.size();
                    let malformed = match how {
                        Resize::Grow => l.size() < old,
                        Resize::Shrink => l.size() > old || l.size() == 0,
                        Resize::Realloc | Resize::InPlace => l.size() == 0,
                    };
                    match s.resize(a, l, *how)? {
                        Ok(_) => resizes += 1,
                        // Malformed: refused before the hook sees it. In
                        // place: a refusal is no failure (the caller moves).
                        Err(_) if malformed || *how == Resize::InPlace => {}
                        Err(_) => fails += 1,
                    }
                }
                ByteOp::AddMemory => {}
            }
        }
        let live: usize = s.live_blocks().map(|b| b.1.size()).sum();
        let snap = s.allocator().hook().snapshot();
        assert_eq!((snap.allocations, snap.frees, snap.resizes), (allocs, frees, resizes));
        assert_eq!(snap.failures, fails);
        assert_eq!(snap.bytes_live, live);
        assert_eq!(snap.blocks_live(), s.live_count() as u64);
        assert_eq!(snap.histogram, histogram);
        assert!(snap.peak_bytes_live >= live);
        s.free_all(None)
    });
}

#[test]
fn a_snapshot_difference_measures_one_phase() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut p = Proxy::new(TlsfByteAllocator::new(), Stats::new());
    // SAFETY: the region outlives the allocator.
    unsafe { p.init(region.ptr(), region.size()) }.unwrap();
    let l = Layout::from_size_align(100, 8).unwrap();
    let keep = p.alloc(l).unwrap();
    let before = p.hook().snapshot();
    p.hook_mut().reset_peak();
    let a = p.alloc(l).unwrap();
    let b = p.alloc(Layout::from_size_align(3000, 8).unwrap()).unwrap();
    // SAFETY: live blocks.
    unsafe {
        p.dealloc(a, l);
        p.dealloc(b, Layout::from_size_align(3000, 8).unwrap());
    }
    let phase = p.hook().snapshot() - before;
    assert_eq!((phase.allocations, phase.frees, phase.bytes_live), (2, 2, 0));
    assert_eq!(phase.peak_bytes_live, 3200);
    assert_eq!(phase.histogram[StatsSnapshot::size_class(3000)], 1);
    // SAFETY: live.
    unsafe { p.dealloc(keep, l) };
}

/// Exactly the n-th request fails, with `NoMemory`, and nothing else
/// changes: the same sequence with and without the fault differs only
/// there.
#[test]
fn fail_after_fails_exactly_the_nth_request() {
    for n in 1..=12u64 {
        let region = TestRegion::new(64 * 1024, 4096, 0);
        let mut p = Proxy::new(TlsfByteAllocator::new(), FailAfter::nth(n));
        // SAFETY: the region outlives the allocator.
        unsafe { p.init(region.ptr(), region.size()) }.unwrap();
        let mut live = Vec::new();
        for i in 1..=12u64 {
            let l = Layout::from_size_align(16 * i as usize, 8).unwrap();
            let r = p.alloc(l);
            if i == n {
                assert_eq!(r, Err(AllocError::NoMemory), "request {i} of run {n}");
            } else {
                live.push((r.unwrap(), l));
            }
        }
        assert_eq!(p.hook().injected(), 1);
        let expected: usize = (1..=12u64).filter(|&i| i != n).map(|i| 16 * i as usize).sum();
        assert!(p.used_bytes() >= expected);
        for (ptr, l) in live {
            // SAFETY: live blocks.
            unsafe { p.dealloc(ptr, l) };
        }
        assert_eq!(p.used_bytes(), 0);
    }
}

#[test]
fn fail_over_a_size_counts_grows_too() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut p = Proxy::new(TlsfByteAllocator::new(), (FailAfter::over(1000), Stats::new()));
    // SAFETY: the region outlives the allocator.
    unsafe { p.init(region.ptr(), region.size()) }.unwrap();
    let small = Layout::from_size_align(500, 8).unwrap();
    assert!(p.alloc(Layout::from_size_align(1001, 8).unwrap()).is_err());
    let a = p.alloc(small).unwrap();
    // SAFETY: `a` is live for `small`.
    unsafe {
        assert_eq!(p.grow(a, small, Layout::from_size_align(2000, 8).unwrap()), Err(AllocError::NoMemory));
        let b = p.shrink(a, small, Layout::from_size_align(100, 8).unwrap()).unwrap();
        p.dealloc(b, Layout::from_size_align(100, 8).unwrap());
    }
    assert_eq!(p.hook().1.snapshot().failures, 2);
    assert_eq!(p.hook().0.injected(), 2);
}

#[test]
fn null_allocator_refuses_everything() {
    let mut n = NullAllocator::new();
    assert_eq!(n.alloc(Layout::new::<u64>()), Err(AllocError::NoMemory));
    assert_eq!(n.alloc(Layout::new::<()>()), Err(AllocError::InvalidParam));
    // SAFETY: nothing is touched.
    assert_eq!(unsafe { n.init(without_provenance_mut(0x1000), 0x1000) }, Err(AllocError::InvalidParam));
    assert!(!n.owns(NonNull::dangling(), Layout::new::<u8>()));
    assert_eq!((n.total_bytes(), n.used_bytes(), n.available_bytes()), (0, 0, 0));
    assert_eq!(n.largest_free(), None);
}

#[test]
fn pool_refuses_what_does_not_fit_and_reuses_blocks() {
    let region = TestRegion::new(64 * 10, 64, 0);
    let mut p = Pool::<64>::new();
    // SAFETY: the region outlives the pool.
    unsafe { p.init(region.ptr(), region.size()) }.unwrap();
    assert_eq!(Pool::<64>::BLOCK_ALIGN, 64);
    assert_eq!(Pool::<48>::BLOCK_ALIGN, 16);
    // Never served by this pool: `Unsupported`, not a caller error.
    assert_eq!(p.alloc(Layout::from_size_align(65, 1).unwrap()), Err(AllocError::Unsupported));
    assert_eq!(p.alloc(Layout::from_size_align(8, 128).unwrap()), Err(AllocError::Unsupported));
    let l = Layout::from_size_align(64, 64).unwrap();
    let all: Vec<_> = (0..10).map(|_| p.alloc(l).unwrap()).collect();
    assert_eq!(p.alloc(l), Err(AllocError::NoMemory));
    for &b in &all {
        // SAFETY: live blocks.
        unsafe { p.dealloc(b, l) };
    }
    let again: Vec<_> = (0..10).map(|_| p.alloc(l).unwrap()).collect();
    let (mut x, mut y) = (all.clone(), again.clone());
    x.sort();
    y.sort();
    assert_eq!(x, y, "the same ten blocks come back");
}

#[test]
fn system_is_a_byte_allocator() {
    let mut s = System::new();
    let l = Layout::from_size_align(1000, 64).unwrap();
    let p = s.alloc(l).unwrap();
    assert_eq!(p.as_ptr() as usize % 64, 0);
    assert_eq!(s.used_bytes(), 1000);
    // SAFETY: `p` is live for `l`; then for 4000 bytes.
    unsafe {
        p.as_ptr().write_bytes(3, 1000);
        let q = s.realloc(p, l, 4000).unwrap();
        assert!(core::slice::from_raw_parts(q.as_ptr(), 1000).iter().all(|&b| b == 3));
        assert_eq!(s.used_bytes(), 4000);
        s.dealloc(q, Layout::from_size_align(4000, 64).unwrap());
    }
    assert_eq!(s.used_bytes() + s.available_bytes(), s.total_bytes());
    assert_eq!(s.alloc(Layout::new::<()>()), Err(AllocError::InvalidParam));
    // SAFETY: nothing is touched.
    assert_eq!(unsafe { s.init(without_provenance_mut(0x1000), 0x1000) }, Err(AllocError::InvalidParam));
    assert!(s.alloc(Layout::from_size_align(isize::MAX as usize - 4095, 4096).unwrap()).is_err());
}

#[test]
fn a_policy_ends_in_the_system() {
    let region = TestRegion::new(4096, 4096, 0);
    let mut f = Fallback::new(TlsfByteAllocator::new(), System::new());
    // SAFETY: the region outlives the allocator.
    unsafe { f.init(region.ptr(), region.size()) }.unwrap();
    let big = Layout::from_size_align(1 << 20, 8).unwrap();
    let p = f.alloc(big).unwrap();
    assert!(!f.primary().owns(p, big));
    assert_eq!(f.secondary().used_bytes(), 1 << 20);
    // SAFETY: live.
    unsafe { f.dealloc(p, big) };
    assert_eq!(f.used_bytes(), 0);
}

#[test]
fn a_region_rolls_back_its_last_block_and_resets_when_empty() {
    let region = TestRegion::new(4096, 4096, 0);
    let mut r = Region::new();
    // SAFETY: the region outlives the allocator.
    unsafe { r.init(region.ptr(), region.size()) }.unwrap();
    let l = Layout::from_size_align(100, 8).unwrap();
    let a = r.alloc(l).unwrap();
    let b = r.alloc(l).unwrap();
    let used = r.used_bytes();
    // SAFETY: live blocks, freed once each.
    unsafe {
        r.dealloc(a, l);
        assert_eq!(r.used_bytes(), used, "not the last block: nothing released");
        r.dealloc(b, l);
    }
    assert_eq!(r.used_bytes(), 0, "every block freed: back to the bottom");
    let cp = r.checkpoint();
    let _c = r.alloc(l).unwrap();
    // SAFETY: `_c` is not used after.
    unsafe { r.rewind(cp) };
    assert_eq!(r.used_bytes(), 0);
}

prop_compose! {
    fn sizes()(v in prop::collection::vec(1usize..200, 1..50)) -> Vec<usize> { v }
}

/// Scopes release everything they allocated, nested or not, and an outer
/// scope cannot allocate while an inner one is open.
#[test]
fn scopes_release_what_they_allocated() {
    use allocator_api2::vec::Vec as Vec2;
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut r = Region::new();
    // SAFETY: the region outlives the allocator.
    unsafe { r.init(region.ptr(), region.size()) }.unwrap();
    let l = Layout::from_size_align(64, 8).unwrap();
    let kept = r.alloc(l).unwrap();
    let base = r.used_bytes();
    let sum = r.scope(|s| {
        let mut v: Vec2<u32, _> = Vec2::new_in(s);
        v.extend(0..1000);
        let inner = s.scope(|t| {
            assert_eq!(s.alloc(l), Err(AllocError::NoMemory), "the outer scope waits");
            let mut w: Vec2<u64, _> = Vec2::new_in(t);
            w.extend(0..100);
            w.iter().sum::<u64>()
        });
        assert!(s.alloc(l).is_ok(), "the outer scope works again");
        v.iter().map(|&x| u64::from(x)).sum::<u64>() + inner
    });
    assert_eq!(sum, 999 * 1000 / 2 + 99 * 100 / 2);
    assert_eq!(r.used_bytes(), base, "everything the scopes took is back");
    // SAFETY: `kept` is live.
    unsafe { r.dealloc(kept, l) };
    assert_eq!(r.used_bytes(), 0);
}

#[test]
fn scopes_under_random_sizes() {
    run_cases(64, sizes(), |sizes| {
        let region = TestRegion::new(64 * 1024, 4096, 0);
        let mut r = Region::new();
        // SAFETY: the region outlives the allocator.
        unsafe { r.init(region.ptr(), region.size()) }.unwrap();
        r.scope(|s| {
            for &n in &sizes {
                let p = s.alloc(Layout::from_size_align(n, 8).unwrap()).unwrap();
                // SAFETY: a fresh block of `n` bytes.
                unsafe { p.as_ptr().write_bytes(0xAB, n) };
            }
        });
        assert_eq!(r.used_bytes(), 0);
        Ok(())
    });
}

/// A refilled TLSF heap serves a block larger than any refill so far: the
/// refill leaves room for TLSF's rounding of the request to its size class.
#[test]
fn refill_serves_a_block_larger_than_the_policy_cap() {
    use allocator_bitmap::BitmapPageAllocator;
    use allocator_compose::{Refill, RefillPolicy};
    let region = TestRegion::new(64 << 20, 4096, 0);
    let policy = RefillPolicy { min_pages: 1, max_pages: 16, doubling: true };
    // SAFETY: the page allocator is given `region` only: real memory whose
    // address, exposed below, is a pointer to it.
    let mut r =
        unsafe { Refill::with_policy(TlsfByteAllocator::new(), BitmapPageAllocator::<4096>::new(), policy) };
    // SAFETY: the region outlives the allocator.
    unsafe { r.init(region.addr(), region.size()) }.unwrap();
    for size in [16 << 20, 8 << 20, 1 << 20, 100] {
        let l = Layout::from_size_align(size, 8).unwrap();
        let p = r.alloc(l).unwrap_or_else(|e| panic!("{size} bytes: {e}"));
        // SAFETY: live for `l`.
        unsafe { r.dealloc(p, l) };
    }
    assert_eq!(r.used_bytes(), 0);
}
