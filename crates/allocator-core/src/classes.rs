//! The size classes shared by the slab layer and the magazine front: 28
//! block sizes from 16 B to 4 KiB, so that a block one layer caches is
//! exactly a block the other serves.
//!
//! Steps of 16 B up to 128 B, then four classes per power of two (16, 32,
//! …, 128, 160, 192, 224, 256, 320, …, 3584, 4096): rounding wastes at
//! most 15 B below 128 B and under 25 % above. A class's alignment is the
//! largest power of two dividing its size, which every block of a slab
//! aligned that much has when blocks sit back to back.

use core::alloc::Layout;

/// How many size classes there are.
pub const CLASSES: usize = 28;

/// The largest block a size class serves: larger sizes (or alignments)
/// have no class.
pub const MAX_CLASS_SIZE: usize = 4096;

/// The smallest block: two pointers on 64-bit targets, room for the links a
/// free list keeps inside its blocks.
pub const MIN_CLASS_SIZE: usize = 16;

/// Each class's block size, smallest first.
const SIZES: [usize; CLASSES] = {
    let mut sizes = [0; CLASSES];
    let mut c = 0;
    while c < 8 {
        sizes[c] = 16 * (c + 1);
        c += 1;
    }
    while c < CLASSES {
        let group = (c - 8) / 4;
        let base = 128 << group;
        sizes[c] = base + (base / 4) * ((c - 8) % 4 + 1);
        c += 1;
    }
    sizes
};

/// The block size of class `class` (`class < CLASSES`; larger indices give
/// [`MAX_CLASS_SIZE`]).
#[inline]
#[must_use]
pub const fn class_size(class: usize) -> usize {
    if class < CLASSES {
        SIZES[class]
    } else {
        MAX_CLASS_SIZE
    }
}

/// The alignment every block of class `class` has: the largest power of
/// two dividing its size.
#[inline]
#[must_use]
pub const fn class_align(class: usize) -> usize {
    let size = class_size(class);
    size & size.wrapping_neg()
}

/// The layout of a whole block of class `class`: what a layer asks its
/// backing heap for when it fetches one block of that class.
#[inline]
#[must_use]
pub const fn class_layout(class: usize) -> Layout {
    // SAFETY: the size is at most 4096 and the alignment a power of two
    // dividing it, so the size rounded up to the alignment is the size and
    // fits in `isize`.
    unsafe { Layout::from_size_align_unchecked(class_size(class), class_align(class)) }
}

/// The smallest class whose blocks hold `size` bytes, ignoring alignment;
/// `None` above [`MAX_CLASS_SIZE`]. A size of 0 is class 0. One table
/// lookup.
#[inline]
#[must_use]
pub const fn class_of_size(size: usize) -> Option<usize> {
    if size > MAX_CLASS_SIZE {
        return None;
    }
    // Class sizes are multiples of 16: a size's class is its 16-byte
    // granule count's.
    Some(BY_GRANULES[size.div_ceil(16)] as usize)
}

/// The class of each multiple of 16 bytes up to [`MAX_CLASS_SIZE`], by
/// granule count.
const BY_GRANULES: [u8; MAX_CLASS_SIZE / 16 + 1] = {
    let mut table = [0; MAX_CLASS_SIZE / 16 + 1];
    let mut g = 0;
    while g < table.len() {
        table[g] = compute_class(g * 16) as u8;
        g += 1;
    }
    table
};

/// The class of `size` (at most [`MAX_CLASS_SIZE`]) by arithmetic: steps of
/// 16 up to 128, then four per power of two.
const fn compute_class(size: usize) -> usize {
    if size <= 128 {
        return size.saturating_sub(1) / 16;
    }
    // 2^k < size <= 2^(k+1), with k >= 7.
    let k = (usize::BITS - 1 - (size - 1).leading_zeros()) as usize;
    let step = 1 << (k - 2);
    let in_group = (size - (1 << k)).div_ceil(step) - 1;
    8 + (k - 7) * 4 + in_group
}

/// The smallest class whose blocks hold a block of `layout`: at least its
/// size, and aligned at least as it asks; `None` when no class does (size
/// or alignment above [`MAX_CLASS_SIZE`]). At most a few steps past the
/// class of the size.
#[inline]
#[must_use]
pub const fn class_of(layout: Layout) -> Option<usize> {
    let align = layout.align();
    if align <= MIN_CLASS_SIZE {
        return class_of_size(layout.size());
    }
    let size = if layout.size() > align { layout.size() } else { align };
    let mut class = match class_of_size(size) {
        Some(c) => c,
        None => return None,
    };
    while class < CLASSES {
        if class_align(class) >= align {
            return Some(class);
        }
        class += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_strictly_increasing_from_16_to_4096() {
        assert_eq!(class_size(0), MIN_CLASS_SIZE);
        assert_eq!(class_size(CLASSES - 1), MAX_CLASS_SIZE);
        for c in 1..CLASSES {
            assert!(class_size(c) > class_size(c - 1), "class {c}");
            assert_eq!(class_size(c) % 16, 0);
        }
        assert_eq!(&SIZES[7..13], &[128, 160, 192, 224, 256, 320]);
    }

    #[test]
    fn every_size_maps_to_the_smallest_class_that_holds_it() {
        for size in 0..=MAX_CLASS_SIZE {
            let c = class_of_size(size).unwrap();
            assert!(class_size(c) >= size, "size {size}");
            assert!(c == 0 || class_size(c - 1) < size, "size {size} class {c}");
        }
        assert_eq!(class_of_size(MAX_CLASS_SIZE + 1), None);
        assert_eq!(class_of_size(usize::MAX), None);
    }

    #[test]
    fn every_layout_gets_the_smallest_class_big_and_aligned_enough() {
        for align_log in 0..=13 {
            let align = 1usize << align_log;
            for size in (0..=MAX_CLASS_SIZE + 16).step_by(7) {
                let layout = Layout::from_size_align(size, align).unwrap();
                let fits = |c: usize| class_size(c) >= size && class_align(c) >= align;
                let expected = (0..CLASSES).find(|&c| fits(c));
                assert_eq!(class_of(layout), expected, "size {size} align {align}");
            }
        }
    }

    #[test]
    fn a_class_alignment_divides_its_size_and_is_a_power_of_two() {
        for c in 0..CLASSES {
            let layout = class_layout(c);
            assert!(layout.align().is_power_of_two());
            assert_eq!(layout.size() % layout.align(), 0);
            assert!(layout.align() >= 16);
            assert_eq!(class_of(layout), Some(c));
        }
    }
}
