//! Fuzz target: random use and misuse of `compose::Checked` over TLSF —
//! double frees, foreign and interior frees, frees with the wrong layout,
//! writes up to 16 bytes past the end or before the start of a block,
//! writes into quarantined blocks, moving reallocs — against a model of
//! what it must report. Every misuse must be reported exactly as the model
//! expects (kind, address, size, sequence numbers, offsets), nothing else
//! may be reported, every live block must keep its contents, and once
//! everything is freed and the quarantine flushed the heap must be empty.
#![no_main]

use std::{alloc::Layout, collections::VecDeque, ptr::NonNull};

use allocator::compose::{Checked, Misuse, Report};
use allocator::{AllocError, BaseAllocator, ByteAllocator, TlsfByteAllocator};
use libfuzzer_sys::fuzz_target;

const LIVE: usize = 48;
const QUARANTINE: usize = 6;
const MEMORY: usize = 256 * 1024;
/// What the canaries and poison hold (so the bugs write something else).
const CANARY_BYTE: u8 = 0xCB;
const POISON: u8 = 0xDD;

/// Records every report, in order, instead of panicking.
#[derive(Debug, Default)]
struct Record(Vec<Misuse>);

impl Report for Record {
    fn report(&mut self, misuse: Misuse) {
        self.0.push(misuse);
    }
}

type Heap = Checked<TlsfByteAllocator, LIVE, QUARANTINE, Record>;

/// A misuse as the model predicts it: kind, address, size, sequence
/// number, and one more figure (when freed, the offset, or the layout
/// freed with). Places in the source are checked only for being there.
type Key = (&'static str, usize, usize, u64, u64);

fn key(m: &Misuse) -> Key {
    match *m {
        Misuse::DoubleFree { addr, size, seq, freed_at, at, freed_by, .. } => {
            assert!(at.is_some() && freed_by.is_some(), "{m:?}");
            ("double", addr, size, seq, freed_at)
        }
        Misuse::ForeignFree { addr, size, align, at } => {
            assert!(at.is_some(), "{m:?}");
            ("foreign", addr, size, 0, align as u64)
        }
        Misuse::WrongLayout { addr, seq, size, freed_size, freed_align, caller, at, .. } => {
            assert!(at.is_some() && caller.is_some(), "{m:?}");
            ("layout", addr, size, seq, ((freed_size as u64) << 32) | freed_align as u64)
        }
        Misuse::Overflow { addr, size, seq, offset, .. } => ("overflow", addr, size, seq, offset as u64),
        Misuse::Underflow { addr, size, seq, before, .. } => ("underflow", addr, size, seq, before as u64),
        Misuse::WriteAfterFree { addr, size, seq, freed_at, offset, .. } => {
            ("after free", addr, size, seq, (freed_at << 32) | offset as u64)
        }
        _ => unreachable!("a misuse this target does not cause: {m:?}"),
    }
}

#[derive(Clone, Copy, Debug)]
struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
    fill: u8,
    seq: u64,
    /// The nearest byte written before the block (1: just before).
    under: Option<usize>,
    /// The first byte written past the end, as an offset from the start.
    over: Option<usize>,
}

#[derive(Debug)]
struct Freed {
    ptr: NonNull<u8>,
    size: usize,
    align: usize,
    seq: u64,
    freed_at: u64,
    /// The first byte written since it was freed.
    dirty: Option<usize>,
}

impl Freed {
    /// The report of a write at `offset` into it.
    fn written(&self, offset: usize) -> Key {
        ("after free", self.ptr.as_ptr().addr(), self.size, self.seq, (self.freed_at << 32) | offset as u64)
    }
}

struct Model {
    heap: Heap,
    live: Vec<Block>,
    quarantine: VecDeque<Freed>,
    clock: u64,
    /// What must be reported by the operation under way, in order.
    expect: Vec<Key>,
}

impl Model {
    /// The reports of a block's broken canaries, as a free finds them.
    fn canaries(&mut self, b: &Block) {
        let (addr, size) = (b.ptr.as_ptr().addr(), b.layout.size());
        if let Some(before) = b.under {
            self.expect.push(("underflow", addr, size, b.seq, before as u64));
        }
        if let Some(offset) = b.over {
            self.expect.push(("overflow", addr, size, b.seq, offset as u64));
        }
    }

    /// `b` was freed (its canaries reported): it enters the quarantine, and
    /// the oldest leaves when it is full.
    fn freed(&mut self, b: Block) {
        self.clock += 1;
        let f = Freed {
            ptr: b.ptr,
            size: b.layout.size(),
            align: b.layout.align(),
            seq: b.seq,
            freed_at: self.clock,
            dirty: None,
        };
        self.quarantine.push_back(f);
        if self.quarantine.len() > QUARANTINE {
            let old = self.quarantine.pop_front().unwrap();
            if let Some(offset) = old.dirty {
                self.expect.push(old.written(offset));
            }
        }
    }

