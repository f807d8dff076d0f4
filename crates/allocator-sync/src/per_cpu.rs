//! [`PerCpu`]: magazines per CPU over a [`Depot`], for kernels.

use core::{
    alloc::{GlobalAlloc, Layout},
    cell::UnsafeCell,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{compiler_fence, AtomicBool, Ordering},
};

use allocator_core::{AllocError, AllocResult, ByteAllocator, Figures};

use crate::{
    depot::Depot,
    front::{self, Context},
    magazine::{Cache, Supply},
    InitHeap, Lock, NoInit, SpinLock,
};

/// Which CPU the caller runs on: the index a [`PerCpu`] front picks its
/// magazines by.
///
/// # Safety
///
/// While one operation of a `PerCpu` front runs in a context that got
/// index `i` from [`current`](Self::current), no other operation of the
/// same front may run with index `i`: the context is neither preempted in
/// favour of another context that allocates through the front nor migrated
/// to another CPU, and no interrupt handler on that CPU allocates or frees
/// through the front. Kernels satisfy this by disabling preemption (and
/// either masking interrupts or never allocating in handlers) around heap
/// calls. Any index is allowed: one at or above the front's `CPUS` uses no
/// magazine (the shared heap, under its lock).
///
/// **Interrupt handlers that allocate** — with an index of their own or
/// not — may find the depot's lock held by the code they interrupted (a
/// refill, a spill, a block above 4 KiB): with a spin lock they would wait
/// for it forever. Such kernels give the front a lock that masks
/// interrupts (`CriticalSectionLock`, or an interrupt-saving lock of their
/// own) as its `L`.
///
/// A nested entry with the same index (an interrupt during an operation)
/// is caught: it uses no magazine and takes the depot's lock only if it is
/// free now (failing otherwise) — a safety net, not a licence.
pub unsafe trait CpuId {
    /// The calling CPU's index.
    fn current() -> usize;
}

/// One CPU's magazines and whether an operation is using them, on cache
/// lines of their own (the flag is written at every operation).
#[repr(align(128))]
struct Slot {
    busy: AtomicBool,
    cache: UnsafeCell<Cache>,
}

impl Slot {
    const fn new() -> Self {
        Self { busy: AtomicBool::new(false), cache: UnsafeCell::new(Cache::new()) }
    }
}

/// Clears a slot's busy flag when an operation ends (on unwind too).
struct Leave<'a>(&'a AtomicBool);

