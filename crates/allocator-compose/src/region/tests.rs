use core::{alloc::Layout, ptr::NonNull};
use std::panic::{catch_unwind, AssertUnwindSafe};

use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};

use super::Region;
use crate::test_memory::leak;

fn region(size: usize) -> Region {
    let mut r = Region::new();
    // SAFETY: leaked memory, the region's alone.
    unsafe { r.init(leak(size, 64), size) }.unwrap();
    r
}

fn l(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// Hole: scopes were not panic-safe. A panic inside a scope, caught
/// outside it, left the region's depth raised: every later scope answered
/// `NoMemory` and `used` never came down. The scope now closes on unwind.
#[test]
fn a_panic_inside_a_scope_leaves_the_region_usable() {
    let mut r = region(4096);
    let kept = r.alloc(l(64)).unwrap();
    let base = r.used_bytes();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        r.scope(|s| {
            s.alloc(l(100)).unwrap();
            s.scope(|t| {
                t.alloc(l(200)).unwrap();
                panic!("a panic inside two scopes");
            })
        })
    }));
    assert!(caught.is_err());
    assert_eq!(r.used_bytes(), base, "what the scopes took is back");
    let used_inside = r.scope(|s| {
        s.alloc(l(100)).expect("a new scope allocates");
        s.scope(|t| t.alloc(l(100)).expect("and so does a nested one"));
        s.used_bytes()
    });
    assert!(used_inside > base);
    assert_eq!(r.used_bytes(), base);
    // SAFETY: `kept` is live.
    unsafe { r.dealloc(kept, l(64)) };
    assert_eq!(r.used_bytes(), 0, "every block freed: back to the bottom");
}

#[test]
fn the_last_block_resizes_in_place_and_any_block_shrinks() {
    let mut r = region(1024);
    let a = r.alloc(l(100)).unwrap();
    let b = r.alloc(l(100)).unwrap();
    // SAFETY: live blocks, each described by its current layout.
    unsafe {
        assert_eq!(r.resize_in_place(a, l(100), 200), Err(AllocError::NoMemory), "not the last");
        assert_eq!(r.resize_in_place(a, l(100), 50), Ok(()), "any block shrinks");
        assert_eq!(r.resize_in_place(b, l(100), 500), Ok(()));
        assert_eq!(r.used_bytes(), b.as_ptr().addr() + 500 - a.as_ptr().addr());
        assert_eq!(r.resize_in_place(b, l(500), 2000), Err(AllocError::NoMemory), "past the end");
        assert_eq!(r.resize_in_place(b, l(500), 0), Err(AllocError::InvalidParam));
        assert_eq!(r.resize_in_place(b, l(500), usize::MAX), Err(AllocError::InvalidParam));
        assert_eq!(r.resize_in_place(b, l(500), 10), Ok(()));
        assert_eq!(r.usable_size(b, l(10)), 10);
        assert_eq!(r.largest_free(), Some(1024 - (b.as_ptr().addr() + 10 - a.as_ptr().addr())));
        // The provided grow of a block that is not the last moves it.
        let a2 = r.grow(a, l(50), l(300)).unwrap();
        assert_ne!(a2, a);
        r.dealloc(b, l(10));
        r.dealloc(a2, l(300));
    }
    assert_eq!(r.used_bytes(), 0);
    assert_eq!(r.largest_free(), Some(1024));
}

#[test]
fn one_region_only_and_blocks_carry_its_provenance() {
    let mut r = region(256);
    let other = leak(256, 64);
    // SAFETY: refused before anything is touched.
    unsafe {
        assert_eq!(r.init(other, 256), Err(AllocError::AlreadyInitialized));
        assert_eq!(r.add_memory(other, 256), Err(AllocError::TableFull));
    }
    let p = r.alloc(l(256)).unwrap();
    // SAFETY: overlaps the region: refused before anything is touched.
    unsafe { assert_eq!(r.add_memory(p.as_ptr().wrapping_add(8), 8), Err(AllocError::MemoryOverlap)) };
    assert!(r.owns(p, l(256)));
    assert!(!r.owns(NonNull::new(other).unwrap(), l(1)));
    // SAFETY: the block is 256 writable bytes (its pointer is derived
    // from the region's).
    unsafe { p.as_ptr().write_bytes(0x5A, 256) };
    assert_eq!(r.alloc(l(1)), Err(AllocError::NoMemory));
    assert_eq!(r.alloc(Layout::from_size_align(isize::MAX as usize, 1).unwrap()), Err(AllocError::NoMemory));
}

/// A region given at address 0 has memory (its first byte is never handed
/// out): a second `init` is refused, not a silent reset.
#[test]
fn a_region_at_address_zero_is_not_empty() {
    let mut r = Region::new();
    let zero = core::ptr::null_mut::<u8>();
    // SAFETY: a bump region touches no memory until it hands a block out,
    // and this test allocates nothing.
    unsafe { r.init(zero, 4096) }.unwrap();
    assert_eq!(r.total_bytes(), 4095);
    // SAFETY: refused untouched.
    assert_eq!(unsafe { r.init(zero, 4096) }, Err(AllocError::AlreadyInitialized));
    // SAFETY: as above.
    assert_eq!(unsafe { r.add_memory(zero, 64) }, Err(AllocError::MemoryOverlap));
}
