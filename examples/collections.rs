//! `allocator_api2`'s `Vec` and `Box` and `hashbrown`'s `HashMap`, living
//! in one of our heaps, on stable Rust; and on nightly (feature
//! `allocator_api`), the standard library's own collections.

#![cfg_attr(feature = "allocator_api", feature(allocator_api))]

use core::mem::MaybeUninit;

use allocator::{ByteAllocator, Locked, TlsfByteAllocator};
use allocator_api2::{boxed::Box as Box2, vec::Vec as Vec2};
use hashbrown::HashMap;

fn main() {
    let memory: &'static mut [MaybeUninit<u8>] =
        Box::leak(vec![MaybeUninit::uninit(); 4 << 20].into_boxed_slice());
    let heap: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
    heap.add_static(memory).unwrap();
    let used = || heap.with(|h| h.used_bytes()).unwrap();

    let mut primes: Vec2<u32, _> = Vec2::new_in(&heap);
    primes.extend((2..10_000u32).filter(|n| (2..*n).take_while(|d| d * d <= *n).all(|d| n % d != 0)));
    let boxed = Box2::new_in([1u64; 64], &heap);
    let mut index: HashMap<u32, usize, _, _> = HashMap::with_capacity_in(2000, &heap);
    for (i, p) in primes.iter().enumerate() {
        index.insert(*p, i);
    }
    println!(
        "stable: {} primes below 10000, prime #{} is 7919, {} bytes of our heap in use",
        primes.len(),
        index[&7919] + 1,
        used()
    );
    assert_eq!(boxed.iter().sum::<u64>(), 64);
    drop((primes, boxed, index));
    assert_eq!(used(), 0);

    #[cfg(feature = "allocator_api")]
    {
        let mut v: Vec<u8, &Locked<TlsfByteAllocator>> = Vec::new_in(&heap);
        v.extend_from_slice(b"core::alloc::Allocator");
        let b = Box::new_in(v.len(), &heap);
        println!("nightly: std Vec and Box in our heap: {} bytes ({} in use)", *b, used());
    }
    println!("after dropping: {} bytes in use", used());
}
