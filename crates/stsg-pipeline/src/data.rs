//! Reader of the Kaggle BirdCLEF 2025 folder layout.
//!
//! | path | required | use |
//! |---|---|---|
//! | `taxonomy.csv` | yes | the class list (column `primary_label`), in submission column order |
//! | `train.csv` | yes | labelled recordings: `primary_label`, `secondary_labels`, `filename` |
//! | `train_audio/` | yes | `train.csv` filenames are relative to it |
//! | `train_soundscapes/` | yes, may be empty | unlabelled field recordings |
//! | `test_soundscapes/` | yes, may be empty | soundscapes to score |
//! | `sample_submission.csv` | no | row order of the submission |
//! | `test_solution.csv` | no | ground truth in submission shape |
//! | `holdout.csv` + `holdout_audio/` | no | held-out labelled recordings, `train.csv` columns |
//!
//! Audio folders are scanned for the extensions in [`AUDIO_EXTENSIONS`], sorted by path so that
//! every run sees the files in the same order.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use stsg_core::LabelSet;

use crate::PipelineError;

/// File extensions (lower case) treated as audio when a folder is scanned.
pub const AUDIO_EXTENSIONS: &[&str] = &["ogg", "oga", "flac", "wav", "mp3", "m4a", "aac"];

/// A labelled recording: a row of `train.csv` or `holdout.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recording {
    /// Absolute or data-relative path of the audio file.
    pub path: PathBuf,
    /// The `filename` column as written in the CSV.
    pub filename: String,
    /// Class index of the primary label in the taxonomy.
    pub primary: usize,
    /// Class indices of the secondary labels that are in the taxonomy.
    pub secondary: Vec<usize>,
}

/// A BirdCLEF-layout data folder, checked and indexed.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The data folder.
    pub root: PathBuf,
    /// Classes in `taxonomy.csv` order, the column order of every submission.
    pub labels: LabelSet,
    /// Rows of `train.csv` whose audio file exists.
    pub train: Vec<Recording>,
    /// Rows of `holdout.csv` whose audio file exists (empty without `holdout.csv`).
    pub holdout: Vec<Recording>,
    /// Audio files in `train_soundscapes/`, sorted.
    pub train_soundscapes: Vec<PathBuf>,
    /// Audio files in `test_soundscapes/`, sorted.
    pub test_soundscapes: Vec<PathBuf>,
    /// `sample_submission.csv`, when present.
    pub sample_submission: Option<PathBuf>,
    /// `test_solution.csv`, when present.
    pub test_solution: Option<PathBuf>,
    /// Rows of `train.csv` and `holdout.csv` whose audio file is missing, with the reason.
    pub missing: Vec<(PathBuf, String)>,
    /// Secondary labels that are not in the taxonomy and were ignored, with their count.
    pub unknown_secondary: Vec<(String, usize)>,
}

