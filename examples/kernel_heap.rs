//! The kernel pattern: a page allocator over "physical memory", a byte heap
//! that refills itself from it, and an id allocator handing out process
//! ids.

use core::alloc::Layout;

use allocator::{
    bitmap::{BitAlloc4K, BitAlloc64K, BitmapPageAllocator},
    compose::Refill,
    AllocResult, BitmapIdAllocator, ByteAllocator, IdAllocator, InitHeap, Locked, PageAllocator, SpinLock,
    TlsfByteAllocator,
};

const PAGE: usize = 4096;
/// "Physical memory": 16 MiB that the page allocator hands out.
const PHYS: usize = 16 << 20;

#[repr(align(4096))]
struct Phys(#[allow(dead_code)] [u8; PHYS]);

static mut MEMORY: Phys = Phys([0; PHYS]);

/// The page map is sized for the memory: 4 Ki pages of 4 KiB are `PHYS`
/// exactly, in a 546-byte map (a machine with 64 GiB would name
/// `bitmap::BitAlloc16M`, a 2 MiB map, and keep it in a static as here).
type Pages = BitmapPageAllocator<PAGE, BitAlloc4K>;
const _: () = assert!(Pages::CAPACITY_PAGES * PAGE == PHYS);

type KernelHeap = Refill<TlsfByteAllocator, Pages>;

/// The kernel heap: TLSF, refilled a few pages at a time.
// SAFETY: the page allocator is given `MEMORY` only (in `main`): real,
// identity-mapped memory that nothing else uses.
static KHEAP: Locked<KernelHeap> =
    Locked::new(unsafe { Refill::new(TlsfByteAllocator::new(), Pages::new()) });

/// Process ids 1..=32767, set on first use.
struct PidRange;

impl InitHeap<BitmapIdAllocator<BitAlloc64K>> for PidRange {
    fn init(ids: &mut BitmapIdAllocator<BitAlloc64K>) -> AllocResult {
        ids.set_range(1, 32767)?;
        ids.alloc_fixed_id(1) // pid 1 for init
    }
}

static PIDS: Locked<BitmapIdAllocator<BitAlloc64K>, SpinLock, PidRange> =
    Locked::new(BitmapIdAllocator::new());

struct Task {
    pid: usize,
    stack: core::ptr::NonNull<u8>,
}

const STACK: Layout = match Layout::from_size_align(16 * 1024, 16) {
    Ok(l) => l,
    Err(_) => panic!("a valid layout"),
};

fn spawn() -> Task {
    let pid = PIDS.with(|ids| ids.alloc_id(1, 1)).and_then(|r| r).expect("a free pid");
    let stack = KHEAP.with(|heap| heap.alloc(STACK)).and_then(|r| r).expect("memory for a stack");
    Task { pid, stack }
}

fn exit(task: Task) {
    // SAFETY: the stack came from the kernel heap for `STACK`.
    KHEAP.with(|heap| unsafe { heap.dealloc(task.stack, STACK) }).expect("the heap is usable");
    PIDS.with(|ids| ids.dealloc_id(task.pid, 1)).and_then(|r| r).expect("a live pid");
}

fn main() {
    // SAFETY: the memory is the page allocator's alone, for the program;
    // its address is exposed so the heap may use the pages as memory.
    unsafe { KHEAP.init((&raw mut MEMORY).expose_provenance(), PHYS) }.expect("boot memory");

    let tasks: Vec<Task> = (0..100).map(|_| spawn()).collect();
    KHEAP
        .with(|heap| {
            let pages = heap.pages();
            println!(
                "100 tasks: pids {}..={}, heap {} bytes in use, {} of {} pages handed to the heap",
                tasks[0].pid,
                tasks[99].pid,
                heap.used_bytes(),
                pages.used_pages(),
                pages.total_pages()
            );
        })
        .expect("the heap is usable");
    let pids_in_use = PIDS.with(|ids| ids.used()).expect("the pids are usable");
    for t in tasks {
        exit(t);
    }
    let again = spawn();
    println!("after they exit: {} pids were in use; the next task gets pid {}", pids_in_use, again.pid);
    exit(again);
    println!("heap in use at the end: {} bytes", KHEAP.figures().expect("the heap is usable").used);
}
