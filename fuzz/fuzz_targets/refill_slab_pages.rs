//! Fuzz target: random operation sequences on `compose::Refill` of the slab
//! heap from bitmap pages (refills of at least 64 pages, so that the first
//! one holds the slab heap's minimum first region), checked step by step by
//! the testkit's shadow model, `owns` included.
#![no_main]

use allocator::{compose, Owns};
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

type Heap = compose::Refill<allocator::SlabByteAllocator, allocator::bitmap::BitmapPageAllocator<4096>>;

/// 64 pages (256 KiB) at least per refill: the slab heap's first region must
/// hold 32 KiB.
const POLICY: compose::RefillPolicy =
    compose::RefillPolicy { min_pages: 64, ..compose::RefillPolicy::DEFAULT };

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(1 << 20).more_regions(&[256 * 1024]).keeps_size_classes();
    // SAFETY: the page allocator is given only the testkit's regions: real
    // memory from the system allocator, by address with its provenance
    // exposed, used by this heap alone until the run drops it.
    let alloc: Heap = unsafe {
        compose::Refill::with_policy(
            allocator::SlabByteAllocator::new(),
            allocator::bitmap::BitmapPageAllocator::<4096>::new(),
            POLICY,
        )
    };
    let subject = byte::Subject { alloc, owns: Some(|a: &Heap, p, l| a.owns(p, l)) };
    if let Err(violation) = byte::run_byte_ops(subject, &config, &ops) {
        panic!("{violation}");
    }
});
