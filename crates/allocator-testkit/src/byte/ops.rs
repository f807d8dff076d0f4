//! Operation sequences for byte allocators, and their proptest strategy.

use std::alloc::Layout;

use allocator_core::{BaseAllocator, ByteAllocator};
use proptest::prelude::*;

use super::{ByteConfig, ByteShadow, IntoSubject, Resize};
use crate::{memory::TestAddress, Violation};

/// One step of a sequence. Block indices are taken modulo the number of
/// live blocks, so every sequence is valid whatever happened before it.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ByteOp {
    /// Allocate `size` bytes aligned to `1 << align_log2`.
    Alloc {
        /// Requested size (may be zero or huge).
        size: usize,
        /// log2 of the alignment.
        align_log2: u8,
    },
    /// Free a live block.
    Dealloc {
        /// Which live block.
        index: usize,
    },
    /// Grow, shrink or realloc a live block to `new_size` bytes and
    /// alignment `1 << align_log2` (kept by realloc).
    Resize {
        /// Which live block.
        index: usize,
        /// The size to resize to.
        new_size: usize,
        /// log2 of the new alignment.
        align_log2: u8,
        /// Which method.
        how: Resize,
    },
    /// Give the allocator its next region.
    AddMemory,
}

/// Sizes as programs use them: mostly small, sometimes pages, rarely
/// most of the region, and now and then an edge value.
pub fn size_strategy(region: usize) -> impl Strategy<Value = usize> {
    let huge = isize::MAX as usize - (1 << 20);
    prop_oneof![
        55 => 1usize..=64,
        25 => 65usize..=1024,
        12 => 1025usize..=16384,
        4 => 1usize..=region.max(2),
        4 => prop::sample::select(vec![0, 1, region / 2, region, region + 1, huge]),
    ]
}

/// Alignments as programs use them, up to `max_align`.
pub fn align_strategy(max_align: usize) -> impl Strategy<Value = u8> {
    let max = max_align.max(1).trailing_zeros() as u8;
    prop_oneof![
        80 => 0u8..=3.min(max),
        15 => 0u8..=8.min(max),
        5 => 0u8..=max,
    ]
}

/// Random sequences for `config`.
pub fn byte_ops(config: &ByteConfig) -> impl Strategy<Value = Vec<ByteOp>> {
    let region = config.first_size();
    let adds = if config.regions.len() > 1 { 3 } else { 0 };
    let op = prop_oneof![
        40 => (size_strategy(region), align_strategy(config.max_align))
            .prop_map(|(size, align_log2)| ByteOp::Alloc { size, align_log2 }),
        30 => any::<usize>().prop_map(|index| ByteOp::Dealloc { index }),
        20 => (
            any::<usize>(),
            size_strategy(region),
            align_strategy(config.max_align),
            prop::sample::select(vec![Resize::Grow, Resize::Shrink, Resize::Realloc, Resize::InPlace])
        )
            .prop_map(|(index, new_size, align_log2, how)| ByteOp::Resize { index, new_size, align_log2, how }),
        adds => Just(ByteOp::AddMemory),
    ];
    prop::collection::vec(op, 1..=config.max_ops)
}

/// Runs `ops` on a fresh shadow, then frees everything and checks that the
/// allocator recovered.
///
/// # Errors
/// The first violation.
pub fn run_byte_ops<S: IntoSubject>(alloc: S, config: &ByteConfig, ops: &[ByteOp]) -> Result<(), Violation>
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    let subject = alloc.into_subject();
    let mut s = ByteShadow::with_owns(subject.alloc, config, subject.owns)?;
    for op in ops {
        apply(&mut s, op)?;
    }
    s.free_all(Some(ops.len() as u64))?;
    s.check_all()
}

/// Applies one operation to a shadow. Layouts that Rust cannot even
/// express are skipped.
///
/// # Errors
/// The violation the step caused.
pub fn apply<A: ByteAllocator>(s: &mut ByteShadow<A>, op: &ByteOp) -> Result<(), Violation>
where
    A::Addr: TestAddress,
{
    match *op {
        ByteOp::Alloc { size, align_log2 } => {
            if let Ok(layout) = Layout::from_size_align(size, 1usize << (align_log2 % 64)) {
                let _ = s.alloc(layout)?;
            }
        }
        ByteOp::Dealloc { index } => {
            if let Some(addr) = s.nth_live(index) {
                s.dealloc(addr)?;
            }
        }
        ByteOp::Resize { index, new_size, align_log2, how } => {
            if let (Some(addr), Ok(layout)) =
                (s.nth_live(index), Layout::from_size_align(new_size, 1usize << (align_log2 % 64)))
            {
                let _ = s.resize(addr, layout, how)?;
            }
        }
        ByteOp::AddMemory => {
            s.add_next_region()?;
        }
    }
    Ok(())
}

/// Runs `config.cases` random sequences, shrinking any failure to a
/// minimal one.
///
/// # Panics
/// With the minimal failing sequence and its violation.
pub fn check_byte_ops<S: IntoSubject>(new: impl Fn() -> S, config: &ByteConfig)
where
    <S::Alloc as BaseAllocator>::Addr: TestAddress,
{
    crate::run_cases(config.cases, byte_ops(config), |ops| run_byte_ops(new(), config, &ops));
}
