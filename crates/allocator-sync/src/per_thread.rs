//! [`ThreadCached`]: magazines per thread over a `'static` [`Depot`], for
//! hosted programs.

use core::{
    alloc::{GlobalAlloc, Layout},
    cell::{Cell, UnsafeCell},
    ptr::NonNull,
    sync::atomic::{compiler_fence, Ordering},
};

use allocator_core::{AllocError, AllocResult, ByteAllocator, Figures};

use crate::{
    depot::Depot,
    front::{self, Context},
    magazine::{Cache, Supply},
    InitHeap, Lock, NoInit, YieldLock,
};

/// How many fronts one thread keeps magazines for; a thread using more
/// (rare: each is usually a `#[global_allocator]`) uses the others
/// uncached.
pub const FRONTS_PER_THREAD: usize = 4;

/// A depot a thread's magazines belong to, as the thread-exit hook sees it.
trait Owner: Sync {
    /// As `Supply::take_all`: `false`, the cache untouched, when the depot
    /// cannot be had.
    fn take_all(&self, cache: &mut Cache) -> bool;
}

impl<A: ByteAllocator, L: Lock + Sync, I: InitHeap<A>> Owner for Depot<A, L, I>
where
    Depot<A, L, I>: Sync,
{
    fn take_all(&self, cache: &mut Cache) -> bool {
        Supply::take_all(self, cache)
    }
}

/// One front's magazines in one thread.
struct Slot {
    owner: Cell<Option<&'static dyn Owner>>,
    cache: UnsafeCell<Cache>,
}

/// A thread's magazines, for up to [`FRONTS_PER_THREAD`] fronts.
struct Caches {
    /// `IDLE`, `BUSY` for the whole of every operation of a front on this
    /// thread (one nested in it, a signal handler, is `Context::Nested`),
    /// or `EXITED` once the thread's magazines went back at its exit.
    state: Cell<u8>,
    slots: [Slot; FRONTS_PER_THREAD],
}

impl Caches {
    const fn new() -> Self {
        Self {
            state: Cell::new(IDLE),
            slots: [const { Slot { owner: Cell::new(None), cache: UnsafeCell::new(Cache::new()) } };
                FRONTS_PER_THREAD],
        }
    }

    /// Runs `f` in this thread's context for `owner`'s front.
    #[inline]
    fn enter<R>(&self, owner: &'static dyn Owner, f: impl FnOnce(Context<'_>) -> R) -> R {
        match self.state.get() {
            IDLE => {}
            BUSY => return f(Context::Nested),
            _ => return f(Context::Uncached),
        }
        self.state.set(BUSY);
        // A signal handler sees the flag set before any magazine changes.
        compiler_fence(Ordering::SeqCst);
        let _leave = Leave(&self.state);
        match self.slot(owner) {
            // SAFETY: the thread-local is this thread's alone, and the busy
            // flag keeps a nested operation out: this is the only reference
            // to the cache until `_leave` drops.
            Some(slot) => f(Context::Cached(unsafe { &mut *slot.cache.get() })),
            None => f(Context::Uncached),
        }
    }

    /// The slot `owner` holds, if any.
    #[inline]
    fn find(&self, owner: &'static dyn Owner) -> Option<&Slot> {
        self.slots.iter().find(|s| s.owner.get().is_some_and(|o| core::ptr::addr_eq(o, owner)))
    }

    /// The slot of `owner`, claimed now if it has none.
    #[inline]
    fn slot(&self, owner: &'static dyn Owner) -> Option<&Slot> {
        match self.find(owner) {
            Some(slot) => Some(slot),
            None => self.claim(owner),
        }
    }

    /// Claims a slot for `owner`: only a slot whose magazines are empty.
    #[inline(never)]
    fn claim(&self, owner: &'static dyn Owner) -> Option<&Slot> {
        let free = self.slots.iter().find(|s| {
            // SAFETY: a read of this thread's magazines while the caller
            // holds the busy flag: nothing else reaches them.
            s.owner.get().is_none() && unsafe { &*s.cache.get() }.bytes() == 0
        })?;
        // The magazines go back at thread exit: the hook is registered
        // with the first slot claimed (here, never on the fast path). A
        // thread already past its hook has no magazines.
        if EXIT.try_with(|_| ()).is_err() {
            return None;
        }
        free.owner.set(Some(owner));
        Some(free)
    }

    /// Gives every block of `owner`'s magazines back to it and frees the
    /// slot; the bytes given back (0 when the thread has none, or gave
    /// them back at its exit). `Busy`, the slot kept, when an operation of
    /// this thread is running (a nested call) or the depot cannot be had.
    fn release(&self, owner: &'static dyn Owner) -> AllocResult<usize> {
        match self.state.get() {
            IDLE => {}
            EXITED => return Ok(0),
            _ => return Err(AllocError::Busy),
        }
        self.state.set(BUSY);
        let _leave = Leave(&self.state);
        let Some(slot) = self.find(owner) else { return Ok(0) };
        // SAFETY: as in `enter`: this thread's, and the busy flag is held.
        let cache = unsafe { &mut *slot.cache.get() };
        let bytes = cache.bytes();
        if !owner.take_all(cache) {
            return Err(AllocError::Busy);
        }
        slot.owner.set(None);
        Ok(bytes)
    }

    /// Bytes in `owner`'s magazines (claiming nothing).
    fn cached(&self, owner: &'static dyn Owner) -> usize {
        if self.state.get() != IDLE {
            return 0;
        }
        // SAFETY: this thread's; no operation runs (the flag is clear) and
        // the read ends before any could start.
        self.find(owner).map_or(0, |slot| unsafe { &*slot.cache.get() }.bytes())
    }
}

