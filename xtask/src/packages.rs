//! The table of packages: one row per workspace crate with the facts the
//! steps need. Every list of crates a step uses is derived from it, so a
//! new crate is one row (a test fails until it has one).

/// What a crate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A `#![no_std]` library.
    NoStd,
    /// A library that needs `std`, tested with the libraries (the testkit,
    /// the preload library).
    Std,
    /// A host program, checked by steps of its own: left out of the
    /// library test suites.
    Program,
}

/// The test binaries of a crate that steps run by name.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tests {
    /// `tests/conformance.rs`, the testkit's suite (run under valgrind).
    pub(crate) conformance: bool,
    /// `tests/global_alloc.rs`: the heap as the program's allocator, then a
    /// thread storm (run under ThreadSanitizer and as the stress step).
    pub(crate) global_alloc: bool,
    /// Other test binaries that work the crate from many threads (run
    /// under ThreadSanitizer and as the stress step).
    pub(crate) threads: &'static [&'static str],
    /// Its tests may run under AddressSanitizer: not so for a library that
    /// defines `malloc` itself, as ASan's runtime does.
    pub(crate) asan: bool,
}

impl Tests {
    /// No test binary run by name; AddressSanitizer allowed.
    const PLAIN: Tests = Tests { conformance: false, global_alloc: false, threads: &[], asan: true };
}

/// One workspace crate and its facts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Package {
    /// Its package name (and folder name).
    pub(crate) name: &'static str,
    /// Its folder, as the root manifest's `members` lists it.
    pub(crate) path: &'static str,
    /// What it is.
    pub(crate) kind: Kind,
    /// It builds with `core` alone (no `alloc`) with default features off.
    pub(crate) core_alone: bool,
    /// The bare-metal targets (of [`BARE_METAL`]) the no_std matrix builds
    /// it for, with no features and with its default ones.
    pub(crate) bare_metal: &'static [&'static str],
    /// Its "all no_std features" set, built for every bare-metal target
    /// (empty: none).
    pub(crate) nostd_features: &'static [&'static str],
    /// Features each tested alone (the preload library's heaps).
    pub(crate) features_alone: &'static [&'static str],
    /// It hands out memory through pointers: no `as` casts between
    /// integers and pointers (nightly's strict-provenance lints).
    pub(crate) strict_provenance: bool,
    /// The test binaries steps run by name.
    pub(crate) tests: Tests,
    /// The fuzz targets (`fuzz/Cargo.toml`'s `[[bin]]`s) that exercise it.
    pub(crate) fuzz: &'static [&'static str],
}

/// The bare-metal targets (and WebAssembly), in the order the no_std
/// matrix builds them.
pub(crate) const BARE_METAL: &[&str] = &[
    "thumbv6m-none-eabi",
    "thumbv7em-none-eabihf",
    "riscv32imac-unknown-none-elf",
    "riscv64gc-unknown-none-elf",
    "aarch64-unknown-none",
    "x86_64-unknown-none",
    "loongarch64-unknown-none",
    // WebAssembly: `WasmPages` (memory.grow) and every library beside it.
    "wasm32-unknown-unknown",
];

/// The targets of [`BARE_METAL`] without compare-and-swap.
pub(crate) const NO_CAS: &[&str] = &["thumbv6m-none-eabi"];

/// A `no_std` library: built for every bare-metal target and with `core`
/// alone, its pointers checked for provenance.
const LIBRARY: Package = Package {
    name: "",
    path: "",
    kind: Kind::NoStd,
    core_alone: true,
    bare_metal: BARE_METAL,
    nostd_features: &[],
    features_alone: &[],
    strict_provenance: true,
    tests: Tests::PLAIN,
    fuzz: &[],
};

/// A crate outside the no_std checks (no bare-metal builds, no `core`
/// alone, no provenance lints): a `std` library unless its row says
/// otherwise.
const OTHER: Package =
    Package { kind: Kind::Std, core_alone: false, bare_metal: &[], strict_provenance: false, ..LIBRARY };

/// A heap with the conformance suite and a global-allocator test.
const HEAP_TESTS: Tests = Tests { conformance: true, global_alloc: true, ..Tests::PLAIN };

