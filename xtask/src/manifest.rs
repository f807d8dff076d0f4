//! The few facts read from Cargo manifests, by line (xtask has no
//! dependencies, so no TOML parser).

/// The names in the `[features]` table of a manifest.
pub(crate) fn feature_names(manifest: &str) -> Vec<String> {
    let mut in_features = false;
    let mut names = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_features = line == "[features]";
        } else if in_features && !line.starts_with('#') {
            if let Some((name, _)) = line.split_once('=') {
                names.push(name.trim().to_string());
            }
        }
    }
    names
}

/// The `rust-version` a manifest declares.
pub(crate) fn declared_msrv(manifest: &str) -> Option<&str> {
    manifest.lines().find_map(|l| l.trim().strip_prefix("rust-version")?.split('"').nth(1))
}

/// The `[[bin]]` names of a manifest (the fuzz crate's are its targets).
#[cfg(test)]
pub(crate) fn bin_names(manifest: &str) -> Vec<&str> {
    manifest
        .split("[[bin]]")
        .skip(1)
        .filter_map(|section| {
            section.lines().find_map(|l| l.trim().strip_prefix("name = ")?.split('"').nth(1))
        })
        .collect()
}

/// The quoted entries of the `members = [...]` list of a workspace
/// manifest.
#[cfg(test)]
pub(crate) fn workspace_members(manifest: &str) -> Vec<&str> {
    let Some((_, rest)) = manifest.split_once("\nmembers = [") else { return Vec::new() };
    let list = rest.split(']').next().unwrap_or("");
    list.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.split(','))
        .filter_map(|entry| entry.trim().strip_prefix('"')?.strip_suffix('"'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_read_from_their_table() {
        let manifest = "[package]\nname = \"x\"\n[features]\ndefault = [\"a\"]\n## doc\na = []\nb-c = [\"a\"]\n\n[dependencies]\nd = \"1\"\n";
        assert_eq!(feature_names(manifest), ["default", "a", "b-c"]);
    }

    #[test]
    fn the_msrv_is_read() {
        assert_eq!(declared_msrv("[workspace.package]\nrust-version = \"1.95\"\n"), Some("1.95"));
        assert_eq!(declared_msrv("[package]\n"), None);
    }

    #[test]
    fn bins_are_read_in_order() {
        let m = "[package]\nname = \"x\"\n[[bin]]\nname = \"a\"\npath = \"a.rs\"\n[[bin]]\nname = \"b\"\n";
        assert_eq!(bin_names(m), ["a", "b"]);
    }

    #[test]
    fn members_are_read_but_not_default_members() {
        let m = "[workspace]\nmembers = [\n    \"a\",\n    \"b/c\", # why\n]\ndefault-members = [\"a\"]\n";
        assert_eq!(workspace_members(m), ["a", "b/c"]);
    }
}
