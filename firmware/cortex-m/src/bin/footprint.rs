//! The smallest firmware with a heap: a `Box` and a `Vec` on the global
//! allocator chosen by a Cargo feature (`heap-tlsf`, `heap-buddy`, …; none
//! for the baseline, which allocates nothing). `firmware/footprint.sh`
//! builds one per heap and reads its flash and RAM with the size tool:
//! what a heap costs a firmware is its build less the baseline.
//!
//! The heap's memory is a 4 KiB `StaticMemory` (in `.bss`), set up on the
//! first allocation; the program exits through semihosting, with a
//! failure if the heap did not serve it.

#![no_std]
#![no_main]

#[cfg(any(
    feature = "heap",
    feature = "peer-embedded-llff",
    feature = "peer-embedded-tlsf",
    feature = "peer-talc"
))]
extern crate alloc;

use core::panic::PanicInfo;

use cortex_m_rt::entry;
use cortex_m_semihosting::debug;

/// The heap's memory, in bytes (subtracted from `.bss` by the script).
#[allow(dead_code)]
const ARENA: usize = 4096;

/// embedded-alloc's heaps: set up in `main` with `init`, over a static
/// array.
#[cfg(any(feature = "peer-embedded-llff", feature = "peer-embedded-tlsf"))]
mod peer {
    use core::mem::MaybeUninit;

    #[cfg(feature = "peer-embedded-llff")]
    #[global_allocator]
    pub static HEAP: embedded_alloc::LlffHeap = embedded_alloc::LlffHeap::empty();
    #[cfg(feature = "peer-embedded-tlsf")]
    #[global_allocator]
    pub static HEAP: embedded_alloc::TlsfHeap = embedded_alloc::TlsfHeap::empty();

    static mut MEMORY: [MaybeUninit<u8>; super::ARENA] = [MaybeUninit::uninit(); super::ARENA];

    /// Gives the heap its memory (once, before the first allocation).
    pub fn init() {
        // SAFETY: called once, first thing in `main`; `MEMORY` is used by
        // nothing else.
        unsafe { HEAP.init(core::ptr::addr_of_mut!(MEMORY) as usize, super::ARENA) }
    }
}

/// talc, behind a spin lock, claiming a static array on first use.
#[cfg(feature = "peer-talc")]
mod peer {
    use talc::{source::Claim, TalcLock};

    #[global_allocator]
    static HEAP: TalcLock<spinning_top::RawSpinlock, Claim> = TalcLock::new(unsafe {
        static mut MEMORY: [u8; super::ARENA] = [0; super::ARENA];
        // SAFETY: `MEMORY` is used by nothing else.
        Claim::array(core::ptr::addr_of_mut!(MEMORY))
    });

    /// Nothing to do: talc claims its memory on the first allocation.
    pub fn init() {}
}

#[cfg(feature = "heap")]
mod heap {
    use allocator::{AllocError, AllocResult, BaseAllocator, InitHeap, StaticMemory};

    static MEMORY: StaticMemory<{ super::ARENA }> = StaticMemory::new();

    /// Gives the heap [`MEMORY`] on its first use.
    #[cfg(not(feature = "heap-small-blocks"))]
    pub struct Arena;

    #[cfg(not(feature = "heap-small-blocks"))]
    impl<A: BaseAllocator<Addr = *mut u8>> InitHeap<A> for Arena {
        fn init(heap: &mut A) -> AllocResult {
            heap.add_static(MEMORY.take().ok_or(AllocError::AlreadyInitialized)?)
        }
    }

    /// The heap under test, behind a critical section.
    #[cfg(not(any(feature = "heap-firmware", feature = "heap-small-blocks")))]
    type Shared<A> = allocator::Locked<A, allocator::CriticalSectionLock, Arena>;

    #[cfg(feature = "heap-tlsf")]
    #[global_allocator]
    static HEAP: Shared<allocator::TlsfByteAllocator> = Shared::new(allocator::TlsfByteAllocator::new());

    #[cfg(feature = "heap-buddy")]
    #[global_allocator]
    static HEAP: Shared<allocator::BuddyByteAllocator> = Shared::new(allocator::BuddyByteAllocator::new());

    /// The firmware policy: size classes over TLSF.
    #[cfg(feature = "heap-firmware")]
    #[global_allocator]
    static HEAP: allocator::policy::Firmware<Arena> = allocator::policy::firmware();

    /// The pool of 32-byte blocks, then TLSF.
    #[cfg(feature = "heap-small-blocks")]
    type SmallBlocks = allocator::policy::SmallBlocks<32, allocator::TlsfByteAllocator>;

    /// Gives the pool an eighth of [`MEMORY`] and TLSF the rest
    /// (`add_static` alone would feed TLSF only).
    #[cfg(feature = "heap-small-blocks")]
    pub struct SplitArena;

    #[cfg(feature = "heap-small-blocks")]
    impl InitHeap<SmallBlocks> for SplitArena {
        fn init(heap: &mut SmallBlocks) -> AllocResult {
            let memory = MEMORY.take().ok_or(AllocError::AlreadyInitialized)?;
            let (pool, rest) = memory.split_at_mut(super::ARENA / 8);
            // SAFETY: `pool` is borrowed for `'static` and exclusively (taken
            // once from `MEMORY`), and never released: the heap's for good.
            unsafe { heap.init(pool.as_mut_ptr().cast(), pool.len()) }?;
            heap.add_static(rest)
        }
    }

    #[cfg(feature = "heap-small-blocks")]
    #[global_allocator]
    static HEAP: allocator::Locked<SmallBlocks, allocator::CriticalSectionLock, SplitArena> =
        allocator::Locked::new(allocator::policy::SmallBlocks::new(
            allocator::policy::Pool::new(),
            allocator::TlsfByteAllocator::new(),
        ));
}

#[entry]
fn main() -> ! {
    #[cfg(any(feature = "peer-embedded-llff", feature = "peer-embedded-tlsf", feature = "peer-talc"))]
    peer::init();
    #[cfg(any(
        feature = "heap",
        feature = "peer-embedded-llff",
        feature = "peer-embedded-tlsf",
        feature = "peer-talc"
    ))]
    let ok = {
        let boxed = alloc::boxed::Box::new(0x5eed_u32);
        let mut numbers = alloc::vec::Vec::new();
        numbers.extend(0..100u32);
        *boxed == 0x5eed && numbers.iter().sum::<u32>() == 4950
    };
    #[cfg(not(any(
        feature = "heap",
        feature = "peer-embedded-llff",
        feature = "peer-embedded-tlsf",
        feature = "peer-talc"
    )))]
    let ok = true;
    debug::exit(if ok { debug::EXIT_SUCCESS } else { debug::EXIT_FAILURE });
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
