#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

use allocator_core::{AllocError, AllocResult};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
#[cfg_attr(docsrs, doc(cfg(unix)))]
pub use unix::OsPages;

mod grow;
pub use grow::{GrowPages, LinearMemory, FREE_RUNS};

#[cfg(target_arch = "wasm32")]
mod wasm;
#[cfg(target_arch = "wasm32")]
#[cfg_attr(docsrs, doc(cfg(target_arch = "wasm32")))]
pub use wasm::{Wasm32Memory, WasmPages};

/// `num` pages of `page` bytes in bytes, or `InvalidParam` for zero pages or
/// a size past `isize::MAX` (no object can be that large).
fn run_bytes(num: usize, page: usize) -> AllocResult<usize> {
    match num.checked_mul(page) {
        Some(bytes) if num != 0 && bytes <= isize::MAX as usize => Ok(bytes),
        _ => Err(AllocError::InvalidParam),
    }
}

/// `align` as an alignment in bytes of at least `page`, or `InvalidParam`.
fn page_align(align: usize, page: usize) -> AllocResult<usize> {
    if align.is_power_of_two() {
        Ok(align.max(page))
    } else {
        Err(AllocError::InvalidParam)
    }
}
