//! [`OsPages`]: pages mapped from the operating system (`mmap`/`munmap`).

use core::ptr;

use allocator_core::{AllocError, AllocResult, BaseAllocator, MemoryPages, PageAllocator};

use crate::{page_align, run_bytes};

/// Runs of pages mapped from the operating system with `mmap` (private,
/// anonymous, readable and writable, zero-filled) and given back with
/// `munmap`: the memory source of a hosted heap. See the crate docs.
///
/// `PAGE_SIZE` is this allocator's page (4 KiB by default); it must be a
/// multiple of the system's page (`sysconf(_SC_PAGESIZE)`, read at the
/// first call), else every allocation fails with
/// [`Unsupported`](AllocError::Unsupported) (use `OsPages<16384>` or
/// `OsPages<65536>` on systems with larger pages).
///
/// Without a window it maps wherever the system chooses and counts only
/// what it has mapped: `total_pages() == used_pages()`. Given a window
/// with [`init`](BaseAllocator::init) (`[start, start + size)`, rounded
/// inwards to pages), it maps inside the window only (a next-fit hint, then
/// the window's start; a run the system places elsewhere is unmapped and
/// the request fails with `NoMemory`: the window is not searched, so a hole
/// elsewhere in it is only found by `alloc_pages_at`), and `total_pages` is
/// the window's.
///
/// The addresses it returns are pointers whose provenance it exposed
/// ([`pointer::expose_provenance`](https://doc.rust-lang.org/core/primitive.pointer.html#method.expose_provenance)),
/// so a heap may take them back with `ptr::with_exposed_provenance_mut`.
#[derive(Debug)]
pub struct OsPages<const PAGE_SIZE: usize = 4096> {
    /// The window, when `hi != 0`.
    lo: usize,
    hi: usize,
    /// Where the next hint in the window goes, from `lo`.
    cursor: usize,
    used: usize,
    /// The system's page size, 0 until read.
    sys_page: usize,
}

impl<const PAGE_SIZE: usize> OsPages<PAGE_SIZE> {
    /// No window: pages wherever the system maps them. All zeros, for a
    /// `static`.
    pub const fn new() -> Self {
        Self { lo: 0, hi: 0, cursor: 0, used: 0, sys_page: 0 }
    }

    /// The system's page size, when `PAGE_SIZE` is a multiple of it.
    fn check_page(&mut self) -> AllocResult<usize> {
        if self.sys_page == 0 {
            // SAFETY: `sysconf` reads a constant of the process.
            let sys = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            self.sys_page = usize::try_from(sys).ok().filter(|p| p.is_power_of_two()).unwrap_or(usize::MAX);
        }
        let sys = self.sys_page;
        if PAGE_SIZE.is_power_of_two() && sys != usize::MAX && PAGE_SIZE >= sys {
            Ok(sys)
        } else {
            Err(AllocError::Unsupported)
        }
    }

    fn in_window(&self, base: usize, bytes: usize) -> bool {
        self.hi == 0 || (base >= self.lo && base.checked_add(bytes).is_some_and(|end| end <= self.hi))
    }

