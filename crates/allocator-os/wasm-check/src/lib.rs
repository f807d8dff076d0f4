//! `WasmPages` on a real `memory.grow`: `run` returns 0, or the number of
//! the first check that failed.
#![no_std]

#[cfg(target_arch = "wasm32")]
mod check {
    use core::arch::wasm32::memory_size;

    use allocator_core::{AllocError, PageAllocator};
    use allocator_os::WasmPages;

    const PAGE: usize = 65536;

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }

    fn checks() -> Result<(), u32> {
        let ok = |c: bool, n: u32| if c { Ok(()) } else { Err(n) };
        let mut p = WasmPages::wasm();
        let start = memory_size(0);
        // A fresh run is the memory's new end, writable.
        let a = p.alloc_pages(4, PAGE).map_err(|_| 1u32)?;
        ok(a == start * PAGE && memory_size(0) == start + 4, 2)?;
        let mem = core::ptr::with_exposed_provenance_mut::<u8>(a);
        // SAFETY: four pages just grown for this allocator.
        unsafe {
            mem.write_bytes(0xA5, 4 * PAGE);
            ok(*mem.add(4 * PAGE - 1) == 0xA5, 3)?;
        }
        // Aligned beyond the page: the slack stays free for later.
        let b = p.alloc_pages(2, 4 * PAGE).map_err(|_| 4u32)?;
        ok(b % (4 * PAGE) == 0, 5)?;
        // A freed run is reused before the memory grows.
        // SAFETY: nothing uses `a`.
        unsafe { p.dealloc_pages(a, 4) }.map_err(|_| 6u32)?;
        let grown = memory_size(0);
        let c = p.alloc_pages(3, PAGE).map_err(|_| 7u32)?;
        ok(c == a && memory_size(0) == grown, 8)?;
        // Bad input: errors, nothing changes.
        ok(p.alloc_pages(0, PAGE) == Err(AllocError::InvalidParam), 9)?;
        ok(p.alloc_pages(1, 3) == Err(AllocError::InvalidParam), 10)?;
        // SAFETY: refused: the page is free (a double free).
        ok(unsafe { p.dealloc_pages(a + 3 * PAGE, 1) } == Err(AllocError::NotAllocated), 11)?;
        // SAFETY: refused: not a page boundary.
        ok(unsafe { p.dealloc_pages(c + 1, 1) } == Err(AllocError::InvalidParam), 12)?;
        // 4 GiB overflows `usize`: InvalidParam. More than the memory may
        // grow to (its maximum is 64 MiB: `run.sh`): NoMemory, no change.
        ok(p.alloc_pages(65536, PAGE) == Err(AllocError::InvalidParam), 13)?;
        ok(p.alloc_pages(1024, PAGE) == Err(AllocError::NoMemory) && memory_size(0) == grown, 18)?;
        // SAFETY: nothing uses them.
        unsafe {
            p.dealloc_pages(b, 2).map_err(|_| 14u32)?;
            p.dealloc_pages(c, 3).map_err(|_| 15u32)?;
        }
        ok(p.used_pages() == 0 && p.total_pages() == memory_size(0) - start, 16)?;
        ok(p.free_runs() == 1, 17)
    }

    /// 0 when every check passed, else the failed check's number.
    #[no_mangle]
    pub extern "C" fn run() -> u32 {
        match checks() {
            Ok(()) => 0,
            Err(n) => n,
        }
    }

    /// Pages of the module's memory now.
    #[no_mangle]
    pub extern "C" fn memory_pages() -> u32 {
        memory_size(0) as u32
    }
}
