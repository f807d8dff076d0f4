//! Fuzz target: random operation sequences on `compose::Fallback` of a buddy
//! heap and TLSF over ADJACENT regions (the primary's memory ends where the
//! secondary's begins, and the secondary's two regions touch), checked step
//! by step by the testkit's shadow model, `owns` included.
#![no_main]

use allocator::{compose, Owns};
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

type Heap = compose::Fallback<allocator::buddy::BuddyByteAllocator<32>, allocator::TlsfByteAllocator>;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    // Buddy gets the first region (`init`), TLSF the other two (`add_memory`).
    let config = ByteConfig::new(64 * 1024).more_regions(&[32 * 1024, 8 * 1024]).adjacent();
    let alloc = compose::Fallback::new(
        allocator::buddy::BuddyByteAllocator::<32>::new(),
        allocator::TlsfByteAllocator::new(),
    );
    let subject = byte::Subject { alloc, owns: Some(|a: &Heap, p, l| a.owns(p, l)) };
    if let Err(violation) = byte::run_byte_ops(subject, &config, &ops) {
        panic!("{violation}");
    }
});
