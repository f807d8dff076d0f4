//! [`Depot`]: the shared heap of a magazine front, with full magazines kept
//! per size class, behind one lock.

use core::{alloc::Layout, marker::PhantomData, mem::MaybeUninit, ptr::NonNull};

use allocator_core::{
    helpers::{class_size, CLASSES},
    AllocError, AllocResult, BaseAllocator, ByteAllocator, Figures,
};

use crate::{
    magazine::{block_layout, rounds, Cache, Mag, Supply},
    Held, InitHeap, Lock, Locked, NoInit, SpinLock,
};

/// Full magazines the depot keeps per class; more go back to the heap.
pub const DEPOT_MAGAZINES: usize = 4;

/// The most bytes a depot's magazines can hold: [`DEPOT_MAGAZINES`] full
/// magazines of every class.
pub const fn max_cached_in_depot() -> usize {
    crate::magazine::max_cached_per_context() / 2 * DEPOT_MAGAZINES
}

/// Full magazines of one class, linked through the second word of each
/// magazine's first block.
#[derive(Clone, Copy, Debug)]
struct Stack {
    top: Option<NonNull<u8>>,
    count: usize,
}

/// The heap and the depot's stacks: what the lock protects.
pub(crate) struct Stock<A> {
    heap: A,
    full: [Stack; CLASSES],
}

// SAFETY: the stacks own free blocks of the heap's memory (no thread
// affinity); the whole moves between threads with the heap.
unsafe impl<A: Send> Send for Stock<A> {}

impl<A> Stock<A> {
    const fn new(heap: A) -> Self {
        Self { heap, full: [Stack { top: None, count: 0 }; CLASSES] }
    }

    /// Bytes in the depot's magazines.
    fn bytes(&self) -> usize {
        self.full.iter().enumerate().map(|(c, s)| s.count * rounds(c) * class_size(c)).sum()
    }
}

impl<A: ByteAllocator> Stock<A> {
    /// Pops a full magazine of `class`.
    fn pop(&mut self, class: usize) -> Option<Mag> {
        let stack = &mut self.full[class];
        let head = stack.top?;
        // SAFETY: a stacked magazine's head block is owned by the depot; its
        // second word (blocks are at least 16 bytes, 16-aligned) holds the
        // next magazine's head, written by `push`.
        stack.top = unsafe { head.cast::<Option<NonNull<u8>>>().add(1).read() };
        stack.count -= 1;
        Some(Mag::from_parts(head, rounds(class)))
    }

    /// Stacks the full magazine `mag` of `class`, or frees its blocks when
    /// the depot holds enough.
    fn push(&mut self, class: usize, mag: Mag) {
        let stack = &mut self.full[class];
        match mag.head() {
            Some(head) if stack.count < DEPOT_MAGAZINES && mag.len() == rounds(class) => {
                // SAFETY: the magazine's blocks are the depot's now; the
                // head's second word is free (the first is the list link).
                unsafe { head.cast::<Option<NonNull<u8>>>().add(1).write(stack.top) };
                stack.top = Some(head);
                stack.count += 1;
            }
            _ => self.release(class, mag),
        }
    }

    /// Frees every block of `mag` (of `class`) to the heap.
    fn release(&mut self, class: usize, mut mag: Mag) {
        // SAFETY: the magazine's blocks are free blocks of `class`, each
        // allocated from this heap with the class's layout.
        while let Some(block) = unsafe { mag.pop() } {
            // SAFETY: as above.
            unsafe { self.heap.dealloc(block, block_layout(class)) };
        }
    }

    /// Frees every stacked magazine to the heap; the bytes freed.
    fn drain(&mut self) -> usize {
        let bytes = self.bytes();
        for class in 0..CLASSES {
            while let Some(mag) = self.pop(class) {
                self.release(class, mag);
            }
        }
        bytes
    }

    /// Fills the empty `mag` with a magazine of `class`: from the depot,
    /// else fresh blocks from the heap (after draining the depot back into
    /// it if the heap is out of memory).
    fn refill(&mut self, class: usize, mag: &mut Mag) -> bool {
        if let Some(full) = self.pop(class) {
            *mag = full;
            return true;
        }
        for _ in 0..rounds(class) {
            match self.heap.alloc(block_layout(class)) {
                // SAFETY: a fresh block of the class's layout, given to the
                // magazine.
                Ok(block) => unsafe { mag.push(block) },
                Err(_) => break,
            }
        }
        if mag.len() == 0 && self.drain() > 0 {
            if let Ok(block) = self.heap.alloc(block_layout(class)) {
                // SAFETY: as above.
                unsafe { mag.push(block) };
            }
        }
        mag.len() > 0
    }
}

impl<A: BaseAllocator> BaseAllocator for Stock<A> {
    type Addr = A::Addr;

    unsafe fn init(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.init(start, size) }
    }

    unsafe fn add_memory(&mut self, start: A::Addr, size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.add_memory(start, size) }
    }
}

