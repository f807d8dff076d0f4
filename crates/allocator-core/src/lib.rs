#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(feature = "allocator_api", feature(allocator_api))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(test)]
extern crate std;

mod align;
mod base;
mod byte;
mod error;
mod id;
mod locked;
mod owns;
mod page;
#[cfg(feature = "allocator_api")]
mod rc;
mod regions;

pub use align::{
    align_down, align_up, check_grow, check_layout, check_shrink, is_aligned, is_pow2, region_end,
    trim_region,
};
pub use base::{init_first, BaseAllocator};
pub use byte::{move_block, ByteAllocator};
pub use error::{AllocError, AllocResult};
pub use id::IdAllocator;
pub use locked::{DefaultRawMutex, Locked};
pub use owns::Owns;
pub use page::PageAllocator;
#[cfg(feature = "allocator_api")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator_api")))]
pub use rc::AllocatorRc;
pub use regions::RegionSet;

/// The lock-API crate `Locked` is generic over, re-exported so that users
/// name the same version.
pub use lock_api;
