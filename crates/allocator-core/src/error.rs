//! The one error type of the workspace.

use core::fmt;

/// Why an allocator refused a request.
///
/// Every kind is returned by something in this workspace; none is a
/// placeholder. The enum is `#[non_exhaustive]` so that kinds can be added
/// without a breaking change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllocError {
    /// The request is malformed: a zero size, an alignment that is not a
    /// power of two, a region whose end overflows the address space, a
    /// region too small to hold the allocator's own metadata, a count of
    /// zero, an address outside the allocator's range…
    InvalidParam,
    /// A region given to the allocator overlaps memory it already manages,
    /// or a fixed allocation overlaps something already allocated.
    MemoryOverlap,
    /// The request is well formed but there is not enough free memory (or
    /// no free run with the asked alignment) to satisfy it now.
    NoMemory,
    /// The block, pages or ids being freed are not currently allocated.
    NotAllocated,
}

/// The result of every fallible allocator operation.
pub type AllocResult<T = ()> = Result<T, AllocError>;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocError::InvalidParam => "invalid parameter",
            AllocError::MemoryOverlap => "memory overlaps memory already managed or allocated",
            AllocError::NoMemory => "not enough free memory",
            AllocError::NotAllocated => "not currently allocated",
        })
    }
}

impl core::error::Error for AllocError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{collections::BTreeSet, string::ToString};

    #[test]
    fn every_kind_displays_distinctly() {
        let kinds = [
            AllocError::InvalidParam,
            AllocError::MemoryOverlap,
            AllocError::NoMemory,
            AllocError::NotAllocated,
        ];
        let texts: BTreeSet<_> = kinds.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), kinds.len());
        assert!(texts.iter().all(|t| !t.is_empty()));
    }
}
