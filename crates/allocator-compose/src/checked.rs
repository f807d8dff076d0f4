//! [`Checked`]: a heap that catches its callers' misuse — double, foreign
//! and wrong-layout frees, overflows, underflows, writes after free — and
//! lists its leaks.

use core::{alloc::Layout, fmt, panic::Location, ptr::NonNull};

use allocator_core::{
    helpers::{check_grow, check_layout, check_shrink},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures, Owns,
};

/// Bytes of canary before and after every block.
const CANARY: usize = 16;
/// What the canaries hold.
const CANARY_BYTE: u8 = 0xCB;
/// What a quarantined block holds.
const POISON: u8 = 0xDD;

/// A place in the source, where one is known: see [`Checked`]'s "Callers".
type Caller = Option<&'static Location<'static>>;

/// `<before> <file:line:col><after>` when the place is known, else
/// nothing.
struct At(&'static str, Caller, &'static str);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(loc) => write!(f, "{} {loc}{}", self.0, self.2),
            None => Ok(()),
        }
    }
}

/// A misuse of the heap, as [`Checked`] found it. Addresses are the
/// caller's (the block's first byte); sequence numbers count the heap's
/// allocations and frees together, from 1, so they order every event.
///
/// The places in the source (a [`Location`], where one is known) are: `caller`, where the block
/// was allocated; `freed_by`, where it was freed; `at`, the call that
/// misused it (a free or resize; `None` when [`check`](Checked::check) or
/// the quarantine found it later). See [`Checked`]'s "Callers" for what
/// they show through a lock or a `#[global_allocator]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Misuse {
    /// A block freed a second time while it was still in the quarantine.
    DoubleFree {
        /// The block.
        addr: usize,
        /// Its size.
        size: usize,
        /// When it was allocated.
        seq: u64,
        /// When it was freed the first time.
        freed_at: u64,
        /// Where it was allocated.
        caller: Option<&'static Location<'static>>,
        /// Where it was freed the first time.
        freed_by: Option<&'static Location<'static>>,
        /// The second free.
        at: Option<&'static Location<'static>>,
    },
    /// A free (or resize) of an address that is no live block of this heap
    /// and not in the quarantine: never handed out here, a pointer into a
    /// block, or a block freed so long ago that it left the quarantine.
    ForeignFree {
        /// The address freed.
        addr: usize,
        /// The size it was freed with.
        size: usize,
        /// The alignment it was freed with.
        align: usize,
        /// The free.
        at: Option<&'static Location<'static>>,
    },
    /// A live block freed (or resized) with a layout other than the one it
    /// was allocated with. The block stays live.
    WrongLayout {
        /// The block.
        addr: usize,
        /// When it was allocated.
        seq: u64,
        /// The size it was allocated with.
        size: usize,
        /// The alignment it was allocated with.
        align: usize,
        /// The size it was freed with.
        freed_size: usize,
        /// The alignment it was freed with.
        freed_align: usize,
        /// Where it was allocated.
        caller: Option<&'static Location<'static>>,
        /// The free (or resize).
        at: Option<&'static Location<'static>>,
    },
    /// A byte of the canary after a live block was written.
    Overflow {
        /// The block.
        addr: usize,
        /// Its size.
        size: usize,
        /// When it was allocated.
        seq: u64,
        /// The offset from `addr` of the first byte found changed
        /// (`size` for the byte just past the end).
        offset: usize,
        /// Where it was allocated.
        caller: Option<&'static Location<'static>>,
        /// The free that found it (`None`: found by `check`).
        at: Option<&'static Location<'static>>,
    },
    /// A byte of the canary before a live block was written.
    Underflow {
        /// The block.
        addr: usize,
        /// Its size.
        size: usize,
        /// When it was allocated.
        seq: u64,
        /// How far before `addr` the changed byte nearest the block is (1
        /// for the byte just before it).
        before: usize,
        /// Where it was allocated.
        caller: Option<&'static Location<'static>>,
        /// The free that found it (`None`: found by `check`).
        at: Option<&'static Location<'static>>,
    },
    /// A quarantined (freed) block was written.
    WriteAfterFree {
        /// The block.
        addr: usize,
        /// Its size.
        size: usize,
        /// When it was allocated.
        seq: u64,
        /// When it was freed.
        freed_at: u64,
        /// The offset from `addr` of the first byte found changed.
        offset: usize,
        /// Where it was allocated.
        caller: Option<&'static Location<'static>>,
        /// Where it was freed.
        freed_by: Option<&'static Location<'static>>,
    },
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Misuse::DoubleFree { addr, size, seq, freed_at, caller, freed_by, at } => write!(
                f,
                "double free of the {size}-byte block at {addr:#x} (allocation #{seq}{}, already freed at \
                 #{freed_at}{}){}",
                At(" at", caller, ""),
                At(" by", freed_by, ""),
                At(", freed again at", at, ""),
            ),
            Misuse::ForeignFree { addr, size, align, at } => write!(
                f,
                "free of {addr:#x} ({size} bytes, align {align}), which is not a live block of this heap \
                 (never allocated here, an interior pointer, or freed long ago){}",
                At(", at", at, ""),
            ),
            Misuse::WrongLayout { addr, seq, size, align, freed_size, freed_align, caller, at } => write!(
                f,
                "the {size}-byte block at {addr:#x}, align {align} (allocation #{seq}{}), freed as {freed_size} \
                 bytes, align {freed_align}{}",
                At(" at", caller, ""),
                At(", at", at, ""),
            ),
            Misuse::Overflow { addr, size, seq, offset, caller, at } => write!(
                f,
                "overflow: the {size}-byte block at {addr:#x} (allocation #{seq}{}) was written at offset \
                 {offset}, past its end{}",
                At(" at", caller, ""),
                At(" (found by the free at", at, ")"),
            ),
            Misuse::Underflow { addr, size, seq, before, caller, at } => write!(
                f,
                "underflow: the {size}-byte block at {addr:#x} (allocation #{seq}{}) was written {before} \
                 byte(s) before its start{}",
                At(" at", caller, ""),
                At(" (found by the free at", at, ")"),
            ),
            Misuse::WriteAfterFree { addr, size, seq, freed_at, offset, caller, freed_by } => write!(
                f,
                "write after free: the {size}-byte block at {addr:#x} (allocation #{seq}{}, freed at \
                 #{freed_at}{}) was written at offset {offset}",
                At(" at", caller, ""),
                At(" by", freed_by, ""),
            ),
        }
    }
}

