//! The workload every hart runs at once through the global allocator.
//!
//! Each block is filled with a pattern of its own (a tag naming the hart
//! and the block, and bytes derived from it) and checked, every byte,
//! before it is freed: two harts given the same memory, or a block one byte
//! short of its size, overwrite a pattern and fail the check. Sizes run
//! from 16 B to 8 KiB, so blocks come from the harts' magazines (up to
//! 4 KiB) and from the shared heap under its lock (above). Some blocks are
//! sent to another hart, which checks and frees them: a block freed on
//! another hart than the one that allocated it goes to that hart's
//! magazines.

use core::{
    mem,
    sync::atomic::{AtomicUsize, Ordering},
};

use alloc::{boxed::Box, collections::BTreeMap, string::String, vec::Vec};
use spin::mutex::SpinMutex;

use crate::{boot::HARTS, fail, println};

/// Operations per hart.
const OPERATIONS: usize = 50_000;

/// Blocks a hart keeps at most.
const LIVE: usize = 48;

/// Blocks waiting in one hart's mailbox at most; a sender finding it full
/// frees the block itself.
const MAILBOX: usize = 64;

/// Keys of each hart's map.
const KEYS: u32 = 128;

/// A block of the heap with its pattern.
struct Block {
    tag: u32,
    bytes: Box<[u8]>,
}

impl Block {
    /// A block of `size` bytes (at least 4) filled with `tag`'s pattern.
    fn new(tag: u32, size: usize) -> Self {
        let mut bytes = Vec::with_capacity(size);
        bytes.extend_from_slice(&tag.to_le_bytes());
        bytes.extend((4..size).map(|i| pattern(tag, i)));
        Self { tag, bytes: bytes.into_boxed_slice() }
    }

    /// Checks every byte, on the hart that is about to free the block.
    fn check(&self, hart: usize) {
        let tag = u32::from_le_bytes([self.bytes[0], self.bytes[1], self.bytes[2], self.bytes[3]]);
        let bad = if tag != self.tag {
            Some(0)
        } else {
            (4..self.bytes.len()).find(|&i| self.bytes[i] != pattern(self.tag, i))
        };
        if let Some(i) = bad {
            fail!(
                "hart {hart}: the block of {} bytes at {:p} from hart {} (tag {:#x}) was overwritten at byte {i}",
                self.bytes.len(),
                self.bytes.as_ptr(),
                self.tag >> 24,
                self.tag
            );
        }
    }
}

/// Byte `i` of the block tagged `tag`.
fn pattern(tag: u32, i: usize) -> u8 {
    let x = tag.wrapping_mul(0x9e37_79b9) ^ (i as u32).wrapping_mul(0x85eb_ca6b);
    (x ^ (x >> 15) ^ (x >> 24)) as u8
}

/// Blocks sent to each hart, freed by it.
static MAILBOXES: [SpinMutex<Vec<Block>>; HARTS] = [const { SpinMutex::new(Vec::new()) }; HARTS];

/// Each hart's operations, written when it has finished.
static OPERATIONS_DONE: [AtomicUsize; HARTS] = [const { AtomicUsize::new(0) }; HARTS];

/// Blocks freed by another hart than the one that allocated them.
static CROSS_FREES: AtomicUsize = AtomicUsize::new(0);

/// Harts inside their operations now, and the most seen at once: proof
/// that the harts allocated at the same time, not one after another.
static INSIDE: AtomicUsize = AtomicUsize::new(0);
static MOST_INSIDE: AtomicUsize = AtomicUsize::new(0);

/// xorshift64*: a different stream per hart, the same on every run.
struct Rng(u64);

impl Rng {
    fn new(hart: usize) -> Self {
        Self(0x2545_f491_4f6c_dd1d ^ ((hart as u64 + 1) << 32))
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        ((self.next() >> 32) as usize) % n
    }

    /// A block size from 16 B to 8 KiB: mostly small, a fifth above 4 KiB
    /// (the sizes the magazines do not serve).
    fn size(&mut self) -> usize {
        match self.below(100) {
            0..=54 => 16 + self.below(241),
            55..=79 => 257 + self.below(4096 - 256),
            _ => 4097 + self.below(8192 - 4096),
        }
    }
}

/// One hart's state.
struct Worker {
    hart: usize,
    rng: Rng,
    serial: u32,
    live: Vec<Block>,
    /// Key -> the tag of its string.
    map: BTreeMap<u32, (u32, String)>,
}

impl Worker {
    fn tag(&mut self) -> u32 {
        self.serial = (self.serial + 1) & 0x00ff_ffff;
        ((self.hart as u32) << 24) | self.serial
    }

    /// A new block of a random size.
    fn allocate(&mut self) {
        if self.live.len() == LIVE {
            self.free_one();
        }
        let tag = self.tag();
        let size = self.rng.size();
        self.live.push(Block::new(tag, size));
    }

