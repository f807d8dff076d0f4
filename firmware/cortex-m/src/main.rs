//! A Cortex-M firmware on the library's heaps, run under qemu-system-arm:
//! the Cortex-M3 build on the lm3s6965evb board (64 KiB of RAM, a 48 KiB
//! heap), the Cortex-M0 build on the micro:bit (16 KiB of RAM, an 8 KiB
//! heap).
//!
//! 1. **Every backend on the board's heap.** Before the firmware uses its
//!    heap memory, each backend and small-heap policy is given the same
//!    memory in turn and filled with 512-byte blocks, then with 16-byte
//!    blocks, asked for its largest block, and churned with mixed sizes.
//!    Every block is written whole and checked before it is freed (two
//!    blocks sharing a byte are caught), and a second fill must fit as
//!    many blocks as the first (a lost free is caught). A backend whose
//!    documentation puts its minimum above the heap must refuse the heap
//!    with the documented error.
//! 2. **The firmware heap as the global allocator**
//!    ([`policy::Firmware`](allocator::policy::Firmware): size classes
//!    over TLSF behind a critical section; TLSF alone on the Cortex-M0's
//!    8 KiB): collections, out of memory through the fallible paths, and a
//!    SysTick handler that allocates through `Box` and `Vec` while the main
//!    loop allocates.
//!
//! Every line it prints is checked by CI; it exits through semihosting,
//! with a failure on any broken check or panic.

#![no_std]
#![no_main]

extern crate alloc;

use alloc::{boxed::Box, collections::BTreeMap, format, string::String, vec::Vec};
use core::{
    alloc::Layout,
    mem::size_of,
    panic::PanicInfo,
    ptr::{self, NonNull},
    sync::atomic::{AtomicBool, AtomicU32, Ordering},
};

use allocator::{
    compose::SizeClasses,
    policy::{Pool, SmallBlocks},
    AllocError, BaseAllocator, BuddyByteAllocator, ByteAllocator, SlabByteAllocator, StaticMemory,
    TlsfByteAllocator,
};
use cortex_m::peripheral::{syst::SystClkSource, Peripherals};
use cortex_m_rt::{entry, exception};
use cortex_m_semihosting::{debug, hprintln};

/// The heap: 48 KiB of the Cortex-M3's 64 KiB of RAM, 8 KiB of the
/// Cortex-M0's 16 KiB (the rest is the stack and the program's statics).
const HEAP_SIZE: usize = if cfg!(target_has_atomic = "ptr") { 48 * 1024 } else { 8 * 1024 };

/// The heap's memory, in `.bss`: zeroed at boot, no flash.
static MEMORY: StaticMemory<HEAP_SIZE> = StaticMemory::new();

/// The global allocator. It starts empty; `main` gives it [`MEMORY`]
/// once the backends have been tried on that memory.
///
/// The Cortex-M3's 48 KiB heap is the firmware policy: size classes over
/// TLSF, behind a critical section. The Cortex-M0's 8 KiB heap is TLSF
/// alone behind the critical section: with a dozen sizes live at once,
/// the size classes' slabs (up to 2 KiB each) would take most of 8 KiB
/// (the policy's documentation gives 16 KiB as its smallest heap).
#[cfg(target_has_atomic = "ptr")]
#[global_allocator]
static HEAP: allocator::policy::Firmware = allocator::policy::firmware();
#[cfg(not(target_has_atomic = "ptr"))]
#[global_allocator]
static HEAP: allocator::Locked<TlsfByteAllocator, allocator::CriticalSectionLock> =
    allocator::Locked::new(TlsfByteAllocator::new());

/// How many times the SysTick handler allocated (it alone writes it).
static TICKS: AtomicU32 = AtomicU32::new(0);
/// Set by the SysTick handler when a block it allocated was not intact.
static TICK_BROKEN: AtomicBool = AtomicBool::new(false);

/// A check failed; it printed why (without allocating: the heap may be
/// what failed).
struct Failed;

/// Prints `FAILED: ` and the message, and returns `Err(Failed)` from the
/// enclosing function.
macro_rules! fail {
    ($($arg:tt)*) => {{
        hprintln!("FAILED: {}", format_args!($($arg)*));
        return Err(Failed);
    }};
}

#[entry]
fn main() -> ! {
    if run().is_ok() {
        hprintln!("all checks passed");
        debug::exit(debug::EXIT_SUCCESS);
    } else {
        debug::exit(debug::EXIT_FAILURE);
    }
    loop {
        cortex_m::asm::wfi();
    }
}

