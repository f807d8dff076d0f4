//! Fuzz target: random operation sequences on `allocator::BitmapIdAllocator::<allocator::bitmap::BitAlloc4K>`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{id, IdConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<id::IdOp>| {
    let config = IdConfig::new(3, 1000);
    if let Err(violation) = id::run_id_ops(
        allocator::BitmapIdAllocator::<allocator::bitmap::BitAlloc4K>::with_range(3, 1000)
            .expect("a valid range"),
        &config,
        &ops,
    ) {
        panic!("{violation}");
    }
});
