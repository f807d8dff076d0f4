//! Fuzz target: random operation sequences on `compose::Refill`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{byte, ByteConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<byte::ByteOp>| {
    let config = ByteConfig::new(1 << 20);
    // SAFETY: the page allocator is given only the testkit's regions: real
    // memory from the system allocator, by address with its provenance
    // exposed, used by this heap alone until the run drops it.
    let alloc = unsafe {
        compose::Refill::new(
            allocator::TlsfByteAllocator::new(),
            allocator::bitmap::BitmapPageAllocator::<4096>::new(),
        )
    };
    if let Err(violation) = byte::run_byte_ops(alloc, &config, &ops) {
        panic!("{violation}");
    }
});
