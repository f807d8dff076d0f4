#![doc = include_str!("../README.md")]
#![no_std]

mod byte;

pub use byte::BuddyByteAllocator;

/// How many separate regions one allocator tracks.
pub const MAX_REGIONS: usize = 32;
