//! The id-allocator suite.

use allocator_core::{AllocError, AllocResult, IdAllocator};
use proptest::prelude::*;

use crate::{runs::RunSet, schedule::FullCheck, violation::ensure, Violation};

/// The id range a suite runs with (the allocator must be constructed over
/// exactly this range).
#[derive(Clone, Debug)]
pub struct IdConfig {
    /// The first id.
    pub start: usize,
    /// How many ids.
    pub size: usize,
    /// Proptest cases.
    pub cases: u32,
    /// Longest random sequence.
    pub max_ops: usize,
}

impl IdConfig {
    /// `size` ids from `start`.
    pub fn new(start: usize, size: usize) -> Self {
        Self { start, size, cases: 64, max_ops: 150 }
    }
}

/// An id allocator watched by a model of its allocated runs.
#[derive(Debug)]
pub struct IdShadow<A: IdAllocator> {
    alloc: A,
    runs: RunSet,
    config: IdConfig,
    /// When `is_allocated` is probed on every run next (the runs an
    /// operation touches, after every operation).
    full_check: FullCheck,
}

impl<A: IdAllocator> IdShadow<A> {
    /// Watches `alloc`, which must be fresh and cover `config`'s range.
    ///
    /// # Errors
    /// A violation when its figures are wrong from the start.
    pub fn new(alloc: A, config: &IdConfig) -> Result<Self, Violation> {
        let s = Self {
            alloc,
            runs: RunSet::new(config.start, config.start + config.size, 1),
            config: config.clone(),
            full_check: FullCheck::new(),
        };
        ensure(s.alloc.size() == config.size, || {
            Violation::Accounting(format!("size() is {}, the range holds {}", s.alloc.size(), config.size))
        })?;
        s.check_figures()?;
        Ok(s)
    }

    /// The allocator under test.
    pub fn allocator(&mut self) -> &mut A {
        &mut self.alloc
    }

    fn check_figures(&self) -> Result<(), Violation> {
        let (t, u, a) = (self.alloc.size(), self.alloc.used(), self.alloc.available());
        ensure(u.checked_add(a) == Some(t), || {
            Violation::Accounting(format!("used {u} + available {a} != size {t}"))
        })?;
        ensure(u == self.runs.units(), || {
            Violation::Accounting(format!("used() is {u}; the shadow counts {}", self.runs.units()))
        })
    }

    /// Checks `is_allocated` against the model on the edges of every run.
    ///
    /// # Errors
    /// The first disagreement.
    pub fn check_all(&self) -> Result<(), Violation> {
        let runs: Vec<(usize, usize)> = self.runs.iter().collect();
        self.check_runs(&runs)
    }

    /// After an operation: [`check_runs`](Self::check_runs) on the runs it
    /// touched, or [`check_all`](Self::check_all) when a full check is due.
    fn after_op(&mut self, touched: &[(usize, usize)]) -> Result<(), Violation> {
        if self.full_check.due(self.runs.len()) {
            return self.check_all();
        }
        self.check_runs(touched)
    }

    /// Checks the figures, and `is_allocated` on the edges of the range and
    /// of `runs`.
    fn check_runs(&self, runs: &[(usize, usize)]) -> Result<(), Violation> {
        self.check_figures()?;
        let lo = self.config.start;
        let hi = lo + self.config.size;
        let mut probes = vec![lo, hi.saturating_sub(1), hi, lo.wrapping_sub(1), usize::MAX];
        for &(s, l) in runs {
            probes.extend([s, s + l - 1, s + l, s.wrapping_sub(1), s + l / 2]);
        }
        for id in probes {
            let want = self.runs.covers(id);
            ensure(self.alloc.is_allocated(id) == want, || {
                Violation::Accounting(format!("is_allocated({id}) is {}, should be {want}", !want))
            })?;
        }
        Ok(())
    }

    fn answer(
        &mut self,
        r: AllocResult<usize>,
        count: usize,
        align: usize,
        before: usize,
    ) -> Result<AllocResult<usize>, Violation> {
        match r {
            Ok(id) => {
                ensure(count != 0 && align.is_power_of_two(), || {
                    Violation::Policy(format!("{count} ids aligned to {align} must fail with InvalidParam"))
                })?;
                self.runs.admit(id, count, align)?;
                return self.after_op(&[(id, count)]).map(|()| r);
            }
            Err(e) => {
                if count == 0 || !align.is_power_of_two() {
                    ensure(e == AllocError::InvalidParam, || {
                        Violation::Policy(format!("gave {e:?}, not InvalidParam"))
                    })?;
                }
                ensure(self.alloc.used() == before, || {
                    Violation::Accounting("a failed alloc moved used()".into())
                })?;
            }
        }
        self.after_op(&[])?;
        Ok(r)
    }

