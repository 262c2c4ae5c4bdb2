//! Saving and loading [`Embeddings`] in finalfusion format and in word2vec text format.
//!
//! finalfusion files follow that format's convention: unit-length rows in the storage chunk and
//! the original L2 norms in a norms chunk, so other finalfusion readers see normalised vectors.
//! [`Embeddings::load`] multiplies the norms back in and returns the raw vectors, equal to the
//! saved ones within float rounding (a relative error of a few 1e-7). A metadata chunk records
//! the artifact kind, its format version, `n_tokens` and the training counts, and is checked on
//! load. finalfusion and its ndarray 0.15 types stay inside this module.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use finalfusion::embeddings::Embeddings as FfEmbeddings;
use finalfusion::io::{ReadEmbeddings, WriteEmbeddings};
use finalfusion::metadata::Metadata;
use finalfusion::norms::NdNorms;
use finalfusion::storage::{NdArray, StorageView};
use finalfusion::vocab::{SimpleVocab, Vocab};
use ndarray::Array2;
use stsg_core::TokenEmbeddings;
use stsg_core::artifact::write_atomic_with;

use crate::{Embeddings, SkipGramError};

/// Value of the `kind` metadata key of embeddings saved by this crate.
pub const EMBEDDINGS_KIND: &str = "stsg-skipgram/embeddings";
/// Format version written in the metadata and required on load.
pub const EMBEDDINGS_FORMAT_VERSION: i64 = 1;

impl Embeddings {
    /// Saves the embeddings in finalfusion format, atomically (a temporary file in the same
    /// folder is renamed over `path`).
    ///
    /// Token ids are the vocabulary words, as decimal strings.
    ///
    /// # Errors
    /// [`SkipGramError::Write`] naming the path when writing fails.
    pub fn save(&self, path: &Path) -> Result<(), SkipGramError> {
        let dim = self.dim();
        let mut unit = Vec::with_capacity(self.vocab_len() * dim);
        let mut norms = Vec::with_capacity(self.vocab_len());
        for row in self.vectors().rows() {
            let norm = row.dot(&row).sqrt();
            norms.push(norm);
            if norm > 0.0 {
                unit.extend(row.iter().map(|v| v / norm));
            } else {
                unit.extend(row.iter().copied());
            }
        }
        let storage = ndarray015::Array2::from_shape_vec((self.vocab_len(), dim), unit)
            .map_err(|e| SkipGramError::InvalidEmbeddings(e.to_string()))?;
        let words: Vec<String> = self.tokens().iter().map(u32::to_string).collect();
        let mut metadata = serde_json::json!({
            "kind": EMBEDDINGS_KIND,
            "format_version": EMBEDDINGS_FORMAT_VERSION,
            "crate_version": env!("CARGO_PKG_VERSION"),
            "n_tokens": self.n_tokens(),
        });
        if let Some(counts) = self.counts() {
            metadata["counts"] = serde_json::json!(counts);
        }
        let metadata = Metadata::new(
            serde_json::from_value(metadata)
                .map_err(|e| SkipGramError::InvalidEmbeddings(format!("metadata: {e}")))?,
        );
        let embeddings = FfEmbeddings::new(
            Some(metadata),
            SimpleVocab::new(words),
            NdArray::new(storage),
            NdNorms::new(norms),
        );
        write_atomic_with(path, |file| {
            let mut writer = BufWriter::new(file);
            embeddings
                .write_embeddings(&mut writer)
                .map_err(std::io::Error::other)?;
            writer.flush()
        })
        .map_err(SkipGramError::from)
    }

