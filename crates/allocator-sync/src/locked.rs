//! [`Locked`]: one lock around a heap, so that it can be shared.

use core::{
    alloc::{GlobalAlloc, Layout},
    cell::UnsafeCell,
    fmt,
    marker::PhantomData,
    mem::MaybeUninit,
    ptr::{self, NonNull},
};

// Loads and stores only: these exist on every target with atomics, even
// those without compare-and-swap (thumbv6m).
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures};

use crate::{context, ops, Held, Lock, SpinLock};

/// The one-time set-up of a [`Locked`] heap, run under its lock before the
/// first operation: the way a `static` heap gets its memory before a
/// runtime's first allocation.
///
/// A type, not a function pointer, so that a `static Locked` stays all
/// zeros and lands in `.bss` (a function pointer is never zero, and would
/// put the whole heap in `.data`, copied from flash at boot).
///
/// `Locked` runs it at most once *per `Locked` value*; a program may have
/// several values with the same set-up, and anyone may call `init`. So a
/// set-up must not turn a `static mut` into a `&'static mut` itself (two
/// heaps would share the memory): it claims its memory from a
/// [`StaticMemory`](crate::StaticMemory), which hands it out once.
///
/// ```
/// use allocator::tlsf::GRANULARITY;
/// use allocator::{
///     AllocError, AllocResult, BaseAllocator, InitHeap, Locked, SpinLock, StaticMemory, TlsfByteAllocator,
/// };
///
/// static ARENA: StaticMemory<{ 1 << 16 }> = StaticMemory::new();
///
/// struct Arena;
///
/// impl InitHeap<TlsfByteAllocator> for Arena {
///     fn init(heap: &mut TlsfByteAllocator) -> AllocResult {
///         heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
///     }
/// }
///
/// static HEAP: Locked<TlsfByteAllocator, SpinLock, Arena> = Locked::new(TlsfByteAllocator::new());
/// // The whole arena, less the one granule TLSF keeps at its end.
/// assert_eq!(HEAP.figures().unwrap().total, (1 << 16) - GRANULARITY);
/// ```
pub trait InitHeap<A> {
    /// Gives the heap its memory (or whatever else it needs). Must not
    /// allocate from this heap: that fails with [`AllocError::Busy`].
    ///
    /// # Errors
    /// An error makes the heap unusable: this and every later operation
    /// fails ([`AllocError::Poisoned`] after the first).
    fn init(heap: &mut A) -> AllocResult;
}

/// No set-up: the heap is ready as constructed (or is given memory through
/// [`Locked::with`] / [`Locked::add_memory`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoInit;

impl<A> InitHeap<A> for NoInit {
    fn init(_: &mut A) -> AllocResult {
        Ok(())
    }
}

/// `state`: not yet set up (zero, so a `static` lands in `.bss`).
const FRESH: u8 = 0;
/// `state`: set up and usable.
const READY: u8 = 1;
/// `state`: set-up failed, or an operation panicked half-way.
const POISONED: u8 = 2;