    /// The reports since the last call are exactly the expected ones (in
    /// any order when `any_order`), and every live block is intact.
    fn settle(&mut self, any_order: bool) {
        let mut seen: Vec<Key> = self.heap.report_mut().0.drain(..).map(|m| key(&m)).collect();
        let mut expect = std::mem::take(&mut self.expect);
        if any_order {
            seen.sort_unstable();
            expect.sort_unstable();
        }
        assert_eq!(seen, expect, "reports");
        assert_eq!(self.heap.live_blocks(), self.live.len());
        assert_eq!(self.heap.quarantined(), self.quarantine.len());
        for b in &self.live {
            // SAFETY: a live block of `b.layout.size()` bytes.
            let bytes = unsafe { std::slice::from_raw_parts(b.ptr.as_ptr(), b.layout.size()) };
            assert!(bytes.iter().all(|&x| x == b.fill), "a live block was changed");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // 16-byte aligned memory, the heap's alone until it is dropped.
    let mut memory = vec![0u128; MEMORY / 16];
    let mut heap: Heap = Checked::with_report(TlsfByteAllocator::new(), Record::default());
    // SAFETY: `memory` outlives the heap (dropped after it, below) and is
    // used by nothing else.
    unsafe { heap.init(memory.as_mut_ptr().cast::<u8>(), MEMORY) }.unwrap();
    let mut m = Model { heap, live: Vec::new(), quarantine: VecDeque::new(), clock: 0, expect: Vec::new() };
    let mut outside = [0u8; 64];

    for op in data.chunks_exact(4) {
        let (kind, a, b, c) = (op[0] % 10, op[1], op[2], op[3]);
        let mut any_order = false;
        match kind {
            // Allocate (twice as likely as any misuse).
            0 | 1 => {
                let size = 1 + ((usize::from(a) << 8 | usize::from(b)) % 2048);
                let layout = Layout::from_size_align(size, 1 << (c % 8)).unwrap();
                match m.heap.alloc(layout) {
                    Ok(ptr) => {
                        assert_eq!(ptr.as_ptr().addr() % layout.align(), 0);
                        m.clock += 1;
                        let fill = m.clock as u8;
                        // SAFETY: live for `layout`.
                        unsafe { ptr.as_ptr().write_bytes(fill, size) };
                        m.live.push(Block { ptr, layout, fill, seq: m.clock, under: None, over: None });
                    }
                    Err(AllocError::TableFull) => assert_eq!(m.live.len(), LIVE),
                    Err(e) => assert_eq!(e, AllocError::NoMemory),
                }
            }
            // Free correctly (its broken canaries are reported then).
            2 if !m.live.is_empty() => {
                let blk = m.live.swap_remove(usize::from(a) % m.live.len());
                m.canaries(&blk);
                // SAFETY: live for this layout.
                unsafe { m.heap.dealloc(blk.ptr, blk.layout) };
                m.freed(blk);
            }
            // Free a quarantined block again.
            3 if !m.quarantine.is_empty() => {
                let f = &m.quarantine[usize::from(a) % m.quarantine.len()];
                let (ptr, layout) = (f.ptr, Layout::from_size_align(f.size, f.align).unwrap());
                m.expect.push(("double", ptr.as_ptr().addr(), f.size, f.seq, f.freed_at));
                // SAFETY: the bug under test; the checker must catch it
                // before its inner heap sees it.
                unsafe { m.heap.dealloc(ptr, layout) };
            }
            // Free an interior pointer of a live block, or memory that was
            // never the heap's.
            4 => {
                let layout = Layout::from_size_align(1 + usize::from(b) % 64, 1).unwrap();
                let ptr = match m.live.len() {
                    0 => NonNull::from(&mut outside[usize::from(a) % 64]),
                    n => {
                        let blk = &m.live[usize::from(a) % n];
                        let size = blk.layout.size();
                        if size < 2 {
                            continue;
                        }
                        // SAFETY: inside the block (1 ..= size - 1).
                        unsafe { blk.ptr.add(1 + usize::from(c) % (size - 1)) }
                    }
                };
                m.expect.push(("foreign", ptr.as_ptr().addr(), layout.size(), 0, 1));
                // SAFETY: the bug under test.
                unsafe { m.heap.dealloc(ptr, layout) };
            }
            // Free a live block with another size or alignment: reported,
            // and the block stays live.
            5 if !m.live.is_empty() => {
                let blk = &m.live[usize::from(a) % m.live.len()];
                let (size, align) = (blk.layout.size(), blk.layout.align());
                let wrong = if b % 2 == 0 {
                    Layout::from_size_align(size + 1 + usize::from(c) % 8, align).unwrap()
                } else {
                    Layout::from_size_align(size, align * 2).unwrap()
                };
                let addr = blk.ptr.as_ptr().addr();
                let freed_as = ((wrong.size() as u64) << 32) | wrong.align() as u64;
                m.expect.push(("layout", addr, size, blk.seq, freed_as));
                // SAFETY: the bug under test.
                unsafe { m.heap.dealloc(blk.ptr, wrong) };
            }
            // Write up to 16 bytes past the end of a live block.
            6 if !m.live.is_empty() => {
                let i = usize::from(a) % m.live.len();
                let blk = &mut m.live[i];
                let offset = blk.layout.size() + usize::from(b) % 16;
                // SAFETY: the bug under test: a canary byte of the heap's,
                // so the write harms nothing else.
                unsafe { blk.ptr.as_ptr().add(offset).write(CANARY_BYTE ^ (c | 1)) };
                blk.over = Some(blk.over.map_or(offset, |o| o.min(offset)));
            }
            // Write up to 16 bytes before the start of a live block.
            7 if !m.live.is_empty() => {
                let i = usize::from(a) % m.live.len();
                let blk = &mut m.live[i];
                let before = 1 + usize::from(b) % 16;
                // SAFETY: the bug under test: a canary byte of the heap's.
                unsafe { blk.ptr.as_ptr().sub(before).write(CANARY_BYTE ^ (c | 1)) };
                blk.under = Some(blk.under.map_or(before, |o| o.min(before)));
            }
            // Write into a quarantined block.
            8 if !m.quarantine.is_empty() => {
                let i = usize::from(a) % m.quarantine.len();
                let f = &mut m.quarantine[i];
                let offset = (usize::from(b) << 8 | usize::from(c)) % f.size;
                // SAFETY: the bug under test: the block is quarantined, so
                // its memory is still the heap's and nobody else's.
                unsafe { f.ptr.as_ptr().add(offset).write(POISON ^ (c | 1)) };
                f.dirty = Some(f.dirty.map_or(offset, |o| o.min(offset)));
            }
            // Check everything (and repair it), or move a block.
            9 if b % 2 == 0 => {
                let mut damaged: Vec<Block> = Vec::new();
                for blk in &mut m.live {
                    if blk.under.is_some() || blk.over.is_some() {
                        damaged.push(*blk);
                        (blk.under, blk.over) = (None, None);
                    }
                }
                for blk in &damaged {
                    m.canaries(blk);
                }
                let mut dirty = Vec::new();
                for f in &mut m.quarantine {
                    if let Some(offset) = f.dirty.take() {
                        dirty.push(f.written(offset));
                    }
                }
                // One problem per damaged block (both canaries count once).
                let problems = damaged.len() + dirty.len();
                m.expect.extend(dirty);
                assert_eq!(m.heap.check(), problems);
                any_order = true;
            }
            9 if !m.live.is_empty() => {
                let i = usize::from(a) % m.live.len();
                let new_size = 1 + usize::from(c) * 8;
                let old = &m.live[i];
                let layout = old.layout;
                // SAFETY: live for `layout`.
                match unsafe { m.heap.realloc(old.ptr, layout, new_size) } {
                    Ok(ptr) => {
                        let blk = m.live.swap_remove(i);
                        assert_ne!(ptr, blk.ptr, "every resize moves");
                        m.clock += 1;
                        let seq = m.clock;
                        m.canaries(&blk);
                        let fill = blk.fill;
                        let keep = layout.size().min(new_size);
                        // SAFETY: live for `new_size` bytes.
                        unsafe { ptr.as_ptr().add(keep).write_bytes(fill, new_size - keep) };
                        let new = Layout::from_size_align(new_size, layout.align()).unwrap();
                        m.live.push(Block { ptr, layout: new, fill, seq, under: None, over: None });
                        m.freed(blk);
                    }
                    Err(AllocError::TableFull) => assert_eq!(m.live.len(), LIVE),
                    Err(e) => assert_eq!(e, AllocError::NoMemory),
                }
            }
            _ => {}
        }
        m.settle(any_order);
    }

    // Free everything: the broken canaries are reported, then the
    // quarantine's writes as it empties; then the heap is empty.
    while let Some(blk) = m.live.pop() {
        m.canaries(&blk);
        // SAFETY: live for this layout.
        unsafe { m.heap.dealloc(blk.ptr, blk.layout) };
        m.freed(blk);
    }
    m.settle(false);
    for f in std::mem::take(&mut m.quarantine) {
        if let Some(offset) = f.dirty {
            m.expect.push(f.written(offset));
        }
    }
    m.heap.flush();
    m.settle(false);
    assert_eq!(m.heap.check(), 0);
    assert_eq!(m.heap.figures().used, 0, "the heap is not empty");
    drop(m);
    drop(memory);
});