    /// Loads embeddings saved by [`Embeddings::save`] and returns the raw vectors.
    ///
    /// # Errors
    /// [`SkipGramError::Io`] when the file cannot be opened, [`SkipGramError::InvalidFile`] when
    /// it is not a finalfusion file with a simple vocabulary, array storage, norms and stsg
    /// metadata, or when a word is not a token id, and [`SkipGramError::UnsupportedVersion`]
    /// for another format version.
    pub fn load(path: &Path) -> Result<Self, SkipGramError> {
        let file = File::open(path).map_err(|e| SkipGramError::io(path, e))?;
        let mut reader = BufReader::new(file);
        let embeddings: FfEmbeddings<SimpleVocab, NdArray> =
            FfEmbeddings::read_embeddings(&mut reader).map_err(|e| {
                SkipGramError::invalid_file(
                    path,
                    format!("not readable as finalfusion embeddings: {e}"),
                )
            })?;
        let (metadata, vocab, storage, norms) = embeddings.into_parts();
        let metadata = metadata.ok_or_else(|| {
            SkipGramError::invalid_file(
                path,
                "no metadata chunk; the file was not saved by stsg-skipgram",
            )
        })?;
        let metadata = serde_json::to_value(&*metadata)
            .map_err(|e| SkipGramError::invalid_file(path, format!("unreadable metadata: {e}")))?;
        let (n_tokens, counts) = check_metadata(&metadata, path)?;
        let norms = norms.ok_or_else(|| SkipGramError::invalid_file(path, "no norms chunk"))?;

        let tokens = vocab
            .words()
            .iter()
            .enumerate()
            .map(|(row, word)| parse_token(word, path, &format!("vocabulary entry {row}")))
            .collect::<Result<Vec<_>, _>>()?;
        let view = storage.view();
        let (rows, dim) = view.dim();
        if norms.len() != rows {
            return Err(SkipGramError::invalid_file(
                path,
                format!("{} norms for {rows} vectors", norms.len()),
            ));
        }
        let mut raw = Vec::with_capacity(rows * dim);
        for (row, norm) in view.outer_iter().zip(norms.iter()) {
            if *norm > 0.0 {
                raw.extend(row.iter().map(|v| v * norm));
            } else {
                raw.extend(row.iter().copied());
            }
        }
        let vectors = Array2::from_shape_vec((rows, dim), raw)
            .map_err(|e| SkipGramError::invalid_file(path, e.to_string()))?;
        Embeddings::from_parts(n_tokens, tokens, vectors, counts).map_err(|e| match e {
            SkipGramError::InvalidEmbeddings(reason) => SkipGramError::invalid_file(path, reason),
            other => other,
        })
    }

    /// Saves the embeddings in word2vec text format, atomically: a `rows dim` header line, then
    /// one line per token with the token id and its raw vector, separated by single spaces.
    /// gensim reads it with `KeyedVectors.load_word2vec_format(path, binary=False)`; keys are
    /// decimal token ids. Floats are written in their shortest exact form, so a load gives back
    /// the same bits.
    ///
    /// # Errors
    /// [`SkipGramError::Write`] naming the path when writing fails.
    pub fn save_word2vec_text(&self, path: &Path) -> Result<(), SkipGramError> {
        write_atomic_with(path, |file| {
            let mut writer = BufWriter::new(file);
            writeln!(writer, "{} {}", self.vocab_len(), self.dim())?;
            let mut line = String::new();
            for (token, row) in self.tokens().iter().zip(self.vectors().rows()) {
                line.clear();
                let _ = write!(line, "{token}");
                for v in row {
                    let _ = write!(line, " {v}");
                }
                line.push('\n');
                writer.write_all(line.as_bytes())?;
            }
            writer.flush()
        })
        .map_err(SkipGramError::from)
    }

