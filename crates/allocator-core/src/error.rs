//! The one error type of the workspace.

use core::fmt;

/// Why an allocator refused a request, by what the caller can do about it.
///
/// The first four kinds are the arceos `allocator` crate's, with the same
/// names, so ported code keeps matching them. Every kind is returned by
/// something in this workspace; none is a placeholder, and none stands for
/// "whatever the backend documents": each operation's docs say which kind
/// means what. The enum is `#[non_exhaustive]` so that kinds can be added
/// without a breaking change.
///
/// | kind | the caller should |
/// | --- | --- |
/// | [`NoMemory`](Self::NoMemory) | free something, give the heap more memory, or retry later |
/// | [`Unsupported`](Self::Unsupported) | send the request to another allocator: this one never serves it |
/// | [`InvalidParam`](Self::InvalidParam) | fix the call: it is a bug in the caller |
/// | [`MemoryOverlap`](Self::MemoryOverlap) | give different memory (or ask for a different fixed run) |
/// | [`AlreadyInitialized`](Self::AlreadyInitialized) | use `add_memory` instead of a second `init` |
/// | [`TableFull`](Self::TableFull) | merge regions, or give fewer, larger ones |
/// | [`NotAllocated`](Self::NotAllocated) | stop: the run being freed is not allocated (a double free) |
/// | [`Busy`](Self::Busy) | not wait: the heap is held by this same context (re-entered) |
/// | [`Poisoned`](Self::Poisoned) | stop using the heap: its set-up failed or an operation panicked |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AllocError {
    /// The call is malformed, a bug in the caller: a zero size, an
    /// alignment that is not a power of two, a grow to a smaller size, a
    /// region that is empty, wraps around the address space or is too small
    /// to hold one block, a count of zero, a page or id outside the
    /// allocator's range.
    InvalidParam,
    /// A region given to the allocator overlaps memory it already manages,
    /// or a fixed allocation overlaps something already allocated.
    MemoryOverlap,
    /// The request is one this allocator serves, but no free memory fits it
    /// now. Freeing memory or adding a region may make it succeed.
    NoMemory,
    /// The block, pages or ids being freed are not currently allocated.
    NotAllocated,
    /// This allocator never serves this request, however much memory it
    /// has: a size or alignment beyond what it hands out (a pool asked for
    /// more than its block size, a buddy heap asked for more than its
    /// largest order). Route the request elsewhere.
    Unsupported,
    /// `init` on an allocator that already has memory: give further memory
    /// with `add_memory`.
    AlreadyInitialized,
    /// The allocator's table of regions is full: it keeps a fixed number
    /// (stated in its docs) and allocates none.
    TableFull,
    /// The heap is held by the calling context itself (an allocation from
    /// inside an operation on the same heap, or from an interrupt that
    /// preempted one): waiting would never end, so the request fails.
    Busy,
    /// The heap cannot be used: its one-time set-up failed, or an operation
    /// on it panicked half-way and left it in an unknown state.
    Poisoned,
}

/// The result of every fallible allocator operation.
pub type AllocResult<T = ()> = Result<T, AllocError>;

impl AllocError {
    /// Every kind, in declaration order.
    pub const ALL: [AllocError; 9] = [
        AllocError::InvalidParam,
        AllocError::MemoryOverlap,
        AllocError::NoMemory,
        AllocError::NotAllocated,
        AllocError::Unsupported,
        AllocError::AlreadyInitialized,
        AllocError::TableFull,
        AllocError::Busy,
        AllocError::Poisoned,
    ];
}

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AllocError::InvalidParam => {
                "invalid argument: a zero size or count, an alignment that is not a power of two, \
                 a resize in the wrong direction, or a region that is empty, wraps around or is too \
                 small for one block"
            }
            AllocError::MemoryOverlap => {
                "the region overlaps memory the allocator already manages, or the fixed run is partly \
                 allocated"
            }
            AllocError::NoMemory => "no free memory fits the request now",
            AllocError::NotAllocated => "the pages or ids being freed are not allocated (a double free?)",
            AllocError::Unsupported => {
                "this allocator never serves this size or alignment; use another allocator for it"
            }
            AllocError::AlreadyInitialized => "the allocator already has memory: use add_memory",
            AllocError::TableFull => "the allocator's region table is full",
            AllocError::Busy => "the heap is held by the calling context itself (re-entered); not waiting",
            AllocError::Poisoned => "the heap is unusable: its set-up failed or an operation on it panicked",
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
        let texts: BTreeSet<_> = AllocError::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), AllocError::ALL.len());
        assert!(texts.iter().all(|t| !t.is_empty()));
    }
}
