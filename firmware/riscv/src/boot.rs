//! The first instructions of every hart, the trap vector, and the few
//! machine registers the kernel reads.

use core::{arch::global_asm, ptr};

use crate::console;

/// Harts this kernel runs on (qemu's `-smp 4`); harts above park at boot.
pub(crate) const HARTS: usize = 4;

/// log2 of each hart's stack size: 64 KiB, reserved below.
const STACK_SHIFT: u32 = 16;

// Every hart starts here in machine mode with interrupts off, `a0` = its
// hart id and `a1` = the device tree qemu placed in RAM.
//
// - The trap vector is set first, so that a fault reports itself.
// - `mstatus.FS` = Initial turns the FPU on: with `-bios none` nothing
//   else does, and code for riscv64gc may use the FP registers.
// - Each hart takes its stack below `__stacks_end` (hart 0's on top), in
//   the `.stacks` section reserved here and placed last by `kernel.ld`.
// - Hart 0 zeroes `.bss` and then raises `bss_zeroed` (in `.data`, which
//   qemu loads from the image: it is 0 before anything runs); the others
//   wait for it before touching any Rust `static`.
global_asm!(
    r#"
    .pushsection .data
    .balign 4
bss_zeroed:
    .word 0
    .popsection

    .pushsection .stacks, "aw", @nobits
    .balign 4096
    .space {stacks_size}
    .popsection

    .pushsection .text.entry, "ax"
    .globl _start
_start:
    la      t0, trap_vector
    csrw    mtvec, t0
    csrw    mie, zero
    li      t0, 0x2000
    csrs    mstatus, t0

    csrr    a0, mhartid
    li      t0, {harts}
    bgeu    a0, t0, 5f

    la      sp, __stacks_end
    slli    t0, a0, {stack_shift}
    sub     sp, sp, t0

    bnez    a0, 3f
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    addi    t0, t0, 8
    j       1b
2:  fence   rw, rw
    la      t0, bss_zeroed
    li      t1, 1
    sw      t1, 0(t0)
    j       4f

3:  la      t0, bss_zeroed
    lw      t1, 0(t0)
    beqz    t1, 3b
    fence   rw, rw

4:  call    {main}
5:  wfi
    j       5b

    .balign 4
trap_vector:
    csrr    a0, mcause
    csrr    a1, mepc
    csrr    a2, mtval
    call    {trap}
    .popsection
    "#,
    harts = const HARTS,
    stack_shift = const STACK_SHIFT,
    stacks_size = const HARTS << STACK_SHIFT,
    main = sym crate::kernel_main,
    trap = sym trap,
);

/// Any trap is a bug here (no interrupt is enabled): say what and where,
/// then stop the machine with a failure.
extern "C" fn trap(mcause: usize, mepc: usize, mtval: usize) -> ! {
    console::fail(format_args!(
        "trap on hart {}: mcause {mcause:#x} at mepc {mepc:#x}, mtval {mtval:#x}",
        hart_id()
    ))
}

/// The calling hart's id.
#[inline]
pub(crate) fn hart_id() -> usize {
    let id: usize;
    // SAFETY: reading `mhartid` in machine mode has no side effect.
    unsafe { core::arch::asm!("csrr {}, mhartid", out(reg) id, options(nomem, nostack, preserves_flags)) };
    id
}

/// The machine timer (the `virt` machine's CLINT `mtime`, 10 MHz).
pub(crate) fn now() -> u64 {
    let mtime = ptr::with_exposed_provenance::<u64>(0x0200_bff8);
    // SAFETY: `mtime` is a read-only 64-bit register of the CLINT at this
    // address on the `virt` machine; a volatile read has no side effect.
    unsafe { mtime.read_volatile() }
}

/// Ticks of [`now`] per second.
pub(crate) const TICKS_PER_SECOND: u64 = 10_000_000;

/// Stops the calling hart for good (no interrupt is enabled, so `wfi`
/// wakes only spuriously).
pub(crate) fn park() -> ! {
    loop {
        // SAFETY: `wfi` only waits; it touches no memory.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
    }
}