/// What [`Checked`] does with a [`Misuse`] it finds.
///
/// It is called with the heap in a consistent state, so it may panic
/// (as [`PanicReport`] does), log, count, or record and return.
pub trait Report {
    /// One misuse.
    fn report(&mut self, misuse: Misuse);

    /// A block still live when the heap is dropped: a leak (or a block
    /// the program meant to keep), once for each, in no particular order.
    /// The default ignores it: walk [`Checked::leaks`] to list them at any
    /// time before.
    fn leaked(&mut self, block: LeakedBlock) {
        let _ = block;
    }
}

/// The default [`Report`]: panics with the misuse (`Checked: double free
/// of …`).
///
/// For a heap used directly, or a firmware's or kernel's global heap
/// whose panic handler allocates nothing. Not for a hosted
/// `#[global_allocator]`: a panic must not unwind out of `GlobalAlloc`,
/// and std's panic machinery formats the message into a `String` first,
/// which finds the heap locked, so the process aborts with "memory
/// allocation of … bytes failed" and the message is lost. Use
/// `AbortReport` (feature `std`) there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PanicReport;

impl Report for PanicReport {
    #[track_caller]
    fn report(&mut self, misuse: Misuse) {
        panic!("Checked: {misuse}");
    }
}

/// A [`Report`] for a hosted `#[global_allocator]` (feature `std`): writes
/// `Checked: <misuse>` to standard error, allocating nothing, and aborts
/// the process (no unwinding out of the allocator).
///
/// ```no_run
/// use allocator::compose::{AbortReport, Checked};
/// use allocator::{Locked, TlsfByteAllocator};
///
/// #[global_allocator]
/// static HEAP: Locked<Checked<TlsfByteAllocator, 4096, 64, AbortReport>> =
///     Locked::new(Checked::with_report(TlsfByteAllocator::new(), AbortReport));
/// # fn main() {}
/// ```
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AbortReport;

#[cfg(feature = "std")]
impl Report for AbortReport {
    fn report(&mut self, misuse: Misuse) {
        extern crate std;
        use std::io::Write;
        // Standard error is unbuffered and its lock allocates nothing; a
        // failed write is ignored, as the process ends either way.
        let _ = std::writeln!(std::io::stderr().lock(), "Checked: {misuse}");
        std::process::abort()
    }
}

/// A live block, as [`Checked::leaks`] lists it. `Display` prints it on
/// one line: `the 10-byte block at 0x…, align 2 (allocation #1 at
/// src/main.rs:7:19)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct LeakedBlock {
    /// The block's address.
    pub addr: usize,
    /// The layout it was allocated with.
    pub layout: Layout,
    /// When it was allocated.
    pub seq: u64,
    /// Where it was allocated (see [`Checked`]'s "Callers").
    pub caller: Option<&'static Location<'static>>,
}

impl fmt::Display for LeakedBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {}-byte block at {:#x}, align {} (allocation #{}{})",
            self.layout.size(),
            self.addr,
            self.layout.align(),
            self.seq,
            At(" at", self.caller, ""),
        )
    }
}

/// A slot of the live table (an empty one has a null pointer).
#[derive(Clone, Copy, Debug)]
struct Live {
    /// The block as handed out, with the provenance of the inner block
    /// around it (so the canaries can be read through it).
    ptr: *mut u8,
    size: usize,
    align: usize,
    seq: u64,
    /// Where it was allocated.
    caller: Caller,
}

impl Live {
    const EMPTY: Self = Self { ptr: core::ptr::null_mut(), size: 0, align: 0, seq: 0, caller: None };
}

