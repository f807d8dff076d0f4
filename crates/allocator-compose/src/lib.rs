#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(test)]
extern crate std;

mod checked;
mod fail;
mod fallback;
mod hook;
#[cfg(feature = "log")]
mod log_hook;
mod null;
mod policy;
mod pool;
mod proxy;
mod refill;
mod region;
mod route;
mod segregator;
mod size_classes;
mod stats;
#[cfg(feature = "std")]
mod system;
#[cfg(test)]
mod test_memory;

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use checked::AbortReport;
pub use checked::{Checked, LeakedBlock, Misuse, PanicReport, Report};
pub use fail::FailAfter;
pub use fallback::Fallback;
pub use hook::Hook;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use log_hook::Log;
pub use null::NullAllocator;
pub use policy::RefillPolicy;
pub use pool::{Pool, POOL_REGIONS};
pub use proxy::Proxy;
pub use refill::Refill;
pub use region::{Checkpoint, Region, Scope};
pub use segregator::Segregator;
pub use size_classes::SizeClasses;
pub use stats::{Stats, StatsSnapshot, SIZE_CLASSES};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use system::System;