/// Every workspace crate, in the root manifest's `members` order.
pub(crate) const PACKAGES: &[Package] = &[
    Package { name: "allocator-core", path: "crates/allocator-core", ..LIBRARY },
    Package {
        name: "allocator-sync",
        path: "crates/allocator-sync",
        // Its `global_alloc` test runs the testkit's reference heap, O(n)
        // per operation: in the `test` step only.
        tests: Tests { threads: &["magazines", "yield_lock"], ..Tests::PLAIN },
        ..LIBRARY
    },
    Package { name: "allocator-testkit", path: "crates/allocator-testkit", ..OTHER },
    Package {
        name: "allocator-tlsf",
        path: "crates/allocator-tlsf",
        tests: HEAP_TESTS,
        fuzz: &["tlsf"],
        ..LIBRARY
    },
    Package {
        name: "allocator-buddy",
        path: "crates/allocator-buddy",
        tests: HEAP_TESTS,
        fuzz: &["buddy", "buddy_pages"],
        ..LIBRARY
    },
    Package {
        name: "allocator-slab",
        path: "crates/allocator-slab",
        // The crate it wraps needs `alloc`.
        core_alone: false,
        tests: HEAP_TESTS,
        fuzz: &["slab"],
        ..LIBRARY
    },
    Package {
        name: "allocator-bitmap",
        path: "crates/allocator-bitmap",
        // Page and id numbers, not pointers.
        strict_provenance: false,
        fuzz: &["bitmap_pages", "bitmap_ids"],
        ..LIBRARY
    },
    Package {
        name: "allocator-compose",
        path: "crates/allocator-compose",
        tests: HEAP_TESTS,
        fuzz: &[
            "fallback_pool_tlsf",
            "segregator_pool_buddy",
            "refill_tlsf_pages",
            "region",
            "fallback_buddy_tlsf",
            "refill_buddy_pages",
            "refill_slab_pages",
            "checked",
        ],
        ..LIBRARY
    },
    Package { name: "allocator-os", path: "crates/allocator-os", ..LIBRARY },
    Package {
        name: "allocator-kit",
        path: "crates/allocator-kit",
        // `#![forbid(unsafe_code)]`: nothing to check for provenance.
        strict_provenance: false,
        nostd_features: &["full", "log", "allocator_api", "critical-section", "page-alloc-1t"],
        tests: Tests { threads: &["hosted_global", "policies"], ..Tests::PLAIN },
        ..LIBRARY
    },
    // `no_std`, but not (yet) in the no_std matrix.
    Package { name: "allocator-malloc", path: "crates/allocator-malloc", kind: Kind::NoStd, ..OTHER },
    Package {
        name: "allocator-malloc-preload",
        path: "crates/allocator-malloc/preload",
        features_alone: &["tlsf", "hosted", "hosted-os", "buddy"],
        tests: Tests { asan: false, ..Tests::PLAIN },
        ..OTHER
    },
    Package { name: "allocator-bench", path: "crates/allocator-bench", kind: Kind::Program, ..OTHER },
    Package { name: "allocator-examples", path: "examples", kind: Kind::Program, ..OTHER },
    // Built on its own for a Cortex-M by the `.bss` checks.
    Package { name: "allocator-statics", path: "examples/statics", kind: Kind::NoStd, ..OTHER },
    Package { name: "xtask", path: "xtask", kind: Kind::Program, ..OTHER },
];

/// The facade (lib `allocator`).
pub(crate) const FACADE: &str = "allocator-kit";
/// The crate of locks and magazines (its `portable-atomic` feature gives
/// spin locks to targets without compare-and-swap).
pub(crate) const SYNC: &str = "allocator-sync";
/// Pages from the OS and from WebAssembly's `memory.grow`.
pub(crate) const OS: &str = "allocator-os";
/// The C ABI over any heap.
pub(crate) const MALLOC: &str = "allocator-malloc";
/// The C ABI as an `LD_PRELOAD` library.
pub(crate) const PRELOAD: &str = "allocator-malloc-preload";
/// The workbench.
pub(crate) const WORKBENCH: &str = "allocator-bench";
/// The runnable examples.
pub(crate) const EXAMPLES: &str = "allocator-examples";
/// Every `static` heap, lock and combinator, for the `.bss` checks.
pub(crate) const STATICS: &str = "allocator-statics";