/// A quarantined block.
#[derive(Clone, Copy, Debug)]
struct Freed {
    ptr: *mut u8,
    size: usize,
    align: usize,
    seq: u64,
    freed_at: u64,
    caller: Caller,
    freed_by: Caller,
}

impl Freed {
    const EMPTY: Self = Self {
        ptr: core::ptr::null_mut(),
        size: 0,
        align: 0,
        seq: 0,
        freed_at: 0,
        caller: None,
        freed_by: None,
    };
}

/// Any heap `A`, checked: the misuses listed below are found and given to
/// the [`Report`] `R` (by default, a panic with the address, sizes and
/// sequence numbers; for a hosted `#[global_allocator]`, `AbortReport`,
/// which prints and aborts: see [`PanicReport`]).
///
/// For debug builds of firmware and kernels that have no Valgrind: the same
/// heap they ship, wrapped. `#![no_std]`, no allocation from anywhere but
/// `A`; its tables are fixed arrays inside the value, and
/// [`new`](Self::new) is `const` and all zeros apart from `A` (so a
/// `static` lands in `.bss`).
///
/// # What it catches
///
/// | misuse | found | reported as |
/// | --- | --- | --- |
/// | a block freed twice | at the second free, while the block is in the quarantine | [`Misuse::DoubleFree`] |
/// | a free of an address it never handed out (or an interior pointer) | at the free, before `A` is touched | [`Misuse::ForeignFree`] |
/// | a free with another size or alignment | at the free; the block stays live | [`Misuse::WrongLayout`] |
/// | a write past the end (even by 1 byte) or before the start | at the free, and by [`check`](Self::check) | [`Misuse::Overflow`], [`Misuse::Underflow`] |
/// | a write into a freed block | when it leaves the quarantine, and by [`check`](Self::check) | [`Misuse::WriteAfterFree`] |
/// | a leak | [`leaks`](Self::leaks) lists every live block at any time, with where it was allocated; the drop gives each to the report | [`Report::leaked`] |
///
/// Each report names the block (address, size, sequence number), where it
/// was allocated and freed, and the call that misused it, as far as they
/// are known (see "Callers").
///
/// A free that is not found, or whose layout does not match, never reaches
/// `A` (the block, if any, leaks: that is safe); the resizes give
/// [`AllocError::NotAllocated`] and [`AllocError::InvalidParam`] for them,
/// after reporting. A block whose canaries were broken is reported, then
/// freed as usual.
///
/// # What it does not catch
///
/// Reads of any kind; writes past the canaries (more than 16 bytes out)
/// that do not also touch them; writes into a freed block after it left
/// the quarantine; a double free of a block whose address was handed out
/// again since (that frees the new block, if the layout matches). Frees
/// and resizes of unknown addresses are reported as `ForeignFree` once
/// the block has left the quarantine. Every resize moves (see below), so a
/// stale pointer to a resized block is caught as any other freed one.
///
/// # Layout of a block, and its cost
///
/// `A` is asked for `front + size + 16` bytes aligned to
/// `front = max(align, 16)`; the caller's block starts at `front`, with 16
/// canary bytes (`0xCB`) just before it and 16 just after it. A freed
/// block is filled with `0xDD` and kept in a first-in, first-out
/// quarantine of `QUARANTINE` blocks; the oldest leaves when a new one
/// comes, its poison is checked, and its memory goes back to `A`. When
/// `QUARANTINE` is 0, freed blocks go back at once, unpoisoned.
///
/// - **Per block**: 32 bytes in `A` (`max(align, 16) + 16` for alignments
///   above 16), plus `A`'s own rounding and header; a freed block keeps
///   its memory while quarantined. Beyond the canaries, a live block takes
///   one slot of the live table: 40 bytes on 64-bit targets, 24 on 32-bit
///   ones (address, size, alignment, sequence number, caller).
/// - **Fixed**: the live table, `LIVE` slots (40 KiB by default on 64-bit
///   targets), and the quarantine, 56 bytes per slot on 64-bit targets, 36
///   or 40 on 32-bit ones (as `u64` is aligned to 4 or 8 bytes; 3.5 KiB by
///   default on 64-bit targets). Both are inside the value.
/// - **Time**: `alloc` and `dealloc` are `A`'s plus an open-addressing
///   lookup (O(1) expected; a table near full probes further), 32 canary
///   bytes written and checked, and the block's bytes written with poison
///   on free and read back when it leaves the quarantine (O(size)).
///   [`check`](Self::check) is O(`LIVE` + quarantined bytes).
///
/// # Limits
///
/// At most `LIVE` live blocks: one more is [`AllocError::TableFull`], with
/// `A` untouched. [`resize_in_place`](ByteAllocator::resize_in_place)
/// always refuses ([`AllocError::Unsupported`]), so every resize moves
/// (and needs a free slot in the table while it does).
/// [`usable_size`](ByteAllocator::usable_size) is exactly the size
/// allocated (so a block is freed with that size and no other).
/// [`figures`](ByteAllocator::figures) are `A`'s: canaries, padding and
/// quarantined blocks count as used (call [`flush`](Self::flush) to give
/// the quarantine back). [`largest_free`](ByteAllocator::largest_free) is
/// `A`'s less the 32 canary bytes and 15 bytes of alignment padding.
/// [`Owns`] is true for the live blocks only.
///
/// # Callers
///
/// Every entry point that allocates or frees ([`alloc`](ByteAllocator::alloc),
/// [`dealloc`](ByteAllocator::dealloc), [`grow`](ByteAllocator::grow),
/// [`shrink`](ByteAllocator::shrink), [`realloc`](ByteAllocator::realloc))
/// is `#[track_caller]`: each block records the
/// [`Location`] of the call that allocated it, a freed block the call that
/// freed it, and a report the call that misused it. The place is the
/// nearest caller that is not itself `#[track_caller]`:
///
/// - called directly (`heap.alloc(layout)` on a `Checked`, or through
///   generic code that is `#[track_caller]`), it is the caller's own line;
/// - through another layer (a `Locked`, its `GlobalAlloc`, `Box` or `Vec`
///   on it, a `Proxy`, the C ABI), it is that layer's line inside this
///   workspace, the same for every block: true, but it does not say who
///   allocated. No stable Rust gives a return address, so none is
///   recorded; there, the sequence number names the block (runs of a
///   deterministic program repeat them), and a layer that knows better
///   can pass its own place to [`alloc_at`](Self::alloc_at) and
///   [`dealloc_at`](Self::dealloc_at), or `None`.
///
/// Put it at the top of a policy, under the lock: a combinator above it
/// (a `Fallback` asking [`Owns`]) would route a double free elsewhere
/// before it could be caught. Dropping it with live blocks is no error:
/// each is given to [`Report::leaked`], which ignores it by default (walk
/// [`leaks`](Self::leaks) to list them at any time).
///
/// ```
/// use core::{alloc::Layout, mem::MaybeUninit};
/// use allocator::compose::{Checked, Misuse, Report};
/// use allocator::{BaseAllocator, ByteAllocator, TlsfByteAllocator};
///
/// #[derive(Default)]
/// struct Last(Option<Misuse>);
/// impl Report for Last {
///     fn report(&mut self, misuse: Misuse) {
///         self.0 = Some(misuse);
///     }
/// }
///
/// # let memory: &'static mut [MaybeUninit<u8>] = Box::leak(Box::new([MaybeUninit::uninit(); 1 << 16]));
/// let mut heap: Checked<TlsfByteAllocator, 64, 8, Last> =
///     Checked::with_report(TlsfByteAllocator::new(), Last::default());
/// heap.add_static(memory).unwrap();
/// let l = Layout::from_size_align(24, 8).unwrap();
/// let p = heap.alloc(l).unwrap();
/// // SAFETY: `p` is live for `l`; the second free is the bug caught.
/// unsafe {
///     heap.dealloc(p, l);
///     heap.dealloc(p, l);
/// }
/// assert!(matches!(heap.report().0, Some(Misuse::DoubleFree { seq: 1, freed_at: 2, .. })));
/// ```
pub struct Checked<A, const LIVE: usize = 1024, const QUARANTINE: usize = 64, R: Report = PanicReport> {
    inner: A,
    report: R,
    /// Live blocks, by address: open addressing, linear probing,
    /// backward-shift deletion.
    live: [Live; LIVE],
    count: usize,
    /// Freed blocks, first in, first out: `q_len` of them from `q_head`.
    quarantine: [Freed; QUARANTINE],
    q_head: usize,
    q_len: usize,
    /// The last sequence number given.
    clock: u64,
}

