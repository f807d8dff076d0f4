//! When a shadow re-checks everything it models.

/// Re-check everything after this many operations, or after as many
/// operations as there are live blocks (runs) when there are more. What an
/// operation touches is checked after every operation; the full check is
/// amortised to one block's worth of work per operation, so a suite over
/// tens of thousands of blocks stays linear, not quadratic.
const FULL_CHECK_EVERY: usize = 16;

/// Counts operations and says when the next full check is due.
#[derive(Clone, Debug)]
pub(crate) struct FullCheck {
    ops: usize,
    next: usize,
}

impl FullCheck {
    pub(crate) const fn new() -> Self {
        Self { ops: 0, next: FULL_CHECK_EVERY }
    }

    /// Counts one operation; `true` when a full check is due now, with
    /// `live` blocks (or runs) in the model.
    pub(crate) fn due(&mut self, live: usize) -> bool {
        self.ops += 1;
        if self.ops < self.next {
            return false;
        }
        self.next = self.ops + FULL_CHECK_EVERY.max(live);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_16_operations_or_every_live_count() {
        let mut f = FullCheck::new();
        let due: Vec<usize> = (1..=64).filter(|_| f.due(3)).collect();
        assert_eq!(due.len(), 4);
        let mut f = FullCheck::new();
        let first = (1..=100).find(|_| f.due(1000)).expect("due once");
        assert_eq!(first, 16);
        assert!((0..999).all(|_| !f.due(1000)));
        assert!(f.due(1000));
    }
}
