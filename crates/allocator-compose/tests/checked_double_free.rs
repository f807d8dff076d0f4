//! `Locked<Checked<TlsfByteAllocator, …, AbortReport>>` as the
//! `#[global_allocator]`: a deliberate double free through
//! `GlobalAlloc::dealloc` ends the process with the checker's message,
//! naming the block's address, size and sequence number. The free runs in
//! a child process (this test binary, started again), whose end and
//! standard error the parent checks.
//!
//! `AbortReport`, not the default `PanicReport`: std formats a panic's
//! message into a `String` before printing it, which would find the heap
//! locked, so the message would be lost (and a panic must not unwind out of
//! `GlobalAlloc`).

use std::{
    alloc::{alloc, dealloc, Layout},
    time::Duration,
};

use allocator_compose::{AbortReport, Checked};
use allocator_core::{AllocError, AllocResult, BaseAllocator};
use allocator_sync::{InitHeap, Locked, SpinLock, StaticMemory};
use allocator_testkit::run_test_in_child;
use allocator_tlsf::TlsfByteAllocator;

type Heap = Checked<TlsfByteAllocator, 4096, 64, AbortReport>;

static ARENA: StaticMemory<{ 16 << 20 }> = StaticMemory::new();

/// Gives the heap the arena on the first allocation.
struct GiveArena;

impl InitHeap<Heap> for GiveArena {
    fn init(heap: &mut Heap) -> AllocResult {
        let arena = ARENA.take().ok_or(AllocError::AlreadyInitialized)?;
        // SAFETY: `take` handed the arena out once, to this heap alone, for
        // the whole program.
        unsafe { heap.init(arena.as_mut_ptr().cast::<u8>(), arena.len()) }
    }
}

#[global_allocator]
static HEAP: Locked<Heap, SpinLock, GiveArena> =
    Locked::new(Checked::with_report(TlsfByteAllocator::new(), AbortReport));

const CHILD: &str = "ALLOCATOR_COMPOSE_DOUBLE_FREE_CHILD";
const TEST: &str = "a_double_free_through_the_global_allocator_ends_the_process_with_the_checkers_message";

/// The child: allocate a 24-byte block, say which it is, free it twice.
fn child() -> ! {
    let layout = Layout::from_size_align(24, 8).unwrap();
    // SAFETY: a non-zero layout.
    let p = unsafe { alloc(layout) };
    assert!(!p.is_null());
    let addr = p.addr();
    let mut seq = None;
    HEAP.with(|h| {
        h.leaks(|b| {
            if b.addr == addr {
                seq = Some(b.seq);
            }
        });
    })
    .unwrap();
    eprintln!("child: block {addr:#x} #{}", seq.expect("the block is live"));
    // SAFETY: the first free is correct; the second is the bug under test,
    // which the checked heap must catch before its inner heap sees it.
    unsafe {
        dealloc(p, layout);
        dealloc(p, layout);
    }
    unreachable!("the checker aborts at the second free");
}

#[test]
fn a_double_free_through_the_global_allocator_ends_the_process_with_the_checkers_message() {
    if std::env::var_os(CHILD).is_some() {
        child();
    }
    if std::env::var_os("ALLOCATOR_EMULATED").is_some() {
        // Under qemu-user (the cross step) the child is emulated too; the
        // host steps run this check.
        println!("skipped under an emulator");
        return;
    }
    let (status, stderr) = run_test_in_child(TEST, &[(CHILD, "1")], Duration::from_secs(60));
    assert!(!status.success(), "the child succeeded: {stderr}");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(6), "not an abort: {status}; {stderr}");
    }
    let said = stderr.lines().find_map(|l| l.strip_prefix("child: block ")).expect(&stderr);
    let (addr, seq) = said.split_once(' ').expect(&stderr);
    let message = format!("Checked: double free of the 24-byte block at {addr} (allocation {seq} at ");
    assert!(stderr.contains(&message), "no `{message}` in: {stderr}");
    assert!(stderr.contains("already freed at #") && stderr.contains("freed again at "), "{stderr}");
}
