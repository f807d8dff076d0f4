//! Fuzz target: random operation sequences on `compose::Refill` of a buddy
//! heap from bitmap pages (consecutive refills are adjacent regions, which
//! the buddy heap merges), checked step by step by the testkit's shadow
//! model, `owns` included.
#![no_main]

use allocator::{compose, Owns};
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

type Heap =
    compose::Refill<allocator::buddy::BuddyByteAllocator<32>, allocator::bitmap::BitmapPageAllocator<4096>>;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(1 << 20).more_regions(&[256 * 1024]);
    // SAFETY: the page allocator is given only the testkit's regions: real
    // memory from the system allocator, by address with its provenance
    // exposed, used by this heap alone until the run drops it.
    let alloc: Heap = unsafe {
        compose::Refill::new(
            allocator::buddy::BuddyByteAllocator::<32>::new(),
            allocator::bitmap::BitmapPageAllocator::<4096>::new(),
        )
    };
    let subject = byte::Subject { alloc, owns: Some(|a: &Heap, p, l| a.owns(p, l)) };
    if let Err(violation) = byte::run_byte_ops(subject, &config, &ops) {
        panic!("{violation}");
    }
});