/// The row of the crate named `name`.
///
/// # Panics
///
/// When no row has that name (a test checks every name used).
pub(crate) fn named(name: &str) -> &'static Package {
    PACKAGES.iter().find(|p| p.name == name).unwrap_or_else(|| panic!("{name} has no row in PACKAGES"))
}

/// The names of the crates for which `keep` holds, in table order.
pub(crate) fn names(keep: impl Fn(&Package) -> bool) -> Vec<&'static str> {
    PACKAGES.iter().filter(|p| keep(p)).map(|p| p.name).collect()
}

/// `-p NAME` for each crate for which `keep` holds.
pub(crate) fn dash_p(keep: impl Fn(&Package) -> bool) -> Vec<&'static str> {
    names(keep).into_iter().flat_map(|name| ["-p", name]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest;

    /// The workspace root's file `path`, read.
    fn read(path: &str) -> String {
        let root = crate::run::workspace_root();
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_workspace_member_has_a_row_and_every_row_is_a_member() {
        let manifest = read("Cargo.toml");
        let members = manifest::workspace_members(&manifest);
        assert!(members.len() > 10, "{members:?}");
        for member in &members {
            assert!(PACKAGES.iter().any(|p| p.path == *member), "{member} has no row in PACKAGES");
        }
        for p in PACKAGES {
            assert!(members.contains(&p.path), "{} is not a workspace member", p.path);
            let own = read(&format!("{}/Cargo.toml", p.path));
            assert!(own.contains(&format!("name = \"{}\"", p.name)), "{} is not named {}", p.path, p.name);
        }
    }

    #[test]
    fn the_rows_say_what_the_sources_say() {
        let root = crate::run::workspace_root();
        for p in PACKAGES {
            let dir = root.join(p.path);
            let lib = ["src/lib.rs", "lib.rs"].iter().find_map(|f| std::fs::read_to_string(dir.join(f)).ok());
            let no_std = lib.is_some_and(|l| l.lines().any(|l| l.trim() == "#![no_std]"));
            assert_eq!(no_std, p.kind == Kind::NoStd, "{}: #![no_std] or not", p.name);
            assert!(p.kind == Kind::NoStd || p.bare_metal.is_empty() && !p.core_alone, "{}", p.name);
            assert!(p.bare_metal.iter().all(|t| BARE_METAL.contains(t)), "{}", p.name);
            let test = |name: &str| dir.join("tests").join(format!("{name}.rs")).is_file();
            assert_eq!(p.tests.conformance, test("conformance"), "{}: tests/conformance.rs", p.name);
            assert!(!p.tests.global_alloc || test("global_alloc"), "{}: tests/global_alloc.rs", p.name);
            for t in p.tests.threads {
                assert!(test(t), "{}: tests/{t}.rs", p.name);
            }
            let features = manifest::feature_names(&read(&format!("{}/Cargo.toml", p.path)));
            for f in p.nostd_features.iter().chain(p.features_alone) {
                assert!(features.iter().any(|n| n == f), "{}: no feature {f}", p.name);
            }
        }
    }

    #[test]
    fn every_fuzz_target_belongs_to_one_row() {
        let manifest = read("fuzz/Cargo.toml");
        let mut bins = manifest::bin_names(&manifest);
        let mut rows: Vec<&str> = PACKAGES.iter().flat_map(|p| p.fuzz.iter().copied()).collect();
        assert!(bins.len() >= 10 && bins.contains(&"tlsf") && bins.contains(&"bitmap_ids"));
        bins.sort_unstable();
        rows.sort_unstable();
        assert_eq!(rows, bins, "the rows' fuzz targets against fuzz/Cargo.toml's [[bin]]s");
    }

    #[test]
    fn the_named_crates_have_rows() {
        for name in [FACADE, SYNC, OS, MALLOC, PRELOAD, WORKBENCH, EXAMPLES, STATICS] {
            assert_eq!(named(name).name, name);
        }
        assert_eq!(dash_p(|p| p.name == FACADE), ["-p", FACADE]);
    }
}
