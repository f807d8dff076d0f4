//! Every heap under test behind one small interface.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    ptr::NonNull,
};

use allocator::{
    bitmap::BitmapPageAllocator,
    buddy::BuddyByteAllocator,
    compose::{Checked, Pool, Refill, Segregator, Stats},
    policy::Counted,
    BaseAllocator, ByteAllocator, Figures, Health, SlabByteAllocator, TlsfByteAllocator,
};

/// A byte heap under test.
pub(crate) trait Heap {
    /// A heap over `[start, start + size)` (ignored by the system allocators).
    ///
    /// # Safety
    /// `start` is valid for reads and writes of `size` bytes (its provenance
    /// covers them), and the memory is the heap's alone until it is dropped.
    unsafe fn over(start: *mut u8, size: usize) -> Self
    where
        Self: Sized;

    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>>;

    /// # Safety
    /// `ptr` is live here for `layout`.
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout);

    /// # Safety
    /// `ptr` is live here for `layout`.
    unsafe fn realloc(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> Option<NonNull<u8>>;

    /// `true` when `ptr` is a block of this heap (for routing frees).
    fn holds(&self, ptr: *mut u8) -> bool;

    /// The heap's health (`ByteAllocator::health` for ours; what a raw
    /// crate's or peer's API can tell); `None` when it can tell nothing.
    fn health(&self) -> Option<Health> {
        None
    }
}

/// Who a contender is: ours, the crate one of ours wraps, or a peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Ours,
    /// The external crate under one of ours (named by `wraps` of ours).
    Raw,
    Peer,
}

/// Allocate, copy, free: the realloc of heaps without their own.
///
/// # Safety
/// `ptr` is live in `h` for `layout`.
unsafe fn moved<H: Heap>(
    h: &mut H,
    ptr: NonNull<u8>,
    layout: Layout,
    new_size: usize,
) -> Option<NonNull<u8>> {
    let new = h.alloc(Layout::from_size_align(new_size, layout.align()).ok()?)?;
    // SAFETY: two live, distinct blocks of at least the copied length.
    unsafe {
        std::ptr::copy_nonoverlapping(ptr.as_ptr(), new.as_ptr(), layout.size().min(new_size));
        h.dealloc(ptr, layout);
    }
    Some(new)
}

/// One of our `ByteAllocator`s, with the region it was given.
pub(crate) struct Ours<A> {
    heap: A,
    start: usize,
    end: usize,
}

/// Gives a fresh byte heap its region (combinators route it: see `split`).
///
/// # Safety
/// As `BaseAllocator::init`.
unsafe fn whole<A: BaseAllocator<Addr = *mut u8>>(heap: &mut A, start: *mut u8, size: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { heap.init(start, size) }.expect("the bench arena is a valid region");
}

/// Gives a heap that takes its memory as page numbers (a `Refill`) its
/// region, by address with the provenance exposed, so that the heap may turn
/// its pages back into pointers.
///
/// # Safety
/// As `BaseAllocator::init`, for memory the program may read and write.
unsafe fn pages<A: BaseAllocator<Addr = usize>>(heap: &mut A, start: *mut u8, size: usize) {
    // SAFETY: forwarded from the caller.
    unsafe { heap.init(start.expose_provenance(), size) }.expect("the bench arena is a valid region");
}

/// The first 1/16 of the region to the small part, the rest to the large.
///
/// # Safety
/// As `BaseAllocator::init`.
unsafe fn split<A: BaseAllocator<Addr = *mut u8>>(heap: &mut A, start: *mut u8, size: usize) {
    let small = (size / 16) & !4095;
    // SAFETY: forwarded from the caller; the parts are disjoint, and
    // `start + small` stays inside the region.
    unsafe {
        heap.init(start, small).expect("the bench arena is a valid region");
        heap.add_memory(start.add(small), size - small).expect("the bench arena is a valid region");
    }
}

/// Live-table slots of the checked heap: room for the 32,500 live blocks
/// of `fill-shuffled-free` (and the 20,000 strings of `btree-50k`) at half
/// load; its default, 1,024, fails those workloads with `TableFull`. The
/// table is 32 bytes a slot (2 MiB), inside the heap value.
pub(crate) const CHECKED_LIVE: usize = 1 << 16;

macro_rules! ours {
    ($($name:ident = $ty:ty => $new:expr, $give:ident;)*) => {$(
        pub(crate) type $name = Ours<$ty>;

        impl Heap for Ours<$ty> {
            unsafe fn over(start: *mut u8, size: usize) -> Self {
                let mut heap: $ty = $new;
                // SAFETY: forwarded from the caller.
                unsafe { $give(&mut heap, start, size) };
                Ours { heap, start: start.addr(), end: start.addr() + size }
            }

            #[inline]
            fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
                self.heap.alloc(layout).ok()
            }

            #[inline]
            unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
                // SAFETY: forwarded from the caller.
                unsafe { self.heap.dealloc(ptr, layout) }
            }

            #[inline]
            unsafe fn realloc(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> Option<NonNull<u8>> {
                // SAFETY: forwarded from the caller.
                unsafe { self.heap.realloc(ptr, layout, new_size) }.ok()
            }

            fn holds(&self, ptr: *mut u8) -> bool {
                (self.start..self.end).contains(&ptr.addr())
            }

            fn health(&self) -> Option<Health> {
                Some(self.heap.health())
            }
        }
    )*};
}

