//! What a shadow model reports when an allocator breaks a rule.

use std::fmt;

/// A rule the allocator under test broke, with the details to debug it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    /// A block, page run or id run is not aligned as asked.
    Misaligned {
        /// Its address (or first page / id).
        addr: usize,
        /// The alignment asked for.
        align: usize,
    },
    /// A block lies (partly) outside the memory given to the allocator, or
    /// a run outside its range.
    OutOfBounds {
        /// Its address.
        addr: usize,
        /// Its size.
        size: usize,
    },
    /// Two live blocks (or runs) overlap.
    Overlap {
        /// The first one's address and size.
        a: (usize, usize),
        /// The second one's address and size.
        b: (usize, usize),
    },
    /// A live block's contents changed while the allocator held it.
    Corrupted {
        /// The block's address.
        addr: usize,
        /// The offset of the first changed byte.
        offset: usize,
    },
    /// The allocator's figures disagree with each other or with the shadow.
    Accounting(String),
    /// Freeing everything did not bring the allocator back to where it
    /// started.
    NotRecovered(String),
    /// An answer breaks the documented policy (the zero-size rule, an error
    /// kind, a fixed allocation at the wrong place…).
    Policy(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Misaligned { addr, align } => write!(f, "{addr:#x} is not aligned to {align}"),
            Violation::OutOfBounds { addr, size } => {
                write!(f, "[{addr:#x}, +{size}) lies outside the allocator's memory")
            }
            Violation::Overlap { a, b } => {
                write!(f, "[{:#x}, +{}) overlaps [{:#x}, +{})", a.0, a.1, b.0, b.1)
            }
            Violation::Corrupted { addr, offset } => {
                write!(f, "block {addr:#x} was changed at offset {offset}")
            }
            Violation::Accounting(s) => write!(f, "accounting: {s}"),
            Violation::NotRecovered(s) => write!(f, "not recovered after freeing everything: {s}"),
            Violation::Policy(s) => write!(f, "policy: {s}"),
        }
    }
}

impl std::error::Error for Violation {}

/// `Ok` when `cond`, else the violation `make` builds.
pub(crate) fn ensure(cond: bool, make: impl FnOnce() -> Violation) -> Result<(), Violation> {
    if cond {
        Ok(())
    } else {
        Err(make())
    }
}

/// Checks that sorted `(start, len)` runs do not overlap one another.
pub(crate) fn check_disjoint(runs: impl Iterator<Item = (usize, usize)>) -> Result<(), Violation> {
    let mut prev: Option<(usize, usize)> = None;
    for run in runs {
        if let Some(p) = prev {
            ensure(p.0 + p.1 <= run.0, || Violation::Overlap { a: p, b: run })?;
        }
        prev = Some(run);
    }
    Ok(())
}