    /// Checks and frees a random live block.
    fn free_one(&mut self) {
        if !self.live.is_empty() {
            let block = self.live.swap_remove(self.rng.below(self.live.len()));
            block.check(self.hart);
        }
    }

    /// Sends a random live block to another hart, which frees it.
    fn send(&mut self) {
        if self.live.is_empty() {
            return;
        }
        let block = self.live.swap_remove(self.rng.below(self.live.len()));
        let to = (self.hart + 1 + self.rng.below(HARTS - 1)) % HARTS;
        let mut mailbox = MAILBOXES[to].lock();
        if mailbox.len() < MAILBOX {
            mailbox.push(block);
        } else {
            drop(mailbox);
            block.check(self.hart);
        }
    }

    /// Inserts or replaces a string (grown a character at a time), or
    /// checks and removes one.
    fn map(&mut self) {
        let key = self.rng.below(KEYS as usize) as u32;
        if self.rng.below(3) == 0 {
            if let Some((tag, text)) = self.map.remove(&key) {
                check_text(self.hart, tag, &text);
            }
        } else {
            let tag = self.tag();
            let len = 1 + self.rng.below(600);
            let mut text = String::new();
            for i in 0..len {
                text.push(letter(tag, i));
            }
            if let Some((old, text)) = self.map.insert(key, (tag, text)) {
                check_text(self.hart, old, &text);
            }
        }
    }

    /// A vector grown by pushes to up to 16 KiB (moving from the magazines
    /// to the shared heap), then checked.
    fn grow(&mut self) {
        let n = 1 + self.rng.below(2048);
        let seed = self.rng.next();
        let mut v: Vec<u64> = Vec::new();
        for i in 0..n as u64 {
            v.push(i ^ seed);
        }
        if let Some(i) = (0..n).find(|&i| v[i] != i as u64 ^ seed) {
            fail!("hart {}: a grown vector of {n} words lost word {i}", self.hart);
        }
    }
}

/// Character `i` of the string tagged `tag`.
fn letter(tag: u32, i: usize) -> char {
    char::from(b'a' + pattern(tag, i) % 26)
}

fn check_text(hart: usize, tag: u32, text: &str) {
    if let Some(i) = text.chars().enumerate().position(|(i, c)| c != letter(tag, i)) {
        fail!("hart {hart}: the string tagged {tag:#x} ({} bytes) was overwritten at {i}", text.len());
    }
}

/// Checks and frees every block sent to `hart` so far.
fn receive(hart: usize) -> usize {
    let blocks = mem::take(&mut *MAILBOXES[hart].lock());
    let count = blocks.len();
    for block in blocks {
        block.check(hart);
    }
    CROSS_FREES.fetch_add(count, Ordering::Relaxed);
    count
}

/// Runs [`OPERATIONS`] operations on `hart`, then frees everything it
/// holds (checking it first).
pub(crate) fn run(hart: usize) {
    let mut worker =
        Worker { hart, rng: Rng::new(hart), serial: 0, live: Vec::with_capacity(LIVE), map: BTreeMap::new() };
    INSIDE.fetch_add(1, Ordering::Relaxed);
    for op in 0..OPERATIONS {
        if op % 64 == 0 {
            MOST_INSIDE.fetch_max(INSIDE.load(Ordering::Relaxed), Ordering::Relaxed);
        }
        match worker.rng.below(100) {
            0..=44 => worker.allocate(),
            45..=64 => worker.free_one(),
            65..=74 => worker.send(),
            75..=79 => {
                receive(hart);
            }
            80..=94 => worker.map(),
            _ => worker.grow(),
        }
    }
    for block in worker.live.drain(..) {
        block.check(hart);
    }
    for (tag, text) in worker.map.values() {
        check_text(hart, *tag, text);
    }
    INSIDE.fetch_sub(1, Ordering::Relaxed);
    drop(worker);
    OPERATIONS_DONE[hart].store(OPERATIONS, Ordering::Release);
}

/// After every hart has finished [`run`]: frees what is left in `hart`'s
/// mailbox, and the mailbox itself.
pub(crate) fn free_received(hart: usize) {
    receive(hart);
}

/// Prints each hart's line and the cross-hart frees (on hart 0, after
/// every hart has passed the last barrier).
pub(crate) fn report() {
    for (hart, done) in OPERATIONS_DONE.iter().enumerate() {
        let done = done.load(Ordering::Acquire);
        if done != OPERATIONS {
            fail!("hart {hart}: {done} of {OPERATIONS} operations done");
        }
        println!("hart {hart}: {done} operations, pattern ok");
    }
    let most = MOST_INSIDE.load(Ordering::Relaxed);
    if most < 2 {
        fail!("the harts allocated one after another, never at once");
    }
    println!("overlap: up to {most} harts allocating at the same time");
    let cross = CROSS_FREES.load(Ordering::Relaxed);
    if cross == 0 {
        fail!("no block was freed by another hart than the one that allocated it");
    }
    println!("cross-hart frees: {cross} blocks checked and freed by another hart");
}