/// `Caches::state`: no operation running.
const IDLE: u8 = 0;
/// `Caches::state`: an operation is running.
const BUSY: u8 = 1;
/// `Caches::state`: the thread is exiting and its magazines went back.
const EXITED: u8 = 2;

/// Sets the state back to idle (on unwind too).
struct Leave<'a>(&'a Cell<u8>);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.set(IDLE);
    }
}

impl Caches {
    /// At thread exit: every magazine goes back to its depot (a depot that
    /// cannot be had then, poisoned, loses them: they leak), and later
    /// operations (other thread-locals' destructors) use no magazine.
    fn exit(&self) {
        self.state.set(EXITED);
        for slot in &self.slots {
            if let Some(owner) = slot.owner.take() {
                // SAFETY: this thread's; `EXITED` keeps every operation
                // away from the magazines from now on.
                owner.take_all(unsafe { &mut *slot.cache.get() });
            }
        }
    }
}

/// Its destructor is the thread-exit hook. Kept apart from `CACHES`, which
/// has none, so that reaching the magazines checks no registration.
struct ExitHook;

impl Drop for ExitHook {
    fn drop(&mut self) {
        let _ = CACHES.try_with(Caches::exit);
    }
}

std::thread_local! {
    static CACHES: Caches = const { Caches::new() };
    static EXIT: ExitHook = const { ExitHook };
}

/// A heap with per-thread magazines, for hosted programs: each thread
/// allocates and frees blocks up to 4 KiB from its own stacks (in
/// thread-local storage), with no lock and no atomic operation; the
/// [`Depot`]'s lock is taken once per magazine (up to 64 blocks) to
/// exchange a full or an empty one.
///
/// The depot's lock is a [`YieldLock`] by default (a thread waiting for a
/// preempted holder yields instead of spinning through its time slice).
///
/// The depot is a `'static`: a thread's magazines outlive any borrow (they
/// go back to the depot when the thread exits), so they must know a depot
/// that is still there.
///
/// ```
/// use core::alloc::{GlobalAlloc, Layout};
/// use allocator::{Depot, StaticMemory, ThreadCached, TlsfByteAllocator, YieldLock};
///
/// static MEMORY: StaticMemory<{ 1 << 20 }> = StaticMemory::new();
/// static DEPOT: Depot<TlsfByteAllocator, YieldLock> = Depot::new(TlsfByteAllocator::new());
/// static HEAP: ThreadCached<TlsfByteAllocator> = ThreadCached::new(&DEPOT);
///
/// DEPOT.add_static(MEMORY.take().unwrap()).unwrap();
/// let layout = Layout::new::<[u64; 8]>();
/// // SAFETY: the layout has a non-zero size; the block is freed once.
/// unsafe {
///     let p = HEAP.alloc(layout);
///     assert!(!p.is_null());
///     HEAP.dealloc(p, layout);
/// }
/// ```
///
/// - **Cost**: an alloc or free is a thread-local access, a class lookup
///   and a list pop or push; a miss exchanges a magazine under the lock
///   (O(1)) or fills one from the heap.
/// - **Memory held**: at most two magazines per class per thread
///   ([`max_cached_per_context`](crate::max_cached_per_context)), plus the
///   depot's; a thread's magazines go back to the depot when it exits
///   (and with [`flush_current_thread`](Self::flush_current_thread)).
/// - **Blocks freed by another thread** go to that thread's magazines: no
///   owner lookup.
/// - A thread keeps magazines for up to [`FRONTS_PER_THREAD`] fronts; an
///   operation nested in another of the same thread (a signal handler)
///   and any operation during thread-local teardown use the depot's lock
///   directly.
pub struct ThreadCached<A: 'static, L: 'static = YieldLock, I: 'static = NoInit> {
    depot: &'static Depot<A, L, I>,
}

impl<A, L, I> ThreadCached<A, L, I> {
    /// A front over `depot`; `const`, for a `static`.
    pub const fn new(depot: &'static Depot<A, L, I>) -> Self {
        Self { depot }
    }

