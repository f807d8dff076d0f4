//! One table of hostile calls across all four traits and the combinators:
//! each must give its documented error, and the allocator must keep
//! working afterwards.
#![cfg(feature = "full")]

use core::{alloc::Layout, mem::MaybeUninit, ptr::NonNull};

// `bitmap::BitmapPageAllocator`: the bitmap crate's own type, a 64 Ki-page
// map whatever the features (the root alias's map is theirs to choose).
use allocator::{
    bitmap::{BitAlloc4K, BitmapPageAllocator},
    compose::{Fallback, NullAllocator, Pool, Region, Segregator, StatsSnapshot},
    AllocError, BaseAllocator, BitmapIdAllocator, BuddyByteAllocator, BuddyPageAllocator, ByteAllocator,
    IdAllocator, Locked, Owns, PageAllocator, SlabByteAllocator, TlsfByteAllocator,
};

type Check = Box<dyn Fn() -> Result<(), String>>;

/// A byte heap: given memory as pointers.
trait Heap: ByteAllocator + BaseAllocator<Addr = *mut u8> {}
impl<A: ByteAllocator + BaseAllocator<Addr = *mut u8>> Heap for A {}

fn memory(bytes: usize) -> &'static mut [MaybeUninit<u8>] {
    // Page-aligned, as the slab heap wants it.
    aligned_memory(bytes, 4096)
}

fn aligned_memory(bytes: usize, align: usize) -> &'static mut [MaybeUninit<u8>] {
    // Over-allocate and trim.
    let m = Box::leak(vec![MaybeUninit::uninit(); bytes + align].into_boxed_slice());
    let skip = (align - m.as_ptr().addr() % align) % align;
    &mut m[skip..skip + bytes]
}

fn with_memory<A: Heap>(mut a: A, bytes: usize) -> (A, *mut u8, usize) {
    let m = memory(bytes);
    let (start, size) = (m.as_mut_ptr().cast::<u8>(), m.len());
    // SAFETY: leaked memory, the heap's for the rest of the program.
    unsafe { a.init(start, size) }.expect("a valid region");
    (a, start, size)
}

/// The heap still serves and frees a block, and its figures add up.
fn still_works<A: ByteAllocator + ?Sized>(a: &mut A) -> Result<(), String> {
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
fn byte_cases<A: Heap + 'static>(name: &'static str, new: fn() -> A, bytes: usize) -> Vec<(String, Check)> {
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
                let r = unsafe { a.init(core::ptr::without_provenance_mut(start), size) };
                expect(r, AllocError::InvalidParam)?;
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
                expect(
                    unsafe { a.init(m.as_mut_ptr().cast::<u8>().wrapping_add(1), 3) },
                    AllocError::InvalidParam,
                )
            }),
        );
    }
    case(
        "overlapping add_memory",
        Box::new(move || {
            let (mut a, start, size) = with_memory(new(), bytes);
            // SAFETY: overlaps memory already given: refused untouched.
            expect(unsafe { a.add_memory(start.wrapping_add(size / 2), size) }, AllocError::MemoryOverlap)?;
            still_works(&mut a)
        }),
    );
    case(
        "second init",
        Box::new(move || {
            let (mut a, start, size) = with_memory(new(), bytes);
            // SAFETY: the heap has memory: refused untouched.
            expect(unsafe { a.init(start, size) }, AllocError::AlreadyInitialized)?;
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
    cases.extend(byte_cases("buddy", BuddyByteAllocator::new, 64 * 1024));
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
                expect(p.alloc(l(65, 8)), AllocError::Unsupported)?;
                still_works(&mut p)
            }),
        ),
        (
            "pool: alignment beyond the block's",
            Box::new(|| {
                let (mut p, ..) = with_memory(Pool::<64>::new(), 4096);
                expect(p.alloc(l(8, 128)), AllocError::Unsupported)
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
                let foreign = NonNull::from(&mut memory(64)[0]).cast::<u8>();
                if f.owns(foreign, l(8, 8)) || f.primary().owns(foreign, l(8, 8)) {
                    return Err("claims a foreign block".into());
                }
                Ok(())
            }),
        ),
    ];
    cases.extend(combinators.into_iter().map(|(w, c)| (w.to_string(), c)));
    cases.extend(soundness_cases());

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