    /// Allocates `count` ids aligned to `align`.
    ///
    /// # Errors
    /// A violation when the answer breaks a rule.
    pub fn alloc_id(&mut self, count: usize, align: usize) -> Result<AllocResult<usize>, Violation> {
        let before = self.alloc.used();
        let r = self.alloc.alloc_id(count, align);
        self.answer(r, count, align, before)
    }

    /// Allocates exactly `id`.
    ///
    /// # Errors
    /// A violation when the answer breaks a rule.
    pub fn alloc_fixed(&mut self, id: usize) -> Result<AllocResult, Violation> {
        let before = self.alloc.used();
        let taken = self.runs.covers(id);
        let in_range = id >= self.config.start && id - self.config.start < self.config.size;
        let r = self.alloc.alloc_fixed_id(id);
        match (r, in_range, taken) {
            (Ok(()), true, false) => {
                self.runs.admit(id, 1, 1)?;
                return self.after_op(&[(id, 1)]).map(|()| r);
            }
            (Err(AllocError::InvalidParam), false, _) | (Err(AllocError::MemoryOverlap), true, true) => {}
            _ => {
                return Err(Violation::Policy(format!(
                    "alloc_fixed_id({id}) gave {r:?} (in range {in_range}, taken {taken})"
                )))
            }
        }
        if r.is_err() {
            ensure(self.alloc.used() == before, || {
                Violation::Accounting("a refused alloc_fixed_id moved used()".into())
            })?;
        }
        self.after_op(&[])?;
        Ok(r)
    }

    /// Frees the live run starting at `start`.
    ///
    /// # Errors
    /// A violation when the allocator refuses or miscounts.
    ///
    /// # Panics
    /// If `start` is not a live run of the shadow.
    pub fn dealloc(&mut self, start: usize) -> Result<(), Violation> {
        let count = self.runs.remove(start).expect("dealloc of a run the shadow does not know");
        let r = self.alloc.dealloc_id(start, count);
        ensure(r.is_ok(), || {
            Violation::Policy(format!("dealloc_id({start}, {count}) of a live run gave {r:?}"))
        })?;
        self.after_op(&[(start, count)])
    }

    /// Calls `dealloc_id` on ids that are not (all) allocated: it must fail
    /// and change nothing.
    ///
    /// # Errors
    /// A violation when it succeeds or changes anything.
    pub fn dealloc_bad(&mut self, start: usize, count: usize) -> Result<AllocError, Violation> {
        let before = self.alloc.used();
        let r = self.alloc.dealloc_id(start, count);
        ensure(self.alloc.used() == before, || {
            Violation::Accounting("a refused dealloc_id moved used()".into())
        })?;
        self.after_op(&[])?;
        r.err().ok_or_else(|| {
            Violation::Policy(format!("dealloc_id({start}, {count}) of ids not allocated succeeded"))
        })
    }

    /// Frees every live run; `used()` must be zero after.
    ///
    /// # Errors
    /// The first violation.
    pub fn free_all(&mut self) -> Result<(), Violation> {
        let starts: Vec<usize> = self.runs.iter().map(|r| r.0).collect();
        self.check_all()?;
        for s in starts {
            self.dealloc(s)?;
        }
        ensure(self.alloc.used() == 0, || Violation::NotRecovered(format!("used() is {}", self.alloc.used())))
    }
}

/// One step of an id sequence.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum IdOp {
    /// `alloc_id(count, 1 << align_log2)`.
    Alloc {
        /// How many ids.
        count: usize,
        /// log2 of the alignment.
        align_log2: u8,
    },
    /// `alloc_fixed_id(start + offset % size)`.
    Fixed {
        /// Offset into the range.
        offset: usize,
    },
    /// Free a live run.
    Dealloc {
        /// Which live run.
        index: usize,
    },
}

/// Random id sequences.
pub fn id_ops(config: &IdConfig) -> impl Strategy<Value = Vec<IdOp>> {
    let op = prop_oneof![
        40 => (prop_oneof![80 => 1usize..=2, 20 => 1usize..=64], prop_oneof![80 => Just(0u8), 20 => 0u8..=6])
            .prop_map(|(count, align_log2)| IdOp::Alloc { count, align_log2 }),
        20 => any::<usize>().prop_map(|offset| IdOp::Fixed { offset }),
        40 => any::<usize>().prop_map(|index| IdOp::Dealloc { index }),
    ];
    prop::collection::vec(op, 1..=config.max_ops)
}

