//! The testkit's suites over every combinator, built from real backends.

use allocator_bitmap::BitmapPageAllocator;
use allocator_buddy::BuddyByteAllocator;
use allocator_compose::{
    FailAfter, Fallback, NullAllocator, Pool, Proxy, Refill, RefillPolicy, Region, Segregator, SizeClasses,
    Stats,
};
use allocator_testkit::{byte_allocator_tests, ByteConfig};
use allocator_tlsf::TlsfByteAllocator;

type Pages = BitmapPageAllocator<4096>;

byte_allocator_tests!(
    fallback_pool_tlsf,
    Fallback::new(Pool::<64>::new(), TlsfByteAllocator::new()),
    ByteConfig::new(16 * 1024).more_regions(&[256 * 1024, 64 * 1024]).initial_regions(2),
);
byte_allocator_tests!(
    fallback_null_is_its_secondary,
    Fallback::new(NullAllocator::new(), TlsfByteAllocator::new()),
    ByteConfig::new(64 * 1024).more_regions(&[32 * 1024]),
);
byte_allocator_tests!(
    segregator_pool_buddy,
    Segregator::<256, _, _>::new(Pool::<256>::new(), BuddyByteAllocator::<32>::new()),
    ByteConfig::new(64 * 1024).offset(8).more_regions(&[512 * 1024]).initial_regions(2),
);
byte_allocator_tests!(
    three_bands,
    Segregator::<64, _, _>::new(
        Pool::<64>::new(),
        Segregator::<1024, _, _>::new(
            Fallback::new(Pool::<1024>::new(), TlsfByteAllocator::new()),
            TlsfByteAllocator::new()
        ),
    ),
    ByteConfig::new(16 * 1024).more_regions(&[256 * 1024]).initial_regions(2),
);
// The small side's blocks (24 bytes) are only 8-aligned: more aligned
// small requests go to the large side.
byte_allocator_tests!(
    segregator_odd_pool_tlsf,
    Segregator::<24, _, _>::new(Pool::<24>::new(), TlsfByteAllocator::new()),
    ByteConfig::new(16 * 1024).more_regions(&[256 * 1024]).initial_regions(2),
);
byte_allocator_tests!(
    refill_tlsf_from_pages,
    // SAFETY: the testkit gives the page allocator real memory, whose
    // address it exposes, used by nothing else.
    unsafe { Refill::new(TlsfByteAllocator::new(), Pages::new()) },
    ByteConfig::new(1 << 20),
);
byte_allocator_tests!(
    refill_pool_from_pages,
    // SAFETY: as above.
    unsafe {
        Refill::with_policy(
            Pool::<128>::new(),
            Pages::new(),
            RefillPolicy { min_pages: 1, max_pages: 4, doubling: false },
        )
    },
    ByteConfig::new(256 * 1024).max_align(128),
);
byte_allocator_tests!(
    proxy_stats,
    Proxy::new(TlsfByteAllocator::new(), Stats::new()),
    ByteConfig::new(64 * 1024)
);
byte_allocator_tests!(
    proxy_logging_buddy,
    Proxy::new(BuddyByteAllocator::<32>::new(), (Stats::new(), allocator_compose::Log::new())),
    ByteConfig::new(64 * 1024),
);
byte_allocator_tests!(
    proxy_failing_large,
    Proxy::new(TlsfByteAllocator::new(), FailAfter::over(1 << 20)),
    ByteConfig::new(64 * 1024),
);
byte_allocator_tests!(region, Region::new(), ByteConfig::new(64 * 1024).lazy_free());
byte_allocator_tests!(
    region_odd_start,
    Region::new(),
    ByteConfig::new(4096 + 3).offset(5).base_align(8).lazy_free()
);
byte_allocator_tests!(
    pool,
    Pool::<64>::new(),
    ByteConfig::new(16 * 1024).max_align(64).more_regions(&[4096, 100])
);
// Slab classes and classes served by the heap directly, over both heaps:
// the 16 KiB MCU case, several regions, adjacent regions, odd starts;
// slabs of at most 1 KiB (classes up to 112 B), and of up to 64 KiB
// (every class from slabs).
byte_allocator_tests!(
    size_classes_tlsf,
    SizeClasses::<_>::new(TlsfByteAllocator::new()),
    ByteConfig::new(16 * 1024).walked_figures().more_regions(&[64 * 1024, 4096, 256 * 1024]),
);
byte_allocator_tests!(
    size_classes_tlsf_adjacent,
    SizeClasses::<_>::new(TlsfByteAllocator::new()),
    ByteConfig::new(48 * 1024).walked_figures().adjacent(),
);
byte_allocator_tests!(
    size_classes_tlsf_small_slabs_odd_start,
    SizeClasses::<_, 1024>::new(TlsfByteAllocator::new()),
    ByteConfig::new(64 * 1024 + 13).walked_figures().offset(7).base_align(8),
);
byte_allocator_tests!(
    size_classes_buddy,
    SizeClasses::<_>::new(BuddyByteAllocator::<32>::new()),
    ByteConfig::new(64 * 1024).more_regions(&[256 * 1024, 1000]),
);
byte_allocator_tests!(
    size_classes_buddy_adjacent,
    SizeClasses::<_, 65536>::new(BuddyByteAllocator::<32>::new()),
    ByteConfig::new(256 * 1024).adjacent(),
);
