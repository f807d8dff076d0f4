//! Output through the `virt` machine's 16550 UART, and the way out:
//! qemu's SiFive test device, which ends the run with an exit status.
//!
//! Nothing here allocates, so it works before the heap is set up, inside a
//! failing check, and in the panic handler.

use core::{
    fmt::{self, Write},
    hint::spin_loop,
    ptr,
    sync::atomic::{AtomicBool, Ordering},
};

use crate::boot;

/// The UART's registers: transmit holding (offset 0) and line status
/// (offset 5, bit 5: ready for a byte).
const UART: usize = 0x1000_0000;
const UART_LSR: usize = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;

/// The SiFive test device: `0x5555` powers off with status 0, `(code <<
/// 16) | 0x3333` with status `code`.
const TEST_DEVICE: usize = 0x10_0000;
const TEST_PASS: u32 = 0x5555;
const TEST_FAIL: u32 = 0x3333;

/// Held while one hart writes a line, so lines of harts do not mix.
static LOCK: AtomicBool = AtomicBool::new(false);

/// The UART, as a [`fmt::Write`] sink.
struct Uart;

impl Uart {
    fn put(byte: u8) {
        let base = ptr::with_exposed_provenance_mut::<u8>(UART);
        // SAFETY: the `virt` machine's 16550 has byte registers at `UART`
        // and `UART + 5`; volatile accesses to them have no effect on
        // memory. Reading the line status has no side effect.
        unsafe {
            while base.add(UART_LSR).read_volatile() & LSR_THR_EMPTY == 0 {
                spin_loop();
            }
            base.write_volatile(byte);
        }
    }
}

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.bytes().for_each(Self::put);
        Ok(())
    }
}

/// Writes one line. The lock is given up after about a second, so that a
/// hart that failed while holding it (it cannot here: writing never
/// panics) would not silence the rest.
pub(crate) fn print_line(args: fmt::Arguments<'_>) {
    let deadline = boot::now() + boot::TICKS_PER_SECOND;
    while LOCK.compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
        if boot::now() > deadline {
            break;
        }
        spin_loop();
    }
    // `Uart::write_str` never fails.
    let _ = Uart.write_fmt(args);
    Uart::put(b'\n');
    LOCK.store(false, Ordering::Release);
}

/// Prints a line over the UART (no allocation).
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::console::print_line(format_args!($($arg)*))
    };
}

/// Prints `FAIL: <why>` and ends the run with a failure status.
pub(crate) fn fail(why: fmt::Arguments<'_>) -> ! {
    print_line(format_args!("FAIL: {why}"));
    exit(Err(1))
}

/// Ends the run: status 0 for `Ok`, `code` (1..=0xffff) for `Err(code)`.
pub(crate) fn exit(status: Result<(), u16>) -> ! {
    let value = match status {
        Ok(()) => TEST_PASS,
        Err(code) => (u32::from(code) << 16) | TEST_FAIL,
    };
    let device = ptr::with_exposed_provenance_mut::<u32>(TEST_DEVICE);
    // SAFETY: the `virt` machine's test device is a 32-bit register at
    // `TEST_DEVICE`; writing it stops the machine and touches no memory.
    unsafe { device.write_volatile(value) };
    boot::park()
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let hart = boot::hart_id();
    match info.location() {
        Some(at) => print_line(format_args!("panic on hart {hart} at {at}: {}", info.message())),
        None => print_line(format_args!("panic on hart {hart}: {}", info.message())),
    }
    exit(Err(2))
}
