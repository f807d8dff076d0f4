//! The slabs of [`SizeClasses`](super::SizeClasses): where each class's
//! blocks lie in a slab, the header at the slab's end, and the lists of
//! slabs with free blocks.

use core::{alloc::Layout, mem::size_of, ptr::NonNull};

use allocator_core::helpers::{class_size, CLASSES};

/// The smallest slab, in bytes: below it the header and the tail would
/// take more than a tenth of the slab.
pub(crate) const MIN_SLAB: usize = 1024;

/// The largest slab size limit accepted.
pub(crate) const MAX_SLAB: usize = 1 << 20;

/// The fewest blocks a slab holds: a class whose blocks do not fit this
/// many in the largest slab is served by the backing heap directly. With
/// at least 8 blocks, rounding the slab to whole blocks loses at most one
/// block's worth of it.
pub(crate) const MIN_BLOCKS: usize = 8;

/// The bytes at the end of each slab's alignment unit that are not asked
/// of the backing heap (four words: 32 bytes on 64-bit targets), so that a
/// heap that keeps a header of up to two words before each block (TLSF
/// does) can place the next slab right after this one.
pub(crate) const TAIL: usize = 4 * size_of::<usize>();

/// A slab's header: the last bytes of the slab, after its blocks, found
/// from any block by masking its address to the slab's alignment.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Slab {
    /// Blocks freed since the slab was (re)started, linked through their
    /// first word.
    free: Option<NonNull<u8>>,
    /// The neighbours in the class's list of slabs with a free block.
    prev: Option<NonNull<Slab>>,
    next: Option<NonNull<Slab>>,
    /// Blocks handed out at least once: the next fresh block follows them.
    carved: u32,
    /// Blocks handed out and not freed.
    live: u32,
}

/// Where the blocks of one class come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    /// The slab's size and alignment (a power of two); 0 for a class the
    /// backing heap serves directly.
    pub(crate) slab: usize,
    /// The header's offset from the slab's start, past the last block.
    pub(crate) header: usize,
    /// Blocks per slab.
    pub(crate) blocks: u32,
}

/// `SLAB` above which every slab class takes the same slab size.
pub(crate) const UNIFORM_ABOVE: usize = 4096;

impl Geometry {
    /// The geometry of every class for slabs of at most `max_slab` bytes:
    /// for each, the smallest slab from [`MIN_SLAB`] up that holds
    /// [`MIN_BLOCKS`] blocks and the header below the tail.
    ///
    /// # Panics
    /// At compile time (it is evaluated in a `const`) when `max_slab` is
    /// not a power of two from [`MIN_SLAB`] to [`MAX_SLAB`].
    pub(crate) const fn table(max_slab: usize) -> [Geometry; CLASSES] {
        assert!(
            max_slab.is_power_of_two() && max_slab >= MIN_SLAB && max_slab <= MAX_SLAB,
            "SizeClasses: SLAB must be a power of two from 1024 to 1 MiB"
        );
        let mut table = [Geometry { slab: 0, header: 0, blocks: 0 }; CLASSES];
        let mut class = 0;
        while class < CLASSES {
            let size = class_size(class);
            let mut slab = MIN_SLAB;
            while slab <= max_slab {
                let header = slab - TAIL - size_of::<Slab>();
                let blocks = header / size;
                if blocks >= MIN_BLOCKS {
                    // At most `MAX_SLAB / 16` blocks: fits in a `u32`.
                    table[class] = Geometry { slab, header, blocks: blocks as u32 };
                    break;
                }
                slab *= 2;
            }
            class += 1;
        }
        // Above 4 KiB, every slab takes the largest slab's size: slabs
        // aligned to their size then tile the heap with no gaps between
        // sizes (TLSF keeps an aligned block's padding inside it).
        if max_slab > UNIFORM_ABOVE {
            let mut largest = 0;
            let mut c = 0;
            while c < CLASSES {
                if table[c].slab > largest {
                    largest = table[c].slab;
                }
                c += 1;
            }
            let mut c = 0;
            while c < CLASSES {
                if table[c].is_slab() {
                    let header = largest - TAIL - size_of::<Slab>();
                    let blocks = header / class_size(c);
                    table[c] = Geometry { slab: largest, header, blocks: blocks as u32 };
                }
                c += 1;
            }
        }
        table
    }

    /// How many classes the table serves from slabs: always the smallest
    /// ones (a class that fits 8 blocks to a slab lets every smaller one).
    ///
    /// # Panics
    /// At compile time, should the slab classes not be the smallest ones.
    pub(crate) const fn slab_classes(table: &[Geometry; CLASSES]) -> usize {
        let mut count = 0;
        while count < CLASSES && table[count].is_slab() {
            count += 1;
        }
        let mut c = count;
        while c < CLASSES {
            assert!(!table[c].is_slab(), "SizeClasses: the slab classes are the smallest ones");
            c += 1;
        }
        assert!(count > 0, "SizeClasses: the smallest class is served from slabs");
        count
    }

    /// `true` for a class served from slabs.
    #[inline]
    pub(crate) const fn is_slab(&self) -> bool {
        self.slab != 0
    }

    /// The layout a slab is asked of the backing heap with: its size less
    /// the tail, aligned to its size.
    #[inline]
    pub(crate) const fn layout(&self) -> Layout {
        // SAFETY: `slab` is a power of two from `MIN_SLAB` to `MAX_SLAB`
        // (a slab class), so a valid alignment, and the size is below it.
        unsafe { Layout::from_size_align_unchecked(self.slab - TAIL, self.slab) }
    }

