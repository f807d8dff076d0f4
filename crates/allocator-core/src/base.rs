//! [`BaseAllocator`]: giving an allocator its memory.

use core::mem::MaybeUninit;

use crate::{AllocError, AllocResult};

/// How an allocator is told where its memory is: a pointer for byte heaps,
/// which write into the memory; a number for page and id allocators, which
/// never touch it (their numbers may be physical addresses).
pub trait Address: Copy + core::fmt::Debug {
    /// The address as a number, to compare and check ranges (for a pointer,
    /// without exposing its provenance).
    fn addr(self) -> usize;
}

impl Address for *mut u8 {
    #[inline]
    fn addr(self) -> usize {
        <*mut u8>::addr(self)
    }
}

impl Address for usize {
    #[inline]
    fn addr(self) -> usize {
        self
    }
}

/// An allocator that manages memory handed to it as address ranges.
///
/// `init` gives the first region; `add_memory` adds more. Both are `unsafe`
/// because the allocator trusts that the range is memory it may use. Byte
/// heaps take the start as a pointer ([`Addr`](Self::Addr) `= *mut u8`),
/// whose provenance covers the region, so they never turn integers into
/// pointers; for them [`add_static`](Self::add_static) is the safe form.
/// Page allocators take numbers (`usize`).
///
/// Both check the region's *shape* before they touch anything, so a
/// malformed region is an error, never a panic or a write:
///
/// | region | error |
/// | --- | --- |
/// | `size == 0`, `start + size` overflows, or too small for one block once trimmed to the backend's alignment | [`InvalidParam`] |
/// | `init` on an allocator that already has memory | [`AlreadyInitialized`] |
/// | overlaps a region the allocator already manages | [`MemoryOverlap`] |
/// | more regions than the backend can track | [`TableFull`] |
///
/// When a call fails, the allocator is unchanged. `add_memory` on an
/// allocator that has no memory yet behaves as `init`. A region adjacent to
/// one given before is a separate region to the caller, but a backend may
/// merge them (a block may then span both).
///
/// [`InvalidParam`]: AllocError::InvalidParam
/// [`AlreadyInitialized`]: AllocError::AlreadyInitialized
/// [`MemoryOverlap`]: AllocError::MemoryOverlap
/// [`TableFull`]: AllocError::TableFull
pub trait BaseAllocator {
    /// What a region's start is given as: `*mut u8` for byte heaps, `usize`
    /// for page allocators.
    type Addr: Address;

    /// Gives the allocator its first region, `[start, start + size)`.
    ///
    /// # Errors
    /// See the trait docs.
    ///
    /// # Safety
    /// If the region has a valid shape (see the trait docs), every byte of
    /// it must be valid for reads and writes through `start` (for a
    /// pointer, with provenance over the whole region), must not be used by
    /// anything else, and must stay so for as long as the allocator or any
    /// block it handed out is in use. Page allocators touch no memory; for
    /// them the contract is that the pages are the caller's to hand out.
    unsafe fn init(&mut self, start: Self::Addr, size: usize) -> AllocResult;

    /// Adds the region `[start, start + size)` to the memory the allocator
    /// manages.
    ///
    /// # Errors
    /// See the trait docs.
    ///
    /// # Safety
    /// As for [`init`](Self::init).
    unsafe fn add_memory(&mut self, start: Self::Addr, size: usize) -> AllocResult;

    /// Adds memory the program owns for good: a `static` array, or a leaked
    /// buffer. The safe form of [`add_memory`](Self::add_memory) for byte
    /// heaps: `&'static mut` proves nothing else uses the memory, ever.
    ///
    /// ```
    /// # use core::mem::MaybeUninit;
    /// # use allocator::{BaseAllocator, ByteAllocator};
    /// # fn give<H: ByteAllocator + BaseAllocator<Addr = *mut u8>>(heap: &mut H) {
    /// let memory: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new([MaybeUninit::uninit(); 4096]));
    /// heap.add_static(memory).expect("a valid region");
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`add_memory`](Self::add_memory); on error the memory is simply
    /// not used.
    fn add_static(&mut self, memory: &'static mut [MaybeUninit<u8>]) -> AllocResult
    where
        Self: BaseAllocator<Addr = *mut u8> + Sized,
    {
        // SAFETY: the slice is exclusively borrowed for `'static`: valid for
        // reads and writes, used by nothing else, and never released; the
        // pointer carries its provenance.
        unsafe { self.add_memory(memory.as_mut_ptr().cast(), memory.len()) }
    }
}

/// The `init` of an allocator whose first region is simply its first
/// `add_memory`: [`AllocError::AlreadyInitialized`] when it already
/// `has_memory` (nothing changes), else `add_memory`. Every backend of this
/// workspace shares this rule through it.
///
/// # Errors
/// `AlreadyInitialized` for a second `init`; else as `add_memory`.
///
/// # Safety
/// As [`BaseAllocator::init`].
pub unsafe fn init_first<A: BaseAllocator + ?Sized>(
    allocator: &mut A,
    has_memory: bool,
    start: A::Addr,
    size: usize,
) -> AllocResult {
    if has_memory {
        return Err(AllocError::AlreadyInitialized);
    }
    // SAFETY: forwarded from the caller.
    unsafe { allocator.add_memory(start, size) }
}
