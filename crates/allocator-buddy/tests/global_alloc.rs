//! `Locked<BuddyByteAllocator>` as the program's allocator.

use allocator_buddy::BuddyByteAllocator;

allocator_testkit::global_alloc_test!(BuddyByteAllocator, BuddyByteAllocator::new(), 128 << 20, 3_000_000);
