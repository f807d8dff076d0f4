#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(feature = "allocator_api", feature(allocator_api))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod context;
mod held;
mod lock;
mod locked;
#[cfg(any(target_has_atomic = "8", feature = "critical-section"))]
mod memory;
mod ops;
#[cfg(feature = "allocator_api")]
mod rc;

pub use held::Held;
#[cfg(feature = "critical-section")]
#[cfg_attr(docsrs, doc(cfg(feature = "critical-section")))]
pub use lock::CriticalSectionLock;
pub use lock::{Lock, SpinLock, TicketLock};
pub use locked::{InitHeap, Locked, NoInit};
#[cfg(any(target_has_atomic = "8", feature = "critical-section"))]
pub use memory::StaticMemory;
#[cfg(feature = "allocator_api")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator_api")))]
pub use rc::AllocatorRc;

/// The lock-API crate whose `RawMutex` types are [`Lock`]s, re-exported so
/// that users name the same version.
pub use lock_api;
