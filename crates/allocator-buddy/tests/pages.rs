//! The testkit's page suites over `BuddyPageAllocator`, and its own rules.

use allocator_buddy::BuddyPageAllocator;
use allocator_core::{AllocError, BaseAllocator, PageAllocator};
use allocator_testkit::{page_allocator_tests, PageConfig};

type Pages = BuddyPageAllocator<4096>;
/// A window of 1024 pages: small enough to wrap around odd bases.
type Tiny = BuddyPageAllocator<4096, 16>;

page_allocator_tests!(odd_base, Pages::new(), PageConfig::new(0x1234_5000, 64 << 20));
page_allocator_tests!(one_page, Pages::new(), PageConfig::new(0x7000, 4096));
page_allocator_tests!(at_zero, Pages::new(), PageConfig::new(0, 1 << 20));
page_allocator_tests!(wrapping_window, Tiny::new(), PageConfig::new(0x1234_5000, 1000 * 4096));
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(
    two_gib,
    BuddyPageAllocator::<4096, 8192>::new(),
    PageConfig::new(0x8000_0000, 2 << 30).cases(16)
);
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(
    sixty_four_gib,
    BuddyPageAllocator::<{ 2 << 20 }>::new(),
    PageConfig::new(0x10_0000_0000, 64 << 30).cases(16)
);
// On 32-bit targets: a gigabyte ending one page below the top of the address space.
#[cfg(target_pointer_width = "32")]
page_allocator_tests!(
    top_of_32_bit,
    BuddyPageAllocator::<4096, 4096>::new(),
    PageConfig::new(0xC000_0000, (1 << 30) - 4096).cases(16)
);

fn pages(base: usize, size: usize) -> Pages {
    let mut p = Pages::new();
    // SAFETY: page allocators touch no memory.
    unsafe { p.init(base, size) }.unwrap();
    p
}

#[test]
fn runs_are_aligned_to_their_block_and_counted_exactly() {
    let mut p = pages(0x1000, 64 << 20);
    let a = p.alloc_pages(3, 4096).unwrap();
    assert_eq!(a % (4 * 4096), 0, "a block of 4 pages");
    assert_eq!(p.used_pages(), 3);
    let b = p.alloc_pages(1, 1 << 20).unwrap();
    assert_eq!(b % (1 << 20), 0);
    assert_eq!(p.used_pages(), 4, "the rest of the aligned block stays free");
    // SAFETY: touches nothing.
    unsafe {
        p.dealloc_pages(a, 3).unwrap();
        p.dealloc_pages(b, 1).unwrap();
    }
    assert_eq!(p.used_pages(), 0);
    assert_eq!(p.alloc_pages(1 << 13, 4096), Ok(32 << 20), "every block merged back");
}

#[test]
fn every_misuse_of_dealloc_is_an_error_and_changes_nothing() {
    let mut p = pages(0x10_0000, 1 << 20);
    let a = p.alloc_pages_at(0x10_0000, 3, 4096).unwrap();
    let b = p.alloc_pages_at(0x10_3000, 2, 4096).unwrap();
    let c = p.alloc_pages_at(0x10_8000, 1, 4096).unwrap();
    // SAFETY: touches nothing; every call below is refused.
    unsafe {
        assert_eq!(p.dealloc_pages(a, 2), Err(AllocError::InvalidParam), "too few: the run goes on");
        assert_eq!(p.dealloc_pages(a, 4), Err(AllocError::InvalidParam), "too many: into the next run");
        assert_eq!(p.dealloc_pages(b, 3), Err(AllocError::InvalidParam), "too many: into free pages");
        assert_eq!(p.dealloc_pages(a + 4096, 2), Err(AllocError::NotAllocated), "inside a run");
        assert_eq!(p.dealloc_pages(0x10_5000, 1), Err(AllocError::NotAllocated), "a free page");
        assert_eq!(p.dealloc_pages(0x20_0000, 1), Err(AllocError::InvalidParam), "past the region");
        assert_eq!(p.dealloc_pages(0xf_f000, 2), Err(AllocError::InvalidParam), "starts before it");
        assert_eq!(p.dealloc_pages(a + 1, 3), Err(AllocError::InvalidParam), "misaligned");
        assert_eq!(p.dealloc_pages(a, 0), Err(AllocError::InvalidParam), "no pages");
    }
    assert_eq!(p.used_pages(), 6);
    // SAFETY: touches nothing.
    unsafe {
        p.dealloc_pages(b, 2).unwrap();
        p.dealloc_pages(a, 3).unwrap();
        p.dealloc_pages(c, 1).unwrap();
        assert_eq!(p.dealloc_pages(c, 1), Err(AllocError::NotAllocated), "double free");
    }
    assert_eq!(p.used_pages(), 0);
}

