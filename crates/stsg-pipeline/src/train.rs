//! Training: features of the training recordings, tokenizer, token sequences, skip-gram,
//! window embeddings and head.
//!
//! Memory stays bounded: files are decoded in chunks, the tokenizer is fitted on a uniform
//! subsample of at most `run.tokenizer_sample_mib` of frames, features are kept between the
//! tokenizer fit and tokenization only when all of them fit in `run.feature_cache_mib` (else
//! they are computed again), and afterwards only token ids (4 bytes per frame) are kept.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use ndarray::{Array2, Axis, concatenate};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use stsg_core::{Fit, HeadDataset, Pooling, Quantizer, TokenCorpus};
use stsg_mel::MelFrontend;

use crate::PipelineError;
use crate::config::{ConfigSpec, ValidConfig};
use crate::data::Dataset;
use crate::frames::stream_frames;
use crate::model::Model;
use crate::progress::Progress;
use crate::report::{SkipLog, SkippedFile, StageTimes};

/// What a training run did, for the summary and `metrics.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainReport {
    /// Wall-clock seconds per training stage.
    pub times: StageTimes,
    /// Files left out, with stage and reason.
    pub skipped: Vec<SkippedFile>,
    /// Files used per group (`train_audio`, `train_soundscapes`).
    pub files_processed: BTreeMap<String, usize>,
    /// Seconds of training audio decoded.
    pub audio_seconds: f64,
    /// Frames the tokenizer was fitted on (after subsampling).
    pub tokenizer_frames: usize,
    /// Tokens in the skip-gram corpus.
    pub skipgram_tokens: usize,
    /// Labelled windows the head was trained on.
    pub head_windows: usize,
}

/// One training file and the roles it plays.
#[derive(Debug, Clone)]
struct TrainFile {
    path: PathBuf,
    /// Index into `Dataset::train` for labelled recordings.
    recording: Option<usize>,
    in_tokenizer: bool,
    in_skipgram: bool,
}