    /// Maps `span` bytes near `hint` (null: anywhere).
    fn map(hint: usize, span: usize) -> Option<*mut u8> {
        // SAFETY: an anonymous private mapping without MAP_FIXED replaces
        // nothing; the hint is only a hint.
        let p = unsafe {
            libc::mmap(
                ptr::without_provenance_mut(hint),
                span,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        (p != libc::MAP_FAILED && !p.is_null()).then_some(p.cast())
    }

    /// Unmaps `len` bytes at `p` (a part of a mapping of ours).
    ///
    /// # Safety
    /// Nothing uses the range.
    unsafe fn unmap(p: *mut u8, len: usize) -> bool {
        // SAFETY: forwarded from the caller.
        len == 0 || unsafe { libc::munmap(p.cast(), len) } == 0
    }

    /// Maps `bytes` aligned to `align` (a multiple of the system page) by
    /// mapping `align - PAGE_SIZE` more and unmapping both ends.
    fn map_aligned(&self, hint: usize, bytes: usize, align: usize) -> AllocResult<*mut u8> {
        let span = bytes.checked_add(align - PAGE_SIZE).filter(|&s| s <= isize::MAX as usize);
        let span = span.ok_or(AllocError::NoMemory)?;
        let p = Self::map(hint, span).ok_or(AllocError::NoMemory)?;
        // Inside the mapping (it is `align - PAGE_SIZE` longer), so it does
        // not overflow; checked all the same.
        let Some(aligned) = p.addr().checked_next_multiple_of(align) else {
            // SAFETY: the mapping was just made and is used by nothing.
            unsafe { Self::unmap(p, span) };
            return Err(AllocError::NoMemory);
        };
        let head = aligned - p.addr();
        let base = p.wrapping_add(head);
        // SAFETY: both ends are parts of the mapping just made, used by
        // nothing; `head` and the tail are multiples of the system page
        // (`align` and `bytes` are multiples of `PAGE_SIZE`).
        let trimmed =
            unsafe { Self::unmap(p, head) && Self::unmap(base.wrapping_add(bytes), span - head - bytes) };
        if !trimmed {
            // SAFETY: as above: the mapping is ours and unused.
            unsafe { Self::unmap(p, span) };
            return Err(AllocError::NoMemory);
        }
        if !self.in_window(base.addr(), bytes) {
            // SAFETY: the run was just mapped and is used by nothing.
            unsafe { Self::unmap(base, bytes) };
            return Err(AllocError::NoMemory);
        }
        Ok(base)
    }

    /// `true` when every page of the range is mapped (`msync` fails with
    /// `ENOMEM` on an unmapped page; `MS_ASYNC` writes nothing back).
    fn mapped(base: usize, bytes: usize) -> bool {
        // SAFETY: `msync` only inspects the mappings of the range.
        unsafe { libc::msync(ptr::without_provenance_mut(base), bytes, libc::MS_ASYNC) == 0 }
    }

    /// Checks a run given by number: page-aligned, not empty, no overflow,
    /// inside the window; returns its size in bytes.
    fn check_run(&self, base: usize, num: usize, align: usize) -> AllocResult<usize> {
        let bytes = run_bytes(num, PAGE_SIZE)?;
        let align = page_align(align, PAGE_SIZE)?;
        // Addresses past `isize::MAX` are ordinary on 32-bit targets: a run
        // only must not wrap.
        base.checked_add(bytes).ok_or(AllocError::InvalidParam)?;
        if base == 0 || !base.is_multiple_of(align) || !self.in_window(base, bytes) {
            return Err(AllocError::InvalidParam);
        }
        Ok(bytes)
    }
}

impl<const PAGE_SIZE: usize> Default for OsPages<PAGE_SIZE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const PAGE_SIZE: usize> BaseAllocator for OsPages<PAGE_SIZE> {
    type Addr = usize;

    /// Sets the window: runs are mapped inside `[start, start + size)`
    /// only, rounded inwards to pages. No memory is touched or reserved.
    ///
    /// # Errors
    /// `InvalidParam` for a window with no whole page or that wraps past
    /// the end of the address space; `AlreadyInitialized` when a window is set or pages are mapped.
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        if self.hi != 0 || self.used != 0 {
            return Err(AllocError::AlreadyInitialized);
        }
        let end = start.checked_add(size).ok_or(AllocError::InvalidParam)?;
        let lo = start.checked_next_multiple_of(PAGE_SIZE).ok_or(AllocError::InvalidParam)?.max(PAGE_SIZE);
        let hi = end & !(PAGE_SIZE - 1);
        if !PAGE_SIZE.is_power_of_two() || lo >= hi {
            return Err(AllocError::InvalidParam);
        }
        (self.lo, self.hi, self.cursor) = (lo, hi, 0);
        Ok(())
    }

    /// As [`init`](Self::init) when no window is set; one window only.
    ///
    /// # Errors
    /// As `init`; `Unsupported` for a second window.
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        if self.hi != 0 {
            return Err(AllocError::Unsupported);
        }
        // SAFETY: the window is only numbers.
        unsafe { self.init(start, size) }
    }
}

// SAFETY: every run is a fresh private anonymous mapping of the system
// (readable and writable memory used by nothing else) until `dealloc_pages`
// unmaps it; `alloc_pages_at` never replaces a mapping (MAP_FIXED_NOREPLACE,
// or a hint whose answer is checked); runs lie in the window when one is
// set.
unsafe impl<const PAGE_SIZE: usize> PageAllocator for OsPages<PAGE_SIZE> {
    const PAGE_SIZE: usize = PAGE_SIZE;

