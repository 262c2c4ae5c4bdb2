//! The model bundle folder and its manifest.
//!
//! A bundle is one folder holding every trained stage plus `bundle.json`, the manifest:
//! format name and version, the crate version that wrote it, and the CRC-32 of every other file.
//! Loading checks the version first, then every checksum, and only then reads the stages, so a
//! corrupted or foreign file is a clear error.
//!
//! [`write_bundle_dir`] builds the bundle in a hidden temporary sibling folder, writes the
//! manifest last and renames the folder into place, so an interrupted write never leaves a
//! partial bundle at the target. Replacing a bundle takes two renames, because a rename cannot
//! replace a folder that has files: the old bundle moves to the fixed hidden name
//! [`replaced_bundle_path`], then the new one moves in. A crash between the two leaves no
//! folder at the target and the old bundle at that name. Every save and every `Model::load`
//! first runs [`recover_interrupted_replace`], which moves it back. So loading the target always
//! gives a complete bundle: the old one, or the new one once the second rename is done.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// Name of the manifest file inside a bundle.
pub const MANIFEST_FILE: &str = "bundle.json";

/// Value of the manifest's `format` field.
pub const BUNDLE_FORMAT: &str = "stsg-model-bundle";

/// Bundle format version this build writes and reads. Version 2 records FNV-1a 64 file hashes
/// in the manifest in place of version 1's CRC-32, which was the same for every artifact file.
pub const BUNDLE_FORMAT_VERSION: u32 = 2;

/// The manifest of a bundle (`bundle.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BundleManifest {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Bundle format version.
    pub format_version: u32,
    /// Version of stsg-pipeline that wrote the bundle.
    pub crate_version: String,
    /// CRC-32 (8 hex digits) of every other file, by file name.
    pub files: BTreeMap<String, String>,
    /// Free-form provenance: preset, data folder, sizes, training time.
    pub info: serde_json::Value,
}