impl Dataset {
    /// Opens and checks a data folder.
    ///
    /// A `train.csv` or `holdout.csv` row whose audio file is missing is not an error: it is
    /// listed in [`Dataset::missing`] and logged, so that a partial download still trains.
    ///
    /// # Errors
    /// [`PipelineError::MissingPath`] for a missing required file or folder,
    /// [`PipelineError::MissingColumn`] for a CSV without a required column,
    /// [`PipelineError::Csv`] for an unreadable CSV, [`PipelineError::UnknownLabel`] for a
    /// primary label that is not in `taxonomy.csv`, and [`PipelineError::Core`] for duplicate or
    /// empty taxonomy labels.
    pub fn open(root: &Path) -> Result<Self, PipelineError> {
        if !root.is_dir() {
            return Err(PipelineError::MissingPath {
                path: root.to_path_buf(),
                what: "data folder",
            });
        }
        let taxonomy = require_file(root, "taxonomy.csv")?;
        let train_csv = require_file(root, "train.csv")?;
        let train_audio = require_dir(root, "train_audio")?;
        let train_soundscapes = require_dir(root, "train_soundscapes")?;
        let test_soundscapes = require_dir(root, "test_soundscapes")?;

        let labels = read_taxonomy(&taxonomy)?;
        let mut missing = Vec::new();
        let mut unknown_secondary = std::collections::BTreeMap::new();
        let train = read_recordings(
            &train_csv,
            &train_audio,
            &labels,
            &mut missing,
            &mut unknown_secondary,
        )?;

        let holdout_csv = root.join("holdout.csv");
        let holdout = if holdout_csv.is_file() {
            let holdout_audio = require_dir(root, "holdout_audio")?;
            read_recordings(
                &holdout_csv,
                &holdout_audio,
                &labels,
                &mut missing,
                &mut unknown_secondary,
            )?
        } else {
            Vec::new()
        };

        for (path, reason) in &missing {
            log::warn!("data: skipping {}: {reason}", path.display());
        }
        for (label, count) in &unknown_secondary {
            log::warn!(
                "data: secondary label {label:?} ({count} rows) is not in taxonomy.csv; ignored"
            );
        }

        let optional = |name: &str| Some(root.join(name)).filter(|p| p.is_file());
        Ok(Self {
            root: root.to_path_buf(),
            labels,
            train,
            holdout,
            train_soundscapes: list_audio(&train_soundscapes)?,
            test_soundscapes: list_audio(&test_soundscapes)?,
            sample_submission: optional("sample_submission.csv"),
            test_solution: optional("test_solution.csv"),
            missing,
            unknown_secondary: unknown_secondary.into_iter().collect(),
        })
    }
}

fn require_file(root: &Path, name: &'static str) -> Result<PathBuf, PipelineError> {
    let path = root.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(PipelineError::MissingPath { path, what: name })
    }
}

fn require_dir(root: &Path, name: &'static str) -> Result<PathBuf, PipelineError> {
    let path = root.join(name);
    if path.is_dir() {
        Ok(path)
    } else {
        Err(PipelineError::MissingPath { path, what: name })
    }
}

