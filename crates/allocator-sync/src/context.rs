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
