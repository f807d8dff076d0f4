//! [`fragment`]: a heap's [`Health`] before, during and after a
//! fragmenting workload, checked against its figures at each step.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{ByteAllocator, Health};

/// The health of a heap at the three moments [`fragment`] reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Moments {
    /// Before anything was allocated.
    pub empty: Health,
    /// Filled with blocks, then every other one freed: holes the size of
    /// one block, between live blocks.
    pub holed: Health,
    /// Once every block is freed again.
    pub freed: Health,
    /// How many blocks filled the heap.
    pub blocks: usize,
}

/// Fills `heap` with blocks of `layout` until it refuses one (or `max`
/// are live), frees every other one, then the rest, and returns its
/// [`Health`] at each moment.
///
/// # Panics
/// When `health()` disagrees with `figures()` and `largest_free()` at any
/// moment, when its fragmentation is missing although the largest free
/// block is known (or present although it is not), or above 1000.
pub fn fragment<A: ByteAllocator>(heap: &mut A, layout: Layout, max: usize) -> Moments {
    let empty = read(heap);
    let mut live: Vec<NonNull<u8>> = Vec::new();
    while live.len() < max {
        match heap.alloc(layout) {
            Ok(p) => live.push(p),
            Err(_) => break,
        }
    }
    let blocks = live.len();
    let mut kept = Vec::new();
    for (i, p) in live.into_iter().enumerate() {
        if i % 2 == 0 {
            // SAFETY: allocated above for `layout`, freed once.
            unsafe { heap.dealloc(p, layout) };
        } else {
            kept.push(p);
        }
    }
    let holed = read(heap);
    for p in kept {
        // SAFETY: allocated above for `layout`, freed once.
        unsafe { heap.dealloc(p, layout) };
    }
    Moments { empty, holed, freed: read(heap), blocks }
}

/// The heap's health, checked against the separate queries.
fn read<A: ByteAllocator>(heap: &A) -> Health {
    let h = heap.health();
    assert_eq!(h.figures(), heap.figures(), "health and figures disagree");
    assert_eq!(h.largest_free, heap.largest_free(), "health and largest_free disagree");
    let permille = h.fragmentation_permille();
    assert_eq!(permille.is_some(), h.largest_free.is_some(), "{h:?}");
    assert!(permille.is_none_or(|p| p <= 1000), "{h:?}");
    h
}
