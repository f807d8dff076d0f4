//! [`RefillPolicy`]: how many pages a [`Refill`](crate::Refill) asks for.

/// How many pages a [`Refill`](crate::Refill) asks for when its heap runs
/// out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefillPolicy {
    /// The fewest pages asked for at once.
    pub min_pages: usize,
    /// The most pages asked for at once (unless one request needs more).
    pub max_pages: usize,
    /// Each refill asks for twice the previous one (within the bounds), so
    /// a heap that keeps growing needs few regions.
    pub doubling: bool,
}

impl RefillPolicy {
    /// 4 pages at first, doubling up to 4096 pages.
    pub const DEFAULT: Self = Self { min_pages: 4, max_pages: 4096, doubling: true };

    /// Pages to ask for when `needed` are the least that can serve the
    /// request and `last` were asked for last time.
    pub fn pages(&self, needed: usize, last: usize) -> usize {
        let grown = if self.doubling { last.saturating_mul(2) } else { 0 };
        grown.max(self.min_pages).min(self.max_pages).max(needed)
    }
}

impl Default for RefillPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}
