//! A small checked container for saved stages (codebooks, heads), and atomic file writes.
//!
//! # Layout
//!
//! All integers are little-endian.
//!
//! | bytes | content |
//! |---|---|
//! | 8 | magic `STSGART\0` |
//! | 4 | container version (`1`) |
//! | 8 | header length `h` |
//! | `h` | header, UTF-8 JSON: `kind`, `format_version`, `crate_version`, `metadata`, and for each array its `name`, `dtype` (`f32`, `f64`, `u32`), `shape`, `offset`, `nbytes`, `crc32` |
//! | ... | array payloads, concatenated |
//! | 4 | CRC-32 of every byte before it |
//!
//! Reading checks the magic, the container version, the trailing checksum, the artifact kind and
//! format version, and each array's bounds, shape and checksum, so a truncated or corrupted file
//! is an error and never loads as garbage. [`write_atomic`] writes to a temporary file in the same
//! folder and renames it over the target, so an interrupted write leaves the old file or none.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayD, IxDyn};
use serde::{Deserialize, Serialize};

use crate::CoreError;

const MAGIC: &[u8; 8] = b"STSGART\0";
const CONTAINER_VERSION: u32 = 1;
const PREAMBLE_LEN: usize = 8 + 4 + 8;

/// Element type of a stored array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
    /// 32-bit unsigned integer.
    U32,
}

impl Dtype {
    fn size(self) -> usize {
        match self {
            Dtype::F32 | Dtype::U32 => 4,
            Dtype::F64 => 8,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ArrayEntry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    offset: usize,
    nbytes: usize,
    crc32: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    kind: String,
    format_version: u32,
    crate_version: String,
    metadata: serde_json::Value,
    arrays: Vec<ArrayEntry>,
}

/// Builds an artifact in memory and writes it atomically.
#[derive(Debug, Clone)]
pub struct ArtifactWriter {
    header: Header,
    payload: Vec<u8>,
}

impl ArtifactWriter {
    /// Starts an artifact of `kind` (for example `"stsg-quantize/tokenizer"`) at `format_version`.
    pub fn new(kind: &str, format_version: u32) -> Self {
        Self {
            header: Header {
                kind: kind.to_string(),
                format_version,
                crate_version: env!("CARGO_PKG_VERSION").to_string(),
                metadata: serde_json::Value::Null,
                arrays: Vec::new(),
            },
            payload: Vec::new(),
        }
    }

    /// Sets the JSON metadata (parameters, provenance) stored in the header.
    pub fn metadata(&mut self, metadata: serde_json::Value) -> &mut Self {
        self.header.metadata = metadata;
        self
    }

    fn push(&mut self, name: &str, dtype: Dtype, shape: &[usize], bytes: Vec<u8>) {
        let entry = ArrayEntry {
            name: name.to_string(),
            dtype,
            shape: shape.to_vec(),
            offset: self.payload.len(),
            nbytes: bytes.len(),
            crc32: crc32fast::hash(&bytes),
        };
        self.payload.extend_from_slice(&bytes);
        self.header.arrays.push(entry);
    }

    /// Adds an `f32` array of `shape` holding `data` in C order.
    ///
    /// # Panics
    /// If the product of `shape` differs from `data.len()` (a programming error).
    pub fn add_f32(&mut self, name: &str, shape: &[usize], data: &[f32]) -> &mut Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "array {name}");
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, Dtype::F32, shape, bytes);
        self
    }

    /// Adds an `f64` array of `shape` holding `data` in C order.
    ///
    /// # Panics
    /// If the product of `shape` differs from `data.len()` (a programming error).
    pub fn add_f64(&mut self, name: &str, shape: &[usize], data: &[f64]) -> &mut Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "array {name}");
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, Dtype::F64, shape, bytes);
        self
    }

    /// Adds a `u32` array of `shape` holding `data` in C order.
    ///
    /// # Panics
    /// If the product of `shape` differs from `data.len()` (a programming error).
    pub fn add_u32(&mut self, name: &str, shape: &[usize], data: &[u32]) -> &mut Self {
        assert_eq!(shape.iter().product::<usize>(), data.len(), "array {name}");
        let bytes = data.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.push(name, Dtype::U32, shape, bytes);
        self
    }

    /// Serialises the artifact.
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).expect("artifact header serialises to JSON");
        let mut out = Vec::with_capacity(PREAMBLE_LEN + header.len() + self.payload.len() + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&CONTAINER_VERSION.to_le_bytes());
        out.extend_from_slice(&(header.len() as u64).to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&self.payload);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    /// Writes the artifact to `path` atomically (see [`write_atomic`]).
    ///
    /// # Errors
    /// [`CoreError::Io`] naming the path.
    pub fn write(&self, path: &Path) -> Result<(), CoreError> {
        write_atomic(path, &self.to_bytes())
    }
}

