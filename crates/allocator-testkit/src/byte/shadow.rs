//! [`ByteShadow`]: a byte allocator watched by a model of its live blocks.

use std::{alloc::Layout, collections::BTreeMap, ptr::NonNull};

use allocator_core::{AllocError, AllocResult, ByteAllocator};

use super::ByteConfig;
use crate::{
    memory::{TestAddress, TestRegion},
    schedule::FullCheck,
    violation::{check_disjoint, ensure},
    Violation,
};

/// A live block as the shadow knows it.
#[derive(Clone, Copy, Debug)]
struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    /// What the allocator said is usable (at least `layout.size()`): the
    /// whole of it is filled with the pattern and must stay this block's.
    usable: usize,
    pattern: u8,
}

/// How the shadow asks an allocator whether a block is its own: set for
/// allocators that implement [`Owns`](allocator_core::Owns) (the suite
/// macros detect it), so that ownership is checked after every operation.
pub type OwnsFn<A> = fn(&A, NonNull<u8>, Layout) -> bool;

/// An allocator under test, its memory, and a model of every live block.
///
/// Each operation goes to the allocator and the answer is checked against
/// the model: blocks aligned, inside the memory given, disjoint, filled
/// with their own pattern byte which must survive until the block is freed
/// (and across a resize, up to the smaller size); `used + available ==
/// total`; `used` moves by at least the block's size; errors only where
/// the policy allows. Methods return the allocator's own answer inside
/// `Ok`, and `Err` for a violation.
#[derive(Debug)]
pub struct ByteShadow<A: ByteAllocator> {
    /// The allocator under test (dropped before the memory it uses).
    alloc: A,
    regions: Vec<TestRegion>,
    given: usize,
    frees_return_memory: bool,
    /// `figures()` is O(blocks): checked with the full checks only.
    walked_figures: bool,
    live: BTreeMap<usize, Block>,
    /// The bytes of every live block, kept as blocks come and go.
    live_bytes: usize,
    next_pattern: u8,
    /// When every live block's contents are checked next (the blocks an
    /// operation touches, and their neighbours, after every operation).
    full_check: FullCheck,
    baseline_used: usize,
    owns: Option<OwnsFn<A>>,
}