impl BundleManifest {
    /// Reads the manifest of the bundle at `dir` and checks its format and version.
    ///
    /// # Errors
    /// [`PipelineError::InvalidBundle`] when `bundle.json` is missing, unreadable or of another
    /// format, [`PipelineError::BundleVersion`] for another format version.
    pub fn read(dir: &Path) -> Result<Self, PipelineError> {
        if !dir.is_dir() {
            return Err(PipelineError::MissingPath {
                path: dir.to_path_buf(),
                what: "model bundle folder",
            });
        }
        let path = dir.join(MANIFEST_FILE);
        let bytes = fs::read(&path).map_err(|e| {
            PipelineError::bundle(
                dir,
                format!("not a model bundle: cannot read {MANIFEST_FILE} ({e}); train one with `cargo xtask train`"),
            )
        })?;
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| PipelineError::bundle(&path, format!("invalid JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) != Some(BUNDLE_FORMAT) {
            return Err(PipelineError::bundle(
                &path,
                format!("\"format\" is not {BUNDLE_FORMAT:?}; this is not an stsg model bundle"),
            ));
        }
        let found = value
            .get("format_version")
            .and_then(|v| v.as_u64())
            .ok_or_else(|| PipelineError::bundle(&path, "\"format_version\" is missing"))?;
        if found != u64::from(BUNDLE_FORMAT_VERSION) {
            return Err(PipelineError::BundleVersion {
                path: dir.to_path_buf(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
                supported: BUNDLE_FORMAT_VERSION,
            });
        }
        serde_json::from_value(value)
            .map_err(|e| PipelineError::bundle(&path, format!("invalid manifest: {e}")))
    }

    /// Checks that every listed file exists and has its recorded checksum.
    ///
    /// # Errors
    /// [`PipelineError::InvalidBundle`] for a missing file, [`PipelineError::BundleChecksum`]
    /// for a changed one.
    pub fn verify(&self, dir: &Path) -> Result<(), PipelineError> {
        for (name, expected) in &self.files {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(PipelineError::bundle(
                    dir,
                    format!("file {name} listed in {MANIFEST_FILE} is missing"),
                ));
            }
            let got = stsg_core::artifact::file_checksums(dir, [name.as_str()])
                .map_err(|e| PipelineError::bundle(&path, e.to_string()))?
                .remove(name)
                .unwrap_or_default();
            if &got != expected {
                return Err(PipelineError::BundleChecksum {
                    path,
                    expected: expected.clone(),
                    got,
                });
            }
        }
        Ok(())
    }

    /// Whether the manifest lists `name`.
    pub fn has_file(&self, name: &str) -> bool {
        self.files.contains_key(name)
    }
}

/// Writes a bundle at `target`: `write` fills a temporary folder and returns the names of the
/// files it wrote; the manifest is added last and the folder renamed to `target`.
///
/// An existing bundle at `target` is replaced. An existing folder at `target` that is not a
/// bundle and not empty is left alone and reported, so a wrong `--out` cannot delete user data.
///
/// Replacing an existing bundle takes two renames: the old bundle moves to
/// [`replaced_bundle_path`], then the new one moves in. A crash between them leaves no bundle at
/// `target`, and the next save or load restores the old one (see
/// [`recover_interrupted_replace`]). A crash while the bundle is written leaves its hidden
/// `.<name>.tmp-*` folder behind. Nothing loads from that folder, and nothing removes it.
///
/// # Errors
/// [`PipelineError::InvalidBundle`] when `target` is a non-bundle folder with content,
/// [`PipelineError::Io`] for file-system failures, and whatever `write` returns. The temporary
/// folder is removed on every error.
pub fn write_bundle_dir(
    target: &Path,
    info: serde_json::Value,
    write: impl FnOnce(&Path) -> Result<Vec<String>, PipelineError>,
) -> Result<BundleManifest, PipelineError> {
    recover_interrupted_replace(target)?;
    if target.exists() {
        let is_bundle = target.join(MANIFEST_FILE).is_file();
        let is_empty_dir = fs::read_dir(target)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !is_bundle && !is_empty_dir {
            return Err(PipelineError::bundle(
                target,
                "exists and is not a model bundle; choose another output folder or remove it",
            ));
        }
    }
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| PipelineError::io(&parent, e))?;
    let tmp = hidden_sibling(target, "tmp");
    let result = (|| {
        fs::create_dir(&tmp).map_err(|e| PipelineError::io(&tmp, e))?;
        let names = write(&tmp)?;
        let files = stsg_core::artifact::file_checksums(&tmp, names.iter().map(String::as_str))
            .map_err(|e| PipelineError::bundle(&tmp, e.to_string()))?;
        let manifest = BundleManifest {
            format: BUNDLE_FORMAT.to_string(),
            format_version: BUNDLE_FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            files,
            info,
        };
        let json = serde_json::to_vec_pretty(&manifest).expect("manifest serialises to JSON");
        stsg_core::artifact::write_atomic(&tmp.join(MANIFEST_FILE), &json)
            .map_err(|e| PipelineError::bundle(&tmp, e.to_string()))?;
        move_into_place(&tmp, target)?;
        Ok(manifest)
    })();
    if result.is_err() && tmp.exists() {
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

/// The hidden folder `.<name>.replaced` beside `target` that contains the old bundle while
/// [`write_bundle_dir`] replaces it. The name is fixed, without a process id, so that a later
/// process finds the folder a crashed one left.
pub fn replaced_bundle_path(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".to_string());
    target.with_file_name(format!(".{name}.replaced"))
}

/// Finishes or undoes a bundle replacement that a crash interrupted, using the folder at
/// [`replaced_bundle_path`]:
///
/// - `target` contains a bundle: the second rename happened, so the folder is the previous
///   bundle (or what is left of it while it was being removed) and is removed.
/// - `target` is absent and the folder has a manifest: the crash came between the two renames,
///   and the folder, the previous bundle, is renamed back to `target`.
/// - `target` is absent and the folder has no manifest: it is a previous bundle being removed
///   (its manifest is removed first), not loadable, and is removed.
/// - `target` is something else: both are left alone, so nothing the user put there is lost.
///
/// Each step is a single rename or a removal that can be repeated, so a crash during recovery
/// is recovered by the next call. Concurrent saves to one target are not supported. A load
/// that runs in the instant between a save's two renames restores the old bundle, so that save
/// then fails on its second rename and leaves the old bundle in place.
///
/// # Errors
/// [`PipelineError::Io`] when the rename or removal fails.
pub fn recover_interrupted_replace(target: &Path) -> Result<(), PipelineError> {
    let old = replaced_bundle_path(target);
    if fs::symlink_metadata(&old).is_err() {
        return Ok(());
    }
    let target_is_bundle = target.join(MANIFEST_FILE).is_file();
    let target_absent = fs::symlink_metadata(target).is_err();
    if target_absent && old.join(MANIFEST_FILE).is_file() {
        fs::rename(&old, target).map_err(|e| PipelineError::io(&old, e))?;
        log::warn!(
            "model: {}: restored the previous bundle from {}, left by a save that was interrupted",
            target.display(),
            old.display()
        );
    } else if target_is_bundle || target_absent {
        remove_replaced(&old)?;
    }
    Ok(())
}

/// Removes a replaced bundle, manifest first, so that a half-removed folder is never taken for
/// a bundle by [`recover_interrupted_replace`].
fn remove_replaced(old: &Path) -> Result<(), PipelineError> {
    match fs::remove_file(old.join(MANIFEST_FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(PipelineError::io(old, e)),
    }
    fs::remove_dir_all(old).map_err(|e| PipelineError::io(old, e))
}

#[cfg(test)]
thread_local! {
    /// Test hook: panic between the two renames of a replacement, as a crash there would stop
    /// the process (nothing after that point runs, no cleanup either).
    static CRASH_BETWEEN_RENAMES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Moves the complete bundle `tmp` to `target`, replacing the bundle or empty folder there.
fn move_into_place(tmp: &Path, target: &Path) -> Result<(), PipelineError> {
    if target.join(MANIFEST_FILE).is_file() {
        let old = replaced_bundle_path(target);
        fs::rename(target, &old).map_err(|e| PipelineError::io(target, e))?;
        #[cfg(test)]
        if CRASH_BETWEEN_RENAMES.get() {
            panic!("simulated crash between the two renames");
        }
        if let Err(e) = fs::rename(tmp, target) {
            // Put the old bundle back; if that fails too, the next save or load does.
            let _ = fs::rename(&old, target);
            return Err(PipelineError::io(target, e));
        }
        remove_replaced(&old)?;
    } else {
        if target.is_dir() {
            // An empty folder (checked by the caller); Windows cannot rename over it.
            fs::remove_dir(target).map_err(|e| PipelineError::io(target, e))?;
        }
        fs::rename(tmp, target).map_err(|e| PipelineError::io(target, e))?;
    }
    Ok(())
}

/// `.<name>.<suffix>-<pid>-<counter>` beside `path`.
fn hidden_sibling(path: &Path, suffix: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "bundle".to_string());
    path.with_file_name(format!(".{name}.{suffix}-{}-{n}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_two(dir: &Path) -> Result<Vec<String>, PipelineError> {
        fs::write(dir.join("a.bin"), b"alpha").unwrap();
        fs::write(dir.join("b.txt"), b"beta").unwrap();
        Ok(vec!["a.bin".into(), "b.txt".into()])
    }

    #[test]
    fn written_bundle_reads_and_verifies() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        let written = write_bundle_dir(&target, serde_json::json!({"k": 1}), write_two).unwrap();
        let read = BundleManifest::read(&target).unwrap();
        assert_eq!(read, written);
        read.verify(&target).unwrap();
        assert_eq!(read.files.len(), 2);
        // Only the bundle remains beside it: no temporary or old folder.
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    #[test]
    fn failed_write_leaves_nothing_loadable() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        let err = write_bundle_dir(&target, serde_json::Value::Null, |dir| {
            fs::write(dir.join("a.bin"), b"partial").unwrap();
            Err(PipelineError::NotEnoughData {
                stage: "test",
                reason: "interrupted".into(),
            })
        });
        assert!(err.is_err());
        assert!(!target.exists());
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
    }

    #[test]
    fn folder_without_manifest_is_not_a_bundle() {
        let root = tempfile::tempdir().unwrap();
        fs::write(root.path().join("a.bin"), b"x").unwrap();
        let err = BundleManifest::read(root.path()).unwrap_err();
        assert!(matches!(err, PipelineError::InvalidBundle { .. }), "{err}");
        assert!(err.to_string().contains("not a model bundle"), "{err}");
    }

    #[test]
    fn corrupted_file_fails_checksum() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        write_bundle_dir(&target, serde_json::Value::Null, write_two).unwrap();
        fs::write(target.join("a.bin"), b"alphA").unwrap();
        let err = BundleManifest::read(&target)
            .unwrap()
            .verify(&target)
            .unwrap_err();
        assert!(
            matches!(&err, PipelineError::BundleChecksum { path, .. } if path.ends_with("a.bin")),
            "{err}"
        );
    }

    #[test]
    fn missing_listed_file_is_reported() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        write_bundle_dir(&target, serde_json::Value::Null, write_two).unwrap();
        fs::remove_file(target.join("b.txt")).unwrap();
        let err = BundleManifest::read(&target)
            .unwrap()
            .verify(&target)
            .unwrap_err();
        assert!(err.to_string().contains("b.txt"), "{err}");
    }

    #[test]
    fn other_format_version_is_rejected() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        write_bundle_dir(&target, serde_json::Value::Null, write_two).unwrap();
        let path = target.join(MANIFEST_FILE);
        let text = fs::read_to_string(&path).unwrap().replace(
            &format!("\"format_version\": {BUNDLE_FORMAT_VERSION}"),
            "\"format_version\": 99",
        );
        fs::write(&path, text).unwrap();
        let err = BundleManifest::read(&target).unwrap_err();
        assert!(
            matches!(err, PipelineError::BundleVersion { found: 99, .. }),
            "{err}"
        );
    }