/// A loaded, fully checked artifact.
#[derive(Debug, Clone)]
pub struct Artifact {
    path: PathBuf,
    header: Header,
    payload: Vec<u8>,
}

impl Artifact {
    /// Reads and checks an artifact of `kind` written at `format_version`.
    ///
    /// # Errors
    /// [`CoreError::Io`] when the file cannot be read, [`CoreError::InvalidArtifact`] when it is
    /// truncated, corrupted or not an artifact, [`CoreError::WrongArtifactKind`] and
    /// [`CoreError::UnsupportedVersion`] when it contains another kind or format version.
    pub fn read(path: &Path, kind: &str, format_version: u32) -> Result<Self, CoreError> {
        let bytes = fs::read(path).map_err(|e| CoreError::io(path, e))?;
        Self::from_bytes(&bytes, path, kind, format_version)
    }

    /// Parses and checks artifact bytes; `path` is only used in error messages.
    ///
    /// # Errors
    /// As [`Artifact::read`].
    pub fn from_bytes(
        bytes: &[u8],
        path: &Path,
        kind: &str,
        format_version: u32,
    ) -> Result<Self, CoreError> {
        if bytes.len() < PREAMBLE_LEN + 4 || &bytes[..8] != MAGIC {
            return Err(CoreError::invalid(
                path,
                "not an stsg artifact (missing STSGART magic or file too short)",
            ));
        }

        let (body, trailer) = bytes.split_at(bytes.len() - 4);
        let stored_crc = u32::from_le_bytes(trailer.try_into().expect("4 bytes"));
        if crc32fast::hash(body) != stored_crc {
            return Err(CoreError::invalid(
                path,
                "checksum mismatch; the file is truncated or corrupted",
            ));
        }

        let container = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes"));
        if container != CONTAINER_VERSION {
            return Err(CoreError::invalid(
                path,
                format!(
                    "container version {container} is not supported (expected {CONTAINER_VERSION})"
                ),
            ));
        }

        let header_len = u64::from_le_bytes(body[12..20].try_into().expect("8 bytes"));
        let header_end = usize::try_from(header_len)
            .ok()
            .and_then(|h| h.checked_add(PREAMBLE_LEN))
            .filter(|&end| end <= body.len())
            .ok_or_else(|| CoreError::invalid(path, "header length exceeds the file size"))?;
        let header: Header = serde_json::from_slice(&body[PREAMBLE_LEN..header_end])
            .map_err(|e| CoreError::invalid(path, format!("unreadable header: {e}")))?;

        if header.kind != kind {
            return Err(CoreError::WrongArtifactKind {
                path: path.to_path_buf(),
                expected: kind.to_string(),
                found: header.kind,
            });
        }
        if header.format_version != format_version {
            return Err(CoreError::UnsupportedVersion {
                path: path.to_path_buf(),
                kind: header.kind,
                found: header.format_version,
                supported: format_version,
            });
        }

        let payload = body[header_end..].to_vec();
        for entry in &header.arrays {
            check_entry(entry, &payload, path)?;
        }
        Ok(Self {
            path: path.to_path_buf(),
            header,
            payload,
        })
    }

    /// Returns the JSON metadata stored by the writer.
    pub fn metadata(&self) -> &serde_json::Value {
        &self.header.metadata
    }

    /// Version of the crate that wrote the artifact.
    pub fn crate_version(&self) -> &str {
        &self.header.crate_version
    }

    /// Path the artifact was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns whether an array of this name is stored.
    pub fn has_array(&self, name: &str) -> bool {
        self.header.arrays.iter().any(|e| e.name == name)
    }

