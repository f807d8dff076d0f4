//! Fault injection: the n-th allocation fails, for every n in a range,
//! under real work and under the shadow model. Every failure must surface
//! as an error that is handled, nothing may be corrupted or lost, and the
//! heap must serve requests afterwards.

use core::alloc::Layout;

use allocator_api2::{boxed::Box as Box2, collections::TryReserveError, vec::Vec as Vec2};
use allocator_compose::{FailAfter, Pool, Proxy, Segregator, Stats};
use allocator_core::ByteAllocator;
use allocator_sync::Locked;
use allocator_testkit::{byte, ByteConfig, TestRegion, XorShift};
use allocator_tlsf::TlsfByteAllocator;

type Policy = Proxy<Segregator<256, Pool<256>, TlsfByteAllocator>, (FailAfter, Stats)>;

fn policy(n: u64, small: &TestRegion, large: &TestRegion) -> Locked<Policy> {
    let heap = Locked::new(Proxy::new(
        Segregator::new(Pool::new(), TlsfByteAllocator::new()),
        (FailAfter::nth(n), Stats::new()),
    ));
    // SAFETY: the regions outlive the heap.
    unsafe {
        heap.init(small.ptr(), small.size()).unwrap();
        heap.add_memory(large.ptr(), large.size()).unwrap();
    }
    heap
}

/// Real work with fallible collections: vectors grown with `try_reserve`,
/// boxes made with `try_new_in`, strings of bytes copied between them.
fn work(heap: &Locked<Policy>, seed: u64) -> Result<u64, TryReserveError> {
    let mut rng = XorShift::new(seed);
    let mut lists: Vec2<Vec2<u32, &Locked<Policy>>, &Locked<Policy>> = Vec2::new_in(heap);
    let mut boxes = Vec2::new_in(heap);
    for i in 0..60u32 {
        lists.try_reserve(1)?;
        let mut v = Vec2::new_in(heap);
        let n = rng.range(1, 400);
        v.try_reserve(n)?;
        v.extend((0..n as u32).map(|x| x ^ i));
        lists.push(v);
        if i % 3 == 0 {
            boxes.try_reserve(1)?;
            match Box2::try_new_in([i as u64; 40], heap) {
                Ok(b) => boxes.push(b),
                Err(_) => return Ok(u64::MAX), // a handled failure
            }
        }
        if i % 7 == 0 && lists.len() > 2 {
            let gone = lists.swap_remove(rng.range(0, lists.len() - 1));
            drop(gone);
        }
    }
    let sum = lists.iter().flat_map(|v| v.iter()).map(|&x| u64::from(x)).sum::<u64>()
        + boxes.iter().map(|b| b.iter().sum::<u64>()).sum::<u64>();
    Ok(sum)
}

#[test]
fn every_nth_failure_is_handled_and_the_heap_recovers() {
    let small = TestRegion::new(64 * 1024, 4096, 0);
    let large = TestRegion::new(1 << 20, 4096, 0);
    let clean = {
        let heap = policy(0, &small, &large);
        let sum = work(&heap, 7).expect("no failure injected");
        let requests = heap.with(|h| h.hook().0.requests()).unwrap();
        assert_eq!(heap.figures().unwrap().used, 0);
        (sum, requests)
    };
    assert!(clean.1 > 50, "the work makes {} requests", clean.1);
    for n in 1..=clean.1 + 5 {
        let heap = policy(n, &small, &large);
        let result = work(&heap, 7);
        let (injected, stats) = heap.with(|h| (h.hook().0.injected(), h.hook().1.snapshot())).unwrap();
        if n <= clean.1 {
            assert_eq!(injected, 1, "request {n} was failed");
            assert!(result.is_err() || result == Ok(u64::MAX), "the failure of request {n} surfaced");
            assert_eq!(stats.failures, 1);
        } else {
            assert_eq!(result, Ok(clean.0), "no failure: the same result");
        }
        assert_eq!(heap.figures().unwrap().used, 0, "request {n}: everything was given back");
        assert_eq!(stats.bytes_live, 0);
        let mut heap = heap;
        let h = heap.get_mut().unwrap();
        h.hook_mut().0 = FailAfter::never();
        let l = Layout::from_size_align(300, 8).unwrap();
        let p = h.alloc(l).expect("the heap still serves");
        // SAFETY: just allocated for `l`.
        unsafe { h.dealloc(p, l) };
    }
}

/// Under the shadow model: random sequences with the n-th request failing
/// still keep every block intact and every figure exact.
#[test]
fn injected_failures_never_corrupt_the_heap() {
    let config = ByteConfig::new(64 * 1024).more_regions(&[256 * 1024]).initial_regions(2).cases(4);
    for n in 1..=40 {
        let ops: Vec<byte::ByteOp> = (0..120)
            .map(|i| match i % 5 {
                0..=2 => byte::ByteOp::Alloc { size: 1 + (i * 37) % 3000, align_log2: (i % 4) as u8 },
                3 => byte::ByteOp::Resize {
                    index: i,
                    new_size: 1 + (i * 53) % 5000,
                    align_log2: 3,
                    how: byte::Resize::Realloc,
                },
                _ => byte::ByteOp::Dealloc { index: i * 7 },
            })
            .collect();
        let heap = Proxy::new(
            Segregator::<256, _, _>::new(Pool::<256>::new(), TlsfByteAllocator::new()),
            FailAfter::nth(n),
        );
        allocator_testkit::expect(byte::run_byte_ops(heap, &config, &ops));
    }
}
