//! The C functions' logic over a [`MallocHeap`]: the caller (a C ABI
//! wrapper) turns an [`Error`] into `errno` or a return code.

use core::{fmt, ptr::NonNull};

use crate::header::{Block, MIN_ALIGN};
use crate::MallocHeap;

/// Why a call failed, as C reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// `ENOMEM`: no memory now, a size that overflows, or a heap that
    /// cannot be had (re-entered by the thread holding it).
    NoMemory,
    /// `EINVAL`: an alignment the function does not accept.
    Invalid,
}

impl Error {
    /// The `errno` value: `ENOMEM` (12) or `EINVAL` (22), the same numbers
    /// on Linux, newlib, musl and the BSDs.
    pub const fn errno(self) -> core::ffi::c_int {
        match self {
            Self::NoMemory => 12,
            Self::Invalid => 22,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoMemory => "out of memory (ENOMEM)",
            Self::Invalid => "invalid alignment (EINVAL)",
        })
    }
}

/// `size` bytes aligned to `align` (a power of two).
#[inline]
fn allocate<H: MallocHeap + ?Sized>(heap: &H, size: usize, align: usize) -> Result<NonNull<u8>, Error> {
    let layout = Block::layout_for(size, align).ok_or(Error::NoMemory)?;
    let (start, tag) = heap.allocate(layout).ok_or(Error::NoMemory)?;
    // SAFETY: a fresh block for the layout `layout_for` made.
    Ok(unsafe { Block { start, layout, tag }.publish() })
}

/// `malloc(size)`: at least `size` bytes aligned to 16; `malloc(0)` is a
/// unique block that can be freed, as glibc gives.
///
/// # Errors
/// [`Error::NoMemory`].
#[inline]
pub fn malloc<H: MallocHeap + ?Sized>(heap: &H, size: usize) -> Result<NonNull<u8>, Error> {
    allocate(heap, size, MIN_ALIGN)
}

/// `calloc(count, size)`: `count * size` zeroed bytes; the product is
/// checked for overflow.
///
/// # Errors
/// [`Error::NoMemory`], for an overflowing product too.
pub fn calloc<H: MallocHeap + ?Sized>(heap: &H, count: usize, size: usize) -> Result<NonNull<u8>, Error> {
    let bytes = count.checked_mul(size).ok_or(Error::NoMemory)?;
    let p = malloc(heap, bytes)?;
    // SAFETY: a fresh block of at least `bytes` bytes.
    unsafe { p.write_bytes(0, bytes) };
    Ok(p)
}

/// `free(ptr)`; `free(NULL)` does nothing.
///
/// # Safety
/// `ptr` is null or a live block of these functions over `heap`, freed
/// once.
#[inline]
pub unsafe fn free<H: MallocHeap + ?Sized>(heap: &H, ptr: *mut u8) {
    let Some(user) = NonNull::new(ptr) else { return };
    // SAFETY: a live block of ours (the caller's promise).
    let block = unsafe { Block::of(user) };
    // SAFETY: allocated by `heap` for this layout and tag.
    unsafe { heap.deallocate(block.start, block.layout, block.tag) }
}

/// `malloc_usable_size(ptr)`: the bytes of the block the caller may use
/// (at least what it asked for); 0 for null.
///
/// # Safety
/// As [`free`].
pub unsafe fn malloc_usable_size<H: MallocHeap + ?Sized>(heap: &H, ptr: *mut u8) -> usize {
    let Some(user) = NonNull::new(ptr) else { return 0 };
    // SAFETY: a live block of ours.
    let block = unsafe { Block::of(user) };
    // SAFETY: as above.
    unsafe { heap.usable_size(block.start, block.layout, block.tag) - block.offset() }
}