    fn entry(&self, name: &str, dtype: Dtype) -> Result<&ArrayEntry, CoreError> {
        let entry = self
            .header
            .arrays
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| CoreError::invalid(&self.path, format!("array {name:?} is missing")))?;
        if entry.dtype != dtype {
            return Err(CoreError::invalid(
                &self.path,
                format!(
                    "array {name:?} has dtype {:?}, expected {dtype:?}",
                    entry.dtype
                ),
            ));
        }
        Ok(entry)
    }

    fn bytes(&self, entry: &ArrayEntry) -> &[u8] {
        &self.payload[entry.offset..entry.offset + entry.nbytes]
    }

    /// Reads an `f32` array of any rank.
    ///
    /// # Errors
    /// [`CoreError::InvalidArtifact`] when the array is missing or has another dtype.
    pub fn f32_array(&self, name: &str) -> Result<ArrayD<f32>, CoreError> {
        let entry = self.entry(name, Dtype::F32)?;
        let data: Vec<f32> = self
            .bytes(entry)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        ArrayD::from_shape_vec(IxDyn(&entry.shape), data)
            .map_err(|e| CoreError::invalid(&self.path, format!("array {name:?}: {e}")))
    }

    /// Reads an `f64` array of any rank.
    ///
    /// # Errors
    /// [`CoreError::InvalidArtifact`] when the array is missing or has another dtype.
    pub fn f64_array(&self, name: &str) -> Result<ArrayD<f64>, CoreError> {
        let entry = self.entry(name, Dtype::F64)?;
        let data: Vec<f64> = self
            .bytes(entry)
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
            .collect();
        ArrayD::from_shape_vec(IxDyn(&entry.shape), data)
            .map_err(|e| CoreError::invalid(&self.path, format!("array {name:?}: {e}")))
    }

    /// Reads a 2-D `f32` array.
    ///
    /// # Errors
    /// [`CoreError::InvalidArtifact`] when the array is missing, has another dtype or is not 2-D.
    pub fn f32_array2(&self, name: &str) -> Result<Array2<f32>, CoreError> {
        self.f32_array(name)?
            .into_dimensionality()
            .map_err(|e| CoreError::invalid(&self.path, format!("array {name:?}: {e}")))
    }

    /// Reads a `u32` array, flattened in C order, with its shape.
    ///
    /// # Errors
    /// [`CoreError::InvalidArtifact`] when the array is missing or has another dtype.
    pub fn u32_array(&self, name: &str) -> Result<(Vec<u32>, Vec<usize>), CoreError> {
        let entry = self.entry(name, Dtype::U32)?;
        let data = self
            .bytes(entry)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect();
        Ok((data, entry.shape.clone()))
    }
}

fn check_entry(entry: &ArrayEntry, payload: &[u8], path: &Path) -> Result<(), CoreError> {
    let expected = entry
        .shape
        .iter()
        .try_fold(entry.dtype.size(), |acc, &d| acc.checked_mul(d));
    if expected != Some(entry.nbytes) {
        return Err(CoreError::invalid(
            path,
            format!(
                "array {:?}: shape {:?} does not match {} bytes",
                entry.name, entry.shape, entry.nbytes
            ),
        ));
    }
    let end = entry.offset.checked_add(entry.nbytes);
    let Some(bytes) = end.and_then(|end| payload.get(entry.offset..end)) else {
        return Err(CoreError::invalid(
            path,
            format!("array {:?} lies outside the file", entry.name),
        ));
    };
    if crc32fast::hash(bytes) != entry.crc32 {
        return Err(CoreError::invalid(
            path,
            format!("array {:?}: checksum mismatch", entry.name),
        ));
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a temporary file in the same folder is written, flushed
/// to disk and renamed over `path`.
///
/// # Errors
/// [`CoreError::Io`] naming the path when any step fails; the temporary file is then removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CoreError> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content produced by `write` into the temporary file.
///
/// # Errors
/// [`CoreError::Io`] naming the path when `write` or any file step fails.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut fs::File) -> std::io::Result<()>,
) -> Result<(), CoreError> {
    let tmp = temporary_sibling(path);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        write(&mut file)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(CoreError::io(path, e));
    }
    Ok(())
}

