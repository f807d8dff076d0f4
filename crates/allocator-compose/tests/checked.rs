//! `Checked` is just another heap: the testkit's whole suite over it,
//! without a quarantine (an exact heap) and with one.

use core::{alloc::Layout, ptr::NonNull};

use allocator_compose::Checked;
use allocator_core::{AllocResult, BaseAllocator, ByteAllocator, Figures, Owns};
use allocator_testkit::{byte_allocator_tests, ByteConfig};
use allocator_tlsf::TlsfByteAllocator;

// Without a quarantine every free returns its memory at once, so the
// suite's rules hold as for any heap, `largest_free` included.
byte_allocator_tests!(
    no_quarantine,
    Checked::<TlsfByteAllocator, 1024, 0>::new(TlsfByteAllocator::new()),
    ByteConfig::new(64 * 1024).walked_figures().more_regions(&[4096, 256 * 1024]),
);
byte_allocator_tests!(
    no_quarantine_odd_start,
    Checked::<TlsfByteAllocator, 1024, 0>::new(TlsfByteAllocator::new()),
    ByteConfig::new(64 * 1024 + 13).walked_figures().offset(7).base_align(8),
);

/// `Checked` with its quarantine, which holds freed blocks (poisoned) and
/// gives their memory back only as they leave it, emptied whenever nothing
/// is live: so that the suite's rule "everything freed, everything back"
/// applies. The quarantine keeps memory after a probe's free, so
/// `largest_free` is not answered here (it is above).
#[derive(Debug)]
struct Drained(Checked<TlsfByteAllocator, 2048, 64>);

impl BaseAllocator for Drained {
    type Addr = *mut u8;

    unsafe fn init(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: *mut u8, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.add_memory(start, size) }
    }
}

// SAFETY: every operation is `Checked`'s; a flush gives back only freed
// blocks.
unsafe impl ByteAllocator for Drained {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        self.0.alloc(layout)
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.dealloc(ptr, layout) };
        if self.0.live_blocks() == 0 {
            self.0.flush();
        }
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.resize_in_place(ptr, layout, new_size) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.usable_size(ptr, layout) }
    }

    fn figures(&self) -> Figures {
        self.0.figures()
    }

    unsafe fn grow(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.grow(ptr, old, new) }
    }

    unsafe fn shrink(&mut self, ptr: NonNull<u8>, old: Layout, new: Layout) -> AllocResult<NonNull<u8>> {
        // SAFETY: forwarded from the caller.
        unsafe { self.0.shrink(ptr, old, new) }
    }
}

// SAFETY: `Checked`'s answer.
unsafe impl Owns for Drained {
    fn owns(&self, ptr: NonNull<u8>, layout: Layout) -> bool {
        self.0.owns(ptr, layout)
    }
}

byte_allocator_tests!(
    quarantine,
    Drained(Checked::new(TlsfByteAllocator::new())),
    ByteConfig::new(64 * 1024).walked_figures().lazy_free().more_regions(&[4096, 256 * 1024]),
);
byte_allocator_tests!(
    quarantine_adjacent,
    Drained(Checked::new(TlsfByteAllocator::new())),
    ByteConfig::new(64 * 1024).walked_figures().lazy_free().adjacent(),
);
