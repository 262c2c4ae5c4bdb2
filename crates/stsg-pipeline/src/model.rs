//! The trained model: every stage, inference on files, and saving as a bundle.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::Array2;
use rayon::prelude::*;
use stsg_core::{Frontend, Head, LabelSet, MeanPooling, Pooling, Quantizer, TokenEmbeddings};
use stsg_head::LinearHead;
use stsg_mel::MelFrontend;
use stsg_quantize::Tokenizer;
use stsg_skipgram::Embeddings;

use crate::PipelineError;
use crate::bundle::{BundleManifest, write_bundle_dir};
use crate::config::{ConfigSpec, PipelineConfig, ValidConfig};
use crate::frames::stream_frames;
use crate::progress::Progress;
use crate::report::SkipLog;
use crate::submission::{Submission, row_id};

const CONFIG_FILE: &str = "config.toml";
const LABELS_FILE: &str = "labels.json";
const TOKENIZER_FILE: &str = "tokenizer.stsg";
const EMBEDDINGS_FILE: &str = "embeddings.fifu";
const HEAD_FILE: &str = "head.stsg";

/// Every trained stage of STSG, ready to score audio files.
#[derive(Debug)]
pub struct Model {
    /// The configuration the model was trained with.
    pub config: PipelineConfig,
    /// Mel frontend.
    pub frontend: MelFrontend,
    /// Frame tokenizer.
    pub tokenizer: Tokenizer,
    /// Token vectors.
    pub embeddings: Embeddings,
    /// Window classifier.
    pub head: LinearHead,
    /// Window pooling.
    pub pooling: MeanPooling,
}

/// Window vectors of one file: row `g` is the window ending at `end_times[g]` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct FileWindows {
    /// The file.
    pub path: PathBuf,
    /// `windows x dim`.
    pub vectors: Array2<f32>,
    /// End time of each window in seconds.
    pub end_times: Vec<f64>,
    /// Seconds of audio decoded.
    pub audio_seconds: f64,
}

/// Scores of one file: row `g` is the window ending at `end_times[g]` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct FileScores {
    /// The file.
    pub path: PathBuf,
    /// `windows x classes`.
    pub scores: Array2<f32>,
    /// End time of each window in seconds.
    pub end_times: Vec<f64>,
    /// Seconds of audio decoded.
    pub audio_seconds: f64,
}

/// Result of scoring a list of files.
#[derive(Debug, Clone)]
pub struct Inference {
    /// One submission row per window of every scored file, files in input order.
    pub submission: Submission,
    /// Per-file scores, in input order, without the skipped files.
    pub files: Vec<FileScores>,
    /// Seconds of audio scored.
    pub audio_seconds: f64,
    /// Wall-clock seconds, decode to scores.
    pub seconds: f64,
}

impl Inference {
    /// Seconds of audio per wall-clock second.
    pub fn realtime_factor(&self) -> f64 {
        if self.seconds > 0.0 {
            self.audio_seconds / self.seconds
        } else {
            0.0
        }
    }
}

impl Model {
    /// Assembles a model from its stages, checking that their shapes fit together.
    ///
    /// # Errors
    /// [`PipelineError::Core`] with [`stsg_core::CoreError::Mismatch`] naming the two stages
    /// whose shapes differ.
    pub fn new(
        config: PipelineConfig,
        frontend: MelFrontend,
        tokenizer: Tokenizer,
        embeddings: Embeddings,
        head: LinearHead,
    ) -> Result<Self, PipelineError> {
        let mismatch = |stage, what, expected, got| {
            PipelineError::Core(stsg_core::CoreError::Mismatch {
                stage,
                what,
                expected,
                got,
            })
        };
        if tokenizer.n_features() != frontend.n_features() {
            return Err(mismatch(
                "tokenizer",
                "features per frame",
                frontend.n_features(),
                tokenizer.n_features(),
            ));
        }
        if embeddings.n_tokens() != tokenizer.n_tokens() {
            return Err(mismatch(
                "embeddings",
                "token vocabulary size",
                tokenizer.n_tokens(),
                embeddings.n_tokens(),
            ));
        }
        if head.n_features() != embeddings.dim() {
            return Err(mismatch(
                "head",
                "input dimension",
                embeddings.dim(),
                head.n_features(),
            ));
        }
        let pooling = MeanPooling::new(config.windows)?;
        Ok(Self {
            config,
            frontend,
            tokenizer,
            embeddings,
            head,
            pooling,
        })
    }