    /// The start of the slab that `addr` would lie in.
    #[inline]
    pub(crate) const fn base(&self, addr: usize) -> usize {
        addr & !(self.slab - 1)
    }

    /// The start of the slab whose header is `header`.
    ///
    /// # Safety
    /// `header` is the header of a live slab of this geometry.
    #[inline]
    pub(crate) unsafe fn start_of(&self, header: NonNull<Slab>) -> NonNull<u8> {
        // SAFETY: the header lies `self.header` bytes past the slab's start,
        // inside the same block of the backing heap.
        unsafe { header.cast::<u8>().sub(self.header) }
    }

    /// The header of the slab holding `block`, a block of this class's
    /// slabs: its address masked to the slab's alignment, plus the
    /// header's offset (the pointer keeps `block`'s provenance, which
    /// covers the whole slab).
    #[inline]
    pub(crate) fn header_of(&self, block: NonNull<u8>) -> NonNull<Slab> {
        let header = block.as_ptr().map_addr(|a| self.base(a) + self.header);
        // SAFETY: the offset is positive and the sum cannot wrap (the
        // masked address is at least `slab` below the top), so the address
        // is not 0.
        unsafe { NonNull::new_unchecked(header.cast()) }
    }
}

impl Slab {
    /// Starts a slab with no block handed out, at `start`.
    ///
    /// # Safety
    /// `start` is a slab of geometry `g`: a block of the backing heap for
    /// `g.layout()`, which nothing else uses.
    pub(crate) unsafe fn start(start: NonNull<u8>, g: &Geometry) -> NonNull<Slab> {
        // SAFETY: the header lies inside the slab, past its blocks and
        // before its end (see `Geometry::table`), word-aligned (the slab
        // is aligned to its size; the offset is a multiple of a word).
        unsafe {
            let header = start.add(g.header).cast::<Slab>();
            header.write(Slab { free: None, prev: None, next: None, carved: 0, live: 0 });
            header
        }
    }

    /// Hands out a free block of the slab: a freed one, else the next
    /// fresh one. Returns it and whether the slab is now full.
    ///
    /// # Safety
    /// `slab` is the header of a live slab of geometry `g` for blocks of
    /// `size` bytes, with a free block (`live < blocks`).
    #[inline]
    pub(crate) unsafe fn take(slab: NonNull<Slab>, g: &Geometry, size: usize) -> (NonNull<u8>, bool) {
        // SAFETY: the header is the slab's (caller); its free list holds
        // only free blocks of this slab, each holding a link; a fresh
        // block index below `blocks` lies inside the slab, before the
        // header.
        unsafe {
            let s = &mut *slab.as_ptr();
            let block = match s.free {
                Some(block) => {
                    s.free = block.cast::<Option<NonNull<u8>>>().read();
                    block
                }
                None => {
                    let offset = s.carved as usize * size;
                    s.carved += 1;
                    g.start_of(slab).add(offset)
                }
            };
            s.live += 1;
            (block, s.live == g.blocks)
        }
    }

    /// Takes a block back. Returns the slab's live blocks before.
    ///
    /// # Safety
    /// `slab` is the header of the live slab holding `block`, a live block
    /// handed out by [`take`](Self::take).
    #[inline]
    pub(crate) unsafe fn give(slab: NonNull<Slab>, block: NonNull<u8>) -> u32 {
        // SAFETY: the block is the slab's and no longer used (caller): at
        // least 16 bytes, aligned to 16, room for a link.
        unsafe {
            let s = &mut *slab.as_ptr();
            block.cast::<Option<NonNull<u8>>>().write(s.free);
            s.free = Some(block);
            let before = s.live;
            s.live = before.wrapping_sub(1);
            before
        }
    }
}

/// The slabs of one class with a free block, doubly linked through their
/// headers so that any of them leaves the list in O(1).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Partial {
    head: Option<NonNull<Slab>>,
}

impl Partial {
    /// An empty list.
    pub(crate) const fn new() -> Self {
        Self { head: None }
    }

    /// The first slab.
    #[inline]
    pub(crate) const fn head(&self) -> Option<NonNull<Slab>> {
        self.head
    }

    /// Puts a slab first.
    ///
    /// # Safety
    /// `slab` is the header of a live slab, in no list.
    #[inline]
    pub(crate) unsafe fn push(&mut self, slab: NonNull<Slab>) {
        // SAFETY: `slab` and the current head are live slab headers.
        unsafe {
            (*slab.as_ptr()).prev = None;
            (*slab.as_ptr()).next = self.head;
            if let Some(head) = self.head {
                (*head.as_ptr()).prev = Some(slab);
            }
        }
        self.head = Some(slab);
    }

    /// Takes a slab out of the list.
    ///
    /// # Safety
    /// `slab` is the header of a live slab in this list.
    #[inline]
    pub(crate) unsafe fn remove(&mut self, slab: NonNull<Slab>) {
        // SAFETY: `slab` and its neighbours are live slab headers of this
        // list.
        unsafe {
            let (prev, next) = ((*slab.as_ptr()).prev, (*slab.as_ptr()).next);
            match prev {
                Some(p) => (*p.as_ptr()).next = next,
                None => self.head = next,
            }
            if let Some(n) = next {
                (*n.as_ptr()).prev = prev;
            }
        }
    }
}