// SAFETY: the pointers in the tables are blocks of `A`'s memory, which
// belongs to whoever owns the heap; they move with it.
unsafe impl<A: Send, const LIVE: usize, const QUARANTINE: usize, R: Report + Send> Send
    for Checked<A, LIVE, QUARANTINE, R>
{
}

// SAFETY: through `&self`, only the tables are read (never the memory the
// pointers point to).
unsafe impl<A: Sync, const LIVE: usize, const QUARANTINE: usize, R: Report + Sync> Sync
    for Checked<A, LIVE, QUARANTINE, R>
{
}

impl<A: fmt::Debug, const LIVE: usize, const QUARANTINE: usize, R: Report + fmt::Debug> fmt::Debug
    for Checked<A, LIVE, QUARANTINE, R>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checked")
            .field("inner", &self.inner)
            .field("report", &self.report)
            .field("live", &self.count)
            .field("quarantined", &self.q_len)
            .field("clock", &self.clock)
            .finish()
    }
}

/// Gives every block still live to [`Report::leaked`] (which ignores them
/// by default, so a drop never panics). O(`LIVE`). The memory is `A`'s,
/// dropped with it.
impl<A, const LIVE: usize, const QUARANTINE: usize, R: Report> Drop for Checked<A, LIVE, QUARANTINE, R> {
    fn drop(&mut self) {
        for i in 0..LIVE {
            let e = self.live[i];
            if let (false, Ok(layout)) = (e.ptr.is_null(), Layout::from_size_align(e.size, e.align)) {
                self.report.leaked(LeakedBlock { addr: e.ptr.addr(), layout, seq: e.seq, caller: e.caller });
            }
        }
    }
}