fn run() -> Result<(), Failed> {
    let Some(memory) = MEMORY.take() else { fail!("the heap memory was taken twice") };
    let (start, size) = (memory.as_mut_ptr().cast::<u8>(), memory.len());
    hprintln!("heap: {} KiB at {:#010x}", size / 1024, start as usize);

    // 1. Each backend on the heap's memory, one after the other. Nothing
    // allocates from the global heap here: it has no memory yet.
    // SAFETY (for every `try_backend` below): `memory` is this program's
    // alone, and each trial heap is dropped before the next one, or the
    // global heap, is given the same memory.
    unsafe {
        // TLSF: its whole heap but one size class, a sixteenth of its
        // power of two (its README: it searches only classes whose every
        // block fits); a buddy heap: the largest naturally aligned power
        // of two inside the memory (its README), which depends on where
        // the memory lies.
        let whole = size - size / 16;
        let aligned = largest_aligned_block(start as usize, size);
        try_backend(
            "tlsf",
            TlsfByteAllocator::new(),
            start,
            size,
            Expect::Fits { fill_512: 90, largest: whole },
        )?;
        try_backend(
            "buddy",
            BuddyByteAllocator::new(),
            start,
            size,
            Expect::Fits { fill_512: 90, largest: aligned },
        )?;
        try_backend(
            "size classes over tlsf",
            SizeClasses::<TlsfByteAllocator>::new(TlsfByteAllocator::new()),
            start,
            size,
            Expect::Fits { fill_512: 80, largest: whole },
        )?;
        try_backend(
            "size classes over buddy",
            SizeClasses::<BuddyByteAllocator>::new(BuddyByteAllocator::new()),
            start,
            size,
            Expect::Fits { fill_512: 80, largest: aligned },
        )?;
        try_small_blocks(start, size)?;
        // The slab backend needs a first region of 32 KiB
        // (`MIN_FIRST_REGION`), and refills a class of `n`-byte blocks
        // with one naturally aligned `64 × n`-byte buddy block (its
        // README): 4 KiB blocks never fit here, 512-byte ones only if a
        // 32 KiB-aligned 32 KiB block lies inside the heap.
        let slab = if size >= 32 * 1024 {
            let serves_512 = largest_aligned_block(start as usize, size) >= 64 * 512;
            Expect::Partly { fill_512: if serves_512 { 60 } else { 0 }, refused: 4096 }
        } else {
            Expect::Refuses(AllocError::InvalidParam)
        };
        try_backend("slab", SlabByteAllocator::new(), start, size, slab)?;
    }

    // 2. The firmware heap, as the global allocator.
    if let Err(e) = HEAP.with(|heap| heap.add_static(memory)).and_then(|r| r) {
        fail!("adding the heap memory: {e}");
    }
    let kept = collections()?;
    out_of_memory(&kept)?;
    interrupts()?;
    drop(kept);
    let Ok(figures) = HEAP.figures() else { fail!("the heap's figures") };
    hprintln!("after dropping: {} bytes in use of {}", figures.used, figures.total);
    if figures.used != 0 {
        fail!("{} bytes still in use after everything was dropped", figures.used);
    }
    Ok(())
}

/// What a backend should do with the board's heap.
enum Expect {
    /// Serve it: 512-byte blocks fill at least `fill_512` % of it, and a
    /// block of `largest` bytes fits in the empty heap.
    Fits { fill_512: usize, largest: usize },
    /// Serve it, at least `fill_512` % with 512-byte blocks (none if 0),
    /// but refuse a block of `refused` bytes with `NoMemory` (a documented
    /// refill larger than the heap).
    Partly { fill_512: usize, refused: usize },
    /// Refuse the memory with this error (a documented minimum region).
    Refuses(AllocError),
}

/// Gives `heap` the memory and checks it as `expect` says.
///
/// # Safety
/// `[start, start + size)` is memory nothing else uses until this returns.
unsafe fn try_backend<B: ByteAllocator<Addr = *mut u8>>(
    name: &str,
    mut heap: B,
    start: *mut u8,
    size: usize,
    expect: Expect,
) -> Result<(), Failed> {
    // SAFETY: forwarded from the caller.
    let given = unsafe { heap.init(start, size) };
    match (given, &expect) {
        (Err(e), Expect::Refuses(want)) if e == *want => {
            hprintln!("{}: refuses a {} KiB heap: {} (as documented)", name, size / 1024, e);
            return Ok(());
        }
        (Err(e), _) => fail!("{name}: refused the heap: {e}"),
        (Ok(()), Expect::Refuses(want)) => fail!("{name}: took the heap, expected {want}"),
        (Ok(()), _) => {}
    }
    check_heap(name, &mut heap, size, &expect)
}

