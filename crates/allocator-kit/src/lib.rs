#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[doc(inline)]
pub use allocator_core::{
    Address, AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Health, IdAllocator,
    MemoryPages, Owns, PageAllocator,
};
/// The magazine fronts (per-CPU, per-thread) and their shared depot.
#[doc(inline)]
pub use allocator_sync::{
    max_cached_in_depot, max_cached_per_context, CpuId, Depot, PerCpu, DEPOT_MAGAZINES, MAGAZINE_BYTES,
    MAX_ROUNDS, MIN_ROUNDS,
};
#[doc(inline)]
pub use allocator_sync::{Held, InitHeap, Lock, Locked, NoInit, SpinLock, TicketLock};

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[doc(inline)]
pub use allocator_sync::{ThreadCached, YieldLock, FRONTS_PER_THREAD};

#[cfg(any(target_has_atomic = "8", feature = "critical-section"))]
#[doc(inline)]
pub use allocator_sync::StaticMemory;

#[cfg(feature = "critical-section")]
#[cfg_attr(docsrs, doc(cfg(feature = "critical-section")))]
#[doc(inline)]
pub use allocator_sync::CriticalSectionLock;

#[cfg(feature = "allocator_api")]
#[cfg_attr(docsrs, doc(cfg(feature = "allocator_api")))]
#[doc(inline)]
pub use allocator_sync::AllocatorRc;

/// For *implementing* an allocator: alignment arithmetic that cannot
/// overflow, layout and region checks, the shared `init` rule, the
/// allocate-copy-free move, a fixed-capacity region set. Users of
/// allocators need none of it.
pub mod helpers {
    #[doc(inline)]
    pub use allocator_core::helpers::*;
}

/// The lock-API crate whose `RawMutex` types are [`Lock`]s.
pub use allocator_sync::lock_api;

/// The traits, for `use allocator::prelude::*`.
pub mod prelude {
    #[doc(no_inline)]
    pub use allocator_core::{BaseAllocator, ByteAllocator, IdAllocator, MemoryPages, Owns, PageAllocator};
}

/// The buddy allocators ([`allocator-buddy`](allocator_buddy)).
#[cfg(feature = "buddy")]
#[cfg_attr(docsrs, doc(cfg(feature = "buddy")))]
#[doc(inline)]
pub use allocator_buddy as buddy;

/// A buddy heap with blocks up to 2 GiB, under its arceos name: as in
/// arceos, `BuddyByteAllocator::new()` needs no parameter. Other orders:
/// [`buddy::BuddyByteAllocator`].
#[cfg(feature = "buddy")]
#[cfg_attr(docsrs, doc(cfg(feature = "buddy")))]
pub type BuddyByteAllocator = allocator_buddy::BuddyByteAllocator;

#[cfg(feature = "buddy")]
#[doc(no_inline)]
pub use allocator_buddy::BuddyPageAllocator;

/// The slab allocator ([`allocator-slab`](allocator_slab)).
#[cfg(feature = "slab")]
#[cfg_attr(docsrs, doc(cfg(feature = "slab")))]
#[doc(inline)]
pub use allocator_slab as slab;
#[cfg(feature = "slab")]
#[doc(no_inline)]
pub use allocator_slab::SlabByteAllocator;

/// The TLSF allocator ([`allocator-tlsf`](allocator_tlsf)).
#[cfg(feature = "tlsf")]
#[cfg_attr(docsrs, doc(cfg(feature = "tlsf")))]
#[doc(inline)]
pub use allocator_tlsf as tlsf;
#[cfg(feature = "tlsf")]
#[doc(no_inline)]
pub use allocator_tlsf::TlsfByteAllocator;

/// The bitmap page and id allocators ([`allocator-bitmap`](allocator_bitmap)).
#[cfg(feature = "bitmap")]
#[cfg_attr(docsrs, doc(cfg(feature = "bitmap")))]
#[doc(inline)]
pub use allocator_bitmap as bitmap;
#[cfg(feature = "bitmap")]
#[doc(no_inline)]
pub use allocator_bitmap::BitmapIdAllocator;