impl<A: Default, const LIVE: usize, const QUARANTINE: usize> Default for Checked<A, LIVE, QUARANTINE> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

impl<A, const LIVE: usize, const QUARANTINE: usize> Checked<A, LIVE, QUARANTINE> {
    /// `inner`, checked, panicking at the first misuse.
    pub const fn new(inner: A) -> Self {
        Self::with_report(inner, PanicReport)
    }
}

impl<A, const LIVE: usize, const QUARANTINE: usize, R: Report> Checked<A, LIVE, QUARANTINE, R> {
    /// `inner`, checked, with misuse given to `report`.
    pub const fn with_report(inner: A, report: R) -> Self {
        Self {
            inner,
            report,
            live: [Live::EMPTY; LIVE],
            count: 0,
            quarantine: [Freed::EMPTY; QUARANTINE],
            q_head: 0,
            q_len: 0,
            clock: 0,
        }
    }

    /// The heap inside.
    pub fn inner(&self) -> &A {
        &self.inner
    }

    /// The report (to read what it recorded).
    pub fn report(&self) -> &R {
        &self.report
    }

    /// The report, mutably (to clear it). Safe: a report holds no memory.
    pub fn report_mut(&mut self) -> &mut R {
        &mut self.report
    }

    /// How many blocks are live.
    pub fn live_blocks(&self) -> usize {
        self.count
    }

    /// How many freed blocks are held in the quarantine.
    pub fn quarantined(&self) -> usize {
        self.q_len
    }

    /// Calls `f` with every live block (address, layout, sequence number,
    /// where it was allocated), in no particular order: at the end of a
    /// test or a phase, these are the leaks; `Display` prints each on a
    /// line. O(`LIVE`).
    pub fn leaks(&self, mut f: impl FnMut(LeakedBlock)) {
        for e in self.live.iter().filter(|e| !e.ptr.is_null()) {
            if let Ok(layout) = Layout::from_size_align(e.size, e.align) {
                f(LeakedBlock { addr: e.ptr.addr(), layout, seq: e.seq, caller: e.caller });
            }
        }
    }

    fn tick(&mut self) -> u64 {
        self.clock = self.clock.wrapping_add(1);
        self.clock
    }

