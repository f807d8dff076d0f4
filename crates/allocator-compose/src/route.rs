//! How a two-part combinator hands out the memory it is given.

use allocator_core::{region_end, AllocError, AllocResult, BaseAllocator, RegionSet};

/// How many regions one combinator routes.
pub(crate) const ROUTED_REGIONS: usize = 32;

/// The regions a combinator has passed on, so that no part of one can be
/// given again to either part.
pub(crate) type Routed = RegionSet<ROUTED_REGIONS>;

/// Gives `[start, start + size)` to one of two parts: `init` to the first
/// part that accepts it (first, then second), `add_memory` to the last part
/// that accepts it (second, then first). Overlap with anything routed
/// before is refused first; a second `init` is `InvalidParam`.
///
/// # Safety
/// As [`BaseAllocator::init`].
pub(crate) unsafe fn route<A: BaseAllocator, B: BaseAllocator>(
    routed: &mut Routed,
    first: &mut A,
    second: &mut B,
    start: usize,
    size: usize,
    init: bool,
) -> AllocResult {
    if init && !routed.is_empty() {
        return Err(AllocError::InvalidParam);
    }
    let end = region_end(start, size)?;
    routed.check(start, end)?;
    // SAFETY: forwarded from the caller; each part either takes the region
    // or refuses it untouched.
    unsafe {
        if init {
            first.init(start, size).or_else(|_| second.init(start, size))?;
        } else {
            second.add_memory(start, size).or_else(|_| first.add_memory(start, size))?;
        }
    }
    routed.insert(start, end)
}