    /// Replaces the bundle `info` 1 at `target` by one with `info` 2, crashing between the two
    /// renames. Returns the temporary folder the crashed save left.
    fn crash_while_replacing(target: &Path) -> PathBuf {
        write_bundle_dir(target, serde_json::json!(1), write_two).unwrap();
        let root = target.parent().unwrap();
        CRASH_BETWEEN_RENAMES.set(true);
        let crashed = std::panic::catch_unwind(|| {
            write_bundle_dir(target, serde_json::json!(2), write_two).unwrap();
        });
        CRASH_BETWEEN_RENAMES.set(false);
        assert!(crashed.is_err());
        // The state a crash at that point leaves: no target, the old bundle aside, the new
        // one complete in its temporary folder.
        assert!(!target.exists());
        let aside = replaced_bundle_path(target);
        assert_eq!(
            BundleManifest::read(&aside).unwrap().info,
            serde_json::json!(1)
        );
        let tmp: Vec<PathBuf> = fs::read_dir(root)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".model.tmp-"))
            .collect();
        assert_eq!(tmp.len(), 1, "{tmp:?}");
        tmp[0].clone()
    }

    #[test]
    fn recovery_restores_old_bundle() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        let tmp = crash_while_replacing(&target);

        recover_interrupted_replace(&target).unwrap();
        let manifest = BundleManifest::read(&target).unwrap();
        manifest.verify(&target).unwrap();
        assert_eq!(manifest.info, serde_json::json!(1));
        assert!(!replaced_bundle_path(&target).exists());
        // The crashed save's temporary folder is left, and a second recovery changes nothing.
        assert!(tmp.is_dir());
        recover_interrupted_replace(&target).unwrap();
        assert_eq!(
            BundleManifest::read(&target).unwrap().info,
            serde_json::json!(1)
        );
    }

    #[test]
    fn next_save_recovers_interrupted_replace() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        crash_while_replacing(&target);

        write_bundle_dir(&target, serde_json::json!(3), write_two).unwrap();
        let manifest = BundleManifest::read(&target).unwrap();
        manifest.verify(&target).unwrap();
        assert_eq!(manifest.info, serde_json::json!(3));
        assert!(!replaced_bundle_path(&target).exists());
    }

    #[test]
    fn leftover_replaced_folder_is_removed() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        write_bundle_dir(&target, serde_json::json!(2), write_two).unwrap();
        // A crash while the old bundle was being removed: its manifest is gone already.
        let aside = replaced_bundle_path(&target);
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("a.bin"), b"old").unwrap();
        recover_interrupted_replace(&target).unwrap();
        assert!(!aside.exists());
        assert_eq!(
            BundleManifest::read(&target).unwrap().info,
            serde_json::json!(2)
        );

        // The same folder with no bundle at the target is not restored: it is not loadable.
        let other = root.path().join("other");
        let aside = replaced_bundle_path(&other);
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join("a.bin"), b"old").unwrap();
        recover_interrupted_replace(&other).unwrap();
        assert!(!aside.exists());
        assert!(!other.exists());
    }

    #[test]
    fn existing_bundle_is_replaced_but_other_folder_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("model");
        write_bundle_dir(&target, serde_json::json!(1), write_two).unwrap();
        write_bundle_dir(&target, serde_json::json!(2), write_two).unwrap();
        assert_eq!(
            BundleManifest::read(&target).unwrap().info,
            serde_json::json!(2)
        );

        let user = root.path().join("photos");
        fs::create_dir(&user).unwrap();
        fs::write(user.join("cat.jpg"), b"x").unwrap();
        let err = write_bundle_dir(&user, serde_json::Value::Null, write_two).unwrap_err();
        assert!(err.to_string().contains("not a model bundle"), "{err}");
        assert!(user.join("cat.jpg").is_file());
    }
}
