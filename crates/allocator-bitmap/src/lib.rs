#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod id;
mod map;
mod page;
mod run;

pub use bitmap_allocator::{
    BitAlloc, BitAlloc16, BitAlloc16M, BitAlloc1M, BitAlloc256, BitAlloc256M, BitAlloc4K, BitAlloc64K,
};
pub use id::BitmapIdAllocator;
pub use map::PageMap;
pub use page::{BitmapPageAllocator, MAX_REGIONS};
