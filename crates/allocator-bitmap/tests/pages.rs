//! The testkit's page suites over `BitmapPageAllocator`, and its regions.

use allocator_bitmap::BitmapPageAllocator;
use allocator_core::{AllocError, BaseAllocator, PageAllocator};
use allocator_testkit::{page_allocator_tests, PageConfig};

/// The default map: 64 Ki pages (256 MiB), 8.5 KiB; held by value.
type Pages = BitmapPageAllocator<4096>;
/// 1 Mi pages: 2 GiB fits whole (137 KiB, still fine on a test stack).
#[cfg(target_pointer_width = "64")]
type GigPages = BitmapPageAllocator<4096, allocator_bitmap::BitAlloc1M>;
/// 32 Ki pages of 2 MiB fit the default map.
#[cfg(target_pointer_width = "64")]
type HugePages = BitmapPageAllocator<{ 2 << 20 }>;

page_allocator_tests!(odd_base, Pages::new(), PageConfig::new(0x1234_5000, 64 << 20));
page_allocator_tests!(one_page, Pages::new(), PageConfig::new(0x7000, 4096));
page_allocator_tests!(at_zero, Pages::new(), PageConfig::new(0, 1 << 20));
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(two_gib, GigPages::new(), PageConfig::new(0x8000_0000, 2 << 30).cases(16));
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(sixty_four_gib, HugePages::new(), PageConfig::new(0x40_0000_0000, 64 << 30).cases(16));
// On 32-bit targets: a gigabyte ending one page below the top of the address space.
#[cfg(target_pointer_width = "32")]
page_allocator_tests!(top_of_32_bit, Pages::new(), PageConfig::new(0xC000_0000, (1 << 30) - 4096).cases(16));

fn pages_at(base: usize, size: usize) -> Pages {
    let mut p = Pages::new();
    // SAFETY: page allocators touch no memory.
    unsafe { p.init(base, size) }.unwrap();
    p
}

#[test]
fn later_regions_fit_in_the_window_above_the_first() {
    let mut p = pages_at(0x100_0000, 1 << 20);
    // SAFETY: page allocators touch no memory.
    unsafe {
        assert_eq!(p.add_memory(0x10_0000, 1 << 20), Err(AllocError::InvalidParam), "below the first");
        assert_eq!(p.add_memory(0x100_8000, 4096), Err(AllocError::MemoryOverlap));
        assert_eq!(
            p.add_memory(0x100_0000 + Pages::CAPACITY_PAGES * 4096, 4096),
            Err(AllocError::InvalidParam),
            "past the capacity"
        );
        p.add_memory(0x110_0000 + 123, (1 << 20) - 123).unwrap();
    }
    assert_eq!(p.total_pages(), 256 + 255);
    let run = p.alloc_pages(256, 1 << 20).unwrap();
    assert_eq!(run, 0x100_0000, "the first region's whole megabyte");
    let more = p.alloc_pages(255, 4096).unwrap();
    assert_eq!(more, 0x110_1000);
    assert_eq!(p.available_pages(), 0);
    assert_eq!(p.alloc_pages(1, 4096), Err(AllocError::NoMemory));
    // A free that spans the gap between the regions is refused.
    // SAFETY: touches nothing.
    assert_eq!(unsafe { p.dealloc_pages(0x10f_f000, 3) }, Err(AllocError::InvalidParam));
}

#[test]
fn alignment_is_by_address_at_any_base() {
    let base = 0x1234_5000;
    let mut p = pages_at(base, 64 << 20);
    for align in [8192, 1 << 16, 1 << 21, 1 << 24] {
        let a = p.alloc_pages(3, align).unwrap();
        assert_eq!(a % align, 0, "{align:#x}");
    }
    assert_eq!(p.alloc_pages(1, 1 << 30), Err(AllocError::NoMemory), "no 1 GiB-aligned page in the map");
}

#[test]
fn partial_frees_of_a_run_are_exact() {
    let mut p = pages_at(0x1000, 1 << 20);
    let run = p.alloc_pages(10, 4096).unwrap();
    // SAFETY: touches nothing.
    unsafe {
        p.dealloc_pages(run + 4 * 4096, 2).unwrap();
        assert_eq!(p.used_pages(), 8);
        assert_eq!(
            p.dealloc_pages(run + 3 * 4096, 2),
            Err(AllocError::NotAllocated),
            "half free: nothing freed"
        );
        assert_eq!(p.used_pages(), 8);
        p.dealloc_pages(run, 4).unwrap();
        p.dealloc_pages(run + 6 * 4096, 4).unwrap();
    }
    assert_eq!(p.used_pages(), 0);
}

/// Hole: a run the map handed out across two ADJACENT regions could not be
/// freed (`InvalidParam` forever: each region was looked up alone), and
/// `alloc_pages_at` over free pages of adjacent regions was refused.
#[test]
fn runs_across_adjacent_regions_are_placed_and_freed() {
    let mut p = pages_at(0x10_0000, 16 * 4096);
    // SAFETY: page allocators touch no memory.
    unsafe { p.add_memory(0x11_0000, 16 * 4096) }.unwrap();
    let run = p.alloc_pages(32, 4096).unwrap();
    assert_eq!(run, 0x10_0000, "one run over both regions");
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(run, 32) }.unwrap();
    assert_eq!(p.used_pages(), 0);
    // A fixed run over the boundary, freed in two parts.
    assert_eq!(p.alloc_pages_at(0x10_c000, 8, 4096), Ok(0x10_c000));
    // SAFETY: touches nothing.
    unsafe {
        p.dealloc_pages(0x10_c000, 4).unwrap();
        p.dealloc_pages(0x11_0000, 4).unwrap();
    }
    assert_eq!(p.used_pages(), 0);
    assert_eq!(p.alloc_pages(32, 4096), Ok(0x10_0000), "all of it is free again");
}

