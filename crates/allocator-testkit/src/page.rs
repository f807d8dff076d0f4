//! The page-allocator suite.

use allocator_core::{AllocError, AllocResult, PageAllocator};
use proptest::prelude::*;

use crate::{runs::RunSet, violation::ensure, Violation};

/// The map a page-allocator suite runs with. Page allocators touch no
/// memory, so the region is just numbers: a 64 GiB map costs nothing.
#[derive(Clone, Debug)]
pub struct PageConfig {
    /// Base address of the region (page-aligned).
    pub base: usize,
    /// Size of the region in bytes.
    pub size: usize,
    /// `true` when `used_pages` counts exactly the pages asked for; `false`
    /// for allocators that round runs up (a buddy allocator).
    pub exact: bool,
    /// Proptest cases.
    pub cases: u32,
    /// Longest random sequence.
    pub max_ops: usize,
}

impl PageConfig {
    /// A region of `size` bytes at `base`, counted exactly.
    pub fn new(base: usize, size: usize) -> Self {
        Self { base, size, exact: true, cases: 64, max_ops: 150 }
    }

    /// For allocators that round runs up.
    pub fn rounding(mut self) -> Self {
        self.exact = false;
        self
    }

    /// Sets the number of proptest cases.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }
}

/// A page allocator watched by a model of its allocated runs.
#[derive(Debug)]
pub struct PageShadow<A: PageAllocator> {
    alloc: A,
    runs: RunSet,
    exact: bool,
    baseline_used: usize,
}

impl<A: PageAllocator> PageShadow<A> {
    /// Gives `alloc` the region of `config` with `init`.
    ///
    /// # Errors
    /// A violation when `init` fails or the figures are wrong.
    pub fn new(mut alloc: A, config: &PageConfig) -> Result<Self, Violation> {
        // SAFETY: page allocators touch no memory; these addresses are
        // numbers handed out and never dereferenced by the suite.
        let r = unsafe { alloc.init(config.base, config.size) };
        ensure(r.is_ok(), || {
            Violation::Policy(format!("init({:#x}, {}) failed: {r:?}", config.base, config.size))
        })?;
        let s = Self {
            runs: RunSet::new(config.base, config.base + config.size, A::PAGE_SIZE),
            baseline_used: alloc.used_pages(),
            alloc,
            exact: config.exact,
        };
        ensure(s.alloc.total_pages() <= config.size / A::PAGE_SIZE, || {
            Violation::Accounting(format!(
                "{} pages in a map of {} bytes",
                s.alloc.total_pages(),
                config.size
            ))
        })?;
        s.check_figures()?;
        Ok(s)
    }

    /// The allocator under test.
    pub fn allocator(&mut self) -> &mut A {
        &mut self.alloc
    }

    /// How many runs are live.
    pub fn live_count(&self) -> usize {
        self.runs.len()
    }

    fn check_figures(&self) -> Result<(), Violation> {
        let (t, u, a) = (self.alloc.total_pages(), self.alloc.used_pages(), self.alloc.available_pages());
        ensure(u.checked_add(a) == Some(t), || {
            Violation::Accounting(format!("used {u} + available {a} != total {t}"))
        })?;
        let live = self.runs.units() + self.baseline_used;
        ensure(if self.exact { u == live } else { u >= live }, || {
            Violation::Accounting(format!("used_pages is {u}; the shadow counts {live}"))
        })
    }

    fn answer(
        &mut self,
        r: AllocResult<usize>,
        num: usize,
        align: usize,
        before: usize,
        at: Option<usize>,
    ) -> Result<AllocResult<usize>, Violation> {
        match r {
            Ok(base) => {
                ensure(num != 0 && align.is_power_of_two(), || {
                    Violation::Policy(format!("{num} pages aligned to {align} must fail with InvalidParam"))
                })?;
                if let Some(at) = at {
                    ensure(base == at, || {
                        Violation::Policy(format!("alloc_pages_at({at:#x}) gave {base:#x}"))
                    })?;
                }
                self.runs.admit(base, num, align.max(A::PAGE_SIZE))?;
            }
            Err(e) => {
                if num == 0 || !align.is_power_of_two() {
                    ensure(e == AllocError::InvalidParam, || {
                        Violation::Policy(format!(
                            "{num} pages aligned to {align} gave {e:?}, not InvalidParam"
                        ))
                    })?;
                }
                ensure(self.alloc.used_pages() == before, || {
                    Violation::Accounting("a failed alloc moved used_pages".into())
                })?;
            }
        }
        self.check_figures()?;
        Ok(r)
    }

