//! Every assertion of ax_slab_allocator is met before it is reached, its
//! one misalignment is routed around, and every refusal has the error kind
//! the workspace documents.

use core::alloc::Layout;

use allocator_core::{AllocError, BaseAllocator, ByteAllocator};
use allocator_slab::{SlabByteAllocator, MAX_REGIONS, MIN_FIRST_REGION, PAGE};
use allocator_testkit::TestRegion;

fn slab(region: &TestRegion, offset: usize, size: usize) -> Result<SlabByteAllocator, AllocError> {
    let mut h = SlabByteAllocator::new();
    // SAFETY: inside a region that outlives the heap.
    unsafe { h.init(region.ptr().wrapping_add(offset), size) }?;
    Ok(h)
}

#[test]
fn an_unaligned_start_is_trimmed_not_asserted() {
    let region = TestRegion::new(MIN_FIRST_REGION + PAGE, PAGE, 0);
    let h = slab(&region, 1, MIN_FIRST_REGION + PAGE - 1).unwrap();
    assert_eq!(h.total_bytes(), MIN_FIRST_REGION);
}

#[test]
fn a_size_that_is_no_multiple_of_32_kib_is_split_not_asserted() {
    let region = TestRegion::new(MIN_FIRST_REGION + 3 * PAGE + 100, PAGE, 0);
    let h = slab(&region, 0, region.size()).unwrap();
    assert_eq!(h.total_bytes(), MIN_FIRST_REGION + 3 * PAGE);
}

#[test]
fn a_first_region_under_32_kib_is_refused() {
    let region = TestRegion::new(MIN_FIRST_REGION, PAGE, 0);
    assert_eq!(slab(&region, 0, MIN_FIRST_REGION - 1).unwrap_err(), AllocError::InvalidParam);
    assert_eq!(slab(&region, 1, MIN_FIRST_REGION - 1).unwrap_err(), AllocError::InvalidParam);
    assert_eq!(slab(&region, 0, PAGE).unwrap_err(), AllocError::InvalidParam);
}

#[test]
fn later_regions_are_trimmed_to_pages() {
    let region = TestRegion::new(MIN_FIRST_REGION, PAGE, 0);
    let more = TestRegion::new(3 * PAGE, PAGE, 0);
    let mut h = slab(&region, 0, region.size()).unwrap();
    // SAFETY: inside a region that outlives the heap; under one page once trimmed.
    assert_eq!(unsafe { h.add_memory(more.ptr().wrapping_add(1), PAGE) }, Err(AllocError::InvalidParam));
    // SAFETY: as above.
    unsafe { h.add_memory(more.ptr().wrapping_add(1), 3 * PAGE - 1) }.unwrap();
    assert_eq!(h.total_bytes(), MIN_FIRST_REGION + 2 * PAGE);
}

#[test]
fn a_second_init_is_already_initialized_and_a_full_table_table_full() {
    let region = TestRegion::new(MIN_FIRST_REGION, PAGE, 0);
    let more: Vec<TestRegion> = (0..MAX_REGIONS).map(|_| TestRegion::new(PAGE, PAGE, 0)).collect();
    let mut h = slab(&region, 0, region.size()).unwrap();
    // SAFETY: a correct heap refuses a second init untouched.
    assert_eq!(unsafe { h.init(more[0].ptr(), PAGE) }, Err(AllocError::AlreadyInitialized));
    for r in &more[..MAX_REGIONS - 1] {
        // SAFETY: each region outlives the heap.
        unsafe { h.add_memory(r.ptr(), PAGE) }.unwrap();
    }
    let total = h.total_bytes();
    // SAFETY: a correct heap refuses it untouched.
    assert_eq!(unsafe { h.add_memory(more[MAX_REGIONS - 1].ptr(), PAGE) }, Err(AllocError::TableFull));
    assert_eq!(h.total_bytes(), total);
}

