#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(no_inline)]
pub use allocator_core::*;

/// The traits, for `use allocator::prelude::*`.
pub mod prelude {
    #[doc(no_inline)]
    pub use allocator_core::{BaseAllocator, ByteAllocator, IdAllocator, Owns, PageAllocator};
}

/// The buddy allocators ([`allocator-buddy`](allocator_buddy)).
#[cfg(feature = "buddy")]
#[cfg_attr(docsrs, doc(cfg(feature = "buddy")))]
#[doc(inline)]
pub use allocator_buddy as buddy;
#[cfg(feature = "buddy")]
#[doc(no_inline)]
pub use allocator_buddy::BuddyByteAllocator;
#[cfg(all(feature = "buddy", feature = "alloc"))]
#[doc(no_inline)]
pub use allocator_buddy::BuddyPageAllocator;

/// The slab allocator ([`allocator-slab`](allocator_slab)).
#[cfg(feature = "slab")]
#[cfg_attr(docsrs, doc(cfg(feature = "slab")))]
#[doc(inline)]
pub use allocator_slab as slab;
#[cfg(feature = "slab")]
#[doc(no_inline)]
pub use allocator_slab::SlabByteAllocator;

/// The TLSF allocator ([`allocator-tlsf`](allocator_tlsf)).
#[cfg(feature = "tlsf")]
#[cfg_attr(docsrs, doc(cfg(feature = "tlsf")))]
#[doc(inline)]
pub use allocator_tlsf as tlsf;
#[cfg(feature = "tlsf")]
#[doc(no_inline)]
pub use allocator_tlsf::TlsfByteAllocator;

/// The bitmap page and id allocators ([`allocator-bitmap`](allocator_bitmap)).
#[cfg(feature = "bitmap")]
#[cfg_attr(docsrs, doc(cfg(feature = "bitmap")))]
#[doc(inline)]
pub use allocator_bitmap as bitmap;
#[cfg(feature = "bitmap")]
#[doc(no_inline)]
pub use allocator_bitmap::{BitmapIdAllocator, BitmapPageAllocator};

/// The combinators ([`allocator-compose`](allocator_compose)).
#[cfg(feature = "compose")]
#[cfg_attr(docsrs, doc(cfg(feature = "compose")))]
#[doc(inline)]
pub use allocator_compose as compose;

/// Ready-made policies: short names for the common compositions.
#[cfg(feature = "compose")]
#[cfg_attr(docsrs, doc(cfg(feature = "compose")))]
pub mod policy {
    #[doc(no_inline)]
    pub use allocator_compose::{Fallback, NullAllocator, Pool, Proxy, Refill, Region, Segregator, Stats};

    /// A TLSF heap that refills itself from a bitmap page allocator of
    /// `PAGE_SIZE`-byte pages: the kernel heap.
    #[cfg(all(feature = "tlsf", feature = "bitmap"))]
    pub type KernelHeap<const PAGE_SIZE: usize = 4096> =
        Refill<crate::TlsfByteAllocator, crate::BitmapPageAllocator<PAGE_SIZE>>;

    /// Blocks up to `SMALL` bytes from a pool of `SMALL`-byte blocks, the
    /// rest from `Large`.
    pub type SmallBlocks<const SMALL: usize, Large> = Segregator<SMALL, Pool<SMALL>, Large>;

    /// Any policy with allocation statistics.
    pub type Counted<A> = Proxy<A, Stats>;
}
