#![doc = include_str!("../README.md")]
#![no_std]
#![cfg_attr(feature = "allocator_api", feature(allocator_api))]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod context;
mod depot;
mod fork;
mod front;
mod held;
mod lock;
mod locked;
mod magazine;
#[cfg(any(target_has_atomic = "8", feature = "critical-section"))]
mod memory;
mod ops;
mod per_cpu;
#[cfg(feature = "std")]
mod per_thread;
#[cfg(feature = "allocator_api")]
mod rc;

pub use depot::{max_cached_in_depot, Depot, DEPOT_MAGAZINES};
pub use held::Held;
#[cfg(feature = "critical-section")]
#[cfg_attr(docsrs, doc(cfg(feature = "critical-section")))]
pub use lock::CriticalSectionLock;
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use lock::YieldLock;
pub use lock::{Lock, SpinLock, TicketLock};
pub use locked::{InitHeap, Locked, NoInit};
pub use magazine::{max_cached_per_context, MAGAZINE_BYTES, MAX_ROUNDS, MIN_ROUNDS};
#[cfg(any(target_has_atomic = "8", feature = "critical-section"))]
pub use memory::StaticMemory;
pub use per_cpu::{CpuId, PerCpu};
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
pub use per_thread::{ThreadCached, FRONTS_PER_THREAD};
#[cfg(feature = "allocator_api")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator_api")))]
pub use rc::AllocatorRc;

/// The lock-API crate whose `RawMutex` types are [`Lock`]s, re-exported so
/// that users name the same version.
pub use lock_api;
