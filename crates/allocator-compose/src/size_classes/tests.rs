use core::{alloc::Layout, mem::size_of, ptr::NonNull};
use std::vec::Vec;

use allocator_buddy::BuddyByteAllocator;
use allocator_core::{
    helpers::{class_layout, class_of, class_size, CLASSES},
    AllocError, BaseAllocator, ByteAllocator, Owns,
};
use allocator_testkit::XorShift;
use allocator_tlsf::TlsfByteAllocator;

use super::{
    slab::{Geometry, Slab, MIN_BLOCKS, TAIL},
    SizeClasses,
};
use crate::test_memory::leak;

type Tlsf = SizeClasses<TlsfByteAllocator>;

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A layer over a fresh heap of `size` bytes of leaked, 4 KiB-aligned
/// memory.
fn over<B: ByteAllocator + BaseAllocator<Addr = *mut u8>, const SLAB: usize>(
    backing: B,
    size: usize,
) -> SizeClasses<B, SLAB> {
    let mut heap = SizeClasses::new(backing);
    // SAFETY: leaked memory, the heap's alone.
    unsafe { heap.init(leak(size, 4096), size) }.unwrap();
    heap
}

/// Allocates `l` until the heap refuses; every block is checked aligned,
/// filled to its usable size, and disjoint from the others by contents.
fn fill<A: ByteAllocator>(heap: &mut A, l: Layout) -> Vec<NonNull<u8>> {
    let mut blocks = Vec::new();
    while let Ok(p) = heap.alloc(l) {
        assert!(p.as_ptr().addr().is_multiple_of(l.align()));
        // SAFETY: live for `l`; its usable bytes are its own.
        unsafe { p.as_ptr().write_bytes(blocks.len() as u8, heap.usable_size(p, l)) };
        blocks.push(p);
    }
    for (i, &p) in blocks.iter().enumerate() {
        // SAFETY: live for `l`, written above.
        let usable = unsafe { heap.usable_size(p, l) };
        // SAFETY: as above.
        let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), usable) };
        assert!(bytes.iter().all(|&b| b == i as u8), "block {i} was overwritten");
    }
    blocks
}

fn free_all<A: ByteAllocator>(heap: &mut A, blocks: Vec<NonNull<u8>>, l: Layout) {
    for p in blocks {
        // SAFETY: live for `l`.
        unsafe { heap.dealloc(p, l) };
    }
}

#[test]
fn the_default_slabs_hold_8_blocks_and_lose_at_most_an_eighth() {
    let table = Geometry::table(2048);
    for (c, g) in table.iter().enumerate() {
        let size = class_size(c);
        let expected = match size {
            16..=112 => 1024,
            113..=224 => 2048,
            _ => 0,
        };
        assert_eq!(g.slab, expected, "class {size}");
        if g.is_slab() {
            let blocks = g.blocks as usize;
            assert!(blocks >= MIN_BLOCKS);
            assert_eq!(g.header + size_of::<Slab>() + TAIL, g.slab);
            assert!(blocks * size <= g.header && g.header - blocks * size < size, "class {size}");
            assert!(g.slab - blocks * size <= g.slab / 8, "class {size} loses more than 1/8");
        }
    }
    assert_eq!(size_of::<Slab>(), 3 * size_of::<usize>() + 8);
    assert_eq!(Tlsf::slab_size(layout(100, 8)), Some(1024));
    assert_eq!(Tlsf::slab_size(layout(100, 128)), Some(2048));
    assert_eq!(Tlsf::slab_size(layout(256, 8)), None);
    assert_eq!(SizeClasses::<TlsfByteAllocator, 4096>::slab_size(layout(256, 8)), Some(4096));
    assert_eq!(SizeClasses::<TlsfByteAllocator, 4096>::slab_size(layout(512, 8)), None);
    assert_eq!(Tlsf::slab_size(layout(5000, 8)), None);
    assert_eq!(SizeClasses::<TlsfByteAllocator, 1024>::slab_size(layout(128, 8)), None);
    assert_eq!(SizeClasses::<TlsfByteAllocator, 65536>::slab_size(layout(4096, 8)), Some(65536));
    let slab_classes = |max| Geometry::table(max).iter().filter(|g| g.is_slab()).count();
    assert_eq!((slab_classes(1024), slab_classes(2048), slab_classes(4096)), (7, 11, 15));
    assert_eq!(slab_classes(1 << 20), CLASSES);
}

