//! The ready-made policies under the loads they are made for: the firmware
//! heap with an "interrupt handler" allocating while the main loop does,
//! and the kernel heap with several CPUs freeing each other's blocks.

use core::{
    alloc::{GlobalAlloc, Layout},
    cell::Cell,
    mem::MaybeUninit,
    sync::atomic::{AtomicUsize, Ordering},
};
use std::{sync::mpsc, thread};

use allocator::compose::{Refill, SizeClasses};
use allocator::policy::{firmware, Firmware, KernelPerCpu};
use allocator::{
    AllocError, AllocResult, BaseAllocator, BitmapPageAllocator, ByteAllocator, CpuId, InitHeap, PerCpu,
    StaticMemory, TlsfByteAllocator,
};
use allocator_api2::boxed::Box as ApiBox;
use critical_section as _;

static FIRMWARE_ARENA: StaticMemory<{ 48 * 1024 }> = StaticMemory::new();

struct FirmwareArena;

impl InitHeap<SizeClasses<TlsfByteAllocator>> for FirmwareArena {
    fn init(heap: &mut SizeClasses<TlsfByteAllocator>) -> AllocResult {
        heap.add_static(FIRMWARE_ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
    }
}

static FIRMWARE: Firmware<FirmwareArena> = firmware();

/// The main loop and an "interrupt handler" (a second thread: the critical
/// section keeps them apart as masking interrupts does on one core) both
/// allocate boxes 100,000 times, keeping some alive; every box keeps its
/// contents, nothing deadlocks, and the heap is empty at the end. Then
/// every size class fits the 48 KiB heap, and running out of memory is an
/// error on the fallible path.
#[test]
fn firmware_main_loop_and_interrupt_handler_allocate_at_once() {
    let side = |tag: u8| {
        move || {
            let mut kept: Vec<ApiBox<[u8; 40], &'static Firmware<FirmwareArena>>> = Vec::new();
            for i in 0..100_000u32 {
                let value = [tag ^ i as u8; 40];
                let b = ApiBox::new_in(value, &FIRMWARE);
                assert_eq!(*b, value);
                if i % 7 == 0 && kept.len() < 64 {
                    kept.push(b);
                } else if i % 11 == 0 {
                    kept.pop();
                }
            }
            for b in &kept {
                assert!(b.iter().all(|&x| x == b[0]));
            }
        }
    };
    let isr = thread::spawn(side(0xA5));
    side(0x5A)();
    isr.join().unwrap();
    assert_eq!(FIRMWARE.figures().unwrap().used, 0);

    // Every class, and then some, on the 48 KiB heap.
    for size in [16, 48, 112, 224, 512, 1024, 2048, 4096, 8192] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        let p = FIRMWARE.with(|h| h.alloc(layout)).unwrap().unwrap();
        // SAFETY: allocated just above for `layout`.
        unsafe { FIRMWARE.with(|h| h.dealloc(p, layout)) }.unwrap();
    }
    // Out of memory on the fallible path: an error, and the heap goes on.
    let big = Layout::from_size_align(64 * 1024, 8).unwrap();
    assert_eq!(FIRMWARE.with(|h| h.alloc(big)).unwrap(), Err(AllocError::NoMemory));
    assert!(ApiBox::try_new_in([0u8; 60 * 1024], &FIRMWARE).is_err());
    assert_eq!(FIRMWARE.figures().unwrap().used, 0);
}

/// A distinct index per thread: each test thread is a "CPU".
struct ThreadCpu;

