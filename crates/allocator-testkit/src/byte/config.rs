//! How a byte-allocator suite is set up.

/// The memory and limits a byte-allocator suite runs with.
#[derive(Clone, Debug)]
pub struct ByteConfig {
    /// Sizes of the regions in bytes. The first is given by `init`; the
    /// others by `add_memory` as the operation sequences ask.
    pub regions: Vec<usize>,
    /// How many regions the allocator gets when the suite starts: the first
    /// by `init`, the others by `add_memory` (combinators route them to
    /// different parts). The rest are given by the operation sequences.
    pub initial_regions: usize,
    /// Alignment of the memory each region is carved from.
    pub base_align: usize,
    /// How far past that alignment each region starts (odd start addresses
    /// come from an odd offset).
    pub start_offset: usize,
    /// `true` when freeing a block gives its memory back at once (so
    /// `used_bytes` drops by at least its size). `false` for allocators that
    /// reclaim later, such as a bump region.
    pub frees_return_memory: bool,
    /// `true` when, after everything is freed, the largest block that fitted
    /// at the start fits again. `false` for allocators that keep memory in
    /// size classes once carved (a slab allocator); `used_bytes` must still
    /// return to its starting value.
    pub recovers_largest: bool,
    /// The largest alignment the random sequences ask for (a power of two).
    pub max_align: usize,
    /// Proptest cases for the random sequences.
    pub cases: u32,
    /// Longest random sequence.
    pub max_ops: usize,
    /// The regions follow each other with no gap (each starts where the
    /// previous ends), as refills from consecutive pages do: a heap may
    /// merge them, and must still own and free every block.
    pub adjacent: bool,
    /// `true` when `figures()` costs O(blocks) (it walks the heap, so that
    /// no allocation pays for it): the shadow then checks the figures with
    /// its full checks, amortised, instead of around every operation.
    pub walked_figures: bool,
}

impl ByteConfig {
    /// One region of `size` bytes at a 4 KiB-aligned start.
    pub fn new(size: usize) -> Self {
        Self {
            regions: vec![size],
            initial_regions: 1,
            base_align: 4096,
            start_offset: 0,
            frees_return_memory: true,
            recovers_largest: true,
            max_align: 4096,
            cases: 64,
            max_ops: 200,
            adjacent: false,
            walked_figures: false,
        }
    }

    /// For allocators whose `figures()` walk the heap (O(blocks)): checked
    /// with the shadow's full checks, not around every operation.
    pub fn walked_figures(mut self) -> Self {
        self.walked_figures = true;
        self
    }

    /// The same regions, each adjacent to the next, all given when the
    /// suite starts; a single region gets a second one of its size right
    /// after it (so each still meets the backend's minimum).
    pub fn adjacent(mut self) -> Self {
        if self.regions.len() == 1 {
            self.regions.push(self.regions[0]);
        }
        self.initial_regions = self.regions.len();
        self.adjacent = true;
        self
    }

    /// Adds regions of these sizes for `add_memory`.
    pub fn more_regions(mut self, sizes: &[usize]) -> Self {
        self.regions.extend_from_slice(sizes);
        self
    }

    /// Gives the first `n` regions when the suite starts (`init`, then
    /// `add_memory`).
    pub fn initial_regions(mut self, n: usize) -> Self {
        self.initial_regions = n.clamp(1, self.regions.len());
        self
    }

    /// Starts every region `offset` bytes past `base_align`.
    pub fn offset(mut self, offset: usize) -> Self {
        self.start_offset = offset;
        self
    }

    /// Sets the alignment of the memory the regions are carved from.
    pub fn base_align(mut self, align: usize) -> Self {
        self.base_align = align;
        self
    }

    /// For allocators whose frees do not give memory back at once.
    pub fn lazy_free(mut self) -> Self {
        self.frees_return_memory = false;
        self
    }

    /// For allocators that keep memory in size classes once carved.
    pub fn keeps_size_classes(mut self) -> Self {
        self.recovers_largest = false;
        self
    }

    /// Sets the number of proptest cases.
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Sets the largest alignment the random sequences ask for.
    pub fn max_align(mut self, align: usize) -> Self {
        self.max_align = align;
        self
    }

    /// The first region's size.
    pub fn first_size(&self) -> usize {
        self.regions[0]
    }

    /// The bytes given when the suite starts (the initial regions).
    pub fn initial_size(&self) -> usize {
        self.regions[..self.initial_regions].iter().sum()
    }
}
