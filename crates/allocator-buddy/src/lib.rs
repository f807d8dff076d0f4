#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;

mod byte;
#[cfg(feature = "alloc")]
mod page;

pub use byte::BuddyByteAllocator;
#[cfg(feature = "alloc")]
#[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
pub use page::{BuddyPageAllocator, DEFAULT_PAGE_ORDER};

/// How many separate regions one allocator tracks.
pub const MAX_REGIONS: usize = 32;
