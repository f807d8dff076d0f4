//! The checks can fail: each deliberately broken allocator is caught, and
//! by the check meant for it.

use core::{alloc::Layout, ptr::NonNull};

use allocator_core::{
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, IdAllocator, Owns, PageAllocator,
};
use allocator_testkit::{byte, id, page, ByteConfig, FirstFit, IdConfig, PageConfig, Violation};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Flaw {
    /// Every third block is the previous one again.
    Overlapping,
    /// Blocks with an alignment above 1 start one byte late.
    Misaligned,
    /// `used_bytes` reports half the truth.
    LiesAboutUsed,
    /// Each allocation writes a byte just before its block.
    CorruptsNeighbour,
    /// Frees are ignored.
    Leaks,
    /// Zero-size requests succeed.
    ZeroSize,
    /// `owns` forgets every region but the first.
    OwnsFirstRegionOnly,
    /// `resize_in_place` answers `Ok` for a grow it did not make.
    InPlaceGrowsNothing,
    /// `usable_size` claims 64 bytes more than the block has.
    UsableTooLarge,
    /// `largest_free` reports the whole heap, even when it is in use.
    LargestFreeLies,
}

#[derive(Debug)]
struct Broken {
    inner: FirstFit<4096>,
    flaw: Flaw,
    count: usize,
    last: Option<NonNull<u8>>,
    /// The first region, as `(start, end)`.
    first: (usize, usize),
}

impl Broken {
    fn new(flaw: Flaw) -> Self {
        Self { inner: FirstFit::new(), flaw, count: 0, last: None, first: (0, 0) }
    }
}

impl BaseAllocator for Broken {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        self.first = (start.addr(), start.addr().saturating_add(size));
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.add_memory(start, size) }
    }
}

// SAFETY: not safe at all: each flaw breaks a promise on purpose, to show
// the testkit catches it. Used only on memory the testkit owns.
unsafe impl ByteAllocator for Broken {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.count += 1;
        match self.flaw {
            Flaw::ZeroSize if layout.size() == 0 => return Ok(NonNull::dangling()),
            Flaw::Overlapping if self.count.is_multiple_of(3) => {
                if let Some(last) = self.last {
                    return Ok(last);
                }
            }
            Flaw::Misaligned if layout.align() > 1 => {
                let l = Layout::from_size_align(layout.size() + 1, layout.align()).unwrap();
                let p = self.inner.alloc(l)?;
                return Ok(NonNull::new(p.as_ptr().wrapping_add(1)).unwrap());
            }
            _ => {}
        }
        let p = self.inner.alloc(layout)?;
        if self.flaw == Flaw::CorruptsNeighbour && self.last.is_some() {
            // SAFETY: writes one byte before the block; in the tests the
            // region starts 64 bytes into memory the shadow owns.
            unsafe { p.as_ptr().wrapping_sub(1).write_volatile(0xEE) };
        }
        self.last = Some(p);
        Ok(p)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        if self.last == Some(ptr) {
            self.last = None;
        }
        if self.flaw != Flaw::Leaks {
            // SAFETY: forwarded from the caller.
            unsafe { self.inner.dealloc(ptr, layout) }
        }
    }

    fn figures(&self) -> Figures {
        let f = self.inner.figures();
        match self.flaw {
            Flaw::LiesAboutUsed => Figures::new(f.total, f.used / 2),
            _ => f,
        }
    }

    fn available_bytes(&self) -> usize {
        // Computed from the truth, so the lie shows as a sum that is off.
        let f = self.inner.figures();
        f.total - f.used
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        if self.flaw == Flaw::InPlaceGrowsNothing && new_size > layout.size() {
            return Ok(());
        }
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.resize_in_place(ptr, layout, new_size) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        let n = unsafe { self.inner.usable_size(ptr, layout) };
        if self.flaw == Flaw::UsableTooLarge {
            n + 64
        } else {
            n
        }
    }

    fn largest_free(&self) -> Option<usize> {
        (self.flaw == Flaw::LargestFreeLies).then(|| self.inner.total_bytes())
    }
}

