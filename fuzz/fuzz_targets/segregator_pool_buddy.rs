//! Fuzz target: random operation sequences on `compose::Segregator::<256, _, _>`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(32 * 1024).more_regions(&[128 * 1024]).initial_regions(2);
    if let Err(violation) = byte::run_byte_ops(
        compose::Segregator::<256, _, _>::new(
            compose::Pool::<256>::new(),
            allocator::buddy::BuddyByteAllocator::<32>::new(),
        ),
        &config,
        &ops,
    ) {
        panic!("{violation}");
    }
});
