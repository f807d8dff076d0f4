//! Memory for the unit tests: leaked, aligned, zeroed, with provenance.

use std::alloc::{alloc_zeroed, Layout};

/// `size` bytes aligned to `align`, never freed (a test's heap may keep
/// pointers into it until the process ends).
pub(crate) fn leak(size: usize, align: usize) -> *mut u8 {
    let layout = Layout::from_size_align(size, align).expect("a test layout");
    // SAFETY: `size` is non-zero in every test.
    let p = unsafe { alloc_zeroed(layout) };
    assert!(!p.is_null(), "the test machine is out of memory");
    p
}
