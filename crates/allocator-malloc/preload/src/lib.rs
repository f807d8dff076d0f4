//! `malloc`, `free`, `calloc`, `realloc`, `reallocarray`,
//! `posix_memalign`, `aligned_alloc`, `memalign`, `valloc`, `pvalloc` and
//! `malloc_usable_size` over a heap of the workspace, as a Linux library
//! for `LD_PRELOAD` (see the `allocator-malloc` README).
//!
//! The heap is chosen when the library is built: feature `tlsf` (the
//! default: TLSF behind a `Locked` with a `YieldLock`), `hosted`
//! (`policy::Hosted`: per-thread magazines over size classes over TLSF) or
//! `hosted-os` (`policy::HostedOs`: the same, grown from the OS with
//! `mmap`) or `buddy` (the buddy heap behind a `Locked` with a
//! `YieldLock`). Every heap but `hosted-os` takes its memory from a 1 GiB
//! static arena in `.bss`, which the OS maps lazily, page by page, as it is
//! first written.

#[cfg(not(feature = "hosted-os"))]
use allocator::{AllocError, AllocResult, BaseAllocator, InitHeap, StaticMemory};
use allocator_malloc::Error;

/// The arena's size: what the heap can ever give out.
#[cfg(not(feature = "hosted-os"))]
const ARENA_BYTES: usize = 1 << 30;

#[cfg(not(feature = "hosted-os"))]
static ARENA: StaticMemory<ARENA_BYTES> = StaticMemory::new();

/// Gives the heap the arena before its first operation.
#[cfg(not(feature = "hosted-os"))]
struct Arena;

#[cfg(not(feature = "hosted-os"))]
impl<A: BaseAllocator<Addr = *mut u8>> InitHeap<A> for Arena {
    fn init(heap: &mut A) -> AllocResult {
        heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
    }
}

#[cfg(any(feature = "hosted", feature = "hosted-os"))]
mod heap {
    //! `policy::Hosted` (or `HostedOs`): a thread's magazines, and the
    //! depot directly for a call made while the same thread is inside the
    //! magazines (the first call of a thread sets up its thread-local
    //! magazines, and registering their destructor calls `calloc`).

    use core::{alloc::Layout, cell::Cell, ptr::NonNull};

    use allocator::ThreadCached;
    use allocator_malloc::MallocHeap;

    #[cfg(not(feature = "hosted-os"))]
    static DEPOT: allocator::policy::HostedDepot<super::Arena> = allocator::policy::hosted_depot();
    #[cfg(not(feature = "hosted-os"))]
    static FRONT: allocator::policy::Hosted<super::Arena> = ThreadCached::new(&DEPOT);

    #[cfg(feature = "hosted-os")]
    static DEPOT: allocator::policy::HostedOsDepot = allocator::policy::hosted_os_depot();
    #[cfg(feature = "hosted-os")]
    static FRONT: allocator::policy::HostedOs = ThreadCached::new(&DEPOT);

    /// Tag of a block from the depot directly.
    const DIRECT: u8 = 1;

    std::thread_local! {
        /// Set while this thread is inside the magazines.
        static INSIDE: Cell<bool> = const { Cell::new(false) };
    }

    /// Runs `f` marked as inside the magazines; `None` if already inside
    /// (or thread-local storage is gone).
    fn inside<R>(f: impl FnOnce() -> R) -> Option<R> {
        let entered = INSIDE.try_with(|i| !i.replace(true)).unwrap_or(false);
        if !entered {
            return None;
        }
        let r = f();
        let _ = INSIDE.try_with(|i| i.set(false));
        Some(r)
    }

    /// The hosted policy with a direct path for nested calls.
    pub(crate) struct Heap;

    pub(crate) static HEAP: Heap = Heap;

    // SAFETY: every block comes from `FRONT` (tag 0) or `DEPOT` (tag 1),
    // both `MallocHeap`s over the same heap, and goes back to the one its
    // tag names.
    unsafe impl MallocHeap for Heap {
        #[inline]
        fn allocate(&self, layout: Layout) -> Option<(NonNull<u8>, u8)> {
            match inside(|| FRONT.allocate(layout)) {
                Some(r) => r,
                None => DEPOT.allocate(layout).map(|(p, _)| (p, DIRECT)),
            }
        }

