use core::{alloc::Layout, panic::Location, ptr::NonNull};
use std::{string::ToString, vec::Vec};

use allocator_core::{AllocError, BaseAllocator, ByteAllocator, Owns};
use allocator_tlsf::TlsfByteAllocator;

use super::{Checked, LeakedBlock, Misuse, Report, CANARY};
use crate::test_memory::leak;

/// Records every misuse in a fixed array (no allocation in the report).
#[derive(Debug)]
struct Collect {
    seen: [Option<Misuse>; 8],
    n: usize,
}

impl Report for Collect {
    fn report(&mut self, misuse: Misuse) {
        if let Some(slot) = self.seen.get_mut(self.n) {
            *slot = Some(misuse);
        }
        self.n += 1;
    }
}

impl Collect {
    const fn new() -> Self {
        Self { seen: [None; 8], n: 0 }
    }

    /// What was reported since the last call.
    fn take(&mut self) -> Vec<Misuse> {
        let out = self.seen.iter().take(self.n).flatten().copied().collect();
        *self = Self::new();
        out
    }
}

type Heap = Checked<TlsfByteAllocator, 64, 4, Collect>;

const MEMORY: usize = 64 * 1024;

fn heap() -> Heap {
    let mut h = Checked::with_report(TlsfByteAllocator::new(), Collect::new());
    // SAFETY: leaked memory, the heap's alone.
    unsafe { h.init(leak(MEMORY, 4096), MEMORY) }.unwrap();
    h
}

fn l(size: usize, align: usize) -> Layout {
    Layout::from_size_align(size, align).unwrap()
}

/// A block filled with `byte` (recorded as allocated by the caller).
#[track_caller]
fn filled(h: &mut Heap, layout: Layout, byte: u8) -> NonNull<u8> {
    let p = h.alloc(layout).unwrap();
    // SAFETY: live for `layout`.
    unsafe { p.as_ptr().write_bytes(byte, layout.size()) };
    p
}

/// Frees `p` (the caller is the place recorded); returns that place.
///
/// # Safety
/// As `Checked::dealloc_at`: none (misuse is what the tests pass).
#[track_caller]
unsafe fn free(h: &mut Heap, p: NonNull<u8>, layout: Layout) -> Option<&'static Location<'static>> {
    // SAFETY: forwarded from the caller.
    unsafe { h.dealloc(p, layout) };
    Some(Location::caller())
}

/// Where the live block `p` was allocated, as the table recorded it.
fn site(h: &Heap, p: NonNull<u8>) -> Option<&'static Location<'static>> {
    let mut found = None;
    h.leaks(|b| {
        if b.addr == p.as_ptr().addr() {
            found = Some(b.caller);
        }
    });
    found.expect("a live block")
}

/// `file:line:col`, as reports print a place.
fn text(at: Option<&'static Location<'static>>) -> std::string::String {
    at.expect("a place").to_string()
}

fn holds(p: NonNull<u8>, size: usize, byte: u8) -> bool {
    // SAFETY: only called on live blocks of `size` bytes.
    unsafe { core::slice::from_raw_parts(p.as_ptr(), size) }.iter().all(|&b| b == byte)
}

/// After a misuse: nothing else reported, the other blocks intact, and the
/// heap still serves and frees blocks, cleanly.
fn still_works(h: &mut Heap, keep: NonNull<u8>, keep_layout: Layout, byte: u8) {
    assert!(holds(keep, keep_layout.size(), byte), "a bystander block was changed");
    let q = filled(h, l(100, 8), 0x42);
    // SAFETY: live for this layout.
    unsafe { h.dealloc(q, l(100, 8)) };
    assert_eq!(h.check(), 0);
    assert_eq!(h.report_mut().take(), []);
}

