//! [`StaticMemory`]: a `static` block of memory that can be claimed once.

use core::{cell::UnsafeCell, fmt, mem::MaybeUninit};

/// `N` bytes of memory in a `static`, handed out as
/// `&'static mut [MaybeUninit<u8>]` exactly once — the safe way for a
/// [`InitHeap`](crate::InitHeap) set-up (or a firmware's `main`) to give a
/// heap its arena, with no `static mut` and no `unsafe`.
///
/// A set-up may run more than once in a program (once for every `Locked`
/// of its type, and whenever anyone calls it), so a set-up that made a
/// `&'static mut` out of a `static mut` itself could hand one arena to two
/// heaps. [`take`](Self::take) answers `None` after the first call.
///
/// All zeros when constructed (the bytes are uninitialised): a `static`
/// lands in `.bss`. Aligned to 64 bytes (a cache line, and more than the
/// granule of TLSF, buddy and slab heaps), `N + 1` bytes rounded up to 64
/// in all: a microcontroller loses no RAM to padding. A `Pool` of blocks
/// aligned above 64 trims the start to its alignment. Heaps that cut their memory into pages (the slab
/// backend trims a region to 4 KiB pages; a buddy heap's largest block is
/// the largest naturally aligned power of two inside its memory) make the
/// most of memory aligned as they need: a `#[repr(align(4096))]` static
/// of your own, given with `add_memory`.
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
/// // Another heap with the same set-up gets nothing: the arena is taken.
/// let other: Locked<TlsfByteAllocator, SpinLock, Arena> = Locked::new(TlsfByteAllocator::new());
/// assert_eq!(other.figures(), Err(AllocError::AlreadyInitialized));
/// ```
#[repr(C, align(64))]
pub struct StaticMemory<const N: usize> {
    bytes: UnsafeCell<[MaybeUninit<u8>; N]>,
    taken: Taken,
}

// SAFETY: the bytes are reached only through `take`, which hands them out
// once, to one caller (the flag's atomic swap or critical section decides
// who); nothing else reads or writes them.
unsafe impl<const N: usize> Sync for StaticMemory<N> {}

impl<const N: usize> StaticMemory<N> {
    /// Unclaimed memory; `const`, for a `static`.
    pub const fn new() -> Self {
        Self { bytes: UnsafeCell::new([MaybeUninit::uninit(); N]), taken: Taken::new() }
    }

    /// The memory, the first time; `None` ever after.
    // A `&mut` out of `&self`: sound because it is handed out once (the
    // claim below), which is the whole point of the type.
    #[allow(clippy::mut_from_ref)]
    pub fn take(&'static self) -> Option<&'static mut [MaybeUninit<u8>]> {
        if self.taken.claim() {
            // SAFETY: `claim` is true exactly once for this value, so this
            // is the only reference to the bytes there will ever be; they
            // live in a `static`.
            Some(unsafe { &mut *self.bytes.get() })
        } else {
            None
        }
    }

    /// The size in bytes.
    pub const fn len(&self) -> usize {
        N
    }

    /// `true` when `N` is zero.
    pub const fn is_empty(&self) -> bool {
        N == 0
    }
}

impl<const N: usize> Default for StaticMemory<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for StaticMemory<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticMemory").field("bytes", &N).finish_non_exhaustive()
    }
}

/// The claimed flag: an atomic swap where the target has one, else a
/// critical section.
#[cfg(target_has_atomic = "8")]
struct Taken(core::sync::atomic::AtomicBool);

#[cfg(target_has_atomic = "8")]
impl Taken {
    const fn new() -> Self {
        Self(core::sync::atomic::AtomicBool::new(false))
    }

    fn claim(&self) -> bool {
        !self.0.swap(true, core::sync::atomic::Ordering::AcqRel)
    }
}

#[cfg(all(not(target_has_atomic = "8"), feature = "critical-section"))]
struct Taken(critical_section::Mutex<core::cell::Cell<bool>>);

#[cfg(all(not(target_has_atomic = "8"), feature = "critical-section"))]
impl Taken {
    const fn new() -> Self {
        Self(critical_section::Mutex::new(core::cell::Cell::new(false)))
    }

    fn claim(&self) -> bool {
        critical_section::with(|cs| !self.0.borrow(cs).replace(true))
    }
}