    /// One `mmap` (two more `munmap`s when aligned beyond the page).
    fn alloc_pages(&mut self, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let bytes = run_bytes(num_pages, PAGE_SIZE)?;
        let align = page_align(align_pow2, PAGE_SIZE)?;
        self.check_page()?;
        let base = if self.hi == 0 {
            self.map_aligned(0, bytes, align)?
        } else {
            if bytes > self.hi - self.lo {
                return Err(AllocError::NoMemory);
            }
            // A hint past the end of the address space is no hint: NoMemory.
            let hint = (self.lo + self.cursor).checked_next_multiple_of(align).ok_or(AllocError::NoMemory)?;
            let start = self.lo.checked_next_multiple_of(align).ok_or(AllocError::NoMemory)?;
            match self.map_aligned(hint, bytes, align) {
                Ok(p) => p,
                Err(_) if hint != start => self.map_aligned(start, bytes, align)?,
                Err(e) => return Err(e),
            }
        };
        if self.hi != 0 {
            self.cursor = (base.addr() + bytes - self.lo) % (self.hi - self.lo);
        }
        self.used += num_pages;
        Ok(base.expose_provenance())
    }

    /// `mmap` at `base`, never over an existing mapping: `MemoryOverlap`
    /// when the place is taken (on Linux, told by `MAP_FIXED_NOREPLACE`;
    /// elsewhere, by the system not honouring the hint).
    fn alloc_pages_at(&mut self, base: usize, num_pages: usize, align_pow2: usize) -> AllocResult<usize> {
        let bytes = self.check_run(base, num_pages, align_pow2)?;
        self.check_page()?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS;
        // SAFETY: MAP_FIXED_NOREPLACE fails rather than replace a mapping;
        // without it `base` is a hint.
        let p = unsafe {
            libc::mmap(
                ptr::without_provenance_mut(base),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED || p.is_null() {
            // A taken place shows as mapped pages in it.
            return Err(if Self::any_mapped(base, bytes) {
                AllocError::MemoryOverlap
            } else {
                AllocError::NoMemory
            });
        }
        let p = p.cast::<u8>();
        if p.addr() != base {
            // A kernel without MAP_FIXED_NOREPLACE (before Linux 4.17)
            // takes it as a hint and maps elsewhere when the place is taken.
            // SAFETY: the mapping was just made and is used by nothing.
            unsafe { Self::unmap(p, bytes) };
            return Err(AllocError::MemoryOverlap);
        }
        self.used += num_pages;
        Ok(p.expose_provenance())
    }

    /// `munmap`, after checking the run is mapped (`msync`): pages not
    /// mapped give `NotAllocated`. A mapped run this allocator did not hand
    /// out cannot be told apart: the caller's contract.
    unsafe fn dealloc_pages(&mut self, pos: usize, num_pages: usize) -> AllocResult {
        let bytes = self.check_run(pos, num_pages, PAGE_SIZE)?;
        if num_pages > self.used || !Self::mapped(pos, bytes) {
            return Err(AllocError::NotAllocated);
        }
        // SAFETY: the run is mapped and, by the caller's contract, one this
        // allocator handed out and nothing uses any more.
        if unsafe { libc::munmap(ptr::with_exposed_provenance_mut(pos), bytes) } != 0 {
            return Err(AllocError::InvalidParam);
        }
        self.used -= num_pages;
        Ok(())
    }

    fn total_pages(&self) -> usize {
        if self.hi == 0 {
            self.used
        } else {
            (self.hi - self.lo) / PAGE_SIZE
        }
    }

    fn used_pages(&self) -> usize {
        self.used
    }
}

impl<const PAGE_SIZE: usize> OsPages<PAGE_SIZE> {
    /// `true` when some system page of the range is mapped.
    fn any_mapped(base: usize, bytes: usize) -> bool {
        let step = PAGE_SIZE;
        (0..bytes / step).any(|i| Self::mapped(base + i * step, step))
    }
}

// SAFETY: every run is a fresh private anonymous mapping, readable and
// writable, at the address of the `mmap` pointer whose provenance was
// exposed; it is used by nothing else until `dealloc_pages` unmaps it. The
// window given to `init` is only numbers: runs are always fresh mappings.
unsafe impl<const PAGE_SIZE: usize> MemoryPages for OsPages<PAGE_SIZE> {}