/// Any heap behind a [`Lock`]: a `&self` allocator that safe code can share
/// but cannot take apart.
///
/// - `unsafe impl GlobalAlloc`, so a `static Locked<…>` is a
///   `#[global_allocator]` ([`new`](Self::new) is `const`, and all zeros
///   when the heap's `new` is);
/// - `allocator_api2::alloc::Allocator` (feature `allocator-api2`, on by
///   default) and `core::alloc::Allocator` (nightly, feature
///   `allocator_api`), returning each block's usable size as its length;
/// - [`with`](Self::with) runs code on the heap under the lock, through a
///   [`Held`] that allocates, frees and reads figures but never gives safe
///   code a `&mut` to the heap (so no safe code can swap or replace a heap
///   that has live blocks).
///
/// Zero-size requests are answered here with a dangling, aligned pointer
/// and never reach the heap. A resize tries the heap's in-place resize
/// under the lock; a move of more than 16 KiB copies with the lock
/// released.
///
/// **Never waits for itself.** With the `std` feature the heap records
/// which thread holds it: an allocation by that same thread while it holds
/// the heap (from inside [`with`](Self::with), or std's panic machinery
/// formatting a message for a panic raised inside an operation) fails with
/// [`AllocError::Busy`] (null, for `GlobalAlloc`) instead of spinning
/// forever; std then reports the failed allocation and aborts. Without
/// `std`, the `CriticalSectionLock` (feature `critical-section`) detects
/// re-entry itself, and code that may interrupt a holder on the same core
/// (interrupt handlers over a spin lock) uses
/// [`try_with`](Self::try_with), which fails instead of waiting.
///
/// **A panic inside a heap operation poisons.** A backend that panics
/// half-way (an assertion) leaves the heap in an unknown state: every later
/// operation fails with [`AllocError::Poisoned`] and frees leak. A panic in
/// the caller's own code inside [`with`](Self::with) does not: every
/// operation it made through [`Held`] had finished (unless it took the heap
/// with [`Held::get_mut`], which poisons on a panic too).
pub struct Locked<A, L = SpinLock, I = NoInit> {
    lock: L,
    state: AtomicU8,
    /// The context holding the lock (see `context`), 0 when none or unknown.
    owner: AtomicUsize,
    heap: UnsafeCell<A>,
    init: PhantomData<fn() -> I>,
}

// SAFETY: the heap is reached only inside the lock's scopes, which exclude
// each other (`Lock`'s contract), one context at a time; the heap moves
// between threads with those scopes, so it must be `Send`.
unsafe impl<A: Send, L: Lock + Sync, I> Sync for Locked<A, L, I> {}

impl<A, L: Lock, I> Locked<A, L, I> {
    /// Wraps `heap`; `const`, for a `static`. The set-up `I` runs before
    /// the first operation.
    pub const fn new(heap: A) -> Self {
        Self {
            lock: L::INIT,
            state: AtomicU8::new(FRESH),
            owner: AtomicUsize::new(0),
            heap: UnsafeCell::new(heap),
            init: PhantomData,
        }
    }

    /// Unwraps the heap (the one-time set-up does not run).
    pub fn into_inner(self) -> A {
        self.heap.into_inner()
    }
}

