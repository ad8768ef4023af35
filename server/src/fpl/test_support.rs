//! Test helper: finds the shared FPL snapshots without copying them.
//!
//! Promises: `snapshot_dir("2025-26_gw7")` is taken from `FPL_SNAPSHOT_DIR` (the snapshot
//! itself, a folder holding it, or a sibling of it) or else from the first ancestor of
//! `CARGO_MANIFEST_DIR` that has `shared/fpl-data/<name>`.

use std::path::{Path, PathBuf};

/// The directory of the named snapshot; panics with a clear message when it cannot be found.
pub fn snapshot_dir(name: &str) -> PathBuf {
    if let Ok(env) = std::env::var("FPL_SNAPSHOT_DIR") {
        let dir = PathBuf::from(env);
        let candidates = [
            Some(dir.clone()).filter(|d| d.file_name().is_some_and(|f| f == name)),
            Some(dir.join(name)),
            dir.parent().map(|p| p.join(name)),
        ];
        for c in candidates.into_iter().flatten() {
            if c.join("bootstrap-static.json").is_file() {
                return c;
            }
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    for ancestor in manifest.ancestors() {
        let c = ancestor.join("shared").join("fpl-data").join(name);
        if c.join("bootstrap-static.json").is_file() {
            return c;
        }
    }
    panic!(
        "FPL snapshot '{name}' not found: set FPL_SNAPSHOT_DIR or place shared/fpl-data/{name} \
         in an ancestor of {}",
        manifest.display()
    );
}
