//! A `static` TLSF heap over a static array as the program's allocator,
//! doing real work, then printing its figures.

use std::collections::BTreeMap;

use allocator::{BaseAllocator, Locked, TlsfByteAllocator};

const HEAP_SIZE: usize = 32 << 20;

#[repr(align(4096))]
struct Arena(#[allow(dead_code)] [u8; HEAP_SIZE]);

static mut ARENA: Arena = Arena([0; HEAP_SIZE]);

fn give_memory(heap: &mut TlsfByteAllocator) {
    let start = (&raw mut ARENA) as usize;
    // SAFETY: the arena is used by nothing but the heap, for the whole
    // program, and `Locked` runs this once.
    unsafe { heap.init(start, HEAP_SIZE) }.expect("the arena is a valid region");
}

/// Ready before the runtime's first allocation (which comes before `main`).
#[global_allocator]
static HEAP: Locked<TlsfByteAllocator> = Locked::with_init(TlsfByteAllocator::new(), give_memory);

fn main() {
    let start = HEAP.used_bytes();

    // A word count of a generated text.
    let text: String = (0..20_000).map(|i| format!("word{} ", i % 997)).collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for w in text.split_whitespace() {
        *counts.entry(w).or_default() += 1;
    }
    let busiest = counts.values().max().copied().unwrap_or(0);
    let peak = HEAP.used_bytes();

    // A vector grown to a million elements.
    let squares: Vec<u64> = (0..1_000_000u64).map(|x| x * x).collect();
    let sum: u64 = squares.iter().sum();
    let with_vec = HEAP.used_bytes();
    drop(squares);

    println!("distinct words: {} (the most frequent appears {busiest} times)", counts.len());
    println!("sum of squares below 1e6: {sum}");
    println!("heap: {} bytes total, {} in use at the start", HEAP.total_bytes(), start);
    println!("heap: {} bytes in use after the word count, {} with the vector", peak, with_vec);
    drop(counts);
    drop(text);
    println!("heap: {} bytes in use at the end", HEAP.used_bytes());
    assert!(with_vec > 8_000_000, "the vector lives in our heap");
}
