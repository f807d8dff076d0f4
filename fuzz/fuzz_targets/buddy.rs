//! Fuzz target: random operation sequences on `allocator::buddy::BuddyByteAllocator::<32>`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(64 * 1024).more_regions(&[8 * 1024, 100_000]);
    if let Err(violation) =
        byte::run_byte_ops(allocator::buddy::BuddyByteAllocator::<32>::new(), &config, &ops)
    {
        panic!("{violation}");
    }
});