    /// The slot where the search for `addr` starts (Fibonacci hashing of
    /// the address without its low bits, which alignment makes zero).
    fn home(addr: usize) -> usize {
        let h = ((addr >> 4) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((u128::from(h) * LIVE as u128) >> 64) as usize
    }

    fn next(i: usize) -> usize {
        if i + 1 == LIVE {
            0
        } else {
            i + 1
        }
    }

    /// The slot of the live block at `addr`.
    fn find(&self, addr: usize) -> Option<usize> {
        if LIVE == 0 {
            return None;
        }
        let mut i = Self::home(addr);
        for _ in 0..LIVE {
            let p = self.live[i].ptr;
            if p.is_null() {
                return None;
            }
            if p.addr() == addr {
                return Some(i);
            }
            i = Self::next(i);
        }
        None
    }

    /// Records a block; the table has a free slot.
    fn insert(&mut self, entry: Live) {
        let mut i = Self::home(entry.ptr.addr());
        while !self.live[i].ptr.is_null() {
            i = Self::next(i);
        }
        self.live[i] = entry;
        self.count += 1;
    }

    /// Empties slot `hole`, moving back the entries after it that would no
    /// longer be found (no tombstones).
    fn remove(&mut self, mut hole: usize) {
        self.live[hole] = Live::EMPTY;
        let mut j = hole;
        loop {
            j = Self::next(j);
            let e = self.live[j];
            if e.ptr.is_null() {
                break;
            }
            let k = Self::home(e.ptr.addr());
            // The entry stays when its home lies cyclically in (hole, j].
            let stays = if hole <= j { hole < k && k <= j } else { hole < k || k <= j };
            if !stays {
                self.live[hole] = e;
                self.live[j] = Live::EMPTY;
                hole = j;
            }
        }
        self.count -= 1;
    }

    /// The quarantined block at `addr`.
    fn quarantined_at(&self, addr: usize) -> Option<Freed> {
        (0..self.q_len)
            .map(|k| self.quarantine[(self.q_head + k) % QUARANTINE])
            .find(|f| f.ptr.addr() == addr)
    }

    /// Adds a freed block to the quarantine; the block that leaves it, if
    /// any.
    fn push_quarantine(&mut self, freed: Freed) -> Option<Freed> {
        if QUARANTINE == 0 {
            return Some(freed);
        }
        if self.q_len == QUARANTINE {
            let oldest = core::mem::replace(&mut self.quarantine[self.q_head], freed);
            self.q_head = (self.q_head + 1) % QUARANTINE;
            Some(oldest)
        } else {
            self.quarantine[(self.q_head + self.q_len) % QUARANTINE] = freed;
            self.q_len += 1;
            None
        }
    }

    /// The layout `A` is asked for, and the offset of the caller's block
    /// in it; `None` when it makes no valid layout.
    fn outer(size: usize, align: usize) -> Option<(Layout, usize)> {
        let front = align.max(CANARY);
        let total = front.checked_add(size)?.checked_add(CANARY)?;
        Some((Layout::from_size_align(total, front).ok()?, front))
    }
}

/// The first canary byte found changed before the block (1 for the byte
/// just before) and after it (as an offset from its start).
///
/// # Safety
/// `ptr` is a block of `size` bytes handed out by a [`Checked`] and not
/// yet given back to its inner heap, so the canaries around it are the
/// heap's to read.
unsafe fn broken_canaries(ptr: *mut u8, size: usize) -> (Option<usize>, Option<usize>) {
    const INTACT: [u8; CANARY] = [CANARY_BYTE; CANARY];
    // SAFETY: the caller's promise: 16 bytes before and after the block
    // are part of the inner block, derived from its pointer. (Read as
    // arrays, which compare in a few instructions.)
    let (front, back) = unsafe {
        (
            ptr.sub(CANARY).cast::<[u8; CANARY]>().read_unaligned(),
            ptr.add(size).cast::<[u8; CANARY]>().read_unaligned(),
        )
    };
    let before =
        (front != INTACT).then(|| front.iter().rev().position(|&b| b != CANARY_BYTE).map_or(0, |i| i + 1));
    let after = (back != INTACT).then(|| back.iter().position(|&b| b != CANARY_BYTE).map_or(0, |i| size + i));
    (before, after)
}

/// Writes the canaries around a block.
///
/// # Safety
/// As [`broken_canaries`], for writing.
unsafe fn write_canaries(ptr: *mut u8, size: usize) {
    // SAFETY: the caller's promise.
    unsafe {
        ptr.sub(CANARY).write_bytes(CANARY_BYTE, CANARY);
        ptr.add(size).write_bytes(CANARY_BYTE, CANARY);
    }
}

/// The offset of the first byte of a quarantined block that is not poison.
///
/// # Safety
/// `f` is in the quarantine of a [`Checked`]: its memory is still the
/// heap's.
unsafe fn broken_poison(f: &Freed) -> Option<usize> {
    /// Eight poison bytes.
    const WORD: u64 = u64::from_ne_bytes([POISON; 8]);
    // SAFETY: the caller's promise; nobody may use the block any more.
    let bytes = unsafe { core::slice::from_raw_parts(f.ptr, f.size) };
    // SAFETY: any bytes are a valid `u64`; `align_to` keeps the middle
    // aligned and in bounds.
    let (head, words, tail) = unsafe { bytes.align_to::<u64>() };
    // The whole block in one pass with no early exit (the compiler
    // vectorises it); the offset is looked for only when something broke.
    let odd = |part: &[u8]| part.iter().fold(0, |acc, &b| acc | (b ^ POISON));
    let intact = words.iter().fold(0, |acc, &w| acc | (w ^ WORD)) == 0 && odd(head) | odd(tail) == 0;
    if intact {
        return None;
    }
    bytes.iter().position(|&b| b != POISON)
}

impl<A: ByteAllocator, const LIVE: usize, const QUARANTINE: usize, R: Report>
    Checked<A, LIVE, QUARANTINE, R>
{
    /// Reports a broken canary around the live block `e`, found by the
    /// call at `at`; `true` when one was.
    fn report_canaries(&mut self, e: Live, at: Caller) -> bool {
        // SAFETY: `e` is in the live table: a block not yet given back.
        let (before, after) = unsafe { broken_canaries(e.ptr, e.size) };
        let (addr, size, seq, caller) = (e.ptr.addr(), e.size, e.seq, e.caller);
        if let Some(before) = before {
            self.report.report(Misuse::Underflow { addr, size, seq, before, caller, at });
        }
        if let Some(offset) = after {
            self.report.report(Misuse::Overflow { addr, size, seq, offset, caller, at });
        }
        before.is_some() || after.is_some()
    }

    /// Reports a write into the quarantined block `f`; `true` when there
    /// was one.
    fn report_poison(&mut self, f: &Freed) -> bool {
        // SAFETY: `f` is (or was until now) in the quarantine: its memory
        // is still the heap's.
        let Some(offset) = (unsafe { broken_poison(f) }) else { return false };
        let (addr, size, seq, freed_at, caller, freed_by) =
            (f.ptr.addr(), f.size, f.seq, f.freed_at, f.caller, f.freed_by);
        self.report.report(Misuse::WriteAfterFree { addr, size, seq, freed_at, offset, caller, freed_by });
        true
    }

    /// The slot of the live block `ptr` allocated with exactly `layout`;
    /// else the misuse (by the call at `at`) is reported and
    /// `NotAllocated` (unknown address) or `InvalidParam` (another layout)
    /// returned.
    fn validate(&mut self, ptr: NonNull<u8>, layout: Layout, at: Caller) -> AllocResult<usize> {
        let addr = ptr.as_ptr().addr();
        let Some(i) = self.find(addr) else {
            let misuse = match self.quarantined_at(addr) {
                Some(f) => Misuse::DoubleFree {
                    addr,
                    size: f.size,
                    seq: f.seq,
                    freed_at: f.freed_at,
                    caller: f.caller,
                    freed_by: f.freed_by,
                    at,
                },
                None => Misuse::ForeignFree { addr, size: layout.size(), align: layout.align(), at },
            };
            self.report.report(misuse);
            return Err(AllocError::NotAllocated);
        };
        let e = self.live[i];
        if e.size != layout.size() || e.align != layout.align() {
            self.report.report(Misuse::WrongLayout {
                addr,
                seq: e.seq,
                size: e.size,
                align: e.align,
                freed_size: layout.size(),
                freed_align: layout.align(),
                caller: e.caller,
                at,
            });
            return Err(AllocError::InvalidParam);
        }
        Ok(i)
    }

    /// Checks a block leaving the quarantine and gives it back to `A`.
    fn release(&mut self, f: Freed) {
        if QUARANTINE != 0 {
            self.report_poison(&f);
        }
        let Some((outer, front)) = Self::outer(f.size, f.align) else { return };
        // SAFETY: `f.ptr` is `front` bytes into the block `A` handed out
        // for `outer` (its size and alignment made it at `alloc`).
        let base = unsafe { NonNull::new_unchecked(f.ptr.sub(front)) };
        // SAFETY: that block is live in `A`, and nobody may use it any more.
        unsafe { self.inner.dealloc(base, outer) };
    }

    /// [`alloc`](ByteAllocator::alloc), recording `caller` as the place
    /// that allocated the block (for a wrapper that knows a better place
    /// than its own call, or `None` to record none).
    ///
    /// # Errors
    /// As `alloc`.
    pub fn alloc_at(
        &mut self,
        layout: Layout,
        caller: Option<&'static Location<'static>>,
    ) -> AllocResult<NonNull<u8>> {
        check_layout(layout)?;
        if self.count >= LIVE {
            return Err(AllocError::TableFull);
        }
        // A block that, with its canaries, makes no valid layout is never
        // served.
        let (outer, front) = Self::outer(layout.size(), layout.align()).ok_or(AllocError::Unsupported)?;
        let base = self.inner.alloc(outer)?;
        // SAFETY: `base` is a block of `front + size + 16` bytes, so the
        // caller's block and the canaries around it lie inside it.
        let ptr = unsafe {
            let ptr = base.add(front);
            write_canaries(ptr.as_ptr(), layout.size());
            ptr
        };
        let seq = self.tick();
        self.insert(Live { ptr: ptr.as_ptr(), size: layout.size(), align: layout.align(), seq, caller });
        Ok(ptr)
    }

    /// [`dealloc`](ByteAllocator::dealloc), naming `at` as the place that
    /// freed the block (in reports, and as `freed_by` later).
    ///
    /// # Safety
    /// None beyond `dealloc`'s, which this checks: a free that matches no
    /// live block is reported and changes nothing.
    pub unsafe fn dealloc_at(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        at: Option<&'static Location<'static>>,
    ) {
        let Ok(i) = self.validate(ptr, layout, at) else { return };
        let e = self.live[i];
        self.report_canaries(e, at);
        self.remove(i);
        let freed = Freed {
            ptr: e.ptr,
            size: e.size,
            align: e.align,
            seq: e.seq,
            freed_at: self.tick(),
            caller: e.caller,
            freed_by: at,
        };
        if QUARANTINE != 0 {
            // SAFETY: the block was live and is freed now: its bytes are
            // the heap's.
            unsafe { e.ptr.write_bytes(POISON, e.size) };
        }
        if let Some(oldest) = self.push_quarantine(freed) {
            self.release(oldest);
        }
    }

    /// Every resize: checks the block as `dealloc` does, then moves it to
    /// a block of `new` allocated for `at`.
    ///
    /// # Safety
    /// As `dealloc_at`.
    unsafe fn move_at(
        &mut self,
        ptr: NonNull<u8>,
        old: Layout,
        new: Layout,
        at: Caller,
    ) -> AllocResult<NonNull<u8>> {
        check_layout(new)?;
        self.validate(ptr, old, at)?;
        let moved = self.alloc_at(new, at)?;
        // SAFETY: both blocks are live (`ptr` was just validated) and
        // distinct, so disjoint, and at least this long.
        unsafe { core::ptr::copy_nonoverlapping(ptr.as_ptr(), moved.as_ptr(), old.size().min(new.size())) };
        // SAFETY: `ptr` is live for `old` (validated).
        unsafe { self.dealloc_at(ptr, old, at) };
        Ok(moved)
    }

    /// Checks every live block's canaries and every quarantined block's
    /// poison, reports each problem, and repairs it (so that each damage
    /// is reported once). Returns how many problems it reported.
    ///
    /// # Time Complexity
    /// O(`LIVE` + the bytes in quarantine).
    pub fn check(&mut self) -> usize {
        let mut found = 0;
        for i in 0..LIVE {
            let e = self.live[i];
            if !e.ptr.is_null() && self.report_canaries(e, None) {
                found += 1;
                // SAFETY: `e` is live: its canaries are the heap's.
                unsafe { write_canaries(e.ptr, e.size) };
            }
        }
        for k in 0..self.q_len {
            let f = self.quarantine[(self.q_head + k) % QUARANTINE];
            if self.report_poison(&f) {
                found += 1;
                // SAFETY: quarantined: the block is the heap's.
                unsafe { f.ptr.write_bytes(POISON, f.size) };
            }
        }
        found
    }

    /// Checks every quarantined block and gives it back to `A` (to read
    /// exact figures, say). O(the bytes in quarantine).
    pub fn flush(&mut self) {
        while self.q_len > 0 {
            let f = self.quarantine[self.q_head];
            self.q_head = (self.q_head + 1) % QUARANTINE;
            self.q_len -= 1;
            self.release(f);
        }
    }
}

impl<A: BaseAllocator, const LIVE: usize, const QUARANTINE: usize, R: Report> BaseAllocator
    for Checked<A, LIVE, QUARANTINE, R>
{
    type Addr = A::Addr;

    unsafe fn init(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.inner.add_memory(start, size) }
    }
}

