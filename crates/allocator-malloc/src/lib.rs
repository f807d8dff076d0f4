#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod c;
mod export;
mod header;
mod heap;

pub use c::{
    aligned_alloc, calloc, free, malloc, malloc_usable_size, memalign, posix_memalign, pvalloc, realloc,
    reallocarray, Error,
};
pub use header::HEADER;
pub use heap::{MallocHeap, TAGS};