    /// Allocates `num` pages aligned to `align` bytes.
    ///
    /// # Errors
    /// A violation when the answer breaks a rule.
    pub fn alloc_pages(&mut self, num: usize, align: usize) -> Result<AllocResult<usize>, Violation> {
        let before = self.alloc.used_pages();
        let r = self.alloc.alloc_pages(num, align);
        self.answer(r, num, align, before, None)
    }

    /// Allocates `num` pages at exactly `base`.
    ///
    /// # Errors
    /// A violation when the answer breaks a rule (including a run at any
    /// other address).
    pub fn alloc_pages_at(
        &mut self,
        base: usize,
        num: usize,
        align: usize,
    ) -> Result<AllocResult<usize>, Violation> {
        let before = self.alloc.used_pages();
        let r = self.alloc.alloc_pages_at(base, num, align);
        if r.is_ok() && (!base.is_multiple_of(align.max(1)) || !base.is_multiple_of(A::PAGE_SIZE)) {
            return Err(Violation::Policy(format!(
                "alloc_pages_at({base:#x}, align {align}) accepted a misaligned base"
            )));
        }
        self.answer(r, num, align, before, Some(base))
    }

    /// Frees the live run starting at `base`.
    ///
    /// # Errors
    /// A violation when the allocator refuses or miscounts.
    ///
    /// # Panics
    /// If `base` is not a live run of the shadow.
    pub fn dealloc(&mut self, base: usize) -> Result<(), Violation> {
        let num = self.runs.remove(base).expect("dealloc of a run the shadow does not know");
        // SAFETY: the suite never uses the pages.
        let r = unsafe { self.alloc.dealloc_pages(base, num) };
        ensure(r.is_ok(), || {
            Violation::Policy(format!("dealloc_pages({base:#x}, {num}) of a live run gave {r:?}"))
        })?;
        self.check_figures()
    }

    /// Calls `dealloc_pages` on a run that is not live (a bad input): it must
    /// fail and change nothing.
    ///
    /// # Errors
    /// A violation when it succeeds or changes the figures.
    pub fn dealloc_bad(&mut self, pos: usize, num: usize) -> Result<AllocError, Violation> {
        let before = self.alloc.used_pages();
        // SAFETY: the suite never uses the pages.
        let r = unsafe { self.alloc.dealloc_pages(pos, num) };
        ensure(self.alloc.used_pages() == before, || {
            Violation::Accounting("a refused dealloc_pages moved used_pages".into())
        })?;
        self.check_figures()?;
        r.err().ok_or_else(|| {
            Violation::Policy(format!("dealloc_pages({pos:#x}, {num}) of pages not allocated succeeded"))
        })
    }

    /// The largest run (page-aligned) the allocator serves now, by bisection.
    ///
    /// # Errors
    /// A violation seen while probing.
    pub fn largest_run(&mut self) -> Result<usize, Violation> {
        let (mut lo, mut hi) = (0, self.alloc.available_pages());
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            match self.alloc_pages(mid, A::PAGE_SIZE)? {
                Ok(b) => {
                    self.dealloc(b)?;
                    lo = mid;
                }
                Err(_) => hi = mid - 1,
            }
        }
        Ok(lo)
    }

    /// Frees every live run and checks the allocator is back where it
    /// started.
    ///
    /// # Errors
    /// The first violation.
    pub fn free_all(&mut self) -> Result<(), Violation> {
        let bases: Vec<usize> = self.runs.iter().map(|r| r.0).collect();
        for b in bases {
            self.dealloc(b)?;
        }
        let u = self.alloc.used_pages();
        ensure(u == self.baseline_used, || {
            Violation::NotRecovered(format!("used_pages {u}, was {}", self.baseline_used))
        })
    }
}

/// One step of a page-allocator sequence.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum PageOp {
    /// `alloc_pages(num, PAGE_SIZE << align_log2)`.
    Alloc {
        /// Pages.
        num: usize,
        /// log2 of the alignment in pages.
        align_log2: u8,
    },
    /// `alloc_pages_at(base + page * PAGE_SIZE, num, PAGE_SIZE)`.
    AllocAt {
        /// Page index in the map (taken modulo its size).
        page: usize,
        /// Pages.
        num: usize,
    },
    /// Free a live run.
    Dealloc {
        /// Which live run.
        index: usize,
    },
}

