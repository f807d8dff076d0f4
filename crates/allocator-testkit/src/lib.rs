#![doc = include_str!("../README.md")]

pub mod byte;
mod child;
mod first_fit;
pub mod health;
pub mod id;
mod memory;
pub mod page;
mod rng;
mod runs;
mod schedule;
mod violation;
pub mod workload;

pub use byte::ByteConfig;
pub use child::run_test_in_child;
pub use first_fit::FirstFit;
pub use id::IdConfig;
pub use memory::{TestAddress, TestRegion};
pub use page::PageConfig;
pub use rng::XorShift;
pub use violation::Violation;

#[doc(hidden)]
pub mod __private {
    pub use crate::memory::TestAddress;
    pub use allocator_core::{AllocError, AllocResult, BaseAllocator, ByteAllocator, Owns};
    pub use allocator_sync::{InitHeap, Locked, SpinLock, StaticMemory};

    /// Autoref specialisation: `(&Probe::of(&a)).owns_fn()` is the
    /// allocator's `owns` when it implements [`Owns`], `None` otherwise,
    /// decided where the concrete type is known (inside the suite macros).
    #[derive(Debug)]
    pub struct Probe<A>(core::marker::PhantomData<fn(&A)>);

    impl<A> Probe<A> {
        /// A probe for the type of `_a`.
        pub fn of(_a: &A) -> Self {
            Probe(core::marker::PhantomData)
        }
    }

    /// Chosen when `A: Owns`.
    pub trait ViaOwns<A> {
        /// The allocator's `owns`.
        fn owns_fn(&self) -> Option<crate::byte::OwnsFn<A>>;
    }

    impl<A: Owns + ByteAllocator> ViaOwns<A> for &Probe<A> {
        fn owns_fn(&self) -> Option<crate::byte::OwnsFn<A>> {
            Some(|a, p, l| a.owns(p, l))
        }
    }

    /// Chosen otherwise.
    pub trait ViaNothing<A> {
        /// Nothing to check.
        fn owns_fn(&self) -> Option<crate::byte::OwnsFn<A>>;
    }

    impl<A> ViaNothing<A> for Probe<A> {
        fn owns_fn(&self) -> Option<crate::byte::OwnsFn<A>> {
            None
        }
    }

    /// The allocator `$new` makes, as a suite subject that checks ownership
    /// when the allocator's type implements [`Owns`].
    #[macro_export]
    #[doc(hidden)]
    macro_rules! __subject {
        ($new:expr) => {{
            #[allow(unused_imports)]
            use $crate::__private::{ViaNothing as _, ViaOwns as _};
            let alloc = $new;
            let owns = (&$crate::__private::Probe::of(&alloc)).owns_fn();
            $crate::byte::Subject { alloc, owns }
        }};
    }
}

/// The proptest version the strategies are written for.
pub use proptest;

/// Panics with the violation's description: how the generated tests turn
/// a finding into a failure.
///
/// # Panics
/// When `r` is a violation.
#[track_caller]
pub fn expect(r: Result<(), Violation>) {
    if let Err(v) = r {
        panic!("conformance violation: {v}");
    }
}

/// Runs `cases` values of `strategy` through `check` (the environment
/// variable `PROPTEST_CASES` overrides `cases`), shrinking a failure to a
/// minimal case.
///
/// # Panics
/// With the minimal failing value and its violation.
pub fn run_cases<T: std::fmt::Debug>(
    cases: u32,
    strategy: impl proptest::strategy::Strategy<Value = T>,
    check: impl Fn(T) -> Result<(), Violation>,
) {
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(cases);
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    if let Err(e) = runner.run(&strategy, |v| check(v).map_err(|x| TestCaseError::fail(x.to_string()))) {
        panic!("{e}");
    }
}

/// Instantiates the whole byte-allocator suite as a test module.
///
/// `$new` is an expression that makes an empty allocator (it is evaluated
/// once per run); `$config` a [`ByteConfig`].
///
/// ```ignore
/// allocator_testkit::byte_allocator_tests!(small, MyHeap::new(), ByteConfig::new(64 * 1024));
/// ```
#[macro_export]
macro_rules! byte_allocator_tests {
    ($name:ident, $new:expr, $config:expr $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn config() -> $crate::ByteConfig {
                $config
            }

            #[test]
            fn fill_and_recover() {
                $crate::expect($crate::byte::fill_and_recover($crate::__subject!($new), &config()));
            }

            #[test]
            fn resize() {
                $crate::expect($crate::byte::resize($crate::__subject!($new), &config()));
            }

            #[test]
            fn add_memory() {
                $crate::expect($crate::byte::add_memory($crate::__subject!($new), &config()));
            }

            #[test]
            fn edges() {
                $crate::expect($crate::byte::edges($crate::__subject!($new), &config()));
            }

            #[test]
            fn bad_input() {
                $crate::expect($crate::byte::bad_input(|| $new, &config()));
            }

            #[test]
            fn op_sequences() {
                $crate::byte::check_byte_ops(|| $crate::__subject!($new), &config());
            }

            /// The same memory as regions that touch: the heap may merge
            /// them, and must still own, keep apart and free every block.
            #[test]
            fn adjacent_regions() {
                $crate::expect($crate::byte::adjacent_regions(|| $crate::__subject!($new), &config()));
            }
        }
    };
}

/// Instantiates the whole page-allocator suite as a test module.
///
/// `$new` makes an empty allocator; `$config` is a [`PageConfig`].
#[macro_export]
macro_rules! page_allocator_tests {
    ($name:ident, $new:expr, $config:expr $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn config() -> $crate::PageConfig {
                $config
            }

            #[test]
            fn conformance() {
                $crate::expect($crate::page::page_conformance($new, &config()));
            }

            #[test]
            fn fragmented() {
                $crate::expect($crate::page::page_fragmented($new, &config(), 4096));
            }

            #[test]
            fn bad_input() {
                $crate::expect($crate::page::page_bad_input(|| $new, &config()));
            }

            #[test]
            fn op_sequences() {
                $crate::page::check_page_ops(|| $new, &config());
            }
        }
    };
}

/// Instantiates the whole id-allocator suite as a test module.
///
/// `$new` makes a fresh allocator over exactly the range of `$config`, an
/// [`IdConfig`].
#[macro_export]
macro_rules! id_allocator_tests {
    ($name:ident, $new:expr, $config:expr $(,)?) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn config() -> $crate::IdConfig {
                $config
            }

            #[test]
            fn conformance() {
                $crate::expect($crate::id::id_conformance($new, &config()));
            }

            #[test]
            fn bad_input() {
                $crate::expect($crate::id::id_bad_input($new, &config()));
            }

            #[test]
            fn op_sequences() {
                $crate::id::check_id_ops(|| $new, &config());
            }
        }
    };
}

/// The workspace's root README, so that its examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct RootReadme;
