//! [`Lock`]: the scoped lock a [`Locked`](crate::Locked) heap sits behind.

/// A lock whose operations are *scoped*: the protected code runs inside
/// [`lock_with`](Self::lock_with), and the lock is released when it
/// returns (or unwinds). No guard can outlive the scope or be released out
/// of order, which is what makes a critical-section lock possible.
///
/// Implemented for every [`lock_api::RawMutex`] (spin locks, ticket locks,
/// OS mutexes) and, with the `critical-section` feature, by
/// `CriticalSectionLock`.
///
/// # Safety
///
/// [`Locked`](crate::Locked) hands the heap out as `&mut` inside the scope,
/// so implementors guarantee mutual exclusion: while a closure passed to
/// `lock_with` or `try_lock_with` of a lock value runs, no other closure
/// passed to the same value runs (on any thread, core or interrupt level),
/// and everything one closure wrote is visible to the next (acquire and
/// release ordering). [`INIT`](Self::INIT) is an unlocked lock.
pub unsafe trait Lock {
    /// An unlocked lock, for `const` construction in a `static`.
    const INIT: Self;

    /// Runs `f` holding the lock, waiting for it as the lock waits; `None`,
    /// without running `f`, when the lock knows waiting would never end
    /// (it is held by the calling context itself).
    fn lock_with<R>(&self, f: impl FnOnce() -> R) -> Option<R>;

    /// Runs `f` holding the lock if it is free now; `None` otherwise, at
    /// once.
    fn try_lock_with<R>(&self, f: impl FnOnce() -> R) -> Option<R>;
}

/// Unlocks when dropped: on return and on unwind.
struct Unlock<'a, M: lock_api::RawMutex>(&'a M);

impl<M: lock_api::RawMutex> Drop for Unlock<'_, M> {
    fn drop(&mut self) {
        // SAFETY: created only right after this context locked the mutex.
        unsafe { self.0.unlock() }
    }
}

// SAFETY: `lock_api::RawMutex` is itself an unsafe trait promising mutual
// exclusion between `lock` and `unlock` with acquire/release ordering; the
// mutex is unlocked exactly once per successful lock, by the same context,
// when the scope ends.
unsafe impl<M: lock_api::RawMutex> Lock for M {
    const INIT: Self = M::INIT;

    #[inline]
    fn lock_with<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        self.lock();
        let _unlock = Unlock(self);
        Some(f())
    }

    #[inline]
    fn try_lock_with<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
        if !self.try_lock() {
            return None;
        }
        let _unlock = Unlock(self);
        Some(f())
    }
}

/// A spin lock (test-and-set, `spin::Mutex`): the default lock of
/// [`Locked`](crate::Locked). Waiting is unbounded and unfair; it spins
/// through a preempted holder's time slice. Right for kernels with
/// preemption off while a heap is held, and for short critical sections.
pub type SpinLock = spin::Mutex<()>;

/// A FIFO ticket lock (`spin::mutex::TicketMutex`): waiters are served in
/// the order they arrived, so waiting is bounded by the number of waiters
/// times the longest hold — what a bounded-time heap (TLSF) needs on
/// several cores.
pub type TicketLock = spin::mutex::TicketMutex<()>;

/// A lock for hosted programs (feature `std`), where the thread holding a
/// heap can be preempted: a waiter spins briefly (with growing pauses), then
/// gives its time slice back to the OS (`std::thread::yield_now`, a system
/// call that allocates nothing) until the lock is free, so a preempted
/// holder gets to run instead of every waiter burning its slice. Unfair,
/// like [`SpinLock`]; never parks in a queue it would have to allocate.
///
/// The default lock of `ThreadCached`'s depot; for a `Locked` heap shared
/// by more threads than cores, `Locked<A, YieldLock>`.
#[cfg(feature = "std")]
#[derive(Debug, Default)]
pub struct YieldLock {
    locked: core::sync::atomic::AtomicBool,
}

