//! The testkit's suites over `SlabByteAllocator`, in several configurations.

use allocator_slab::SlabByteAllocator;
use allocator_testkit::{byte_allocator_tests, ByteConfig};

byte_allocator_tests!(smallest, SlabByteAllocator::new(), ByteConfig::new(32 * 1024).keeps_size_classes());
byte_allocator_tests!(
    large,
    SlabByteAllocator::new(),
    ByteConfig::new(8 << 20).keeps_size_classes().cases(32)
);
byte_allocator_tests!(
    odd_start,
    SlabByteAllocator::new(),
    ByteConfig::new(256 * 1024 + 4096 + 13).offset(7).base_align(8).keeps_size_classes(),
);
byte_allocator_tests!(
    many_regions,
    SlabByteAllocator::new(),
    ByteConfig::new(96 * 1024).more_regions(&[4096, 12 * 1024, 512 * 1024]).keeps_size_classes(),
);
byte_allocator_tests!(
    adjacent,
    SlabByteAllocator::new(),
    ByteConfig::new(128 * 1024).adjacent().keeps_size_classes(),
);
