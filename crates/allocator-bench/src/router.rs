//! A global allocator that sends the bench thread's allocations to the
//! heap under test, so std collections (`Vec`, `BTreeMap`) run on it.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    ptr::NonNull,
};

use crate::heaps::Heap;

thread_local! {
    static CURRENT: Cell<Option<NonNull<dyn Heap>>> = const { Cell::new(None) };
}

/// Routes to the current thread's heap under test, else to the system.
pub(crate) struct Router;

fn current() -> Option<NonNull<dyn Heap>> {
    CURRENT.try_with(Cell::get).ok().flatten()
}

// SAFETY: each block goes back to the allocator that made it: frees and
// reallocs go to the heap under test only for blocks it holds (inside its
// arena, or as its own allocator says), everything else to the system.
unsafe impl GlobalAlloc for Router {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match current() {
            // SAFETY: `with_heap` keeps the heap alive and unaliased while set.
            Some(mut h) => unsafe { h.as_mut() }.alloc(layout).map_or(std::ptr::null_mut(), NonNull::as_ptr),
            // SAFETY: forwarded from the caller.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match current() {
            // SAFETY: the block is the heap's (it holds it), live for `layout`.
            Some(mut h) if unsafe { h.as_ref() }.holds(ptr) => unsafe {
                h.as_mut().dealloc(NonNull::new_unchecked(ptr), layout)
            },
            // SAFETY: forwarded from the caller.
            _ => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        match current() {
            // SAFETY: the block is the heap's, live for `layout`.
            Some(mut h) if unsafe { h.as_ref() }.holds(ptr) => unsafe {
                h.as_mut()
                    .realloc(NonNull::new_unchecked(ptr), layout, new_size)
                    .map_or(std::ptr::null_mut(), NonNull::as_ptr)
            },
            // SAFETY: forwarded from the caller.
            _ => unsafe { System.realloc(ptr, layout, new_size) },
        }
    }
}

/// Runs `f` with this thread's allocations going to `heap`. Everything `f`
/// allocates must be freed before it returns.
/// The heap is routed to until `f` returns or unwinds: a guard clears the
/// route, so no dangling heap pointer outlives the call.
pub(crate) fn with_heap<H: Heap + 'static, R>(heap: &mut H, f: impl FnOnce() -> R) -> R {
    /// Clears this thread's route when dropped.
    struct Unroute;
    impl Drop for Unroute {
        fn drop(&mut self) {
            CURRENT.with(|c| c.set(None));
        }
    }
    let ptr: NonNull<dyn Heap> = NonNull::from(heap as &mut dyn Heap);
    CURRENT.with(|c| c.set(Some(ptr)));
    let _unroute = Unroute;
    f()
}
