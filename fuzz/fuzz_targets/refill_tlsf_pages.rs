//! Fuzz target: random operation sequences on `compose::Refill`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(1 << 20);
    if let Err(violation) = byte::run_byte_ops(compose::Refill::new(allocator::TlsfByteAllocator::new(), allocator::BitmapPageAllocator::<4096>::new()), &config, &ops) {
        panic!("{violation}");
    }
});