#[test]
fn double_free_is_reported_with_both_sequence_numbers() {
    let mut h = heap();
    let keep = filled(&mut h, l(40, 8), 7); // #1
    let a = filled(&mut h, l(24, 8), 1); // #2
    let caller = site(&h, a);
    // SAFETY: live for this layout.
    let freed_by = unsafe { free(&mut h, a, l(24, 8)) }; // #3
    let used = h.figures().used;
    // SAFETY: the bug under test: `a` was freed; the heap must catch it.
    let at = unsafe { free(&mut h, a, l(24, 8)) };
    let addr = a.as_ptr().addr();
    let seen = h.report_mut().take();
    assert_eq!(seen, [Misuse::DoubleFree { addr, size: 24, seq: 2, freed_at: 3, caller, freed_by, at }]);
    assert_eq!(h.figures().used, used, "the inner heap was touched");
    assert_eq!(h.quarantined(), 1);
    let text = seen[0].to_string();
    assert!(text.contains("double free") && text.contains(&std::format!("{addr:#x}")), "{text}");
    assert!(text.contains("#2") && text.contains("#3") && text.contains("24-byte"), "{text}");
    let places = std::format!(
        "(allocation #2 at {}, already freed at #3 by {}), freed again at {}",
        self::text(caller),
        self::text(freed_by),
        self::text(at)
    );
    assert!(text.ends_with(&places), "{text}");
    still_works(&mut h, keep, l(40, 8), 7);
}

#[test]
fn foreign_and_interior_frees_never_reach_the_inner_heap() {
    let mut h = heap();
    let keep = filled(&mut h, l(64, 16), 9);
    let used = h.figures().used;
    let mut outside = [0u8; 32];
    let foreign = NonNull::from(&mut outside[0]);
    // SAFETY: the bugs under test: neither is a block of this heap.
    let (at1, at2) = unsafe { (free(&mut h, foreign, l(32, 1)), free(&mut h, keep.add(16), l(48, 16))) };
    let seen = h.report_mut().take();
    assert_eq!(
        seen,
        [
            Misuse::ForeignFree { addr: foreign.as_ptr().addr(), size: 32, align: 1, at: at1 },
            Misuse::ForeignFree { addr: keep.as_ptr().addr() + 16, size: 48, align: 16, at: at2 },
        ]
    );
    assert!(seen[0].to_string().contains("not a live block"), "{}", seen[0]);
    assert!(seen[0].to_string().ends_with(&std::format!("freed long ago), at {}", text(at1))), "{}", seen[0]);
    assert_eq!(outside, [0; 32]);
    assert_eq!(h.figures().used, used);
    assert_eq!((h.live_blocks(), h.quarantined()), (1, 0));
    // A resize of a foreign pointer is an error as well as a report.
    // SAFETY: the bug under test.
    assert_eq!(unsafe { h.realloc(foreign, l(32, 1), 64) }, Err(AllocError::NotAllocated));
    assert!(matches!(h.report_mut().take()[..], [Misuse::ForeignFree { size: 32, .. }]));
    still_works(&mut h, keep, l(64, 16), 9);
}

#[test]
fn a_wrong_size_or_alignment_is_reported_and_the_block_stays_live() {
    let mut h = heap();
    let keep = filled(&mut h, l(8, 8), 3); // #1
    let a = filled(&mut h, l(24, 8), 4); // #2
    let addr = a.as_ptr().addr();
    let caller = site(&h, a);
    // SAFETY: `a` is live.
    assert_eq!(unsafe { h.usable_size(a, l(24, 8)) }, 24);
    // SAFETY: the bugs under test: wrong size, then wrong alignment.
    let (at1, at2) = unsafe { (free(&mut h, a, l(32, 8)), free(&mut h, a, l(24, 16))) };
    let want = |freed_size, freed_align, at| Misuse::WrongLayout {
        addr,
        seq: 2,
        size: 24,
        align: 8,
        freed_size,
        freed_align,
        caller,
        at,
    };
    let seen = h.report_mut().take();
    assert_eq!(seen, [want(32, 8, at1), want(24, 16, at2)]);
    let expected =
        std::format!("(allocation #2 at {}), freed as 32 bytes, align 8, at {}", text(caller), text(at1));
    assert!(seen[0].to_string().ends_with(&expected), "{}", seen[0]);
    assert!(h.owns(a, l(24, 8)) && holds(a, 24, 4), "the block must stay live and intact");
    // SAFETY: the bug under test, through a resize: an error as well.
    let (grown, at) = (unsafe { h.grow(a, l(20, 8), l(64, 8)) }, Some(Location::caller()));
    assert_eq!(grown, Err(AllocError::InvalidParam));
    let seen = h.report_mut().take();
    assert!(
        matches!(seen[..], [Misuse::WrongLayout { freed_size: 20, at: Some(g), .. }] if g.line() == at.unwrap().line())
    );
    // SAFETY: now with the right layout.
    unsafe { h.dealloc(a, l(24, 8)) };
    assert!(!h.owns(a, l(24, 8)));
    still_works(&mut h, keep, l(8, 8), 3);
}

