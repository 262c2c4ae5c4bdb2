//! End-to-end runs: synthetic data, the shared `birdclef-mini` data (skipped when absent), and
//! damaged input files.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

use std::fs;
use std::path::{Path, PathBuf};

use stsg_pipeline::synthetic::{SyntheticParams, generate};
use stsg_pipeline::{
    ConfigSpec, Model, NoProgress, PipelineError, Preset, SkipLog, Submission, run_pipeline,
};

/// A configuration small enough for tests: K 64, 32-d vectors, 5 epochs, 2 threads.
fn small_spec() -> ConfigSpec {
    let mut spec = ConfigSpec::new(Preset::SmallData);
    for (key, value) in [
        ("tokenizer.kmeans.k", toml::Value::Integer(64)),
        ("skipgram.dim", toml::Value::Integer(32)),
        ("skipgram.epochs", toml::Value::Integer(5)),
        ("skipgram.window", toml::Value::Integer(20)),
        ("run.n_threads", toml::Value::Integer(2)),
        // The preset's head settings are tuned for real recordings; this tiny synthetic set
        // (a few windows per class) separates better with standardised features.
        ("head.l2", toml::Value::Float(1e-4)),
        ("head.standardize", toml::Value::Boolean(true)),
    ] {
        spec.set(key, value).unwrap();
    }
    spec
}

