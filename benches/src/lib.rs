//! Shared helpers of the stsg criterion benchmarks.

use std::path::PathBuf;

/// The shared data folder: `STSG_DATA_DIR`, else `../shared/data` beside the workspace, if it exists.
pub fn data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("STSG_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    dir.is_dir().then_some(dir)
}
