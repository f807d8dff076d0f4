use core::alloc::Layout;

use allocator_core::{BaseAllocator, ByteAllocator, Owns};

use super::Fallback;
use crate::{test_memory::leak, Proxy, Region, Stats};

fn l(size: usize) -> Layout {
    Layout::from_size_align(size, 8).unwrap()
}

/// A grow the primary cannot do in place asks the primary for a block
/// once (through `Fallback::alloc`), where it used to ask twice: once in
/// the primary's own grow, once more in the move through the `Fallback`.
#[test]
fn a_failed_grow_asks_the_primary_once() {
    let mut f = Fallback::new(Proxy::new(Region::new(), Stats::new()), Region::new());
    // SAFETY: leaked memory, the allocator's alone.
    unsafe {
        f.init(leak(256, 64), 256).unwrap();
        f.add_memory(leak(4096, 64), 4096).unwrap();
    }
    let a = f.alloc(l(200)).unwrap();
    assert!(f.primary().owns(a, l(200)));
    // SAFETY: `a` is live for `l(200)`.
    let b = unsafe {
        a.as_ptr().write_bytes(9, 200);
        f.grow(a, l(200), l(400)).unwrap()
    };
    assert!(f.secondary().owns(b, l(400)));
    // SAFETY: `b` is live for 400 bytes.
    assert_eq!(unsafe { *b.as_ptr().add(199) }, 9);
    let stats = f.primary().hook().snapshot();
    assert_eq!((stats.allocations, stats.frees, stats.failures), (1, 1, 1), "{stats:?}");
    // SAFETY: live.
    unsafe { f.dealloc(b, l(400)) };
    assert_eq!(f.used_bytes(), 0);
}

/// In-place resizes, usable sizes and the largest free block come from
/// the parts.
#[test]
fn capabilities_pass_through_to_the_owner() {
    let mut f = Fallback::new(Region::new(), Region::new());
    // SAFETY: leaked memory, the allocator's alone.
    unsafe {
        f.init(leak(256, 64), 256).unwrap();
        f.add_memory(leak(1024, 64), 1024).unwrap();
    }
    assert_eq!(f.largest_free(), Some(1024));
    assert_eq!(f.figures().total, 1280);
    let a = f.alloc(l(200)).unwrap();
    let b = f.alloc(l(200)).unwrap();
    assert!(f.secondary().owns(b, l(200)));
    // SAFETY: live blocks, each described by its current layout.
    unsafe {
        assert!(f.resize_in_place(a, l(200), 256).is_ok());
        assert!(f.resize_in_place(a, l(256), 257).is_err());
        assert!(f.resize_in_place(b, l(200), 1000).is_ok());
        assert_eq!(f.usable_size(b, l(1000)), 1000);
        f.dealloc(a, l(256));
        f.dealloc(b, l(1000));
    }
    assert_eq!(f.figures().used, 0);
}