    /// Loads embeddings in word2vec text format whose keys are decimal token ids, with
    /// `n_tokens` set to the largest id plus one and no counts. Fields may be separated by any
    /// whitespace, and trailing spaces (as the original word2vec C tool writes) are accepted.
    ///
    /// # Errors
    /// [`SkipGramError::Io`] when the file cannot be read, [`SkipGramError::InvalidFile`] naming
    /// the line when the header, a key, a value or a field count is invalid, a key repeats, or
    /// the number of lines differs from the header.
    pub fn load_word2vec_text(path: &Path) -> Result<Self, SkipGramError> {
        let text = std::fs::read_to_string(path).map_err(|e| SkipGramError::io(path, e))?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let (_, header) = lines.next().ok_or_else(|| {
            SkipGramError::invalid_file(path, "empty file; expected a `rows dim` header")
        })?;
        let header: Vec<&str> = header.split_whitespace().collect();
        let parse_header = |s: &str| s.parse::<usize>().ok();
        let (rows, dim) = match header.as_slice() {
            [r, d] => match (parse_header(r), parse_header(d)) {
                (Some(r), Some(d)) if d > 0 => (r, d),
                _ => return Err(header_error(path, &header)),
            },
            _ => return Err(header_error(path, &header)),
        };
        let mut tokens = Vec::with_capacity(rows);
        let mut values = Vec::with_capacity(rows.saturating_mul(dim).min(1 << 28));
        for (index, line) in lines {
            let number = index + 1;
            let mut fields = line.split_whitespace();
            let key = fields.next().unwrap_or_default();
            tokens.push(parse_token(key, path, &format!("line {number}"))?);
            let before = values.len();
            for field in fields {
                let v: f32 = field.parse().map_err(|_| {
                    SkipGramError::invalid_file(
                        path,
                        format!("line {number}: {field:?} is not a number"),
                    )
                })?;
                values.push(v);
            }
            if values.len() - before != dim {
                return Err(SkipGramError::invalid_file(
                    path,
                    format!(
                        "line {number}: expected {dim} values, got {}",
                        values.len() - before
                    ),
                ));
            }
        }
        if tokens.len() != rows {
            return Err(SkipGramError::invalid_file(
                path,
                format!(
                    "the header announces {rows} vectors, the file has {}",
                    tokens.len()
                ),
            ));
        }
        let n_tokens = tokens.iter().max().map_or(0, |&t| t as usize + 1);
        let vectors = Array2::from_shape_vec((rows, dim), values)
            .map_err(|e| SkipGramError::invalid_file(path, e.to_string()))?;
        Embeddings::from_parts(n_tokens, tokens, vectors, None).map_err(|e| match e {
            SkipGramError::InvalidEmbeddings(reason) => SkipGramError::invalid_file(path, reason),
            other => other,
        })
    }
}

fn header_error(path: &Path, header: &[&str]) -> SkipGramError {
    SkipGramError::invalid_file(
        path,
        format!(
            "line 1: expected a `rows dim` header with dim > 0, got {:?}",
            header.join(" ")
        ),
    )
}

fn parse_token(word: &str, path: &Path, place: &str) -> Result<u32, SkipGramError> {
    word.parse::<u32>().map_err(|_| {
        SkipGramError::invalid_file(
            path,
            format!("{place}: key {word:?} is not a token id (a decimal u32)"),
        )
    })
}

/// Checks the stsg metadata and returns `n_tokens` and the counts, if stored.
fn check_metadata(
    metadata: &serde_json::Value,
    path: &Path,
) -> Result<(usize, Option<Vec<u64>>), SkipGramError> {
    let kind = metadata.get("kind").and_then(|k| k.as_str()).unwrap_or("");
    if kind != EMBEDDINGS_KIND {
        return Err(SkipGramError::invalid_file(
            path,
            format!("metadata kind is {kind:?}, expected {EMBEDDINGS_KIND:?}"),
        ));
    }
    let version = metadata.get("format_version").and_then(|v| v.as_i64());
    if version != Some(EMBEDDINGS_FORMAT_VERSION) {
        return Err(SkipGramError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: version.unwrap_or(-1),
            supported: EMBEDDINGS_FORMAT_VERSION,
        });
    }
    let n_tokens = metadata
        .get("n_tokens")
        .and_then(|n| n.as_u64())
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| {
            SkipGramError::invalid_file(path, "metadata lacks a non-negative n_tokens")
        })?;
    let counts = match metadata.get("counts") {
        None => None,
        Some(value) => Some(
            value
                .as_array()
                .and_then(|a| a.iter().map(|c| c.as_u64()).collect::<Option<Vec<u64>>>())
                .ok_or_else(|| {
                    SkipGramError::invalid_file(
                        path,
                        "metadata counts are not non-negative integers",
                    )
                })?,
        ),
    };
    Ok((n_tokens, counts))
}
