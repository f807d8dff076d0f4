//! Every input that could upset rlsf is stopped before it gets there, with
//! the error kind the workspace documents.

use core::alloc::Layout;

use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};
use allocator_testkit::TestRegion;
use allocator_tlsf::{TlsfByteAllocator, GRANULARITY, MAX_BLOCK, MAX_REGIONS};

fn heap_over(region: &TestRegion) -> TlsfByteAllocator {
    let mut h = TlsfByteAllocator::new();
    // SAFETY: the region outlives the heap in each test.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    h
}

#[test]
fn regions_too_small_for_a_pool_are_refused() {
    let region = TestRegion::new(4096, 4096, 0);
    for (offset, size) in [(0, 2 * GRANULARITY - 1), (1, 2 * GRANULARITY), (0, 1)] {
        let mut h = TlsfByteAllocator::new();
        // SAFETY: inside a region we own; a correct heap refuses it untouched.
        let r = unsafe { h.init(region.ptr().wrapping_add(offset), size) };
        assert_eq!(r, Err(AllocError::InvalidParam), "{offset} + {size}");
        assert_eq!(h.total_bytes(), 0);
    }
    let mut h = TlsfByteAllocator::new();
    // SAFETY: as above; exactly two granules is the smallest pool.
    unsafe { h.init(region.ptr(), 2 * GRANULARITY) }.unwrap();
    assert_eq!(h.total_bytes(), GRANULARITY);
}

#[test]
fn a_region_at_address_zero_never_hands_out_null() {
    let mut h = TlsfByteAllocator::new();
    // SAFETY: the heap must refuse without touching anything: once address
    // 0 is skipped, nothing of one granule is left.
    let r = unsafe { h.init(core::ptr::null_mut(), GRANULARITY) };
    assert_eq!(r, Err(AllocError::InvalidParam));
}

#[test]
fn a_second_init_is_already_initialized() {
    let (region, more) = (TestRegion::new(4096, 64, 0), TestRegion::new(4096, 64, 0));
    let mut h = heap_over(&region);
    // SAFETY: a correct heap refuses a second init untouched.
    assert_eq!(unsafe { h.init(more.ptr(), more.size()) }, Err(AllocError::AlreadyInitialized));
    assert_eq!(h.total_bytes(), 4096 - GRANULARITY);
}

/// Sizes and alignments rlsf never serves are `Unsupported` (route them
/// elsewhere); a size it serves but that does not fit now is `NoMemory`.
#[test]
fn impossible_layouts_are_unsupported_and_too_large_ones_no_memory() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut h = heap_over(&region);
    for (size, align) in [
        (isize::MAX as usize - (1 << 20), 1),
        (isize::MAX as usize / 2, 1 << 20),
        (1, 1usize << (usize::BITS - 2)),
        (MAX_BLOCK - GRANULARITY / 2 + 1, 8),
    ] {
        // (The last is no valid `Layout` on 32-bit targets, where
        // `MAX_BLOCK` is past every valid layout: those requests are served
        // in principle, so `NoMemory`.)
        let Ok(l) = Layout::from_size_align(size, align) else { continue };
        let want = if size.saturating_add(align).saturating_add(GRANULARITY / 2) > MAX_BLOCK {
            AllocError::Unsupported
        } else {
            AllocError::NoMemory
        };
        assert_eq!(h.alloc(l), Err(want), "{size} / {align}");
    }
    for (size, align) in [(64 * 1024, 8), (MAX_BLOCK - GRANULARITY / 2, 8)] {
        let Ok(l) = Layout::from_size_align(size, align) else { continue };
        assert_eq!(h.alloc(l), Err(AllocError::NoMemory), "{size} / {align}");
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn resizing_to_another_alignment_moves_the_block() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut h = heap_over(&region);
    let a = Layout::from_size_align(100, 8).unwrap();
    let b = Layout::from_size_align(200, 256).unwrap();
    let p = h.alloc(a).unwrap();
    // SAFETY: `p` is live for `a`; then the result is live for `b`.
    unsafe {
        p.as_ptr().write_bytes(9, 100);
        let q = h.grow(p, a, b).unwrap();
        assert_eq!(q.addr().get() % 256, 0);
        assert!(core::slice::from_raw_parts(q.as_ptr(), 100).iter().all(|&x| x == 9));
        h.dealloc(q, b);
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn too_many_regions_are_table_full_and_owned_ones_are_known() {
    let regions: Vec<TestRegion> = (0..=MAX_REGIONS).map(|_| TestRegion::new(256, 64, 0)).collect();
    let mut h = TlsfByteAllocator::new();
    for r in &regions[..MAX_REGIONS] {
        // SAFETY: each region outlives the heap.
        unsafe { h.add_memory(r.ptr(), r.size()) }.unwrap();
    }
    let last = &regions[MAX_REGIONS];
    let total = h.total_bytes();
    // SAFETY: as above; a correct heap refuses it untouched.
    assert_eq!(unsafe { h.add_memory(last.ptr(), last.size()) }, Err(AllocError::TableFull));
    assert_eq!(h.total_bytes(), total);
    let l = Layout::from_size_align(16, 8).unwrap();
    let p = h.alloc(l).unwrap();
    assert!(h.owns(p, l));
    assert!(!h.owns(core::ptr::NonNull::new(last.ptr()).unwrap(), l));
    // SAFETY: live for `l`.
    unsafe { h.dealloc(p, l) };
}

/// A region larger than one pool is split, not refused: 2.5 pools of 8 GiB
/// (virtual memory; only the pool headers are touched).
#[test]
#[cfg(target_pointer_width = "64")]
fn regions_larger_than_a_pool_are_split() {
    let pool = allocator_tlsf::MAX_POOL_SIZE.unwrap();
    let region = TestRegion::new(pool * 2 + pool / 2, 4096, 0);
    let mut h = heap_over(&region);
    assert_eq!(h.total_bytes(), region.size() - 3 * GRANULARITY);
    // TLSF's good-fit search rounds a request up to its size class, so the
    // largest block a pool serves is a class below the pool itself.
    let big = Layout::from_size_align(pool / 2 + pool / 4, 4096).unwrap();
    let a = h.alloc(big).unwrap();
    let b = h.alloc(big).unwrap();
    assert_eq!(h.alloc(big), Err(AllocError::NoMemory), "only two whole pools");
    assert!(h.owns(a, big) && h.owns(b, big));
    // SAFETY: live for `big`.
    unsafe {
        h.dealloc(a, big);
        h.dealloc(b, big);
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn the_pool_limit_is_a_real_size_or_none() {
    // 0 here once made adding memory loop forever on 32-bit targets.
    let bits = core::hint::black_box(usize::BITS);
    match allocator_tlsf::MAX_POOL_SIZE {
        Some(max) => assert!(max.is_power_of_two() && max >= 1 << 30 && MAX_BLOCK < max, "{max}"),
        None => assert!(bits < 64, "only a 32-bit address space fits one pool"),
    }
}