/// Random page sequences.
pub fn page_ops(config: &PageConfig) -> impl Strategy<Value = Vec<PageOp>> {
    let num = prop_oneof![60 => 1usize..=4, 30 => 1usize..=64, 10 => 1usize..=4096];
    let op = prop_oneof![
        45 => (num.clone(), prop_oneof![80 => 0u8..=2, 20 => 0u8..=12]).prop_map(|(num, align_log2)| PageOp::Alloc { num, align_log2 }),
        15 => (any::<usize>(), num).prop_map(|(page, num)| PageOp::AllocAt { page, num }),
        40 => any::<usize>().prop_map(|index| PageOp::Dealloc { index }),
    ];
    prop::collection::vec(op, 1..=config.max_ops)
}

/// Runs `ops` on a fresh shadow, then frees everything.
///
/// # Errors
/// The first violation.
pub fn run_page_ops<A: PageAllocator>(
    alloc: A,
    config: &PageConfig,
    ops: &[PageOp],
) -> Result<(), Violation> {
    let mut s = PageShadow::new(alloc, config)?;
    let pages = (config.size / A::PAGE_SIZE).max(1);
    for op in ops {
        match *op {
            PageOp::Alloc { num, align_log2 } => {
                // An alignment past `usize` becomes 0, which must be refused.
                let align = A::PAGE_SIZE.checked_shl(u32::from(align_log2)).unwrap_or(0);
                let _ = s.alloc_pages(num, align)?;
            }
            PageOp::AllocAt { page, num } => {
                let _ = s.alloc_pages_at(config.base + (page % pages) * A::PAGE_SIZE, num, A::PAGE_SIZE)?;
            }
            PageOp::Dealloc { index } => {
                if let Some((b, _)) = s.runs.nth(index) {
                    s.dealloc(b)?;
                }
            }
        }
    }
    s.free_all()
}

/// Runs `config.cases` random sequences.
///
/// # Panics
/// With the minimal failing sequence.
pub fn check_page_ops<A: PageAllocator>(new: impl Fn() -> A, config: &PageConfig) {
    crate::run_cases(config.cases, page_ops(config), |ops| run_page_ops(new(), config, &ops));
}

/// Fills the map in runs of mixed sizes, frees half, refills, frees
/// everything, and checks the largest run fits again; also `alloc_pages_at`
/// on every kind of place.
///
/// # Errors
/// The first violation.
pub fn page_conformance<A: PageAllocator>(alloc: A, config: &PageConfig) -> Result<(), Violation> {
    let mut s = PageShadow::new(alloc, config)?;
    let ps = A::PAGE_SIZE;
    let largest = s.largest_run()?;
    ensure(largest > 0, || Violation::Policy("not even one page can be allocated".into()))?;
    let mut rng = crate::XorShift::new(0x9A6E);
    let mut fails = 0;
    while fails < 6 && s.live_count() < 2000 {
        let num = rng.range(1, (largest / 64).clamp(1, 64));
        if s.alloc_pages(num, ps << rng.range(0, 3))?.is_err() {
            fails += 1;
        }
    }
    for i in (0..s.live_count() / 2).rev() {
        if let Some((b, _)) = s.runs.nth(i * 2) {
            s.dealloc(b)?;
        }
    }
    s.free_all()?;
    // Fixed places: the first page, the last page, an aligned run, and the
    // same place twice.
    let last = config.base + (s.alloc.total_pages() - 1) * ps;
    let first = s.alloc_pages_at(config.base, 1, ps)?;
    ensure(first.is_ok(), || Violation::Policy(format!("alloc_pages_at(first page) gave {first:?}")))?;
    let again = s.alloc_pages_at(config.base, 1, ps)?;
    ensure(again.is_err(), || Violation::Policy("the same page was handed out twice".into()))?;
    s.free_all()?;
    let end = s.alloc_pages_at(last, 1, ps)?;
    ensure(end.is_ok(), || Violation::Policy(format!("alloc_pages_at(last page) gave {end:?}")))?;
    s.free_all()?;
    let big = s.alloc_pages(largest, ps)?;
    ensure(big.is_ok(), || Violation::NotRecovered(format!("a run of {largest} pages no longer fits")))?;
    s.free_all()
}