/// The MCU case: 512-byte blocks (served by TLSF as asked) fill a 16 KiB
/// heap as TLSF alone would; small blocks come from
/// 1 and 2 KiB slabs that TLSF places back to back, and fill 70 % of it or
/// more (`used` counts the slabs' headers and ends).
#[test]
fn a_16_kib_heap_fills_with_512_byte_and_small_blocks() {
    const HEAP: usize = 16 * 1024;
    let mut heap: Tlsf = over(TlsfByteAllocator::new(), HEAP);
    for (l, at_least) in [
        (layout(512, 8), 0.90),
        (layout(500, 4), 0.90),
        (layout(64, 8), 0.80),
        (layout(24, 8), 0.80),
        (layout(128, 8), 0.70),
        (layout(256, 8), 0.85),
        (layout(448, 8), 0.90),
    ] {
        let blocks = fill(&mut heap, l);
        // A slab block takes its class size; TLSF's blocks, their size.
        let each = Tlsf::slab_size(l).map_or(l.size(), |_| class_size(class_of(l).unwrap()));
        let filled = (blocks.len() * each) as f64 / HEAP as f64;
        assert!(filled >= at_least, "{l:?}: {} blocks fill {:.0} %", blocks.len(), filled * 100.0);
        free_all(&mut heap, blocks, l);
        assert_eq!(heap.used_bytes(), 0);
        assert_eq!(heap.backing().used_bytes(), 0, "every slab went back to TLSF");
    }
}

#[test]
fn a_48_kib_heap_serves_512_byte_blocks_over_tlsf_and_buddy() {
    const HEAP: usize = 48 * 1024;
    let l = layout(512, 8);
    let mut tlsf: Tlsf = over(TlsfByteAllocator::new(), HEAP);
    let blocks = fill(&mut tlsf, l);
    assert!(blocks.len() >= 85, "{} blocks", blocks.len());
    free_all(&mut tlsf, blocks, l);
    let mut buddy: SizeClasses<BuddyByteAllocator> = over(BuddyByteAllocator::new(), HEAP);
    let blocks = fill(&mut buddy, l);
    assert_eq!(blocks.len(), 96, "buddy: 512-byte blocks tile the heap");
    free_all(&mut buddy, blocks, l);
    // Small blocks through 1 KiB slabs, which tile a buddy heap too.
    let small = layout(48, 16);
    let blocks = fill(&mut buddy, small);
    assert_eq!(blocks.len(), 48 * 20, "20 blocks of 48 bytes in each 1 KiB slab");
    free_all(&mut buddy, blocks, small);
    assert_eq!((buddy.used_bytes(), buddy.backing().used_bytes()), (0, 0));
}

/// A slab whose last block is freed is kept while other slab blocks are
/// live (one per class), and goes back with the last of them, on `trim`,
/// or when `B` runs short.
#[test]
fn empty_slabs_go_back_to_the_backing_heap() {
    let mut heap: SizeClasses<BuddyByteAllocator> = over(BuddyByteAllocator::new(), 64 * 1024);
    let l = layout(64, 8); // 15 per 1 KiB slab
    let keep = heap.alloc(layout(16, 8)).unwrap(); // another class keeps the layer busy
    let start = heap.backing().used_bytes();
    assert_eq!(start, 1024);
    let blocks: Vec<_> = (0..45).map(|_| heap.alloc(l).unwrap()).collect();
    assert_eq!(heap.backing().used_bytes(), start + 3 * 1024);
    // What the live blocks take, however they lie in slabs.
    assert_eq!(heap.used_bytes(), 16 + 45 * 64);
    free_all(&mut heap, blocks, l);
    // Two slabs went back, one is kept; it counts as free.
    assert_eq!(heap.backing().used_bytes(), start + 1024);
    assert_eq!(heap.used_bytes(), 16);
    // The kept slab serves the next request without `B`.
    let again = heap.alloc(l).unwrap();
    assert_eq!(heap.backing().used_bytes(), start + 1024);
    // SAFETY: live for `l`.
    unsafe { heap.dealloc(again, l) };
    heap.trim();
    assert_eq!(heap.backing().used_bytes(), start);
    // The last slab block freed takes every kept slab with it.
    let other = heap.alloc(l).unwrap();
    // SAFETY: live.
    unsafe { heap.dealloc(other, l) };
    assert_eq!(heap.backing().used_bytes(), start + 1024, "kept while `keep` is live");
    // SAFETY: live.
    unsafe { heap.dealloc(keep, layout(16, 8)) };
    assert_eq!((heap.backing().used_bytes(), heap.used_bytes()), (0, 0));
}