// SAFETY: every block handed out is `front` bytes into a block of `A`
// asked for `front + size + 16` bytes aligned to `front >= align`: so it
// is aligned, `size` bytes long (its usable size), inside `A`'s memory and
// disjoint from every other live block, whose `A` blocks are disjoint. It
// is given back to `A` only after it was freed here (and left the
// quarantine); a free that does not match a live block exactly never
// reaches `A`. Nothing but the canaries (outside the block) and freed
// blocks is ever written. `resize_in_place` always refuses, changing
// nothing; `grow` and `shrink` move through `alloc` and `dealloc`.
unsafe impl<A: ByteAllocator, const LIVE: usize, const QUARANTINE: usize, R: Report> ByteAllocator
    for Checked<A, LIVE, QUARANTINE, R>
{
    /// Records where it was called from (`#[track_caller]`): see the
    /// type's "Callers".
    #[track_caller]
    #[inline]
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.alloc_at(layout, Some(Location::caller()))
    }

    /// Looks the block up before anything else: see the type's docs for
    /// what is reported, and what is freed. Reports name the caller
    /// (`#[track_caller]`).
    #[track_caller]
    #[inline]
    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.dealloc_at(ptr, layout, Some(Location::caller())) }
    }

    /// Always refuses ([`AllocError::Unsupported`]; `InvalidParam` for a
    /// malformed size): every resize moves, so stale pointers to the old
    /// block are caught.
    unsafe fn resize_in_place(&mut self, _ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        check_layout(new)?;
        Err(AllocError::Unsupported)
    }

    /// Exactly the size allocated.
    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        self.find(ptr.as_ptr().addr()).map_or(layout.size(), |i| self.live[i].size)
    }

    /// `A`'s: canaries, padding and quarantined blocks count as used.
    fn figures(&self) -> Figures {
        self.inner.figures()
    }

    /// `A`'s, less the canaries and alignment padding; 0 when the live
    /// table is full.
    fn largest_free(&self) -> Option<usize> {
        if self.count >= LIVE {
            return Some(0);
        }
        self.inner.largest_free().map(|n| n.saturating_sub(2 * CANARY + CANARY - 1))
    }

    /// Moves (after checking the block as `dealloc` does: an unknown block
    /// is `NotAllocated`, another layout `InvalidParam`, both reported).
    /// The new block is recorded as allocated by the caller
    /// (`#[track_caller]`).
    #[track_caller]
    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_grow(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.move_at(ptr, old, new, Some(Location::caller())) }
    }

    /// Moves, as [`grow`](Self::grow).
    #[track_caller]
    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        check_shrink(old, new)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.move_at(ptr, old, new, Some(Location::caller())) }
    }

    /// Moves, as [`grow`](Self::grow).
    #[track_caller]
    unsafe fn realloc(
        &mut self,
        ptr: NonNull<u8>,
        layout: Layout,
        new_size: usize,
    ) -> AllocResult<NonNull<u8>> {
        let new = Layout::from_size_align(new_size, layout.align()).map_err(|_| AllocError::InvalidParam)?;
        // SAFETY: forwarded from the caller.
        unsafe { self.move_at(ptr, layout, new, Some(Location::caller())) }
    }
}

// SAFETY: true only for the blocks in the live table, which are live
// blocks of this heap (inside `A`'s memory), each with the one layout it
// may be freed with.
unsafe impl<A, const LIVE: usize, const QUARANTINE: usize, R: Report> Owns
    for Checked<A, LIVE, QUARANTINE, R>
{
    fn owns(&self, ptr: NonNull<u8>, _layout: Layout) -> bool {
        self.find(ptr.as_ptr().addr()).is_some()
    }
}

#[cfg(test)]
mod tests;
