//! The whole run: train, save the bundle, score the test soundscapes, evaluate, write
//! `submission.csv`, `model/` and `metrics.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array1, Array2, Axis};

use crate::config::ConfigSpec;
use crate::data::{Dataset, Recording};
use crate::model::Model;
use crate::progress::Progress;
use crate::report::{RunMetrics, SkipLog, SkippedFile, StageTimes};
use crate::submission::{SubmissionScore, score_submission};
use crate::train::{TrainReport, train};
use crate::{PipelineError, Submission};

/// Outputs of [`run_pipeline`].
#[derive(Debug, Clone)]
pub struct PipelineOutcome {
    /// What was written to `metrics.json`.
    pub metrics: RunMetrics,
    /// The training report.
    pub train: TrainReport,
    /// Score of the submission against `test_solution.csv`, when present.
    pub test_score: Option<SubmissionScore>,
    /// Window-level scores on the holdout recordings, when present.
    pub holdout: Option<HoldoutScore>,
    /// `submission.csv`.
    pub submission_path: PathBuf,
    /// The model bundle folder.
    pub bundle_path: PathBuf,
    /// `metrics.json`.
    pub metrics_path: PathBuf,
    /// Rows of `sample_submission.csv` filled with the mean score because their soundscape
    /// was skipped or missing.
    pub filled_rows: usize,
}

/// Window-level metrics on held-out labelled recordings.
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutScore {
    /// Macro ROC-AUC over classes with at least one positive window.
    pub macro_auc: f64,
    /// Fraction of windows whose top class is one of the file's labels.
    pub top1: f64,
    /// Windows scored.
    pub windows: usize,
    /// Recordings scored.
    pub files: usize,
}

/// Runs `f` on a rayon pool of `n_threads` threads (all cores when `None`).
///
/// # Errors
/// [`PipelineError::NotEnoughData`] when the pool cannot be built.
pub fn with_threads<T: Send>(
    n_threads: Option<usize>,
    f: impl FnOnce() -> T + Send,
) -> Result<T, PipelineError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = n_threads {
        builder = builder.num_threads(n);
    }
    let pool = builder.build().map_err(|e| PipelineError::NotEnoughData {
        stage: "threads",
        reason: format!("cannot start the worker threads: {e}"),
    })?;
    Ok(pool.install(f))
}

/// Trains on `data_dir`, scores its test soundscapes and evaluates, writing
/// `out_dir/submission.csv`, `out_dir/model/` and `out_dir/metrics.json`.
///
/// `synthetic` is recorded in the metrics (it does not change what runs).
///
/// # Errors
/// Data layout and configuration errors before any work; stage errors; write errors.
pub fn run_pipeline(
    data_dir: &Path,
    spec: &ConfigSpec,
    out_dir: &Path,
    progress: &dyn Progress,
    synthetic: bool,
) -> Result<PipelineOutcome, PipelineError> {
    let n_threads = spec.build(spec.preset)?.run.n_threads;
    with_threads(n_threads, || {
        run_in_pool(data_dir, spec, out_dir, progress, synthetic)
    })?
}

