//! Every heap, lock and combinator a firmware or kernel keeps in a
//! `static`, each with an exported name, so that CI can check with `nm`
//! that all of them land in `.bss` (all zeros: no flash, no copy at boot).
//! A value with one non-zero byte would land in `.data`.

use allocator::{
    bitmap::BitAlloc4K,
    compose::{Fallback, Pool, Refill, Region, Segregator},
    AllocResult, BitmapIdAllocator, BitmapPageAllocator, BuddyPageAllocator, InitHeap, Locked,
    SlabByteAllocator, SpinLock, TicketLock, TlsfByteAllocator,
};

type Buddy = allocator::buddy::BuddyByteAllocator<32>;

/// A set-up, as a firmware gives its heap memory.
struct Arena;

impl InitHeap<TlsfByteAllocator> for Arena {
    fn init(_heap: &mut TlsfByteAllocator) -> AllocResult {
        Ok(())
    }
}

#[no_mangle]
static STATIC_LOCKED_TLSF: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
#[no_mangle]
static STATIC_LOCKED_TLSF_WITH_INIT: Locked<TlsfByteAllocator, SpinLock, Arena> =
    Locked::new(TlsfByteAllocator::new());
#[no_mangle]
static STATIC_LOCKED_TLSF_TICKET: Locked<TlsfByteAllocator, TicketLock> =
    Locked::new(TlsfByteAllocator::new());
#[no_mangle]
static STATIC_LOCKED_BUDDY: Locked<Buddy> = Locked::new(Buddy::new());
#[no_mangle]
static STATIC_LOCKED_SLAB: Locked<SlabByteAllocator> = Locked::new(SlabByteAllocator::new());
#[no_mangle]
static STATIC_LOCKED_BITMAP_PAGES: Locked<BitmapPageAllocator<4096>> =
    Locked::new(BitmapPageAllocator::new());
#[no_mangle]
static STATIC_LOCKED_BUDDY_PAGES: Locked<BuddyPageAllocator<4096>> = Locked::new(BuddyPageAllocator::new());
#[no_mangle]
static STATIC_LOCKED_IDS: Locked<BitmapIdAllocator<BitAlloc4K>> = Locked::new(BitmapIdAllocator::new());
#[no_mangle]
static STATIC_LOCKED_POOL: Locked<Pool<64>> = Locked::new(Pool::new());
#[no_mangle]
static STATIC_LOCKED_REGION: Locked<Region> = Locked::new(Region::new());
#[no_mangle]
static STATIC_LOCKED_SMALL_BLOCKS: Locked<Segregator<256, Pool<256>, TlsfByteAllocator>> =
    Locked::new(Segregator::new(Pool::new(), TlsfByteAllocator::new()));
#[no_mangle]
static STATIC_LOCKED_FALLBACK: Locked<Fallback<Pool<64>, TlsfByteAllocator>> =
    Locked::new(Fallback::new(Pool::new(), TlsfByteAllocator::new()));
#[no_mangle]
// SAFETY: never given memory here; a kernel gives its page allocator real,
// identity-mapped memory.
static STATIC_LOCKED_KERNEL_HEAP: Locked<Refill<TlsfByteAllocator, BitmapPageAllocator<4096>>> =
    Locked::new(unsafe { Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()) });

fn main() {
    // Touch each, so that none is dropped from the binary.
    let figures = [
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
    ];
    let pages = [
        STATIC_LOCKED_BITMAP_PAGES.with(|p| allocator::PageAllocator::total_pages(&**p)),
        STATIC_LOCKED_BUDDY_PAGES.with(|p| allocator::PageAllocator::total_pages(&**p)),
        STATIC_LOCKED_IDS.with(|i| allocator::IdAllocator::size(&**i)),
    ];
    println!("{} static heaps, {} static page and id allocators, all empty", figures.len(), pages.len());
    assert!(figures.iter().all(|f| f.is_ok_and(|f| f.total == 0)));
}
