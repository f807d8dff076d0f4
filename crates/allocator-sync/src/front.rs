//! What the magazine fronts share: a block's class, the uncached path, and
//! the `GlobalAlloc` operations written once over "the calling context's
//! cache, if it has one".

use core::{
    alloc::Layout,
    ptr::{self, NonNull},
};

use allocator_core::{helpers::class_size, AllocError, AllocResult, ByteAllocator};

use crate::{
    depot::Depot,
    magazine::{class_of, Cache},
    ops, InitHeap, Lock,
};

/// A magazine front: a [`Depot`] and a way to reach the calling context's
/// [`Cache`].
pub(crate) trait Front {
    type Heap: ByteAllocator;
    type Lock: Lock;
    type Init: InitHeap<Self::Heap>;

    /// The shared layer.
    fn depot(&self) -> &Depot<Self::Heap, Self::Lock, Self::Init>;

    /// Runs `f` on the calling context's cache; `None` when it has none
    /// now (no cache for it, re-entered, thread-local storage gone): the
    /// caller takes the uncached path.
    fn with_cache<R>(&self, f: impl FnOnce(&mut Cache) -> R) -> Option<R>;

    /// Gives the calling context's magazines back to the depot; the bytes
    /// given back.
    fn flush_here(&self) -> usize;
}

/// `GlobalAlloc::alloc` for a front: the calling context's loaded
/// magazine, else (out of line) everything else.
#[inline]
pub(crate) fn alloc<F: Front>(front: &F, layout: Layout) -> *mut u8 {
    if let Some(class) = class_of(layout) {
        // SAFETY: the cache holds only free blocks of their classes from
        // this depot's heap (every block it is given is freed with its
        // class's layout).
        if let Some(Some(p)) = front.with_cache(|cache| unsafe { cache.pop(class) }) {
            return p.as_ptr();
        }
    }
    alloc_slow(front, layout)
}

/// Swaps or refills a magazine, or serves a block the magazines do not
/// hold; out of memory, it gives the calling context's magazines back (the
/// depot's go back to the heap on their own) and tries once more.
#[inline(never)]
fn alloc_slow<F: Front>(front: &F, layout: Layout) -> *mut u8 {
    let p = try_alloc(front, layout);
    if p.is_null() && front.flush_here() > 0 {
        return try_alloc(front, layout);
    }
    p
}

fn try_alloc<F: Front>(front: &F, layout: Layout) -> *mut u8 {
    let Some(class) = class_of(layout) else {
        return ops::allocate(front.depot().locked(), layout)
            .map_or(ptr::null_mut(), |b| b.cast::<u8>().as_ptr());
    };
    let depot = front.depot();
    // SAFETY: as in `alloc`.
    let cached = front.with_cache(|cache| unsafe { cache.alloc(class, depot) });
    match cached {
        Some(p) => p.map_or(ptr::null_mut(), NonNull::as_ptr),
        None => depot.alloc_class(class).map_or(ptr::null_mut(), NonNull::as_ptr),
    }
}

/// `GlobalAlloc::dealloc` for a front: onto the calling context's loaded
/// magazine, else (out of line) everything else.
///
/// # Safety
/// `ptr` is a live block of this front allocated for `layout` (any size
/// between the requested one and the usable one).
#[inline]
pub(crate) unsafe fn dealloc<F: Front>(front: &F, ptr: *mut u8, layout: Layout) {
    let Some(block) = NonNull::new(ptr) else { return };
    if let Some(class) = class_of(layout) {
        // SAFETY: a block of a class came from the heap with the class's
        // layout (cached or not), and the caller gives it up.
        if let Some(true) = front.with_cache(|cache| unsafe { cache.push(class, block) }) {
            return;
        }
    }
    // SAFETY: forwarded from the caller.
    unsafe { dealloc_slow(front, block, layout) }
}

/// # Safety
/// As `dealloc`.
#[inline(never)]
unsafe fn dealloc_slow<F: Front>(front: &F, block: NonNull<u8>, layout: Layout) {
    let Some(class) = class_of(layout) else {
        // SAFETY: forwarded from the caller; such blocks came from the heap
        // for their own layout.
        return unsafe { ops::deallocate(front.depot().locked(), block, layout) };
    };
    let depot = front.depot();
    // SAFETY: as in `dealloc`.
    let done = front.with_cache(|cache| unsafe { cache.free(class, block, depot) });
    if done.is_none() {
        // SAFETY: as above.
        unsafe { depot.free_class(class, block) };
    }
}

/// `GlobalAlloc::realloc` for a front: in place within a class, else a
/// move (through the heap's own resize for blocks above the classes).
///
/// # Safety
/// As `GlobalAlloc::realloc`.
pub(crate) unsafe fn realloc<F: Front>(front: &F, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
        return ptr::null_mut();
    };
    let (old_class, new_class) = (class_of(layout), class_of(new));
    if old_class.is_none() && new_class.is_none() && layout.size() != 0 {
        // SAFETY: forwarded from the caller.
        return unsafe { ops::realloc(front.depot().locked(), ptr, layout, new_size) };
    }
    if old_class.is_some() && old_class == new_class && !ptr.is_null() {
        return ptr;
    }
    let q = alloc(front, new);
    if !q.is_null() && !ptr.is_null() {
        // SAFETY: both blocks are live and distinct; the old one holds
        // `layout.size()` bytes, the new one `new_size`.
        unsafe {
            ptr::copy_nonoverlapping(ptr, q, layout.size().min(new_size));
            dealloc(front, ptr, layout);
        }
    }
    q
}

/// The usable size of a live block: its class's size, or the heap's answer
/// (under the lock) for a block above the classes.
///
/// # Safety
/// `ptr` is a live block of this front allocated for `layout`.
pub(crate) unsafe fn usable_size<F: Front>(front: &F, ptr: NonNull<u8>, layout: Layout) -> usize {
    match class_of(layout) {
        Some(class) => class_size(class),
        None => {
            // SAFETY: forwarded from the caller.
            front.depot().locked().with(|h| unsafe { h.usable_size(ptr, layout) }).unwrap_or(layout.size())
        }
    }
}

/// Resizes a live block without moving it: within its class, or through
/// the heap's own in-place resize for blocks above the classes; refuses
/// (`NoMemory`) when the block would change class.
///
/// # Safety
/// `ptr` is a live block of this front allocated for `layout`.
pub(crate) unsafe fn resize_in_place<F: Front>(
    front: &F,
    ptr: NonNull<u8>,
    layout: Layout,
    new_size: usize,
) -> AllocResult {
    let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
    if new_size == 0 {
        return Err(AllocError::InvalidParam);
    }
    match (class_of(layout), class_of(new)) {
        (Some(a), Some(b)) if a == b => Ok(()),
        (None, None) => {
            // SAFETY: forwarded from the caller.
            front.depot().locked().with(|h| unsafe { h.resize_in_place(ptr, layout, new_size) })?
        }
        _ => Err(AllocError::NoMemory),
    }
}