impl<A, L: Lock, I: InitHeap<A>> Locked<A, L, I> {
    /// Runs `f` on the heap under the lock, waiting for the lock as it
    /// waits.
    ///
    /// ```
    /// # use core::alloc::Layout;
    /// # use allocator::{BaseAllocator, ByteAllocator, Locked, TlsfByteAllocator};
    /// # let heap: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
    /// # heap.with(|h| h.add_static(Box::leak(Box::new([core::mem::MaybeUninit::uninit(); 4096])))).unwrap().unwrap();
    /// let layout = Layout::new::<[u64; 4]>();
    /// let used = heap.with(|h| {
    ///     let block = h.alloc(layout).unwrap();
    ///     let used = h.figures().used;
    ///     // SAFETY: allocated just above for `layout`.
    ///     unsafe { h.dealloc(block, layout) };
    ///     used
    /// });
    /// assert!(used.unwrap() >= 32);
    /// ```
    ///
    /// # Errors
    /// [`AllocError::Busy`] when the calling context already holds the heap
    /// (see the type's docs); [`AllocError::Poisoned`], or the set-up's own
    /// error the first time, when the heap is unusable.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        self.enter(false, f)
    }

    /// As [`with`](Self::with), but fails with [`AllocError::Busy`] at once
    /// when anyone holds the lock: for interrupt handlers and other code
    /// that must not wait.
    ///
    /// # Errors
    /// As [`with`](Self::with).
    #[inline]
    pub fn try_with<R>(&self, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        self.enter(true, f)
    }

    /// The heap, through exclusive access: no lock, and nothing can be
    /// allocated from the handle meanwhile, so it is safe. Runs the set-up
    /// first if it has not run.
    ///
    /// # Errors
    /// As [`with`](Self::with), for a heap whose set-up failed or that is
    /// poisoned.
    pub fn get_mut(&mut self) -> AllocResult<&mut A> {
        let heap = self.heap.get_mut();
        Self::ready(&self.state, heap)?;
        Ok(heap)
    }

    /// Runs the set-up if it has not run; fails for a poisoned heap.
    #[inline]
    fn ready(state: &AtomicU8, heap: &mut A) -> AllocResult {
        // Relaxed suffices: the lock (or `&mut self`) orders this with
        // every other access.
        match state.load(Ordering::Relaxed) {
            READY => Ok(()),
            FRESH => {
                // Poisoned until the set-up returns, so that a panic inside
                // it leaves the heap unusable rather than half set up.
                state.store(POISONED, Ordering::Relaxed);
                I::init(heap)?;
                state.store(READY, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(AllocError::Poisoned),
        }
    }

    fn enter<R>(&self, try_only: bool, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        let me = context::current();
        // Only this context ever stores `me`, and it clears it before it
        // releases the lock: equal means this context holds the lock now.
        if me != 0 && self.owner.load(Ordering::Relaxed) == me {
            return Err(AllocError::Busy);
        }
        let body = || {
            self.owner.store(me, Ordering::Relaxed);
            let _clear = Clear(&self.owner);
            // SAFETY: the lock is held: no other scope of it runs, so this
            // is the only reference to the heap until the scope ends.
            let heap = unsafe { &mut *self.heap.get() };
            Self::ready(&self.state, heap)?;
            // A panic in the caller's own code leaves the heap whole (every
            // operation through `Held` finished or poisoned it itself); one
            // after `Held::get_mut` may have left it half-changed.
            let raw = core::cell::Cell::new(false);
            let poison = PoisonIf { state: &self.state, raw: &raw };
            let r = f(&mut Held::shared(heap, &self.state, &raw));
            core::mem::forget(poison);
            Ok(r)
        };
        let r = if try_only { self.lock.try_lock_with(body) } else { self.lock.lock_with(body) };
        r.unwrap_or(Err(AllocError::Busy))
    }
}

impl<A, L: lock_api::RawMutex, I> Locked<A, L, I> {
    /// Takes the heap's lock and keeps it, with no scope, until
    /// [`unlock_after_fork`](Self::unlock_after_fork): for a
    /// `pthread_atfork` "prepare" handler, so that no other thread is
    /// half-way through the heap when the process forks (the child would
    /// inherit a heap locked for good, or half-changed). Meanwhile an
    /// operation of the calling thread on this heap fails with
    /// [`AllocError::Busy`] (with the `std` feature) instead of waiting for
    /// itself; those of other threads wait.
    ///
    /// Only for locks that can be held without a scope (every
    /// `lock_api::RawMutex`: spin, ticket, `YieldLock`).
    pub fn lock_for_fork(&self) {
        lock_api::RawMutex::lock(&self.lock);
        self.owner.store(context::current(), Ordering::Relaxed);
    }

    /// Releases the lock taken by [`lock_for_fork`](Self::lock_for_fork):
    /// in the parent's and in the child's `pthread_atfork` handler.
    ///
    /// # Safety
    /// The calling thread took the lock with `lock_for_fork` and has not
    /// released it since (in a child process: the thread that forked, the
    /// child's only thread).
    pub unsafe fn unlock_after_fork(&self) {
        self.owner.store(0, Ordering::Relaxed);
        // SAFETY: the caller holds the lock, taken by `lock_for_fork`.
        unsafe { lock_api::RawMutex::unlock(&self.lock) }
    }
}

/// Clears the owner when the scope ends (on unwind too).
struct Clear<'a>(&'a AtomicUsize);

impl Drop for Clear<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// Dropped only on unwind (it is forgotten on the normal path): poisons
/// the heap if the closure had raw `&mut` access to it.
struct PoisonIf<'a> {
    state: &'a AtomicU8,
    raw: &'a core::cell::Cell<bool>,
}

impl Drop for PoisonIf<'_> {
    fn drop(&mut self) {
        if self.raw.get() {
            self.state.store(POISONED, Ordering::Relaxed);
        }
    }
}

/// Poisons the heap if dropped, which happens only on unwind (it is
/// forgotten on the normal path): held across each heap operation.
pub(crate) struct Poison<'a>(pub(crate) &'a AtomicU8);

