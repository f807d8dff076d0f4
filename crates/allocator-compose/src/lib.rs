#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod fail;
mod fallback;
#[cfg(feature = "log")]
mod log_hook;
mod null;
mod pool;
mod proxy;
mod refill;
mod region;
mod route;
mod segregator;
mod stats;
#[cfg(feature = "std")]
mod system;

pub use fail::FailAfter;
pub use fallback::Fallback;
#[cfg(feature = "log")]
#[cfg_attr(docsrs, doc(cfg(feature = "log")))]
pub use log_hook::Log;
pub use null::NullAllocator;
pub use pool::{Pool, POOL_REGIONS};
pub use proxy::{Hook, Proxy};
pub use refill::{Refill, RefillPolicy};
pub use region::{Checkpoint, Region, Scope};
pub use segregator::Segregator;
pub use stats::{Stats, StatsSnapshot, SIZE_CLASSES};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use system::System;
