//! One table of hostile calls across all four traits and the combinators:
//! each must give its documented error, and the allocator must keep
//! working afterwards.
#![cfg(feature = "full")]

use core::{alloc::Layout, ptr::NonNull};

use allocator::{
    bitmap::BitAlloc4K,
    compose::{Fallback, NullAllocator, Pool, Region},
    AllocError, BitmapIdAllocator, BitmapPageAllocator, BuddyByteAllocator, BuddyPageAllocator,
    ByteAllocator, IdAllocator, Owns, PageAllocator, SlabByteAllocator, TlsfByteAllocator,
};

type Check = Box<dyn Fn() -> Result<(), String>>;

fn memory(bytes: usize) -> &'static mut [u8] {
    // Page-aligned, as the slab heap wants it: over-allocate and trim.
    let m = Box::leak(vec![0u8; bytes + 4096].into_boxed_slice());
    let skip = (4096 - m.as_ptr() as usize % 4096) % 4096;
    &mut m[skip..skip + bytes]
}

fn with_memory<A: ByteAllocator>(mut a: A, bytes: usize) -> (A, usize, usize) {
    let m = memory(bytes);
    let (start, size) = (m.as_mut_ptr() as usize, m.len());
    // SAFETY: leaked memory, the heap's for the rest of the program.
    unsafe { a.init(start, size) }.expect("a valid region");
    (a, start, size)
}

/// The heap still serves and frees a block, and its figures add up.
fn still_works<A: ByteAllocator>(a: &mut A) -> Result<(), String> {
    let l = Layout::from_size_align(48, 8).unwrap();
    let p = a.alloc(l).map_err(|e| format!("unusable afterwards: {e}"))?;
    // SAFETY: just allocated for `l`.
    unsafe { a.dealloc(p, l) };
    if a.used_bytes() + a.available_bytes() != a.total_bytes() {
        return Err("figures no longer add up".into());
    }
    Ok(())
}

fn expect<T: core::fmt::Debug>(got: Result<T, AllocError>, want: AllocError) -> Result<(), String> {
    match got {
        Err(e) if e == want => Ok(()),
        other => Err(format!("gave {other:?}, documented {want:?}")),
    }
}

fn expect_err<T: core::fmt::Debug>(got: Result<T, AllocError>) -> Result<(), String> {
    got.map(|v| Err(format!("succeeded with {v:?}"))).unwrap_or(Ok(()))
}

fn l(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// The hostile calls every byte backend gets.
fn byte_cases<A: ByteAllocator + 'static>(
    name: &'static str,
    new: fn() -> A,
    bytes: usize,
) -> Vec<(String, Check)> {
    let huge = isize::MAX as usize - (1 << 20);
    let far_align = 1usize << (usize::BITS - 2);
    let mut v: Vec<(String, Check)> = Vec::new();
    let mut case = |what: &str, check: Check| v.push((format!("{name}: {what}"), check));
    case(
        "zero-size alloc",
        Box::new(move || {
            let (mut a, ..) = with_memory(new(), bytes);
            expect(a.alloc(l(0, 8)), AllocError::InvalidParam)?;
            still_works(&mut a)
        }),
    );
    case(
        "huge alloc",
        Box::new(move || {
            let (mut a, ..) = with_memory(new(), bytes);
            expect_err(a.alloc(l(huge, 1)))?;
            still_works(&mut a)
        }),
    );
    case(
        "alignment 2^(bits-2)",
        Box::new(move || {
            let (mut a, ..) = with_memory(new(), bytes);
            expect_err(a.alloc(l(8, far_align)))?;
            still_works(&mut a)
        }),
    );
    for (what, start, size) in [
        ("empty region", 0x1000, 0),
        ("wrapping region", usize::MAX - 100, 1000),
        ("region at the top", usize::MAX, 1),
    ] {
        case(
            what,
            Box::new(move || {
                let mut a = new();
                // SAFETY: malformed: refused before anything is touched.
                expect(unsafe { a.init(start, size) }, AllocError::InvalidParam)?;
                let (mut a, ..) = with_memory(a, bytes);
                still_works(&mut a)
            }),
        );
    }
    // (A bump region keeps no metadata: any size is usable.)
    if name != "region" {
        case(
            "region smaller than the metadata",
            Box::new(move || {
                let m = memory(64);
                let mut a = new();
                // SAFETY: inside leaked memory; too small, so refused untouched.
                expect(unsafe { a.init(m.as_mut_ptr() as usize + 1, 3) }, AllocError::InvalidParam)
            }),
        );
    }
    case(
        "overlapping add_memory",
        Box::new(move || {
            let (mut a, start, size) = with_memory(new(), bytes);
            // SAFETY: overlaps memory already given: refused untouched.
            expect(unsafe { a.add_memory(start + size / 2, size) }, AllocError::MemoryOverlap)?;
            still_works(&mut a)
        }),
    );
    case(
        "second init",
        Box::new(move || {
            let (mut a, start, size) = with_memory(new(), bytes);
            // SAFETY: the heap has memory: refused untouched.
            expect(unsafe { a.init(start, size) }, AllocError::InvalidParam)?;
            still_works(&mut a)
        }),
    );
    case(
        "grow to a smaller size, realloc to zero",
        Box::new(move || {
            let (mut a, ..) = with_memory(new(), bytes);
            let p = a.alloc(l(100, 8)).map_err(|e| e.to_string())?;
            // SAFETY: `p` is live for 100 bytes; the calls are refused.
            unsafe {
                expect(a.grow(p, l(100, 8), l(50, 8)), AllocError::InvalidParam)?;
                expect(a.realloc(p, l(100, 8), 0), AllocError::InvalidParam)?;
                expect(a.shrink(p, l(100, 8), l(200, 8)), AllocError::InvalidParam)?;
                a.dealloc(p, l(100, 8));
            }
            still_works(&mut a)
        }),
    );
    v
}

