//! `OsPages` under the testkit's page suite (in windows of the address
//! space), and what the suite cannot see: the memory is real, alignment
//! beyond the page, exhaustion, and that freed runs are really unmapped.
//!
//! Every test here maps and unmaps in the one address space of this
//! process, so each holds one lock for as long as its allocator lives.
#![cfg(unix)]

use std::sync::{Mutex, MutexGuard};

use allocator_core::{AllocError, AllocResult, BaseAllocator, PageAllocator};
use allocator_os::OsPages;
use allocator_testkit::{page_allocator_tests, PageConfig};

const PAGE: usize = 4096;
const WINDOW: usize = 64 << 20;

static LOCK: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `OsPages` holding the lock for as long as it lives.
struct Serial(OsPages<PAGE>, #[allow(dead_code)] MutexGuard<'static, ()>);

fn os() -> Serial {
    Serial(OsPages::new(), serial())
}

impl BaseAllocator for Serial {
    type Addr = usize;
    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.0.init(start, size) }
    }
    unsafe fn add_memory(&mut self, start: usize, size: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.0.add_memory(start, size) }
    }
}

// SAFETY: forwards to `OsPages`.
unsafe impl PageAllocator for Serial {
    const PAGE_SIZE: usize = PAGE;
    fn alloc_pages(&mut self, n: usize, align: usize) -> AllocResult<usize> {
        self.0.alloc_pages(n, align)
    }
    fn alloc_pages_at(&mut self, base: usize, n: usize, align: usize) -> AllocResult<usize> {
        self.0.alloc_pages_at(base, n, align)
    }
    unsafe fn dealloc_pages(&mut self, pos: usize, n: usize) -> AllocResult {
        // SAFETY: forwarded.
        unsafe { self.0.dealloc_pages(pos, n) }
    }
    fn total_pages(&self) -> usize {
        self.0.total_pages()
    }
    fn used_pages(&self) -> usize {
        self.0.used_pages()
    }
}

/// A free window of the address space, far from where the system maps
/// (thread stacks and the C heap's arenas come top-down, and must not land
/// in it between two tests): the first of a few fixed places that is free.
fn window() -> usize {
    static WINDOW_BASE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *WINDOW_BASE.get_or_init(|| {
        #[cfg(target_pointer_width = "64")]
        let candidates: &[usize] = &[0x1000_0000_0000, 0x20_0000_0000, 0x4000_0000];
        #[cfg(not(target_pointer_width = "64"))]
        let candidates: &[usize] = &[0x1000_0000, 0x2000_0000, 0x3000_0000, 0x4000_0000];
        for &at in candidates {
            let flags =
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED_NOREPLACE;
            // SAFETY: NOREPLACE: maps only if the place is free.
            let p = unsafe { libc::mmap(at as *mut _, WINDOW, libc::PROT_NONE, flags, -1, 0) };
            if p != libc::MAP_FAILED {
                // SAFETY: our reservation (or, where the flag was taken as
                // a hint, our mapping elsewhere).
                assert_eq!(unsafe { libc::munmap(p, WINDOW) }, 0);
                if p as usize == at {
                    return at;
                }
            }
        }
        panic!("no free window among {candidates:x?}");
    })
}

page_allocator_tests!(in_a_window, os(), PageConfig::new(window(), WINDOW).cases(32));

/// Under qemu-user (the xtask's cross step sets `ALLOCATOR_EMULATED`) the
/// guest's address space is the emulator's: it reserves it on the host, so
/// `msync` finds every page mapped, `MAP_FIXED_NOREPLACE` finds every place
/// taken and hints are not followed. The tests that look at the mappings
/// (these, and the page suite, skipped by name in that step) run on native
/// targets only; the hosted-from-OS tests and the RSS check run everywhere.
fn emulated() -> bool {
    let e = std::env::var_os("ALLOCATOR_EMULATED").is_some();
    if e {
        println!("skipped under an emulator");
    }
    e
}

/// `true` when every page of the range is mapped.
fn mapped(base: usize, len: usize) -> bool {
    // SAFETY: `msync` only inspects the mappings.
    unsafe { libc::msync(base as *mut _, len, libc::MS_ASYNC) == 0 }
}