    /// Classes in score column order.
    pub fn labels(&self) -> &LabelSet {
        self.head.labels()
    }

    fn chunk_len(&self) -> usize {
        let rate = f64::from(self.frontend.sample_rate());
        ((self.config.run.chunk_seconds * rate) as usize).max(1)
    }

    /// Decodes a file and returns its token ids, one per frame, and the seconds of audio.
    ///
    /// # Errors
    /// As [`crate::frames`] streaming: decode, damaged or empty audio, and tokenizer errors.
    pub fn tokens_of_file(&self, path: &Path) -> Result<(Vec<u32>, f64), PipelineError> {
        let mut tokens = Vec::new();
        let stats = stream_frames(
            path,
            &self.frontend,
            self.chunk_len(),
            self.config.data.skip_damaged_audio,
            |frames| {
                tokens.extend(self.tokenizer.quantize(frames.view())?);
                Ok(())
            },
        )?;
        let seconds = stats.samples as f64 / f64::from(self.frontend.sample_rate());
        Ok((tokens, seconds))
    }

    /// Window vectors of one file (decode, frontend, tokens, mean pooling).
    ///
    /// # Errors
    /// As [`Model::tokens_of_file`], and pooling errors.
    pub fn embed_file(&self, path: &Path) -> Result<FileWindows, PipelineError> {
        let (tokens, audio_seconds) = self.tokens_of_file(path)?;
        let windows = self
            .pooling
            .pool(&tokens, &self.frontend.timing(), &self.embeddings)?;
        Ok(FileWindows {
            path: path.to_path_buf(),
            vectors: windows.vectors,
            end_times: windows.end_times,
            audio_seconds,
        })
    }

    /// Scores of one file, one row per window.
    ///
    /// # Errors
    /// As [`Model::embed_file`], and head errors.
    pub fn score_file(&self, path: &Path) -> Result<FileScores, PipelineError> {
        let windows = self.embed_file(path)?;
        let scores = self.head.predict(windows.vectors.view())?;
        Ok(FileScores {
            path: windows.path,
            scores,
            end_times: windows.end_times,
            audio_seconds: windows.audio_seconds,
        })
    }

    /// Runs `f` on every file in parallel, in input order; a failing file is recorded in `skips`
    /// under `stage` and left out.
    pub fn map_files<T: Send>(
        &self,
        files: &[PathBuf],
        stage: &str,
        progress: &dyn Progress,
        skips: &SkipLog,
        f: impl Fn(&Path) -> Result<T, PipelineError> + Sync,
    ) -> Vec<T> {
        let bar = progress.start(stage, files.len() as u64, "files");
        let out: Vec<Option<T>> = files
            .par_iter()
            .map(|path| {
                let result = f(path);
                bar.inc(1);
                match result {
                    Ok(value) => Some(value),
                    Err(e) => {
                        skips.skip(path, stage, &e);
                        None
                    }
                }
            })
            .collect();
        bar.finish();
        out.into_iter().flatten().collect()
    }

    /// Scores every file and builds submission rows `<stem>_<end second>`.
    ///
    /// Files are processed in parallel on the current rayon pool. A file that fails is
    /// recorded in `skips` and has no rows.
    ///
    /// # Errors
    /// [`PipelineError::Evaluation`] only if the scores' shape is inconsistent (a bug).
    pub fn infer(
        &self,
        files: &[PathBuf],
        progress: &dyn Progress,
        skips: &SkipLog,
    ) -> Result<Inference, PipelineError> {
        let start = Instant::now();
        let scored = self.map_files(files, "inference", progress, skips, |p| self.score_file(p));
        let seconds = start.elapsed().as_secs_f64();
        let mut submission = Submission::new(self.labels().clone());
        for file in &scored {
            let stem = file
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let ids = file.end_times.iter().map(|&t| row_id(&stem, t));
            submission.push_rows(ids, &file.scores)?;
        }
        Ok(Inference {
            submission,
            // A fold from +0.0: `sum` of no files gives -0.0, printed as "-0.0 min".
            audio_seconds: scored.iter().fold(0.0, |total, f| total + f.audio_seconds),
            files: scored,
            seconds,
        })
    }

