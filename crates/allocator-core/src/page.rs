//! [`PageAllocator`]: runs of fixed-size pages.

use crate::{AllocResult, BaseAllocator};

/// An allocator of runs of pages, addressed by their base address.
///
/// A page allocator keeps its own map and never touches the pages, so
/// allocating is safe; freeing is `unsafe` because pages freed while still
/// in use would be handed out twice. Implementations detect what they can
/// (pages outside the map, pages not allocated) and report it as an error
/// instead of corrupting their map.
///
/// Its memory is given as numbers (`Addr = usize`): they may be physical
/// addresses that the program cannot dereference. A byte heap that is to
/// use its pages as memory needs the caller's promise that they are (see
/// `allocator_compose::Refill::new`).
///
/// `align_pow2` arguments are alignments **in bytes**: a power of two;
/// alignments up to [`PAGE_SIZE`](Self::PAGE_SIZE) are met by every page.
///
/// # Safety
///
/// Unsafe code (a heap that refills from these pages) relies on this:
/// implementors guarantee that every run `alloc_pages` or `alloc_pages_at`
/// returns lies inside memory given to the allocator and overlaps no other
/// allocated run, until it is freed by `dealloc_pages`.
pub unsafe trait PageAllocator: BaseAllocator<Addr = usize> {
    /// The size of one page in bytes (a power of two).
    const PAGE_SIZE: usize;

    /// Allocates `num_pages` contiguous pages whose base is aligned to
    /// `align_pow2` bytes, and returns that base.
    ///
    /// # Errors
    /// [`InvalidParam`](crate::AllocError::InvalidParam) for zero pages, a
    /// count whose byte size overflows, or an alignment that is not a power
    /// of two; [`NoMemory`](crate::AllocError::NoMemory) when no free run
    /// fits now.
    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize>;

    /// Allocates `num_pages` contiguous pages starting exactly at `base`.
    ///
    /// # Errors
    /// As [`alloc_pages`](Self::alloc_pages); also
    /// [`InvalidParam`](crate::AllocError::InvalidParam) when `base` is not
    /// aligned to `align_pow2` and the page size, or the run leaves the
    /// memory given to the allocator, and
    /// [`MemoryOverlap`](crate::AllocError::MemoryOverlap) when a page of
    /// the run is already allocated.
    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize>;

    /// Frees `num_pages` pages starting at `pos`.
    ///
    /// # Errors
    /// [`InvalidParam`](crate::AllocError::InvalidParam) when the run is not
    /// page-aligned, is empty, or leaves the map;
    /// [`NotAllocated`](crate::AllocError::NotAllocated) when a page of it is
    /// not allocated (as far as the backend can tell). Nothing changes on
    /// error.
    ///
    /// # Safety
    /// Nothing may use the pages after this call: they will be handed out
    /// again.
    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult;

    /// Pages the allocator manages.
    fn total_pages(&self) -> usize;

    /// Pages currently allocated.
    fn used_pages(&self) -> usize;

    /// Pages currently free.
    fn available_pages(&self) -> usize {
        self.total_pages() - self.used_pages()
    }
}

/// A [`PageAllocator`] whose pages are the program's memory: the memory
/// sources of a hosted program or a WebAssembly module (pages mapped by the
/// operating system, grown linear memory), as opposed to page numbers that
/// may be physical addresses. A heap may refill from it with no promise
/// of the caller's (`allocator_compose::Refill::over_memory`).
///
/// # Safety
/// Implementors guarantee, besides [`PageAllocator`]'s contract, that every
/// run `alloc_pages` or `alloc_pages_at` returns is memory the program may
/// read and write: its address, as a pointer with exposed provenance
/// ([`core::ptr::with_exposed_provenance_mut`]), is valid for reads and
/// writes of the whole run, and nothing else uses the run until it is
/// freed by `dealloc_pages`. This holds whatever memory is given to the
/// allocator through safe code (`BaseAllocator`'s `init` and `add_memory`
/// are `unsafe`, and their callers promise what the implementor documents).
pub unsafe trait MemoryPages: PageAllocator {}