// SAFETY: as above: deliberately broken for one flaw.
unsafe impl Owns for Broken {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        let addr = ptr.as_ptr().addr();
        match self.flaw {
            Flaw::OwnsFirstRegionOnly => self.first.0 <= addr && addr + layout.size() <= self.first.1,
            _ => self.inner.owns(ptr, layout),
        }
    }
}

/// The subject with its `owns` checked, as the suite macros make it.
fn subject(flaw: Flaw) -> byte::Subject<Broken> {
    byte::Subject { alloc: Broken::new(flaw), owns: Some(|a, p, l| a.owns(p, l)) }
}

fn config() -> ByteConfig {
    ByteConfig::new(64 * 1024).offset(64)
}

fn caught(flaw: Flaw) -> Violation {
    let c = config();
    let mut found = None;
    for r in [
        byte::fill_and_recover(subject(flaw), &c),
        byte::resize(subject(flaw), &c),
        byte::bad_input(|| Broken::new(flaw), &c),
        byte::fill_and_recover(subject(flaw), &c.clone().adjacent()),
    ] {
        if let Err(v) = r {
            found = Some(v);
            break;
        }
    }
    found.unwrap_or_else(|| panic!("{flaw:?} was not caught"))
}

#[test]
fn the_reference_heap_is_clean() {
    let c = config();
    allocator_testkit::expect(byte::fill_and_recover(FirstFit::<4096>::new(), &c));
    allocator_testkit::expect(byte::bad_input(FirstFit::<4096>::new, &c));
}

#[test]
fn overlapping_blocks_are_caught() {
    let v = caught(Flaw::Overlapping);
    assert!(matches!(v, Violation::Overlap { .. }), "{v:?}");
}

#[test]
fn misaligned_blocks_are_caught() {
    assert!(matches!(caught(Flaw::Misaligned), Violation::Misaligned { .. }));
}

#[test]
fn lies_about_used_bytes_are_caught() {
    assert!(matches!(caught(Flaw::LiesAboutUsed), Violation::Accounting(_)));
}

#[test]
fn a_corrupted_neighbour_is_caught() {
    assert!(matches!(caught(Flaw::CorruptsNeighbour), Violation::Corrupted { .. }));
}

#[test]
fn leaks_are_caught() {
    assert!(matches!(caught(Flaw::Leaks), Violation::Accounting(_) | Violation::NotRecovered(_)));
}

#[test]
fn zero_size_blocks_are_caught() {
    assert!(matches!(caught(Flaw::ZeroSize), Violation::Policy(_)));
}

#[test]
fn ownership_lost_across_adjacent_regions_is_caught() {
    let v = caught(Flaw::OwnsFirstRegionOnly);
    assert!(matches!(&v, Violation::Policy(m) if m.contains("owns")), "{v:?}");
}

#[test]
fn an_in_place_resize_that_lies_is_caught() {
    // The grown block overlaps its neighbour, or its new bytes were never
    // the block's: the overlap or the neighbour's pattern shows it.
    let c = config();
    let ops: Vec<byte::ByteOp> = vec![
        byte::ByteOp::Alloc { size: 32, align_log2: 3 },
        byte::ByteOp::Alloc { size: 32, align_log2: 3 },
        byte::ByteOp::Resize { index: 0, new_size: 4096, align_log2: 3, how: byte::Resize::InPlace },
    ];
    let r = byte::run_byte_ops(subject(Flaw::InPlaceGrowsNothing), &c, &ops);
    assert!(matches!(r, Err(Violation::Overlap { .. } | Violation::Corrupted { .. })), "{r:?}");
}

#[test]
fn an_overstated_usable_size_is_caught() {
    let v = caught(Flaw::UsableTooLarge);
    assert!(
        matches!(v, Violation::Overlap { .. } | Violation::Corrupted { .. } | Violation::OutOfBounds { .. }),
        "{v:?}"
    );
}

#[test]
fn a_lying_largest_free_is_caught() {
    let v = caught(Flaw::LargestFreeLies);
    assert!(matches!(&v, Violation::Policy(m) if m.contains("largest_free")), "{v:?}");
}