impl<A: ByteAllocator> ByteShadow<A>
where
    A::Addr: TestAddress,
{
    /// Makes the memory `config` describes and gives the allocator its
    /// first region with `init`.
    ///
    /// # Errors
    /// A [`Violation::Policy`] when `init` refuses the region or the
    /// figures are inconsistent from the start.
    pub fn new(alloc: A, config: &ByteConfig) -> Result<Self, Violation> {
        Self::with_owns(alloc, config, None)
    }

    /// As [`new`](Self::new), checking ownership with `owns` after every
    /// operation: `true` for every live block, `false` for memory the
    /// allocator was never given.
    ///
    /// # Errors
    /// As [`new`](Self::new).
    pub fn with_owns(alloc: A, config: &ByteConfig, owns: Option<OwnsFn<A>>) -> Result<Self, Violation> {
        let regions = if config.adjacent {
            TestRegion::adjacent(&config.regions, config.base_align, config.start_offset)
        } else {
            config
                .regions
                .iter()
                .map(|&size| TestRegion::new(size, config.base_align, config.start_offset))
                .collect()
        };
        let mut s = Self {
            alloc,
            regions,
            given: 0,
            frees_return_memory: config.frees_return_memory,
            walked_figures: config.walked_figures,
            live: BTreeMap::new(),
            live_bytes: 0,
            full_check: FullCheck::new(),
            next_pattern: 0,
            baseline_used: 0,
            owns,
        };
        let (start, size) = (s.regions[0].start(), s.regions[0].size());
        // SAFETY: the region is memory we own and give to no one else; it
        // outlives the allocator (field order and `Drop`).
        let r = unsafe { s.alloc.init(s.regions[0].addr(), size) };
        ensure(r.is_ok(), || Violation::Policy(format!("init({start:#x}, {size}) failed: {r:?}")))?;
        s.given = 1;
        for _ in 1..config.initial_regions {
            match s.add_next_region()? {
                Some(Ok(())) => {}
                r => {
                    return Err(Violation::Policy(format!(
                        "add_memory of initial region {} gave {r:?}",
                        s.given
                    )))
                }
            }
        }
        s.check_figures()?;
        s.baseline_used = s.alloc.used_bytes();
        Ok(s)
    }

    /// The allocator under test.
    pub fn allocator(&mut self) -> &mut A {
        &mut self.alloc
    }

    /// The regions made for the suite, given or not.
    pub fn regions(&self) -> &[TestRegion] {
        &self.regions
    }

    /// How many regions the allocator has been given.
    pub fn given(&self) -> usize {
        self.given
    }

    /// How many blocks are live.
    pub fn live_count(&self) -> usize {
        self.live.len()
    }

    /// The address of the `index % live`-th live block, by address.
    pub fn nth_live(&self, index: usize) -> Option<usize> {
        if self.live.is_empty() {
            return None;
        }
        self.live.keys().nth(index % self.live.len()).copied()
    }

    /// The live blocks, by address, with their layouts.
    pub fn live_blocks(&self) -> impl Iterator<Item = (usize, Layout)> + '_ {
        self.live.iter().map(|(&a, b)| (a, b.layout))
    }

    /// `used_bytes` when the allocator had just been given its first region.
    pub fn baseline_used(&self) -> usize {
        self.baseline_used
    }

    fn pattern(&mut self) -> u8 {
        self.next_pattern = self.next_pattern.wrapping_add(1).max(1);
        self.next_pattern
    }

    /// `true` when the given regions cover `[addr, addr + size)` with no
    /// gap (a block may span regions that touch).
    fn in_given_memory(&self, addr: usize, size: usize) -> bool {
        let end = addr.saturating_add(size);
        let mut at = addr;
        loop {
            let Some(r) = self.regions[..self.given].iter().find(|r| r.start() <= at && at < r.end()) else {
                return false;
            };
            if end <= r.end() {
                return true;
            }
            at = r.end();
        }
    }

    /// Checks a block the allocator just returned and records it filled
    /// with a fresh pattern (or `keep` bytes already holding `pattern`).
    fn admit(&mut self, ptr: NonNull<u8>, layout: Layout, pattern: u8, keep: usize) -> Result<(), Violation> {
        let addr = ptr.as_ptr().addr();
        ensure(addr.is_multiple_of(layout.align()), || Violation::Misaligned {
            addr,
            align: layout.align(),
        })?;
        // SAFETY: `ptr` is a live block of this allocator for `layout`.
        let usable = unsafe { self.alloc.usable_size(ptr, layout) };
        ensure(usable >= layout.size(), || {
            Violation::Policy(format!("usable_size {usable} of a {}-byte block is too small", layout.size()))
        })?;
        ensure(self.in_given_memory(addr, usable), || Violation::OutOfBounds { addr, size: usable })?;
        let end = addr + usable;
        if let Some((&p, b)) = self.live.range(..end).next_back() {
            ensure(p + b.usable <= addr, || Violation::Overlap { a: (p, b.usable), b: (addr, usable) })?;
        }
        if keep > 0 {
            check_pattern(ptr, keep, pattern)?;
        }
        // SAFETY: the allocator handed out `usable` bytes at `addr`, inside
        // memory we own, disjoint from every live block (checked): all of
        // it must be writable.
        unsafe { ptr.as_ptr().add(keep).write_bytes(pattern, usable - keep) };
        self.live.insert(addr, Block { ptr, layout, usable, pattern });
        self.live_bytes += layout.size();
        self.check_owned(ptr, layout)
    }

    /// `owns` is true for a live block (with any size it may be freed
    /// with).
    fn check_owned(&self, ptr: NonNull<u8>, layout: Layout) -> Result<(), Violation> {
        if let Some(owns) = self.owns {
            ensure(owns(&self.alloc, ptr, layout), || {
                Violation::Policy(format!("owns() is false for a live block at {ptr:p} ({layout:?})"))
            })?;
        }
        Ok(())
    }

    /// A layout the block may be freed with: any size from the one asked
    /// for to the usable one (memory fitting); the pattern picks which.
    fn free_layout(b: &Block) -> Layout {
        let size = match b.pattern % 3 {
            0 => b.layout.size(),
            1 => b.usable,
            _ => b.layout.size() + (b.usable - b.layout.size()) / 2,
        };
        Layout::from_size_align(size, b.layout.align()).unwrap_or(b.layout)
    }

    /// Allocates `layout`.
    ///
    /// # Errors
    /// A violation when the answer breaks a rule.
    pub fn alloc(&mut self, layout: Layout) -> Result<AllocResult<usize>, Violation> {
        let before = self.used_now();
        let r = self.alloc.alloc(layout);
        match r {
            Ok(ptr) => {
                ensure(layout.size() != 0, || {
                    Violation::Policy("a zero-size alloc must fail with InvalidParam".into())
                })?;
                let p = self.pattern();
                self.admit(ptr, layout, p, 0)?;
                // Walked figures are checked with the full checks instead.
                if let (Some(before), Some(after)) = (before, self.used_now()) {
                    ensure(after >= before.saturating_add(layout.size()), || {
                        Violation::Accounting(format!(
                            "alloc of {} bytes moved used_bytes from {before} to {after}",
                            layout.size()
                        ))
                    })?;
                }
                self.after_op(Some(ptr.as_ptr().addr()))?;
                Ok(Ok(ptr.as_ptr().addr()))
            }
            Err(e) => {
                if layout.size() == 0 {
                    ensure(e == AllocError::InvalidParam, || {
                        Violation::Policy(format!("a zero-size alloc gave {e:?}, not InvalidParam"))
                    })?;
                }
                self.check_unchanged(before, "a failed alloc")?;
                self.after_op(None)?;
                Ok(Err(e))
            }
        }
    }

    /// Frees the live block at `addr`.
    ///
    /// # Errors
    /// A violation when the block was corrupted or the figures are wrong.
    ///
    /// # Panics
    /// If `addr` is not a live block (a bug in the caller, not the
    /// allocator).
    pub fn dealloc(&mut self, addr: usize) -> Result<(), Violation> {
        let b = self.live.remove(&addr).expect("dealloc of a block the shadow does not know");
        self.live_bytes -= b.layout.size();
        check_pattern(b.ptr, b.usable, b.pattern)?;
        let before = self.used_now();
        // SAFETY: `b.ptr` is a live block of this allocator, freed with a
        // layout that fits it (its alignment; a size between the one asked
        // for and the usable one).
        unsafe { self.alloc.dealloc(b.ptr, Self::free_layout(&b)) };
        if let (true, Some(before), Some(after)) = (self.frees_return_memory, before, self.used_now()) {
            ensure(after + b.layout.size() <= before, || {
                Violation::Accounting(format!(
                    "freeing {} bytes moved used_bytes from {before} to {after}",
                    b.layout.size()
                ))
            })?;
        }
        self.after_op(Some(addr))
    }

    /// Resizes the live block at `addr` to `new_layout` with `grow`,
    /// `shrink` or `realloc` (as `how` says).
    ///
    /// # Errors
    /// A violation when the answer breaks a rule.
    ///
    /// # Panics
    /// If `addr` is not a live block.
    pub fn resize(
        &mut self,
        addr: usize,
        new_layout: Layout,
        how: Resize,
    ) -> Result<AllocResult<usize>, Violation> {
        let b = *self.live.get(&addr).expect("resize of a block the shadow does not know");
        let old = b.layout;
        let ptr = b.ptr;
        let before = self.used_now();
        // The block is described to the allocator by a layout that fits it
        // (any size from the one asked for to the usable one), chosen so
        // that a grow to at least the old size, or a shrink to at most the
        // usable size, is a valid call.
        let fits = Self::free_layout(&b).size();
        let fit_size = match how {
            Resize::Grow => fits.min(new_layout.size().max(old.size())),
            Resize::Shrink => fits.max(new_layout.size()).min(b.usable),
            Resize::Realloc | Resize::InPlace => fits,
        };
        let fit = Layout::from_size_align(fit_size, old.align()).unwrap_or(old);
        // SAFETY: `ptr` is a live block of this allocator fitting `fit`.
        let r = unsafe {
            match how {
                Resize::Grow => self.alloc.grow(ptr, fit, new_layout),
                Resize::Shrink => self.alloc.shrink(ptr, fit, new_layout),
                Resize::Realloc => self.alloc.realloc(ptr, fit, new_layout.size()),
                Resize::InPlace => self.alloc.resize_in_place(ptr, fit, new_layout.size()).map(|()| ptr),
            }
        };
        let new_layout = match how {
            Resize::Realloc | Resize::InPlace => Layout::from_size_align(new_layout.size(), old.align()).ok(),
            _ => Some(new_layout),
        };
        let must_fail = match (how, new_layout) {
            (_, None) => true,
            (_, Some(l)) if l.size() == 0 => true,
            (Resize::Grow, Some(l)) => l.size() < fit.size(),
            (Resize::Shrink, Some(l)) => l.size() > fit.size(),
            (Resize::Realloc | Resize::InPlace, _) => false,
        };
        match r {
            Ok(new) => {
                ensure(!must_fail, || {
                    Violation::Policy(format!(
                        "{how:?} from {old:?} to {new_layout:?} must fail with InvalidParam"
                    ))
                })?;
                let new_layout = new_layout.expect("checked by must_fail");
                ensure(how != Resize::InPlace || new == ptr, || {
                    Violation::Policy("resize_in_place moved the block".into())
                })?;
                self.live.remove(&addr);
                self.live_bytes -= old.size();
                let keep = old.size().min(new_layout.size());
                self.admit(new, new_layout, b.pattern, keep)?;
                // A block's slack may absorb a grow, so `used_bytes` need not
                // move; `check_figures` still demands it cover every live byte.
                self.after_op(Some(new.as_ptr().addr()))?;
                Ok(Ok(new.as_ptr().addr()))
            }
            Err(e) => {
                if must_fail {
                    ensure(e == AllocError::InvalidParam, || {
                        Violation::Policy(format!("{how:?} to {new_layout:?} gave {e:?}, not InvalidParam"))
                    })?;
                }
                check_pattern(ptr, b.usable, b.pattern)?;
                self.check_unchanged(before, "a failed resize")?;
                self.after_op(Some(addr))?;
                Ok(Err(e))
            }
        }
    }

    /// Gives the allocator the next region with `add_memory`; `Ok(None)`
    /// when every region has been given.
    ///
    /// # Errors
    /// A violation when the figures do not grow by the region (less what
    /// the backend documents it keeps).
    pub fn add_next_region(&mut self) -> Result<Option<AllocResult>, Violation> {
        let Some(r) = self.regions.get(self.given) else { return Ok(None) };
        let (start, size) = (r.addr(), r.size());
        let before = self.alloc.total_bytes();
        // SAFETY: the region is memory we own, disjoint from the others and
        // given to no one else; it outlives the allocator.
        let res = unsafe { self.alloc.add_memory(start, size) };
        if res.is_ok() {
            self.given += 1;
            let after = self.alloc.total_bytes();
            ensure(after > before && after - before <= size, || {
                Violation::Accounting(format!(
                    "adding {size} bytes moved total_bytes from {before} to {after}"
                ))
            })?;
        } else {
            ensure(self.alloc.total_bytes() == before, || {
                Violation::Accounting("a refused add_memory changed total_bytes".into())
            })?;
        }
        self.after_op(None)?;
        Ok(Some(res))
    }

    /// Calls `add_memory` with an arbitrary range (for bad-input tests) and
    /// checks that a refusal changed nothing.
    ///
    /// # Safety
    /// If the allocator accepts the range, it must be memory the allocator
    /// may use (the bad-input suite only passes ranges that are malformed
    /// or overlap memory already given).
    pub unsafe fn add_memory_raw(&mut self, start: usize, size: usize) -> Result<AllocResult, Violation> {
        let (total, used) = (self.alloc.total_bytes(), self.alloc.used_bytes());
        let start = self.regions[0].addr_at(start);
        // SAFETY: forwarded from the caller.
        let r = unsafe { self.alloc.add_memory(start, size) };
        if r.is_err() {
            ensure(self.alloc.total_bytes() == total && self.alloc.used_bytes() == used, || {
                Violation::Accounting("a refused add_memory changed the figures".into())
            })?;
        }
        self.after_op(None)?;
        Ok(r)
    }

    /// `used_bytes` now, where the figures are checked around every
    /// operation (`None` for walked figures: see `ByteConfig`).
    fn used_now(&self) -> Option<usize> {
        (!self.walked_figures).then(|| self.alloc.used_bytes())
    }

    fn check_unchanged(&self, before: Option<usize>, what: &str) -> Result<(), Violation> {
        let Some(before) = before else { return Ok(()) };
        let after = self.alloc.used_bytes();
        ensure(after == before, || {
            Violation::Accounting(format!("{what} moved used_bytes from {before} to {after}"))
        })
    }

    fn check_figures(&self) -> Result<(), Violation> {
        let f = self.alloc.figures();
        let (t, u, a) = (self.alloc.total_bytes(), self.alloc.used_bytes(), self.alloc.available_bytes());
        ensure(f.total == t && f.used == u && f.available() == a, || {
            Violation::Accounting(format!("figures {f:?} disagree with total {t}, used {u}, available {a}"))
        })?;
        ensure(u.checked_add(a) == Some(t), || {
            Violation::Accounting(format!("used {u} + available {a} != total {t}"))
        })?;
        let live = self.live_bytes;
        ensure(!self.frees_return_memory || u >= live, || {
            Violation::Accounting(format!("used_bytes {u} is less than the {live} bytes live"))
        })
    }

    /// Checks the figures, and the contents of the block at `touched` and
    /// its neighbours (of every block every few operations).
    fn after_op(&mut self, touched: Option<usize>) -> Result<(), Violation> {
        let full = self.full_check.due(self.live.len());
        if full || !self.walked_figures {
            self.check_figures()?;
        }
        if full {
            self.check_all()?;
            return self.check_largest_free();
        }
        if let Some(t) = touched {
            let before = self.live.range(..t).next_back();
            let at_and_after = self.live.range(t..).take(2);
            for b in before.into_iter().chain(at_and_after).map(|(_, b)| b) {
                check_pattern(b.ptr, b.usable, b.pattern)?;
                self.check_owned(b.ptr, b.layout)?;
            }
        }
        Ok(())
    }

    /// Where the allocator reports its largest free block, a block of that
    /// size must be allocatable now (it is freed again at once).
    fn check_largest_free(&mut self) -> Result<(), Violation> {
        self.check_health()?;
        let Some(n) = self.alloc.largest_free() else { return Ok(()) };
        let Ok(layout) = Layout::from_size_align(n, 1) else {
            return Err(Violation::Policy(format!("largest_free() reported {n} bytes, not a valid size")));
        };
        if n == 0 {
            return Ok(());
        }
        let before = Some(self.alloc.used_bytes());
        match self.alloc.alloc(layout) {
            Ok(p) => {
                // SAFETY: allocated just above for `layout`.
                unsafe { self.alloc.dealloc(p, layout) };
                self.check_unchanged(before, "allocating and freeing the largest free block")
            }
            Err(e) => Err(Violation::Policy(format!(
                "largest_free() reported {n} bytes, but allocating them failed: {e:?}"
            ))),
        }
    }

    /// `health()` agrees with `figures()` and `largest_free()`, and its
    /// fragmentation is a thousandth between 0 and 1000 (none when the
    /// largest free block is unknown).
    fn check_health(&self) -> Result<(), Violation> {
        let h = self.alloc.health();
        let (f, largest) = (self.alloc.figures(), self.alloc.largest_free());
        ensure(h.figures() == f && h.largest_free == largest, || {
            Violation::Accounting(format!(
                "health {h:?} disagrees with figures {f:?} and largest_free {largest:?}"
            ))
        })?;
        let permille = h.fragmentation_permille();
        ensure(permille.is_some() == largest.is_some() && permille.is_none_or(|p| p <= 1000), || {
            Violation::Accounting(format!("fragmentation {permille:?} of {h:?}"))
        })
    }

    /// Checks every rule on every live block.
    ///
    /// # Errors
    /// The first violation found.
    pub fn check_all(&self) -> Result<(), Violation> {
        self.check_figures()?;
        debug_assert_eq!(self.live_bytes, self.live.values().map(|b| b.layout.size()).sum::<usize>());
        check_disjoint(self.live.iter().map(|(&a, b)| (a, b.usable)))?;
        for (&addr, b) in &self.live {
            ensure(addr % b.layout.align() == 0, || Violation::Misaligned { addr, align: b.layout.align() })?;
            ensure(self.in_given_memory(addr, b.usable), || Violation::OutOfBounds { addr, size: b.usable })?;
            check_pattern(b.ptr, b.usable, b.pattern)?;
            self.check_owned(b.ptr, b.layout)?;
            self.check_owned(b.ptr, Self::free_layout(b))?;
        }
        if let Some(owns) = self.owns {
            // Memory never given to the allocator is never its own.
            let outside = Box::new([0u8; 64]);
            let p = NonNull::from(&outside[0]);
            ensure(!owns(&self.alloc, p, Layout::new::<u8>()), || {
                Violation::Policy(format!("owns() is true for {p:p}, memory never given to the allocator"))
            })?;
        }
        Ok(())
    }

    /// Frees every live block (in address order, or shuffled by `seed`)
    /// and checks that `used_bytes` is back to its starting value.
    ///
    /// # Errors
    /// The first violation found.
    pub fn free_all(&mut self, seed: Option<u64>) -> Result<(), Violation> {
        self.check_all()?;
        let mut addrs: Vec<usize> = self.live.keys().copied().collect();
        if let Some(seed) = seed {
            crate::XorShift::new(seed).shuffle(&mut addrs);
        }
        for a in addrs {
            self.dealloc(a)?;
        }
        let used = self.alloc.used_bytes();
        ensure(used == self.baseline_used, || {
            Violation::NotRecovered(format!("used_bytes is {used}, was {} at the start", self.baseline_used))
        })
    }

    /// The largest size (with alignment 8) the allocator can serve now,
    /// found by bisection; the probe blocks are freed again.
    ///
    /// # Errors
    /// A violation seen while probing.
    pub fn largest_alloc(&mut self) -> Result<usize, Violation> {
        let (mut lo, mut hi) = (0usize, self.alloc.total_bytes().max(1));
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let layout = Layout::from_size_align(mid, 8).expect("probe layout");
            match self.alloc(layout)? {
                Ok(a) => {
                    self.dealloc(a)?;
                    lo = mid;
                }
                Err(_) => hi = mid - 1,
            }
        }
        Ok(lo)
    }
}

/// Which resize method to call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Resize {
    /// [`ByteAllocator::grow`].
    Grow,
    /// [`ByteAllocator::shrink`].
    Shrink,
    /// [`ByteAllocator::realloc`] (alignment kept).
    Realloc,
    /// [`ByteAllocator::resize_in_place`] (alignment kept): must not move,
    /// and must change nothing when it refuses.
    InPlace,
}

fn check_pattern(ptr: NonNull<u8>, size: usize, pattern: u8) -> Result<(), Violation> {
    // SAFETY: only called on blocks the shadow holds live: `size` bytes at
    // `ptr` (at most the usable size), handed out by the allocator inside
    // memory the shadow owns.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), size) };
    match bytes.iter().position(|&b| b != pattern) {
        None => Ok(()),
        Some(offset) => Err(Violation::Corrupted { addr: ptr.as_ptr().addr(), offset }),
    }
}
