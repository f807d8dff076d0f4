//! The testkit's page suites over `BuddyPageAllocator`.

use allocator_buddy::BuddyPageAllocator;
use allocator_core::{AllocError, BaseAllocator, PageAllocator};
use allocator_testkit::{page_allocator_tests, PageConfig};

type Pages = BuddyPageAllocator<4096>;

page_allocator_tests!(odd_base, Pages::new(), PageConfig::new(0x1234_5000, 64 << 20).rounding());
page_allocator_tests!(one_page, Pages::new(), PageConfig::new(0x7000, 4096).rounding());
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(two_gib, Pages::new(), PageConfig::new(0x8000_0000, 2 << 30).rounding().cases(16));
#[cfg(target_pointer_width = "64")]
page_allocator_tests!(
    sixty_four_gib,
    Pages::new(),
    PageConfig::new(0x10_0000_0000, 64 << 30).rounding().cases(16)
);
// On 32-bit targets: a gigabyte ending one page below the top of the address space.
#[cfg(target_pointer_width = "32")]
page_allocator_tests!(
    top_of_32_bit,
    Pages::new(),
    PageConfig::new(0xC000_0000, (1 << 30) - 4096).rounding().cases(16)
);

fn pages(base: usize, size: usize) -> Pages {
    let mut p = Pages::new();
    // SAFETY: page allocators touch no memory.
    unsafe { p.init(base, size) }.unwrap();
    p
}

#[test]
fn runs_are_powers_of_two_aligned_to_their_size() {
    let mut p = pages(0x1000, 64 << 20);
    let a = p.alloc_pages(3, 4096).unwrap();
    assert_eq!(a % (4 * 4096), 0);
    assert_eq!(p.used_pages(), 4);
    let b = p.alloc_pages(1, 1 << 20).unwrap();
    assert_eq!(b % (1 << 20), 0);
    assert_eq!(p.used_pages(), 4 + 256, "the alignment takes a whole aligned block");
    // SAFETY: touches nothing.
    unsafe {
        assert_eq!(p.dealloc_pages(a, 4), Err(AllocError::InvalidParam), "freed with another count");
        p.dealloc_pages(a, 3).unwrap();
        p.dealloc_pages(b, 1).unwrap();
        assert_eq!(p.dealloc_pages(b, 1), Err(AllocError::NotAllocated), "double free");
    }
    assert_eq!(p.used_pages(), 0);
}

#[test]
fn fixed_runs_start_on_their_block_size() {
    let mut p = pages(0x10_0000, 1 << 20);
    assert_eq!(p.alloc_pages_at(0x10_1000, 2, 4096), Err(AllocError::InvalidParam));
    assert_eq!(p.alloc_pages_at(0x10_2000, 2, 4096), Ok(0x10_2000));
    assert_eq!(p.alloc_pages_at(0x10_2000, 1, 4096), Err(AllocError::MemoryOverlap));
    assert_eq!(p.alloc_pages_at(0x20_0000, 1, 4096), Err(AllocError::InvalidParam), "outside");
}

#[test]
fn counts_beyond_the_largest_block_are_no_memory() {
    let mut p = BuddyPageAllocator::<4096, 4>::new();
    // SAFETY: touches nothing.
    unsafe { p.init(0, 1 << 20) }.unwrap();
    assert_eq!(BuddyPageAllocator::<4096, 4>::MAX_RUN, 8);
    assert_eq!(p.alloc_pages(9, 4096), Err(AllocError::NoMemory));
    assert_eq!(p.alloc_pages(usize::MAX / 2, 4096), Err(AllocError::InvalidParam), "byte size overflows");
    assert_eq!(p.alloc_pages(1, 64 * 4096), Err(AllocError::NoMemory));
    assert_eq!(p.alloc_pages(8, 4096), Ok(0));
}