#[test]
fn random_sequences_find_overlap() {
    let c = config();
    let ops: Vec<byte::ByteOp> =
        (0..6).map(|i| byte::ByteOp::Alloc { size: 16 + i, align_log2: 0 }).collect();
    let r = byte::run_byte_ops(Broken::new(Flaw::Overlapping), &c, &ops);
    assert!(matches!(r, Err(Violation::Overlap { .. })), "{r:?}");
}

/// A plain page map (one flag a page) with an optional flaw.
#[derive(Debug)]
struct Pages {
    base: usize,
    used: Vec<bool>,
    /// Hands out page 0 every time.
    flaw_reuse: bool,
    /// Accepts frees of pages never allocated.
    flaw_lax_free: bool,
}

impl Pages {
    fn new() -> Self {
        Self { base: 0, used: Vec::new(), flaw_reuse: false, flaw_lax_free: false }
    }

    fn run_free(&self, first: usize, n: usize) -> bool {
        self.used.get(first..first + n).is_some_and(|r| r.iter().all(|u| !u))
    }

    fn take(&mut self, first: usize, n: usize) -> usize {
        self.used[first..first + n].iter_mut().for_each(|u| *u = true);
        self.base + first * 4096
    }
}

impl BaseAllocator for Pages {
    type Addr = usize;

    unsafe fn init(&mut self, start: usize, size: usize) -> AllocResult {
        let end = allocator_core::helpers::region_end(start, size)?;
        if !self.used.is_empty() {
            return Err(AllocError::AlreadyInitialized);
        }
        if !start.is_multiple_of(4096) || size < 4096 {
            return Err(AllocError::InvalidParam);
        }
        let _ = end;
        self.base = start;
        self.used = vec![false; size / 4096];
        Ok(())
    }

    unsafe fn add_memory(&mut self, _start: usize, _size: usize) -> AllocResult {
        Err(AllocError::InvalidParam)
    }
}

// SAFETY: a correct page map, unless a flaw is switched on (for the tests
// that show the testkit catches it); it touches no memory.
unsafe impl PageAllocator for Pages {
    const PAGE_SIZE: usize = 4096;

    fn alloc_pages(&mut self, num: usize, align: usize) -> AllocResult<usize> {
        if num == 0 || !align.is_power_of_two() {
            return Err(AllocError::InvalidParam);
        }
        if self.flaw_reuse && num <= self.used.len() {
            return Ok(self.take(0, num));
        }
        let step = (align / 4096).max(1);
        let mut first = (self.base.div_ceil(align) * align - self.base) / 4096;
        while first.checked_add(num).is_some_and(|e| e <= self.used.len()) {
            if self.run_free(first, num) {
                return Ok(self.take(first, num));
            }
            first += step;
        }
        Err(AllocError::NoMemory)
    }

    fn alloc_pages_at(&mut self, base: usize, num: usize, align: usize) -> AllocResult<usize> {
        if num == 0 || !align.is_power_of_two() || !base.is_multiple_of(align.max(4096)) || base < self.base {
            return Err(AllocError::InvalidParam);
        }
        let first = (base - self.base) / 4096;
        if first.checked_add(num).is_none_or(|e| e > self.used.len()) {
            return Err(AllocError::InvalidParam);
        }
        if !self.run_free(first, num) {
            return Err(AllocError::MemoryOverlap);
        }
        Ok(self.take(first, num))
    }

    unsafe fn dealloc_pages(&mut self, pos: usize, num: usize) -> AllocResult {
        if num == 0 || !pos.is_multiple_of(4096) || pos < self.base {
            return Err(AllocError::InvalidParam);
        }
        let first = (pos - self.base) / 4096;
        let Some(run) = first.checked_add(num).and_then(|e| self.used.get_mut(first..e)) else {
            return Err(AllocError::InvalidParam);
        };
        if !self.flaw_lax_free && !run.iter().all(|u| *u) {
            return Err(AllocError::NotAllocated);
        }
        run.iter_mut().for_each(|u| *u = false);
        Ok(())
    }

    fn total_pages(&self) -> usize {
        self.used.len()
    }

    fn used_pages(&self) -> usize {
        self.used.iter().filter(|u| **u).count()
    }

    fn available_pages(&self) -> usize {
        self.total_pages() - self.used_pages()
    }
}

