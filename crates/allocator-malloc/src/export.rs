//! [`export_c_abi!`]: the C symbols over a heap, for a program or library
//! that provides `malloc` to C code.

/// Defines the C allocation functions — `malloc`, `free`, `calloc`,
/// `realloc`, `reallocarray`, `posix_memalign`, `aligned_alloc`,
/// `memalign`, `valloc`, `pvalloc`, `malloc_usable_size` — as
/// `#[no_mangle] extern "C"` functions over a `static`
/// [`MallocHeap`](crate::MallocHeap), in the module where it is invoked.
///
/// - `heap`: the heap, a path to a `static` (`Locked<…>`, `Depot<…>`, …).
/// - `errno`: a `fn(Error)` that stores [`Error::errno`](crate::Error::errno) where C reads
///   `errno` (glibc: `*__errno_location()`; newlib: `*__errno()`; a
///   firmware without threads: a `static`).
/// - `page_size`: an expression giving the page size for `valloc` and
///   `pvalloc`: a non-zero power of two.
///
/// Failures follow C: null with `errno` set (`ENOMEM`, or `EINVAL` for a
/// bad alignment), `posix_memalign` returning the code with `errno`
/// untouched; `realloc(p, 0)` frees and returns null, as glibc does.
///
/// ```ignore
/// static HEAP: Locked<TlsfByteAllocator, CriticalSectionLock, Arena> = Locked::new(TlsfByteAllocator::new());
/// fn set_errno(e: allocator_malloc::Error) { unsafe { ERRNO = e.errno() } }
/// allocator_malloc::export_c_abi!(heap: HEAP, errno: set_errno, page_size: 4096);
/// ```
///
/// # Safety
///
/// The macro is safe to write, but what it defines replaces the program's
/// C allocator, and the program must be one where that is sound:
/// - **One allocator.** No other definition of these symbols is linked,
///   and no C code frees with these functions a block another allocator
///   made (their `free` reads a header in front of the block). On newlib,
///   `strdup`, `asprintf`, `getline` and the stdio buffers allocate through
///   `_malloc_r`, newlib's own allocator: link no newlib `libc`, or route
///   `_malloc_r`, `_free_r`, `_calloc_r` and `_realloc_r` here too. The
///   Cortex-M3 example (`firmware/cortex-m`) links no C library at all; the
///   `LD_PRELOAD` library replaces glibc's functions, whose own internal
///   calls go through the same symbols.
/// - **`errno` is the C code's**: the function stores where C reads it.
#[macro_export]
macro_rules! export_c_abi {
    (heap: $heap:path, errno: $errno:path, page_size: $page:expr $(,)?) => {
        /// A block, or null with `errno` set.
        #[inline]
        fn __allocator_malloc_or_errno(
            r: ::core::result::Result<::core::ptr::NonNull<u8>, $crate::Error>,
        ) -> *mut ::core::ffi::c_void {
            match r {
                ::core::result::Result::Ok(p) => p.as_ptr().cast(),
                ::core::result::Result::Err(e) => {
                    $errno(e);
                    ::core::ptr::null_mut()
                }
            }
        }

        /// A resized block, null after `realloc(p, 0)`, or null with `errno` set.
        #[inline]
        fn __allocator_malloc_resized(
            r: ::core::result::Result<::core::option::Option<::core::ptr::NonNull<u8>>, $crate::Error>,
        ) -> *mut ::core::ffi::c_void {
            match r {
                ::core::result::Result::Ok(p) => p.map_or(::core::ptr::null_mut(), |p| p.as_ptr().cast()),
                ::core::result::Result::Err(e) => __allocator_malloc_or_errno(::core::result::Result::Err(e)),
            }
        }

        /// C's `malloc`.
        ///
        /// # Safety
        /// Callable from C at any time.
        #[no_mangle]
        pub unsafe extern "C" fn malloc(size: usize) -> *mut ::core::ffi::c_void {
            __allocator_malloc_or_errno($crate::malloc(&$heap, size))
        }

        /// C's `free`.
        ///
        /// # Safety
        /// `ptr` is null or a live block of these functions.
        #[no_mangle]
        pub unsafe extern "C" fn free(ptr: *mut ::core::ffi::c_void) {
            // SAFETY: forwarded from the caller.
            unsafe { $crate::free(&$heap, ptr.cast()) }
        }

        /// C's `calloc`.
        ///
        /// # Safety
        /// Callable from C at any time.
        #[no_mangle]
        pub unsafe extern "C" fn calloc(count: usize, size: usize) -> *mut ::core::ffi::c_void {
            __allocator_malloc_or_errno($crate::calloc(&$heap, count, size))
        }

        /// C's `realloc`, as glibc's (`realloc(p, 0)` frees and gives null).
        ///
        /// # Safety
        /// `ptr` is null or a live block of these functions.
        #[no_mangle]
        pub unsafe extern "C" fn realloc(
            ptr: *mut ::core::ffi::c_void,
            size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: forwarded from the caller.
            __allocator_malloc_resized(unsafe { $crate::realloc(&$heap, ptr.cast(), size) })
        }

        /// `reallocarray`.
        ///
        /// # Safety
        /// `ptr` is null or a live block of these functions.
        #[no_mangle]
        pub unsafe extern "C" fn reallocarray(
            ptr: *mut ::core::ffi::c_void,
            count: usize,
            size: usize,
        ) -> *mut ::core::ffi::c_void {
            // SAFETY: forwarded from the caller.
            __allocator_malloc_resized(unsafe { $crate::reallocarray(&$heap, ptr.cast(), count, size) })
        }

        /// POSIX `posix_memalign`: 0, `EINVAL` or `ENOMEM` (`errno` untouched).
        ///
        /// # Safety
        /// `out` is valid for a pointer write.
        #[no_mangle]
        pub unsafe extern "C" fn posix_memalign(
            out: *mut *mut ::core::ffi::c_void,
            align: usize,
            size: usize,
        ) -> ::core::ffi::c_int {
            match $crate::posix_memalign(&$heap, align, size) {
                ::core::result::Result::Ok(p) => {
                    // SAFETY: the caller's promise.
                    unsafe { out.write(p.as_ptr().cast()) };
                    0
                }
                ::core::result::Result::Err(e) => e.errno(),
            }
        }

        /// C's `aligned_alloc`.
        ///
        /// # Safety
        /// Callable from C at any time.
        #[no_mangle]
        pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut ::core::ffi::c_void {
            __allocator_malloc_or_errno($crate::aligned_alloc(&$heap, align, size))
        }

        /// glibc's `memalign`.
        ///
        /// # Safety
        /// Callable from C at any time.
        #[no_mangle]
        pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut ::core::ffi::c_void {
            __allocator_malloc_or_errno($crate::memalign(&$heap, align, size))
        }

        /// `valloc`: page-aligned.
        ///
        /// # Safety
        /// Callable from C at any time.
        #[no_mangle]
        pub unsafe extern "C" fn valloc(size: usize) -> *mut ::core::ffi::c_void {
            __allocator_malloc_or_errno($crate::memalign(&$heap, $page, size))
        }

        /// `pvalloc`: whole pages, page-aligned.
        ///
        /// # Safety
        /// Callable from C at any time.
        #[no_mangle]
        pub unsafe extern "C" fn pvalloc(size: usize) -> *mut ::core::ffi::c_void {
            __allocator_malloc_or_errno($crate::pvalloc(&$heap, $page, size))
        }

        /// `malloc_usable_size`.
        ///
        /// # Safety
        /// `ptr` is null or a live block of these functions.
        #[no_mangle]
        pub unsafe extern "C" fn malloc_usable_size(ptr: *mut ::core::ffi::c_void) -> usize {
            // SAFETY: forwarded from the caller.
            unsafe { $crate::malloc_usable_size(&$heap, ptr.cast()) }
        }
    };
}
