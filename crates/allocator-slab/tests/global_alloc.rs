//! `Locked<SlabByteAllocator>` as the program's allocator.

use allocator_slab::SlabByteAllocator;

allocator_testkit::global_alloc_test!(SlabByteAllocator, SlabByteAllocator::new(), 128 << 20, 3_000_000);