ours! {
    OurTlsf = TlsfByteAllocator => TlsfByteAllocator::new(), whole;
    OurBuddy = BuddyByteAllocator<32> => BuddyByteAllocator::new(), whole;
    OurSlab = SlabByteAllocator => SlabByteAllocator::new(), whole;
    PoolTlsf = Segregator<256, Pool<256>, TlsfByteAllocator> => Segregator::new(Pool::new(), TlsfByteAllocator::new()), split;
    RefillTlsf = Refill<TlsfByteAllocator, BitmapPageAllocator<4096>> => {
        // SAFETY: the page allocator is given nothing but the region of
        // `over` (by `pages`): the bench arena, real memory from the system
        // allocator that the program may read and write, its address exposed
        // with its provenance, used by this heap alone until it is dropped.
        unsafe { Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()) }
    }, pages;
    CountedTlsf = Counted<TlsfByteAllocator> => Counted::new(TlsfByteAllocator::new(), Stats::new()), whole;
}

/// `Checked<TlsfByteAllocator>`, boxed: its 2 MiB live table would take
/// the stack of the frames that make and move heaps by value.
pub(crate) struct CheckedTlsf {
    heap: Box<Checked<TlsfByteAllocator, CHECKED_LIVE>>,
    start: usize,
    end: usize,
}

impl Heap for CheckedTlsf {
    unsafe fn over(start: *mut u8, size: usize) -> Self {
        // Made outside any routed scope: the box comes from the system.
        let mut heap = Box::write(Box::new_uninit(), Checked::new(TlsfByteAllocator::new()));
        // SAFETY: forwarded from the caller.
        unsafe { whole(&mut *heap, start, size) };
        CheckedTlsf { heap, start: start.addr(), end: start.addr() + size }
    }

    #[inline]
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.heap.alloc(layout).ok()
    }

    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> Option<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.realloc(ptr, layout, new_size) }.ok()
    }

    fn holds(&self, ptr: *mut u8) -> bool {
        (self.start..self.end).contains(&ptr.addr())
    }

    fn health(&self) -> Option<Health> {
        Some(self.heap.health())
    }
}

/// A raw crate or a peer over an arena: how to make it and call it.
macro_rules! arena_heap {
    ($name:ident($inner:ty) {
        over($s:ident, $n:ident) $over:block
        alloc($h:ident, $l:ident) $alloc:block
        dealloc($dh:ident, $p:ident, $dl:ident) $dealloc:block
        realloc($rh:ident, $rp:ident, $rl:ident, $rn:ident) $realloc:block
        $(health($hh:ident) $health:block)?
    }) => {
        pub(crate) struct $name {
            inner: $inner,
            start: usize,
            end: usize,
        }

        impl Heap for $name {
            unsafe fn over($s: *mut u8, $n: usize) -> Self {
                let inner = $over;
                $name { inner, start: $s.addr(), end: $s.addr() + $n }
            }

            #[inline]
            fn alloc(&mut self, $l: Layout) -> Option<NonNull<u8>> {
                let $h = &mut self.inner;
                $alloc
            }

            #[inline]
            unsafe fn dealloc(&mut self, $p: NonNull<u8>, $dl: Layout) {
                let $dh = &mut self.inner;
                $dealloc
            }

            #[inline]
            unsafe fn realloc(&mut self, $rp: NonNull<u8>, $rl: Layout, $rn: usize) -> Option<NonNull<u8>> {
                let $rh = self;
                $realloc
            }

            fn holds(&self, ptr: *mut u8) -> bool {
                (self.start..self.end).contains(&ptr.addr())
            }

            $(fn health(&self) -> Option<Health> {
                let $hh = &self.inner;
                $health
            })?
        }
    };
}

type RawTlsf = rlsf::Tlsf<'static, u32, u16, 28, 16>;

arena_heap!(Rlsf(RawTlsf) {
    over(start, size) {
        let mut t = RawTlsf::new();
        let block = std::ptr::slice_from_raw_parts_mut(start, size);
        // SAFETY: the arena is the heap's alone (caller's contract).
        unsafe { t.insert_free_block_ptr(NonNull::new(block).expect("non-null arena")) };
        t
    }
    alloc(h, l) { h.allocate(l) }
    dealloc(h, p, l) {
        // SAFETY: forwarded from the caller.
        unsafe { h.deallocate(p, l.align()) }
    }
    realloc(h, p, l, n) {
        // SAFETY: forwarded from the caller.
        unsafe { h.inner.reallocate(p, Layout::from_size_align(n, l.align()).ok()?) }
    }
});

