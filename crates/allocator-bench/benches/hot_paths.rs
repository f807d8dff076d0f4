//! Criterion benchmarks of each crate's hot path, for regression hunting:
//! `cargo bench -p allocator-bench`.

use std::{alloc::Layout, hint::black_box, mem::MaybeUninit};

use allocator::{
    bitmap::{BitAlloc64K, BitmapPageAllocator},
    buddy::BuddyByteAllocator,
    compose::{Pool, Region},
    BaseAllocator, BitmapIdAllocator, ByteAllocator, IdAllocator, PageAllocator, SlabByteAllocator,
    TlsfByteAllocator,
};
use criterion::{criterion_group, criterion_main, Criterion};

fn arena(size: usize) -> &'static mut [MaybeUninit<u8>] {
    Box::leak(vec![MaybeUninit::new(0u8); size].into_boxed_slice())
}

fn pair<A: ByteAllocator + BaseAllocator<Addr = *mut u8>>(
    c: &mut Criterion,
    name: &str,
    mut heap: A,
    size: usize,
) {
    // Leaked memory: the heap's for the rest of the program.
    heap.add_static(arena(8 << 20)).expect("a valid region");
    let l = Layout::from_size_align(size, 8).expect("a valid layout");
    // Some live blocks, so the heap is not trivially empty.
    let _live: Vec<_> = (0..64).filter_map(|_| heap.alloc(l).ok()).collect();
    c.bench_function(&format!("{name} alloc+free {size} B"), |b| {
        b.iter(|| {
            let p = heap.alloc(black_box(l)).expect("room");
            // SAFETY: just allocated for `l`.
            unsafe { heap.dealloc(p, l) };
        })
    });
}

fn byte_heaps(c: &mut Criterion) {
    for size in [64, 1000] {
        pair(c, "tlsf", TlsfByteAllocator::new(), size);
        pair(c, "buddy", BuddyByteAllocator::<32>::new(), size);
        pair(c, "slab", SlabByteAllocator::new(), size);
    }
    pair(c, "pool", Pool::<64>::new(), 64);
    pair(c, "region", Region::new(), 64);
}

fn pages_and_ids(c: &mut Criterion) {
    let mut pages = Box::new(BitmapPageAllocator::<4096, BitAlloc64K>::new());
    // SAFETY: page allocators touch no memory.
    unsafe { pages.init(0x1000_0000, 64 << 20) }.expect("a valid map");
    c.bench_function("bitmap pages alloc+free 1", |b| {
        b.iter(|| {
            let p = pages.alloc_pages(1, 4096).expect("room");
            // SAFETY: nothing uses the page.
            unsafe { pages.dealloc_pages(black_box(p), 1) }.expect("allocated");
        })
    });
    let mut ids = BitmapIdAllocator::<BitAlloc64K>::with_range(0, 65536).expect("a range");
    c.bench_function("bitmap ids alloc+free", |b| {
        b.iter(|| {
            let id = ids.alloc_id(1, 1).expect("room");
            ids.dealloc_id(black_box(id), 1).expect("allocated");
        })
    });
}

mod group {
    #![allow(missing_docs)]
    use super::*;
    criterion_group!(benches, byte_heaps, pages_and_ids);
}

criterion_main!(group::benches);
