//! How a two-part combinator hands out the memory it is given.

use allocator_core::{
    helpers::{region_end, RegionSet},
    Address, AllocError, AllocResult, BaseAllocator,
};

/// How many regions one combinator routes.
pub(crate) const ROUTED_REGIONS: usize = 32;

/// The regions a combinator has passed on, so that no part of one can be
/// given again to either part.
pub(crate) type Routed = RegionSet<ROUTED_REGIONS>;

/// Gives `[start, start + size)` to one of two parts: `init` to the first
/// part that accepts it (first, then second), `add_memory` to the last part
/// that accepts it (second, then first). A malformed region is
/// `InvalidParam`, overlap with anything routed before `MemoryOverlap`, a
/// full table `TableFull` (all checked before either part sees the region);
/// a second `init` is `AlreadyInitialized`. Addresses are compared as
/// numbers ([`Address::addr`]); the start itself is passed on unchanged.
///
/// # Safety
/// As [`BaseAllocator::init`].
pub(crate) unsafe fn route<A: BaseAllocator, B: BaseAllocator<Addr = A::Addr>>(
    routed: &mut Routed,
    first: &mut A,
    second: &mut B,
    start: A::Addr,
    size: usize,
    init: bool,
) -> AllocResult {
    if init && !routed.is_empty() {
        return Err(AllocError::AlreadyInitialized);
    }
    let end = region_end(start.addr(), size)?;
    routed.check(start.addr(), end)?;
    // SAFETY: forwarded from the caller; each part either takes the region
    // or refuses it untouched.
    unsafe {
        if init {
            first.init(start, size).or_else(|_| second.init(start, size))?;
        } else {
            second.add_memory(start, size).or_else(|_| first.add_memory(start, size))?;
        }
    }
    // Cannot fail: `check` passed above and nothing changed the set since.
    routed.insert(start.addr(), end)
}
