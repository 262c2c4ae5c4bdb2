//! End-to-end STSG training and CPU inference on BirdCLEF-layout data.
//!
//! STSG (Spectrogram Token Skip-Gram) classifies 5 s windows of audio: each 0.25 s frame of a
//! Mel spectrogram becomes a token (its nearest k-means centroid), tokens get skip-gram vectors
//! learnt without labels, a window's vector is the mean of its tokens' vectors, and a linear
//! head scores it. This crate composes the stage crates, re-exported as [`audio`], [`mel`],
//! [`quantize`], [`skipgram`], [`head`] and [`core`], into a run:
//!
//! - [`ConfigSpec`] / [`PipelineConfig`]: a preset (`paper-v1`, `paper-v2`, `small-data`, or
//!   `auto`) plus TOML overrides, checked before any work ([`config`]).
//! - [`Dataset`]: the BirdCLEF 2025 folder layout ([`data`]).
//! - [`train()`]: every stage fitted on a dataset, giving a [`Model`] and a [`TrainReport`].
//! - [`Model`]: scores files ([`Model::infer`], [`Model::score_file`], [`Model::embed_file`]);
//!   saved and loaded as a checksummed bundle folder ([`bundle`]).
//! - [`Submission`]: `row_id` = `<file stem>_<end second>` plus one column per class;
//!   [`score_submission`] computes the Kaggle macro ROC-AUC against a solution file.
//! - [`run_pipeline`]: train, save, infer, evaluate, write `submission.csv`, `model/` and
//!   `metrics.json` ([`RunMetrics`]).
//! - [`synthetic::generate`]: a generated dataset in the same layout, for a run without a
//!   download.
//!
//! Conventions: audio is decoded to mono at the Mel frontend's sample rate (32 kHz in every
//! preset); windows are 5 s, window `g` ends at `5 (g + 1)` s and holds the frames whose centre
//! lies in `[5 g, 5 (g + 1))` s; scores are `windows x classes` in `taxonomy.csv` order. Files
//! that fail to decode are skipped with a `log::warn!`, listed in the run's skipped files, and
//! the run goes on. Work runs on a rayon pool of `run.n_threads` threads ([`with_threads`]).
//! This crate logs through `log` and never installs a logger; progress goes through the
//! [`Progress`] trait.
//!
//! ```
//! use stsg_pipeline::{ConfigSpec, Preset, synthetic};
//!
//! // A tiny synthetic dataset and a configuration small enough for a doctest.
//! let dir = tempfile::tempdir()?;
//! let params = synthetic::SyntheticParams {
//!     n_species: 3,
//!     train_files_per_species: 2,
//!     holdout_files_per_species: 0,
//!     n_train_soundscapes: 1,
//!     n_test_soundscapes: 1,
//!     soundscape_seconds: 10,
//!     recording_seconds: 6.0,
//!     ..synthetic::SyntheticParams::tiny()
//! };
//! synthetic::generate(dir.path(), &params)?;
//! let mut spec = ConfigSpec::new(Preset::SmallData);
//! spec.set("tokenizer.kmeans.k", 16.into())?;
//! spec.set("skipgram.dim", 8.into())?;
//! spec.set("skipgram.epochs", 1.into())?;
//!
//! let data = stsg_pipeline::Dataset::open(dir.path())?;
//! let (model, report) = stsg_pipeline::train(&data, &spec, &stsg_pipeline::NoProgress)?;
//! assert_eq!(report.files_processed["train_audio"], 6);
//! let scores = model.score_file(&data.test_soundscapes[0])?;
//! assert_eq!(scores.scores.dim(), (2, 3)); // two 5 s windows, three species
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))] // a failed unwrap is a clear test failure

pub use stsg_audio as audio;
pub use stsg_core as core;
pub use stsg_head as head;
pub use stsg_mel as mel;
pub use stsg_quantize as quantize;
pub use stsg_skipgram as skipgram;

pub mod bundle;
pub mod config;
pub mod data;
mod error;
mod frames;
mod model;
mod pipeline;
mod progress;
pub mod report;
pub mod submission;
pub mod synthetic;
mod train;

pub use config::{ConfigSpec, Corpus, DataConfig, PipelineConfig, Preset, RunConfig, ValidConfig};
pub use data::{Dataset, Recording, expand_audio_paths};
pub use error::{ConfigError, PipelineError};
pub use model::{FileScores, FileWindows, Inference, Model};
pub use pipeline::{HoldoutScore, PipelineOutcome, evaluate_holdout, run_pipeline, with_threads};
pub use progress::{NoProgress, Progress, ProgressBar};
pub use report::{RunMetrics, SkipLog, SkippedFile, StageTimes};
pub use submission::{Submission, SubmissionScore, row_id, score_submission};
pub use train::{TrainReport, train};
