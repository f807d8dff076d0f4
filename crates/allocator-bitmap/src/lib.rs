#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod id;
mod page;
mod run;

pub use bitmap_allocator::{BitAlloc, BitAlloc16, BitAlloc1M, BitAlloc256, BitAlloc4K, BitAlloc64K};
pub use id::BitmapIdAllocator;
pub use page::{BitmapPageAllocator, MAX_REGIONS};

cfg_if::cfg_if! {
    if #[cfg(feature = "page-alloc-1t")] {
        /// The page map the capacity features chose (the largest enabled).
        pub type PageMap = bitmap_allocator::BitAlloc256M;
    } else if #[cfg(feature = "page-alloc-64g")] {
        /// The page map the capacity features chose (the largest enabled).
        pub type PageMap = bitmap_allocator::BitAlloc16M;
    } else if #[cfg(feature = "page-alloc-4g")] {
        /// The page map the capacity features chose (the largest enabled).
        pub type PageMap = bitmap_allocator::BitAlloc1M;
    } else {
        /// The page map the capacity features chose (the largest enabled;
        /// `page-alloc-256m` when none is).
        pub type PageMap = bitmap_allocator::BitAlloc64K;
    }
}

/// How many pages one [`BitmapPageAllocator`] can manage, as the capacity
/// features chose.
pub const CAPACITY_PAGES: usize = <PageMap as BitAlloc>::CAP;