/// Two adjacent regions of `half` bytes each, given to `a` by `init` and
/// `add_memory`.
fn adjacent<A: Heap>(mut a: A, half: usize) -> A {
    // Aligned to the pair, so that a buddy heap can merge the halves.
    let m = aligned_memory(2 * half, 2 * half);
    let start = m.as_mut_ptr().cast::<u8>();
    // SAFETY: leaked memory, the heap's for the rest of the program.
    unsafe {
        a.init(start, half).expect("the first half");
        a.add_memory(start.add(half), half).expect("the second half");
    }
    a
}

/// The largest block `a` serves now, by bisection (blocks are freed).
fn largest<A: ByteAllocator>(a: &mut A) -> usize {
    let (mut lo, mut hi) = (0usize, a.total_bytes());
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        match a.alloc(l(mid, 8)) {
            Ok(p) => {
                // SAFETY: just allocated for this layout.
                unsafe { a.dealloc(p, l(mid, 8)) };
                lo = mid;
            }
            Err(_) => hi = mid - 1,
        }
    }
    lo
}

/// The inputs that broke soundness before: each would have freed a block
/// into the wrong heap, written outside a region, panicked or hung.
fn soundness_cases() -> Vec<(String, Check)> {
    let mut v: Vec<(String, Check)> = Vec::new();
    let mut case = |what: &str, check: Check| v.push((what.to_string(), check));
    for (name, new) in [
        (
            "buddy",
            (|| Box::new(adjacent(BuddyByteAllocator::new(), 64 * 1024)) as Box<dyn Probe>)
                as fn() -> Box<dyn Probe>,
        ),
        ("slab", || Box::new(adjacent(SlabByteAllocator::new(), 256 * 1024))),
        ("tlsf", || Box::new(adjacent(TlsfByteAllocator::new(), 64 * 1024))),
    ] {
        case(
            &format!("{name}: a block across two adjacent regions is owned and freed"),
            Box::new(move || new().across_the_boundary()),
        );
    }
    case(
        "fallback(buddy, tlsf): a merged block is freed into the buddy heap",
        Box::new(|| {
            let buddy = adjacent(BuddyByteAllocator::new(), 64 * 1024);
            let (tlsf, ..) = with_memory(TlsfByteAllocator::new(), 64 * 1024);
            let mut f = Fallback::new(buddy, tlsf);
            let (buddy_used, tlsf_used) = (f.primary().used_bytes(), f.secondary().used_bytes());
            // The buddy heap merges its halves once both are freed.
            let half = l(64 * 1024, 8);
            let (a, b) =
                (f.alloc(half).map_err(|e| e.to_string())?, f.alloc(half).map_err(|e| e.to_string())?);
            // SAFETY: live for `half`.
            unsafe {
                f.dealloc(a, half);
                f.dealloc(b, half);
            }
            // Only a block across both halves is this large.
            let layout = l(96 * 1024, 8);
            let p = f.alloc(layout).map_err(|e| e.to_string())?;
            if !f.primary().owns(p, layout) {
                return Err("the buddy heap does not own its merged block".into());
            }
            // SAFETY: live for this layout.
            unsafe { f.dealloc(p, layout) };
            if (f.primary().used_bytes(), f.secondary().used_bytes()) != (buddy_used, tlsf_used) {
                return Err("the free went to the wrong part".into());
            }
            Ok(())
        }),
    );
    case(
        "region: a panic inside a scope leaves later scopes working",
        Box::new(|| {
            let mut r = Region::new();
            r.add_static(memory(4096)).map_err(|e| e.to_string())?;
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                r.scope(|s| {
                    let _ = s.alloc(l(100, 8));
                    panic!("inside a scope");
                })
            }));
            if caught.is_ok() {
                return Err("no panic".into());
            }
            let ok = r.scope(|s| s.alloc(l(100, 8)).is_ok());
            if !ok || r.used_bytes() != 0 {
                return Err(format!("after the panic: alloc ok {ok}, used {}", r.used_bytes()));
            }
            Ok(())
        }),
    );
    case(
        "pool: a region ending one block short of the top of the address space",
        Box::new(|| {
            let mut p = Pool::<64>::new();
            // Two whole blocks fit; a third would end past the top.
            let top = core::ptr::without_provenance_mut::<u8>(usize::MAX - 200);
            // SAFETY: a pool carves lazily: it writes into a block only
            // when it is freed, and this test frees none, so the (absent)
            // memory is never touched.
            unsafe { p.init(top, 200) }.map_err(|e| e.to_string())?;
            let mut served = 0;
            for _ in 0..4 {
                if let Ok(b) = p.alloc(l(64, 8)) {
                    served += 1;
                    let a = b.as_ptr().addr();
                    if a < usize::MAX - 200 || a.checked_add(64).is_none() {
                        return Err(format!("a block at {a:#x} leaves the region"));
                    }
                }
            }
            if served != 2 {
                return Err(format!("{served} blocks served, 2 fit"));
            }
            Ok(())
        }),
    );
    case(
        "small blocks: a u128 in a 24-byte pool's segregator",
        Box::new(|| {
            let mut s = Segregator::<24, _, _>::new(Pool::<24>::new(), TlsfByteAllocator::new());
            let (pool, tlsf) = (memory(4096), memory(64 * 1024));
            // SAFETY: leaked memory; `init` to the pool, `add_memory` to TLSF.
            unsafe {
                s.init(pool.as_mut_ptr().cast(), pool.len()).map_err(|e| e.to_string())?;
                s.add_memory(tlsf.as_mut_ptr().cast(), tlsf.len()).map_err(|e| e.to_string())?;
            }
            let p = s.alloc(Layout::new::<u128>()).map_err(|e| format!("a u128: {e}"))?;
            if p.as_ptr().addr() % 16 != 0 {
                return Err("misaligned".into());
            }
            // SAFETY: live for this layout.
            unsafe { s.dealloc(p, Layout::new::<u128>()) };
            still_works(&mut s)
        }),
    );
    case(
        "bitmap ids: an alignment beyond the capacity, index 0 free",
        Box::new(|| {
            let mut ids = BitmapIdAllocator::<BitAlloc4K>::with_range(0, 100).map_err(|e| e.to_string())?;
            expect_ok(ids.alloc_id(1, 1 << 20), 0)
        }),
    );
    case(
        "bitmap pages: an alignment beyond the map, page 0 free",
        Box::new(|| {
            let mut p = BitmapPageAllocator::<4096>::new();
            // Half the address space: far beyond the map's capacity, on
            // 32-bit targets too.
            let base = 1usize << (usize::BITS - 1);
            // SAFETY: touches nothing.
            unsafe { p.init(base, 1 << 20) }.map_err(|e| e.to_string())?;
            expect_ok(p.alloc_pages(1, base), base)
        }),
    );
    for (name, new) in [
        (
            "bitmap pages",
            (|| Box::new(BitmapPageAllocator::<4096>::new()) as Box<dyn PagesProbe>)
                as fn() -> Box<dyn PagesProbe>,
        ),
        ("buddy pages", || Box::new(BuddyPageAllocator::<4096>::new())),
    ] {
        case(
            &format!("{name}: a run across two adjacent regions is allocated, fixed and freed"),
            Box::new(move || new().across_adjacent_regions()),
        );
        case(
            &format!("{name}: huge counts and bases are errors, not overflows"),
            Box::new(move || new().huge_numbers()),
        );
    }
    case(
        "stats: the size class of usize::MAX",
        Box::new(|| {
            let _ = StatsSnapshot::size_class(usize::MAX);
            let _ = StatsSnapshot::size_class(0);
            Ok(())
        }),
    );
    case(
        "locked: a heap re-entered from inside its own lock",
        Box::new(|| {
            let h: Locked<TlsfByteAllocator> = Locked::new(TlsfByteAllocator::new());
            h.add_static(memory(4096)).map_err(|e| e.to_string())?;
            expect(h.with(|_| h.with(|_| ())).map_err(|e| e.to_string())?, AllocError::Busy)
        }),
    );
    v
}