#[test]
fn small_blocks_with_large_alignment_are_aligned() {
    let region = TestRegion::new(1 << 20, PAGE, 0);
    let mut h = slab(&region, 0, region.size()).unwrap();
    for align in [8192, 65536] {
        let l = Layout::from_size_align(100, align).unwrap();
        let p = h.alloc(l).unwrap();
        assert_eq!(p.addr().get() % align, 0, "ax_slab_allocator alone gives 4 KiB alignment");
        // SAFETY: live for `l`.
        assert_eq!(unsafe { h.usable_size(p, l) }, align);
        // SAFETY: live for `l`.
        unsafe { h.dealloc(p, l) };
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn figures_count_carved_slab_memory_once() {
    let region = TestRegion::new(1 << 20, PAGE, 0);
    let mut h = slab(&region, 0, region.size()).unwrap();
    let l = Layout::from_size_align(64, 8).unwrap();
    let blocks: Vec<_> = (0..100).map(|_| h.alloc(l).unwrap()).collect();
    assert_eq!(h.total_bytes(), 1 << 20);
    assert_eq!(h.used_bytes(), 100 * 64);
    assert_eq!(h.available_bytes(), (1 << 20) - 100 * 64);
    for p in blocks {
        // SAFETY: live for `l`.
        unsafe { h.dealloc(p, l) };
    }
    assert_eq!(h.used_bytes(), 0);
}

/// Past the inner buddy's largest block the heap never serves a block:
/// `Unsupported`; within it, a block that does not fit now is `NoMemory`.
#[test]
fn blocks_past_the_buddy_limit_are_unsupported() {
    let region = TestRegion::new(MIN_FIRST_REGION, PAGE, 0);
    let mut h = slab(&region, 0, region.size()).unwrap();
    let cases = [(1usize << 31 | 1, 1), (isize::MAX as usize - PAGE, 1), (8, 1usize << (usize::BITS - 2))];
    // (The first is no valid `Layout` on 32-bit targets.)
    for (size, align) in cases {
        let Ok(l) = Layout::from_size_align(size, align) else { continue };
        // The largest block is below 2 GiB: a request whose power-of-two
        // block reaches it is never served. (On 32-bit targets the
        // alignment case stays below it: `NoMemory`.)
        let never = size.max(align).checked_next_power_of_two().is_none_or(|b| b >= 1 << 31);
        let want = if never { AllocError::Unsupported } else { AllocError::NoMemory };
        assert_eq!(h.alloc(l), Err(want), "{size} / {align}");
    }
    let l = Layout::from_size_align(MIN_FIRST_REGION + 1, 8).unwrap();
    assert_eq!(h.alloc(l), Err(AllocError::NoMemory));
}

#[test]
fn allocating_before_any_memory_is_no_memory() {
    let mut h = SlabByteAllocator::new();
    assert_eq!(h.alloc(Layout::new::<u64>()), Err(AllocError::NoMemory));
    assert_eq!((h.total_bytes(), h.used_bytes()), (0, 0));
}

/// Found by fuzzing: a block shrunk in place and then freed must be freed
/// with a size the inner buddy heap can subtract (a small block with a
/// large alignment is served as a block of the alignment's size).
#[test]
fn a_shrunk_over_aligned_block_frees_cleanly() {
    let region = TestRegion::new(1 << 20, PAGE, 0);
    let mut h = slab(&region, 0, region.size()).unwrap();
    let big = Layout::from_size_align(5000, 8192).unwrap();
    let small = Layout::from_size_align(100, 8192).unwrap();
    let p = h.alloc(big).unwrap();
    // SAFETY: `p` is live for `big`, then for whatever the shrink returns.
    unsafe {
        p.as_ptr().write_bytes(7, 100);
        let q = h.shrink(p, big, small).unwrap();
        assert!(core::slice::from_raw_parts(q.as_ptr(), 100).iter().all(|&b| b == 7));
        assert_eq!(q.addr().get() % 8192, 0);
        h.dealloc(q, small);
    }
    assert_eq!(h.used_bytes(), 0);
}

#[test]
fn resizes_stay_in_place_within_a_class_and_shrink_buddy_blocks_in_place() {
    let region = TestRegion::new(1 << 20, PAGE, 0);
    let mut h = slab(&region, 0, region.size()).unwrap();
    let l = Layout::from_size_align(70, 8).unwrap();
    let p = h.alloc(l).unwrap();
    // SAFETY: `p` is live for each layout in turn.
    unsafe {
        h.resize_in_place(p, l, 128).unwrap();
        let l = Layout::from_size_align(128, 8).unwrap();
        assert_eq!(h.resize_in_place(p, l, 129), Err(AllocError::Unsupported));
        assert_eq!(h.resize_in_place(p, l, 64), Err(AllocError::Unsupported));
        h.dealloc(p, l);
    }
    let big = Layout::from_size_align(60_000, 8).unwrap();
    let p = h.alloc(big).unwrap();
    assert_eq!(h.used_bytes(), 65536);
    // SAFETY: `p` is live for each layout in turn.
    unsafe {
        h.resize_in_place(p, big, 9000).unwrap();
        assert_eq!(h.used_bytes(), 16384);
        let mid = Layout::from_size_align(9000, 8).unwrap();
        // To a slab class: it would have to move.
        assert_eq!(h.resize_in_place(p, mid, 4000), Err(AllocError::Unsupported));
        h.dealloc(p, mid);
    }
    assert_eq!(h.used_bytes(), 0);
}
