//! [`Segregator`]: small sizes to one allocator, large to another.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    check_grow, check_layout, check_shrink, move_block, AllocResult, BaseAllocator, ByteAllocator, Owns,
};

use crate::route::{route, Routed};

/// Blocks of up to `THRESHOLD` bytes from `Small`, larger ones from
/// `Large`. Nests: `Segregator<64, A, Segregator<4096, B, C>>` is three size
/// bands. The side is chosen by size alone, so frees need no lookup.
///
/// A resize that stays on one side is that side's (in place when it can);
/// one that crosses the threshold moves the block. Memory given to the
/// `Segregator` is routed: `init` to `Small` (or `Large` if it refuses),
/// `add_memory` to `Large` (or `Small` if it refuses), never overlapping.
/// It implements [`Owns`] when both sides do.
#[derive(Debug, Default)]
pub struct Segregator<const THRESHOLD: usize, Small, Large> {
    small: Small,
    large: Large,
    routed: Routed,
}

impl<const THRESHOLD: usize, Small, Large> Segregator<THRESHOLD, Small, Large> {
    /// Combines two allocators.
    pub const fn new(small: Small, large: Large) -> Self {
        Self { small, large, routed: Routed::new() }
    }

    /// The side for blocks of up to `THRESHOLD` bytes.
    pub fn small(&self) -> &Small {
        &self.small
    }

    /// The small side, mutably (to give it memory, say).
    pub fn small_mut(&mut self) -> &mut Small {
        &mut self.small
    }

    /// The side for larger blocks.
    pub fn large(&self) -> &Large {
        &self.large
    }

    /// The large side, mutably.
    pub fn large_mut(&mut self) -> &mut Large {
        &mut self.large
    }

    #[inline]
    const fn is_small(layout: Layout) -> bool {
        layout.size() <= THRESHOLD
    }
}

impl<const T: usize, Small: BaseAllocator, Large: BaseAllocator> BaseAllocator
    for Segregator<T, Small, Large>
{
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.small, &mut self.large, start, size, true) }
    }

    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { route(&mut self.routed, &mut self.small, &mut self.large, start, size, false) }
    }
}

impl<const T: usize, Small: ByteAllocator, Large: ByteAllocator> ByteAllocator
    for Segregator<T, Small, Large>
{
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        if Self::is_small(layout) {
            self.small.alloc(layout)
        } else {
            self.large.alloc(layout)
        }
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: the block came from the side its size selects.
        unsafe {
            if Self::is_small(layout) {
                self.small.dealloc(ptr, layout)
            } else {
                self.large.dealloc(ptr, layout)
            }
        }
    }

    fn total_bytes(&self) -> usize {
        self.small.total_bytes() + self.large.total_bytes()
    }

    fn used_bytes(&self) -> usize {
        self.small.used_bytes() + self.large.used_bytes()
    }

    fn available_bytes(&self) -> usize {
        self.small.available_bytes() + self.large.available_bytes()
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: the block is live on the side `old` selects.
        unsafe {
            match (Self::is_small(old), Self::is_small(new)) {
                (true, true) => self.small.grow(ptr, old, new),
                (false, false) => self.large.grow(ptr, old, new),
                _ => move_block(self, ptr, old, new),
            }
        }
    }

    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: the block is live on the side `old` selects.
        unsafe {
            match (Self::is_small(old), Self::is_small(new)) {
                (true, true) => self.small.shrink(ptr, old, new),
                (false, false) => self.large.shrink(ptr, old, new),
                _ => move_block(self, ptr, old, new),
            }
        }
    }
}

impl<const T: usize, Small: Owns, Large: Owns> Owns for Segregator<T, Small, Large> {
    #[inline]
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        if Self::is_small(layout) {
            self.small.owns(ptr, layout)
        } else {
            self.large.owns(ptr, layout)
        }
    }
}