#[test]
fn fixed_runs_need_free_pages_not_whole_blocks() {
    let mut p = pages(0x10_0000, 1 << 20);
    assert_eq!(p.alloc_pages_at(0x10_1000, 3, 4096), Ok(0x10_1000), "straddles two blocks of 2");
    assert_eq!(p.alloc_pages_at(0x10_3000, 1, 4096), Err(AllocError::MemoryOverlap));
    assert_eq!(p.alloc_pages_at(0x10_0000, 2, 4096), Err(AllocError::MemoryOverlap), "half taken");
    assert_eq!(p.alloc_pages_at(0x10_0000, 1, 4096), Ok(0x10_0000));
    assert_eq!(p.alloc_pages_at(0x10_4000, 1, 0x8000), Err(AllocError::InvalidParam), "misaligned");
    assert_eq!(p.alloc_pages_at(0x20_0000, 1, 4096), Err(AllocError::InvalidParam), "outside");
    assert_eq!(p.alloc_pages_at(0x1f_f000, 2, 4096), Err(AllocError::InvalidParam), "leaves the region");
}

#[test]
fn a_full_region_table_is_table_full() {
    let mut p = pages(0x100_0000, 4096);
    for i in 1..allocator_buddy::MAX_REGIONS {
        // SAFETY: page allocators touch no memory.
        unsafe { p.add_memory(0x100_0000 + i * 2 * 4096, 4096) }.unwrap();
    }
    let next = 0x100_0000 + allocator_buddy::MAX_REGIONS * 2 * 4096;
    // SAFETY: as above.
    unsafe {
        assert_eq!(p.add_memory(next, 4096), Err(AllocError::TableFull));
        assert_eq!(p.init(next, 4096), Err(AllocError::AlreadyInitialized));
        // Adjacent to a region: merged, no new entry.
        p.add_memory(0x100_1000, 4096).unwrap();
    }
    assert_eq!(p.total_pages(), allocator_buddy::MAX_REGIONS + 1);
}

/// Hole: a run over free pages of two ADJACENT regions was refused by
/// `alloc_pages_at` (each region was looked up alone), although
/// `alloc_pages` could hand out a block merged across them.
#[test]
fn runs_across_adjacent_regions_are_placed_and_freed() {
    let mut p = pages(0x10_0000, 16 * 4096);
    // SAFETY: page allocators touch no memory.
    unsafe { p.add_memory(0x11_0000, 16 * 4096) }.unwrap();
    assert_eq!(p.alloc_pages_at(0x10_c000, 8, 4096), Ok(0x10_c000));
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(0x10_c000, 8) }.unwrap();
    let run = p.alloc_pages(32, 4096).unwrap();
    assert_eq!(run, 0x10_0000, "one block over both regions");
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(run, 32) }.unwrap();
    assert_eq!(p.used_pages(), 0);
}