/// The bitmap page allocator under its arceos name: `PAGE_SIZE`-byte pages
/// in the map [`BitmapPageMap`] that the `page-alloc-*` features choose.
///
/// The features are unified across a build, so the largest any crate
/// enables is the map of every user of this alias (`page-alloc-1t`: 34 MiB
/// each; keep such an allocator in a `static`). For a capacity of your
/// own, whatever the features, name the map:
/// [`bitmap::BitmapPageAllocator<PAGE_SIZE, M>`](allocator_bitmap::BitmapPageAllocator)
/// (`M` = `bitmap::BitAlloc1M` for 4 GiB of 4 KiB pages, and so on).
#[cfg(feature = "bitmap")]
#[cfg_attr(docsrs, doc(cfg(feature = "bitmap")))]
pub type BitmapPageAllocator<const PAGE_SIZE: usize = 4096> =
    allocator_bitmap::BitmapPageAllocator<PAGE_SIZE, BitmapPageMap>;

/// One definition of [`BitmapPageMap`] for each feature that can win.
#[cfg(feature = "bitmap")]
macro_rules! bitmap_page_map {
    ($($cfg:meta => $map:ident, $pages:literal;)*) => {$(
        /// The map of [`BitmapPageAllocator`]: the largest that a
        /// `page-alloc-*` feature enables (`page-alloc-256m`, 64 Ki pages,
        /// when none is). In this build:
        #[doc = concat!("`", stringify!($map), "`, ", $pages, ".")]
        #[cfg($cfg)]
        #[cfg_attr(docsrs, doc(cfg(feature = "bitmap")))]
        pub type BitmapPageMap = allocator_bitmap::$map;
    )*};
}

#[cfg(feature = "bitmap")]
bitmap_page_map! {
    feature = "page-alloc-1t" => BitAlloc256M, "256 Mi pages (1 TiB of 4 KiB pages; the map takes 34 MiB)";
    all(feature = "page-alloc-64g", not(feature = "page-alloc-1t"))
        => BitAlloc16M, "16 Mi pages (64 GiB of 4 KiB pages; the map takes 2.1 MiB)";
    all(feature = "page-alloc-4g", not(any(feature = "page-alloc-64g", feature = "page-alloc-1t")))
        => BitAlloc1M, "1 Mi pages (4 GiB of 4 KiB pages; the map takes 137 KiB)";
    not(any(feature = "page-alloc-4g", feature = "page-alloc-64g", feature = "page-alloc-1t"))
        => BitAlloc64K, "64 Ki pages (256 MiB of 4 KiB pages; the map takes 8.5 KiB)";
}

/// Page sources from the operating system and WebAssembly
/// ([`allocator-os`](allocator_os)).
#[cfg(feature = "os")]
#[cfg_attr(docsrs, doc(cfg(feature = "os")))]
#[doc(inline)]
pub use allocator_os as os;

/// The combinators ([`allocator-compose`](allocator_compose)).
#[cfg(feature = "compose")]
#[cfg_attr(docsrs, doc(cfg(feature = "compose")))]
#[doc(inline)]
pub use allocator_compose as compose;

/// Ready-made policies: short names for the common compositions.
#[cfg(feature = "compose")]
#[cfg_attr(docsrs, doc(cfg(feature = "compose")))]
pub mod policy {
    #[doc(no_inline)]
    pub use allocator_compose::{
        Checked, Fallback, NullAllocator, Pool, Proxy, Refill, Region, Segregator, SizeClasses, Stats,
    };

    /// A TLSF heap that refills itself from a bitmap page allocator of
    /// `PAGE_SIZE`-byte pages: the kernel heap.
    #[cfg(all(feature = "tlsf", feature = "bitmap"))]
    pub type KernelHeap<const PAGE_SIZE: usize = 4096> =
        Refill<crate::TlsfByteAllocator, crate::BitmapPageAllocator<PAGE_SIZE>>;

    /// Blocks up to `SMALL` bytes from a pool of `SMALL`-byte blocks; the
    /// rest, small blocks aligned beyond the pool's blocks, and small
    /// blocks once the pool is full, from `Large`. **Memory**: `init` gives
    /// the pool its region; `add_memory` and `add_static` (which is
    /// `add_memory`) feed `Large` — so a heap given only `add_static`
    /// memory has an empty pool. Give the pool its part with `init`
    /// first.
    ///
    /// A [`Fallback`]: a free asks the pool whether it owns the block (an
    /// address comparison), so a full pool never fails a small request
    /// that `Large` has room for.
    pub type SmallBlocks<const SMALL: usize, Large> = Fallback<Pool<SMALL>, Large>;