#[test]
fn kept_slabs_go_back_when_the_backing_heap_runs_short() {
    const HEAP: usize = 16 * 1024;
    let mut heap: SizeClasses<BuddyByteAllocator> = over(BuddyByteAllocator::new(), HEAP);
    let keep = heap.alloc(layout(16, 8)).unwrap();
    // One empty slab kept for each of 8 classes: half the heap.
    for c in 1..9 {
        let l = layout(class_size(c), 8);
        let p = heap.alloc(l).unwrap();
        // SAFETY: live.
        unsafe { heap.dealloc(p, l) };
    }
    let kept = heap.backing().used_bytes();
    assert!(kept >= 8 * 1024, "{kept}");
    assert_eq!(heap.used_bytes(), 16, "kept slabs count as free");
    // 8 KiB in one block needs the kept slabs back.
    let big = heap.alloc(layout(8 * 1024, 8)).unwrap();
    assert_eq!(heap.backing().used_bytes(), 1024 + 8 * 1024);
    // SAFETY: live.
    unsafe {
        heap.dealloc(big, layout(8 * 1024, 8));
        heap.dealloc(keep, layout(16, 8));
    }
    assert_eq!(heap.backing().used_bytes(), 0);
}

/// Every class, and every alignment up to 4096 for sizes around each class
/// size: aligned, the class size usable and writable, freed with any
/// fitting size.
#[test]
fn every_class_and_alignment() {
    let mut heap: Tlsf = over(TlsfByteAllocator::new(), 8 << 20);
    let mut live = Vec::new();
    for c in 0..CLASSES {
        let cs = class_size(c);
        for size in [cs - 15, cs - 1, cs, cs + 1] {
            for shift in 0..=12 {
                let l = layout(size, 1 << shift);
                let p = heap.alloc(l).unwrap();
                assert!(p.as_ptr().addr().is_multiple_of(l.align()), "{l:?}");
                // SAFETY: live for `l`.
                let usable = unsafe { heap.usable_size(p, l) };
                match Tlsf::slab_size(l) {
                    Some(_) => assert_eq!(usable, class_size(class_of(l).unwrap())),
                    None => assert!(usable >= size),
                }
                // SAFETY: the usable bytes are the block's.
                unsafe { p.as_ptr().write_bytes(0xA5, usable) };
                assert!(heap.owns(p, l));
                live.push((p, l, usable));
            }
        }
    }
    let mut rng = XorShift::new(5);
    rng.shuffle(&mut live);
    for (i, (p, l, usable)) in live.into_iter().enumerate() {
        // SAFETY: live; written above.
        let bytes = unsafe { core::slice::from_raw_parts(p.as_ptr(), usable) };
        assert!(bytes.iter().all(|&b| b == 0xA5), "{l:?}");
        // Freed with the size asked for, the usable one, or one between.
        let size = [l.size(), usable, (l.size() + usable) / 2][i % 3];
        // SAFETY: live; the size fits it.
        unsafe { heap.dealloc(p, layout(size, l.align())) };
    }
    assert_eq!((heap.used_bytes(), heap.backing().used_bytes()), (0, 0));
}