/// Trains every stage on `data` with the configuration `spec` resolves to.
///
/// `spec`'s preset `auto` is resolved from the tokenizer corpus size (probed from file headers
/// before any decoding), and the configuration is checked before any audio is decoded. Files
/// that fail to decode are skipped and listed in the report. Runs on the current rayon pool;
/// see [`crate::with_threads`].
///
/// # Errors
/// [`PipelineError::Config`] for an invalid configuration, [`PipelineError::NotEnoughData`]
/// when no usable training recording remains, and stage errors.
pub fn train(
    data: &Dataset,
    spec: &ConfigSpec,
    progress: &dyn Progress,
) -> Result<(Model, TrainReport), PipelineError> {
    let mut times = StageTimes::default();
    let skips = SkipLog::default();

    // Corpus roles and frame timing are the same in every preset unless overridden, so a draft
    // built before `auto` is resolved gives them.
    let draft = spec.build(spec.preset)?;
    let draft_timing = stsg_core::Frontend::timing(&MelFrontend::new(
        &draft.mel.check().map_err(crate::ConfigError::from)?,
    ));
    let files = training_files(
        data,
        draft.data.tokenizer_corpus,
        draft.data.skipgram_corpus,
    );
    if !files.iter().any(|f| f.recording.is_some()) {
        return Err(PipelineError::NotEnoughData {
            stage: "train",
            reason: format!(
                "no training recording found (train.csv lists {} files, none exists)",
                data.train.len() + data.missing.len()
            ),
        });
    }

    let estimates = times.time("probe", || probe_frames(&files, &draft_timing, progress));
    let tokenizer_estimate: usize = files
        .iter()
        .zip(&estimates)
        .filter(|(f, _)| f.in_tokenizer)
        .filter_map(|(_, e)| *e)
        .sum();
    let valid = spec.resolve(tokenizer_estimate)?;
    log::info!(
        "train: preset {}, {} files, about {tokenizer_estimate} tokenizer frames",
        valid.config.preset.name(),
        files.len()
    );
    let frontend = MelFrontend::new(&valid.mel).with_parallel(false);
    let n_features = valid.mel.n_features();

    // Pass 1: features, a uniform subsample for the tokenizer, and the cache when it fits.
    let total_estimate: usize = estimates.iter().flatten().sum();
    let cache = total_estimate * n_features * 4 <= valid.config.run.feature_cache_mib << 20;
    let sample_cap = valid.config.tokenizer_sample_frames(n_features);
    let keep_rate = (sample_cap as f64 / tokenizer_estimate.max(1) as f64).min(1.0);
    let chunk_len = chunk_len(&valid);
    let start = Instant::now();
    let bar = progress.start("features", files.len() as u64, "files");
    let pass1: Vec<Option<FileFeatures>> = files
        .par_iter()
        .enumerate()
        .map(|(i, file)| {
            let seed = valid.config.run.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i as u64;
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut sample: Vec<f32> = Vec::new();
            let mut kept: Vec<Array2<f32>> = Vec::new();
            let result = stream_frames(
                &file.path,
                &frontend,
                chunk_len,
                valid.config.data.skip_damaged_audio,
                |block| {
                    if file.in_tokenizer {
                        for row in block.rows() {
                            if keep_rate >= 1.0 || rng.random::<f64>() < keep_rate {
                                sample.extend(row.iter());
                            }
                        }
                    }
                    if cache {
                        kept.push(block);
                    }
                    Ok(())
                },
            );
            bar.inc(1);
            match result {
                Ok(stats) => Some(FileFeatures {
                    sample,
                    cached: cache.then(|| concat_rows(&kept, n_features)),
                    samples: stats.samples,
                }),
                Err(e) => {
                    skips.skip(&file.path, "train features", &e);
                    None
                }
            }
        })
        .collect();
    bar.finish();
    times.record("features", start.elapsed().as_secs_f64());

    let sample_rate = f64::from(valid.mel.sample_rate());
    let audio_seconds = pass1
        .iter()
        .flatten()
        .map(|f| f.samples as f64)
        .sum::<f64>()
        / sample_rate;

    // Tokenizer.
    let rows: usize = pass1
        .iter()
        .flatten()
        .map(|f| f.sample.len() / n_features)
        .sum();
    valid.check_data(rows).map_err(PipelineError::Config)?;
    let mut flat = Vec::with_capacity(rows * n_features);
    let mut pass1 = pass1;
    for f in pass1.iter_mut().flatten() {
        flat.append(&mut f.sample);
    }
    let frames = Array2::from_shape_vec((rows, n_features), flat)
        .expect("sampled rows have n_features values each");
    let tokenizer = times.time("tokenizer", || {
        let iterations = valid.config.tokenizer.kmeans.n_iter as u64;
        let bar = progress.start("tokenizer k-means", iterations, "iterations");
        let fitted = valid.tokenizer.fit_with_progress(frames.view(), |p| {
            bar.set_position(p.iteration as u64);
            bar.set_message(format!("inertia {:.4e}", p.inertia));
        });
        bar.finish();
        fitted
    })?;
    drop(frames);
    log::info!(
        "train: tokenizer K {} fitted on {rows} frames",
        tokenizer.n_tokens()
    );

    // Pass 2: token ids of every file that decoded.
    let start = Instant::now();
    let bar = progress.start("tokens", files.len() as u64, "files");
    let tokens: Vec<Option<Vec<u32>>> = files
        .par_iter()
        .zip(pass1.par_iter_mut())
        .map(|(file, features)| {
            let features = features.as_mut()?;
            let result = match features.cached.take() {
                Some(cached) => tokenizer
                    .quantize(cached.view())
                    .map_err(PipelineError::from),
                None => {
                    let mut ids = Vec::new();
                    stream_frames(
                        &file.path,
                        &frontend,
                        chunk_len,
                        valid.config.data.skip_damaged_audio,
                        |block| {
                            ids.extend(tokenizer.quantize(block.view())?);
                            Ok(())
                        },
                    )
                    .map(|_| ids)
                }
            };
            bar.inc(1);
            result
                .map_err(|e| skips.skip(&file.path, "train tokens", &e))
                .ok()
        })
        .collect();
    bar.finish();
    drop(pass1);
    times.record("tokens", start.elapsed().as_secs_f64());

    // Skip-gram on the sequences of its corpus.
    let sequences: Vec<Vec<u32>> = files
        .iter()
        .zip(&tokens)
        .filter(|(f, t)| f.in_skipgram && t.as_ref().is_some_and(|t| !t.is_empty()))
        .filter_map(|(_, t)| t.clone())
        .collect();
    let skipgram_tokens: usize = sequences.iter().map(Vec::len).sum();
    let embeddings = times.time("skip-gram", || {
        let epochs = valid.skipgram.epochs() as u64;
        let bar = progress.start("skip-gram", epochs, "epochs");
        let last_epoch = Mutex::new(0usize);
        let fitted = valid.skipgram.fit_with_progress(
            TokenCorpus {
                sequences: &sequences,
                n_tokens: tokenizer.n_tokens(),
            },
            |p| {
                if p.epoch_finished {
                    let mut last = last_epoch.lock().unwrap_or_else(|e| e.into_inner());
                    *last = p.epoch + 1;
                    bar.set_position(*last as u64);
                    bar.set_message(format!("loss {:.4e}", p.loss));
                }
            },
        );
        bar.finish();
        fitted
    })?;
    drop(sequences);
    log::info!("train: skip-gram on {skipgram_tokens} tokens");

    // Window embeddings of the labelled recordings, and the head.
    let start = Instant::now();
    let timing = stsg_core::Frontend::timing(&frontend);
    let pooling = stsg_core::MeanPooling::new(valid.config.windows)?;
    let mut blocks = Vec::new();
    let mut targets_blocks = Vec::new();
    let n_classes = data.labels.len();
    for (file, ids) in files.iter().zip(&tokens) {
        let (Some(r), Some(ids)) = (file.recording, ids) else {
            continue;
        };
        let windows = pooling.pool(ids, &timing, &embeddings)?;
        let mut targets = Array2::<f32>::zeros((windows.vectors.nrows(), n_classes));
        let recording = &data.train[r];
        targets.column_mut(recording.primary).fill(1.0);
        if valid.config.data.secondary_labels {
            for &s in &recording.secondary {
                targets
                    .column_mut(s)
                    .fill(valid.config.data.secondary_label_weight);
            }
        }
        blocks.push(windows.vectors);
        targets_blocks.push(targets);
    }
    if blocks.is_empty() {
        return Err(PipelineError::NotEnoughData {
            stage: "head",
            reason: "every training recording was skipped; see the warnings above".to_string(),
        });
    }
    let features = concat_rows(&blocks, embeddings_dim(&blocks));
    let targets = concat_rows(&targets_blocks, n_classes);
    drop(blocks);
    times.record("windows", start.elapsed().as_secs_f64());
    let head_windows = features.nrows();
    let head = times.time("head", || {
        let bar = progress.start("head", 1, "fits");
        let fitted = valid.head.fit(HeadDataset {
            features: features.view(),
            targets: targets.view(),
            labels: &data.labels,
        });
        bar.finish();
        fitted
    })?;
    log::info!("train: head on {head_windows} windows x {n_classes} classes");

    let mut files_processed = BTreeMap::new();
    for (file, t) in files.iter().zip(&tokens) {
        if t.is_some() {
            let group = if file.recording.is_some() {
                "train_audio"
            } else {
                "train_soundscapes"
            };
            *files_processed.entry(group.to_string()).or_insert(0) += 1;
        }
    }
    let model = Model::new(valid.config.clone(), frontend, tokenizer, embeddings, head)?;
    let mut skipped = skips.to_vec();
    skipped.extend(data.missing.iter().map(|(path, reason)| SkippedFile {
        path: path.clone(),
        stage: "data".to_string(),
        reason: reason.clone(),
    }));
    Ok((
        model,
        TrainReport {
            times,
            skipped,
            files_processed,
            audio_seconds,
            tokenizer_frames: rows,
            skipgram_tokens,
            head_windows,
        },
    ))
}

