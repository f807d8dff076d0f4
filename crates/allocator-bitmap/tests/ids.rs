//! The testkit's id suites over `BitmapIdAllocator`, and its range rules.

use allocator_bitmap::{BitAlloc256, BitAlloc4K, BitAlloc64K, BitmapIdAllocator};
use allocator_core::{AllocError, IdAllocator};
use allocator_testkit::{id_allocator_tests, IdConfig};

id_allocator_tests!(
    pids,
    BitmapIdAllocator::<BitAlloc64K>::with_range(100, 32668).unwrap(),
    IdConfig::new(100, 32668)
);
id_allocator_tests!(
    odd_start,
    BitmapIdAllocator::<BitAlloc4K>::with_range(3, 1000).unwrap(),
    IdConfig::new(3, 1000)
);
id_allocator_tests!(
    full_map,
    BitmapIdAllocator::<BitAlloc256>::with_range(0, 256).unwrap(),
    IdConfig::new(0, 256)
);
id_allocator_tests!(
    one_id,
    BitmapIdAllocator::<BitAlloc256>::with_range(usize::MAX - 1, 1).unwrap(),
    IdConfig::new(usize::MAX - 1, 1)
);

#[test]
fn ranges_are_checked() {
    for (start, size) in [(0, 0), (0, 257), (usize::MAX, 1), (usize::MAX - 10, 20)] {
        assert_eq!(
            BitmapIdAllocator::<BitAlloc256>::with_range(start, size).unwrap_err(),
            AllocError::InvalidParam
        );
    }
    let mut a = BitmapIdAllocator::<BitAlloc256>::new();
    assert_eq!(a.size(), 0);
    assert_eq!(a.alloc_id(1, 1), Err(AllocError::NoMemory));
    a.set_range(10, 20).unwrap();
    a.alloc_fixed_id(15).unwrap();
    assert_eq!(a.set_range(0, 100), Err(AllocError::InvalidParam), "ids are allocated");
    a.dealloc_id(15, 1).unwrap();
    a.set_range(0, 100).unwrap();
    assert_eq!((a.start(), a.size(), a.used()), (0, 100, 0));
}

#[test]
fn runs_are_aligned_as_ids() {
    let mut a = BitmapIdAllocator::<BitAlloc4K>::with_range(5, 1000).unwrap();
    for align in [2, 4, 16, 64] {
        let id = a.alloc_id(3, align).unwrap();
        assert_eq!(id % align, 0, "align {align}");
    }
    assert_eq!(a.alloc_id(1, 2048), Err(AllocError::NoMemory));
}

/// Hole: an alignment larger than the map's capacity gave `NoMemory`
/// although id 0 was free and aligned.
#[test]
fn alignments_beyond_the_capacity_find_id_zero() {
    let top = 1usize << (usize::BITS - 1);
    let mut a = BitmapIdAllocator::<BitAlloc256>::with_range(0, 256).unwrap();
    assert_eq!(a.alloc_id(1, 1024), Ok(0));
    assert_eq!(a.alloc_id(1, 1024), Err(AllocError::NoMemory));
    a.dealloc_id(0, 1).unwrap();
    assert_eq!(a.alloc_id(16, top), Ok(0));
    // A range starting at an aligned id far from 0.
    let mut b = BitmapIdAllocator::<BitAlloc256>::with_range(top, 100).unwrap();
    assert_eq!(b.alloc_id(3, top), Ok(top));
    assert_eq!(b.alloc_id(1, top), Err(AllocError::NoMemory));
}

/// Hole: arithmetic on caller input must never overflow: huge counts, ids
/// and alignments near the top of the range are all errors.
#[test]
fn huge_inputs_are_errors_never_panics() {
    let top = 1usize << (usize::BITS - 1);
    let mut a = BitmapIdAllocator::<BitAlloc256>::with_range(usize::MAX - 200, 200).unwrap();
    let live = a.alloc_id(2, 1).unwrap();
    for (count, align) in [(usize::MAX, 1), (top, 1), (1, top), (top, top), (201, 1), (1, 0), (2, usize::MAX)]
    {
        assert!(a.alloc_id(count, align).is_err(), "alloc_id({count:#x}, {align:#x})");
    }
    assert_eq!(a.alloc_fixed_id(usize::MAX - 1), Ok(()), "the last id");
    for id in [usize::MAX, usize::MAX - 1, top, 0, live] {
        assert!(a.alloc_fixed_id(id).is_err(), "alloc_fixed_id({id:#x})");
        for count in [usize::MAX, top, 200, 3] {
            assert!(a.dealloc_id(id, count).is_err(), "dealloc_id({id:#x}, {count:#x})");
        }
    }
    a.dealloc_id(live, 2).unwrap();
    assert!(!a.is_allocated(usize::MAX) && !a.is_allocated(0));
    assert_eq!(
        BitmapIdAllocator::<BitAlloc256>::with_range(usize::MAX - 10, 11).unwrap_err(),
        AllocError::InvalidParam,
        "the range would end past usize::MAX"
    );
}
