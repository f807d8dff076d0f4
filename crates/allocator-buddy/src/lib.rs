#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod byte;
mod page;

pub use byte::BuddyByteAllocator;
pub use page::{BuddyPageAllocator, DEFAULT_PAGE_GROUPS};

/// How many separate regions one allocator tracks (adjacent regions share
/// one entry).
pub const MAX_REGIONS: usize = 32;
