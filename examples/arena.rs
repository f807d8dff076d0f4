//! Per-request scratch memory: a `Region` whose scope releases everything a
//! request allocated, so nothing leaks between requests.

use allocator::{compose::Region, BaseAllocator, ByteAllocator};
use allocator_api2::vec::Vec as Vec2;

/// Parses "k=v;k=v" into pairs and sums the values, with all scratch
/// memory in the request's scope.
fn handle(region: &mut Region, request: &str) -> (usize, u64, usize) {
    region.scope(|scratch| {
        let mut fields = Vec2::new_in(scratch);
        for part in request.split(';') {
            if let Some((k, v)) = part.split_once('=') {
                fields.push((k, v.parse::<u64>().unwrap_or(0)));
            }
        }
        // A nested scope for a temporary copy.
        let longest_key = scratch.scope(|tmp| {
            let mut keys: Vec2<&str, _> = Vec2::new_in(tmp);
            keys.extend(fields.iter().map(|f| f.0));
            keys.sort_unstable_by_key(|k| core::cmp::Reverse(k.len()));
            keys.first().map_or(0, |k| k.len())
        });
        assert!(longest_key >= 4);
        (fields.len(), fields.iter().map(|f| f.1).sum(), scratch.used_bytes())
    })
}

fn main() {
    let memory: &'static mut [core::mem::MaybeUninit<u8>] =
        Box::leak(vec![core::mem::MaybeUninit::uninit(); 256 * 1024].into_boxed_slice());
    let mut region = Region::new();
    region.add_static(memory).unwrap();

    let mut peak = 0;
    for n in 1..=100u64 {
        let request: String = (0..n).map(|i| format!("key{i}={};", i * 3)).collect();
        let (count, sum, used) = handle(&mut region, &request);
        assert_eq!((count as u64, sum), (n, 3 * n * (n - 1) / 2));
        peak = peak.max(used);
        assert_eq!(region.used_bytes(), 0, "request {n} left memory behind");
    }
    println!("100 requests served; every request's scratch memory was released");
    println!(
        "the largest request used {peak} bytes of scratch; {} in use between requests",
        region.used_bytes()
    );
}