#[test]
fn sizes_of_one_class_free_alike_and_resize_in_place() {
    let mut heap: Tlsf = over(TlsfByteAllocator::new(), 64 * 1024);
    let l = layout(100, 8);
    let p = heap.alloc(l).unwrap();
    // SAFETY: `p` is live; each call describes it by its current layout.
    unsafe {
        assert_eq!(heap.usable_size(p, l), 112);
        assert_eq!(heap.resize_in_place(p, l, 112), Ok(()));
        assert_eq!(heap.resize_in_place(p, layout(112, 8), 97), Ok(()));
        assert_eq!(heap.resize_in_place(p, layout(97, 8), 113), Err(AllocError::Unsupported));
        assert_eq!(heap.resize_in_place(p, layout(97, 8), 0), Err(AllocError::InvalidParam));
        assert_eq!(heap.resize_in_place(p, layout(97, 8), 5000), Err(AllocError::Unsupported));
        p.as_ptr().write_bytes(7, 97);
        // Out of the class and out of every class: moved, contents kept.
        let q = heap.grow(p, layout(97, 8), layout(300, 8)).unwrap();
        let r = heap.grow(q, layout(300, 8), layout(10_000, 8)).unwrap();
        assert!(core::slice::from_raw_parts(r.as_ptr(), 97).iter().all(|&b| b == 7));
        // Without a class on either side: TLSF's own resize.
        let s = heap.realloc(r, layout(10_000, 8), 20_000).unwrap();
        let t = heap.shrink(s, layout(20_000, 8), layout(40, 8)).unwrap();
        assert!(core::slice::from_raw_parts(t.as_ptr(), 40).iter().all(|&b| b == 7));
        heap.dealloc(t, layout(48, 8));
    }
    assert_eq!(heap.used_bytes(), 0);
}

/// Blocks with and without a class, and of classes `B` serves, mixed and
/// freed in random order; the figures cover every live byte.
#[test]
fn mixed_class_and_classless_blocks() {
    let mut heap: SizeClasses<BuddyByteAllocator> = over(BuddyByteAllocator::new(), 1 << 20);
    let mut rng = XorShift::new(42);
    let mut live = Vec::new();
    for round in 0..4 {
        for _ in 0..400 {
            let size = match rng.range(0, 9) {
                0..=5 => rng.range(1, 448),
                6..=7 => rng.range(449, 4096),
                _ => rng.range(4097, 20_000),
            };
            let l = layout(size, 1 << rng.range(0, 13));
            if let Ok(p) = heap.alloc(l) {
                // SAFETY: live for `l`.
                unsafe { p.as_ptr().write_bytes(live.len() as u8, l.size()) };
                live.push((p, l, live.len() as u8));
            }
        }
        let bytes: usize = live.iter().map(|(_, l, _)| l.size()).sum();
        assert!(heap.used_bytes() >= bytes);
        assert!(heap.used_bytes() <= heap.backing().used_bytes());
        rng.shuffle(&mut live);
        let keep = if round == 3 { 0 } else { live.len() / 2 };
        for (p, l, tag) in live.drain(keep..) {
            // SAFETY: live; written above.
            assert!(unsafe { core::slice::from_raw_parts(p.as_ptr(), l.size()) }.iter().all(|&b| b == tag));
            assert!(heap.owns(p, l));
            // SAFETY: live for `l`.
            unsafe { heap.dealloc(p, l) };
        }
    }
    assert_eq!((heap.used_bytes(), heap.backing().used_bytes()), (0, 0));
}

#[test]
fn largest_free_is_served_and_ownership_stops_at_the_heap() {
    let mut heap: Tlsf = over(TlsfByteAllocator::new(), 16 * 1024);
    let outside = leak(4096, 4096);
    for l in [layout(16, 8), layout(448, 8), layout(1000, 8)] {
        assert!(!heap.owns(NonNull::new(outside).unwrap(), l));
    }
    let mut live = Vec::new();
    loop {
        let n = heap.largest_free().unwrap();
        if n == 0 {
            break;
        }
        let l = layout(n, 1);
        live.push((heap.alloc(l).expect("largest_free is served"), l));
    }
    for (p, l) in live {
        // SAFETY: live for `l`.
        unsafe { heap.dealloc(p, l) };
    }
}

