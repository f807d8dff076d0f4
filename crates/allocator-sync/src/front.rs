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
    magazine::{class_of, Cache, Supply},
    ops, InitHeap, Lock,
};

/// Where the calling context stands when a front's operation starts.
pub(crate) enum Context<'a> {
    /// Its magazines, for the length of the operation.
    Cached(&'a mut Cache),
    /// No magazines now (no slot for this front, an index out of range,
    /// thread-local storage gone): the depot, waiting for its lock.
    Uncached,
    /// Inside another operation of a front on this same context (a signal
    /// or interrupt handler): the depot only if its lock is free now,
    /// since the interrupted operation may hold it.
    Nested,
}

impl Context<'_> {
    /// Whether the depot's lock may be waited for.
    #[inline]
    fn waits(&self) -> bool {
        !matches!(self, Context::Nested)
    }
}

/// A magazine front: a [`Depot`] and a way into the calling context.
pub(crate) trait Front {
    type Heap: ByteAllocator;
    type Lock: Lock;
    type Init: InitHeap<Self::Heap>;

    /// The shared layer.
    fn depot(&self) -> &Depot<Self::Heap, Self::Lock, Self::Init>;

    /// Runs `f` with the calling context entered for the whole operation
    /// (so that an operation interrupting it is [`Context::Nested`]).
    fn enter<R>(&self, f: impl FnOnce(Context<'_>) -> R) -> R;

    /// The fast path: runs `f` on the calling context's magazines when it
    /// has them and is not inside another operation; `None` otherwise, or
    /// when `f` says so. `f` must not panic nor reach the depot.
    fn fast<R>(&self, f: impl FnOnce(&mut Cache) -> Option<R>) -> Option<R>;
}

/// `GlobalAlloc::alloc`'s fast path: a pop from the calling context's
/// loaded magazine, if it has a block; nothing else, so that it compiles to
/// a few instructions with no call.
#[inline(always)]
pub(crate) fn fast_alloc<F: Front>(front: &F, layout: Layout) -> Option<NonNull<u8>> {
    let class = class_of(layout)?;
    // SAFETY: the cache holds only free blocks of their classes from this
    // depot's heap.
    front.fast(|cache| unsafe { cache.pop(class) })
}

/// `GlobalAlloc::dealloc`'s fast path: a push onto the calling context's
/// loaded magazine, if it has room; `true` when done (a null `ptr` is).
///
/// # Safety
/// As [`dealloc`].
#[inline(always)]
pub(crate) unsafe fn fast_dealloc<F: Front>(front: &F, ptr: *mut u8, layout: Layout) -> bool {
    let Some(block) = NonNull::new(ptr) else { return true };
    let Some(class) = class_of(layout) else { return false };
    // SAFETY: a block of a class came from the heap with the class's
    // layout, and the caller gives it up.
    front.fast(|cache| unsafe { cache.push(class, block) }.then_some(())).is_some()
}

/// `GlobalAlloc::alloc` for a front: a pop from the calling context's
/// loaded magazine, else (out of line) everything else.
#[inline(never)]
pub(crate) fn alloc<F: Front>(front: &F, layout: Layout) -> *mut u8 {
    let class = class_of(layout);
    front.enter(|ctx| match (class, ctx) {
        (Some(class), Context::Cached(cache)) => {
            // SAFETY: the cache holds only free blocks of their classes
            // from this depot's heap (every block it is given is freed
            // with its class's layout).
            match unsafe { cache.pop(class) } {
                Some(p) => p.as_ptr(),
                None => alloc_cached(front.depot(), cache, Some(class), layout),
            }
        }
        (None, Context::Cached(cache)) => alloc_cached(front.depot(), cache, None, layout),
        (Some(class), ctx) => front.depot().alloc_class(class, ctx.waits()),
        (None, ctx) => front.depot().alloc_large(layout, ctx.waits()),
    })
}

/// Swaps or refills a magazine, or allocates a block the magazines do not
/// hold; out of memory, gives this context's magazines back (the depot's
/// go back to the heap on their own) and tries once more.
#[inline(never)]
fn alloc_cached<A: ByteAllocator, L: Lock, I: InitHeap<A>>(
    depot: &Depot<A, L, I>,
    cache: &mut Cache,
    class: Option<usize>,
    layout: Layout,
) -> *mut u8 {
    // SAFETY: as in `alloc`.
    let p = unsafe { alloc_once(depot, cache, class, layout) };
    if !p.is_null() || cache.bytes() == 0 || !Supply::take_all(depot, cache) {
        return p;
    }
    // SAFETY: as in `alloc`.
    unsafe { alloc_once(depot, cache, class, layout) }
}

/// # Safety
/// As `Cache::alloc`.
unsafe fn alloc_once<A: ByteAllocator, L: Lock, I: InitHeap<A>>(
    depot: &Depot<A, L, I>,
    cache: &mut Cache,
    class: Option<usize>,
    layout: Layout,
) -> *mut u8 {
    match class {
        // SAFETY: forwarded from the caller.
        Some(class) => unsafe { cache.alloc(class, depot) }.map_or(ptr::null_mut(), NonNull::as_ptr),
        None => depot.alloc_large(layout, true),
    }
}

/// `GlobalAlloc::dealloc` for a front: a push onto the calling context's
/// loaded magazine, else (out of line) everything else.
///
/// # Safety
/// `ptr` is a live block of this front allocated for `layout` (any size
/// between the requested one and the usable one).
#[inline(never)]
pub(crate) unsafe fn dealloc<F: Front>(front: &F, ptr: *mut u8, layout: Layout) {
    let Some(block) = NonNull::new(ptr) else { return };
    let class = class_of(layout);
    front.enter(|ctx| match (class, ctx) {
        (Some(class), Context::Cached(cache)) => {
            // SAFETY: a block of a class came from the heap with the
            // class's layout (cached or not), and the caller gives it up.
            if !unsafe { cache.push(class, block) } {
                // SAFETY: as above.
                unsafe { free_cached(front.depot(), cache, class, block) }
            }
        }
        // SAFETY: as above.
        (Some(class), ctx) => unsafe { front.depot().free_class(class, block, ctx.waits()) },
        // SAFETY: forwarded from the caller; such blocks came from the heap
        // for their own layout.
        (None, ctx) => unsafe { front.depot().free_large(block, layout, ctx.waits()) },
    });
}

/// Swaps or spills a magazine to keep `block`.
///
/// # Safety
/// As `dealloc`, for a block of `class`.
#[inline(never)]
unsafe fn free_cached<A: ByteAllocator, L: Lock, I: InitHeap<A>>(
    depot: &Depot<A, L, I>,
    cache: &mut Cache,
    class: usize,
    block: NonNull<u8>,
) {
    // SAFETY: forwarded from the caller.
    unsafe { cache.free(class, block, depot) }
}

/// `GlobalAlloc::realloc` for a front: in place within a class, the heap's
/// own resize for blocks above the classes, else a move.
///
/// # Safety
/// As `GlobalAlloc::realloc`.
pub(crate) unsafe fn realloc<F: Front>(front: &F, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    let Ok(new) = Layout::from_size_align(new_size, layout.align()) else {
        return ptr::null_mut();
    };
    let (old_class, new_class) = (class_of(layout), class_of(new));
    if old_class.is_some() && old_class == new_class && !ptr.is_null() {
        return ptr;
    }
    if old_class.is_none() && new_class.is_none() && layout.size() != 0 && !ptr.is_null() {
        let moved = front.enter(|ctx| {
            // SAFETY: forwarded from the caller.
            ctx.waits().then(|| unsafe { ops::realloc(front.depot().locked(), ptr, layout, new_size) })
        });
        if let Some(p) = moved {
            return p;
        }
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

/// The `GlobalAlloc` methods of a magazine front (`Self: Front`): the fast
/// path inline, everything else out of line, no unwinding out.
macro_rules! global_alloc_methods {
    () => {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            if let Some(p) = crate::front::fast_alloc(self, layout) {
                return p.as_ptr();
            }
            crate::ops::no_unwind(|| crate::front::alloc(self, layout))
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: forwarded from the caller.
            if unsafe { crate::front::fast_dealloc(self, ptr, layout) } {
                return;
            }
            // SAFETY: forwarded from the caller.
            crate::ops::no_unwind(|| unsafe { crate::front::dealloc(self, ptr, layout) })
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: forwarded from the caller.
            crate::ops::no_unwind(|| unsafe { crate::front::realloc(self, ptr, layout, new_size) })
        }
    };
}
pub(crate) use global_alloc_methods;
