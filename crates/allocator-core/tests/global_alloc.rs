//! `Locked<FirstFit>` as the program's allocator: real work on two threads,
//! and the heap back to where it started afterwards.

use std::{
    alloc::{GlobalAlloc, Layout},
    collections::BTreeMap,
    fmt::Write,
    sync::Once,
};

use allocator_core::Locked;
use allocator_testkit::{FirstFit, XorShift};

const HEAP_SIZE: usize = 64 << 20;

/// The heap's memory: only its address is used.
#[repr(align(4096))]
struct Arena(#[allow(dead_code)] [u8; HEAP_SIZE]);

static mut ARENA: Arena = Arena([0; HEAP_SIZE]);

static HEAP: Locked<FirstFit<8192>> = Locked::new(FirstFit::new());
static INIT: Once = Once::new();

/// The test harness allocates before any test runs, so the heap gets its
/// memory on the first allocation, through a one-time check that does not
/// allocate itself.
struct InitOnFirstUse;

fn heap() -> &'static Locked<FirstFit<8192>> {
    INIT.call_once(|| {
        let start = (&raw mut ARENA) as usize;
        // SAFETY: the arena is used by nothing but the heap, for the whole
        // program; `Once` makes this run exactly once.
        unsafe { HEAP.init(start, HEAP_SIZE) }.expect("the arena is a valid region");
    });
    &HEAP
}

// SAFETY: every call is forwarded to `HEAP`, which upholds the contract.
unsafe impl GlobalAlloc for InitOnFirstUse {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { heap().alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { heap().dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { heap().realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: InitOnFirstUse = InitOnFirstUse;

fn work(seed: u64) -> usize {
    let mut v: Vec<u32> = Vec::new();
    for i in 0..1_000_000 {
        v.push(i);
    }
    assert_eq!(v.iter().map(|&x| x as u64).sum::<u64>(), 999_999 * 1_000_000 / 2);
    drop(v);

    let mut rng = XorShift::new(seed);
    let mut blocks: Vec<Vec<u8>> =
        (0..1500).map(|i| vec![(i % 251) as u8; if i % 2 == 0 { 64 } else { 4096 }]).collect();
    rng.shuffle(&mut blocks);
    for (i, b) in blocks.iter().enumerate() {
        assert!(b.iter().all(|&x| x == b[0]), "block {i} changed");
    }
    drop(blocks);

    let mut map = BTreeMap::new();
    for i in 0..3000u32 {
        let mut s = String::new();
        write!(s, "key-{i:05}-{}", rng.next_u64() % 1000).unwrap();
        map.insert(s, i);
    }
    map.len()
}

#[test]
fn real_work_on_two_threads_returns_the_heap() {
    let used_before = heap().used_bytes();
    let handles: Vec<_> = (0..2).map(|t| std::thread::spawn(move || work(t + 1))).collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 3000);
    }
    assert_eq!(HEAP.used_bytes(), used_before, "the work leaked or the heap miscounted");
    assert_eq!(HEAP.used_bytes() + HEAP.available_bytes(), HEAP.total_bytes());
}
