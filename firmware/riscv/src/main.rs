//! A RISC-V 64 kernel that checks the allocator toolkit on four harts at
//! once, under `qemu-system-riscv64 -machine virt -bios none -smp 4`.
//!
//! The kernel heap is the library's kernel policy,
//! [`KernelPerCpu`]: per-hart magazines over size classes over TLSF,
//! refilled from a [`BitmapPageAllocator`](allocator::BitmapPageAllocator)
//! that manages the RAM after the kernel image. It is the
//! `#[global_allocator]`, so `Vec`, `Box`, `BTreeMap` and `String` work.
//!
//! 1. Hart 0 zeroes `.bss` (`boot.rs`), gives the RAM to the page
//!    allocator, keeps the device tree's pages out of it, and checks pages
//!    straight from it (`pages.rs`).
//! 2. All four harts allocate at once (`stress.rs`): blocks of 16 B to
//!    8 KiB, each filled with a pattern of its own and checked before it
//!    is freed, some freed by another hart.
//! 3. Hart 0 returns every hart's magazines, checks that the heap is back
//!    to 0 bytes in use and that running out of memory is reported, not
//!    fatal, and stops the machine: status 0 when every check passed.
//!
//! Every line it prints is labelled; a failed check prints `FAIL: …` and
//! stops the machine with a non-zero status.

#![no_std]
#![no_main]

extern crate alloc;

mod boot;
mod console;
mod pages;
mod stress;

use core::{
    alloc::Layout,
    hint::spin_loop,
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
};

use alloc::vec::Vec;
use allocator::{
    policy::{kernel_per_cpu, KernelHeap, KernelPerCpu},
    prelude::*,
    AllocError, CpuId, TlsfByteAllocator,
};

use boot::HARTS;

/// Where RAM ends: qemu's `-m 128M`, from 0x8000_0000.
const RAM_END: usize = 0x8000_0000 + (128 << 20);

/// The page size of the page allocator.
const PAGE: usize = 4096;

/// The index [`HEAP`] picks a hart's magazines by: its hart id.
#[derive(Debug)]
pub struct Hart;

// SAFETY: `current` is the calling hart's `mhartid`, which hardware fixes
// and which differs between harts. Every hart runs in machine mode with
// interrupts disabled (`mie` = 0, `mstatus.MIE` never set) and there is no
// scheduler, so an operation of `HEAP` started on hart `i` runs to its end
// on hart `i` before anything else can run there: no preemption, no
// migration, no interrupt handler. A trap (a fault) runs a handler that
// prints without allocating and stops the machine. Hart 0 flushes another
// hart's magazines (`flush_cpu`) only after that hart has passed the last
// barrier and parked.
unsafe impl CpuId for Hart {
    #[inline]
    fn current() -> usize {
        boot::hart_id()
    }
}

/// The kernel heap: per-hart magazines over size classes over TLSF,
/// refilled from a bitmap page allocator (given the RAM in `boot_hart`).
type Heap = KernelPerCpu<Hart, HARTS>;

#[global_allocator]
static HEAP: Heap = kernel_per_cpu(
    // SAFETY: the page allocator is given only RAM past the kernel image
    // (`boot_hart`), which nothing else uses; there is no MMU in machine
    // mode, so a page's address is the memory, reached through exposed
    // provenance (RAM outside the image belongs to no Rust object).
    unsafe { KernelHeap::new(TlsfByteAllocator::new(), allocator::BitmapPageAllocator::new()) },
);

/// Set by hart 0 when the heap has its memory: the others wait for it.
static HEAP_READY: AtomicBool = AtomicBool::new(false);

/// Harts other than 0 that reached `kernel_main`.
static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Every hart has finished its workload (nothing more is sent).
static WORK_DONE: Barrier = Barrier::new();

/// Every hart has freed what was sent to it: only hart 0 goes on.
static ALL_FREED: Barrier = Barrier::new();

/// A barrier that all [`HARTS`] pass once.
struct Barrier {
    arrived: AtomicUsize,
}

impl Barrier {
    const fn new() -> Self {
        Self { arrived: AtomicUsize::new(0) }
    }

    /// Waits until every hart has called `wait`; what each did before is
    /// visible to all after.
    fn wait(&self) {
        self.arrived.fetch_add(1, Ordering::AcqRel);
        while self.arrived.load(Ordering::Acquire) < HARTS {
            spin_loop();
        }
    }
}

/// Fails the run with a formatted reason.
macro_rules! fail {
    ($($arg:tt)*) => {
        $crate::console::fail(format_args!($($arg)*))
    };
}
pub(crate) use fail;

/// Every hart below [`HARTS`] arrives here from `_start` with its stack.
extern "C" fn kernel_main(hart: usize, device_tree: usize) -> ! {
    if hart == 0 {
        boot_hart(device_tree)
    }
    STARTED.fetch_add(1, Ordering::AcqRel);
    while !HEAP_READY.load(Ordering::Acquire) {
        spin_loop();
    }
    work(hart);
    boot::park()
}