/// Runs `ops` on a fresh shadow, then frees everything.
///
/// # Errors
/// The first violation.
pub fn run_id_ops<A: IdAllocator>(alloc: A, config: &IdConfig, ops: &[IdOp]) -> Result<(), Violation> {
    let mut s = IdShadow::new(alloc, config)?;
    for op in ops {
        match *op {
            IdOp::Alloc { count, align_log2 } => {
                // An alignment past `usize` becomes 0, which must be refused.
                let _ = s.alloc_id(count, 1usize.checked_shl(u32::from(align_log2)).unwrap_or(0))?;
            }
            IdOp::Fixed { offset } => {
                let _ = s.alloc_fixed(config.start + offset % config.size.max(1))?;
            }
            IdOp::Dealloc { index } => {
                if let Some((st, _)) = s.runs.nth(index) {
                    s.dealloc(st)?;
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
pub fn check_id_ops<A: IdAllocator>(new: impl Fn() -> A, config: &IdConfig) {
    crate::run_cases(config.cases, id_ops(config), |ops| run_id_ops(new(), config, &ops));
}

/// Takes every id one by one until exhaustion, frees them, then runs of
/// aligned ids.
///
/// # Errors
/// The first violation.
pub fn id_conformance<A: IdAllocator>(alloc: A, config: &IdConfig) -> Result<(), Violation> {
    let mut s = IdShadow::new(alloc, config)?;
    let n = config.size.min(4096);
    for _ in 0..n {
        let r = s.alloc_id(1, 1)?;
        ensure(r.is_ok(), || {
            Violation::Policy(format!("id {} of {n} could not be allocated", s.runs.len()))
        })?;
    }
    if n == config.size {
        let r = s.alloc_id(1, 1)?;
        ensure(r == Err(AllocError::NoMemory), || {
            Violation::Policy(format!("an exhausted range gave {r:?}"))
        })?;
    }
    s.free_all()?;
    for align in [1, 2, 4, 8, 16] {
        let _ = s.alloc_id(align, align)?;
    }
    s.free_all()
}

/// Hostile calls, each with its documented error.
///
/// # Errors
/// The first violation.
pub fn id_bad_input<A: IdAllocator>(alloc: A, config: &IdConfig) -> Result<(), Violation> {
    let mut s = IdShadow::new(alloc, config)?;
    let (lo, n) = (config.start, config.size);
    let live = s.alloc_id(1, 1)?.map_err(|e| Violation::Policy(format!("first alloc_id: {e:?}")))?;
    for (count, align, want) in [
        (0usize, 1usize, Some(AllocError::InvalidParam)),
        (1, 3, Some(AllocError::InvalidParam)),
        (1, 0, Some(AllocError::InvalidParam)),
        (n + 1, 1, None),
        (usize::MAX, 1, None),
        (1, 1usize << (usize::BITS - 1), None),
    ] {
        let r = s.alloc_id(count, align)?;
        ensure(want.map_or(r.is_err(), |w| r == Err(w)), || {
            Violation::Policy(format!("alloc_id({count}, {align}) gave {r:?}"))
        })?;
    }
    let _ = s.alloc_fixed(live)?;
    let _ = s.alloc_fixed(lo + n)?;
    let _ = s.alloc_fixed(usize::MAX)?;
    if lo > 0 {
        let _ = s.alloc_fixed(lo - 1)?;
    }
    let mut bad = vec![
        (lo + n, 1usize, AllocError::InvalidParam),
        (live, 0, AllocError::InvalidParam),
        (usize::MAX, 2, AllocError::InvalidParam),
    ];
    if n > 1 {
        bad.push((
            live,
            2,
            if live + 1 < lo + n { AllocError::NotAllocated } else { AllocError::InvalidParam },
        ));
    }
    for (start, count, want) in bad {
        let e = s.dealloc_bad(start, count)?;
        ensure(e == want, || {
            Violation::Policy(format!("dealloc_id({start}, {count}) gave {e:?}, not {want:?}"))
        })?;
    }
    s.dealloc(live)?;
    let e = s.dealloc_bad(live, 1)?;
    ensure(e == AllocError::NotAllocated, || Violation::Policy(format!("a double free gave {e:?}")))?;
    let again = s.alloc_id(1, 1)?;
    ensure(again.is_ok(), || Violation::Policy("unusable after bad input".into()))?;
    s.free_all()
}
