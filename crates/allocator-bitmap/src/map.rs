//! [`PageMap`]: the bitmaps a [`BitmapPageAllocator`](crate::BitmapPageAllocator)
//! can keep its pages in, and what each costs.

use bitmap_allocator::{
    BitAlloc, BitAlloc16, BitAlloc16M, BitAlloc1M, BitAlloc256, BitAlloc256M, BitAlloc4K, BitAlloc64K,
};

mod sealed {
    /// Only this crate names the maps a page allocator trusts.
    pub trait Sealed {}
}

/// A `bitmap-allocator` tree a [`BitmapPageAllocator`](crate::BitmapPageAllocator)
/// can use as its page map: one bit a page, [`BitAlloc::CAP`] pages.
///
/// Implemented for the crate's own trees, from [`BitAlloc16`] (16 pages)
/// to [`BitAlloc256M`] (256 Mi pages, a 34 MiB map), and sealed: the page
/// allocator's `unsafe impl PageAllocator` trusts the map never to hand
/// out a bit twice, which a `BitAlloc` of any other crate (a safe trait)
/// could not promise. Every one of these maps is all zeros when empty
/// (`BitAlloc::DEFAULT`), so a page allocator over any of them is too, and
/// a `static` of it lands in `.bss`. The crate docs (Capacity) list
/// each map's pages and size.
pub trait PageMap: BitAlloc + sealed::Sealed {}

macro_rules! page_maps {
    ($($map:ty),*) => {$(
        impl sealed::Sealed for $map {}
        impl PageMap for $map {}
    )*};
}

page_maps!(BitAlloc16, BitAlloc256, BitAlloc4K, BitAlloc64K, BitAlloc1M, BitAlloc16M, BitAlloc256M);