    /// The shared layer: figures, memory, the depot.
    pub fn depot(&self) -> &'static Depot<A, L, I> {
        self.depot
    }
}

impl<A: ByteAllocator + Send, L: Lock + Sync, I: InitHeap<A>> ThreadCached<A, L, I> {
    /// Returns the calling thread's magazines of this front to the depot
    /// (they are taken afresh at its next operation); the bytes returned,
    /// 0 when the thread holds none.
    ///
    /// 0 as well once the thread's locals are torn down (its magazines
    /// went back at its exit).
    ///
    /// # Errors
    /// [`AllocError::Busy`], nothing returned, while it cannot be done now:
    /// called from inside an operation of this thread (a signal handler),
    /// or the depot cannot be had (this thread holds its lock, or it is
    /// poisoned).
    pub fn flush_current_thread(&self) -> AllocResult<usize> {
        let owner: &'static dyn Owner = self.depot;
        CACHES.try_with(|c| c.release(owner)).unwrap_or(Ok(0))
    }

    /// The usable size of a live block: its size class's size (blocks up
    /// to 4 KiB), else the heap's.
    ///
    /// # Safety
    /// `ptr` is a live block of this front, allocated for `layout`.
    pub unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { front::usable_size(self, ptr, layout) }
    }

    /// Resizes a live block without moving it: within its size class, or
    /// by the heap for blocks above the classes.
    ///
    /// # Errors
    /// [`AllocError::NoMemory`](allocator_core::AllocError::NoMemory) when
    /// the block cannot stay where it is (it would change class, or the
    /// heap refuses); `InvalidParam` for a zero or too large `new_size`.
    ///
    /// # Safety
    /// `ptr` is a live block of this front, allocated for `layout`.
    pub unsafe fn resize_in_place(&self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { front::resize_in_place(self, ptr, layout, new_size) }
    }

    /// Bytes in the calling thread's magazines of this front.
    pub fn cached_by_current_thread(&self) -> usize {
        let owner: &'static dyn Owner = self.depot;
        CACHES.try_with(|c| c.cached(owner)).unwrap_or(0)
    }

    /// Frees the depot's magazines to the heap; the bytes freed.
    ///
    /// # Errors
    /// As [`Locked::with`](crate::Locked::with).
    pub fn drain(&self) -> AllocResult<usize> {
        self.depot.drain()
    }

    /// The heap's figures (see [`Depot::figures`]).
    ///
    /// # Errors
    /// As [`Locked::with`](crate::Locked::with).
    pub fn figures(&self) -> AllocResult<Figures> {
        self.depot.figures()
    }
}

impl<A: ByteAllocator + Send, L: Lock + Sync, I: InitHeap<A>> front::Front for ThreadCached<A, L, I> {
    type Heap = A;
    type Lock = L;
    type Init = I;

    #[inline]
    fn depot(&self) -> &Depot<A, L, I> {
        self.depot
    }

    #[inline(always)]
    fn fast<R>(&self, f: impl FnOnce(&mut Cache) -> Option<R>) -> Option<R> {
        let owner: &'static dyn Owner = self.depot;
        CACHES
            .try_with(|c| {
                if c.state.get() != IDLE {
                    return None;
                }
                let slot = c.find(owner)?;
                c.state.set(BUSY);
                compiler_fence(Ordering::SeqCst);
                // SAFETY: as in `Caches::enter`: this thread's, and the
                // state keeps a nested operation out until it is idle again.
                let r = f(unsafe { &mut *slot.cache.get() });
                compiler_fence(Ordering::SeqCst);
                c.state.set(IDLE);
                r
            })
            .ok()
            .flatten()
    }

    #[inline]
    fn enter<R>(&self, f: impl FnOnce(Context<'_>) -> R) -> R {
        let owner: &'static dyn Owner = self.depot;
        let mut f = Some(f);
        if let Ok(Some(r)) = CACHES.try_with(|c| f.take().map(|f| c.enter(owner, f))) {
            return r;
        }
        // Thread-local storage is gone (the thread is exiting): no
        // magazines. (`f` is still here: `try_with` ran nothing.)
        match f.take() {
            Some(f) => f(Context::Uncached),
            None => unreachable!("the thread-local ran the operation"),
        }
    }
}

// SAFETY: blocks come from the heap (through the depot's lock or a
// magazine holding free blocks of the heap); a thread's magazines are
// reached by that thread alone, one operation at a time; a freed block is
// pushed only after its owner gave it up.
unsafe impl<A, L, I> GlobalAlloc for ThreadCached<A, L, I>
where
    A: ByteAllocator + Send,
    L: Lock + Sync,
    I: InitHeap<A>,
{
    crate::front::global_alloc_methods!();
}

impl<A, L, I> core::fmt::Debug for ThreadCached<A, L, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ThreadCached").field("depot", self.depot).finish()
    }
}
