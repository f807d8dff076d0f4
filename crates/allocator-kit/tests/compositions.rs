//! Every byte backend inside the compositions that route frees by
//! ownership (`Fallback`) or refill from pages (`Refill`): the testkit's
//! suites, ownership checked after every operation, regions adjacent.
//!
//! These compositions hid unsound answers: `owns()` of the buddy and slab
//! heaps said "not mine" for a block the wrapped crate had merged across
//! two adjacent regions, and `Fallback` freed it into the other part.
#![cfg(feature = "full")]

use allocator::{
    bitmap::BitmapPageAllocator,
    compose::{Fallback, Pool, Refill, RefillPolicy},
    SlabByteAllocator, TlsfByteAllocator,
};
use allocator_testkit::{byte_allocator_tests, ByteConfig};

type Buddy = allocator::buddy::BuddyByteAllocator<32>;
/// The bitmap crate's own type (a 64 Ki-page map, 8.5 KiB, held by value),
/// not the root alias, whose map the `page-alloc-*` features may make 34 MiB.
type Pages = BitmapPageAllocator<4096>;

fn pages() -> Pages {
    Pages::new()
}

byte_allocator_tests!(
    fallback_buddy_then_tlsf,
    Fallback::new(Buddy::new(), TlsfByteAllocator::new()),
    ByteConfig::new(64 * 1024).more_regions(&[64 * 1024, 128 * 1024]).initial_regions(2),
);
byte_allocator_tests!(
    fallback_tlsf_then_buddy,
    Fallback::new(TlsfByteAllocator::new(), Buddy::new()),
    ByteConfig::new(64 * 1024).more_regions(&[64 * 1024, 128 * 1024]).initial_regions(2),
);
byte_allocator_tests!(
    fallback_slab_then_tlsf,
    Fallback::new(SlabByteAllocator::new(), TlsfByteAllocator::new()),
    ByteConfig::new(256 * 1024).more_regions(&[64 * 1024, 64 * 1024]).initial_regions(2).keeps_size_classes(),
);
byte_allocator_tests!(
    fallback_pool_then_buddy,
    Fallback::new(Pool::<64>::new(), Buddy::new()),
    ByteConfig::new(16 * 1024).more_regions(&[64 * 1024, 64 * 1024]).initial_regions(2),
);
byte_allocator_tests!(
    refill_buddy_from_pages,
    // SAFETY: the testkit gives the page allocator real memory, identity
    // mapped, used by nothing else.
    unsafe { Refill::new(Buddy::new(), pages()) },
    ByteConfig::new(1 << 20),
);
byte_allocator_tests!(
    refill_tlsf_from_pages,
    // SAFETY: as above.
    unsafe { Refill::new(TlsfByteAllocator::new(), pages()) },
    ByteConfig::new(1 << 20),
);
byte_allocator_tests!(
    refill_slab_from_pages,
    // SAFETY: as above.
    unsafe {
        Refill::with_policy(
            SlabByteAllocator::new(),
            pages(),
            RefillPolicy { min_pages: 64, max_pages: 256, doubling: true },
        )
    },
    ByteConfig::new(4 << 20).cases(16).keeps_size_classes(),
);
