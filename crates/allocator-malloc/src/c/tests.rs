use core::mem::MaybeUninit;
use std::boxed::Box;

use allocator::{Locked, SpinLock, TlsfByteAllocator};

use super::*;
use crate::{malloc_usable_size, HEADER};

fn heap() -> &'static Locked<TlsfByteAllocator, SpinLock> {
    let heap = Box::leak(Box::new(Locked::new(TlsfByteAllocator::new())));
    heap.add_static(Box::leak(Box::new([MaybeUninit::uninit(); 1 << 20]))).unwrap();
    heap
}

#[test]
fn every_function_keeps_its_c_contract() {
    let h = heap();
    let before = h.figures().unwrap().used;
    let p = malloc(h, 100).unwrap();
    assert_eq!(p.as_ptr().addr() % 16, 0);
    // SAFETY: a live block of ours.
    let usable = unsafe { malloc_usable_size(h, p.as_ptr()) };
    assert!(usable >= 100);
    // SAFETY: the usable bytes are writable.
    unsafe { p.write_bytes(0xAB, usable) };
    // SAFETY: live, freed once.
    unsafe { free(h, p.as_ptr()) };
    // SAFETY: null is accepted.
    unsafe { free(h, core::ptr::null_mut()) };

    let z = malloc(h, 0).unwrap();
    // SAFETY: live.
    unsafe { free(h, z.as_ptr()) };

    assert_eq!(calloc(h, usize::MAX / 2, 3), Err(Error::NoMemory));
    let c = calloc(h, 10, 10).unwrap();
    // SAFETY: 100 bytes.
    assert!(unsafe { core::slice::from_raw_parts(c.as_ptr(), 100) }.iter().all(|&b| b == 0));

    // SAFETY: live blocks of ours throughout.
    unsafe {
        c.write_bytes(7, 100);
        let g = realloc(h, c.as_ptr(), 5000).unwrap().unwrap();
        assert!(core::slice::from_raw_parts(g.as_ptr(), 100).iter().all(|&b| b == 7));
        let s = realloc(h, g.as_ptr(), 10).unwrap().unwrap();
        assert!(core::slice::from_raw_parts(s.as_ptr(), 10).iter().all(|&b| b == 7));
        assert_eq!(realloc(h, s.as_ptr(), 0), Ok(None));
        let n = realloc(h, core::ptr::null_mut(), 32).unwrap().unwrap();
        assert_eq!(reallocarray(h, n.as_ptr(), usize::MAX, 2), Err(Error::NoMemory));
        free(h, n.as_ptr());
    }

    for align in [1, 8, 16, 64, 4096] {
        let a = aligned_alloc(h, align, 3).unwrap();
        assert_eq!(a.as_ptr().addr() % align, 0);
        // SAFETY: live.
        unsafe { free(h, a.as_ptr()) };
    }
    assert_eq!(aligned_alloc(h, 3, 8), Err(Error::Invalid));
    assert_eq!(posix_memalign(h, 2, 8), Err(Error::Invalid));
    assert_eq!(posix_memalign(h, 24, 8), Err(Error::Invalid));
    let m = memalign(h, 48, 10).unwrap();
    assert_eq!(m.as_ptr().addr() % 64, 0);
    let v = pvalloc(h, 4096, 1).unwrap();
    assert_eq!(v.as_ptr().addr() % 4096, 0);
    // SAFETY: live.
    unsafe {
        assert!(malloc_usable_size(h, v.as_ptr()) >= 4096);
        free(h, m.as_ptr());
        free(h, v.as_ptr());
    }

    assert_eq!(malloc(h, usize::MAX - 8), Err(Error::NoMemory));
    assert_eq!(malloc(h, 1 << 30), Err(Error::NoMemory));
    assert_eq!(h.figures().unwrap().used, before);
    assert_eq!(HEADER, 16);
}

#[test]
fn a_reentered_heap_fails_instead_of_hanging() {
    let h = heap();
    let inner = h.with(|_| malloc(h, 8)).unwrap();
    assert_eq!(inner, Err(Error::NoMemory));
}