        #[inline]
        unsafe fn deallocate(&self, block: NonNull<u8>, layout: Layout, tag: u8) {
            if tag == DIRECT {
                // SAFETY: a block of the depot's.
                unsafe { DEPOT.deallocate(block, layout, 0) }
            } else {
                // SAFETY: a block of the front's; a nested free takes the
                // front's own uncached path.
                unsafe { FRONT.deallocate(block, layout, 0) }
            }
        }

        unsafe fn usable_size(&self, block: NonNull<u8>, layout: Layout, tag: u8) -> usize {
            // SAFETY: as in `deallocate`.
            unsafe {
                if tag == DIRECT {
                    DEPOT.usable_size(block, layout, 0)
                } else {
                    MallocHeap::usable_size(&FRONT, block, layout, 0)
                }
            }
        }

        unsafe fn resize_in_place(
            &self,
            block: NonNull<u8>,
            layout: Layout,
            new_size: usize,
            tag: u8,
        ) -> bool {
            // SAFETY: as in `deallocate`.
            unsafe {
                if tag == DIRECT {
                    DEPOT.resize_in_place(block, layout, new_size, 0)
                } else {
                    MallocHeap::resize_in_place(&FRONT, block, layout, new_size, 0)
                }
            }
        }
    }

    pub(crate) fn lock_for_fork() {
        DEPOT.lock_for_fork();
    }

    /// # Safety
    /// After `lock_for_fork`, by the same thread.
    pub(crate) unsafe fn unlock_after_fork() {
        // SAFETY: forwarded from the caller.
        unsafe { DEPOT.unlock_after_fork() }
    }
}

#[cfg(all(not(any(feature = "hosted", feature = "hosted-os")), feature = "buddy"))]
mod heap {
    //! The buddy heap behind one lock.

    use allocator::{BuddyByteAllocator, Locked, YieldLock};

    use super::Arena;

    pub(crate) static HEAP: Locked<BuddyByteAllocator, YieldLock, Arena> =
        Locked::new(BuddyByteAllocator::new());

    pub(crate) fn lock_for_fork() {
        HEAP.lock_for_fork();
    }

    /// # Safety
    /// After `lock_for_fork`, by the same thread.
    pub(crate) unsafe fn unlock_after_fork() {
        // SAFETY: forwarded from the caller.
        unsafe { HEAP.unlock_after_fork() }
    }
}

#[cfg(not(any(feature = "hosted", feature = "hosted-os", feature = "buddy")))]
mod heap {
    //! TLSF behind one lock.

    use allocator::{Locked, TlsfByteAllocator, YieldLock};

    use super::Arena;

    pub(crate) static HEAP: Locked<TlsfByteAllocator, YieldLock, Arena> =
        Locked::new(TlsfByteAllocator::new());

    pub(crate) fn lock_for_fork() {
        HEAP.lock_for_fork();
    }

    /// # Safety
    /// After `lock_for_fork`, by the same thread.
    pub(crate) unsafe fn unlock_after_fork() {
        // SAFETY: forwarded from the caller.
        unsafe { HEAP.unlock_after_fork() }
    }
}

use heap::HEAP;

/// Sets `errno` for `error`.
#[cold]
fn set_errno(error: Error) {
    // SAFETY: glibc's thread-local `errno`, always valid for the calling
    // thread.
    unsafe { *libc::__errno_location() = error.errno() };
}

/// The page size, for `valloc` and `pvalloc`.
fn page_size() -> usize {
    // SAFETY: `sysconf` reads a constant of the process; it allocates
    // nothing.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).ok().filter(|p| p.is_power_of_two()).unwrap_or(4096)
}

/// Holds the heap's lock across `fork`, so that the child never inherits
/// it held by a thread that does not exist there.
extern "C" fn before_fork() {
    heap::lock_for_fork();
}

/// Releases the lock after `fork`, in the parent and in the child.
extern "C" fn after_fork() {
    // SAFETY: the same thread ran `before_fork` (glibc runs the handlers
    // around `fork` on the forking thread, which is the child's only one).
    unsafe { heap::unlock_after_fork() }
}

/// Registers the fork handlers when the library is loaded (before `main`,
/// and before any thread the program starts).
extern "C" fn on_load() {
    // SAFETY: plain function pointers that live as long as the process.
    unsafe { libc::pthread_atfork(Some(before_fork), Some(after_fork), Some(after_fork)) };
}

#[used]
#[link_section = ".init_array"]
static ON_LOAD: extern "C" fn() = on_load;

allocator_malloc::export_c_abi!(heap: HEAP, errno: set_errno, page_size: page_size());