/// The shared data folder: `STSG_DATA_DIR`, else `../shared/data` beside the workspace.
fn shared_data() -> PathBuf {
    match std::env::var_os("STSG_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

#[test]
fn synthetic_run_writes_scored_outputs() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    generate(&data, &SyntheticParams::tiny()).unwrap();
    let out = root.path().join("out");
    let outcome = run_pipeline(&data, &small_spec(), &out, &NoProgress, true).unwrap();

    // Submission: sample_submission rows and order, one column per taxonomy class.
    let submission = Submission::read_csv(&out.join("submission.csv")).unwrap();
    let sample = Submission::read_csv(&data.join("sample_submission.csv")).unwrap();
    assert_eq!(submission.row_ids, sample.row_ids);
    assert_eq!(submission.labels, sample.labels);
    assert!(submission.scores.iter().all(|v| (0.0..=1.0).contains(v)));

    // Metrics: the keys, and scores well above chance on these easy species.
    let metrics = read_json(&out.join("metrics.json"));
    eprintln!("{metrics:#}");
    let auc = metrics["test_soundscape_macro_auc"].as_f64().unwrap();
    assert!(auc > 0.75, "test macro ROC-AUC {auc}");
    let holdout = metrics["holdout_window_macro_auc"].as_f64().unwrap();
    assert!(holdout > 0.75, "holdout macro ROC-AUC {holdout}");
    assert!(metrics["holdout_window_top1"].as_f64().is_some());
    assert!(metrics["infer_realtime_factor"].as_f64().unwrap() > 0.0);
    assert_eq!(metrics["infer_audio_seconds"].as_f64().unwrap(), 90.0);
    assert!(metrics["skipped_files"].as_array().unwrap().is_empty());
    assert!(metrics["stage_seconds"]["skip-gram"].as_f64().is_some());
    assert!(metrics["synthetic_data"].as_bool().unwrap());
    assert_eq!(outcome.metrics.preset, "small-data");

    // The bundle reloads and scores the same.
    let model = Model::load(&out.join("model")).unwrap();
    // No files: zero audio, printed as "0.0 min" (not "-0.0 min").
    let none = model.infer(&[], &NoProgress, &SkipLog::default()).unwrap();
    assert_eq!(none.audio_seconds, 0.0);
    assert!(none.audio_seconds.is_sign_positive());
    assert_eq!(none.realtime_factor(), 0.0);
    let skips = SkipLog::default();
    let again = model
        .infer(
            &stsg_pipeline::Dataset::open(&data)
                .unwrap()
                .test_soundscapes,
            &NoProgress,
            &skips,
        )
        .unwrap();
    let mut again = again.submission;
    again
        .order_like(
            &data.join("sample_submission.csv"),
            ndarray::Array1::zeros(4).view(),
        )
        .unwrap();
    let max_diff = again
        .scores
        .iter()
        .zip(submission.scores.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_diff < 1e-5,
        "reloaded model scores differ by {max_diff}"
    );

    // A save that crashed between its two renames left the bundle only under its hidden
    // aside name: loading the target restores it.
    let bundle = out.join("model");
    let aside = stsg_pipeline::bundle::replaced_bundle_path(&bundle);
    fs::rename(&bundle, &aside).unwrap();
    assert_eq!(Model::load(&bundle).unwrap().labels(), model.labels());
    assert!(bundle.join("bundle.json").is_file() && !aside.exists());

    // A corrupted bundle file is a checksum error naming it.
    let head = out.join("model/head.stsg");
    let mut bytes = fs::read(&head).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    fs::write(&head, bytes).unwrap();
    let err = Model::load(&out.join("model")).unwrap_err();
    assert!(
        matches!(&err, PipelineError::BundleChecksum { path, .. } if path.ends_with("head.stsg")),
        "{err}"
    );
}

#[test]
fn birdclef_mini_run_meets_score_floor() {
    let data = shared_data().join("birdclef-mini");
    if !data.join("train.csv").is_file() {
        eprintln!(
            "skipping: {} not found (set STSG_DATA_DIR to the shared data folder)",
            data.display()
        );
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let mut spec = ConfigSpec::new(Preset::Auto);
    spec.set("run.n_threads", toml::Value::Integer(2)).unwrap();
    let outcome = run_pipeline(&data, &spec, out.path(), &NoProgress, false).unwrap();
    let m = &outcome.metrics;
    assert_eq!(
        m.preset, "small-data",
        "auto should pick small-data on 3 hours of audio"
    );
    assert!(m.skipped_files.is_empty(), "{:?}", m.skipped_files);
    let submission = Submission::read_csv(&out.path().join("submission.csv")).unwrap();
    assert_eq!(submission.len(), 24 * 12);
    assert_eq!(submission.labels.len(), 86);
    // Floors well below the recorded results (docs/results.md), so that only a real
    // regression fails: the Python reference scored 0.69 (test) and 0.70 (holdout).
    let test_auc = m.test_soundscape_macro_auc.unwrap();
    assert!(test_auc > 0.62, "test soundscape macro ROC-AUC {test_auc}");
    let holdout_auc = m.holdout_window_macro_auc.unwrap();
    assert!(
        holdout_auc > 0.62,
        "holdout window macro ROC-AUC {holdout_auc}"
    );
}

/// Appends `line` to a CSV file.
fn append_line(path: &Path, line: &str) {
    let mut text = fs::read_to_string(path).unwrap();
    text.push_str(line);
    text.push('\n');
    fs::write(path, text).unwrap();
}

#[test]
fn damaged_files_are_skipped_and_listed() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    generate(&data, &SyntheticParams::tiny()).unwrap();
    let ogg = fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/tone_chirps_32k.ogg"))
        .unwrap();
    let truncated = &ogg[..ogg.len() * 3 / 5];

    // train_audio: a valid Ogg, a truncated Ogg and a zero-byte file, all listed in train.csv.
    let species = "synth_whistle";
    let dir = data.join("train_audio").join(species);
    fs::write(dir.join("valid.ogg"), &ogg).unwrap();
    fs::write(dir.join("truncated.ogg"), truncated).unwrap();
    fs::write(dir.join("empty.ogg"), b"").unwrap();
    for name in ["valid", "truncated", "empty"] {
        append_line(
            &data.join("train.csv"),
            &format!("{species},[],['call'],{species}/{name}.ogg,test,5.0,,0,0,{species},x,x,CC0"),
        );
    }
    // test_soundscapes: a truncated Ogg and a zero-byte file, with rows in the sample.
    fs::write(
        data.join("test_soundscapes/broken_truncated.ogg"),
        truncated,
    )
    .unwrap();
    fs::write(data.join("test_soundscapes/broken_empty.ogg"), b"").unwrap();
    append_line(
        &data.join("sample_submission.csv"),
        "broken_empty_5,0,0,0,0",
    );

    let out = root.path().join("out");
    let outcome = run_pipeline(&data, &small_spec(), &out, &NoProgress, true).unwrap();

    let mut skipped: Vec<(String, String)> = outcome
        .metrics
        .skipped_files
        .iter()
        .map(|s| {
            let name = s.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, s.stage.clone())
        })
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            ("broken_empty.ogg".to_string(), "inference".to_string()),
            ("broken_truncated.ogg".to_string(), "inference".to_string()),
            ("empty.ogg".to_string(), "train features".to_string()),
            ("truncated.ogg".to_string(), "train features".to_string()),
        ]
    );
    let reasons: Vec<&str> = outcome
        .metrics
        .skipped_files
        .iter()
        .map(|s| s.reason.as_str())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("empty")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("truncated")),
        "{reasons:?}"
    );

    // metrics.json lists them too, and the valid Ogg was used.
    let metrics = read_json(&out.join("metrics.json"));
    assert_eq!(metrics["skipped_files"].as_array().unwrap().len(), 4);
    assert_eq!(
        metrics["files_processed"]["train_audio"].as_u64().unwrap(),
        13
    );

    // The sample row of the empty soundscape is filled, so the submission stays complete.
    let submission = Submission::read_csv(&out.join("submission.csv")).unwrap();
    assert_eq!(submission.row_ids.last().unwrap(), "broken_empty_5");
    assert_eq!(outcome.filled_rows, 1);
}