/// `realloc(ptr, size)` as glibc does it: `realloc(NULL, n)` is
/// `malloc(n)`; `realloc(p, 0)` frees `p` and gives `Ok(None)` (C's NULL
/// with `errno` untouched); otherwise the block grows or shrinks in place
/// where the heap lets it (a shrink to less than half the block moves, to
/// give memory back), else moves, keeping its alignment. On an error `ptr`
/// is untouched and still live.
///
/// # Errors
/// [`Error::NoMemory`].
///
/// # Safety
/// As [`free`].
pub unsafe fn realloc<H: MallocHeap + ?Sized>(
    heap: &H,
    ptr: *mut u8,
    size: usize,
) -> Result<Option<NonNull<u8>>, Error> {
    let Some(user) = NonNull::new(ptr) else { return malloc(heap, size).map(Some) };
    if size == 0 {
        // SAFETY: forwarded from the caller.
        unsafe { free(heap, ptr) };
        return Ok(None);
    }
    // SAFETY: a live block of ours.
    let block = unsafe { Block::of(user) };
    let offset = block.offset();
    let new_total = size.checked_add(offset).ok_or(Error::NoMemory)?;
    // SAFETY: allocated by `heap` for this layout and tag.
    let usable = unsafe { heap.usable_size(block.start, block.layout, block.tag) };
    if new_total <= usable && new_total >= usable / 2 {
        // It fits, and not much is wasted: the block is freed later with
        // its recorded size, which stays between the requested and the
        // usable size.
        return Ok(Some(user));
    }
    // SAFETY: as above.
    if unsafe { heap.resize_in_place(block.start, block.layout, new_total, block.tag) } {
        // SAFETY: the block is live and now `new_total` bytes long.
        unsafe { Block::set_size(user, new_total) };
        return Ok(Some(user));
    }
    let new = allocate(heap, size, block.layout.align())?;
    // SAFETY: both blocks are live and disjoint; the old one has `usable -
    // offset` usable bytes, the new one `size`.
    unsafe {
        new.copy_from_nonoverlapping(user, size.min(usable - offset));
        heap.deallocate(block.start, block.layout, block.tag);
    }
    Ok(Some(new))
}

/// `reallocarray(ptr, count, size)`: [`realloc`] of `count * size` bytes,
/// the product checked for overflow (on overflow `ptr` is untouched).
///
/// # Errors
/// [`Error::NoMemory`], for an overflowing product too.
///
/// # Safety
/// As [`free`].
pub unsafe fn reallocarray<H: MallocHeap + ?Sized>(
    heap: &H,
    ptr: *mut u8,
    count: usize,
    size: usize,
) -> Result<Option<NonNull<u8>>, Error> {
    let bytes = count.checked_mul(size).ok_or(Error::NoMemory)?;
    // SAFETY: forwarded from the caller.
    unsafe { realloc(heap, ptr, bytes) }
}

/// `posix_memalign(&p, align, size)`'s block: `align` must be a power of
/// two and a multiple of `sizeof(void *)` (else `EINVAL`, which
/// `posix_memalign` returns rather than setting `errno`); a `size` of 0
/// gives a unique block.
///
/// # Errors
/// [`Error::Invalid`] for a bad alignment, [`Error::NoMemory`].
pub fn posix_memalign<H: MallocHeap + ?Sized>(
    heap: &H,
    align: usize,
    size: usize,
) -> Result<NonNull<u8>, Error> {
    if !align.is_power_of_two() || !align.is_multiple_of(core::mem::size_of::<usize>()) {
        return Err(Error::Invalid);
    }
    allocate(heap, size, align)
}

/// `aligned_alloc(align, size)` as C17 and glibc 2.38 define it: `align`
/// must be a power of two (else `EINVAL`); `size` need not be a multiple
/// of it (C17's DR 460 dropped that rule; glibc never enforced it).
///
/// # Errors
/// [`Error::Invalid`] for a bad alignment, [`Error::NoMemory`].
pub fn aligned_alloc<H: MallocHeap + ?Sized>(
    heap: &H,
    align: usize,
    size: usize,
) -> Result<NonNull<u8>, Error> {
    if !align.is_power_of_two() {
        return Err(Error::Invalid);
    }
    allocate(heap, size, align)
}

/// `memalign(align, size)` as glibc does it: an alignment that is not a
/// power of two is rounded up to one; one above `SIZE_MAX / 2 + 1` is
/// `EINVAL`.
///
/// # Errors
/// [`Error::Invalid`] for a too large alignment, [`Error::NoMemory`].
pub fn memalign<H: MallocHeap + ?Sized>(heap: &H, align: usize, size: usize) -> Result<NonNull<u8>, Error> {
    let align = align.checked_next_power_of_two().ok_or(Error::Invalid)?;
    allocate(heap, size, align)
}

/// `pvalloc(size)`: `size` rounded up to whole pages of `page` bytes (a
/// power of two), page-aligned. `valloc(size)` is
/// `memalign(page, size)`.
///
/// # Errors
/// [`Error::NoMemory`], for a size that overflows when rounded.
pub fn pvalloc<H: MallocHeap + ?Sized>(heap: &H, page: usize, size: usize) -> Result<NonNull<u8>, Error> {
    let rounded = size.checked_add(page - 1).ok_or(Error::NoMemory)? & !(page - 1);
    memalign(heap, page, rounded.max(page))
}

#[cfg(test)]
mod tests;
