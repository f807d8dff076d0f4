//! Finding, checking and freeing runs of bits, for any alignment relative
//! to any origin. `bitmap-allocator` aligns runs to its own index 0 only;
//! here index `i` stands for the number `origin + i` (a page number or an
//! id), and runs are aligned as numbers, so a map can start anywhere.

use bitmap_allocator::BitAlloc;

/// The first index `>= from` whose number `origin + index` is a multiple of
/// `align` (a power of two).
#[inline]
fn next_aligned(from: usize, origin: usize, align: usize) -> Option<usize> {
    let number = origin.checked_add(from)?;
    let up = number.checked_add(align - 1)? & !(align - 1);
    Some(from + (up - number))
}

/// Frees the allocated run `[first, first + len)`.
#[inline]
pub(crate) fn free_run<B: BitAlloc>(map: &mut B, first: usize, len: usize) {
    let freed = if len == 1 { map.dealloc(first) } else { map.dealloc_contiguous(first, len) };
    debug_assert!(freed, "every bit was checked to be allocated");
}

/// Claims `len` free bits whose first number is a multiple of `align` (a
/// power of two), and returns the first index. Only bits once inserted are
/// ever free, so runs stay inside the map. O(log n) for a single bit; a
/// scan of the map otherwise.
pub(crate) fn alloc_run<B: BitAlloc>(map: &mut B, len: usize, align: usize, origin: usize) -> Option<usize> {
    if len == 0 || len > B::CAP {
        return None;
    }
    if len == 1 && align == 1 {
        return map.alloc();
    }
    // The crate's own search aligns runs as indices, and finds nothing for
    // an alignment above its capacity (though index 0 may be free and
    // aligned): it serves only alignments it can see whole.
    let first = if origin & (align - 1) == 0 && align <= B::CAP {
        // Aligned as numbers and as indices: the crate's own search.
        map.alloc_contiguous(None, len, align.trailing_zeros() as usize)?
    } else {
        let i = find_run(map, len, align, origin)?;
        map.alloc_contiguous(Some(i), len, 0)?
    };
    Some(first)
}

/// The first aligned run of `len` free bits, unclaimed.
fn find_run<B: BitAlloc>(map: &B, len: usize, align: usize, origin: usize) -> Option<usize> {
    let mut start = next_aligned(map.next(0)?, origin, align)?;
    loop {
        if start.checked_add(len)? > B::CAP {
            return None;
        }
        // The first taken bit of the candidate run, as the next free bit
        // after it (`None` when nothing is free after it).
        let blocked = (start..start + len).find_map(|i| {
            let free = map.next(i);
            (free != Some(i)).then_some(free)
        });
        match blocked {
            None => return Some(start),
            Some(free) => start = next_aligned(free?, origin, align)?,
        }
    }
}

/// `true` when every bit of `[first, first + len)` is allocated (not free).
/// `first` is below `B::CAP`.
#[inline]
pub(crate) fn all_taken<B: BitAlloc>(map: &B, first: usize, len: usize) -> bool {
    if len == 1 {
        return !map.test(first);
    }
    match map.next(first) {
        None => true,
        Some(free) => free >= first + len,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmap_allocator::BitAlloc4K;

    #[test]
    fn runs_are_aligned_as_numbers_not_indices() {
        let mut map = BitAlloc4K::default();
        map.insert(0..4096);
        // Index 0 is number 3: the first number aligned to 8 is 8, index 5.
        let i = alloc_run(&mut map, 4, 8, 3).unwrap();
        assert_eq!(i, 5);
        assert!(all_taken(&map, 5, 4) && (0..5).chain(9..100).all(|i| map.test(i)));
        let j = alloc_run(&mut map, 4, 8, 3).unwrap();
        assert_eq!((j + 3) % 8, 0);
        assert_eq!(j, 13);
    }

    #[test]
    fn runs_stay_inside_the_inserted_bits() {
        let mut map = BitAlloc4K::default();
        map.insert(0..10);
        assert_eq!(alloc_run(&mut map, 11, 1, 0), None);
        assert_eq!(alloc_run(&mut map, 10, 1, 0), Some(0));
        assert_eq!(alloc_run(&mut map, 1, 1, 0), None);
        assert_eq!(alloc_run(&mut map, 4097, 1, 0), None);
    }

    /// Hole: an alignment above the map's capacity found nothing, though
    /// index 0 was free and its number aligned (the crate refuses any
    /// alignment larger than itself).
    #[test]
    fn alignments_beyond_the_capacity_still_find_aligned_numbers() {
        let mut map = BitAlloc4K::default();
        map.insert(0..4096);
        assert_eq!(alloc_run(&mut map, 1, 1 << 20, 0), Some(0));
        assert_eq!(alloc_run(&mut map, 3, 1 << 20, 0), None, "index 0 is taken now");
        let mut map = BitAlloc4K::default();
        map.insert(0..4096);
        // The top bit alone is index 5 when index 0 is that number minus 5.
        let origin = (1usize << (usize::BITS - 1)) - 5;
        assert_eq!(alloc_run(&mut map, 2, 1 << (usize::BITS - 1), origin), Some(5));
        assert_eq!(alloc_run(&mut map, 1, 1 << (usize::BITS - 1), origin), None);
        assert_eq!(alloc_run(&mut map, 1, 1 << (usize::BITS - 1), 1), None, "no aligned number");
    }

    #[test]
    fn a_fragmented_map_ends_the_search() {
        let mut map = BitAlloc4K::default();
        map.insert(0..4096);
        for i in (0..4096).step_by(2) {
            assert_eq!(map.alloc_contiguous(Some(i), 1, 0), Some(i));
        }
        assert_eq!(alloc_run(&mut map, 2, 1, 0), None);
        assert_eq!(alloc_run(&mut map, 2, 2, 1), None);
        assert_eq!(alloc_run(&mut map, 1, 2, 1), Some(1));
    }
}
