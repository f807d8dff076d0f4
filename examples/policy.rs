//! A composed policy: a pool for small sizes, TLSF for the rest, the
//! system allocator when both are full, and statistics over all of it.

use core::{alloc::Layout, mem::MaybeUninit};

use allocator::{
    compose::{Fallback, Pool, Proxy, Segregator, Stats, System},
    ByteAllocator, Locked, TlsfByteAllocator,
};

type Policy = Proxy<Fallback<Segregator<128, Pool<128>, TlsfByteAllocator>, System>, Stats>;

static HEAP: Locked<Policy> = Locked::new(Proxy::new(
    Fallback::new(Segregator::new(Pool::new(), TlsfByteAllocator::new()), System::new()),
    Stats::new(),
));

fn leak(bytes: usize) -> &'static mut [MaybeUninit<u8>] {
    Box::leak(vec![MaybeUninit::uninit(); bytes].into_boxed_slice())
}

fn main() {
    // Memory given to a composition is routed: `init` to the first part
    // that takes it (the pool), `add_memory` to the last (TLSF).
    let pool = leak(64 * 1024);
    // SAFETY: the block is leaked: the heap's for the whole program.
    unsafe { HEAP.init(pool.as_mut_ptr().cast(), pool.len()) }.unwrap();
    HEAP.add_static(leak(1 << 20)).unwrap();

    let mut blocks = Vec::new();
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let size = match rng % 10 {
            0..=6 => 8 + (rng % 120) as usize,
            7 | 8 => 200 + (rng % 4000) as usize,
            _ => 100_000 + (rng % 200_000) as usize,
        };
        let layout = Layout::from_size_align(size, 8).unwrap();
        let block = HEAP.with(|h| h.alloc(layout)).unwrap().expect("the system allocator backs everything");
        blocks.push((block, layout));
    }
    let (mid, pool_used, tlsf_used, system_used) = HEAP
        .with(|heap| {
            let f = heap.inner();
            (
                heap.hook().snapshot(),
                f.primary().small().used_bytes(),
                f.primary().large().used_bytes(),
                f.secondary().used_bytes(),
            )
        })
        .unwrap();
    for (p, l) in blocks {
        // SAFETY: each block is live for its layout.
        HEAP.with(|h| unsafe { h.dealloc(p, l) }).unwrap();
    }
    let end = HEAP.with(|h| h.hook().snapshot()).unwrap();

    println!("allocations: {}, frees: {}, failures: {}", end.allocations, end.frees, end.failures);
    println!("peak bytes live: {} (all {} blocks live at once)", end.peak_bytes_live, mid.blocks_live());
    println!("in use with every block live: pool {pool_used} B, TLSF {tlsf_used} B, system {system_used} B");
    print!("size histogram:");
    for (class, n) in end.histogram.iter().enumerate().filter(|(_, n)| **n > 0) {
        print!(" <={}B:{n}", 1usize << class);
    }
    println!();
    assert_eq!(end.bytes_live, 0);
}
