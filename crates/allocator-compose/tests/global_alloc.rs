//! A whole policy as the program's allocator: a statistics proxy around a
//! TLSF heap that refills itself from a bitmap page allocator. (One test
//! only: the measurement needs the heap to itself.)

use allocator_bitmap::BitmapPageAllocator;
use allocator_compose::{Proxy, Refill, Stats};
use allocator_tlsf::TlsfByteAllocator;

type Policy = Proxy<Refill<TlsfByteAllocator, BitmapPageAllocator<4096>>, Stats>;

allocator_testkit::global_alloc_test!(
    Policy,
    // SAFETY: the page allocator is given the test's arena only: real
    // memory, whose address the testkit exposes, used by nothing else.
    Proxy::new(unsafe { Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()) }, Stats::new()),
    128 << 20,
    1_000_000,
);