/// Takes every other page, then asks for contiguous runs: the answer must
/// be a correct run or `NoMemory`, quickly.
///
/// # Errors
/// The first violation.
pub fn page_fragmented<A: PageAllocator>(
    alloc: A,
    config: &PageConfig,
    pages: usize,
) -> Result<(), Violation> {
    let mut s = PageShadow::new(alloc, config)?;
    let ps = A::PAGE_SIZE;
    let pages = pages.min(s.alloc.total_pages());
    for i in (0..pages).step_by(2) {
        let r = s.alloc_pages_at(config.base + i * ps, 1, ps)?;
        ensure(r.is_ok(), || Violation::Policy(format!("page {i} of an empty map: {r:?}")))?;
    }
    for num in [2, 3, 8, 64] {
        if let Ok(b) = s.alloc_pages(num, ps)? {
            ensure(b >= config.base + pages * ps - ps, || Violation::Overlap {
                a: (b, num),
                b: (config.base, pages),
            })?;
        }
    }
    s.free_all()
}

/// Hostile calls, each with its documented error, after which the allocator
/// still works.
///
/// # Errors
/// The first violation.
pub fn page_bad_input<A: PageAllocator>(new: impl Fn() -> A, config: &PageConfig) -> Result<(), Violation> {
    let ps = A::PAGE_SIZE;
    for (start, size) in [(config.base, 0usize), (usize::MAX - ps + 1, ps * 4), (usize::MAX, 1)] {
        let mut a = new();
        // SAFETY: page allocators touch no memory.
        let r = unsafe { a.init(start, size) };
        ensure(r == Err(AllocError::InvalidParam), || {
            Violation::Policy(format!("init({start:#x}, {size}) gave {r:?}"))
        })?;
    }
    let mut s = PageShadow::new(new(), config)?;
    let live = s.alloc_pages(1, ps)?.map_err(|e| Violation::Policy(format!("first alloc_pages: {e:?}")))?;
    let end = config.base + s.alloc.total_pages() * ps;
    for (num, align, want) in [
        (0usize, ps, Some(AllocError::InvalidParam)),
        (1, 3 * ps, Some(AllocError::InvalidParam)),
        (1, 0, Some(AllocError::InvalidParam)),
        (usize::MAX, ps, None),
        (usize::MAX / ps + 1, ps, None),
        (s.alloc.total_pages() + 1, ps, None),
        (1, 1usize << (usize::BITS - 1), None),
    ] {
        let r = s.alloc_pages(num, align)?;
        ensure(want.map_or(r.is_err(), |w| r == Err(w)), || {
            Violation::Policy(format!("alloc_pages({num}, {align:#x}) gave {r:?}"))
        })?;
    }
    for (base, num) in [
        (config.base + 1, 1usize),
        (end, 1),
        (end - ps, 2),
        (live, 1),
        (usize::MAX - ps + 1, 1),
        (config.base, 0),
    ] {
        let r = s.alloc_pages_at(base, num, ps)?;
        let ok = if base == live && num == 1 { r == Err(AllocError::MemoryOverlap) } else { r.is_err() };
        ensure(ok, || Violation::Policy(format!("alloc_pages_at({base:#x}, {num}) gave {r:?}")))?;
    }
    // SAFETY: the range is already this allocator's; a correct allocator
    // refuses a second init and touches no memory anyway.
    let r = unsafe { s.alloc.init(config.base, config.size) };
    ensure(r == Err(AllocError::AlreadyInitialized), || {
        Violation::Policy(format!("a second init gave {r:?}, not AlreadyInitialized"))
    })?;
    for (pos, num, want) in [
        (live + ps, 1usize, AllocError::NotAllocated),
        (live + 1, 1, AllocError::InvalidParam),
        (end, 1, AllocError::InvalidParam),
        (config.base.wrapping_sub(ps), 1, AllocError::InvalidParam),
        (live, 0, AllocError::InvalidParam),
        (usize::MAX - ps + 1, 2, AllocError::InvalidParam),
    ] {
        if want == AllocError::NotAllocated && pos.saturating_add(ps) > end {
            continue; // a one-page map has no free neighbour
        }
        let e = s.dealloc_bad(pos, num)?;
        ensure(e == want, || {
            Violation::Policy(format!("dealloc_pages({pos:#x}, {num}) gave {e:?}, not {want:?}"))
        })?;
    }
    s.dealloc(live)?;
    let e = s.dealloc_bad(live, 1)?;
    ensure(e == AllocError::NotAllocated, || {
        Violation::Policy(format!("a double free gave {e:?}, not NotAllocated"))
    })?;
    let again = s.alloc_pages(1, ps)?;
    ensure(again.is_ok(), || Violation::Policy("unusable after bad input".into()))?;
    s.free_all()
}