/// The small-blocks policy: a pool of 64-byte blocks (an eighth of the
/// memory) before TLSF (the rest).
///
/// # Safety
/// As [`try_backend`].
unsafe fn try_small_blocks(start: *mut u8, size: usize) -> Result<(), Failed> {
    let mut heap: SmallBlocks<64, TlsfByteAllocator> =
        SmallBlocks::new(Pool::new(), TlsfByteAllocator::new());
    let pool = size / 8;
    // SAFETY: forwarded from the caller; the two parts do not overlap.
    let given =
        unsafe { heap.init(start, pool).and_then(|()| heap.add_memory(start.add(pool), size - pool)) };
    if let Err(e) = given {
        fail!("small blocks: refused the heap: {e}");
    }
    let rest = size - pool;
    let expect = Expect::Fits { fill_512: 80, largest: rest - rest / 16 };
    check_heap("small blocks (64 B pool, then tlsf)", &mut heap, size, &expect)
}

/// Fills, sizes and churns a heap that was given `size` bytes; checks
/// every block and that everything is freed.
fn check_heap<B: ByteAllocator<Addr = *mut u8>>(
    name: &str,
    heap: &mut B,
    size: usize,
    expect: &Expect,
) -> Result<(), Failed> {
    let big = Layout::from_size_align(512, 8).unwrap();
    let small = Layout::from_size_align(16, 8).unwrap();
    let (blocks_512, blocks_16, largest, mixed, again) = match (|| -> Result<_, &str> {
        Ok((
            fill(heap, big)?,
            fill(heap, small)?,
            largest_block(heap, size),
            churn(heap, 3000)?,
            fill(heap, big)?,
        ))
    })() {
        Ok(all) => all,
        Err(why) => fail!("{name}: {why}"),
    };
    let used = heap.figures().used;
    let percent = |n: usize, each: usize| n * each * 100 / size;
    hprintln!(
        "{}: {} KiB heap; 512 B blocks: {} ({} %); 16 B blocks: {} ({} %); largest block {} B; {} mixed operations; {} bytes in use after",
        name,
        size / 1024,
        blocks_512,
        percent(blocks_512, 512),
        blocks_16,
        percent(blocks_16, 16),
        largest,
        mixed,
        used
    );
    if again != blocks_512 {
        fail!("{name}: a second fill took {again} blocks of 512 B, the first {blocks_512}: a free was lost");
    }
    if used != 0 {
        fail!("{name}: {used} bytes in use after every block was freed");
    }
    let floor = match expect {
        Expect::Fits { fill_512, largest: at_least } => {
            if largest < *at_least {
                fail!("{name}: the largest block is {largest} B, expected {at_least} B or more");
            }
            *fill_512
        }
        Expect::Partly { fill_512, .. } => *fill_512,
        Expect::Refuses(_) => 0,
    };
    if percent(blocks_512, 512) < floor || (floor == 0 && blocks_512 != 0) {
        fail!(
            "{name}: 512-byte blocks filled {} % of the heap, expected {floor} % or more (none if 0)",
            percent(blocks_512, 512)
        );
    }
    if let Expect::Partly { refused, .. } = expect {
        let layout = Layout::from_size_align(*refused, 8).unwrap();
        match heap.alloc(layout) {
            Err(AllocError::NoMemory) => {
                hprintln!("{}: a {} B block is refused: out of memory (as documented)", name, refused);
            }
            Err(e) => fail!("{name}: a {refused} B block: {e}, expected NoMemory"),
            Ok(block) => {
                // SAFETY: just allocated with this layout.
                unsafe { heap.dealloc(block, layout) };
                fail!("{name}: served a {refused} B block its documentation says it cannot");
            }
        }
    }
    Ok(())
}

/// A block's header: the block allocated before it, and that address
/// inverted (so a header overwritten by a neighbour is noticed before it
/// is followed).
#[repr(C)]
struct Link {
    previous: *mut Link,
    check: usize,
}

/// The byte at offset `j` of the `i`-th block of a fill.
fn pattern(i: usize, j: usize) -> u8 {
    (i.wrapping_mul(131) ^ j.wrapping_mul(7) ^ 0x5a) as u8
}