impl Drop for Poison<'_> {
    fn drop(&mut self) {
        self.0.store(POISONED, Ordering::Relaxed);
    }
}

impl<A: BaseAllocator, L: Lock, I: InitHeap<A>> Locked<A, L, I> {
    /// Locks and calls [`BaseAllocator::init`].
    ///
    /// # Errors
    /// As [`BaseAllocator::init`], or as [`with`](Self::with).
    ///
    /// # Safety
    /// As [`BaseAllocator::init`].
    pub unsafe fn init(&self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        self.with(|h| unsafe { h.init(start, size) })?
    }

    /// Locks and calls [`BaseAllocator::add_memory`].
    ///
    /// # Errors
    /// As [`BaseAllocator::add_memory`], or as [`with`](Self::with).
    ///
    /// # Safety
    /// As [`BaseAllocator::add_memory`].
    pub unsafe fn add_memory(&self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        self.with(|h| unsafe { h.add_memory(start, size) })?
    }

    /// Locks and calls [`BaseAllocator::add_static`]: safe, for memory the
    /// program owns for good.
    ///
    /// # Errors
    /// As [`BaseAllocator::add_memory`], or as [`with`](Self::with).
    pub fn add_static(&self, memory: &'static mut [MaybeUninit<u8>]) -> AllocResult
    where
        A: BaseAllocator<Addr = *mut u8>,
    {
        self.with(|h| h.add_static(memory))?
    }
}

impl<A: ByteAllocator, L: Lock, I: InitHeap<A>> Locked<A, L, I> {
    /// The heap's figures, read under the lock in one snapshot.
    ///
    /// # Errors
    /// As [`with`](Self::with).
    pub fn figures(&self) -> AllocResult<Figures> {
        self.with(|h| h.figures())
    }
}

impl<A, L, I> fmt::Debug for Locked<A, L, I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state.load(Ordering::Relaxed) {
            FRESH => "fresh",
            READY => "ready",
            _ => "poisoned",
        };
        f.debug_struct("Locked").field("state", &state).finish_non_exhaustive()
    }
}

impl<A: Default, L: Lock, I> Default for Locked<A, L, I> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

impl<A: ByteAllocator, L: Lock, I: InitHeap<A>> ops::Access for Locked<A, L, I> {
    type Heap = A;

    #[inline]
    fn access<R>(&self, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        self.with(f)
    }
}

// SAFETY: blocks come from the heap, whose `ByteAllocator` contract makes
// them disjoint, aligned and valid until freed; the lock serialises every
// call and never gives two scopes the heap at once; zero-size layouts
// (which `GlobalAlloc` callers must not pass) are answered without the
// heap and ignored when freed; a heap that cannot be had gives null.
unsafe impl<A: ByteAllocator, L: Lock, I: InitHeap<A>> GlobalAlloc for Locked<A, L, I> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == 0 {
            return ops::dangling(layout.align()).as_ptr();
        }
        ops::no_unwind(|| match self.with(|h| h.alloc(layout)) {
            Ok(Ok(p)) => p.as_ptr(),
            Err(AllocError::Busy) => {
                context::report_reentry(layout.size());
                ptr::null_mut()
            }
            _ => ptr::null_mut(),
        })
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if let Some(p) = NonNull::new(ptr) {
            // SAFETY: the caller guarantees `ptr` was allocated here for
            // `layout`.
            ops::no_unwind(|| unsafe { ops::deallocate(self, p, layout) });
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        ops::no_unwind(|| unsafe { ops::realloc(self, ptr, layout, new_size) })
    }
}

#[cfg(feature = "allocator-api2")]
ops::impl_allocator!(
    allocator_api2::alloc::Allocator,
    allocator_api2::alloc::AllocError,
    [A: ByteAllocator, L: Lock, I: InitHeap<A>],
    Locked<A, L, I>
);

#[cfg(feature = "allocator_api")]
ops::impl_allocator!(
    core::alloc::Allocator,
    core::alloc::AllocError,
    [A: ByteAllocator, L: Lock, I: InitHeap<A>],
    Locked<A, L, I>
);
