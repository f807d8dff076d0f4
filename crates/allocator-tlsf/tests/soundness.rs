//! Regression tests for the holes the v2 port closed, one per hole.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};
use allocator_testkit::TestRegion;
use allocator_tlsf::{TlsfByteAllocator, GRANULARITY};

fn fill(p: NonNull<u8>, n: usize, byte: u8) {
    // SAFETY: the callers pass a live block of at least `n` usable bytes.
    unsafe { p.as_ptr().write_bytes(byte, n) }
}

fn holds(p: NonNull<u8>, n: usize, byte: u8) -> bool {
    // SAFETY: as in `fill`.
    unsafe { core::slice::from_raw_parts(p.as_ptr(), n) }.iter().all(|&b| b == byte)
}

/// Hole: `owns` answered false for a block near the seam of two adjacent
/// regions once they were recorded separately, so a `Fallback` freed it
/// into its other part. rlsf keeps each region a separate pool, so no
/// block spans the seam; every block on either side must still be owned
/// (the adjacent regions share one merged record) and free cleanly.
#[test]
fn blocks_of_two_adjacent_regions_are_owned_and_freed() {
    let halves = TestRegion::adjacent(&[16 * 1024, 16 * 1024], 4096, 0);
    let mut h = TlsfByteAllocator::new();
    for r in &halves {
        // SAFETY: the regions outlive the heap.
        unsafe { h.add_memory(r.ptr(), r.size()) }.unwrap();
    }
    let l = Layout::from_size_align(1000, 8).unwrap();
    let mut blocks = Vec::new();
    while let Ok(p) = h.alloc(l) {
        blocks.push(p);
    }
    let seam = halves[1].start();
    assert!(blocks.iter().any(|p| p.addr().get() < seam) && blocks.iter().any(|p| p.addr().get() > seam));
    for &p in &blocks {
        assert!(h.owns(p, l), "a live block at {p:p} is not owned");
        // SAFETY: live for `l`.
        assert!(h.owns(p, Layout::from_size_align(unsafe { h.usable_size(p, l) }, 8).unwrap()));
    }
    for p in blocks {
        // SAFETY: live for `l`.
        unsafe { h.dealloc(p, l) };
    }
    assert_eq!(h.used_bytes(), 0);
    // Both pools are whole again: the largest block of one region fits twice.
    let big = Layout::from_size_align(8 * 1024, 8).unwrap();
    let (a, b) = (h.alloc(big).unwrap(), h.alloc(big).unwrap());
    // SAFETY: live for `big`.
    unsafe {
        h.dealloc(a, big);
        h.dealloc(b, big);
    }
}

/// Memory fitting: a block may be written up to `usable_size` and freed
/// with any size up to it (rlsf frees by alignment alone; the figures
/// come from its header, so they return to zero either way).
#[test]
fn blocks_free_with_any_size_up_to_usable_size() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut h = TlsfByteAllocator::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    for (size, align) in [(1, 1), (100, 8), (33, 64), (4000, 4096)] {
        let l = Layout::from_size_align(size, align).unwrap();
        let p = h.alloc(l).unwrap();
        // SAFETY: live for `l`.
        let usable = unsafe { h.usable_size(p, l) };
        assert!(usable >= size && usable < size + GRANULARITY + align.max(GRANULARITY), "{usable}");
        fill(p, usable, 0xA5);
        // SAFETY: `usable` is within the fitting sizes.
        unsafe { h.dealloc(p, Layout::from_size_align(usable, align).unwrap()) };
        assert_eq!(h.used_bytes(), 0);
    }
}

/// `resize_in_place` never moves a block: it grows within the block's
/// rounding, refuses past it with nothing changed (rlsf has no grow that
/// is sure not to move: its `reallocate` would slide a block into a free
/// predecessor), and shrinks where the block is. `grow` is the one that
/// grows into a free successor, in place.
#[test]
fn resize_in_place_never_moves_and_grow_takes_a_free_successor() {
    let region = TestRegion::new(64 * 1024, 4096, 0);
    let mut h = TlsfByteAllocator::new();
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap();
    let l = Layout::from_size_align(256, 8).unwrap();
    let (a, b, c) = (h.alloc(l).unwrap(), h.alloc(l).unwrap(), h.alloc(l).unwrap());
    fill(b, 256, 7);
    // SAFETY: `a` is live for `l`.
    unsafe { h.dealloc(a, l) };
    let used = h.used_bytes();
    // SAFETY: `b` is live for `l`.
    let usable = unsafe { h.usable_size(b, l) };
    assert!((256..256 + GRANULARITY).contains(&usable));
    // Within the rounding: done, nothing else changes.
    // SAFETY: `b` is live for `l`.
    unsafe { h.resize_in_place(b, l, usable) }.unwrap();
    assert_eq!(h.used_bytes(), used);
    let at_usable = Layout::from_size_align(usable, 8).unwrap();
    // Past it, with the predecessor free and large enough with `b` for 400
    // bytes (rlsf would slide `b` down into it): refused, untouched.
    // SAFETY: `b` is live for `at_usable`.
    assert_eq!(unsafe { h.resize_in_place(b, at_usable, 400) }, Err(AllocError::NoMemory));
    assert_eq!(h.used_bytes(), used);
    assert!(holds(b, 256, 7));
    // Free the successor: `grow` grows where it is.
    let big = Layout::from_size_align(600, 8).unwrap();
    // SAFETY: `c` is live for `l`; then `b` is live for each size in turn.
    unsafe {
        h.dealloc(c, l);
        assert_eq!(h.grow(b, at_usable, big), Ok(b));
        assert!(h.usable_size(b, big) >= 600);
        assert!(holds(b, 256, 7));
        fill(b, 600, 8);
        // And shrinks where it is, giving the tail back.
        h.resize_in_place(b, big, 40).unwrap();
        assert!(holds(b, 40, 8));
        assert!(h.used_bytes() < used);
        h.dealloc(b, Layout::from_size_align(40, 8).unwrap());
    }
    assert_eq!(h.used_bytes(), 0);
}