allocator_testkit::page_allocator_tests!(
    reference_pages,
    Pages::new(),
    PageConfig::new(0x8000_0000, 4 << 20).cases(24)
);
allocator_testkit::page_allocator_tests!(
    reference_one_page,
    Pages::new(),
    PageConfig::new(0x1000, 4096).cases(16)
);

#[test]
fn pages_handed_out_twice_are_caught() {
    let mut p = Pages::new();
    p.flaw_reuse = true;
    let mut s = page::PageShadow::new(p, &PageConfig::new(0x1000, 1 << 20)).unwrap();
    assert!(s.alloc_pages(2, 4096).unwrap().is_ok());
    let r = s.alloc_pages(1, 4096);
    assert!(matches!(r, Err(Violation::Overlap { .. })), "{r:?}");
}

#[test]
fn frees_of_free_pages_accepted_are_caught() {
    let r = page::page_bad_input(
        || {
            let mut p = Pages::new();
            p.flaw_lax_free = true;
            p
        },
        &PageConfig::new(0x1000, 1 << 20),
    );
    assert!(matches!(r, Err(Violation::Policy(_) | Violation::Accounting(_))), "{r:?}");
}

/// A plain id map.
#[derive(Debug)]
struct Ids {
    start: usize,
    used: Vec<bool>,
    /// `is_allocated` always says no.
    flaw_forgetful: bool,
}

impl IdAllocator for Ids {
    fn alloc_id(&mut self, count: usize, align: usize) -> AllocResult<usize> {
        if count == 0 || !align.is_power_of_two() {
            return Err(AllocError::InvalidParam);
        }
        let mut id = self.start.div_ceil(align).saturating_mul(align);
        while let Some(end) = id.checked_add(count).filter(|&e| e <= self.start + self.used.len()) {
            let run = &mut self.used[id - self.start..end - self.start];
            if run.iter().all(|u| !u) {
                run.iter_mut().for_each(|u| *u = true);
                return Ok(id);
            }
            id = id.checked_add(align).ok_or(AllocError::NoMemory)?;
        }
        Err(AllocError::NoMemory)
    }

    fn alloc_fixed_id(&mut self, id: usize) -> AllocResult {
        let slot =
            id.checked_sub(self.start).and_then(|i| self.used.get_mut(i)).ok_or(AllocError::InvalidParam)?;
        if *slot {
            return Err(AllocError::MemoryOverlap);
        }
        *slot = true;
        Ok(())
    }

    fn dealloc_id(&mut self, start: usize, count: usize) -> AllocResult {
        let first = start.checked_sub(self.start).ok_or(AllocError::InvalidParam)?;
        let run = first
            .checked_add(count)
            .filter(|_| count > 0)
            .and_then(|e| self.used.get_mut(first..e))
            .ok_or(AllocError::InvalidParam)?;
        if !run.iter().all(|u| *u) {
            return Err(AllocError::NotAllocated);
        }
        run.iter_mut().for_each(|u| *u = false);
        Ok(())
    }

    fn is_allocated(&self, id: usize) -> bool {
        !self.flaw_forgetful && id.checked_sub(self.start).and_then(|i| self.used.get(i)).is_some_and(|u| *u)
    }

    fn size(&self) -> usize {
        self.used.len()
    }

    fn used(&self) -> usize {
        self.used.iter().filter(|u| **u).count()
    }

    fn available(&self) -> usize {
        self.size() - self.used()
    }
}

fn ids(start: usize, n: usize) -> Ids {
    Ids { start, used: vec![false; n], flaw_forgetful: false }
}

allocator_testkit::id_allocator_tests!(reference_ids, ids(100, 1000), IdConfig::new(100, 1000));
allocator_testkit::id_allocator_tests!(reference_one_id, ids(0, 1), IdConfig::new(0, 1));

#[test]
fn a_forgetful_is_allocated_is_caught() {
    let mut a = ids(0, 64);
    a.flaw_forgetful = true;
    let r = id::id_conformance(a, &IdConfig::new(0, 64));
    assert!(matches!(r, Err(Violation::Accounting(_))), "{r:?}");
}
