//! The reference heap passes its own suite in several configurations.

use allocator_testkit::{byte_allocator_tests, ByteConfig, FirstFit};

byte_allocator_tests!(small, FirstFit::<4096>::new(), ByteConfig::new(16 * 1024));
byte_allocator_tests!(large, FirstFit::<4096>::new(), ByteConfig::new(1 << 20).cases(32));
byte_allocator_tests!(
    odd_start_many_regions,
    FirstFit::<4096>::new(),
    ByteConfig::new(64 * 1024).offset(3).more_regions(&[1024, 8 * 1024, 128 * 1024]),
);
