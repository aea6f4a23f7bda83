//! Where test inputs live.
//!
//! Paths are derived from this crate's location at compile time, so they are right whatever the
//! current directory of the test process is (cargo runs each crate's tests in that crate's
//! directory).

use std::path::{Path, PathBuf};

/// The environment variable that overrides the location of the read-only `shared/` tree.
pub const SHARED_DIR_ENV: &str = "DELTACLOUD_SHARED_DIR";

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// `<workspace>/fixtures`, where tests keep the copies of recordings they depend on.
pub fn fixtures_dir() -> PathBuf {
    workspace_dir().join("fixtures")
}

/// The `shared/` reference tree: `$DELTACLOUD_SHARED_DIR` if set, else `../shared` next to the
/// workspace. `None` when it does not exist, which is normal outside developer machines and CI.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os(SHARED_DIR_ENV)
        .map(PathBuf::from)
        .or_else(|| workspace_dir().parent().map(|p| p.join("shared")))?;
    dir.is_dir().then_some(dir)
}

/// `shared/recordings/<relative>` if that file exists, e.g.
/// `shared_recording("ec2/test_0002_must_return_list_of_keys.yml")`. A test that gets `None`
/// should print why and return early rather than fail.
pub fn shared_recording(relative: &str) -> Option<PathBuf> {
    let path = shared_dir()?.join("recordings").join(relative);
    path.is_file().then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_dir_holds_the_root_manifest() {
        let root = workspace_dir();
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert!(root.join("crates/testkit/Cargo.toml").is_file());
        assert_eq!(fixtures_dir(), root.join("fixtures"));
    }

    #[test]
    fn shared_recording_is_none_for_missing_files() {
        assert_eq!(shared_recording("no/such/file.yml"), None);
    }
}
