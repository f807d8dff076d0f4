//! The byte-allocator suite: shadow model, operations, scenarios.

mod config;
mod ops;
mod shadow;
mod suite;

pub use config::ByteConfig;
pub use ops::{align_strategy, apply, byte_ops, check_byte_ops, run_byte_ops, size_strategy, ByteOp};
pub use shadow::{ByteShadow, OwnsFn, Resize};
pub use suite::{
    add_memory, adjacent_regions, bad_input, edges, fill_and_recover, owns_a_block_merged_across_the_seam,
    resize, IntoSubject, Subject,
};
