//! The testkit's page suites over `BitmapPageAllocator`, and its regions.

use allocator_bitmap::{BitmapPageAllocator, CAPACITY_PAGES};
use allocator_core::{AllocError, BaseAllocator, PageAllocator};
use allocator_testkit::{page_allocator_tests, PageConfig};

type Pages = BitmapPageAllocator<4096>;
#[cfg(target_pointer_width = "64")]
type HugePages = BitmapPageAllocator<{ 2 << 20 }>;

page_allocator_tests!(odd_base, Pages::new(), PageConfig::new(0x1234_5000, 64 << 20));
page_allocator_tests!(one_page, Pages::new(), PageConfig::new(0x7000, 4096));
page_allocator_tests!(at_zero, Pages::new(), PageConfig::new(0, 1 << 20));
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(two_gib, Pages::new(), PageConfig::new(0x8000_0000, 2 << 30).cases(16));
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
fn any_base_uses_the_whole_capacity() {
    // Just below 2 GiB: rounding down to 1 GiB would waste a gigabyte.
    let base: usize = 0x8000_0000 - 4096;
    let Some(size) = CAPACITY_PAGES.checked_mul(4096).filter(|&s| base.checked_add(s).is_some()) else {
        return; // a map this large does not fit a 32-bit address space
    };
    let p = pages_at(base, size);
    assert_eq!(p.total_pages(), CAPACITY_PAGES);
}

#[test]
fn regions_past_the_capacity_are_clipped() {
    let mut p = pages_at(0x1000, (CAPACITY_PAGES + 10) * 4096);
    assert_eq!(p.total_pages(), CAPACITY_PAGES);
    let last = 0x1000 + (CAPACITY_PAGES - 1) * 4096;
    assert_eq!(p.alloc_pages_at(last, 1, 4096), Ok(last));
    assert_eq!(p.alloc_pages_at(last + 4096, 1, 4096), Err(AllocError::InvalidParam));
}

#[test]
fn later_regions_fit_in_the_window_above_the_first() {
    let mut p = pages_at(0x100_0000, 1 << 20);
    // SAFETY: page allocators touch no memory.
    unsafe {
        assert_eq!(p.add_memory(0x10_0000, 1 << 20), Err(AllocError::InvalidParam), "below the first");
        assert_eq!(p.add_memory(0x100_8000, 4096), Err(AllocError::MemoryOverlap));
        assert_eq!(
            p.add_memory(0x100_0000 + CAPACITY_PAGES * 4096, 4096),
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
