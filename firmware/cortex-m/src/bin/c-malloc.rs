//! C code on the firmware's heap: `c/app.c`, compiled by the target's gcc,
//! calls `malloc`, `free`, `calloc`, `realloc`, `aligned_alloc`,
//! `posix_memalign` and `malloc_usable_size`, which this program exports
//! over the same heap as Rust's `Box` (`allocator_malloc::export_c_abi!`),
//! with `errno` where newlib's headers read it. Rust holds a `Box` and a
//! `Vec` while the C code runs; afterwards the heap holds exactly those,
//! and nothing once they are dropped. Runs on the Cortex-M3 under
//! qemu-system-arm (`firmware/run.sh cortex-m3-c`).

#![no_std]
#![no_main]

extern crate alloc;

use core::{cell::UnsafeCell, ffi::c_int, panic::PanicInfo};

use allocator::{
    AllocError, AllocResult, BaseAllocator, CriticalSectionLock, InitHeap, Locked, StaticMemory,
    TlsfByteAllocator,
};
use allocator_malloc::Error;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};

static MEMORY: StaticMemory<{ 32 * 1024 }> = StaticMemory::new();

/// Gives the heap [`MEMORY`] on its first use.
struct Arena;

impl InitHeap<TlsfByteAllocator> for Arena {
    fn init(heap: &mut TlsfByteAllocator) -> AllocResult {
        heap.add_static(MEMORY.take().ok_or(AllocError::AlreadyInitialized)?)
    }
}

/// One heap for Rust and C, behind a critical section.
#[global_allocator]
static HEAP: Locked<TlsfByteAllocator, CriticalSectionLock, Arena> = Locked::new(TlsfByteAllocator::new());

/// C's `errno`: one thread, so one `int`.
static ERRNO: Errno = Errno(UnsafeCell::new(0));

/// An `int` C writes through a pointer.
struct Errno(UnsafeCell<c_int>);

// SAFETY: the firmware has one thread and no interrupt handler that
// touches `errno`.
unsafe impl Sync for Errno {}

/// newlib's `errno` is `*__errno()`.
#[no_mangle]
pub extern "C" fn __errno() -> *mut c_int {
    ERRNO.0.get()
}

/// Stores a failure where C reads `errno`.
fn set_errno(error: Error) {
    // SAFETY: one thread; C reads it only after the call that set it.
    unsafe { *ERRNO.0.get() = error.errno() };
}

allocator_malloc::export_c_abi!(heap: HEAP, errno: set_errno, page_size: 1024);

extern "C" {
    /// `c/app.c`: 0 when every check passed, else the failed check's number.
    fn c_heap_checks(sum: *mut u32) -> c_int;
}

#[entry]
fn main() -> ! {
    let boxed = alloc::boxed::Box::new([7u32; 16]);
    let numbers: alloc::vec::Vec<u16> = (0..200).collect();
    let before = HEAP.figures().map(|f| f.used).unwrap_or(usize::MAX);
    let mut sum = 0;
    // SAFETY: the C function writes `sum` and uses only the exported
    // allocation functions.
    let failed = unsafe { c_heap_checks(&mut sum) };
    let after = HEAP.figures().map(|f| f.used).unwrap_or(usize::MAX);
    hprintln!("c: checks returned {}, checksum {}", failed, sum);
    hprintln!("c: {} bytes in use before the C code, {} after", before, after);
    let intact =
        boxed.iter().all(|&x| x == 7) && numbers.iter().enumerate().all(|(i, &n)| usize::from(n) == i);
    drop((boxed, numbers));
    let end = HEAP.figures().map(|f| f.used).unwrap_or(usize::MAX);
    hprintln!("c: {} bytes in use after Rust dropped its blocks", end);
    // 0 + 1 + … + 119 from the list, 1 from the array.
    let ok = failed == 0 && sum == 7141 && after == before && intact && end == 0;
    if ok {
        hprintln!("c: malloc and Box share the heap; all checks passed");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        hprintln!("FAILED: the C checks (see above)");
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("FAILED: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
