//! Unmapping really gives memory back: the process's resident set grows by
//! what is touched and falls back when the run is freed. Alone in its
//! binary so that no other test moves the figure.
#![cfg(target_os = "linux")]

use allocator_core::PageAllocator;
use allocator_os::OsPages;

/// Resident pages of this process (`/proc/self/statm`, second field), in
/// bytes.
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: reads a constant.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

#[test]
fn freed_runs_leave_the_resident_set() {
    const MIB: usize = 1 << 20;
    let mut pages = OsPages::<4096>::new();
    let before = rss();
    let base = pages.alloc_pages(64 * MIB / 4096, 2 * MIB).unwrap();
    let mapped = rss();
    // SAFETY: 64 MiB just mapped.
    unsafe { std::ptr::with_exposed_provenance_mut::<u8>(base).write_bytes(1, 64 * MIB) };
    let touched = rss();
    // SAFETY: nothing uses the run any more.
    unsafe { pages.dealloc_pages(base, 64 * MIB / 4096) }.unwrap();
    let after = rss();
    println!(
        "RSS: {} KiB before, {} KiB mapped (untouched), {} KiB after writing 64 MiB, {} KiB after dealloc_pages",
        before / 1024,
        mapped / 1024,
        touched / 1024,
        after / 1024
    );
    assert!(mapped < before + 4 * MIB, "mapping alone is not resident");
    assert!(touched >= before + 60 * MIB, "writing makes it resident");
    assert!(after < touched - 60 * MIB, "unmapping gives it back");
}