/// Features kept from pass 1 for one file.
struct FileFeatures {
    sample: Vec<f32>,
    cached: Option<Array2<f32>>,
    samples: u64,
}

fn chunk_len(valid: &ValidConfig) -> usize {
    ((valid.config.run.chunk_seconds * f64::from(valid.mel.sample_rate())) as usize).max(1)
}

/// Every file training reads: the labelled recordings (always, for the head) and the
/// soundscapes when a corpus includes them.
fn training_files(
    data: &Dataset,
    tokenizer_corpus: crate::config::Corpus,
    skipgram_corpus: crate::config::Corpus,
) -> Vec<TrainFile> {
    let mut files: Vec<TrainFile> = data
        .train
        .iter()
        .enumerate()
        .map(|(i, r)| TrainFile {
            path: r.path.clone(),
            recording: Some(i),
            in_tokenizer: tokenizer_corpus.train_audio(),
            in_skipgram: skipgram_corpus.train_audio(),
        })
        .collect();
    if tokenizer_corpus.soundscapes() || skipgram_corpus.soundscapes() {
        files.extend(data.train_soundscapes.iter().map(|p| TrainFile {
            path: p.clone(),
            recording: None,
            in_tokenizer: tokenizer_corpus.soundscapes(),
            in_skipgram: skipgram_corpus.soundscapes(),
        }));
    }
    files
}

/// Frame count of each file from its header (no decoding); `None` when the header does not
/// state the length or the file cannot be probed (it is then decoded and judged in pass 1).
fn probe_frames(
    files: &[TrainFile],
    timing: &stsg_core::FrameTiming,
    progress: &dyn Progress,
) -> Vec<Option<usize>> {
    let bar = progress.start("probe", files.len() as u64, "files");
    let out = files
        .par_iter()
        .map(|file| {
            let info = stsg_audio::probe(&file.path);
            bar.inc(1);
            let seconds = info.ok()?.duration_s?;
            let samples = (seconds * f64::from(timing.sample_rate)) as usize;
            Some(timing.n_frames(samples))
        })
        .collect();
    bar.finish();
    out
}

fn concat_rows(blocks: &[Array2<f32>], n_cols: usize) -> Array2<f32> {
    if blocks.is_empty() {
        return Array2::zeros((0, n_cols));
    }
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    concatenate(Axis(0), &views).expect("blocks share their column count")
}

fn embeddings_dim(blocks: &[Array2<f32>]) -> usize {
    blocks.first().map_or(0, |b| b.ncols())
}
