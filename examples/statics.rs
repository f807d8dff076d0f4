//! Every heap, lock and combinator a firmware or kernel keeps in a
//! `static` (they are in `allocator-statics`, `examples/statics/lib.rs`),
//! linked into a host program: CI checks with `nm` that all of them land
//! in `.bss`, as it does with `arm-none-eabi-size` on a Cortex-M build.

fn main() {
    let (heaps, pages) = allocator_statics::figures();
    println!("{} static heaps, {} static page and id allocators, all empty", heaps.len(), pages.len());
    assert!(heaps.iter().all(|f| f.is_ok_and(|f| f.total == 0)));
    assert!(pages.iter().all(|n| n.is_ok_and(|n| n == 0)));
}
