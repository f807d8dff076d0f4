//! Alignment and region helpers that are correct for every input.
//!
//! None of these functions can overflow or panic: an alignment that is not
//! a power of two, or a result that would not fit in `usize`, gives `None`
//! (or an [`AllocError::InvalidParam`]).

use core::alloc::Layout;

use crate::{AllocError, AllocResult};

/// `true` when `align` is a power of two (so never for zero).
#[inline]
pub const fn is_pow2(align: usize) -> bool {
    align.is_power_of_two()
}

/// `addr` rounded down to a multiple of `align`; `None` when `align` is not
/// a power of two.
#[inline]
pub const fn align_down(addr: usize, align: usize) -> Option<usize> {
    if !is_pow2(align) {
        return None;
    }
    Some(addr & !(align - 1))
}

/// `addr` rounded up to a multiple of `align`; `None` when `align` is not a
/// power of two or the result does not fit in `usize`.
#[inline]
pub const fn align_up(addr: usize, align: usize) -> Option<usize> {
    if !is_pow2(align) {
        return None;
    }
    match addr.checked_add(align - 1) {
        Some(v) => Some(v & !(align - 1)),
        None => None,
    }
}

/// `true` when `addr` is a multiple of `align` and `align` is a power of
/// two.
#[inline]
pub const fn is_aligned(addr: usize, align: usize) -> bool {
    is_pow2(align) && addr & (align - 1) == 0
}

/// The exclusive end of the region `[start, start + size)`.
///
/// # Errors
/// [`AllocError::InvalidParam`] when `size` is zero or the end does not fit
/// in `usize` (a region may not end at the very top of the address space).
#[inline]
pub const fn region_end(start: usize, size: usize) -> AllocResult<usize> {
    if size == 0 {
        return Err(AllocError::InvalidParam);
    }
    match start.checked_add(size) {
        Some(end) => Ok(end),
        None => Err(AllocError::InvalidParam),
    }
}

/// The largest part of `[start, start + size)` whose start is aligned to
/// `align` and whose length is a multiple of `granule`, as `(start, size)`.
///
/// This is how a backend with alignment requirements *trims* a region
/// instead of refusing it.
///
/// # Errors
/// [`AllocError::InvalidParam`] when the region is malformed (see
/// [`region_end`]), `align` is not a power of two, `granule` is zero, or
/// nothing usable is left after trimming.
pub const fn trim_region(
    start: usize,
    size: usize,
    align: usize,
    granule: usize,
) -> AllocResult<(usize, usize)> {
    let end = match region_end(start, size) {
        Ok(end) => end,
        Err(e) => return Err(e),
    };
    if granule == 0 {
        return Err(AllocError::InvalidParam);
    }
    let new_start = match align_up(start, align) {
        Some(s) if s < end => s,
        _ => return Err(AllocError::InvalidParam),
    };
    let len = end - new_start;
    let len = len - len % granule;
    if len == 0 {
        return Err(AllocError::InvalidParam);
    }
    Ok((new_start, len))
}

/// The [`ByteAllocator`](crate::ByteAllocator) zero-size policy as one
/// check: `Ok` for a layout with a non-zero size,
/// [`AllocError::InvalidParam`] otherwise.
#[inline]
pub const fn check_layout(layout: Layout) -> AllocResult {
    if layout.size() == 0 {
        Err(AllocError::InvalidParam)
    } else {
        Ok(())
    }
}

/// The malformed-grow check: [`AllocError::InvalidParam`] when `new` is
/// smaller than `old` (a grow to less).
#[inline]
pub const fn check_grow(old: Layout, new: Layout) -> AllocResult {
    if new.size() < old.size() {
        Err(AllocError::InvalidParam)
    } else {
        Ok(())
    }
}