// SAFETY: every method forwards to the heap, which makes the promises; the
// depot's own blocks are allocated blocks as far as the heap knows, and are
// never handed out by these methods, so no block is reachable twice.
unsafe impl<A: ByteAllocator> ByteAllocator for Stock<A> {
    fn alloc(&mut self, layout: Layout) -> AllocResult<NonNull<u8>> {
        match self.heap.alloc(layout) {
            Err(AllocError::NoMemory) if self.drain() > 0 => self.heap.alloc(layout),
            r => r,
        }
    }

    unsafe fn dealloc(&mut self, ptr: NonNull<u8>, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.dealloc(ptr, layout) }
    }

    unsafe fn resize_in_place(&mut self, ptr: NonNull<u8>, layout: Layout, new_size: usize) -> AllocResult {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.resize_in_place(ptr, layout, new_size) }
    }

    unsafe fn usable_size(&self, ptr: NonNull<u8>, layout: Layout) -> usize {
        // SAFETY: forwarded from the caller.
        unsafe { self.heap.usable_size(ptr, layout) }
    }

    /// The heap's figures: blocks in magazines (the depot's and the
    /// contexts') count as used, as the heap sees them.
    fn figures(&self) -> Figures {
        self.heap.figures()
    }

    fn largest_free(&self) -> Option<usize> {
        self.heap.largest_free()
    }

    fn health(&self) -> allocator_core::Health {
        self.heap.health()
    }
}

/// Runs the user's set-up on the heap inside the depot.
pub(crate) struct Lift<I>(PhantomData<I>);

impl<A, I: InitHeap<A>> InitHeap<Stock<A>> for Lift<I> {
    fn init(stock: &mut Stock<A>) -> AllocResult {
        I::init(&mut stock.heap)
    }
}

/// The shared layer under a magazine front ([`PerCpu`](crate::PerCpu),
/// `ThreadCached`): a heap `A` behind lock `L` (set up by `I`, as for
/// [`Locked`]), and a depot of full magazines per size class in the same
/// lock.
///
/// A context whose magazines are both empty takes a full one from the
/// depot (or a magazine's worth of fresh blocks from the heap); one whose
/// magazines are both full leaves one here. The depot keeps at most
/// [`DEPOT_MAGAZINES`] full magazines per class and frees the rest to the
/// heap; when the heap runs out of memory, the depot is emptied into it and
/// the request retried. Blocks larger than 4 KiB (or more aligned) bypass
/// the magazines: they are allocated from the heap under the lock.
///
/// The heap sees the blocks in magazines as allocated, each with its
/// class's size (`allocator::helpers::class_size`) and an alignment of 16:
/// any [`ByteAllocator`] works; the size-class layer (`SizeClasses`) serves
/// exactly those blocks at no waste. Blocks aligned more than 16 bypass the
/// magazines.
pub struct Depot<A, L = SpinLock, I = NoInit> {
    locked: Locked<Stock<A>, L, Lift<I>>,
}

impl<A, L: Lock, I> Depot<A, L, I> {
    /// A depot over `heap`; `const`, for a `static`.
    pub const fn new(heap: A) -> Self {
        Self { locked: Locked::new(Stock::new(heap)) }
    }
}

impl<A: ByteAllocator, L: Lock, I: InitHeap<A>> Depot<A, L, I> {
    /// The heap's figures under the lock: `used` counts the blocks in
    /// magazines (the heap cannot tell them from live blocks);
    /// [`cached_bytes`](Self::cached_bytes) says how much the depot holds,
    /// and each front how much the calling context holds.
    ///
    /// # Errors
    /// As [`Locked::with`].
    pub fn figures(&self) -> AllocResult<Figures> {
        self.locked.figures()
    }

