//! `Checked` over every heap: the same misuses, found and reported the
//! same way whatever the heap inside (the README's misuse table). Each
//! report's content is asserted: kind, address, size, sequence numbers,
//! offsets, and where the block was allocated.
#![cfg(feature = "full")]

use core::{alloc::Layout, ptr::NonNull};

use allocator::{
    compose::{Checked, Fallback, LeakedBlock, Misuse, Pool, Region, Report, Segregator},
    BaseAllocator, ByteAllocator, SlabByteAllocator, TlsfByteAllocator,
};
use allocator_testkit::TestRegion;

type Buddy = allocator::buddy::BuddyByteAllocator<32>;

/// Records every report.
#[derive(Debug, Default)]
struct Record(Vec<Misuse>);

impl Report for Record {
    fn report(&mut self, misuse: Misuse) {
        self.0.push(misuse);
    }
}

fn l(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A block of `layout`, filled with `fill`.
fn alloc<A: ByteAllocator>(h: &mut Checked<A, 64, 4, Record>, layout: Layout, fill: u8) -> NonNull<u8> {
    let p = h.alloc(layout).unwrap();
    // SAFETY: live for `layout`.
    unsafe { p.as_ptr().write_bytes(fill, layout.size()) };
    p
}

/// The reports since the last call.
fn taken<A>(h: &mut Checked<A, 64, 4, Record>) -> Vec<Misuse> {
    core::mem::take(&mut h.report_mut().0)
}

/// Every misuse of the README's table, in turn, over `inner` given
/// `region`; `returns_memory`: frees give memory back to `inner` (not so
/// for a bump region).
fn misuses<A: ByteAllocator<Addr = *mut u8>>(
    name: &str,
    inner: A,
    region: &TestRegion,
    returns_memory: bool,
) {
    let mut h: Checked<A, 64, 4, Record> = Checked::with_report(inner, Record::default());
    // SAFETY: the region outlives the heap.
    unsafe { h.init(region.ptr(), region.size()) }.unwrap_or_else(|e| panic!("{name}: {e}"));
    let used = h.figures().used;
    let b = l(24, 8);

    // A bystander, #1, checked at the end.
    let (keep, keep_line) = (alloc(&mut h, b, 0x11), line!());

    // Double free: #2 allocated, #3 freed, then freed again.
    let a = alloc(&mut h, b, 0x22);
    // SAFETY: the first free is correct, the second is the bug.
    unsafe {
        h.dealloc(a, b);
        h.dealloc(a, b);
    }
    let seen = taken(&mut h);
    let addr = a.as_ptr().addr();
    assert!(
        matches!(seen[..], [Misuse::DoubleFree { addr: x, size: 24, seq: 2, freed_at: 3, caller: Some(_), freed_by: Some(_), at: Some(_) }] if x == addr),
        "{name}: {seen:?}"
    );
    assert!(seen[0]
        .to_string()
        .starts_with(&format!("double free of the 24-byte block at {addr:#x} (allocation #2 at ")));

    // A foreign pointer: one into the bystander.
    // SAFETY: the bug under test.
    unsafe { h.dealloc(keep.add(8), l(16, 8)) };
    let seen = taken(&mut h);
    let inside = keep.as_ptr().addr() + 8;
    assert!(
        matches!(seen[..], [Misuse::ForeignFree { addr: x, size: 16, align: 8, at: Some(_) }] if x == inside),
        "{name}: {seen:?}"
    );

    // A wrong size, then a wrong alignment: #4 stays live; freed at #5.
    let w = alloc(&mut h, b, 0x44);
    // SAFETY: the bugs under test, then the right free.
    unsafe {
        h.dealloc(w, l(25, 8));
        h.dealloc(w, l(24, 16));
    }
    let seen = taken(&mut h);
    let wrong = |fs: usize, fa: usize| move |m: &Misuse| matches!(*m, Misuse::WrongLayout { seq: 4, size: 24, align: 8, freed_size, freed_align, .. } if (freed_size, freed_align) == (fs, fa));
    assert!(seen.len() == 2 && wrong(25, 8)(&seen[0]) && wrong(24, 16)(&seen[1]), "{name}: {seen:?}");
    // SAFETY: live for `b`, and still intact.
    unsafe {
        assert!(core::slice::from_raw_parts(w.as_ptr(), 24).iter().all(|&x| x == 0x44), "{name}");
        h.dealloc(w, b);
    }

    // One byte past the end: #6, found when freed (#7).
    let o = alloc(&mut h, b, 0x66);
    // SAFETY: the bug under test (a canary byte of the heap's), then a free.
    unsafe {
        o.as_ptr().add(24).write(0);
        h.dealloc(o, b);
    }
    let seen = taken(&mut h);
    assert!(
        matches!(seen[..], [Misuse::Overflow { size: 24, seq: 6, offset: 24, at: Some(_), .. }]),
        "{name}: {seen:?}"
    );

    // One byte before the start: #8, found when freed (#9).
    let u = alloc(&mut h, b, 0x88);
    // SAFETY: the bug under test (a canary byte of the heap's), then a free.
    unsafe {
        u.as_ptr().sub(1).write(0);
        h.dealloc(u, b);
    }
    let seen = taken(&mut h);
    assert!(
        matches!(seen[..], [Misuse::Underflow { size: 24, seq: 8, before: 1, at: Some(_), .. }]),
        "{name}: {seen:?}"
    );

    // A write into a quarantined block: #10, freed at #11, found by check.
    let f = alloc(&mut h, b, 0xAA);
    // SAFETY: a correct free, then the bug under test (the block is
    // quarantined: its memory is still the heap's).
    unsafe {
        h.dealloc(f, b);
        f.as_ptr().add(5).write(0);
    }
    assert_eq!(h.check(), 1, "{name}");
    let seen = taken(&mut h);
    assert!(
        matches!(
            seen[..],
            [Misuse::WriteAfterFree { size: 24, seq: 10, freed_at: 11, offset: 5, freed_by: Some(_), .. }]
        ),
        "{name}: {seen:?}"
    );

    // The leak: the bystander, listed with the line that allocated it.
    let mut leaks: Vec<LeakedBlock> = Vec::new();
    h.leaks(|x| leaks.push(x));
    assert_eq!(leaks.len(), 1, "{name}");
    let (leak, caller) = (leaks[0], leaks[0].caller.expect("a place"));
    assert_eq!((leak.addr, leak.layout, leak.seq), (keep.as_ptr().addr(), b, 1), "{name}");
    // `alloc` above is not `#[track_caller]`: the place is its call of
    // the checker's `alloc`, in this file.
    assert!(caller.file().ends_with("checked_heaps.rs") && caller.line() < keep_line, "{name}: {caller}");

    // The bystander is intact; freeing it and flushing the quarantine
    // leaves the heap as it was.
    // SAFETY: live for `b`.
    unsafe {
        assert!(core::slice::from_raw_parts(keep.as_ptr(), 24).iter().all(|&x| x == 0x11), "{name}");
        h.dealloc(keep, b);
    }
    h.flush();
    assert_eq!((h.check(), h.live_blocks(), taken(&mut h).len()), (0, 0, 0), "{name}");
    if returns_memory {
        assert_eq!(h.figures().used, used, "{name}");
    }
}

#[test]
fn checked_catches_the_same_misuse_over_every_heap() {
    let region = || TestRegion::new(256 * 1024, 4096, 0);
    misuses("tlsf", TlsfByteAllocator::new(), &region(), true);
    misuses("buddy", Buddy::new(), &region(), true);
    misuses("slab", SlabByteAllocator::new(), &region(), true);
    misuses("pool", Pool::<64>::new(), &region(), true);
    misuses("region", Region::new(), &region(), false);
    misuses("fallback", Fallback::new(Pool::<64>::new(), TlsfByteAllocator::new()), &region(), true);
    misuses("segregator", Segregator::<64, _, _>::new(Pool::<64>::new(), Buddy::new()), &region(), true);
}
