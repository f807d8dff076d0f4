//! The fixed scenarios of the byte-allocator suite.

use std::alloc::Layout;

use allocator_core::{AllocError, BaseAllocator, ByteAllocator};

use super::{ByteConfig, ByteShadow, OwnsFn, Resize};
use crate::{memory::TestAddress, violation::ensure, Violation, XorShift};

/// An allocator under test, and how to ask it about ownership when it
/// implements [`Owns`](allocator_core::Owns) (the suite macros find out).
#[derive(Debug)]
pub struct Subject<A: ByteAllocator> {
    /// The allocator.
    pub alloc: A,
    /// Its `owns`, checked after every operation when set.
    pub owns: Option<OwnsFn<A>>,
}

/// What the suites accept as an allocator under test: the allocator
/// itself, or a [`Subject`] that also checks ownership.
pub trait IntoSubject {
    /// The allocator.
    type Alloc: ByteAllocator;

    /// The subject.
    fn into_subject(self) -> Subject<Self::Alloc>;
}

impl<A: ByteAllocator> IntoSubject for A {
    type Alloc = A;

    fn into_subject(self) -> Subject<A> {
        Subject { alloc: self, owns: None }
    }
}

impl<A: ByteAllocator> IntoSubject for Subject<A> {
    type Alloc = A;

    fn into_subject(self) -> Subject<A> {
        self
    }
}

impl<A: ByteAllocator> Subject<A>
where
    A::Addr: TestAddress,
{
    /// A shadow over the subject.
    fn shadow(self, config: &ByteConfig) -> Result<ByteShadow<A>, Violation> {
        ByteShadow::with_owns(self.alloc, config, self.owns)
    }
}

fn layout(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).expect("suite layouts are valid")
}

/// Fills the heap with mixed sizes until it refuses, frees every other
/// block, refills, frees everything in random order, and checks that the
/// largest block that fitted at the start fits again.
///
/// # Errors
/// The first violation.
pub fn fill_and_recover<S: IntoSubject>(alloc: S, config: &ByteConfig) -> Result<(), Violation>
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    let mut s = alloc.into_subject().shadow(config)?;
    let largest = s.largest_alloc()?;
    ensure(largest > 0, || Violation::Policy("cannot allocate even one byte".into()))?;
    let mut rng = XorShift::new(0xA110C);
    for round in 0..3u64 {
        let mut failures = 0;
        while failures < 8 && s.live_count() < 3000 {
            let size = match rng.range(0, 9) {
                0..=5 => rng.range(1, 128),
                6..=8 => rng.range(129, 2048),
                _ => rng.range(2049, (largest / 8).max(2050)),
            };
            let align = 1 << rng.range(0, 6);
            if s.alloc(layout(size, align))?.is_err() {
                failures += 1;
            }
        }
        ensure(s.live_count() > 0, || Violation::Policy("nothing could be allocated".into()))?;
        let n = s.live_count();
        for i in (0..n / 2).rev() {
            if let Some(a) = s.nth_live(i * 2) {
                s.dealloc(a)?;
            }
        }
        s.check_all()?;
        s.free_all(Some(round))?;
    }
    let again = s.alloc(layout(largest, 8))?;
    ensure(again.is_ok() || !config.recovers_largest, || {
        Violation::NotRecovered(format!(
            "{largest} bytes fitted at the start but not after freeing everything"
        ))
    })?;
    s.free_all(None)
}