fn page_cases<P: PageAllocator + 'static>(name: &'static str, new: fn() -> P) -> Vec<(String, Check)> {
    const BASE: usize = 0x100_0000;
    let fresh = move || {
        let mut p = new();
        // SAFETY: page allocators touch no memory.
        unsafe { p.init(BASE, 16 << 20) }.map(|()| p).map_err(|e| e.to_string())
    };
    let ps = P::PAGE_SIZE;
    let mut v: Vec<(String, Check)> = Vec::new();
    let mut case = |what: &str, check: Check| v.push((format!("{name}: {what}"), check));
    case("zero pages", Box::new(move || expect(fresh()?.alloc_pages(0, ps), AllocError::InvalidParam)));
    case(
        "alignment 3 pages",
        Box::new(move || expect(fresh()?.alloc_pages(1, 3 * ps), AllocError::InvalidParam)),
    );
    case("usize::MAX pages", Box::new(move || expect_err(fresh()?.alloc_pages(usize::MAX, ps))));
    case(
        "free outside the map",
        Box::new(move || {
            // SAFETY: touches nothing.
            expect(unsafe { fresh()?.dealloc_pages(BASE - ps, 1) }, AllocError::InvalidParam)
        }),
    );
    case(
        "double free",
        Box::new(move || {
            let mut p = fresh()?;
            let a = p.alloc_pages(1, ps).map_err(|e| e.to_string())?;
            // SAFETY: touches nothing.
            unsafe {
                p.dealloc_pages(a, 1).map_err(|e| e.to_string())?;
                expect(p.dealloc_pages(a, 1), AllocError::NotAllocated)?;
            }
            p.alloc_pages(1, ps).map(|_| ()).map_err(|e| e.to_string())
        }),
    );
    case(
        "fixed run over taken pages",
        Box::new(move || {
            let mut p = fresh()?;
            let a = p.alloc_pages(1, ps).map_err(|e| e.to_string())?;
            expect(p.alloc_pages_at(a, 1, ps), AllocError::MemoryOverlap)
        }),
    );
    case(
        "fixed run at a misaligned base",
        Box::new(move || expect(fresh()?.alloc_pages_at(BASE + 1, 1, ps), AllocError::InvalidParam)),
    );
    case(
        "wrapping map",
        Box::new(move || {
            let mut p = new();
            // SAFETY: malformed: refused untouched.
            expect(unsafe { p.init(usize::MAX - ps + 1, 4 * ps) }, AllocError::InvalidParam)
        }),
    );
    v
}