/// A layer over an empty heap is a constant: it sits in a `static`.
#[test]
fn a_layer_is_a_const_static() {
    const LAYER: SizeClasses<TlsfByteAllocator, 2048> = SizeClasses::new(TlsfByteAllocator::new());
    assert_eq!(LAYER.figures().total, 0);
    let mut heap = SizeClasses::<TlsfByteAllocator>::default();
    assert_eq!(heap.alloc(layout(16, 8)), Err(AllocError::NoMemory));
    assert_eq!(heap.alloc(layout(0, 8)), Err(AllocError::InvalidParam));
}

/// Sizes and alignments no heap serves, and malformed resizes: errors,
/// never a panic, and the layer stays usable.
#[test]
fn hostile_requests_are_errors() {
    let mut heap: Tlsf = over(TlsfByteAllocator::new(), 64 * 1024);
    for l in [layout(isize::MAX as usize - 4096, 1), layout(1, 1 << (usize::BITS - 2)), layout(128 * 1024, 8)]
    {
        assert!(heap.alloc(l).is_err(), "{l:?}");
    }
    assert_eq!(heap.alloc(layout(0, 4096)), Err(AllocError::InvalidParam));
    let l = layout(40, 16);
    let p = heap.alloc(l).unwrap();
    // SAFETY: `p` is live for `l` throughout; every call below is refused.
    unsafe {
        assert_eq!(heap.resize_in_place(p, l, isize::MAX as usize), Err(AllocError::InvalidParam));
        assert_eq!(heap.grow(p, l, layout(8, 16)), Err(AllocError::InvalidParam));
        assert_eq!(heap.shrink(p, l, layout(64, 16)), Err(AllocError::InvalidParam));
        assert_eq!(heap.shrink(p, l, layout(0, 16)), Err(AllocError::InvalidParam));
        assert!(heap.grow(p, l, layout(isize::MAX as usize - 4096, 16)).is_err());
        assert!(heap.realloc(p, l, usize::MAX).is_err());
        heap.dealloc(p, l);
    }
    assert_eq!(heap.used_bytes(), 0);
    let q = heap.alloc(l).unwrap();
    // SAFETY: live.
    unsafe { heap.dealloc(q, l) };
}

#[test]
fn large_slabs_share_one_size_and_a_large_heap_fills_past_90_percent() {
    fills_past::<32768>(900);
    // The hosted and kernel policies' `LARGE_SLABS`: 89.5 % measured, as
    // much as TLSF alone (89 %).
    fills_past::<8192>(890);
}

/// Every slab of `SLAB` bytes above 4 KiB has one size, and random sizes of
/// 16 to 512 bytes fill a 64 MiB TLSF heap past `per_mille` before the
/// first failure.
fn fills_past<const SLAB: usize>(per_mille: u64) {
    for c in 0..CLASSES {
        let l = class_layout(c);
        let slab = SizeClasses::<TlsfByteAllocator, SLAB>::slab_size(l);
        assert!(slab.is_none() || slab == Some(SLAB), "class {c}: {slab:?}");
    }
    // Random sizes of 16 to 512 bytes until the first failure: slabs of
    // one size tile the heap (mixed sizes, each aligned to itself, left
    // TLSF's padding between them: 72 % instead of 91 % measured).
    // 64 MiB: the last partly used slab of each class (28 × 32 KiB) is
    // 1.4 % of it.
    let size = 64 << 20;
    let mut heap: SizeClasses<TlsfByteAllocator, SLAB> = over(TlsfByteAllocator::new(), size);
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut live = 0;
    loop {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 16 + x as usize % 497;
        if heap.alloc(layout(n, 8)).is_err() {
            break;
        }
        live += n;
    }
    // Per mille of the heap, in 64 bits (a 32-bit `usize` would overflow).
    let share = live as u64 * 1000 / size as u64;
    assert!(share >= per_mille, "slabs of {SLAB} B: {} ‰ of the heap in use at the first failure", share);
}
