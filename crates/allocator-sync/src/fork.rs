//! Holding a [`Depot`]'s lock across `fork`, as
//! [`Locked::lock_for_fork`] does for a `Locked` heap.

use allocator_core::ByteAllocator;

use crate::{Depot, InitHeap, Locked};

impl<A: ByteAllocator, L: lock_api::RawMutex, I: InitHeap<A>> Depot<A, L, I> {
    /// Takes the depot's lock and keeps it until
    /// [`unlock_after_fork`](Self::unlock_after_fork), as
    /// [`Locked::lock_for_fork`]: for a `pthread_atfork` "prepare"
    /// handler. The calling thread's own magazines stay usable; a miss that
    /// needs the depot fails instead of waiting.
    pub fn lock_for_fork(&self) {
        Locked::lock_for_fork(self.locked());
    }

    /// Releases the lock taken by [`lock_for_fork`](Self::lock_for_fork).
    ///
    /// # Safety
    /// As [`Locked::unlock_after_fork`].
    pub unsafe fn unlock_after_fork(&self) {
        // SAFETY: forwarded from the caller.
        unsafe { Locked::unlock_after_fork(self.locked()) }
    }
}

#[cfg(test)]
mod tests {
    use core::mem::MaybeUninit;
    use std::boxed::Box;

    use allocator::{AllocError, Depot, Locked, TlsfByteAllocator, YieldLock};

    #[test]
    fn a_heap_held_for_fork_refuses_its_holder_and_waits_for_others() {
        let heap: &'static Locked<TlsfByteAllocator, YieldLock> =
            Box::leak(Box::new(Locked::new(TlsfByteAllocator::new())));
        heap.add_static(Box::leak(Box::new([MaybeUninit::uninit(); 4096]))).unwrap();
        heap.lock_for_fork();
        assert_eq!(heap.figures(), Err(AllocError::Busy));
        let other = std::thread::spawn(move || heap.try_with(|_| ()).err());
        assert_eq!(other.join().unwrap(), Some(AllocError::Busy));
        // SAFETY: this thread took the lock just above.
        unsafe { heap.unlock_after_fork() };
        assert!(heap.figures().is_ok());

        let depot: &'static Depot<TlsfByteAllocator, YieldLock> =
            Box::leak(Box::new(Depot::new(TlsfByteAllocator::new())));
        depot.lock_for_fork();
        assert_eq!(depot.figures(), Err(AllocError::Busy));
        // SAFETY: as above.
        unsafe { depot.unlock_after_fork() };
        assert!(depot.figures().is_ok());
    }
}