    /// Runs `f` on the heap under the lock, as [`Locked::with`] does: for
    /// its figures, its own methods, or blocks taken from it directly.
    ///
    /// `f` should not allocate through a front of this depot: a magazine
    /// that needs the depot then finds it held, and the allocation fails
    /// (frees are kept in the magazines, beyond their size, until the next
    /// exchange).
    ///
    /// # Errors
    /// As [`Locked::with`].
    pub fn with<R>(&self, f: impl FnOnce(&mut Held<'_, A>) -> R) -> AllocResult<R> {
        self.locked.with(|h| f(&mut h.project(|s| &mut s.heap)))
    }

    /// The heap's [`Health`](allocator_core::Health) under the lock (blocks
    /// in magazines count as used).
    ///
    /// # Errors
    /// As [`Locked::with`].
    pub fn health(&self) -> AllocResult<allocator_core::Health> {
        self.locked.with(|h| h.health())
    }

    /// Bytes held in the depot's magazines (at most
    /// [`max_cached_in_depot`](crate::max_cached_in_depot)).
    ///
    /// # Errors
    /// As [`Locked::with`].
    pub fn cached_bytes(&self) -> AllocResult<usize> {
        self.locked.with(|h| h.bytes())
    }

    /// Frees every magazine in the depot to the heap (memory pressure); the
    /// bytes freed. Contexts' own magazines are flushed by their front.
    ///
    /// # Errors
    /// As [`Locked::with`].
    pub fn drain(&self) -> AllocResult<usize> {
        self.locked.with(|h| h.op(Stock::drain))
    }

    /// Gives the heap its first memory, under the lock, as
    /// [`BaseAllocator::init`].
    ///
    /// # Errors
    /// As [`BaseAllocator::init`], or as [`Locked::with`].
    ///
    /// # Safety
    /// As [`BaseAllocator::init`].
    pub unsafe fn init(&self, start: A::Addr, size: usize) -> AllocResult
    where
        A: BaseAllocator,
    {
        // SAFETY: forwarded from the caller.
        unsafe { self.locked.init(start, size) }
    }

    /// Gives the heap memory, under the lock, as
    /// [`BaseAllocator::add_static`].
    ///
    /// # Errors
    /// As [`BaseAllocator::add_memory`], or as [`Locked::with`].
    pub fn add_static(&self, memory: &'static mut [MaybeUninit<u8>]) -> AllocResult
    where
        A: BaseAllocator<Addr = *mut u8>,
    {
        self.locked.add_static(memory)
    }

    /// Gives the heap memory, under the lock, as
    /// [`BaseAllocator::add_memory`].
    ///
    /// # Errors
    /// As [`BaseAllocator::add_memory`], or as [`Locked::with`].
    ///
    /// # Safety
    /// As [`BaseAllocator::add_memory`].
    pub unsafe fn add_memory(&self, start: A::Addr, size: usize) -> AllocResult
    where
        A: BaseAllocator,
    {
        // SAFETY: forwarded from the caller.
        unsafe { self.locked.add_memory(start, size) }
    }

    /// The lock and the heap with its depot, for the fronts' uncached paths.
    pub(crate) fn locked(&self) -> &Locked<Stock<A>, L, Lift<I>> {
        &self.locked
    }

    /// Runs `f` under the lock: waiting for it, or (`wait` false: a
    /// context nested in its own operation, which may hold the lock) only
    /// if it is free now.
    fn run<R>(&self, wait: bool, f: impl FnOnce(&mut Held<'_, Stock<A>>) -> R) -> AllocResult<R> {
        if wait {
            self.locked.with(f)
        } else {
            self.locked.try_with(f)
        }
    }

    /// A block of `layout` from the heap, bypassing every magazine (null
    /// when there is none).
    #[inline(never)]
    pub(crate) fn alloc_large(&self, layout: Layout, wait: bool) -> *mut u8 {
        match self.run(wait, |h| h.alloc(layout)) {
            Ok(Ok(p)) => p.as_ptr(),
            _ => core::ptr::null_mut(),
        }
    }

    /// Frees a block the heap gave for `layout`, bypassing every magazine.
    /// A heap that cannot be had (re-entered, poisoned) keeps the block:
    /// leaking is the only safe answer.
    ///
    /// # Safety
    /// `block` is live in this depot's heap, fitting `layout`.
    #[inline(never)]
    pub(crate) unsafe fn free_large(&self, block: NonNull<u8>, layout: Layout, wait: bool) {
        // SAFETY: forwarded from the caller.
        let _ = self.run(wait, |h| unsafe { h.dealloc(block, layout) });
    }

    /// One block of `class` from the heap, bypassing every magazine.
    #[inline(never)]
    pub(crate) fn alloc_class(&self, class: usize, wait: bool) -> *mut u8 {
        self.alloc_large(block_layout(class), wait)
    }

    /// Frees one block of `class` to the heap, bypassing every magazine.
    ///
    /// # Safety
    /// `block` was allocated for `class` from this depot's heap (through a
    /// front or `alloc_class`) and is free.
    #[inline(never)]
    pub(crate) unsafe fn free_class(&self, class: usize, block: NonNull<u8>, wait: bool) {
        // SAFETY: forwarded from the caller.
        unsafe { self.free_large(block, block_layout(class), wait) }
    }
}

impl<A: ByteAllocator, L: Lock, I: InitHeap<A>> Supply for Depot<A, L, I> {
    fn refill(&self, class: usize, mag: &mut Mag) -> bool {
        self.locked.with(|h| h.op(|s| s.refill(class, mag))).unwrap_or(false)
    }

    fn spill(&self, class: usize, mag: &mut Mag) -> bool {
        self.locked.with(|h| h.op(|s| s.push(class, core::mem::replace(mag, Mag::EMPTY)))).is_ok()
    }

    fn take_all(&self, cache: &mut Cache) -> bool {
        self.locked.with(|h| h.op(|s| cache.drain(|class, mag| s.push(class, mag)))).is_ok()
    }
}

impl<A, L, I> core::fmt::Debug for Depot<A, L, I> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Depot").field("locked", &self.locked).finish()
    }
}
