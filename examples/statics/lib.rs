//! Every heap, lock and combinator a firmware or kernel keeps in a
//! `static`, each with an exported name, so that CI can check that all of
//! them land in `.bss` (all zeros: no flash, no copy at boot): with `nm` in
//! the host `statics` example, and with `arm-none-eabi-size` and `nm` on
//! this crate's object built for a Cortex-M. A value with one non-zero byte
//! would land in `.data`.

#![no_std]

use allocator::{
    bitmap::BitAlloc4K,
    compose::{Checked, Fallback, Pool, Refill, Region, Segregator, SizeClasses},
    AllocResult, BitmapIdAllocator, BitmapPageAllocator, BuddyPageAllocator, CpuId, Figures, IdAllocator,
    InitHeap, Locked, PageAllocator, PerCpu, SlabByteAllocator, SpinLock, TicketLock, TlsfByteAllocator,
};

/// One CPU: the index a per-CPU front picks its magazines by.
#[derive(Debug)]
pub struct OneCpu;

// SAFETY: a single CPU, whose heap calls (in this crate: none but the
// figures) are never interrupted by another allocating through the front.
unsafe impl CpuId for OneCpu {
    fn current() -> usize {
        0
    }
}

/// The buddy heap of the statics (blocks up to 2 GiB).
pub type Buddy = allocator::buddy::BuddyByteAllocator<32>;

/// A set-up, as a firmware gives its heap memory.
#[derive(Debug)]
pub struct Arena;

impl InitHeap<TlsfByteAllocator> for Arena {
    fn init(_heap: &mut TlsfByteAllocator) -> AllocResult {
        Ok(())
    }
}

/// A TLSF heap behind a spin lock: on bare metal, the program's global
/// allocator (as in a firmware).
#[cfg_attr(target_os = "none", global_allocator)]
#[no_mangle]
pub static STATIC_LOCKED_TLSF: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
/// The same, set up on first use.
#[no_mangle]
pub static STATIC_LOCKED_TLSF_WITH_INIT: Locked<TlsfByteAllocator, SpinLock, Arena> =
    Locked::new(TlsfByteAllocator::new());
/// A TLSF heap behind a ticket lock.
#[no_mangle]
pub static STATIC_LOCKED_TLSF_TICKET: Locked<TlsfByteAllocator, TicketLock> =
    Locked::new(TlsfByteAllocator::new());
/// A buddy heap.
#[no_mangle]
pub static STATIC_LOCKED_BUDDY: Locked<Buddy> = Locked::new(Buddy::new());
/// A slab heap.
#[no_mangle]
pub static STATIC_LOCKED_SLAB: Locked<SlabByteAllocator> = Locked::new(SlabByteAllocator::new());
/// A bitmap page allocator (64 Ki pages).
#[no_mangle]
pub static STATIC_LOCKED_BITMAP_PAGES: Locked<BitmapPageAllocator<4096>> =
    Locked::new(BitmapPageAllocator::new());
/// A buddy page allocator.
#[no_mangle]
pub static STATIC_LOCKED_BUDDY_PAGES: Locked<BuddyPageAllocator<4096>> =
    Locked::new(BuddyPageAllocator::new());
/// A bitmap id allocator (4 Ki ids).
#[no_mangle]
pub static STATIC_LOCKED_IDS: Locked<BitmapIdAllocator<BitAlloc4K>> = Locked::new(BitmapIdAllocator::new());
/// A pool of 64-byte blocks.
#[no_mangle]
pub static STATIC_LOCKED_POOL: Locked<Pool<64>> = Locked::new(Pool::new());
/// A bump region.
#[no_mangle]
pub static STATIC_LOCKED_REGION: Locked<Region> = Locked::new(Region::new());
/// Small blocks from a pool, the rest from TLSF.
#[no_mangle]
pub static STATIC_LOCKED_SMALL_BLOCKS: Locked<Segregator<256, Pool<256>, TlsfByteAllocator>> =
    Locked::new(Segregator::new(Pool::new(), TlsfByteAllocator::new()));
/// A pool first, TLSF when it is out.
#[no_mangle]
pub static STATIC_LOCKED_FALLBACK: Locked<Fallback<Pool<64>, TlsfByteAllocator>> =
    Locked::new(Fallback::new(Pool::new(), TlsfByteAllocator::new()));
/// A kernel heap: TLSF refilled with pages from a bitmap.
#[no_mangle]
// SAFETY: never given memory here; a kernel gives its page allocator real,
// identity-mapped memory.
pub static STATIC_LOCKED_KERNEL_HEAP: Locked<Refill<TlsfByteAllocator, BitmapPageAllocator<4096>>> =
    Locked::new(unsafe { Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()) });

/// A checked TLSF heap, as a debug build of a firmware keeps it: canaries
/// around every block, a table of up to 256 live blocks and a quarantine of
/// the 16 latest frees, all inside the value (zeros until used).
#[no_mangle]
pub static STATIC_LOCKED_CHECKED: Locked<Checked<TlsfByteAllocator, 256, 16>> =
    Locked::new(Checked::new(TlsfByteAllocator::new()));

/// Size classes (slabs of up to 2 KiB) over TLSF: the firmware policy's
/// heap.
#[no_mangle]
pub static STATIC_LOCKED_SIZE_CLASSES: Locked<SizeClasses<TlsfByteAllocator>> =
    Locked::new(SizeClasses::new(TlsfByteAllocator::new()));
/// Per-CPU magazines (4 CPUs) over size classes over TLSF: a kernel heap.
#[no_mangle]
pub static STATIC_PER_CPU: PerCpu<SizeClasses<TlsfByteAllocator>, OneCpu, 4> =
    PerCpu::new(SizeClasses::new(TlsfByteAllocator::new()));

/// The figures of every static byte heap, and the sizes of the page and
/// id allocators: touches each, so that none is dropped from a binary.
pub fn figures() -> ([AllocResult<Figures>; 13], [AllocResult<usize>; 3]) {
    (
        [
            STATIC_LOCKED_TLSF.figures(),
            STATIC_LOCKED_TLSF_WITH_INIT.figures(),
            STATIC_LOCKED_TLSF_TICKET.figures(),
            STATIC_LOCKED_BUDDY.figures(),
            STATIC_LOCKED_SLAB.figures(),
            STATIC_LOCKED_POOL.figures(),
            STATIC_LOCKED_REGION.figures(),
            STATIC_LOCKED_SMALL_BLOCKS.figures(),
            STATIC_LOCKED_FALLBACK.figures(),
            STATIC_LOCKED_KERNEL_HEAP.figures(),
            STATIC_LOCKED_CHECKED.figures(),
            STATIC_LOCKED_SIZE_CLASSES.figures(),
            STATIC_PER_CPU.figures(),
        ],
        [
            STATIC_LOCKED_BITMAP_PAGES.with(|p| PageAllocator::total_pages(&**p)),
            STATIC_LOCKED_BUDDY_PAGES.with(|p| PageAllocator::total_pages(&**p)),
            STATIC_LOCKED_IDS.with(|i| IdAllocator::size(&**i)),
        ],
    )
}

/// A bare-metal staticlib needs a panic handler; nothing here panics.
#[cfg(target_os = "none")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