arena_heap!(RawBuddy(buddy_system_allocator::Heap<32>) {
    over(start, size) {
        let mut b = buddy_system_allocator::Heap::<32>::new();
        // SAFETY: the arena is the heap's alone (caller's contract); the
        // crate takes it by address, so its provenance is exposed.
        unsafe { b.init(start.expose_provenance(), size) };
        b
    }
    alloc(h, l) { h.alloc(l).ok() }
    dealloc(h, p, l) {
        // SAFETY: forwarded from the caller.
        unsafe { h.dealloc(p, l) }
    }
    realloc(h, p, l, n) {
        // SAFETY: forwarded from the caller.
        unsafe { moved(h, p, l, n) }
    }
    health(h) {
        // Its counters: total and used (rounded to powers of two) bytes, and
        // the bytes requested; no largest free block.
        let mut health = Health::new(Figures::new(h.stats_total_bytes(), h.stats_alloc_actual()), None);
        health.requested = Some(h.stats_alloc_user());
        Some(health)
    }
});

arena_heap!(RawSlab(ax_slab_allocator::Heap) {
    over(start, size) {
        // SAFETY: the arena is page-aligned, a multiple of 32 KiB, the heap's
        // alone; the crate takes it by address, so its provenance is exposed.
        unsafe { ax_slab_allocator::Heap::new(start.expose_provenance(), size) }
    }
    alloc(h, l) { h.allocate(l).ok().and_then(|a| NonNull::new(a as *mut u8)) }
    dealloc(h, p, l) {
        // SAFETY: forwarded from the caller.
        unsafe { h.deallocate(p.as_ptr() as usize, l) }
    }
    realloc(h, p, l, n) {
        // SAFETY: forwarded from the caller.
        unsafe { moved(h, p, l, n) }
    }
});

type Talc = talc::base::Talc<talc::source::Manual, talc::base::binning::DefaultBinning>;

arena_heap!(TalcHeap(Talc) {
    over(start, size) {
        let mut t = Talc::new(talc::source::Manual);
        // SAFETY: the arena is the heap's alone (caller's contract).
        unsafe { t.claim(start, size) }.expect("talc claims the arena");
        t
    }
    alloc(h, l) {
        // SAFETY: a non-zero layout.
        unsafe { h.allocate(l) }
    }
    dealloc(h, p, l) {
        // SAFETY: forwarded from the caller.
        unsafe { h.deallocate(p.as_ptr(), l) }
    }
    realloc(h, p, l, n) {
        // SAFETY: forwarded from the caller.
        unsafe {
            if n <= l.size() {
                h.inner.shrink(p.as_ptr(), l, n);
                Some(p)
            } else if h.inner.try_realloc_in_place(p.as_ptr(), l, n) {
                Some(p)
            } else {
                moved(h, p, l, n)
            }
        }
    }
});

arena_heap!(Lla(linked_list_allocator::Heap) {
    over(start, size) {
        // SAFETY: the arena is the heap's alone (caller's contract).
        unsafe { linked_list_allocator::Heap::new(start, size) }
    }
    alloc(h, l) { h.allocate_first_fit(l).ok() }
    dealloc(h, p, l) {
        // SAFETY: forwarded from the caller.
        unsafe { h.deallocate(p, l) }
    }
    realloc(h, p, l, n) {
        // SAFETY: forwarded from the caller.
        unsafe { moved(h, p, l, n) }
    }
    health(h) {
        // Its size and used bytes; no largest free block.
        Some(Health::new(Figures::new(h.size(), h.used()), None))
    }
});

/// A process-wide allocator as a contender (no arena).
macro_rules! global_heap {
    ($name:ident, $alloc:expr, $holds:expr) => {
        pub(crate) struct $name;

        impl Heap for $name {
            unsafe fn over(_: *mut u8, _: usize) -> Self {
                $name
            }

            #[inline]
            fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
                // SAFETY: the workloads never ask for a zero size.
                NonNull::new(unsafe { $alloc.alloc(layout) })
            }

            #[inline]
            unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
                // SAFETY: forwarded from the caller.
                unsafe { $alloc.dealloc(ptr.as_ptr(), layout) }
            }

            #[inline]
            unsafe fn realloc(
                &mut self,
                ptr: NonNull<u8>,
                layout: Layout,
                new_size: usize,
            ) -> Option<NonNull<u8>> {
                // SAFETY: forwarded from the caller.
                NonNull::new(unsafe { $alloc.realloc(ptr.as_ptr(), layout, new_size) })
            }

            fn holds(&self, ptr: *mut u8) -> bool {
                $holds(ptr)
            }
        }
    };
}

global_heap!(SystemHeap, System, |_| true);
global_heap!(Mimalloc, mimalloc::MiMalloc, |p: *mut u8| {
    // SAFETY: a query about an address; nothing is dereferenced.
    unsafe { libmimalloc_sys::mi_is_in_heap_region(p.cast()) }
});
