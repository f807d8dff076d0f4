//! A whole policy as the program's allocator: a statistics proxy around a
//! TLSF heap that refills itself from a bitmap page allocator. (One test
//! only: the measurement needs the heap to itself.)

use allocator_bitmap::BitmapPageAllocator;
use allocator_compose::{Proxy, Refill, Stats};
use allocator_tlsf::TlsfByteAllocator;

type Policy = Proxy<Refill<TlsfByteAllocator, BitmapPageAllocator<4096>>, Stats>;

allocator_testkit::global_alloc_test!(
    Policy,
    Proxy::new(Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()), Stats::new()),
    128 << 20,
    1_000_000,
);
