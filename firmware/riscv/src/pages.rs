//! The page allocator under the heap, used directly, as a kernel does for
//! page tables, DMA buffers and stacks: pages the heap never sees.

use allocator::{prelude::*, BitmapPageAllocator};

use crate::{fail, println, HEAP, PAGE};

/// The kernel's page allocator (inside [`HEAP`]'s `Refill`).
type Pages = BitmapPageAllocator;

/// Runs `f` on the page allocator, under the heap's lock.
fn with_pages<R>(f: impl FnOnce(&mut Pages) -> R) -> R {
    HEAP.depot()
        .with(|heap| {
            // SAFETY: `f` only allocates pages and frees the runs it
            // allocated itself: it neither moves nor replaces the heap, its
            // size classes or its page allocator, and frees no memory that
            // a live block or a slab occupies (those pages are allocated in
            // the page allocator, to the heap). Pages handed out later are
            // the RAM given at boot, which `HEAP`'s construction vouched for.
            let pages = unsafe { heap.get_mut().backing_mut().pages_mut() };
            f(pages)
        })
        .unwrap_or_else(|e| fail!("the heap is unusable: {e}"))
}

/// Pages allocated: to the heap, and to the kernel directly.
pub(crate) fn used() -> usize {
    HEAP.depot().with(|heap| heap.backing().pages().used_pages()).unwrap_or(0)
}

/// Pages managed.
pub(crate) fn total() -> usize {
    HEAP.depot().with(|heap| heap.backing().pages().total_pages()).unwrap_or(0)
}

/// Takes the device tree that qemu placed in RAM (its address is in `a1`
/// at boot) out of the page allocator, so that nothing overwrites it.
pub(crate) fn reserve_device_tree(address: usize) {
    /// The device tree header's magic, big-endian at offset 0; its total
    /// size follows at offset 4.
    const FDT_MAGIC: u32 = 0xd00d_feed;

    if address == 0 || address % 8 != 0 {
        println!("device tree: none passed");
        return;
    }
    let header = core::ptr::with_exposed_provenance::<[u32; 2]>(address);
    // SAFETY: qemu passes the address of the device tree it wrote to RAM
    // (8-aligned, checked above); the header's first 8 bytes are
    // readable, and nothing writes them.
    let [magic, size] = unsafe { header.read_volatile() }.map(u32::from_be);
    if magic != FDT_MAGIC {
        println!("device tree: none at {address:#x}");
        return;
    }
    let first = address - address % PAGE;
    let count = (address + size as usize).next_multiple_of(PAGE) - first;
    let count = count / PAGE;
    match with_pages(|pages| pages.alloc_pages_at(first, count, PAGE)) {
        Ok(_) => println!("device tree: {size} bytes, {count} pages reserved"),
        // Outside the RAM given to the allocator: nothing to keep out.
        Err(allocator::AllocError::InvalidParam) => {
            println!("device tree: {size} bytes, outside the free RAM")
        }
        Err(e) => fail!("the device tree's pages could not be reserved: {e}"),
    }
}

/// Single pages and one run that the check takes.
const SINGLES: usize = 64;
/// The run: 16 pages aligned to 64 KiB.
const RUN_PAGES: usize = 16;
const RUN_ALIGN: usize = 64 * 1024;

/// Allocates [`SINGLES`] pages and a 64 KiB-aligned run from the page
/// allocator, checks that they are aligned, inside `[start, end)`, do not
/// overlap and hold what is written to them, frees them, and prints how
/// many pages are free.
pub(crate) fn check(start: usize, end: usize) {
    let used_before = used();
    // (base, pages) of each run; the last is the aligned run.
    let mut runs = [(0usize, 1usize); SINGLES + 1];
    with_pages(|pages| {
        for (i, run) in runs.iter_mut().enumerate() {
            let (count, align) = if i == SINGLES { (RUN_PAGES, RUN_ALIGN) } else { (1, PAGE) };
            match pages.alloc_pages(count, align) {
                Ok(base) => *run = (base, count),
                Err(e) => fail!("pages: no run of {count} pages aligned to {align}: {e}"),
            }
        }
    });

    for (i, &(base, count)) in runs.iter().enumerate() {
        let align = if i == SINGLES { RUN_ALIGN } else { PAGE };
        if base % align != 0 || base < start || base + count * PAGE > end {
            fail!("pages: run {i} at {base:#x} ({count} pages) is not {align}-aligned inside {start:#x}..{end:#x}");
        }
        for &(other, other_count) in &runs[..i] {
            if base < other + other_count * PAGE && other < base + count * PAGE {
                fail!("pages: run {i} at {base:#x} overlaps the run at {other:#x}");
            }
        }
    }

    // Each run holds its own index, so that two runs sharing memory (which
    // the check above would have caught) would also show here.
    for (i, &(base, count)) in runs.iter().enumerate() {
        // SAFETY: the run is ours (allocated above, checked inside the RAM
        // and apart from the others); the slice ends with this statement.
        let words = unsafe { run_words(base, count) };
        words.iter_mut().enumerate().for_each(|(w, word)| *word = pattern(i, w));
    }
    for (i, &(base, count)) in runs.iter().enumerate() {
        // SAFETY: as above.
        let words = unsafe { run_words(base, count) };
        if let Some(w) = words.iter().enumerate().position(|(w, &word)| word != pattern(i, w)) {
            fail!("pages: run {i} at {base:#x} does not hold what was written at word {w}");
        }
    }

    let checked = runs.iter().map(|&(_, count)| count).sum::<usize>();
    with_pages(|pages| {
        for &(base, count) in &runs {
            // SAFETY: the run was allocated above and nothing uses it any
            // more (`run_words`' slices are gone).
            if let Err(e) = unsafe { pages.dealloc_pages(base, count) } {
                fail!("pages: the run at {base:#x} could not be freed: {e}");
            }
        }
    });
    if used() != used_before {
        fail!("pages: {} pages in use after freeing all, {used_before} before", used());
    }
    let total = total();
    let free = total - used();
    println!("pages: {free} free of 4 KiB ({total} managed; {checked} checked: aligned, distinct, writable)");
}

/// The word written at word `w` of run `i`.
fn pattern(i: usize, w: usize) -> u64 {
    ((i as u64) << 32) | w as u64
}

/// The words of a run of `count` pages at `base`.
///
/// # Safety
/// The run was allocated from the page allocator to the caller (it is RAM
/// given at boot, page-aligned, used by nothing else), and the slice is
/// gone before the run is freed.
unsafe fn run_words<'a>(base: usize, count: usize) -> &'a mut [u64] {
    let words = count * PAGE / core::mem::size_of::<u64>();
    // SAFETY: by the caller's promise the run is readable and writable
    // memory of `words` aligned words, which only this slice reaches.
    unsafe { core::slice::from_raw_parts_mut(core::ptr::with_exposed_provenance_mut(base), words) }
}
