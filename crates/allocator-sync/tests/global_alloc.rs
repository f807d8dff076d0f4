//! `Locked<FirstFit>` as the program's allocator: real work on two threads,
//! and the heap back to where it started afterwards.

use allocator_testkit::FirstFit;

allocator_testkit::global_alloc_test!(FirstFit<16384>, FirstFit::new(), 64 << 20, 1_000_000);
