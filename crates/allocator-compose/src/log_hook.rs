//! [`Log`]: a hook that logs every operation with the `log` crate.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::AllocResult;

use crate::Hook;

/// Logs every operation at `trace` level (failures at `debug`), target
/// `"allocator"`, through the `log` crate. It allocates nothing itself,
/// but the logger it calls must not allocate from the same heap (or must
/// not run under the heap's lock).
#[derive(Clone, Copy, Debug, Default)]
pub struct Log;

impl Log {
    /// The hook.
    pub const fn new() -> Self {
        Self
    }
}

impl Hook for Log {
    fn after_alloc(&mut self, layout: Layout, result: &AllocResult<NonNull<u8>>) {
        match result {
            Ok(p) => {
                log::trace!(target: "allocator", "alloc {} B align {} -> {p:p}", layout.size(), layout.align())
            }
            Err(e) => {
                log::debug!(target: "allocator", "alloc {} B align {} failed: {e}", layout.size(), layout.align())
            }
        }
    }

    fn before_dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        log::trace!(target: "allocator", "dealloc {ptr:p} ({} B)", layout.size());
    }

    fn after_resize(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        result: &AllocResult<NonNull<u8>>,
    ) {
        match result {
            Ok(p) => {
                log::trace!(target: "allocator", "resize {ptr:p} {} -> {} B -> {p:p}", old.size(), new.size())
            }
            Err(e) => {
                log::debug!(target: "allocator", "resize {ptr:p} {} -> {} B failed: {e}", old.size(), new.size())
            }
        }
    }

    fn after_resize_in_place(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout, result: &AllocResult) {
        match result {
            Ok(()) => {
                log::trace!(target: "allocator", "resize {ptr:p} {} -> {} B in place", old.size(), new.size())
            }
            Err(e) => log::trace!(
                target: "allocator",
                "resize {ptr:p} {} -> {} B in place refused: {e}",
                old.size(),
                new.size()
            ),
        }
    }
}
