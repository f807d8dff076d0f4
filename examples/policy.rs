//! A composed policy: a pool for small sizes, TLSF for the rest, the
//! system allocator when both are full, and statistics over all of it.

use core::alloc::Layout;

use allocator::{
    compose::{Fallback, Pool, Proxy, Segregator, Stats, System},
    BaseAllocator, ByteAllocator, Locked, TlsfByteAllocator,
};

type Policy = Proxy<Fallback<Segregator<128, Pool<128>, TlsfByteAllocator>, System>, Stats>;

static HEAP: Locked<Policy> = Locked::new(Proxy::new(
    Fallback::new(Segregator::new(Pool::new(), TlsfByteAllocator::new()), System::new()),
    Stats::new(),
));

fn main() {
    let pool: &'static mut [u8] = Box::leak(vec![0u8; 64 * 1024].into_boxed_slice());
    let tlsf: &'static mut [u8] = Box::leak(vec![0u8; 1 << 20].into_boxed_slice());
    {
        let mut heap = HEAP.lock();
        // SAFETY: both blocks are leaked: the heap's for the whole program.
        unsafe {
            heap.inner_mut().primary_mut().small_mut().init(pool.as_mut_ptr() as usize, pool.len()).unwrap();
            heap.inner_mut().primary_mut().large_mut().init(tlsf.as_mut_ptr() as usize, tlsf.len()).unwrap();
        }
    }

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
        blocks.push((HEAP.lock().alloc(layout).expect("the system allocator backs everything"), layout));
    }
    let (mid, pool_used, tlsf_used, system_used) = {
        let heap = HEAP.lock();
        let f = heap.inner();
        (
            heap.hook().snapshot(),
            f.primary().small().used_bytes(),
            f.primary().large().used_bytes(),
            f.secondary().used_bytes(),
        )
    };
    for (p, l) in blocks {
        // SAFETY: each block is live for its layout.
        unsafe { HEAP.lock().dealloc(p, l) };
    }
    let end = HEAP.lock().hook().snapshot();

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