#[cfg(feature = "std")]
impl YieldLock {
    /// Spins (with pauses growing to 64 hints) this many times before
    /// yielding.
    const SPINS: u32 = 10;

    /// An unlocked lock.
    pub const fn new() -> Self {
        Self { locked: core::sync::atomic::AtomicBool::new(false) }
    }
}

// SAFETY: `try_lock` succeeds only by swapping `false` for `true` with
// acquire ordering, so one context at a time holds the lock; `unlock`
// stores `false` with release ordering, publishing the holder's writes to
// the next one.
#[cfg(feature = "std")]
unsafe impl lock_api::RawMutex for YieldLock {
    // A `const` item is what lock_api asks for, to build `static` mutexes.
    #[allow(clippy::declare_interior_mutable_const)]
    const INIT: Self = Self::new();

    type GuardMarker = lock_api::GuardSend;

    #[inline]
    fn lock(&self) {
        if !self.try_lock() {
            self.lock_slow();
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        use core::sync::atomic::Ordering;
        !self.locked.load(Ordering::Relaxed)
            && self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.locked.store(false, core::sync::atomic::Ordering::Release);
    }
}

#[cfg(feature = "std")]
impl YieldLock {
    #[cold]
    fn lock_slow(&self) {
        use lock_api::RawMutex;
        let mut round = 0u32;
        loop {
            while self.locked.load(core::sync::atomic::Ordering::Relaxed) {
                if round < Self::SPINS {
                    for _ in 0..1u32 << round.min(6) {
                        core::hint::spin_loop();
                    }
                    round += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            if self.try_lock() {
                return;
            }
        }
    }
}

#[cfg(feature = "critical-section")]
mod cs {
    use core::cell::Cell;

    use super::Lock;

    /// A lock for single-core firmware whose interrupt handlers allocate:
    /// every heap operation runs inside `critical_section::with`
    /// (interrupts off on a single core), so the main loop and the handlers
    /// take turns: no interrupt can arrive while the heap is held. A
    /// re-entry from inside an operation on the same heap is detected and
    /// refused (`lock_with` gives `None`), never a deadlock.
    ///
    /// Multi-core targets get a correct lock too where their
    /// `critical-section` implementation excludes the other cores.
    #[derive(Debug)]
    pub struct CriticalSectionLock {
        busy: critical_section::Mutex<Cell<bool>>,
    }

    impl CriticalSectionLock {
        /// An unlocked lock.
        pub const fn new() -> Self {
            Self { busy: critical_section::Mutex::new(Cell::new(false)) }
        }
    }

    impl Default for CriticalSectionLock {
        fn default() -> Self {
            Self::new()
        }
    }

    /// Clears the busy flag when the scope ends, on unwind too.
    struct Clear<'a>(&'a Cell<bool>);

    impl Drop for Clear<'_> {
        fn drop(&mut self) {
            self.0.set(false);
        }
    }

    // SAFETY: `f` runs inside a critical section, which the
    // `critical-section` implementation guarantees excludes every other
    // critical section (and so every other `lock_with` of this value) and
    // orders memory; the busy flag, read and written only inside critical
    // sections, turns a nested use of the same lock into `None` instead of
    // two `&mut` to one heap.
    unsafe impl Lock for CriticalSectionLock {
        const INIT: Self = Self::new();

        fn lock_with<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
            critical_section::with(|cs| {
                let busy = self.busy.borrow(cs);
                if busy.replace(true) {
                    return None;
                }
                let _clear = Clear(busy);
                Some(f())
            })
        }

        fn try_lock_with<R>(&self, f: impl FnOnce() -> R) -> Option<R> {
            self.lock_with(f)
        }
    }
}

#[cfg(feature = "critical-section")]
#[cfg_attr(docsrs, doc(cfg(feature = "critical-section")))]
pub use cs::CriticalSectionLock;