/// Gives `cache`'s blocks back to `depot`; the bytes given back (0 when
/// the depot could not be had: the cache keeps them).
fn give_back<A: ByteAllocator, L: Lock, I: InitHeap<A>>(
    depot: &Depot<A, L, I>,
    cache: &mut Cache,
) -> AllocResult<usize> {
    let bytes = cache.bytes();
    if Supply::take_all(depot, cache) {
        Ok(bytes)
    } else {
        Err(AllocError::Busy)
    }
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A heap with per-CPU magazines, for kernels: each CPU allocates and
/// frees blocks up to 4 KiB from its own stacks, without a lock or an
/// atomic read-modify-write; the [`Depot`]'s lock is taken once per
/// magazine (up to 64 blocks) to exchange a full or an empty one.
///
/// `C` says which CPU runs ([`CpuId`], an `unsafe` trait: its contract is
/// what keeps two contexts off one CPU's magazines); `CPUS` is how many
/// CPUs get magazines (others use the depot's lock for every block).
///
/// - **Cost**: an alloc or free is a class lookup and a list pop or push;
///   a miss exchanges a magazine under the lock (O(1)) or fills one from
///   the heap (a magazine's worth of the heap's allocations).
/// - **Memory held**: at most two magazines per class per CPU
///   ([`max_cached_per_context`](crate::max_cached_per_context): 424 KiB; a magazine holds 8 KiB or 64 blocks, whichever is
///   less, but at least 4 blocks, so up to 16 KiB for the largest class),
///   plus the depot's ([`max_cached_in_depot`](crate::max_cached_in_depot):
///   [`DEPOT_MAGAZINES`](crate::DEPOT_MAGAZINES) per class).
///   [`flush_current`](Self::flush_current) returns the calling CPU's
///   magazines, [`flush_cpu`](Self::flush_cpu) an offline CPU's,
///   [`drain`](Self::drain) the depot's (memory pressure). Out of memory,
///   an operation drains the depot and the calling CPU's magazines and
///   tries again; other CPUs' magazines stay theirs.
/// - **Blocks freed on another CPU** go to that CPU's magazines: no owner
///   lookup.
/// - The front itself takes `CPUS` × 1 KiB (a CPU's magazine heads on
///   cache lines of their own; all zeros: `.bss`).
pub struct PerCpu<A, C, const CPUS: usize, L = SpinLock, I = NoInit> {
    depot: Depot<A, L, I>,
    slots: [Slot; CPUS],
    cpu: PhantomData<fn() -> C>,
}

// SAFETY: the depot is `Sync` under the same bounds; a slot's cache is
// reached only by the operation holding its busy flag, and `CpuId`'s
// contract (backed by the flag) keeps one operation per slot at a time; the
// flag's acquire/release orders the cache's contents between CPUs.
unsafe impl<A: Send, C, const CPUS: usize, L: Lock + Sync, I> Sync for PerCpu<A, C, CPUS, L, I> {}

impl<A, C, const CPUS: usize, L: Lock, I> PerCpu<A, C, CPUS, L, I> {
    /// A front over `heap` with empty magazines; `const`, for a `static`.
    pub const fn new(heap: A) -> Self {
        Self { depot: Depot::new(heap), slots: [const { Slot::new() }; CPUS], cpu: PhantomData }
    }

    /// The shared layer: figures, memory, the depot.
    pub fn depot(&self) -> &Depot<A, L, I> {
        &self.depot
    }
}

impl<A: ByteAllocator, C: CpuId, const CPUS: usize, L: Lock, I: InitHeap<A>> PerCpu<A, C, CPUS, L, I> {
    /// Returns the calling CPU's magazines to the depot (memory pressure);
    /// the bytes returned, 0 when it holds none (a CPU index at or above
    /// `CPUS` has no magazines).
    ///
    /// # Errors
    /// [`AllocError::Busy`], nothing returned, while it cannot be done now:
    /// called from inside an operation of this CPU (an interrupt handler),
    /// or the depot cannot be had (held by this CPU, poisoned).
    pub fn flush_current(&self) -> AllocResult<usize> {
        front::Front::enter(self, |ctx| match ctx {
            Context::Cached(cache) => give_back(&self.depot, cache),
            Context::Uncached => Ok(0),
            Context::Nested => Err(AllocError::Busy),
        })
    }

    /// Returns CPU `cpu`'s magazines to the depot (a CPU gone offline); the
    /// bytes returned, 0 when it holds none.
    ///
    /// # Errors
    /// [`AllocError::InvalidParam`] for `cpu` at or above `CPUS`;
    /// [`AllocError::Busy`], nothing returned, when the depot cannot be
    /// had, or when an operation is seen using that CPU's magazines (the
    /// contract below broken: sometimes noticed, never relied on).
    ///
    /// # Safety
    /// No operation of this front runs with index `cpu` while this runs
    /// (the CPU is offline, or it is the calling CPU), and no other
    /// `flush_cpu` or `flush_all` for that index runs at the same time.
    pub unsafe fn flush_cpu(&self, cpu: usize) -> AllocResult<usize> {
        let slot = self.slots.get(cpu).ok_or(AllocError::InvalidParam)?;
        if slot.busy.load(Ordering::Acquire) {
            return Err(AllocError::Busy);
        }
        // A load and a store, as `enter` does (no compare-and-swap on
        // every target): the contract keeps other operations off the slot.
        slot.busy.store(true, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        let _leave = Leave(&slot.busy);
        // SAFETY: the caller guarantees no operation uses the slot now; the
        // busy flag marks it for nested operations (they bypass it).
        give_back(&self.depot, unsafe { &mut *slot.cache.get() })
    }

    /// Returns every CPU's magazines and the depot's to the heap, so that
    /// its [`figures`](Self::figures) count only blocks in use (a kernel's
    /// "memory in use", memory pressure); the bytes returned.
    ///
    /// # Errors
    /// As [`flush_cpu`](Self::flush_cpu) for the first CPU that failed
    /// (every other CPU is still flushed, and the depot drained), or as
    /// [`drain`](Self::drain).
    ///
    /// # Safety
    /// No operation of this front runs on any CPU while this runs (the
    /// other CPUs are parked or offline), and no other flush of this front
    /// runs at the same time.
    pub unsafe fn flush_all(&self) -> AllocResult<usize> {
        let mut bytes = 0;
        let mut first_error = None;
        for cpu in 0..CPUS {
            // SAFETY: the caller guarantees no operation runs anywhere.
            match unsafe { self.flush_cpu(cpu) } {
                Ok(n) => bytes += n,
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        let drained = self.drain()?;
        match first_error {
            Some(e) => Err(e),
            None => Ok(bytes + drained),
        }
    }

    /// Bytes in the calling CPU's magazines.
    pub fn cached_by_current(&self) -> usize {
        front::Front::enter(self, |ctx| match ctx {
            Context::Cached(cache) => cache.bytes(),
            _ => 0,
        })
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

impl<A: ByteAllocator, C: CpuId, const CPUS: usize, L: Lock, I: InitHeap<A>> front::Front
    for PerCpu<A, C, CPUS, L, I>
{
    type Heap = A;
    type Lock = L;
    type Init = I;

    #[inline]
    fn depot(&self) -> &Depot<A, L, I> {
        &self.depot
    }

    #[inline(always)]
    fn fast<R>(&self, f: impl FnOnce(&mut Cache) -> Option<R>) -> Option<R> {
        let slot = self.slots.get(C::current())?;
        if slot.busy.load(Ordering::Acquire) {
            return None;
        }
        slot.busy.store(true, Ordering::Relaxed);
        compiler_fence(Ordering::SeqCst);
        // SAFETY: as in `enter`: the busy flag is ours until it is cleared
        // below, and `f` neither panics nor leaves the magazines.
        let r = f(unsafe { &mut *slot.cache.get() });
        slot.busy.store(false, Ordering::Release);
        r
    }

    #[inline]
    fn enter<R>(&self, f: impl FnOnce(Context<'_>) -> R) -> R {
        let Some(slot) = self.slots.get(C::current()) else {
            return f(Context::Uncached);
        };
        // A load and a store, not a read-modify-write: by `CpuId`'s
        // contract only this CPU uses the slot, so the flag only has to
        // catch a nested entry on this CPU (an interrupt), which runs to
        // completion before the interrupted operation goes on.
        if slot.busy.load(Ordering::Acquire) {
            return f(Context::Nested);
        }
        slot.busy.store(true, Ordering::Relaxed);
        // An interrupt on this CPU sees the flag set before any magazine
        // changes.
        compiler_fence(Ordering::SeqCst);
        let _leave = Leave(&slot.busy);
        // SAFETY: the busy flag is ours until `_leave` drops: no other
        // operation reaches this cache meanwhile.
        f(Context::Cached(unsafe { &mut *slot.cache.get() }))
    }
}

// SAFETY: blocks come from the heap (through the depot's lock or a
// magazine holding free blocks of the heap), each handed to one caller at
// a time: a magazine block is popped by the one operation owning the
// magazine; a freed block is pushed only after its owner gave it up.
unsafe impl<A, C, const CPUS: usize, L, I> GlobalAlloc for PerCpu<A, C, CPUS, L, I>
where
    A: ByteAllocator + Send,
    C: CpuId,
    L: Lock + Sync,
    I: InitHeap<A>,
{
    crate::front::global_alloc_methods!();
}

impl<A, C, const CPUS: usize, L, I> core::fmt::Debug for PerCpu<A, C, CPUS, L, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PerCpu").field("cpus", &CPUS).field("depot", &self.depot).finish()
    }
}
