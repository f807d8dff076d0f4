//! `Locked<SizeClasses<BuddyByteAllocator>>` as the test binary's
//! `#[global_allocator]`: the harness, threads, `Vec`s, `String`s and maps
//! all run on slabs (and on the buddy heap above 224 bytes), and `used` is
//! back where it was after each storm, kept empty slabs and all. (One test
//! only: the figures need the heap to itself.)
//!
//! Over a buddy heap, which spends exactly a slab's size on each slab, as
//! `used` assumes. TLSF sometimes spends more on an aligned block (the
//! padding before it), so over TLSF `used` also counts that padding for
//! the empty slabs kept, which differ from one moment to the next.

use allocator_buddy::BuddyByteAllocator;
use allocator_compose::SizeClasses;

allocator_testkit::global_alloc_test!(
    SizeClasses<BuddyByteAllocator>,
    SizeClasses::new(BuddyByteAllocator::new()),
    64 << 20,
    1_000_000,
);