/// Lists the audio files directly inside `dir` (not in subfolders), sorted by path.
///
/// # Errors
/// [`PipelineError::Io`] when the folder cannot be read.
pub fn list_audio(dir: &Path) -> Result<Vec<PathBuf>, PipelineError> {
    let entries = fs::read_dir(dir).map_err(|e| PipelineError::io(dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| PipelineError::io(dir, e))?.path();
        if path.is_file() && is_audio(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Whether `path` has one of the [`AUDIO_EXTENSIONS`] (case-insensitive).
pub fn is_audio(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Expands a list of files and folders into audio files: folders are scanned (not
/// recursively) and sorted, files are kept as given.
///
/// # Errors
/// [`PipelineError::MissingPath`] for a path that does not exist, [`PipelineError::Io`] for an
/// unreadable folder.
pub fn expand_audio_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, PipelineError> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.extend(list_audio(path)?);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(PipelineError::MissingPath {
                path: path.clone(),
                what: "audio file or folder",
            });
        }
    }
    Ok(out)
}

/// A CSV file opened with its header checked.
pub(crate) struct CsvTable {
    pub(crate) path: PathBuf,
    pub(crate) header: Vec<String>,
    pub(crate) reader: csv::Reader<fs::File>,
}

impl CsvTable {
    pub(crate) fn open(path: &Path) -> Result<Self, PipelineError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_path(path)
            .map_err(|e| PipelineError::csv(path, &e))?;
        let header = reader
            .headers()
            .map_err(|e| PipelineError::csv(path, &e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        Ok(Self {
            path: path.to_path_buf(),
            header,
            reader,
        })
    }

    /// Index of a required column.
    pub(crate) fn column(&self, name: &'static str) -> Result<usize, PipelineError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| PipelineError::MissingColumn {
                path: self.path.clone(),
                column: name,
            })
    }

    /// Index of an optional column.
    pub(crate) fn optional_column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// Reads every record; the line number of a bad record is in the error.
    pub(crate) fn records(&mut self) -> Result<Vec<csv::StringRecord>, PipelineError> {
        let path = self.path.clone();
        self.reader
            .records()
            .map(|r| r.map_err(|e| PipelineError::csv(&path, &e)))
            .collect()
    }
}

fn read_taxonomy(path: &Path) -> Result<LabelSet, PipelineError> {
    let mut table = CsvTable::open(path)?;
    let col = table.column("primary_label")?;
    let names: Vec<String> = table
        .records()?
        .iter()
        .map(|r| r.get(col).unwrap_or_default().trim().to_string())
        .collect();
    if names.is_empty() {
        return Err(PipelineError::Csv {
            path: path.to_path_buf(),
            line: None,
            message: "no classes; taxonomy.csv needs one row per class".to_string(),
        });
    }
    LabelSet::new(names).map_err(|source| PipelineError::Labels {
        path: path.to_path_buf(),
        source,
    })
}

fn read_recordings(
    csv_path: &Path,
    audio_dir: &Path,
    labels: &LabelSet,
    missing: &mut Vec<(PathBuf, String)>,
    unknown_secondary: &mut std::collections::BTreeMap<String, usize>,
) -> Result<Vec<Recording>, PipelineError> {
    let mut table = CsvTable::open(csv_path)?;
    let primary_col = table.column("primary_label")?;
    let filename_col = table.column("filename")?;
    let secondary_col = table.optional_column("secondary_labels");
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for record in table.records()? {
        let line = record.position().map(|p| p.line());
        let primary_name = record.get(primary_col).unwrap_or_default().trim();
        let primary = labels
            .index_of(primary_name)
            .map_err(|_| PipelineError::UnknownLabel {
                path: csv_path.to_path_buf(),
                line,
                label: primary_name.to_string(),
            })?;
        let filename = record
            .get(filename_col)
            .unwrap_or_default()
            .trim()
            .to_string();
        if filename.is_empty() {
            return Err(PipelineError::Csv {
                path: csv_path.to_path_buf(),
                line,
                message: "empty filename".to_string(),
            });
        }
        if !seen.insert(filename.clone()) {
            log::warn!(
                "data: {} lists {filename} twice; using the first row",
                csv_path.display()
            );
            continue;
        }
        let mut secondary = Vec::new();
        if let Some(col) = secondary_col {
            for name in parse_label_list(record.get(col).unwrap_or_default()) {
                match labels.index_of(&name) {
                    Ok(i) if i != primary && !secondary.contains(&i) => secondary.push(i),
                    Ok(_) => {}
                    Err(_) => *unknown_secondary.entry(name).or_insert(0) += 1,
                }
            }
        }
        let path = audio_dir.join(&filename);
        if !path.is_file() {
            missing.push((
                path,
                format!("listed in {} but not found", csv_path.display()),
            ));
            continue;
        }
        out.push(Recording {
            path,
            filename,
            primary,
            secondary,
        });
    }
    Ok(out)
}

/// Parses a `secondary_labels` cell: a Python list literal such as `['a', "b"]`, or `[]`.
pub fn parse_label_list(cell: &str) -> Vec<String> {
    let inner = cell.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(',')
        .map(|s| s.trim().trim_matches(|c| c == '\'' || c == '"').trim())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A minimal valid layout with two classes and two training files.
    fn layout() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("taxonomy.csv"),
            "primary_label,class_name\nsp_a,Aves\nsp_b,Aves\n",
        );
        write(
            &root.join("train.csv"),
            "primary_label,secondary_labels,filename\nsp_a,\"['sp_b', 'sp_x']\",sp_a/1.ogg\nsp_b,[],sp_b/2.ogg\n",
        );
        write(&root.join("train_audio/sp_a/1.ogg"), "x");
        write(&root.join("train_audio/sp_b/2.ogg"), "x");
        fs::create_dir_all(root.join("train_soundscapes")).unwrap();
        write(&root.join("test_soundscapes/b.ogg"), "x");
        write(&root.join("test_soundscapes/a.ogg"), "x");
        write(&root.join("test_soundscapes/notes.txt"), "x");
        dir
    }

    #[test]
    fn valid_layout_is_indexed() {
        let dir = layout();
        let data = Dataset::open(dir.path()).unwrap();
        assert_eq!(data.labels.names(), ["sp_a", "sp_b"]);
        assert_eq!(data.train.len(), 2);
        assert_eq!(data.train[0].primary, 0);
        assert_eq!(data.train[0].secondary, vec![1]);
        assert_eq!(data.unknown_secondary, vec![("sp_x".to_string(), 1)]);
        let names: Vec<_> = data
            .test_soundscapes
            .iter()
            .map(|p| p.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(names, ["a.ogg", "b.ogg"]);
        assert!(data.sample_submission.is_none());
        assert!(data.holdout.is_empty());
    }

    #[test]
    fn missing_required_paths_are_named() {
        for name in ["taxonomy.csv", "train.csv"] {
            let dir = layout();
            fs::remove_file(dir.path().join(name)).unwrap();
            let err = Dataset::open(dir.path()).unwrap_err();
            assert!(
                matches!(&err, PipelineError::MissingPath { what, .. } if *what == name),
                "{err}"
            );
            assert!(err.to_string().contains(name), "{err}");
        }
        for name in ["train_audio", "train_soundscapes", "test_soundscapes"] {
            let dir = layout();
            fs::remove_dir_all(dir.path().join(name)).unwrap();
            let err = Dataset::open(dir.path()).unwrap_err();
            assert!(
                matches!(&err, PipelineError::MissingPath { what, .. } if *what == name),
                "{err}"
            );
        }
    }

    #[test]
    fn holdout_csv_needs_holdout_audio() {
        let dir = layout();
        write(
            &dir.path().join("holdout.csv"),
            "primary_label,filename\nsp_a,sp_a/3.ogg\n",
        );
        let err = Dataset::open(dir.path()).unwrap_err();
        assert!(
            matches!(&err, PipelineError::MissingPath { what, .. } if *what == "holdout_audio"),
            "{err}"
        );
    }

    #[test]
    fn missing_column_is_named() {
        let dir = layout();
        write(
            &dir.path().join("train.csv"),
            "primary_label,file\nsp_a,sp_a/1.ogg\n",
        );
        let err = Dataset::open(dir.path()).unwrap_err();
        assert!(
            matches!(&err, PipelineError::MissingColumn { column, .. } if *column == "filename"),
            "{err}"
        );
        assert!(err.to_string().contains("train.csv"), "{err}");
    }

    #[test]
    fn unknown_primary_label_names_line() {
        let dir = layout();
        write(
            &dir.path().join("train.csv"),
            "primary_label,filename\nsp_a,sp_a/1.ogg\nsp_z,sp_a/1.ogg\n",
        );
        let err = Dataset::open(dir.path()).unwrap_err();
        assert!(
            matches!(&err, PipelineError::UnknownLabel { label, line: Some(3), .. } if label == "sp_z"),
            "{err}"
        );
    }

    #[test]
    fn missing_audio_file_is_listed_not_fatal() {
        let dir = layout();
        fs::remove_file(dir.path().join("train_audio/sp_b/2.ogg")).unwrap();
        let data = Dataset::open(dir.path()).unwrap();
        assert_eq!(data.train.len(), 1);
        assert_eq!(data.missing.len(), 1);
        assert!(data.missing[0].0.ends_with("sp_b/2.ogg"));
    }

    #[test]
    fn duplicate_taxonomy_label_is_rejected() {
        let dir = layout();
        write(
            &dir.path().join("taxonomy.csv"),
            "primary_label\nsp_a\nsp_a\n",
        );
        let err = Dataset::open(dir.path()).unwrap_err();
        assert!(matches!(err, PipelineError::Labels { .. }), "{err}");
    }

    #[test]
    fn label_lists_parse_python_literals() {
        assert!(parse_label_list("[]").is_empty());
        assert_eq!(parse_label_list("['a', 'b']"), ["a", "b"]);
        assert_eq!(parse_label_list("[\"a\"]"), ["a"]);
        assert_eq!(parse_label_list(""), Vec::<String>::new());
    }
}
