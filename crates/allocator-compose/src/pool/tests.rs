use core::{alloc::Layout, ptr::without_provenance_mut};

use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};

use super::{Pool, POOL_REGIONS};
use crate::test_memory::leak;

/// Hole: carving computed `from + BLOCK`, which wrapped for a region that
/// ends within one block of `usize::MAX`: adding the next region threaded
/// "blocks" past the top of the address space onto the free list, writing
/// links outside every region. Carving now counts blocks.
///
/// The region at the top is simulated: its pointer has no provenance and
/// is never dereferenced — a pool carves lazily and writes only into free
/// blocks, and this test frees none.
#[test]
fn carving_at_the_top_of_the_address_space_stops_at_the_region_end() {
    const BLOCK: usize = 64;
    let start = (usize::MAX - 300) & !(BLOCK - 1);
    let size = usize::MAX - start; // ends exactly at the top
    let mut p = Pool::<BLOCK>::new();
    // SAFETY: nothing is ever read or written there (see above).
    unsafe { p.init(without_provenance_mut(start), size) }.unwrap();
    let count = size / BLOCK;
    assert_eq!(p.figures().total, count * BLOCK);
    let l = Layout::from_size_align(BLOCK, BLOCK).unwrap();
    let mut last = start;
    for i in 0..count {
        let b = p.alloc(l).unwrap().as_ptr().addr();
        assert_eq!(b, start + i * BLOCK, "blocks follow one another");
        assert!(b <= usize::MAX - BLOCK, "block {b:#x} ends inside the region");
        last = b;
    }
    assert_eq!(p.alloc(l), Err(AllocError::NoMemory), "nothing past the region's end");
    assert_eq!(p.largest_free(), Some(0));
    assert_eq!(p.figures().used, count * BLOCK);
    assert!(last.checked_add(BLOCK).is_some(), "the last block ends inside the address space");
    // Adding a region threads the last one's uncarved rest: there is none,
    // and nothing may be written (the old code wrapped here).
    let low = 0x10_0000;
    // SAFETY: as above, never touched: this region is carved lazily too.
    unsafe { p.add_memory(without_provenance_mut(low), 4 * BLOCK) }.unwrap();
    assert_eq!(p.figures().total, (count + 4) * BLOCK);
    for i in 0..4 {
        assert_eq!(p.alloc(l).unwrap().as_ptr().addr(), low + i * BLOCK);
    }
    assert_eq!(p.alloc(l), Err(AllocError::NoMemory));
    assert_eq!(p.figures().used, p.figures().total);
}

#[test]
fn what_a_pool_never_serves_is_unsupported() {
    let mut p = Pool::<48>::new();
    assert_eq!(Pool::<48>::BLOCK_ALIGN, 16);
    assert_eq!(Pool::<64>::BLOCK_ALIGN, 64);
    assert_eq!(Pool::<{ 1 << 20 }>::BLOCK_ALIGN, 4096);
    let mem = leak(48 * 4, 16);
    // SAFETY: leaked memory, the pool's alone.
    unsafe { p.init(mem, 48 * 4) }.unwrap();
    // SAFETY: refused before anything is touched.
    assert_eq!(unsafe { p.init(leak(64, 16), 64) }, Err(AllocError::AlreadyInitialized));
    assert_eq!(p.alloc(Layout::from_size_align(49, 1).unwrap()), Err(AllocError::Unsupported));
    assert_eq!(p.alloc(Layout::from_size_align(8, 32).unwrap()), Err(AllocError::Unsupported));
    assert_eq!(
        p.alloc(Layout::from_size_align(isize::MAX as usize, 1).unwrap()),
        Err(AllocError::Unsupported)
    );
    assert_eq!(p.alloc(Layout::new::<()>()), Err(AllocError::InvalidParam));
    let l = Layout::from_size_align(20, 4).unwrap();
    let b = p.alloc(l).unwrap();
    // SAFETY: `b` is live, described by its current layout.
    unsafe {
        assert_eq!(p.usable_size(b, l), 48);
        assert_eq!(p.resize_in_place(b, l, 48), Ok(()));
        assert_eq!(
            p.resize_in_place(b, Layout::from_size_align(48, 4).unwrap(), 49),
            Err(AllocError::Unsupported)
        );
        assert_eq!(p.resize_in_place(b, l, 0), Err(AllocError::InvalidParam));
        p.dealloc(b, Layout::from_size_align(48, 4).unwrap());
    }
    assert_eq!(p.used_bytes(), 0);
}

#[test]
fn a_full_region_table_is_table_full() {
    const BLOCK: usize = 64;
    // Regions one block long with a block's gap between them: never merged.
    let mem = leak(2 * BLOCK * (POOL_REGIONS + 1), BLOCK);
    let mut p = Pool::<BLOCK>::new();
    for i in 0..POOL_REGIONS {
        // SAFETY: disjoint pieces of leaked memory, the pool's alone.
        unsafe { p.add_memory(mem.wrapping_add(2 * BLOCK * i), BLOCK) }.unwrap();
    }
    let last = mem.wrapping_add(2 * BLOCK * POOL_REGIONS);
    // SAFETY: refused before anything is touched.
    assert_eq!(unsafe { p.add_memory(last, BLOCK) }, Err(AllocError::TableFull));
    // Adjacent to a region: merged, so it still fits.
    // SAFETY: the gap after the first region, leaked memory.
    unsafe { p.add_memory(mem.wrapping_add(BLOCK), BLOCK) }.unwrap();
    assert_eq!(p.total_bytes(), (POOL_REGIONS + 1) * BLOCK);
    let l = Layout::from_size_align(BLOCK, 8).unwrap();
    let blocks: std::vec::Vec<_> = (0..=POOL_REGIONS).map(|_| p.alloc(l).unwrap()).collect();
    assert_eq!(p.alloc(l), Err(AllocError::NoMemory));
    for b in blocks {
        assert!(p.owns(b, l));
        // SAFETY: live.
        unsafe { p.dealloc(b, l) };
    }
    assert_eq!(p.largest_free(), Some(BLOCK));
}

/// Blocks less aligned than a pointer (`Pool<12>`: 4-aligned) hold their
/// free-list links unaligned.
#[test]
fn blocks_less_aligned_than_a_pointer_keep_their_links() {
    let mut p = Pool::<12>::new();
    let mem = leak(12 * 16 + 4, 8).wrapping_add(4);
    // SAFETY: leaked memory, the pool's alone.
    unsafe { p.init(mem, 12 * 16) }.unwrap();
    let l = Layout::from_size_align(12, 4).unwrap();
    for _ in 0..3 {
        let all: std::vec::Vec<_> = (0..16).map(|_| p.alloc(l).unwrap()).collect();
        assert_eq!(p.alloc(l), Err(AllocError::NoMemory));
        for b in all {
            // SAFETY: live; a whole block.
            unsafe {
                b.as_ptr().write_bytes(0xEE, 12);
                p.dealloc(b, l);
            }
        }
    }
    assert_eq!(p.used_bytes(), 0);
}