/// The malformed-shrink check: [`AllocError::InvalidParam`] when `new` is
/// larger than `old` or has a zero size.
#[inline]
pub const fn check_shrink(old: Layout, new: Layout) -> AllocResult {
    if new.size() > old.size() || new.size() == 0 {
        Err(AllocError::InvalidParam)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_helpers_reject_non_powers_of_two() {
        for bad in [0usize, 3, 6, 12, usize::MAX, usize::MAX / 2 + 2] {
            assert_eq!(align_up(17, bad), None, "align {bad}");
            assert_eq!(align_down(17, bad), None, "align {bad}");
            assert!(!is_aligned(16, bad), "align {bad}");
        }
    }

    #[test]
    fn align_up_never_overflows() {
        let top = 1usize << (usize::BITS - 1);
        assert_eq!(align_up(usize::MAX, 2), None);
        assert_eq!(align_up(usize::MAX - 6, 8), None);
        assert_eq!(align_up(usize::MAX - 7, 8), Some(usize::MAX - 7));
        assert_eq!(align_up(usize::MAX - 7, 1), Some(usize::MAX - 7));
        assert_eq!(align_up(usize::MAX - 15, 8), Some(usize::MAX - 15));
        assert_eq!(align_up(1, top), Some(top));
        assert_eq!(align_up(top + 1, top), None);
        assert_eq!(align_down(usize::MAX, top), Some(top));
        assert_eq!(align_up(0, top), Some(0));
    }

    #[test]
    fn align_round_trips() {
        for align in (0..usize::BITS).map(|s| 1usize << s) {
            for addr in [0usize, 1, 4095, 4096, 4097, 123_456_789] {
                let down = align_down(addr, align).unwrap();
                assert!(down <= addr && is_aligned(down, align));
                if let Some(up) = align_up(addr, align) {
                    assert!(up >= addr && is_aligned(up, align));
                    assert!(up - down <= align);
                }
            }
        }
    }

    #[test]
    fn region_end_rejects_empty_and_wrapping() {
        assert_eq!(region_end(0x1000, 0), Err(AllocError::InvalidParam));
        assert_eq!(region_end(usize::MAX, 1), Err(AllocError::InvalidParam));
        assert_eq!(region_end(usize::MAX - 9, 100), Err(AllocError::InvalidParam));
        assert_eq!(region_end(0x1000, 0x100), Ok(0x1100));
        assert_eq!(region_end(0, usize::MAX), Ok(usize::MAX));
    }

    #[test]
    fn trim_region_keeps_the_usable_middle() {
        assert_eq!(trim_region(0x1001, 0x3000, 0x1000, 0x1000), Ok((0x2000, 0x2000)));
        assert_eq!(trim_region(0x1000, 0x3000, 0x1000, 0x1000), Ok((0x1000, 0x3000)));
        assert_eq!(trim_region(0x1001, 0x1000, 0x1000, 0x1000), Err(AllocError::InvalidParam));
        assert_eq!(trim_region(0x1000, 0x1000, 3, 1), Err(AllocError::InvalidParam));
        assert_eq!(trim_region(0x1000, 0x1000, 1, 0), Err(AllocError::InvalidParam));
        assert_eq!(trim_region(usize::MAX - 5, 5, 8, 1), Err(AllocError::InvalidParam));
    }

    #[test]
    fn resize_checks_refuse_the_wrong_direction() {
        let (small, big, zero) = (Layout::new::<u8>(), Layout::new::<u64>(), Layout::new::<()>());
        assert_eq!(check_grow(big, small), Err(AllocError::InvalidParam));
        assert_eq!(check_grow(small, big), Ok(()));
        assert_eq!(check_shrink(small, big), Err(AllocError::InvalidParam));
        assert_eq!(check_shrink(big, zero), Err(AllocError::InvalidParam));
        assert_eq!(check_shrink(big, small), Ok(()));
    }

    #[test]
    fn check_layout_is_the_zero_size_policy() {
        assert_eq!(check_layout(Layout::new::<()>()), Err(AllocError::InvalidParam));
        assert_eq!(check_layout(Layout::new::<u8>()), Ok(()));
    }
}
