//! [`PerCpu`]: magazines per CPU over a [`Depot`], for kernels.

use core::{
    alloc::{GlobalAlloc, Layout},
    cell::UnsafeCell,
    marker::PhantomData,
    ptr::NonNull,
    sync::atomic::{compiler_fence, AtomicBool, Ordering},
};

use allocator_core::{AllocResult, ByteAllocator, Figures};

use crate::{depot::Depot, front, magazine::Cache, InitHeap, Lock, NoInit, SpinLock};

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
/// calls, or by giving interrupt contexts their own indices. Any index is
/// allowed: one at or above the front's `CPUS` uses no magazine (the shared
/// heap, under its lock).
///
/// A violation that is caught — the same index entered twice — takes the
/// uncached path instead of corrupting a magazine; this is a safety net,
/// not a licence.
pub unsafe trait CpuId {
    /// The calling CPU's index.
    fn current() -> usize;
}

/// One CPU's magazines and whether an operation is using them.
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
///   ([`max_cached_per_context`](crate::max_cached_per_context), ≤ 512 KiB; a
///   magazine holds 8 KiB or 64 blocks, whichever is less, and at least 4
///   blocks), plus the depot's ([`DEPOT_MAGAZINES`](crate::DEPOT_MAGAZINES)
///   per class). [`flush_current`](Self::flush_current) returns a CPU's
///   magazines (before it goes offline), [`drain`](Self::drain) the depot's
///   (memory pressure); an out-of-memory heap drains the depot itself.
/// - **Blocks freed on another CPU** go to that CPU's magazines: no owner
///   lookup.
/// - The front itself takes `CPUS` × 904 bytes (all zeros: `.bss`).
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
    /// Returns the calling CPU's magazines to the depot (a CPU going
    /// offline, memory pressure); the bytes returned.
    pub fn flush_current(&self) -> usize {
        front::Front::flush_here(self)
    }

    /// Bytes in the calling CPU's magazines.
    pub fn cached_by_current(&self) -> usize {
        front::Front::with_cache(self, |cache| cache.bytes()).unwrap_or(0)
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

    #[inline]
    fn with_cache<R>(&self, f: impl FnOnce(&mut Cache) -> R) -> Option<R> {
        let slot = self.slots.get(C::current())?;
        // A load and a store, not a read-modify-write: by `CpuId`'s
        // contract only this CPU uses the slot, so the flag only has to
        // catch a nested entry on this CPU (an interrupt), which runs to
        // completion before the interrupted operation goes on.
        if slot.busy.load(Ordering::Acquire) {
            return None;
        }
        slot.busy.store(true, Ordering::Relaxed);
        // An interrupt on this CPU sees the flag set before any magazine
        // changes.
        compiler_fence(Ordering::SeqCst);
        let _leave = Leave(&slot.busy);
        // SAFETY: the busy flag is ours until `_leave` drops: no other
        // operation reaches this cache meanwhile.
        Some(f(unsafe { &mut *slot.cache.get() }))
    }

    fn flush_here(&self) -> usize {
        self.with_cache(|cache| {
            let bytes = cache.bytes();
            crate::magazine::Supply::take_all(&self.depot, cache);
            bytes
        })
        .unwrap_or(0)
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
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        front::alloc(self, layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { front::dealloc(self, ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { front::realloc(self, ptr, layout, new_size) }
    }
}

impl<A, C, const CPUS: usize, L, I> core::fmt::Debug for PerCpu<A, C, CPUS, L, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PerCpu").field("cpus", &CPUS).field("depot", &self.depot).finish()
    }
}