#[test]
fn overflow_by_one_byte_is_caught_by_check_and_by_the_free() {
    let mut h = heap();
    let keep = filled(&mut h, l(16, 8), 5); // #1
    let a = filled(&mut h, l(13, 1), 6); // #2
    let addr = a.as_ptr().addr();
    let caller = site(&h, a);
    // SAFETY: the bug under test: one byte past the end (a canary byte of
    // the heap's, so the write itself is harmless).
    unsafe { a.as_ptr().add(13).write(0) };
    assert_eq!(h.check(), 1);
    let seen = h.report_mut().take();
    assert_eq!(seen, [Misuse::Overflow { addr, size: 13, seq: 2, offset: 13, caller, at: None }]);
    let expected = std::format!("(allocation #2 at {}) was written at offset 13, past its end", text(caller));
    assert!(seen[0].to_string().ends_with(&expected), "{}", seen[0]);
    assert_eq!(h.check(), 0, "check repairs what it reported");
    // SAFETY: the same bug again, then a free.
    let at = unsafe {
        a.as_ptr().add(13 + 5).write(0xCC);
        free(&mut h, a, l(13, 1))
    };
    let seen = h.report_mut().take();
    assert_eq!(seen, [Misuse::Overflow { addr, size: 13, seq: 2, offset: 18, caller, at }]);
    assert!(
        seen[0].to_string().ends_with(&std::format!("(found by the free at {})", text(at))),
        "{}",
        seen[0]
    );
    assert_eq!(h.live_blocks(), 1, "the block is freed all the same");
    still_works(&mut h, keep, l(16, 8), 5);
}

#[test]
fn underflow_by_one_byte_is_caught() {
    let mut h = heap();
    let keep = filled(&mut h, l(16, 8), 5);
    let a = filled(&mut h, l(100, 64), 6); // #2, aligned beyond the canary
    let addr = a.as_ptr().addr();
    let caller = site(&h, a);
    assert_eq!(addr % 64, 0);
    // SAFETY: the bug under test: the byte before the block (a canary).
    unsafe { a.as_ptr().sub(1).write(0) };
    // SAFETY: live for this layout.
    let at = unsafe { free(&mut h, a, l(100, 64)) };
    let seen = h.report_mut().take();
    assert_eq!(seen, [Misuse::Underflow { addr, size: 100, seq: 2, before: 1, caller, at }]);
    assert!(seen[0].to_string().contains("1 byte(s) before its start"), "{}", seen[0]);
    still_works(&mut h, keep, l(16, 8), 5);
}

#[test]
fn a_write_into_a_quarantined_block_is_caught_by_check_and_when_it_leaves() {
    let mut h = heap();
    let keep = filled(&mut h, l(16, 8), 5); // #1
    let a = filled(&mut h, l(200, 8), 6); // #2
    let addr = a.as_ptr().addr();
    let caller = site(&h, a);
    // SAFETY: live.
    let freed_by = unsafe { free(&mut h, a, l(200, 8)) }; // #3
    assert!(holds(a, 200, 0xDD), "freed blocks are poisoned");
    // SAFETY: the bug under test: the block is quarantined, so its memory
    // is still the heap's and the write harms nothing.
    unsafe { a.as_ptr().add(3).write(1) };
    assert_eq!(h.check(), 1);
    let seen = h.report_mut().take();
    assert_eq!(
        seen,
        [Misuse::WriteAfterFree { addr, size: 200, seq: 2, freed_at: 3, offset: 3, caller, freed_by }]
    );
    let expected = std::format!("(allocation #2 at {}, freed at #3 by {})", text(caller), text(freed_by));
    assert!(seen[0].to_string().contains(&expected), "{}", seen[0]);
    // SAFETY: again, past the first 64 bytes; then four more frees push it out of the quarantine.
    unsafe { a.as_ptr().add(130).write(1) };
    for _ in 0..4 {
        let b = filled(&mut h, l(8, 8), 2);
        // SAFETY: live.
        unsafe { h.dealloc(b, l(8, 8)) };
    }
    assert_eq!(
        h.report_mut().take(),
        [Misuse::WriteAfterFree { addr, size: 200, seq: 2, freed_at: 3, offset: 130, caller, freed_by }]
    );
    assert_eq!(h.quarantined(), 4);
    still_works(&mut h, keep, l(16, 8), 5);
}