static NEXT_CPU: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every thread gets its own index, once, and runs one heap
// operation at a time.
unsafe impl CpuId for ThreadCpu {
    fn current() -> usize {
        std::thread_local! {
            static CPU: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        CPU.with(|c| {
            if c.get() == usize::MAX {
                c.set(NEXT_CPU.fetch_add(1, Ordering::Relaxed));
            }
            c.get()
        })
    }
}

const PAGE: usize = 4096;
type Kernel = KernelPerCpu<ThreadCpu, 8, PAGE>;

/// Four "CPUs" allocate blocks of 16 B to 6 KiB from the kernel heap
/// (pages from a bitmap as the heap grows), hand one in four to the next
/// CPU to free, and flush their magazines before going "offline"; at the
/// end every page is back in the page allocator.
#[test]
fn kernel_cpus_free_each_others_blocks_and_every_page_comes_back() {
    // SAFETY: the bitmap hands out pages of the region given below only:
    // leaked, 4 KiB-aligned memory that nothing else uses.
    let heap: &'static Kernel = Box::leak(Box::new(PerCpu::new(SizeClasses::new(unsafe {
        Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::<PAGE>::new())
    }))));
    let memory: &'static mut [MaybeUninit<u8>] =
        Box::leak(vec![MaybeUninit::uninit(); 16 << 20 | PAGE].into_boxed_slice());
    let start = memory.as_mut_ptr().expose_provenance().next_multiple_of(PAGE);
    // SAFETY: 16 MiB of the leaked region, page-aligned, for the heap alone.
    unsafe { heap.depot().init(start, 16 << 20) }.unwrap();

    let cpus = 4;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..cpus).map(|_| mpsc::channel::<(usize, Layout)>()).unzip();
    let handles: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(cpu, rx)| {
            let next = txs[(cpu + 1) % cpus].clone();
            thread::spawn(move || {
                let mut live = Vec::new();
                let mut x = 0x2545_f491_4f6c_dd1du64 ^ cpu as u64;
                for i in 0..30_000usize {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let size =
                        if x.is_multiple_of(16) { 4097 + x as usize % 2048 } else { 16 + x as usize % 1024 };
                    let layout = Layout::from_size_align(size, 16).unwrap();
                    // SAFETY: a non-zero size.
                    let p = unsafe { heap.alloc(layout) };
                    assert!(!p.is_null());
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { p.write_bytes(i as u8, size) };
                    live.push((p as usize, layout, i as u8));
                    if live.len() > 200 {
                        let (q, l, tag) = live.swap_remove(x as usize % live.len());
                        // SAFETY: a live block of `l`.
                        assert!(unsafe { core::slice::from_raw_parts(q as *const u8, l.size()) }
                            .iter()
                            .all(|&b| b == tag));
                        if i % 4 == 0 {
                            next.send((q, l)).unwrap();
                        } else {
                            // SAFETY: allocated above for `l`.
                            unsafe { heap.dealloc(q as *mut u8, l) };
                        }
                    }
                    for (q, l) in rx.try_iter() {
                        // SAFETY: another CPU allocated it and gave it up.
                        unsafe { heap.dealloc(q as *mut u8, l) };
                    }
                }
                for (q, l, _) in live {
                    // SAFETY: allocated above.
                    unsafe { heap.dealloc(q as *mut u8, l) };
                }
                drop(next);
                heap.flush_current().unwrap();
                rx
            })
        })
        .collect();
    drop(txs);
    // Every CPU finishes before any receiver goes: a late send must find
    // its receiver.
    let receivers: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    for rx in receivers {
        for (q, l) in rx.try_iter() {
            // SAFETY: sent by a CPU that has finished; freed once.
            unsafe { heap.dealloc(q as *mut u8, l) };
        }
    }
    heap.flush_current().unwrap();
    heap.drain().unwrap();
    assert_eq!(heap.figures().unwrap().used, 0);
}

/// A heap's health read through its lock keeps what a statistics layer
/// adds (requested bytes now and at their peak).
#[test]
fn health_through_a_lock_and_a_depot() {
    use allocator::compose::{Proxy, Stats};
    use allocator::{Depot, Locked};

    let memory = || Box::leak(vec![MaybeUninit::uninit(); 1 << 20].into_boxed_slice());
    let locked: Locked<Proxy<TlsfByteAllocator, Stats>> =
        Locked::new(Proxy::new(TlsfByteAllocator::new(), Stats::new()));
    locked.add_static(memory()).unwrap();
    let layout = Layout::from_size_align(1000, 8).unwrap();
    let p = locked.with(|h| h.alloc(layout)).unwrap().unwrap();
    let health = locked.with(|h| h.health()).unwrap();
    assert_eq!((health.requested, health.peak_requested), (Some(1000), Some(1000)));
    assert!(health.used >= 1000 && health.largest_free.is_some());
    // SAFETY: allocated above for `layout`.
    unsafe { locked.with(|h| h.dealloc(p, layout)) }.unwrap();
    assert_eq!(locked.with(|h| h.health()).unwrap().requested, Some(0));

    let depot: Depot<Proxy<TlsfByteAllocator, Stats>> =
        Depot::new(Proxy::new(TlsfByteAllocator::new(), Stats::new()));
    depot.add_static(memory()).unwrap();
    let health = depot.health().unwrap();
    assert_eq!((health.requested, health.used), (Some(0), 0));
}

/// `SmallBlocks` on a small heap: once its pool is full, small blocks come
/// from the large heap behind it (the pool never fails a request the large
/// heap has room for), and each block is freed to the part it came from.
#[test]
fn small_blocks_overflow_into_the_large_heap_when_the_pool_is_full() {
    use allocator::policy::{Pool, SmallBlocks};
    let memory: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new([MaybeUninit::uninit(); 48 * 1024]));
    let (start, size) = (memory.as_mut_ptr().cast::<u8>(), memory.len());
    let mut heap: SmallBlocks<64, TlsfByteAllocator> =
        SmallBlocks::new(Pool::new(), TlsfByteAllocator::new());
    // SAFETY: leaked memory, the heap's alone: 6 KiB of pool, the rest TLSF.
    unsafe {
        heap.init(start, 6 * 1024).unwrap();
        heap.add_memory(start.add(6 * 1024), size - 6 * 1024).unwrap();
    }
    let small = Layout::from_size_align(16, 8).unwrap();
    let mut blocks = Vec::new();
    while let Ok(block) = heap.alloc(small) {
        blocks.push(block);
    }
    // The pool holds 96 blocks of 64 bytes; TLSF serves the rest.
    assert!(blocks.len() > 1000, "only {} blocks of 16 bytes in a 48 KiB heap", blocks.len());
    assert!(heap.figures().used >= blocks.len() * 16);
    for block in blocks {
        // SAFETY: allocated above with `small`, freed once.
        unsafe { heap.dealloc(block, small) };
    }
    assert_eq!(heap.figures().used, 0);
}