    /// Any policy with allocation statistics.
    pub type Counted<A> = Proxy<A, Stats>;

    /// Slabs of 8 KiB, for heaps of many MiB: the size classes up to
    /// 1 KiB come from slabs (all of one size, so they tile the heap), the
    /// larger ones from the backing heap.
    ///
    /// Larger slabs would serve more classes from slabs, but each slab is
    /// aligned to its size, and TLSF keeps an aligned block's padding
    /// inside the block: in a fragmented heap a 32 KiB slab can take up to
    /// 64 KiB. With 32 KiB slabs the hosted policy's peak memory on
    /// `sqlite3` was 1.49x glibc's (its 1,032-byte blocks in 32 KiB slabs);
    /// with 8 KiB slabs it is 1.14x, and no program of the real-program
    /// step got slower. The cost: random 16–512 B blocks fill a 64 MiB
    /// heap to 89.5 % before the first failure, as TLSF alone does, where
    /// 32 KiB slabs reached 91 %.
    pub const LARGE_SLABS: usize = 8 * 1024;

    /// The firmware heap: size classes (slabs of up to 2 KiB) over TLSF,
    /// behind a critical section, so that interrupt handlers may allocate
    /// while the main loop does. Set up by `I` (an
    /// [`InitHeap`](crate::InitHeap) claiming a
    /// [`StaticMemory`](crate::StaticMemory)); [`firmware`] makes one.
    ///
    /// **Heaps of 16 KiB and more.** Each size class in use keeps at least
    /// one slab (256 bytes to 2 KiB), so a program with a dozen sizes live
    /// at once ties up several KiB in partly used slabs: on an 8 KiB heap
    /// such a program runs out of memory where TLSF alone does not. Below
    /// 16 KiB use `Locked<TlsfByteAllocator, CriticalSectionLock>`. Both
    /// run in CI on qemu-system: this policy on a Cortex-M3's 48 KiB heap,
    /// TLSF alone on a Cortex-M0's 8 KiB (`firmware/cortex-m`).
    ///
    /// ```
    /// # use critical_section as _; // the host's critical section, for this example
    /// use allocator::policy::{firmware, Firmware};
    /// use allocator::{AllocError, AllocResult, BaseAllocator, InitHeap, StaticMemory};
    ///
    /// static ARENA: StaticMemory<{ 48 * 1024 }> = StaticMemory::new();
    /// struct Arena;
    /// impl InitHeap<allocator::compose::SizeClasses<allocator::TlsfByteAllocator>> for Arena {
    ///     fn init(heap: &mut allocator::compose::SizeClasses<allocator::TlsfByteAllocator>) -> AllocResult {
    ///         heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
    ///     }
    /// }
    ///
    /// // #[global_allocator]
    /// static HEAP: Firmware<Arena> = firmware();
    /// # let layout = core::alloc::Layout::new::<[u8; 512]>();
    /// # let block = HEAP.with(|h| allocator::ByteAllocator::alloc(h, layout)).unwrap().unwrap();
    /// # unsafe { HEAP.with(|h| allocator::ByteAllocator::dealloc(h, block, layout)) }.unwrap();
    /// ```
    #[cfg(all(feature = "tlsf", feature = "critical-section"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "critical-section"))))]
    pub type Firmware<I = crate::NoInit> =
        crate::Locked<SizeClasses<crate::TlsfByteAllocator>, crate::CriticalSectionLock, I>;

    /// An empty [`Firmware`] heap, for a `static`.
    #[cfg(all(feature = "tlsf", feature = "critical-section"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "critical-section"))))]
    pub const fn firmware<I>() -> Firmware<I> {
        crate::Locked::new(SizeClasses::new(crate::TlsfByteAllocator::new()))
    }

    /// The kernel heap with per-CPU magazines: magazines per CPU (`C` says
    /// which, under [`CpuId`](crate::CpuId)'s contract) over size classes
    /// over TLSF refilled from a bitmap page allocator of `PAGE_SIZE`-byte
    /// pages, behind lock `L` (a spin lock; one that masks interrupts,
    /// such as `CriticalSectionLock`, if interrupt handlers allocate: see
    /// [`CpuId`](crate::CpuId)). Built as `PerCpu::new(SizeClasses::new(unsafe {
    /// Refill::new(TlsfByteAllocator::new(), pages) }))`, `Refill::new`'s
    /// contract being the kernel's (the pages are real memory).
    #[cfg(all(feature = "tlsf", feature = "bitmap"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "bitmap"))))]
    pub type KernelPerCpu<C, const CPUS: usize, const PAGE_SIZE: usize = 4096, L = crate::SpinLock> =
        crate::PerCpu<SizeClasses<KernelHeap<PAGE_SIZE>, LARGE_SLABS>, C, CPUS, L>;

