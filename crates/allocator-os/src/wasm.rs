//! [`WasmPages`]: pages of the WebAssembly module's memory 0.

use core::arch::wasm32;

use crate::{GrowPages, LinearMemory};

/// Memory 0 of a WebAssembly module, grown with `memory.grow` in pages of
/// 64 KiB. All zeros, for a `static`.
#[derive(Debug, Default)]
pub struct Wasm32Memory;

// SAFETY: `memory.grow` appends fresh, zeroed pages to memory 0 and returns
// the previous size in pages, so the new run starts at that size times the
// page size, after every run grown before; nothing else uses it. The
// memory's addresses are valid pointers to it with exposed provenance: the
// memory is provided by the host, like memory from an FFI call.
unsafe impl LinearMemory for Wasm32Memory {
    const PAGE_SIZE: usize = 65536;

    fn grow(&mut self, pages: usize) -> Option<usize> {
        let previous = wasm32::memory_grow(0, pages);
        // `usize::MAX` is failure; page 0 cannot be returned as it would
        // make address 0 a page.
        if previous == usize::MAX || previous == 0 {
            return None;
        }
        previous.checked_mul(Self::PAGE_SIZE)
    }
}

/// Pages of 64 KiB from `memory.grow`, kept for reuse once freed (the
/// memory never shrinks).
pub type WasmPages = GrowPages<Wasm32Memory>;

impl WasmPages {
    /// No pages taken yet: all zeros, for a `static`.
    pub const fn wasm() -> Self {
        GrowPages::new(Wasm32Memory)
    }
}
