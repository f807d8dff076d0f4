//! A `static` TLSF heap over a static array as the program's allocator,
//! doing real work, then printing its figures.

use std::collections::BTreeMap;

use allocator::{
    AllocError, AllocResult, BaseAllocator, InitHeap, Locked, SpinLock, StaticMemory, TlsfByteAllocator,
};

/// The heap's memory: 32 MiB in `.bss`, handed out once.
static ARENA: StaticMemory<{ 32 << 20 }> = StaticMemory::new();

/// Gives the heap its memory on first use: before the runtime's first
/// allocation, which comes before `main`.
struct Arena;

impl InitHeap<TlsfByteAllocator> for Arena {
    fn init(heap: &mut TlsfByteAllocator) -> AllocResult {
        heap.add_static(ARENA.take().ok_or(AllocError::AlreadyInitialized)?)
    }
}

#[global_allocator]
static HEAP: Locked<TlsfByteAllocator, SpinLock, Arena> = Locked::new(TlsfByteAllocator::new());

fn used() -> usize {
    HEAP.figures().expect("the heap is usable").used
}

fn main() {
    let start = used();

    // A word count of a generated text.
    let text: String = (0..20_000).map(|i| format!("word{} ", i % 997)).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for w in text.split_whitespace() {
        *counts.entry(w).or_default() += 1;
    }
    let busiest = counts.values().max().copied().unwrap_or(0);
    let peak = used();

    // A vector grown to a million elements.
    let squares: Vec<u64> = (0..1_000_000u64).map(|x| x * x).collect();
    let sum: u64 = squares.iter().sum();
    let with_vec = used();
    drop(squares);

    println!("distinct words: {} (the most frequent appears {busiest} times)", counts.len());
    println!("sum of squares below 1e6: {sum}");
    let total = HEAP.figures().expect("the heap is usable").total;
    println!("heap: {total} bytes total, {start} in use at the start");
    println!("heap: {peak} bytes in use after the word count, {with_vec} with the vector");
    drop(counts);
    drop(text);
    println!("heap: {} bytes in use at the end", used());
    assert!(with_vec > 8_000_000, "the vector lives in our heap");
}