#[test]
fn a_moving_realloc_leaves_the_old_pointer_caught() {
    let mut h = heap();
    let a = filled(&mut h, l(32, 8), 8); // #1
    let caller = site(&h, a);
    // SAFETY: live.
    let (b, moved_at) = (unsafe { h.realloc(a, l(32, 8), 64) }.unwrap(), Location::caller()); // #2 alloc, #3 free
    assert_ne!(a, b, "every resize moves");
    assert!(holds(b, 32, 8));
    assert_eq!(site(&h, b).map(|s| (s.file(), s.line())), Some((moved_at.file(), moved_at.line())));
    // SAFETY: the bug under test: `a` was freed by the move.
    let at = unsafe { free(&mut h, a, l(32, 8)) };
    let seen = h.report_mut().take();
    let [Misuse::DoubleFree { addr, size: 32, seq: 1, freed_at: 3, caller: c, freed_by: Some(by), at: a2 }] =
        seen[..]
    else {
        panic!("{seen:?}")
    };
    assert_eq!((addr, c, a2), (a.as_ptr().addr(), caller, at));
    assert_eq!((by.file(), by.line()), (moved_at.file(), moved_at.line()), "freed by the realloc");
    // SAFETY: `b` is live for 64 bytes.
    unsafe {
        assert_eq!(h.resize_in_place(b, l(64, 8), 32), Err(AllocError::Unsupported));
        let c = h.shrink(b, l(64, 8), l(16, 8)).unwrap();
        h.dealloc(c, l(16, 8));
    }
    assert_eq!(h.report_mut().take(), []);
}

#[test]
fn leaks_are_listed_and_given_to_the_report_at_the_drop() {
    let mut h = heap();
    let (a, a_line) = (h.alloc(l(10, 2)).unwrap(), line!()); // #1
    let b = h.alloc(l(20, 4)).unwrap(); // #2
    let (c, c_line) = (h.alloc(l(300, 128)).unwrap(), line!()); // #3
                                                                // SAFETY: live.
    unsafe { h.dealloc(b, l(20, 4)) };
    let mut leaks = Vec::new();
    h.leaks(|block| leaks.push(block));
    leaks.sort_by_key(|b| b.seq);
    let (ca, cc) = (site(&h, a), site(&h, c));
    assert_eq!(
        leaks,
        [
            LeakedBlock { addr: a.as_ptr().addr(), layout: l(10, 2), seq: 1, caller: ca },
            LeakedBlock { addr: c.as_ptr().addr(), layout: l(300, 128), seq: 3, caller: cc },
        ]
    );
    // The places are this test's lines: `alloc` is `#[track_caller]`.
    assert_eq!(ca.map(|s| (s.file(), s.line())), Some((file!(), a_line)));
    assert_eq!(cc.map(|s| (s.file(), s.line())), Some((file!(), c_line)));
    assert_eq!(
        leaks[0].to_string(),
        std::format!(
            "the 10-byte block at {:#x}, align 2 (allocation #1 at {})",
            a.as_ptr().addr(),
            text(ca)
        )
    );
    assert_eq!(h.live_blocks(), 2);
    // Dropped with live blocks: the default report ignores them (the drop
    // cannot panic); a report of its own is given each one.
    drop(h);
    let mut h: Checked<TlsfByteAllocator, 64, 4, Leaks> =
        Checked::with_report(TlsfByteAllocator::new(), Leaks::default());
    // SAFETY: leaked memory, the heap's alone.
    unsafe { h.init(leak(MEMORY, 4096), MEMORY) }.unwrap();
    let (a, a_line) = (h.alloc(l(10, 2)).unwrap(), line!());
    let b = h.alloc(l(20, 4)).unwrap();
    // SAFETY: live.
    unsafe { h.dealloc(b, l(20, 4)) };
    let listed = h.report().0.clone();
    drop(h);
    let leaked = listed.take();
    assert_eq!(leaked.len(), 1);
    let caller = leaked[0].caller.unwrap();
    assert_eq!((leaked[0].addr, leaked[0].layout, leaked[0].seq), (a.as_ptr().addr(), l(10, 2), 1));
    assert_eq!((caller.file(), caller.line()), (file!(), a_line));
    let mut h: Checked<TlsfByteAllocator> = Checked::new(TlsfByteAllocator::new());
    // SAFETY: leaked memory, the heap's alone.
    unsafe { h.init(leak(MEMORY, 4096), MEMORY) }.unwrap();
    h.alloc(l(8, 8)).unwrap();
    drop(h);
}