/// Grows, shrinks and reallocs blocks through every size class, checking
/// contents survive and the policy errors (grow to smaller, shrink to
/// larger, resize to zero).
///
/// # Errors
/// The first violation.
pub fn resize<S: IntoSubject>(alloc: S, config: &ByteConfig) -> Result<(), Violation>
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    let mut s = alloc.into_subject().shadow(config)?;
    let cap = config.first_size() / 8;
    let neighbour = s.alloc(layout(24, 8))?.ok();
    let mut size = 8;
    let Ok(mut addr) = s.alloc(layout(size, 8))? else {
        return Err(Violation::Policy("cannot allocate 8 bytes in a fresh heap".into()));
    };
    let _after = s.alloc(layout(40, 8))?;
    while size * 2 <= cap {
        let how = if size % 3 == 0 { Resize::Realloc } else { Resize::Grow };
        match s.resize(addr, layout(size * 2, 8), how)? {
            Ok(a) => {
                addr = a;
                size *= 2;
            }
            Err(_) => break,
        }
    }
    // A shrink to more than any block's usable size.
    let beyond = isize::MAX as usize - 64;
    for bad in [
        (layout(size / 2, 8), Resize::Grow),
        (layout(beyond, 8), Resize::Shrink),
        (layout(0, 8), Resize::Shrink),
        (layout(0, 8), Resize::Realloc),
    ] {
        ensure(s.resize(addr, bad.0, bad.1)? == Err(AllocError::InvalidParam), || {
            Violation::Policy(format!("{:?} to {:?} must fail with InvalidParam", bad.1, bad.0))
        })?;
    }
    while size > 1 {
        let how = if size % 5 == 0 { Resize::Realloc } else { Resize::Shrink };
        match s.resize(addr, layout(size / 2, 8), how)? {
            Ok(a) => {
                addr = a;
                size /= 2;
            }
            Err(e) => return Err(Violation::Policy(format!("shrinking {size} bytes failed: {e:?}"))),
        }
    }
    // A resize that raises the alignment.
    if let Ok(a) = s.resize(addr, layout(64, 64), Resize::Grow)? {
        addr = a;
    }
    let _ = addr;
    if let Some(n) = neighbour {
        s.dealloc(n)?;
    }
    s.free_all(None)
}

/// Gives the allocator every further region in turn, fills each time, and
/// checks the blocks can come from any region.
///
/// # Errors
/// The first violation.
pub fn add_memory<S: IntoSubject>(alloc: S, config: &ByteConfig) -> Result<(), Violation>
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    let mut s = alloc.into_subject().shadow(config)?;
    let mut rng = XorShift::new(7);
    loop {
        let mut failures = 0;
        while failures < 4 {
            if s.alloc(layout(rng.range(1, 512), 8))?.is_err() {
                failures += 1;
            }
        }
        match s.add_next_region()? {
            None => break,
            Some(Ok(())) => {}
            Some(Err(e)) => {
                return Err(Violation::Policy(format!("add_memory of a fresh region failed: {e:?}")))
            }
        }
    }
    s.free_all(Some(3))
}

/// Sizes and alignments at the edges: one byte, the whole region, more
/// than the region, the largest `Layout`, alignments up to and past the
/// region's size.
///
/// # Errors
/// The first violation.
pub fn edges<S: IntoSubject>(alloc: S, config: &ByteConfig) -> Result<(), Violation>
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    let mut s = alloc.into_subject().shadow(config)?;
    let region = config.initial_size();
    let huge = isize::MAX as usize - (1 << 20);
    for (size, align) in [
        (1, 1),
        (region, 1),
        (region + 1, 1),
        (huge, 1),
        (1, region.next_power_of_two()),
        (1, region.next_power_of_two() * 2),
    ] {
        if let Ok(a) = s.alloc(layout(size, align))? {
            s.dealloc(a)?;
        }
    }
    for (size, align) in [(region + 1, 8), (huge, 8), (1, 1usize << (usize::BITS - 2))] {
        let r = s.alloc(layout(size, align))?;
        ensure(r.is_err(), || Violation::Policy(format!("{size} bytes aligned to {align} cannot fit")))?;
    }
    let ones: Vec<usize> = (0..64).filter_map(|_| s.alloc(layout(1, 1)).ok()?.ok()).collect();
    ensure(ones.len() == 64, || Violation::Policy("could not allocate 64 one-byte blocks".into()))?;
    s.free_all(Some(11))
}

