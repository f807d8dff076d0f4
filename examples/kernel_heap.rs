//! The kernel pattern: a page allocator over "physical memory", a byte heap
//! that refills itself from it, and an id allocator handing out process
//! ids.

use core::alloc::Layout;

use allocator::{
    bitmap::BitAlloc64K, compose::Refill, BitmapIdAllocator, BitmapPageAllocator, ByteAllocator, IdAllocator,
    Locked, PageAllocator, TlsfByteAllocator,
};

const PAGE: usize = 4096;
/// "Physical memory": 16 MiB that the page allocator hands out.
const PHYS: usize = 16 << 20;

#[repr(align(4096))]
struct Phys(#[allow(dead_code)] [u8; PHYS]);

static mut MEMORY: Phys = Phys([0; PHYS]);

/// The kernel heap: TLSF, refilled a few pages at a time.
static KHEAP: Locked<Refill<TlsfByteAllocator, BitmapPageAllocator<PAGE>>> =
    Locked::new(Refill::new(TlsfByteAllocator::new(), BitmapPageAllocator::new()));

/// Process ids 1..=32767.
static PIDS: Locked<BitmapIdAllocator<BitAlloc64K>> = Locked::new(BitmapIdAllocator::new());

struct Task {
    pid: usize,
    stack: core::ptr::NonNull<u8>,
}

const STACK: Layout = match Layout::from_size_align(16 * 1024, 16) {
    Ok(l) => l,
    Err(_) => panic!("a valid layout"),
};

fn spawn() -> Task {
    let pid = PIDS.lock().alloc_id(1, 1).expect("a free pid");
    let stack = KHEAP.lock().alloc(STACK).expect("memory for a stack");
    Task { pid, stack }
}

fn exit(task: Task) {
    // SAFETY: the stack came from the kernel heap for `STACK`.
    unsafe { KHEAP.lock().dealloc(task.stack, STACK) };
    PIDS.lock().dealloc_id(task.pid, 1).expect("a live pid");
}

fn main() {
    // SAFETY: the memory is the page allocator's alone, for the program.
    unsafe { KHEAP.init((&raw mut MEMORY) as usize, PHYS) }.expect("boot memory");
    PIDS.lock().set_range(1, 32767).expect("the pid range");
    PIDS.lock().alloc_fixed_id(1).expect("pid 1 for init");

    let tasks: Vec<Task> = (0..100).map(|_| spawn()).collect();
    {
        let heap = KHEAP.lock();
        let pages = heap.pages();
        println!(
            "100 tasks: pids {}..={}, heap {} bytes in use, {} of {} pages handed to the heap",
            tasks[0].pid,
            tasks[99].pid,
            heap.used_bytes(),
            pages.used_pages(),
            pages.total_pages()
        );
    }
    let pids_in_use = PIDS.lock().used();
    for t in tasks {
        exit(t);
    }
    let again = spawn();
    println!("after they exit: {} pids were in use; the next task gets pid {}", pids_in_use, again.pid);
    exit(again);
    println!("heap in use at the end: {} bytes", KHEAP.lock().used_bytes());
}