/// Records the blocks still live at the drop.
#[derive(Debug, Default)]
struct Leaks(std::rc::Rc<core::cell::RefCell<Vec<LeakedBlock>>>);

impl Report for Leaks {
    fn report(&mut self, misuse: Misuse) {
        panic!("{misuse}");
    }

    fn leaked(&mut self, block: LeakedBlock) {
        self.0.borrow_mut().push(block);
    }
}

#[test]
fn a_full_table_refuses_without_touching_the_inner_heap() {
    let mut h = heap();
    let blocks: Vec<_> = (0..64).map(|i| filled(&mut h, l(8, 8), i)).collect();
    let used = h.figures().used;
    assert_eq!(h.alloc(l(8, 8)), Err(AllocError::TableFull));
    assert_eq!(h.largest_free(), Some(0));
    assert_eq!(h.figures().used, used);
    for (i, &p) in blocks.iter().enumerate().rev() {
        assert!(holds(p, 8, i as u8) && h.owns(p, l(8, 8)));
        // SAFETY: live.
        unsafe { h.dealloc(p, l(8, 8)) };
    }
    assert_eq!((h.live_blocks(), h.quarantined()), (0, 4));
    h.flush();
    assert_eq!((h.figures().used, h.quarantined()), (0, 0));
    assert_eq!(h.report_mut().take(), []);
}

/// The table under churn: random sizes and alignments, frees in random
/// order, every block findable and intact, and `largest_free` honest.
/// A block that, with its canaries, makes no valid layout is never
/// served (`Unsupported`), and the heap is untouched.
#[test]
fn a_block_too_large_for_its_canaries_is_unsupported() {
    let mut h = heap();
    let used = h.used_bytes();
    let huge = l(isize::MAX as usize - CANARY, 1);
    assert_eq!(h.alloc(huge), Err(AllocError::Unsupported));
    assert_eq!((h.used_bytes(), h.live_blocks()), (used, 0));
    assert_eq!(h.report_mut().take(), []);
}

#[test]
fn the_table_and_quarantine_survive_churn() {
    let mut h: Checked<TlsfByteAllocator, 256, 16, Collect> =
        Checked::with_report(TlsfByteAllocator::new(), Collect::new());
    // SAFETY: leaked memory, the heap's alone.
    unsafe { h.init(leak(1 << 20, 4096), 1 << 20) }.unwrap();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut live: Vec<(NonNull<u8>, Layout, u8)> = Vec::new();
    for step in 0..20_000u32 {
        if live.len() < 200 && next() % 3 != 0 {
            let layout = l(1 + (next() % 300) as usize, 1 << (next() % 8));
            let byte = step as u8;
            let p = h.alloc(layout).unwrap();
            // SAFETY: live for `layout`.
            unsafe { p.as_ptr().write_bytes(byte, layout.size()) };
            live.push((p, layout, byte));
        } else if !live.is_empty() {
            let (p, layout, byte) = live.swap_remove((next() % live.len() as u64) as usize);
            assert!(holds(p, layout.size(), byte) && h.owns(p, layout));
            // SAFETY: live for `layout`.
            unsafe { h.dealloc(p, layout) };
            assert!(!h.owns(p, layout));
        }
        assert_eq!(h.live_blocks(), live.len());
    }
    let n = h.largest_free().unwrap();
    let p = h.alloc(l(n, 1)).unwrap();
    // SAFETY: live.
    unsafe { h.dealloc(p, l(n, 1)) };
    assert_eq!(h.check(), 0);
    for (p, layout, _) in live.drain(..) {
        // SAFETY: live.
        unsafe { h.dealloc(p, layout) };
    }
    h.flush();
    assert_eq!(h.figures().used, 0);
    assert_eq!(h.report().n, 0);
}

#[test]
#[should_panic(expected = "Checked: double free of the 24-byte block")]
fn the_default_report_panics_with_the_misuse() {
    let mut h: Checked<TlsfByteAllocator> = Checked::new(TlsfByteAllocator::new());
    // SAFETY: leaked memory, the heap's alone.
    unsafe { h.init(leak(MEMORY, 4096), MEMORY) }.unwrap();
    let a = h.alloc(l(24, 8)).unwrap();
    // SAFETY: the second free is the bug under test.
    unsafe {
        h.dealloc(a, l(24, 8));
        h.dealloc(a, l(24, 8));
    }
}