fn expect_ok<T: PartialEq + core::fmt::Debug>(got: Result<T, AllocError>, want: T) -> Result<(), String> {
    match got {
        Ok(v) if v == want => Ok(()),
        other => Err(format!("gave {other:?}, wanted Ok({want:?})")),
    }
}

/// A byte heap over two adjacent regions, type-erased for the table.
trait Probe {
    fn across_the_boundary(&mut self) -> Result<(), String>;
}

impl<A: Heap + Owns> Probe for A {
    /// Fills the heap with the largest block it serves (which, where the
    /// heap merges the regions, spans both), checks `owns` and frees it.
    fn across_the_boundary(&mut self) -> Result<(), String> {
        let used = self.used_bytes();
        let n = largest(self);
        let layout = l(n, 8);
        let p = self.alloc(layout).map_err(|e| e.to_string())?;
        if !self.owns(p, layout) {
            return Err(format!("owns() is false for its own {n}-byte block"));
        }
        // SAFETY: live for `layout`.
        unsafe { self.dealloc(p, layout) };
        if self.used_bytes() != used {
            return Err("the free did not return the block".into());
        }
        still_works(self)
    }
}

/// A page allocator, type-erased for the table.
trait PagesProbe {
    fn across_adjacent_regions(&mut self) -> Result<(), String>;
    fn huge_numbers(&mut self) -> Result<(), String>;
}