/// A hidden name beside `path` that no other process writes: `.<name>.<pid>.<counter>.tmp`.
pub fn temporary_sibling(path: &Path) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "artifact".to_string());
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

/// FNV-1a 64 hash of each file as 16 hex digits, keyed by file name, for bundle manifests.
///
/// A CRC-32 would not do here: an artifact ends with the CRC-32 of its own bytes, and the
/// CRC-32 of any such file is the same constant, so it could not tell two artifacts apart.
///
/// # Errors
/// [`CoreError::Io`] naming the file that cannot be read.
pub fn file_checksums<'a>(
    dir: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, CoreError> {
    let mut out = BTreeMap::new();
    for name in names {
        let path = dir.join(name);
        let bytes = fs::read(&path).map_err(|e| CoreError::io(&path, e))?;
        out.insert(name.to_string(), format!("{:016x}", fnv1a64(&bytes)));
    }
    Ok(out)
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET_BASIS, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ArtifactWriter {
        let mut w = ArtifactWriter::new("test/kind", 3);
        w.metadata(serde_json::json!({"k": 4}))
            .add_f32(
                "centroids",
                &[2, 3],
                &[1.0, 2.0, 3.0, 4.0, 5.0, f32::MIN_POSITIVE],
            )
            .add_u32("counts", &[2], &[7, 9])
            .add_f64("mean", &[1], &[0.5]);
        w
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.stsg");
        sample().write(&path).unwrap();
        let a = Artifact::read(&path, "test/kind", 3).unwrap();
        let c = a.f32_array2("centroids").unwrap();
        assert_eq!(c.shape(), &[2, 3]);
        assert_eq!(c[[1, 2]].to_bits(), f32::MIN_POSITIVE.to_bits());
        assert_eq!(a.u32_array("counts").unwrap(), (vec![7, 9], vec![2]));
        assert_eq!(a.f64_array("mean").unwrap()[[0]], 0.5);
        assert_eq!(a.metadata()["k"], 4);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let bytes = sample().to_bytes();
        for cut in 0..bytes.len() {
            let r = Artifact::from_bytes(&bytes[..cut], Path::new("x"), "test/kind", 3);
            assert!(r.is_err(), "truncated at {cut} of {} loaded", bytes.len());
        }
    }

    #[test]
    fn every_flipped_byte_is_an_error() {
        let bytes = sample().to_bytes();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            let r = Artifact::from_bytes(&bad, Path::new("x"), "test/kind", 3);
            assert!(r.is_err(), "flipped byte {i} loaded");
        }
    }

    #[test]
    fn wrong_kind_and_version_are_reported() {
        let bytes = sample().to_bytes();
        let kind = Artifact::from_bytes(&bytes, Path::new("x"), "other", 3).unwrap_err();
        assert!(
            matches!(kind, CoreError::WrongArtifactKind { .. }),
            "{kind}"
        );
        let version = Artifact::from_bytes(&bytes, Path::new("x"), "test/kind", 4).unwrap_err();
        assert!(
            matches!(version, CoreError::UnsupportedVersion { found: 3, .. }),
            "{version}"
        );
    }

    #[test]
    fn missing_array_and_wrong_dtype_are_errors() {
        let a = Artifact::from_bytes(&sample().to_bytes(), Path::new("x"), "test/kind", 3).unwrap();
        assert!(a.f32_array("nope").is_err());
        assert!(a.f32_array("counts").is_err());
    }

    #[test]
    fn fnv1a64_matches_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn checksums_tell_artifacts_apart() {
        let dir = tempfile::tempdir().unwrap();
        sample().write(&dir.path().join("a.stsg")).unwrap();
        let mut other = sample();
        other.add_u32("extra", &[1], &[1]);
        other.write(&dir.path().join("b.stsg")).unwrap();
        let sums = file_checksums(dir.path(), ["a.stsg", "b.stsg"]).unwrap();
        assert_ne!(sums["a.stsg"], sums["b.stsg"]);
        assert_eq!(sums["a.stsg"].len(), 16);
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        write_atomic(&path, b"old").unwrap();
        write_atomic(&path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        let entries: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn failed_write_keeps_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.bin");
        write_atomic(&path, b"old").unwrap();
        let err = write_atomic_with(&path, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("interrupted"))
        });
        assert!(err.is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