/// Hole: `alloc_pages_at` multiplied the run's block by the page size
/// unchecked (a panic in debug builds for a count just under
/// `usize::MAX / PAGE_SIZE`); every arithmetic on a count, base or
/// alignment must give an error instead.
#[test]
fn huge_counts_bases_and_alignments_are_errors_never_panics() {
    let top = 1usize << (usize::BITS - 1);
    let mut p = pages(0x1000_0000, 1 << 20);
    let huge = usize::MAX / 4096; // fits in bytes; its power of two does not
    assert_eq!(p.alloc_pages_at(0x1000_0000, huge, 4096), Err(AllocError::InvalidParam));
    assert_eq!(p.alloc_pages(huge, 4096), Err(AllocError::NoMemory));
    // The last whole megabyte below the top page of the address space.
    let base = (usize::MAX - (1 << 20) + 1) - 4096;
    let mut q = pages(base, 1 << 20);
    let live = q.alloc_pages(1, 4096).unwrap();
    for p in [&mut p, &mut q] {
        for (num, align) in
            [(usize::MAX, 4096), (top, 4096), (huge + 1, 1), (huge, 4096), (1, top), (top, top), (1, 0)]
        {
            assert!(p.alloc_pages(num, align).is_err(), "alloc_pages({num:#x}, {align:#x})");
        }
        for at in [usize::MAX, usize::MAX - 4095, top, base, live, 0, base + (1 << 20) - 4096, 0x1000_0000] {
            for (num, align) in [(usize::MAX, 4096), (top, 4096), (huge, 4096), (2, top), (1, top)] {
                let r = p.alloc_pages_at(at, num, align);
                assert!(r.is_err(), "alloc_pages_at({at:#x}, {num:#x}, {align:#x})");
            }
            for num in [usize::MAX, top, huge, huge + 1, 2] {
                // SAFETY: touches nothing.
                let r = unsafe { p.dealloc_pages(at, num) };
                assert!(r.is_err(), "dealloc_pages({at:#x}, {num:#x})");
            }
        }
    }
    assert_eq!(q.used_pages(), 1);
    let last = base + (1 << 20) - 4096;
    assert_eq!(q.alloc_pages_at(last, 1, 4096), Ok(last), "the last page below the top one");
    // SAFETY: page allocators touch no memory.
    unsafe {
        assert_eq!(q.add_memory(usize::MAX - 4095, 4096), Err(AllocError::InvalidParam), "ends past the top");
        assert_eq!(q.add_memory(top, usize::MAX), Err(AllocError::InvalidParam));
        q.dealloc_pages(last, 1).unwrap();
        q.dealloc_pages(live, 1).unwrap();
    }
    assert_eq!(q.used_pages(), 0);
    assert_eq!(q.alloc_pages(128, 4096), Ok(base + 4096), "the largest block, merged again");
}

/// An alignment larger than the window: its one aligned page is found
/// (the same hole as the bitmap's, where nothing was found at all).
#[test]
fn alignments_beyond_the_window_find_page_zero() {
    let top = 1usize << (usize::BITS - 1);
    let mut p = pages(0, 1 << 20);
    assert_eq!(p.alloc_pages(2, top), Ok(0));
    assert_eq!(p.alloc_pages(1, top), Err(AllocError::NoMemory), "no other aligned page");
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(0, 2) }.unwrap();
    assert_eq!(p.alloc_pages(1, Pages::CAPACITY_PAGES * 4096 * 4), Ok(0));
    // A window of 64 pages whose end cuts the aligned block: the run still fits.
    let mut q = BuddyPageAllocator::<4096, 1>::new();
    // SAFETY: page allocators touch no memory.
    unsafe { q.init(0x8_0000, 64 * 4096) }.unwrap();
    assert_eq!(q.alloc_pages(4, 1 << 20), Err(AllocError::NoMemory), "no 1 MiB boundary in the window");
    assert_eq!(q.alloc_pages(4, 1 << 19), Ok(0x8_0000), "its 512 KiB block is cut at 0xc0000");
    assert_eq!(q.alloc_pages(1, 1 << 19), Err(AllocError::NoMemory));
}