impl<P: PageAllocator> PagesProbe for P {
    fn across_adjacent_regions(&mut self) -> Result<(), String> {
        let ps = P::PAGE_SIZE;
        let base = 0x4000_0000;
        // SAFETY: page allocators touch no memory.
        unsafe {
            self.init(base, 8 * ps).map_err(|e| e.to_string())?;
            self.add_memory(base + 8 * ps, 8 * ps).map_err(|e| e.to_string())?;
        }
        let run = self.alloc_pages_at(base + 6 * ps, 4, ps).map_err(|e| format!("fixed run: {e}"))?;
        // SAFETY: the run was just allocated.
        unsafe { self.dealloc_pages(run, 4) }.map_err(|e| format!("freeing the fixed run: {e}"))?;
        let all = self.alloc_pages(16, ps).map_err(|e| format!("all 16 pages: {e}"))?;
        // SAFETY: as above.
        unsafe { self.dealloc_pages(all, 16) }.map_err(|e| format!("freeing all 16 pages: {e}"))?;
        if self.used_pages() != 0 {
            return Err("pages vanished".into());
        }
        Ok(())
    }

    fn huge_numbers(&mut self) -> Result<(), String> {
        let ps = P::PAGE_SIZE;
        // SAFETY: page allocators touch no memory.
        unsafe { self.init(0x10_0000, 64 * ps) }.map_err(|e| e.to_string())?;
        for (base, num) in [
            (0x10_0000, usize::MAX),
            (0x10_0000, usize::MAX / ps + 1),
            (usize::MAX - ps + 1, 1),
            (1 << (usize::BITS - 1), 1 << (usize::BITS - 4)),
        ] {
            expect_err(self.alloc_pages_at(base, num, ps))?;
            // SAFETY: refused untouched (nothing is allocated there).
            expect_err(unsafe { self.dealloc_pages(base, num) })?;
        }
        expect_err(self.alloc_pages(usize::MAX, ps))?;
        expect_err(self.alloc_pages(1, 1 << (usize::BITS - 1)))?;
        self.alloc_pages(1, ps).map(|_| ()).map_err(|e| format!("unusable afterwards: {e}"))
    }
}