/// Allocates blocks of `layout` until the heap refuses one, writing each
/// whole; then checks and frees them all, last first. Returns how many
/// fitted.
fn fill<B: ByteAllocator<Addr = *mut u8>>(heap: &mut B, layout: Layout) -> Result<usize, &'static str> {
    let header = size_of::<Link>();
    let mut last: *mut Link = ptr::null_mut();
    let mut count = 0;
    while let Ok(block) = heap.alloc(layout) {
        let p = block.as_ptr();
        // SAFETY: a fresh block of `layout.size()` bytes (at least a
        // `Link`, aligned for one), ours to write.
        unsafe {
            p.cast::<Link>().write(Link { previous: last, check: !(last as usize) });
            for j in header..layout.size() {
                p.add(j).write(pattern(count, j));
            }
        }
        last = p.cast();
        count += 1;
    }
    let mut left = count;
    while !last.is_null() {
        left -= 1;
        let p = last.cast::<u8>();
        // SAFETY: `last` is a live block written above, `layout.size()`
        // bytes long.
        let (link, intact) = unsafe {
            let link = last.read();
            (link, (header..layout.size()).all(|j| p.add(j).read() == pattern(left, j)))
        };
        if !intact || link.check != !(link.previous as usize) {
            return Err("a block was overwritten: two blocks share memory");
        }
        // SAFETY: allocated above with `layout`, freed once.
        unsafe { heap.dealloc(NonNull::new_unchecked(p), layout) };
        last = link.previous;
    }
    Ok(count)
}

/// The largest naturally aligned power-of-two block inside
/// `[start, start + size)`: a buddy heap's largest block there.
fn largest_aligned_block(start: usize, size: usize) -> usize {
    let end = start + size;
    let mut block = 1 << (usize::BITS - 1 - size.leading_zeros());
    while block > 1 && (start.next_multiple_of(block) + block > end) {
        block /= 2;
    }
    block
}

/// The largest block (8-byte aligned, to 8 bytes) the heap serves now.
fn largest_block<B: ByteAllocator<Addr = *mut u8>>(heap: &mut B, size: usize) -> usize {
    let (mut fits, mut fails) = (0, size + 8);
    while fails - fits > 8 {
        let mid = (fits + fails) / 2 & !7;
        let layout = Layout::from_size_align(mid.max(8), 8).unwrap();
        match heap.alloc(layout) {
            Ok(block) => {
                // SAFETY: just allocated with `layout`.
                unsafe { heap.dealloc(block, layout) };
                fits = mid.max(8);
            }
            Err(_) => fails = mid,
        }
    }
    fits
}

/// A small random-number generator (xorshift), the same on every run.
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

/// `operations` allocations and frees of random sizes (1 B … 1.5 KiB) and
/// alignments (1 … 64), up to 24 blocks live; each block is filled with
/// its own byte and checked when freed. Returns how many operations ran.
fn churn<B: ByteAllocator<Addr = *mut u8>>(heap: &mut B, operations: u32) -> Result<u32, &'static str> {
    let mut live: [Option<(NonNull<u8>, Layout, u8)>; 24] = [None; 24];
    let mut rng = Rng(0x2545_f491);
    let check = |block: NonNull<u8>, layout: Layout, byte: u8| {
        // SAFETY: a live block of `layout.size()` bytes, filled with `byte`.
        (0..layout.size()).all(|j| unsafe { block.as_ptr().add(j).read() } == byte)
    };
    for op in 0..operations {
        let slot = rng.next() as usize % live.len();
        match live[slot].take() {
            Some((block, layout, byte)) => {
                if !check(block, layout, byte) {
                    return Err("a block changed while it was live: two blocks share memory");
                }
                // SAFETY: allocated below with `layout`, freed once.
                unsafe { heap.dealloc(block, layout) };
            }
            None => {
                let size = 1 + rng.next() as usize % 1536;
                let align = 1 << (rng.next() % 7);
                let layout = Layout::from_size_align(size, align).unwrap();
                if let Ok(block) = heap.alloc(layout) {
                    if block.as_ptr() as usize % align != 0 {
                        return Err("a block is not aligned as asked");
                    }
                    let byte = op as u8;
                    // SAFETY: a fresh block of `size` bytes.
                    unsafe { block.as_ptr().write_bytes(byte, size) };
                    live[slot] = Some((block, layout, byte));
                }
            }
        }
    }
    for (block, layout, byte) in live.iter_mut().filter_map(Option::take) {
        if !check(block, layout, byte) {
            return Err("a block changed while it was live: two blocks share memory");
        }
        // SAFETY: allocated above with `layout`, freed once.
        unsafe { heap.dealloc(block, layout) };
    }
    Ok(operations)
}