    /// An empty [`KernelPerCpu`] heap over `heap` (an empty
    /// [`KernelHeap`], made with `unsafe` [`Refill::new`], whose contract
    /// is the kernel's: the pages are its memory), for a `static`. Give it the
    /// kernel's free memory before the first allocation with
    /// `HEAP.depot().init(start, size)` (the page allocator's first
    /// region; more with `add_memory`); at CPU offline, `flush_cpu`; for
    /// an exact "memory in use", `flush_all` with the other CPUs parked.
    ///
    /// ```
    /// use allocator::policy::{kernel_per_cpu, KernelHeap, KernelPerCpu};
    /// use allocator::{BitmapPageAllocator, CpuId, TlsfByteAllocator};
    ///
    /// struct Cpu;
    /// // SAFETY: a kernel reads its CPU's index with preemption and
    /// // migration off around heap calls (here: one CPU, no preemption).
    /// unsafe impl CpuId for Cpu {
    ///     fn current() -> usize { 0 }
    /// }
    ///
    /// // SAFETY: the page allocator is given only free, identity-mapped RAM
    /// // that nothing else uses (below: memory leaked for it).
    /// static HEAP: KernelPerCpu<Cpu, 4> = kernel_per_cpu(unsafe { KernelHeap::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()) });
    ///
    /// # let ram: &'static mut [u8] = Box::leak(vec![0u8; 1 << 20].into_boxed_slice());
    /// # let (start, size) = (ram.as_mut_ptr().expose_provenance(), ram.len());
    /// // SAFETY: as above: the memory is the heap's alone.
    /// unsafe { HEAP.depot().init(start, size) }.unwrap();
    /// # use core::alloc::{GlobalAlloc, Layout};
    /// # let layout = Layout::new::<[u64; 4]>();
    /// # let p = unsafe { HEAP.alloc(layout) };
    /// # assert!(!p.is_null());
    /// # unsafe { HEAP.dealloc(p, layout) };
    /// ```
    #[cfg(all(feature = "tlsf", feature = "bitmap"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "bitmap"))))]
    pub const fn kernel_per_cpu<C, const CPUS: usize, const PAGE_SIZE: usize, L: crate::Lock>(
        heap: KernelHeap<PAGE_SIZE>,
    ) -> KernelPerCpu<C, CPUS, PAGE_SIZE, L> {
        crate::PerCpu::new(SizeClasses::new(heap))
    }

    /// The shared layer of the [`Hosted`] heap: size classes over TLSF
    /// (given memory by `I`), behind a [`YieldLock`](crate::YieldLock).
    #[cfg(all(feature = "tlsf", feature = "std"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "std"))))]
    pub type HostedDepot<I = crate::NoInit> =
        crate::Depot<SizeClasses<crate::TlsfByteAllocator, LARGE_SLABS>, crate::YieldLock, I>;

    /// An empty [`HostedDepot`], for a `static`.
    #[cfg(all(feature = "tlsf", feature = "std"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "std"))))]
    pub const fn hosted_depot<I>() -> HostedDepot<I> {
        crate::Depot::new(SizeClasses::new(crate::TlsfByteAllocator::new()))
    }

