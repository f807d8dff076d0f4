//! Fuzz target: random operation sequences on `compose::Fallback`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(16 * 1024).more_regions(&[128 * 1024, 8 * 1024]).initial_regions(2);
    if let Err(violation) = byte::run_byte_ops(
        compose::Fallback::new(compose::Pool::<64>::new(), allocator::TlsfByteAllocator::new()),
        &config,
        &ops,
    ) {
        panic!("{violation}");
    }
});