/// `new` is `const`, so a checked heap can be a `static` shared through
/// `Locked`, as a global allocator is; threads allocate and free through
/// `GlobalAlloc`.
#[test]
fn a_locked_checked_heap_is_shared_between_threads() {
    use core::alloc::GlobalAlloc;

    use allocator_sync::Locked;

    static HEAP: Locked<Checked<TlsfByteAllocator>> = Locked::new(Checked::new(TlsfByteAllocator::new()));
    let memory =
        std::boxed::Box::leak(std::vec![core::mem::MaybeUninit::uninit(); 1 << 20].into_boxed_slice());
    HEAP.add_static(memory).unwrap();
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut mine = Vec::new();
                for i in 0..2000usize {
                    let layout = l(1 + (i * 7 + usize::from(t)) % 200, 8);
                    // SAFETY: a valid, non-zero layout.
                    let p = unsafe { HEAP.alloc(layout) };
                    assert!(!p.is_null());
                    // SAFETY: live for `layout`.
                    unsafe { p.write_bytes(t, layout.size()) };
                    mine.push((p, layout));
                    // At most 150 live blocks per thread: 600 of the 1024 slots.
                    if mine.len() >= 150 {
                        let (p, layout) = mine.swap_remove(i % mine.len());
                        // SAFETY: live for `layout`, written with `t` above.
                        unsafe {
                            assert!(core::slice::from_raw_parts(p, layout.size()).iter().all(|&b| b == t));
                            let q = HEAP.realloc(p, layout, layout.size() + 50);
                            assert!(!q.is_null());
                            HEAP.dealloc(q, l(layout.size() + 50, 8));
                        }
                    }
                }
                for (p, layout) in mine {
                    // SAFETY: live for `layout`.
                    unsafe { HEAP.dealloc(p, layout) };
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // SAFETY: `check` and `flush` neither move the heap nor free or
    // reuse the memory of a live block.
    let (live, problems) = HEAP.with(|h| (h.live_blocks(), unsafe { h.get_mut() }.check())).unwrap();
    assert_eq!((live, problems), (0, 0));
    // SAFETY: as above.
    HEAP.with(|h| unsafe { h.get_mut() }.flush()).unwrap();
    assert_eq!(HEAP.figures().unwrap().used, 0);
}

/// The per-block cost beyond the canaries, as the docs state it: one slot
/// of the live table (and one of the quarantine once freed).
#[test]
fn a_table_slot_is_as_large_as_documented() {
    use core::mem::size_of;

    use super::{Freed, Live};
    #[cfg(target_pointer_width = "64")]
    assert_eq!((size_of::<Live>(), size_of::<Freed>()), (40, 56));
    #[cfg(target_pointer_width = "32")]
    assert!(size_of::<Live>() == 24 && size_of::<Freed>() <= 40);
    assert!(size_of::<Live>() < 64);
}

/// Through a lock's `GlobalAlloc`, the place recorded is the lock's own
/// call (as the docs say): the same for every block, inside
/// `allocator-sync`.
#[test]
fn through_a_lock_the_place_is_the_lock_s_call() {
    use core::alloc::GlobalAlloc;

    use allocator_sync::Locked;

    static HEAP: Locked<Checked<TlsfByteAllocator, 16, 4, Collect>> =
        Locked::new(Checked::with_report(TlsfByteAllocator::new(), Collect::new()));
    let memory =
        std::boxed::Box::leak(std::vec![core::mem::MaybeUninit::uninit(); MEMORY].into_boxed_slice());
    HEAP.add_static(memory).unwrap();
    let layout = l(48, 8);
    // SAFETY: a valid, non-zero layout.
    let p = unsafe { HEAP.alloc(layout) };
    assert!(!p.is_null());
    let caller = HEAP
        .with(|h| {
            let mut c = None;
            h.leaks(|b| c = b.caller);
            c
        })
        .unwrap()
        .expect("a place");
    assert!(caller.file().contains("allocator-sync"), "{caller}");
    // SAFETY: the second free is the bug under test; the report records it.
    unsafe {
        HEAP.dealloc(p, layout);
        HEAP.dealloc(p, layout);
    }
    // SAFETY: `report_mut` touches no memory.
    let seen = HEAP.with(|h| unsafe { h.get_mut() }.report_mut().take()).unwrap();
    assert!(
        matches!(seen[..], [Misuse::DoubleFree { caller: Some(c), at: Some(_), freed_by: Some(_), .. }] if c == caller),
        "{seen:?}"
    );
}