    /// The hosted global allocator: per-thread magazines over a
    /// [`HostedDepot`] (a `static` of its own: the threads' magazines go
    /// back to it when they exit).
    ///
    /// ```
    /// use allocator::policy::{hosted_depot, Hosted, HostedDepot};
    /// use allocator::{AllocError, AllocResult, BaseAllocator, InitHeap, StaticMemory};
    /// use allocator::{compose::SizeClasses, policy::LARGE_SLABS, TlsfByteAllocator};
    ///
    /// static ARENA: StaticMemory<{ 8 << 20 }> = StaticMemory::new();
    /// struct Arena;
    /// impl InitHeap<SizeClasses<TlsfByteAllocator, LARGE_SLABS>> for Arena {
    ///     fn init(heap: &mut SizeClasses<TlsfByteAllocator, LARGE_SLABS>) -> AllocResult {
    ///         heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
    ///     }
    /// }
    ///
    /// static DEPOT: HostedDepot<Arena> = hosted_depot();
    /// // #[global_allocator]
    /// static HEAP: Hosted<Arena> = Hosted::new(&DEPOT);
    /// # use core::alloc::{GlobalAlloc, Layout};
    /// # let layout = Layout::new::<[u8; 100]>();
    /// # unsafe { let p = HEAP.alloc(layout); assert!(!p.is_null()); HEAP.dealloc(p, layout) };
    /// ```
    #[cfg(all(feature = "tlsf", feature = "std"))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "std"))))]
    pub type Hosted<I = crate::NoInit> =
        crate::ThreadCached<SizeClasses<crate::TlsfByteAllocator, LARGE_SLABS>, crate::YieldLock, I>;

    /// How the [`HostedOs`] heap grows: 1 MiB at first, doubling up to
    /// 1 GiB at once (a request needing more gets what it needs). Mapped
    /// memory costs address space until it is touched, so large refills
    /// are cheap, and TLSF's pool table (64 pools) then spans tens of GiB;
    /// a system that refuses a refill is asked for half, down to what the
    /// request needs.
    pub const HOSTED_OS_REFILL: crate::compose::RefillPolicy =
        crate::compose::RefillPolicy { min_pages: 256, max_pages: 1 << 18, doubling: true };

    /// TLSF refilled from the operating system's pages: the hosted heap's
    /// backing.
    #[cfg(all(feature = "tlsf", feature = "os", unix))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "os", unix))))]
    pub type OsHeap = Refill<crate::TlsfByteAllocator, crate::os::OsPages>;

    /// An empty [`OsHeap`] refilled by [`HOSTED_OS_REFILL`].
    #[cfg(all(feature = "tlsf", feature = "os", unix))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "os", unix))))]
    pub const fn os_heap() -> OsHeap {
        Refill::over_memory(crate::TlsfByteAllocator::new(), crate::os::OsPages::new(), HOSTED_OS_REFILL)
    }

    /// The shared layer of the [`HostedOs`] heap: size classes over TLSF
    /// grown from the operating system, behind a
    /// [`YieldLock`](crate::YieldLock). No arena: it needs no
    /// [`InitHeap`](crate::InitHeap).
    #[cfg(all(feature = "tlsf", feature = "os", feature = "std", unix))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "os", feature = "std", unix))))]
    pub type HostedOsDepot = crate::Depot<SizeClasses<OsHeap, LARGE_SLABS>, crate::YieldLock>;

    /// An empty [`HostedOsDepot`], for a `static`.
    #[cfg(all(feature = "tlsf", feature = "os", feature = "std", unix))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "os", feature = "std", unix))))]
    pub const fn hosted_os_depot() -> HostedOsDepot {
        crate::Depot::new(SizeClasses::new(os_heap()))
    }

    /// The hosted global allocator growing from the operating system:
    /// per-thread magazines over a [`HostedOsDepot`], which maps memory as
    /// it needs it (`mmap`). [`Hosted`] is the same over memory an
    /// [`InitHeap`](crate::InitHeap) gives.
    ///
    /// ```
    /// use allocator::policy::{hosted_os_depot, HostedOs, HostedOsDepot};
    ///
    /// static DEPOT: HostedOsDepot = hosted_os_depot();
    /// // #[global_allocator]
    /// static HEAP: HostedOs = HostedOs::new(&DEPOT);
    /// # use core::alloc::{GlobalAlloc, Layout};
    /// # let layout = Layout::from_size_align(64 << 20, 4096).unwrap();
    /// # unsafe { let p = HEAP.alloc(layout); assert!(!p.is_null()); p.write_bytes(1, 64 << 20); HEAP.dealloc(p, layout) };
    /// ```
    #[cfg(all(feature = "tlsf", feature = "os", feature = "std", unix))]
    #[cfg_attr(docsrs, doc(cfg(all(feature = "tlsf", feature = "os", feature = "std", unix))))]
    pub type HostedOs = crate::ThreadCached<SizeClasses<OsHeap, LARGE_SLABS>, crate::YieldLock>;
}
