//! Fuzz target: random operation sequences on `allocator::bitmap::BitmapPageAllocator::<4096>`, checked
//! step by step by the testkit's shadow model.
#![no_main]

#[allow(unused_imports)]
use allocator::compose;
use allocator_testkit::{page, PageConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|ops: Vec<page::PageOp>| {
    let config = PageConfig::new(0x1234_5000, 64 << 20);
    if let Err(violation) =
        page::run_page_ops(allocator::bitmap::BitmapPageAllocator::<4096>::new(), &config, &ops)
    {
        panic!("{violation}");
    }
});