/// Hole (same as above): adjacent regions merge, so more than `MAX_REGIONS`
/// of them fit, and a run may cross every boundary.
#[test]
fn adjacent_regions_beyond_the_table_merge() {
    let n = allocator_bitmap::MAX_REGIONS + 4;
    let mut p = pages_at(0x40_0000, 4096);
    for i in 1..n {
        // SAFETY: page allocators touch no memory.
        unsafe { p.add_memory(0x40_0000 + i * 4096, 4096) }.unwrap();
    }
    assert_eq!(p.total_pages(), n);
    assert_eq!(p.alloc_pages_at(0x40_0000, n, 4096), Ok(0x40_0000));
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(0x40_0000, n) }.unwrap();
}

/// Hole: an alignment larger than the map's capacity gave `NoMemory`
/// although the first page was free and aligned.
#[test]
fn alignments_beyond_the_capacity_find_page_zero() {
    let top = 1usize << (usize::BITS - 1);
    let mut p = pages_at(0, 1 << 20);
    // `top` is far above the map's capacity (`Pages::CAPACITY_PAGES` pages).
    assert_eq!(p.alloc_pages(1, top), Ok(0));
    assert_eq!(p.alloc_pages(1, top), Err(AllocError::NoMemory), "no other aligned page");
    // SAFETY: touches nothing.
    unsafe { p.dealloc_pages(0, 1) }.unwrap();
    assert_eq!(p.alloc_pages(4, top >> 1), Ok(0), "any alignment: page 0 is aligned to it");
}

/// Hole: arithmetic on caller input must never overflow (a panic in debug
/// builds): huge counts, bases and alignments, near the top of the address
/// space, are all errors.
#[test]
fn huge_inputs_are_errors_never_panics() {
    let top = 1usize << (usize::BITS - 1);
    // The last whole megabyte below the top page of the address space.
    let base = (usize::MAX - (1 << 20) + 1) - 4096;
    let mut p = pages_at(base, 1 << 20);
    let live = p.alloc_pages(1, 4096).unwrap();
    for (num, align) in
        [(usize::MAX, 4096), (top, 4096), (usize::MAX / 4096 + 1, 1), (1, top), (top, top), (256, 0)]
    {
        assert!(p.alloc_pages(num, align).is_err(), "alloc_pages({num:#x}, {align:#x})");
    }
    let bases = [usize::MAX, usize::MAX - 4095, top, base, live, 0, base + (1 << 20) - 4096];
    for at in bases {
        for (num, align) in [(usize::MAX, 4096), (top, 4096), (usize::MAX / 4096, 4096), (2, top), (1, top)] {
            assert!(
                p.alloc_pages_at(at, num, align).is_err(),
                "alloc_pages_at({at:#x}, {num:#x}, {align:#x})"
            );
        }
        for num in [usize::MAX, top, usize::MAX / 4096, 2] {
            // SAFETY: touches nothing.
            let r = unsafe { p.dealloc_pages(at, num) };
            assert!(r.is_err(), "dealloc_pages({at:#x}, {num:#x})");
        }
    }
    assert_eq!(p.used_pages(), 1);
    let last = base + (1 << 20) - 4096;
    assert_eq!(p.alloc_pages_at(last, 1, 4096), Ok(last), "the last page below the top one");
    // SAFETY: page allocators touch no memory.
    unsafe {
        assert_eq!(p.add_memory(usize::MAX - 4095, 4096), Err(AllocError::InvalidParam), "ends past the top");
        assert_eq!(p.add_memory(top, usize::MAX), Err(AllocError::InvalidParam));
        p.dealloc_pages(last, 1).unwrap();
        p.dealloc_pages(live, 1).unwrap();
    }
    assert_eq!(p.used_pages(), 0);
}

/// A second `init` is refused and changes nothing.
#[test]
fn a_second_init_is_already_initialized() {
    let mut p = pages_at(0x1000, 1 << 20);
    // SAFETY: page allocators touch no memory.
    assert_eq!(unsafe { p.init(0x1000_0000, 1 << 20) }, Err(AllocError::AlreadyInitialized));
    assert_eq!(p.total_pages(), 256);
}

/// A region that overlaps the part of an earlier one trimmed off to whole
/// pages overlaps it all the same: `MemoryOverlap`, as the byte heaps say
/// (it was accepted, because only the whole pages were recorded).
#[test]
fn overlap_with_a_trimmed_tail_is_refused() {
    let mut p = BitmapPageAllocator::<4096>::new();
    // SAFETY: page allocators touch no memory.
    unsafe {
        p.init(0x40_0000, 3 * 4096 + 0x800).unwrap();
        assert_eq!(p.add_memory(0x40_3000, 4096), Err(AllocError::MemoryOverlap));
        // Past the tail it is a region like any other.
        assert_eq!(p.add_memory(0x40_4000, 4096), Ok(()));
    }
}