#[test]
fn forty_and_more_hostile_calls_each_get_their_error() {
    let mut cases: Vec<(String, Check)> = Vec::new();
    cases.extend(byte_cases("tlsf", TlsfByteAllocator::new, 64 * 1024));
    cases.extend(byte_cases("buddy", BuddyByteAllocator::<32>::new, 64 * 1024));
    cases.extend(byte_cases("slab", SlabByteAllocator::new, 64 * 1024));
    cases.extend(byte_cases("region", Region::new, 64 * 1024));
    cases.extend(byte_cases(
        "fallback(null, tlsf)",
        || Fallback::new(NullAllocator::new(), TlsfByteAllocator::new()),
        64 * 1024,
    ));
    cases.extend(page_cases("bitmap pages", BitmapPageAllocator::<4096>::new));
    cases.extend(page_cases("buddy pages", BuddyPageAllocator::<4096>::new));

    let ids = || BitmapIdAllocator::<BitAlloc4K>::with_range(10, 100).unwrap();
    let id_cases: Vec<(&str, Check)> = vec![
        ("ids: zero ids", Box::new(move || expect(ids().alloc_id(0, 1), AllocError::InvalidParam))),
        ("ids: alignment 6", Box::new(move || expect(ids().alloc_id(1, 6), AllocError::InvalidParam))),
        ("ids: more than the range", Box::new(move || expect(ids().alloc_id(101, 1), AllocError::NoMemory))),
        (
            "ids: fixed id out of range",
            Box::new(move || expect(ids().alloc_fixed_id(9), AllocError::InvalidParam)),
        ),
        (
            "ids: fixed id twice",
            Box::new(move || {
                let mut i = ids();
                i.alloc_fixed_id(50).map_err(|e| e.to_string())?;
                expect(i.alloc_fixed_id(50), AllocError::MemoryOverlap)
            }),
        ),
        (
            "ids: free never allocated",
            Box::new(move || expect(ids().dealloc_id(20, 1), AllocError::NotAllocated)),
        ),
        (
            "ids: free out of range",
            Box::new(move || expect(ids().dealloc_id(110, 1), AllocError::InvalidParam)),
        ),
        (
            "ids: free a run past the end",
            Box::new(move || expect(ids().dealloc_id(105, 10), AllocError::InvalidParam)),
        ),
        (
            "ids: range of zero",
            Box::new(move || {
                expect(BitmapIdAllocator::<BitAlloc4K>::with_range(0, 0), AllocError::InvalidParam)
            }),
        ),
        (
            "ids: wrapping range",
            Box::new(move || {
                expect(BitmapIdAllocator::<BitAlloc4K>::with_range(usize::MAX, 2), AllocError::InvalidParam)
            }),
        ),
    ];
    cases.extend(id_cases.into_iter().map(|(w, c)| (w.to_string(), c)));

    let combinators: Vec<(&str, Check)> = vec![
        (
            "pool: a block larger than BLOCK",
            Box::new(|| {
                let (mut p, ..) = with_memory(Pool::<64>::new(), 4096);
                expect(p.alloc(l(65, 8)), AllocError::InvalidParam)?;
                still_works(&mut p)
            }),
        ),
        (
            "pool: alignment beyond the block's",
            Box::new(|| {
                let (mut p, ..) = with_memory(Pool::<64>::new(), 4096);
                expect(p.alloc(l(8, 128)), AllocError::InvalidParam)
            }),
        ),
        (
            "null: any allocation",
            Box::new(|| expect(NullAllocator::new().alloc(l(8, 8)), AllocError::NoMemory)),
        ),
        (
            "fallback: a foreign pointer is owned by neither part",
            Box::new(|| {
                let (f, ..) = with_memory(Fallback::new(Pool::<64>::new(), TlsfByteAllocator::new()), 4096);
                let foreign = NonNull::from(&mut memory(64)[0]);
                if f.owns(foreign, l(8, 8)) || f.primary().owns(foreign, l(8, 8)) {
                    return Err("claims a foreign block".into());
                }
                Ok(())
            }),
        ),
    ];
    cases.extend(combinators.into_iter().map(|(w, c)| (w.to_string(), c)));

    let failures: Vec<String> =
        cases.iter().filter_map(|(what, check)| check().err().map(|e| format!("{what}: {e}"))).collect();
    assert!(
        failures.is_empty(),
        "{} of {} hostile calls misbehaved:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 40, "only {} hostile calls", cases.len());
    println!("{} hostile calls, each with its documented error", cases.len());
}