    /// Saves the model as a bundle folder at `dir` (see [`crate::bundle`]); `info` is stored in
    /// the manifest.
    ///
    /// # Errors
    /// [`PipelineError::InvalidBundle`] when `dir` is a non-bundle folder with content, and
    /// the stages' save errors.
    pub fn save(
        &self,
        dir: &Path,
        info: serde_json::Value,
    ) -> Result<BundleManifest, PipelineError> {
        write_bundle_dir(dir, info, |tmp| {
            let write = |name: &str, bytes: &[u8]| {
                std::fs::write(tmp.join(name), bytes)
                    .map_err(|e| PipelineError::io(tmp.join(name), e))
            };
            write(CONFIG_FILE, self.config.to_toml().as_bytes())?;
            let labels =
                serde_json::to_vec_pretty(self.labels()).expect("labels serialise to JSON");
            write(LABELS_FILE, &labels)?;
            self.tokenizer.save(&tmp.join(TOKENIZER_FILE))?;
            self.embeddings.save(&tmp.join(EMBEDDINGS_FILE))?;
            self.head.save(&tmp.join(HEAD_FILE))?;
            Ok([
                CONFIG_FILE,
                LABELS_FILE,
                TOKENIZER_FILE,
                EMBEDDINGS_FILE,
                HEAD_FILE,
            ]
            .map(String::from)
            .to_vec())
        })
    }

    /// Loads a bundle saved by [`Model::save`]: restores the previous bundle if a replacing save
    /// was interrupted ([`crate::bundle::recover_interrupted_replace`]), checks the manifest's
    /// format version and every file's checksum, then loads and joins the stages.
    ///
    /// # Errors
    /// [`PipelineError::MissingPath`], [`PipelineError::InvalidBundle`],
    /// [`PipelineError::BundleVersion`], [`PipelineError::BundleChecksum`],
    /// [`PipelineError::Io`] when the restore fails, and the stages' load errors.
    pub fn load(dir: &Path) -> Result<Self, PipelineError> {
        // A save that crashed between its two renames left the previous bundle aside.
        crate::bundle::recover_interrupted_replace(dir)?;
        let manifest = BundleManifest::read(dir)?;
        for name in [
            CONFIG_FILE,
            LABELS_FILE,
            TOKENIZER_FILE,
            EMBEDDINGS_FILE,
            HEAD_FILE,
        ] {
            if !manifest.has_file(name) {
                return Err(PipelineError::bundle(
                    dir,
                    format!("the manifest does not list {name}"),
                ));
            }
        }
        manifest.verify(dir)?;

        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path)
            .map_err(|e| PipelineError::io(&config_path, e))?;
        let spec = ConfigSpec::from_toml(&text)
            .map_err(|e| PipelineError::bundle(&config_path, e.to_string()))?;
        let valid: ValidConfig = spec
            .build(spec.preset)
            .and_then(|c| c.check())
            .map_err(|e| PipelineError::bundle(&config_path, e.to_string()))?;

        let labels_path = dir.join(LABELS_FILE);
        let labels: LabelSet = std::fs::read(&labels_path)
            .map_err(|e| PipelineError::io(&labels_path, e))
            .and_then(|bytes| {
                serde_json::from_slice(&bytes)
                    .map_err(|e| PipelineError::bundle(&labels_path, e.to_string()))
            })?;

        let frontend = MelFrontend::new(&valid.mel).with_parallel(false);
        let tokenizer = Tokenizer::load(&dir.join(TOKENIZER_FILE))?;
        let embeddings = Embeddings::load(&dir.join(EMBEDDINGS_FILE))?;
        let head = LinearHead::load(&dir.join(HEAD_FILE))?;
        if head.labels() != &labels {
            return Err(PipelineError::bundle(
                &labels_path,
                "the head's classes differ from labels.json",
            ));
        }
        Self::new(valid.config, frontend, tokenizer, embeddings, head)
    }
}
