//! The testkit's suites over `BuddyByteAllocator`, in several configurations.

use allocator_buddy::BuddyByteAllocator;
use allocator_testkit::{byte_allocator_tests, ByteConfig};

byte_allocator_tests!(small, BuddyByteAllocator::<32>::new(), ByteConfig::new(8 * 1024));
byte_allocator_tests!(large, BuddyByteAllocator::<32>::new(), ByteConfig::new(4 << 20).cases(32));
byte_allocator_tests!(
    odd_start,
    BuddyByteAllocator::<32>::new(),
    ByteConfig::new(64 * 1024 + 13).offset(5).base_align(8),
);
byte_allocator_tests!(
    many_regions,
    BuddyByteAllocator::<32>::new(),
    ByteConfig::new(32 * 1024).offset(40).more_regions(&[100, 4096, 256 * 1024, 1000]),
);
byte_allocator_tests!(small_order, BuddyByteAllocator::<12>::new(), ByteConfig::new(64 * 1024));
byte_allocator_tests!(adjacent, BuddyByteAllocator::<32>::new(), ByteConfig::new(64 * 1024).adjacent());