/// Hostile calls: each must give its documented error, change nothing,
/// and leave the allocator fully usable.
///
/// # Errors
/// The first violation.
pub fn bad_input<A: ByteAllocator>(new: impl Fn() -> A, config: &ByteConfig) -> Result<(), Violation>
where
    A::Addr: TestAddress,
{
    // Malformed first regions, each on a fresh allocator, which must then
    // accept the real region.
    for (start, size) in
        [(0x1000usize, 0usize), (usize::MAX - 10, 100), (usize::MAX, 1), (usize::MAX - 4095, 4096)]
    {
        let mut a = new();
        // SAFETY: the region is malformed (empty or wrapping), so a correct
        // allocator refuses it without touching memory.
        let r = unsafe { a.init(A::Addr::from_region(std::ptr::without_provenance_mut(start)), size) };
        ensure(r == Err(AllocError::InvalidParam), || {
            Violation::Policy(format!("init({start:#x}, {size}) gave {r:?}, not InvalidParam"))
        })?;
        ensure(a.total_bytes() == 0 && a.used_bytes() == 0, || {
            Violation::Accounting("a refused init left figures behind".into())
        })?;
        let mut s = ByteShadow::new(a, config)?;
        let block = s.alloc(layout(16, 8))?;
        ensure(block.is_ok(), || Violation::Policy("unusable after a refused init".into()))?;
        s.free_all(None)?;
    }

    let mut s = ByteShadow::new(new(), config)?;
    let keep =
        s.alloc(layout(48, 16))?.map_err(|e| Violation::Policy(format!("first alloc failed: {e:?}")))?;
    let (start, size) = (s.regions()[0].start(), s.regions()[0].size());
    let first = s.regions()[0].addr();
    let given = config.initial_size();

    // init on an allocator that has memory.
    // SAFETY: the region is already this allocator's; a correct allocator
    // refuses a second init without touching memory.
    let r = unsafe { s.allocator().init(first, size) };
    ensure(r == Err(AllocError::AlreadyInitialized), || {
        Violation::Policy(format!("a second init gave {r:?}, not AlreadyInitialized"))
    })?;

    // Overlapping and malformed regions.
    for (st, sz, want) in [
        (start, size, AllocError::MemoryOverlap),
        (start + size / 2, size, AllocError::MemoryOverlap),
        (start.saturating_sub(64), 128, AllocError::MemoryOverlap),
        (start + 64, 64, AllocError::MemoryOverlap),
        (start + size, 0, AllocError::InvalidParam),
        (usize::MAX - 100, 1000, AllocError::InvalidParam),
    ] {
        // SAFETY: each range is malformed or overlaps memory already
        // given, so a correct allocator refuses it without touching memory.
        let r = unsafe { s.add_memory_raw(st, sz)? };
        ensure(r == Err(want), || {
            Violation::Policy(format!("add_memory({st:#x}, {sz}) gave {r:?}, not {want:?}"))
        })?;
    }

    // Requests that cannot be met.
    for (sz, al, want) in [
        (0usize, 1usize, Some(AllocError::InvalidParam)),
        (0, 4096, Some(AllocError::InvalidParam)),
        (isize::MAX as usize - (1 << 20), 1, None),
        (given + 1, 1, None),
        (8, 1usize << (usize::BITS - 2), None),
    ] {
        let r = s.alloc(layout(sz, al))?;
        let ok = match want {
            Some(w) => r == Err(w),
            None => r.is_err(),
        };
        ensure(ok, || Violation::Policy(format!("alloc({sz}, align {al}) gave {r:?}")))?;
    }

    // Resizes that are malformed.
    for (new_layout, how) in [
        (layout(8, 16), Resize::Grow),
        (layout(isize::MAX as usize - 64, 16), Resize::Shrink),
        (layout(0, 16), Resize::Shrink),
        (layout(0, 16), Resize::Realloc),
    ] {
        let r = s.resize(keep, new_layout, how)?;
        ensure(r == Err(AllocError::InvalidParam), || {
            Violation::Policy(format!("{how:?} to {new_layout:?} gave {r:?}, not InvalidParam"))
        })?;
    }

    // Still fully usable.
    let big = s.largest_alloc()?;
    ensure(big > 0, || Violation::Policy("unusable after bad input".into()))?;
    s.free_all(None)
}

