//! Who is calling: the identity a [`Locked`](crate::Locked) heap records
//! while it is held, so that the holder re-entering it fails instead of
//! waiting for itself.

/// The calling thread's identity, non-zero; 0 when unknown (no `std`, or
/// during thread-local teardown), which turns the re-entry check off.
///
/// The address of a thread-local byte: no allocation, no system call, and
/// no destructor to register.
#[cfg(feature = "std")]
#[inline]
pub(crate) fn current() -> usize {
    std::thread_local! {
        static ID: u8 = const { 0 };
    }
    ID.try_with(|id| core::ptr::from_ref(id).addr()).unwrap_or(0)
}

/// Without `std` there is no thread identity: the lock itself must detect
/// re-entry (the critical-section lock does), or the caller uses
/// `try_with` where re-entry is possible (interrupt handlers).
#[cfg(not(feature = "std"))]
#[inline]
pub(crate) fn current() -> usize {
    0
}

/// In a debug build with `std`: says on standard error (without
/// allocating) that an allocation failed because the calling thread
/// re-entered a heap it holds, before std reports the failed allocation and
/// aborts — so that the cause is named, not only the size.
#[cfg(all(feature = "std", debug_assertions))]
#[cold]
pub(crate) fn report_reentry(size: usize) {
    use std::io::Write;
    // `Stderr` is unbuffered and allocates nothing; a failed write is
    // ignored (there is nowhere else to say it).
    let _ = writeln!(
        std::io::stderr(),
        "allocator: an allocation of {size} bytes re-entered a heap this thread already holds \
         (an allocation inside `Locked::with`, or in a handler interrupting a heap operation); it fails"
    );
}

/// Nothing to report through without `std` or in a release build: the
/// allocation fails (null).
#[cfg(not(all(feature = "std", debug_assertions)))]
#[inline]
pub(crate) fn report_reentry(_size: usize) {}