fn run_in_pool(
    data_dir: &Path,
    spec: &ConfigSpec,
    out_dir: &Path,
    progress: &dyn Progress,
    synthetic: bool,
) -> Result<PipelineOutcome, PipelineError> {
    let data = Dataset::open(data_dir)?;
    std::fs::create_dir_all(out_dir).map_err(|e| PipelineError::io(out_dir, e))?;
    log::info!(
        "pipeline: {} classes, {} training recordings, {} training soundscapes, {} test soundscapes, {} holdout recordings",
        data.labels.len(),
        data.train.len(),
        data.train_soundscapes.len(),
        data.test_soundscapes.len(),
        data.holdout.len()
    );

    let train_start = Instant::now();
    let (model, report) = train(&data, spec, progress)?;
    let train_seconds = train_start.elapsed().as_secs_f64();
    let mut times: StageTimes = report.times.clone();

    let bundle_path = out_dir.join("model");
    let info = serde_json::json!({
        "preset": model.config.preset.name(),
        "data": data_dir.display().to_string(),
        "synthetic_data": synthetic,
        "classes": data.labels.len(),
        "train_seconds": train_seconds,
        "train_audio_seconds": report.audio_seconds,
        "head_windows": report.head_windows,
    });
    times.time("save bundle", || model.save(&bundle_path, info))?;
    // Inference runs on the bundle as loaded from disk, so the run checks the round trip.
    let model = times.time("load bundle", || Model::load(&bundle_path))?;

    let skips = SkipLog::default();
    let inference = model.infer(&data.test_soundscapes, progress, &skips)?;
    times.record("inference", inference.seconds);
    let mut submission = inference.submission.clone();
    let mut filled_rows = 0;
    if let Some(sample) = &data.sample_submission {
        let fill = mean_scores(&submission.scores, data.labels.len());
        let (filled, appended) = submission.order_like(sample, fill.view())?;
        if filled > 0 {
            log::warn!(
                "pipeline: {filled} rows of sample_submission.csv have no scored soundscape; filled with each class's mean score"
            );
        }
        if appended > 0 {
            log::warn!(
                "pipeline: {appended} scored rows are not in sample_submission.csv; appended after its rows"
            );
        }
        filled_rows = filled;
    }
    let submission_path = out_dir.join("submission.csv");
    submission.write_csv(&submission_path)?;

    let test_score = match &data.test_solution {
        Some(path) => {
            let solution = Submission::read_csv(path)?;
            Some(times.time("evaluate", || score_submission(&submission, &solution))?)
        }
        None => None,
    };

    let holdout = if data.holdout.is_empty() {
        None
    } else {
        let start = Instant::now();
        let score = evaluate_holdout(&model, &data.holdout, progress, &skips)?;
        times.record("holdout", start.elapsed().as_secs_f64());
        score
    };

    let mut skipped: Vec<SkippedFile> = report.skipped.clone();
    skipped.extend(skips.to_vec());
    let mut files_processed = report.files_processed.clone();
    files_processed.insert("test_soundscapes".to_string(), inference.files.len());
    if let Some(h) = &holdout {
        files_processed.insert("holdout_audio".to_string(), h.files);
    }
    let metrics = RunMetrics {
        test_soundscape_macro_auc: test_score.as_ref().map(|s| s.macro_auc),
        test_soundscape_scored_classes: test_score.as_ref().map(|s| s.n_scored_classes),
        holdout_window_macro_auc: holdout.as_ref().map(|h| h.macro_auc),
        holdout_window_top1: holdout.as_ref().map(|h| h.top1),
        holdout_windows: holdout.as_ref().map_or(0, |h| h.windows),
        stage_seconds: times.to_map(),
        train_seconds,
        infer_seconds: inference.seconds,
        infer_audio_seconds: inference.audio_seconds,
        infer_realtime_factor: inference.realtime_factor(),
        files_processed,
        skipped_files: skipped,
        preset: model.config.preset.name().to_string(),
        synthetic_data: synthetic,
        threads: rayon::current_num_threads(),
    };
    let metrics_path = out_dir.join("metrics.json");
    metrics.write(&metrics_path)?;
    Ok(PipelineOutcome {
        metrics,
        train: report,
        test_score,
        holdout,
        submission_path,
        bundle_path,
        metrics_path,
        filled_rows,
    })
}

/// Mean of each column, or zeros without rows.
fn mean_scores(scores: &Array2<f32>, n_classes: usize) -> Array1<f32> {
    scores
        .mean_axis(Axis(0))
        .unwrap_or_else(|| Array1::zeros(n_classes))
}

/// Scores every window of the holdout recordings against the file's labels (primary, and
/// secondary when the model was trained with them).
///
/// Returns `None` when every holdout file was skipped.
///
/// # Errors
/// Head metric errors (for example no class with a positive window).
pub fn evaluate_holdout(
    model: &Model,
    recordings: &[Recording],
    progress: &dyn Progress,
    skips: &SkipLog,
) -> Result<Option<HoldoutScore>, PipelineError> {
    let paths: Vec<PathBuf> = recordings.iter().map(|r| r.path.clone()).collect();
    let scored = model.map_files(&paths, "holdout", progress, skips, |p| {
        let recording = recordings
            .iter()
            .find(|r| r.path == p)
            .expect("path comes from recordings");
        Ok((recording, model.score_file(p)?))
    });
    if scored.is_empty() {
        return Ok(None);
    }
    let n_classes = model.labels().len();
    let mut truth_blocks = Vec::new();
    let mut score_blocks = Vec::new();
    for (recording, file) in &scored {
        let mut truth = Array2::<f32>::zeros((file.scores.nrows(), n_classes));
        truth.column_mut(recording.primary).fill(1.0);
        if model.config.data.secondary_labels {
            for &s in &recording.secondary {
                truth.column_mut(s).fill(1.0);
            }
        }
        truth_blocks.push(truth);
        score_blocks.push(file.scores.clone());
    }
    let concat = |blocks: &[Array2<f32>]| {
        let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
        ndarray::concatenate(Axis(0), &views).expect("blocks share their column count")
    };
    let truth = concat(&truth_blocks);
    let scores = concat(&score_blocks);
    let auc = stsg_head::metrics::macro_roc_auc(truth.view(), scores.view())?;
    let top1 = stsg_head::metrics::top1_accuracy(truth.view(), scores.view())?;
    Ok(Some(HoldoutScore {
        macro_auc: auc.macro_auc,
        top1,
        windows: truth.nrows(),
        files: scored.len(),
    }))
}