/// The workload every hart runs, then the two barriers.
fn work(hart: usize) {
    stress::run(hart);
    WORK_DONE.wait();
    stress::free_received(hart);
    ALL_FREED.wait();
}

/// Hart 0: gives the heap its memory, checks the page allocator, starts
/// the other harts, runs its own share, then checks the heap and stops the
/// machine.
fn boot_hart(device_tree: usize) -> ! {
    extern "C" {
        /// The end of the image, stacks included (`kernel.ld`).
        static __kernel_end: u8;
    }
    let start = (&raw const __kernel_end).addr().next_multiple_of(PAGE);
    println!("kernel: {HARTS} harts, free RAM {start:#x}..{RAM_END:#x}");

    // SAFETY: `[start, RAM_END)` is RAM past the image and its stacks, used
    // by nothing else for the life of the kernel (qemu's device tree in it
    // is taken out of the page allocator just below).
    if let Err(e) = unsafe { HEAP.depot().init(start, RAM_END - start) } {
        fail!("the page allocator refused the RAM: {e}");
    }
    pages::reserve_device_tree(device_tree);
    pages::check(start, RAM_END);

    let deadline = boot::now() + 2 * boot::TICKS_PER_SECOND;
    while STARTED.load(Ordering::Acquire) < HARTS - 1 {
        if boot::now() > deadline {
            let found = STARTED.load(Ordering::Acquire) + 1;
            fail!("{found} of {HARTS} harts started: run qemu with -smp {HARTS}");
        }
        spin_loop();
    }
    HEAP_READY.store(true, Ordering::Release);
    println!("harts: {HARTS} allocating at once");

    work(0);
    stress::report();
    check_flushed();
    check_out_of_memory();
    println!("kernel: all checks passed");
    console::exit(Ok(()))
}

/// Returns every hart's magazines and the depot's to the heap, and checks
/// that nothing is left in use: every block allocated was freed.
fn check_flushed() {
    let mut returned = 0;
    for cpu in 0..HARTS {
        // SAFETY: the other harts passed `ALL_FREED` and parked: none runs
        // an operation of `HEAP` any more; hart 0 is the caller, between
        // operations.
        returned += unsafe { HEAP.flush_cpu(cpu) }.unwrap_or_else(|e| fail!("hart {cpu}'s magazines: {e}"));
    }
    let drained = HEAP.drain().unwrap_or_else(|e| fail!("the depot could not be drained: {e}"));
    let figures = HEAP.figures().unwrap_or_else(|e| fail!("the heap is unusable: {e}"));
    if figures.used != 0 {
        fail!("heap: {} bytes still in use after flushing every magazine", figures.used);
    }
    println!("heap: 0 bytes in use after flushing");
    println!(
        "heap: {} KiB returned from magazines, {} KiB from the depot, {} pages held of {}",
        returned / 1024,
        drained / 1024,
        pages::used(),
        pages::total()
    );
}

/// Asks for more than the RAM, through `Vec::try_reserve` (the global
/// allocator returns null) and straight from the heap (an error): both
/// must fail cleanly, and leave the heap and its pages as they were.
fn check_out_of_memory() {
    let before = HEAP.figures().unwrap_or_else(|e| fail!("the heap is unusable: {e}"));
    let pages_before = pages::used();
    let too_much = RAM_END - 0x8000_0000 + PAGE;

    let mut bytes: Vec<u8> = Vec::new();
    if bytes.try_reserve(too_much).is_ok() {
        fail!("Vec::try_reserve of {too_much} bytes succeeded on a 128 MiB machine");
    }
    let layout = Layout::from_size_align(too_much, 16).unwrap_or_else(|e| fail!("{e}"));
    match HEAP.depot().with(|heap| heap.alloc(layout)) {
        Ok(Err(AllocError::NoMemory)) => {}
        Ok(Err(e)) => fail!("an allocation of {too_much} bytes failed with {e:?}, not NoMemory"),
        Ok(Ok(_)) => fail!("an allocation of {too_much} bytes succeeded on a 128 MiB machine"),
        Err(e) => fail!("the heap is unusable: {e}"),
    }

    let after = HEAP.figures().unwrap_or_else(|e| fail!("the heap is unusable: {e}"));
    let stranded = HEAP.depot().with(|heap| heap.backing().stranded_pages()).unwrap_or(usize::MAX);
    if after != before || pages::used() != pages_before || stranded != 0 {
        fail!(
            "out of memory changed the heap: {before:?} -> {after:?}, pages {pages_before} -> {}, {stranded} stranded",
            pages::used()
        );
    }
    // The heap still serves.
    let mut after_oom: Vec<u64> = Vec::with_capacity(1000);
    after_oom.extend(0..1000);
    if after_oom.iter().sum::<u64>() != 999 * 1000 / 2 {
        fail!("a vector allocated after out of memory lost its contents");
    }
    println!("out of memory: reported, nothing lost");
}