/// Collections on the global heap; returns some of them, kept across the
/// out-of-memory check.
fn collections() -> Result<(Vec<u32>, BTreeMap<String, usize>), Failed> {
    // Sized to a fifth of the heap or so.
    let (count, keys) = (HEAP_SIZE / 96, HEAP_SIZE / 480);
    let squares: Vec<u32> = (0..count as u32).map(|i| i * i).collect();
    let mut names = BTreeMap::new();
    for i in 0..keys {
        names.insert(format!("sensor-{i:03}"), i * 3);
    }
    let boxed: Box<[u8]> = (0..=255).collect();
    let sum: u64 = squares.iter().map(|&s| u64::from(s)).sum();
    let n = count as u64;
    let expected = (n - 1) * n * (2 * n - 1) / 6;
    if sum != expected
        || names.len() != keys
        || boxed.iter().map(|&b| usize::from(b)).sum::<usize>() != 32_640
    {
        fail!("collections: wrong contents");
    }
    let Ok(figures) = HEAP.figures() else { fail!("the heap's figures") };
    let used = figures.used;
    hprintln!(
        "collections: Vec of {}, BTreeMap of {} strings, Box<[u8]> of 256; {} bytes in use",
        count,
        keys,
        used
    );
    Ok((squares, names))
}

/// More than the heap, through the fallible paths: refused with an
/// error, and what was allocated before is intact.
fn out_of_memory(kept: &(Vec<u32>, BTreeMap<String, usize>)) -> Result<(), Failed> {
    let mut too_big: Vec<u8> = Vec::new();
    if too_big.try_reserve(2 * HEAP_SIZE).is_ok() {
        fail!("out of memory: Vec::try_reserve of twice the heap succeeded");
    }
    let huge = Layout::from_size_align(2 * HEAP_SIZE, 8).unwrap();
    match HEAP.with(|heap| heap.alloc(huge)) {
        Ok(Err(AllocError::NoMemory)) => {}
        other => fail!("out of memory: a direct allocation of twice the heap gave {other:?}"),
    }
    let (squares, names) = kept;
    let intact = squares.iter().enumerate().all(|(i, &s)| s as usize == i * i)
        && names.iter().enumerate().all(|(i, (k, &v))| *k == format!("sensor-{i:03}") && v == i * 3);
    if !intact {
        fail!("out of memory: earlier collections changed");
    }
    hprintln!("out of memory: reported (NoMemory), nothing lost");
    Ok(())
}

/// SysTick fires while the main loop allocates and frees; its handler
/// allocates too. The firmware heap's lock is a critical section, so a
/// handler never finds the heap half-changed.
fn interrupts() -> Result<(), Failed> {
    let Some(mut peripherals) = Peripherals::take() else { fail!("the core peripherals were taken") };
    let syst = &mut peripherals.SYST;
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(20_000);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();

    let mut ring: [Option<Vec<u8>>; 12] = Default::default();
    let mut rng = Rng(0x9e37_79b9);
    let mut operations: u32 = 0;
    while TICKS.load(Ordering::Relaxed) < 100 && operations < 2_000_000 {
        let slot = rng.next() as usize % ring.len();
        if let Some(v) = ring[slot].take() {
            let byte = v.len() as u8;
            if v.iter().any(|&b| b != byte) {
                syst.disable_interrupt();
                fail!("interrupts: a main-loop block changed while it was live");
            }
        } else {
            // Up to 12 blocks of at most a 64th of the heap each live.
            let len = 1 + rng.next() as usize % (HEAP_SIZE / 64);
            ring[slot] = Some(alloc::vec![len as u8; len]);
        }
        operations += 1;
    }
    syst.disable_interrupt();
    syst.disable_counter();
    drop(ring);
    let ticks = TICKS.load(Ordering::Relaxed);
    if ticks < 100 {
        fail!("interrupts: SysTick allocated {ticks} times in {operations} main-loop operations");
    }
    if TICK_BROKEN.load(Ordering::Relaxed) {
        fail!("interrupts: a block the handler allocated was not intact");
    }
    hprintln!(
        "interrupts: the handler allocated {} times while the main loop ran {} operations; all intact",
        ticks,
        operations
    );
    Ok(())
}

#[exception]
fn SysTick() {
    let n = TICKS.load(Ordering::Relaxed);
    let boxed = Box::new([n; 8]);
    let numbers: Vec<u32> = (0..n % 64).collect();
    if boxed.iter().any(|&x| x != n) || numbers.iter().enumerate().any(|(i, &x)| x as usize != i) {
        TICK_BROKEN.store(true, Ordering::Relaxed);
    }
    // The handler is the only writer: a load and a store (thumbv6m has no
    // atomic add).
    TICKS.store(n + 1, Ordering::Relaxed);
}

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    hprintln!("FAILED: panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}
