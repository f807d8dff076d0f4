//! `Locked<TlsfByteAllocator>` as the program's allocator.

use allocator_tlsf::TlsfByteAllocator;

allocator_testkit::global_alloc_test!(TlsfByteAllocator, TlsfByteAllocator::new(), 96 << 20, 3_000_000);
