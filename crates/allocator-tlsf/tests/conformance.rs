//! The testkit's suites over `TlsfByteAllocator`, in several configurations.

use allocator_testkit::{byte_allocator_tests, ByteConfig};
use allocator_tlsf::TlsfByteAllocator;

byte_allocator_tests!(small, TlsfByteAllocator::new(), ByteConfig::new(8 * 1024).walked_figures());
byte_allocator_tests!(large, TlsfByteAllocator::new(), ByteConfig::new(4 << 20).walked_figures().cases(32));
byte_allocator_tests!(
    odd_start,
    TlsfByteAllocator::new(),
    ByteConfig::new(64 * 1024 + 13).walked_figures().offset(7).base_align(8),
);
byte_allocator_tests!(
    many_regions,
    TlsfByteAllocator::new(),
    ByteConfig::new(32 * 1024).walked_figures().offset(40).more_regions(&[100, 4096, 256 * 1024, 1000]),
);
byte_allocator_tests!(
    adjacent,
    TlsfByteAllocator::new(),
    ByteConfig::new(64 * 1024).walked_figures().adjacent()
);
