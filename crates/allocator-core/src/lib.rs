#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(test)]
extern crate std;

mod align;
mod base;
mod byte;
mod classes;
mod error;
mod id;
mod owns;
mod page;
mod regions;

pub use base::{Address, BaseAllocator};
pub use byte::{ByteAllocator, Figures, Health};
pub use error::{AllocError, AllocResult};
pub use id::IdAllocator;
pub use owns::Owns;
pub use page::{MemoryPages, PageAllocator};

/// Helpers for *implementing* allocators: alignment arithmetic that cannot
/// overflow, layout and region checks, the shared `init` rule, the
/// allocate-copy-free move, a fixed-capacity set of regions, and the size
/// classes the slab layer and the magazine front share. Users of
/// allocators need none of it.
pub mod helpers {
    pub use crate::align::{
        align_down, align_up, check_grow, check_layout, check_shrink, is_aligned, is_pow2, region_end,
        trim_region,
    };
    pub use crate::base::init_first;
    pub use crate::byte::move_block;
    pub use crate::classes::{
        class_align, class_layout, class_of, class_of_size, class_size, CLASSES, MAX_CLASS_SIZE,
        MIN_CLASS_SIZE,
    };
    pub use crate::regions::RegionSet;
}