/// The suite's memory as regions that touch (see
/// [`ByteConfig::adjacent`]): the heap may merge them, and must still own,
/// keep apart and free every block, also one placed across the boundary.
/// An allocator that takes a single region (it refuses the second with
/// `TableFull`) has nothing to merge and passes.
///
/// # Errors
/// The first violation.
///
/// # Panics
/// With the minimal failing sequence, as [`check_byte_ops`](super::check_byte_ops).
pub fn adjacent_regions<S: IntoSubject>(new: impl Fn() -> S, config: &ByteConfig) -> Result<(), Violation>
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    let adjacent = config.clone().adjacent().cases(config.cases.div_ceil(4));
    let probe =
        crate::TestRegion::adjacent(&adjacent.regions[..2], adjacent.base_align, adjacent.start_offset);
    let mut a = new().into_subject().alloc;
    // SAFETY: memory we own, given to this allocator only, dropped after it.
    let first = unsafe { a.init(probe[0].addr(), probe[0].size()) };
    // SAFETY: as above.
    let second = unsafe { a.add_memory(probe[1].addr(), probe[1].size()) };
    drop(a);
    ensure(first.is_ok(), || Violation::Policy(format!("init of the first adjacent region gave {first:?}")))?;
    if second == Err(AllocError::TableFull) {
        return Ok(());
    }
    fill_and_recover(new(), &adjacent)?;
    super::check_byte_ops(new, &adjacent);
    Ok(())
}

/// For heaps that merge free buddies (buddy, slab): two adjacent regions of
/// `half` bytes, each one free block; both halves are taken and freed, so
/// the heap merges them into one block across the seam. That block must be
/// served, owned (`owns` looked at one region at a time and said "not
/// mine", and a `Fallback` freed the block into its other part), wholly
/// writable, and freed where it came from.
///
/// # Errors
/// The first violation.
pub fn owns_a_block_merged_across_the_seam<A>(mut heap: A, half: usize) -> Result<(), Violation>
where
    A: ByteAllocator + allocator_core::Owns + BaseAllocator<Addr = *mut u8>,
{
    let halves = crate::TestRegion::adjacent(&[half, half], 2 * half, 0);
    for r in &halves {
        // SAFETY: the regions are ours and outlive the heap (dropped below,
        // before them).
        let res = unsafe { heap.add_memory(r.ptr(), r.size()) };
        ensure(res.is_ok(), || Violation::Policy(format!("add_memory of a {half}-byte half gave {res:?}")))?;
    }
    let whole = layout(2 * half, 8);
    let halfl = layout(half, 8);
    let taken = (heap.alloc(halfl), heap.alloc(halfl));
    let (Ok(a), Ok(b)) = taken else {
        return Err(Violation::Policy(format!("each half should be one free block: {taken:?}")));
    };
    // SAFETY: live for `halfl`.
    unsafe {
        heap.dealloc(a, halfl);
        heap.dealloc(b, halfl);
    }
    let p = heap.alloc(whole).map_err(|e| Violation::Policy(format!("the merged block: {e:?}")))?;
    ensure(p.addr().get() == halves[0].start(), || {
        Violation::Policy("the block does not span the seam".into())
    })?;
    ensure(heap.owns(p, whole), || {
        Violation::Policy("owns() is false for a live block across adjacent regions".into())
    })?;
    // SAFETY: live for `whole`: every byte is the heap's.
    unsafe {
        p.as_ptr().write_bytes(1, 2 * half);
        heap.dealloc(p, whole);
    }
    ensure(heap.used_bytes() == 0, || Violation::NotRecovered("the merged block was not freed".into()))?;
    // Freed where it came from: it can be taken again.
    let q = heap.alloc(whole).map_err(|e| Violation::NotRecovered(format!("again: {e:?}")))?;
    // SAFETY: live for `whole`.
    unsafe { heap.dealloc(q, whole) };
    drop(heap);
    Ok(())
}
