//! What users get: the workspace on the Rust it declares, and every
//! package as crates.io would see it.

use crate::{
    cli::Options,
    job::{Before, Job},
    manifest,
};

/// The workspace's manifest, for its `rust-version`.
const ROOT_MANIFEST: &str = include_str!("../../../Cargo.toml");

/// `cargo check` of everything with the declared `rust-version`.
pub(crate) fn msrv(_: &Options) -> Vec<Job> {
    let version = manifest::declared_msrv(ROOT_MANIFEST).unwrap_or("unknown");
    // rustup names toolchains by full version: "1.95" is "1.95.0".
    let toolchain =
        if version.matches('.').count() == 1 { format!("+{version}.0") } else { format!("+{version}") };
    vec![Job::cargo(
        &format!("rust {version}"),
        &[&toolchain, "check", "--locked", "--workspace", "--all-targets", "--target-dir", "target/msrv"],
    )]
}

/// `cargo publish --dry-run` of the workspace: each package is built from
/// its own `.crate`, its workspace siblings from a local overlay: what a
/// user downloading them would get.
pub(crate) fn publish(_: &Options) -> Vec<Job> {
    vec![Job::cargo(
        "cargo publish --workspace --dry-run",
        &["publish", "--workspace", "--dry-run", "--locked", "--target-dir", "target/publish"],
    )
    .limit(1200)
    .before(Before::LocalRegistrySources)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_msrv_toolchain_is_a_full_version() {
        let job = &msrv(&Options::default())[0];
        assert!(job.args[0].starts_with("+1."));
        assert_eq!(job.args[0].matches('.').count(), 2, "a full toolchain version");
    }
}
