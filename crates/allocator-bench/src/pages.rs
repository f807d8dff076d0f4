//! Page and id allocators: ours against the raw crates.

use std::{hint::black_box, time::Instant};

use allocator::{
    bitmap::BitmapPageAllocator, BitmapIdAllocator, BuddyPageAllocator, IdAllocator, PageAllocator,
};
use bitmap_allocator::{BitAlloc, BitAlloc64K};
use buddy_system_allocator::FrameAllocator;

const PAGE: usize = 4096;
/// Base and size of the map: 64 Ki pages at an arbitrary base.
const BASE: usize = 0x1234_5000;
const PAGES: usize = 65536;

/// A page allocator under test, in page numbers relative to the map.
pub(crate) trait Pages {
    fn new() -> Self;
    fn alloc(&mut self, n: usize) -> Option<usize>;
    fn take(&mut self, at: usize) -> bool;
    fn free(&mut self, at: usize, n: usize);
}

/// One of our page allocators.
pub(crate) struct OurPages<P>(Box<P>);
/// The same map as [`RawBitmap`]'s, whatever the facade's features.
pub(crate) type OurBitmap = OurPages<BitmapPageAllocator<PAGE, BitAlloc64K>>;
pub(crate) type OurBuddyPages = OurPages<BuddyPageAllocator<PAGE>>;
pub(crate) struct RawBitmap(Box<BitAlloc64K>);
pub(crate) struct RawFrames(FrameAllocator<33>);

impl<P: PageAllocator + Default> Pages for OurPages<P> {
    fn new() -> Self {
        let mut p = Box::<P>::default();
        // SAFETY: page allocators touch no memory.
        unsafe { p.init(BASE, PAGES * PAGE) }.expect("a valid map");
        Self(p)
    }
    fn alloc(&mut self, n: usize) -> Option<usize> {
        self.0.alloc_pages(n, PAGE).ok().map(|a| (a - BASE) / PAGE)
    }
    fn take(&mut self, at: usize) -> bool {
        self.0.alloc_pages_at(BASE + at * PAGE, 1, PAGE).is_ok()
    }
    fn free(&mut self, at: usize, n: usize) {
        // SAFETY: nothing uses the pages.
        let _ = unsafe { self.0.dealloc_pages(BASE + at * PAGE, n) };
    }
}

impl Pages for RawBitmap {
    fn new() -> Self {
        let mut b = Box::new(BitAlloc64K::DEFAULT);
        b.insert(0..PAGES);
        Self(b)
    }
    fn alloc(&mut self, n: usize) -> Option<usize> {
        if n == 1 {
            self.0.alloc()
        } else {
            self.0.alloc_contiguous(None, n, 0)
        }
    }
    fn take(&mut self, at: usize) -> bool {
        self.0.alloc_contiguous(Some(at), 1, 0).is_some()
    }
    fn free(&mut self, at: usize, n: usize) {
        if n == 1 {
            self.0.dealloc(at);
        } else {
            self.0.dealloc_contiguous(at, n);
        }
    }
}

impl Pages for RawFrames {
    fn new() -> Self {
        let mut f = FrameAllocator::new();
        f.add_frame(BASE / PAGE, BASE / PAGE + PAGES);
        Self(f)
    }
    fn alloc(&mut self, n: usize) -> Option<usize> {
        self.0.alloc(n).map(|f| f - BASE / PAGE)
    }
    fn take(&mut self, at: usize) -> bool {
        self.0.alloc_at(BASE / PAGE + at, 1).is_some()
    }
    fn free(&mut self, at: usize, n: usize) {
        self.0.dealloc(BASE / PAGE + at, n);
    }
}

/// Alloc+free pairs of `n`-page runs per second, on an empty map or one
/// whose first half has every other page taken.
pub(crate) fn page_pairs<P: Pages>(n: usize, fragmented: bool, pairs: usize) -> f64 {
    let mut p = P::new();
    if fragmented {
        for at in (0..PAGES / 2).step_by(2) {
            p.take(at);
        }
    }
    let start = Instant::now();
    for _ in 0..pairs {
        if let Some(at) = p.alloc(n) {
            p.free(black_box(at), n);
        }
    }
    pairs as f64 / start.elapsed().as_secs_f64()
}

/// An id allocator under test.
pub(crate) trait Ids {
    fn new() -> Self;
    fn alloc(&mut self) -> Option<usize>;
    fn free(&mut self, id: usize);
}

pub(crate) struct OurIds(Box<BitmapIdAllocator<BitAlloc64K>>);
pub(crate) struct RawIds(Box<BitAlloc64K>);

impl Ids for OurIds {
    fn new() -> Self {
        Self(Box::new(BitmapIdAllocator::with_range(0, PAGES).expect("a valid range")))
    }
    fn alloc(&mut self) -> Option<usize> {
        self.0.alloc_id(1, 1).ok()
    }
    fn free(&mut self, id: usize) {
        let _ = self.0.dealloc_id(id, 1);
    }
}

impl Ids for RawIds {
    fn new() -> Self {
        let mut b = Box::new(BitAlloc64K::DEFAULT);
        b.insert(0..PAGES);
        Self(b)
    }
    fn alloc(&mut self) -> Option<usize> {
        self.0.alloc()
    }
    fn free(&mut self, id: usize) {
        self.0.dealloc(id);
    }
}

/// Alloc+free pairs of single ids per second with half the range taken.
pub(crate) fn id_pairs<I: Ids>(pairs: usize) -> f64 {
    let mut ids = I::new();
    for _ in 0..PAGES / 2 {
        ids.alloc();
    }
    let start = Instant::now();
    for _ in 0..pairs {
        if let Some(id) = ids.alloc() {
            ids.free(black_box(id));
        }
    }
    pairs as f64 / start.elapsed().as_secs_f64()
}