#[test]
fn runs_are_zeroed_writable_memory_and_unmapped_when_freed() {
    if emulated() {
        return;
    }
    let mut p = os();
    let base = p.alloc_pages(256, PAGE).unwrap();
    let mem = std::ptr::with_exposed_provenance_mut::<u8>(base);
    // SAFETY: 256 pages just mapped.
    let s = unsafe { std::slice::from_raw_parts_mut(mem, 256 * PAGE) };
    assert!(s.iter().all(|&b| b == 0));
    s.fill(0x5A);
    assert_eq!((p.total_pages(), p.used_pages(), p.available_pages()), (256, 256, 0));
    assert!(mapped(base, 256 * PAGE));
    // SAFETY: nothing uses the run after this.
    unsafe { p.dealloc_pages(base + 128 * PAGE, 128) }.unwrap();
    assert!(mapped(base, 128 * PAGE) && !mapped(base + 128 * PAGE, PAGE), "the second half is unmapped");
    // SAFETY: the second half is gone: a double free.
    assert_eq!(unsafe { p.dealloc_pages(base + 128 * PAGE, 128) }, Err(AllocError::NotAllocated));
    // SAFETY: the first half, unused.
    unsafe { p.dealloc_pages(base, 128) }.unwrap();
    assert!(!mapped(base, PAGE));
    assert_eq!(p.used_pages(), 0);
}

#[test]
fn alignment_beyond_the_page_is_met_and_the_slack_unmapped() {
    if emulated() {
        return;
    }
    let mut p = os();
    // In the window, where nothing else is mapped beside the run.
    let mut w = os_in(window(), WINDOW);
    for shift in [13, 16, 21, 24] {
        let align = 1usize << shift;
        let base = p.alloc_pages(3, align).unwrap();
        assert_eq!(base % align, 0, "aligned to {align}");
        // SAFETY: unused.
        unsafe { p.dealloc_pages(base, 3) }.unwrap();
        let base = w.alloc_pages(3, align).unwrap();
        assert_eq!(base % align, 0, "aligned to {align}");
        assert!(mapped(base, 3 * PAGE));
        assert!(!mapped(base + 3 * PAGE, PAGE) && !mapped(base - PAGE, PAGE), "slack unmapped at {align}");
        // SAFETY: unused.
        unsafe { w.dealloc_pages(base, 3) }.unwrap();
    }
    for bad in [0, 3, PAGE + 1, usize::MAX] {
        assert_eq!(p.alloc_pages(1, bad), Err(AllocError::InvalidParam));
    }
    assert_eq!(p.alloc_pages(0, PAGE), Err(AllocError::InvalidParam));
    assert_eq!(p.alloc_pages(usize::MAX / PAGE + 1, PAGE), Err(AllocError::InvalidParam));
    assert_eq!(p.alloc_pages(1, 1 << (usize::BITS - 1)), Err(AllocError::NoMemory));
    assert_eq!(p.used_pages(), 0);
}

#[test]
fn exhaustion_is_no_memory_and_recoverable() {
    if emulated() {
        return;
    }
    let mut p = os();
    // Half the address space: refused by the system on 64-bit targets (and
    // maybe granted on 32-bit ones, where it is 2 GiB).
    match p.alloc_pages(isize::MAX as usize / PAGE, PAGE) {
        Err(AllocError::NoMemory) => {}
        // SAFETY: unused.
        Ok(b) if usize::BITS == 32 => unsafe { p.dealloc_pages(b, isize::MAX as usize / PAGE) }.unwrap(),
        r => panic!("half the address space: {r:?}"),
    }
    // A window of 64 pages: full after 64, free again after a free.
    let mut w = os_in(window(), 64 * PAGE);
    let runs: Vec<usize> = (0..16).map(|_| w.alloc_pages(4, PAGE).unwrap()).collect();
    assert_eq!(w.alloc_pages(1, PAGE), Err(AllocError::NoMemory));
    assert_eq!(w.available_pages(), 0);
    // SAFETY: unused.
    unsafe { w.dealloc_pages(runs[5], 4) }.unwrap();
    // The window is not searched (a hint at the cursor, then at its
    // start): a hole in the middle is found by `alloc_pages_at`.
    assert_eq!(w.alloc_pages_at(runs[5], 4, PAGE), Ok(runs[5]));
    assert_eq!(w.alloc_pages_at(runs[6], 1, PAGE), Err(AllocError::MemoryOverlap));
    for r in runs {
        // SAFETY: unused.
        unsafe { w.dealloc_pages(r, 4) }.unwrap();
    }
    assert_eq!(w.used_pages(), 0);
    drop(p);
}

/// A windowed `OsPages`, for a test already holding the lock.
fn os_in(start: usize, size: usize) -> OsPages<PAGE> {
    let mut p = OsPages::new();
    // SAFETY: only numbers.
    unsafe { p.init(start, size) }.unwrap();
    p
}

#[test]
fn a_page_smaller_than_the_systems_is_unsupported() {
    let _g = serial();
    let mut p = OsPages::<512>::new();
    assert_eq!(p.alloc_pages(1, 512), Err(AllocError::Unsupported));
    let mut odd = OsPages::<12288>::new();
    assert_eq!(odd.alloc_pages(1, 4096), Err(AllocError::Unsupported));
}
