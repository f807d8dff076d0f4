use core::alloc::{GlobalAlloc, Layout};

use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};
use allocator_sync::Locked;

use super::Segregator;
use crate::{test_memory::leak, Pool, Region};

type SmallBlocks = Segregator<24, Pool<24>, Region>;

fn small_blocks() -> SmallBlocks {
    let mut s = Segregator::new(Pool::new(), Region::new());
    // SAFETY: leaked memory, the allocator's alone.
    unsafe {
        s.init(leak(24 * 64, 64), 24 * 64).unwrap();
        s.add_memory(leak(4096, 64), 4096).unwrap();
    }
    s
}

/// Hole: the segregator routed by size alone, so a type that fits the
/// pool's blocks but is more aligned than they are (a `u128`, 16-aligned,
/// in a `Pool<24>`, whose blocks are 8-aligned) was refused — and a global
/// allocator aborts on a refused `Box<u128>`. Such a request now goes to
/// the large side, and its free follows it there.
#[test]
fn a_small_but_over_aligned_block_goes_to_the_large_side() {
    let mut s = small_blocks();
    let over = Layout::from_size_align(16, 16).unwrap();
    for layout in [over, Layout::new::<u128>()] {
        let p = s.alloc(layout).unwrap_or_else(|e| panic!("{layout:?}: {e}"));
        assert!(p.as_ptr().addr().is_multiple_of(layout.align()));
        // (A `u128` is 8-aligned on some 32-bit targets, powerpc among
        // them: there it fits the pool's blocks and stays small.)
        let over_aligned = layout.align() > Pool::<24>::BLOCK_ALIGN;
        assert_eq!(s.large().owns(p, layout), over_aligned, "{layout:?}");
        assert_eq!(s.small().owns(p, layout), !over_aligned, "{layout:?}");
        assert!(s.owns(p, layout));
        // A small block still comes from the pool, and goes back there.
        let q = s.alloc(Layout::new::<u64>()).unwrap();
        assert!(s.small().owns(q, Layout::new::<u64>()));
        // SAFETY: live blocks, each with its layout.
        unsafe {
            assert_eq!(s.usable_size(q, Layout::new::<u64>()), 24);
            s.dealloc(q, Layout::new::<u64>());
            s.dealloc(p, layout);
        }
        assert_eq!((s.small().used_bytes(), s.large().used_bytes()), (0, 0));
    }
    // As the program's allocator, through the lock.
    let heap = Locked::<SmallBlocks>::new(small_blocks());
    // SAFETY: a valid non-zero layout; the block is freed with it.
    unsafe {
        let p = heap.alloc(over);
        assert!(!p.is_null(), "a Box<u128> would abort here");
        p.cast::<u128>().write(u128::MAX);
        heap.dealloc(p, over);
    }
    assert_eq!(heap.figures().unwrap().used, 0);
}

/// A resize in place stays on its side of the threshold; across it the
/// block moves (and still comes back whole).
#[test]
fn resizes_stay_on_their_side() {
    let mut s = small_blocks();
    let l = |n| Layout::from_size_align(n, 8).unwrap();
    let p = s.alloc(l(10)).unwrap();
    // SAFETY: live blocks, each described by its current layout.
    unsafe {
        assert_eq!(s.resize_in_place(p, l(10), 24), Ok(()));
        assert_eq!(s.resize_in_place(p, l(24), 25), Err(AllocError::Unsupported));
        assert_eq!(s.resize_in_place(p, l(24), 0), Err(AllocError::InvalidParam));
        p.as_ptr().write_bytes(7, 24);
        let q = s.grow(p, l(24), l(100)).unwrap();
        assert!(s.large().owns(q, l(100)));
        assert_eq!(*q.as_ptr().add(23), 7);
        assert_eq!(s.resize_in_place(q, l(100), 24), Err(AllocError::Unsupported));
        assert_eq!(s.resize_in_place(q, l(100), 200), Ok(()));
        s.dealloc(q, l(200));
    }
    assert_eq!(s.used_bytes(), 0);
    assert_eq!(s.largest_free(), Some(4096));
}
