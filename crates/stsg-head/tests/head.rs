//! Integration tests: the trainer against scikit-learn fixtures and linfa-logistic, the metrics
//! against scikit-learn fixtures, input validation, and the model file.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

use std::path::{Path, PathBuf};

use linfa::Dataset;
use linfa::traits::Fit as _;
use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde_json::Value;
use stsg_core::{Fit, Head, HeadDataset, LabelSet};
use stsg_head::metrics::{macro_roc_auc, micro_roc_auc, padded_cmap, roc_auc, top1_accuracy};
use stsg_head::{
    ClassStatus, ClassWeight, HeadError, HeadKind, HeadParams, LinearHead, targets_from_labels,
};

fn testdata(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn matrix(value: &Value) -> Array2<f32> {
    let rows: Vec<Vec<f32>> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    let (n, d) = (rows.len(), rows[0].len());
    Array2::from_shape_vec((n, d), rows.concat()).unwrap()
}

fn labels(n: usize) -> LabelSet {
    LabelSet::new((0..n).map(|k| format!("class{k}"))).unwrap()
}

fn fit(
    params: &HeadParams,
    x: ArrayView2<'_, f32>,
    y: ArrayView2<'_, f32>,
) -> Result<LinearHead, HeadError> {
    let labels = labels(y.ncols());
    params.check()?.fit(HeadDataset {
        features: x.view(),
        targets: y.view(),
        labels: &labels,
    })
}

fn max_abs_diff(a: ArrayView2<'_, f32>, b: ArrayView2<'_, f32>) -> (f32, (usize, usize)) {
    a.indexed_iter()
        .map(|(ix, &v)| ((v - b[ix]).abs(), ix))
        .fold((0.0, (0, 0)), |m, x| if x.0 > m.0 { x } else { m })
}

/// Probabilities agree with scikit-learn 1.9.1 LogisticRegression (lbfgs, tol 1e-12).
const SKLEARN_PROBA_TOL: f32 = 2e-5;

#[test]
fn trainer_matches_sklearn_fixtures() {
    let fixtures = testdata("logistic.json");
    for case in fixtures["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x = matrix(&case["x_train"]);
        let y = matrix(&case["y_train"]);
        let c = case["C"].as_f64().unwrap();
        let kind = match case["kind"].as_str().unwrap() {
            "sigmoid" => HeadKind::Sigmoid,
            _ => HeadKind::Softmax,
        };
        let weighting = if case["balanced"].as_bool().unwrap() {
            ClassWeight::Balanced
        } else {
            ClassWeight::None
        };
        let params = HeadParams::new()
            .kind(kind)
            .l2(HeadParams::l2_for_sklearn_c(c, x.nrows()))
            .class_weight(weighting)
            .standardize(case["standardize"].as_bool().unwrap())
            .tol(1e-7)
            .max_iter(2000);
        let head = fit(&params, x.view(), y.view()).unwrap();
        let summary = head.training_summary();
        assert!(summary.converged, "{name}: {summary:?}");
        let proba = head.predict(matrix(&case["x_test"]).view()).unwrap();
        let expected = matrix(&case["proba"]);
        let (diff, at) = max_abs_diff(proba.view(), expected.view());
        assert!(
            diff <= SKLEARN_PROBA_TOL,
            "{name}: max |p - p_sklearn| = {diff:e} at {at:?} ({} vs {}) after {} iterations",
            proba[at],
            expected[at],
            summary.iterations
        );
    }
}

fn synthetic(n: usize, d: usize, c: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres = Array2::from_shape_fn((c, d), |_| rng.random::<f32>() * 2.0 - 1.0);
    let mut y = Array2::<f32>::zeros((n, c));
    let mut x = Array2::<f32>::zeros((n, d));
    for i in 0..n {
        for k in 0..c {
            let rate = 0.1 + 0.3 * k as f32 / c as f32;
            if rng.random::<f32>() < rate {
                y[[i, k]] = 1.0;
            }
        }
        for j in 0..d {
            let signal: f32 = (0..c).map(|k| y[[i, k]] * centres[[k, j]]).sum();
            x[[i, j]] = signal + rng.random::<f32>() * 2.0 - 1.0 + 0.5;
        }
    }
    (x, y)
}

/// Sigmoid probabilities agree with linfa-logistic 0.8 (f64, gradient tolerance 1e-10).
const LINFA_PROBA_TOL: f32 = 2e-5;

#[test]
fn sigmoid_matches_linfa_logistic_per_class() {
    let (x, y) = synthetic(200, 5, 3, 11);
    let n = x.nrows();
    let l2 = 0.02;
    let params = HeadParams::new()
        .l2(l2)
        .standardize(false)
        .tol(1e-7)
        .max_iter(2000);
    let head = fit(&params, x.view(), y.view()).unwrap();
    let ours = head.predict(x.view()).unwrap();
    let x64 = x.mapv(f64::from);
    for k in 0..y.ncols() {
        let truth: ndarray::Array1<bool> = y.column(k).mapv(|v| v == 1.0);
        let dataset = Dataset::new(x64.clone(), truth);
        // linfa penalises the summed loss: alpha = l2 * n.
        let model = linfa_logistic::LogisticRegression::default()
            .alpha(l2 * n as f64)
            .gradient_tolerance(1e-10)
            .max_iterations(10_000)
            .fit(&dataset)
            .unwrap();
        let p = model.predict_probabilities(&x64);
        // linfa models the more frequent label as its positive class; flip to P(present).
        let flip = !model.labels().pos.class;
        for i in 0..n {
            let linfa_present = if flip { 1.0 - p[i] } else { p[i] } as f32;
            let diff = (ours[[i, k]] - linfa_present).abs();
            assert!(
                diff <= LINFA_PROBA_TOL,
                "class {k} row {i}: ours {} linfa {linfa_present} (flip {flip})",
                ours[[i, k]]
            );
        }
    }
}

#[test]
fn metrics_match_sklearn_fixtures() {
    let fixtures = testdata("metrics.json");
    for case in fixtures["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y = matrix(&case["y_true"]);
        let s = matrix(&case["scores"]);
        let close = |got: f64, key: &str| {
            let expected = case[key].as_f64().unwrap();
            assert!(
                (got - expected).abs() <= 1e-9,
                "{name} {key}: got {got}, sklearn {expected}"
            );
        };
        let result = macro_roc_auc(y.view(), s.view()).unwrap();
        close(result.macro_auc, "macro_auc");
        for (k, (got, expected)) in result
            .per_class
            .iter()
            .zip(case["per_class_auc"].as_array().unwrap())
            .enumerate()
        {
            match (got, expected.as_f64()) {
                (Some(g), Some(e)) => {
                    assert!((g - e).abs() <= 1e-9, "{name} class {k}: {g} vs {e}")
                }
                (None, None) => {}
                _ => panic!("{name} class {k}: got {got:?}, sklearn {expected}"),
            }
        }
        close(micro_roc_auc(y.view(), s.view()).unwrap(), "micro_auc");
        close(top1_accuracy(y.view(), s.view()).unwrap(), "top1_accuracy");
        close(padded_cmap(y.view(), s.view(), 5).unwrap(), "padded_cmap_5");
        close(padded_cmap(y.view(), s.view(), 1).unwrap(), "padded_cmap_1");
    }
}

#[test]
fn roc_auc_matches_pair_counting() {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    for _ in 0..20 {
        let n = 60;
        let truth: Vec<bool> = (0..n).map(|_| rng.random::<f32>() < 0.3).collect();
        let scores: Vec<f32> = (0..n)
            .map(|_| (rng.random::<f32>() * 5.0).floor())
            .collect();
        let mut wins = 0.0;
        let mut pairs = 0.0;
        for i in (0..n).filter(|&i| truth[i]) {
            for j in (0..n).filter(|&j| !truth[j]) {
                pairs += 1.0;
                wins += match scores[i].partial_cmp(&scores[j]).unwrap() {
                    std::cmp::Ordering::Greater => 1.0,
                    std::cmp::Ordering::Equal => 0.5,
                    std::cmp::Ordering::Less => 0.0,
                };
            }
        }
        let auc = roc_auc(&truth, &scores).unwrap();
        assert!(
            (auc - wins / pairs).abs() < 1e-12,
            "{auc} vs {}",
            wins / pairs
        );
    }
}

#[test]
fn nan_feature_is_rejected_with_its_row() {
    let (mut x, y) = synthetic(50, 4, 2, 1);
    x[[17, 2]] = f32::NAN;
    let err = fit(&HeadParams::new(), x.view(), y.view()).unwrap_err();
    assert!(
        matches!(
            err,
            HeadError::NonFinite {
                row: 17,
                col: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("row 17"), "{err}");
}

#[test]
fn infinite_feature_at_predict_is_rejected() {
    let (x, y) = synthetic(50, 4, 2, 1);
    let head = fit(&HeadParams::new(), x.view(), y.view()).unwrap();
    let mut bad = x.slice_axis(Axis(0), Slice::from(..5)).to_owned();
    bad[[3, 0]] = f32::INFINITY;
    let err = head.predict(bad.view()).unwrap_err();
    assert!(
        matches!(err, HeadError::NonFinite { row: 3, col: 0, .. }),
        "{err}"
    );
}

#[test]
fn wrong_feature_count_at_predict_is_rejected() {
    let (x, y) = synthetic(50, 4, 2, 1);
    let head = fit(&HeadParams::new(), x.view(), y.view()).unwrap();
    let err = head
        .predict(Array2::<f32>::zeros((2, 5)).view())
        .unwrap_err();
    assert!(
        matches!(
            err,
            HeadError::Shape {
                expected: 4,
                got: 5,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn target_outside_unit_interval_is_rejected() {
    let (x, mut y) = synthetic(30, 3, 2, 2);
    y[[4, 1]] = 2.0;
    let err = fit(&HeadParams::new(), x.view(), y.view()).unwrap_err();
    assert!(
        matches!(err, HeadError::InvalidTarget { row: 4, col: 1, .. }),
        "{err}"
    );
}

#[test]
fn target_and_label_counts_must_agree() {
    let (x, y) = synthetic(30, 3, 2, 2);
    let three = labels(3);
    let err = HeadParams::new()
        .check()
        .unwrap()
        .fit(HeadDataset {
            features: x.view(),
            targets: y.view(),
            labels: &three,
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            HeadError::Shape {
                expected: 3,
                got: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn class_without_positives_gets_constant_prior() {
    let (x, mut y) = synthetic(80, 4, 3, 5);
    y.column_mut(1).fill(0.0);
    let head = fit(&HeadParams::new(), x.view(), y.view()).unwrap();
    assert_eq!(head.class_status()[1], ClassStatus::NoPositive);
    assert_eq!(head.class_status()[0], ClassStatus::Trained);
    let scores = head.predict(x.view()).unwrap();
    let prior = 1.0 / (80.0 + 2.0);
    for i in 0..x.nrows() {
        assert!(
            (scores[[i, 1]] - prior).abs() < 1e-6,
            "row {i}: {}",
            scores[[i, 1]]
        );
    }
}

#[test]
fn class_without_negatives_gets_constant_high_score() {
    let (x, mut y) = synthetic(80, 4, 3, 5);
    y.column_mut(2).fill(1.0);
    let head = fit(&HeadParams::new(), x.view(), y.view()).unwrap();
    assert_eq!(head.class_status()[2], ClassStatus::NoNegative);
    let scores = head.predict(x.view()).unwrap();
    assert!(
        (scores[[0, 2]] - 81.0 / 82.0).abs() < 1e-6,
        "{}",
        scores[[0, 2]]
    );
}

#[test]
fn softmax_class_without_positives_scores_zero() {
    let (x, _) = synthetic(60, 4, 3, 6);
    let y = Array2::from_shape_fn((60, 3), |(i, k)| {
        if (i % 2 == 0) == (k == 0) && k != 1 {
            1.0
        } else {
            0.0
        }
    });
    let params = HeadParams::new().kind(HeadKind::Softmax);
    let head = fit(&params, x.view(), y.view()).unwrap();
    assert_eq!(head.class_status()[1], ClassStatus::NoPositive);
    let scores = head.predict(x.view()).unwrap();
    for row in scores.rows() {
        assert_eq!(row[1], 0.0);
        assert!((row.sum() - 1.0).abs() < 1e-5, "{row}");
    }
}

#[test]
fn softmax_row_without_label_is_rejected() {
    let (x, _) = synthetic(20, 3, 2, 8);
    let mut y = Array2::<f32>::zeros((20, 2));
    for i in 0..20 {
        y[[i, i % 2]] = 1.0;
    }
    y.row_mut(9).fill(0.0);
    let params = HeadParams::new().kind(HeadKind::Softmax);
    let err = fit(&params, x.view(), y.view()).unwrap_err();
    assert!(matches!(err, HeadError::UnlabelledRow { row: 9 }), "{err}");
}

#[test]
fn all_empty_classes_are_rejected() {
    let (x, _) = synthetic(20, 3, 2, 8);
    let y = Array2::<f32>::zeros((20, 2));
    let err = fit(&HeadParams::new(), x.view(), y.view()).unwrap_err();
    assert!(
        matches!(
            err,
            HeadError::NothingToLearn {
                classes: 2,
                rows: 20
            }
        ),
        "{err}"
    );
}

#[test]
fn unknown_window_label_is_named() {
    let set = LabelSet::new(["wren", "owl"]).unwrap();
    let err = targets_from_labels(&set, &[vec!["owl"], vec!["kiwi"]]).unwrap_err();
    assert!(err.to_string().contains("\"kiwi\""), "{err}");
}

#[test]
fn iteration_limit_is_not_an_error() {
    let (x, y) = synthetic(200, 6, 3, 9);
    let params = HeadParams::new().max_iter(2).tol(1e-9);
    let head = fit(&params, x.view(), y.view()).unwrap();
    let summary = head.training_summary();
    assert_eq!(summary.iterations, 2);
    assert!(!summary.converged);
}

#[test]
fn single_thread_and_default_pool_agree() {
    let (x, y) = synthetic(300, 8, 4, 10);
    let one = fit(
        &HeadParams::new().n_threads(Some(1)).tol(1e-7),
        x.view(),
        y.view(),
    )
    .unwrap();
    let all = fit(&HeadParams::new().tol(1e-7), x.view(), y.view()).unwrap();
    let a = one.predict(x.view()).unwrap();
    let b = all.predict(x.view()).unwrap();
    let (diff, at) = max_abs_diff(a.view(), b.view());
    assert!(diff < 1e-4, "max difference {diff} at {at:?}");
}

fn trained_head() -> (LinearHead, Array2<f32>) {
    let (x, y) = synthetic(120, 6, 3, 4);
    let head = fit(&HeadParams::new(), x.view(), y.view()).unwrap();
    (head, x)
}

#[test]
fn save_load_round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.stsg");
    let (head, x) = trained_head();
    head.save(&path).unwrap();
    let loaded = LinearHead::load(&path).unwrap();
    assert_eq!(loaded, head);
    assert_eq!(
        loaded.predict(x.view()).unwrap(),
        head.predict(x.view()).unwrap()
    );
}

fn rewrite(path: &Path, version: u32, edit: impl FnOnce(&mut Value, &mut Array2<f32>)) {
    let artifact = stsg_core::artifact::Artifact::read(path, stsg_head::ARTIFACT_KIND, 1).unwrap();
    let mut metadata = artifact.metadata().clone();
    let mut weights = artifact.f32_array2("weights").unwrap();
    edit(&mut metadata, &mut weights);
    let mut writer = stsg_core::artifact::ArtifactWriter::new(stsg_head::ARTIFACT_KIND, version);
    writer.metadata(metadata).add_f32(
        "weights",
        weights.shape(),
        weights.as_standard_layout().as_slice().unwrap(),
    );
    for name in ["bias", "mean", "scale"] {
        if artifact.has_array(name) {
            let v = artifact.f32_array(name).unwrap();
            writer.add_f32(name, v.shape(), v.as_slice().unwrap());
        }
    }
    writer.write(path).unwrap();
}

#[test]
fn load_rejects_other_format_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.stsg");
    trained_head().0.save(&path).unwrap();
    rewrite(&path, 2, |_, _| {});
    let err = LinearHead::load(&path).unwrap_err();
    assert!(err.to_string().contains("format version 2"), "{err}");
}

#[test]
fn load_rejects_weights_of_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.stsg");
    trained_head().0.save(&path).unwrap();
    rewrite(&path, 1, |_, w| {
        *w = w.slice_axis(Axis(0), Slice::from(..5)).to_owned()
    });
    let err = LinearHead::load(&path).unwrap_err();
    assert!(matches!(err, HeadError::InvalidModel { .. }), "{err}");
    assert!(err.to_string().contains("expected [6, 3]"), "{err}");
}

#[test]
fn load_rejects_label_count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.stsg");
    trained_head().0.save(&path).unwrap();
    rewrite(&path, 1, |meta, _| {
        meta["labels"] = serde_json::json!(["a", "b"])
    });
    let err = LinearHead::load(&path).unwrap_err();
    assert!(matches!(err, HeadError::InvalidModel { .. }), "{err}");
}

#[test]
fn load_rejects_truncated_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.stsg");
    trained_head().0.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = LinearHead::load(&path).unwrap_err();
    assert!(matches!(err, HeadError::Artifact(_)), "{err}");
}

#[test]
fn separable_classes_are_ranked_perfectly() {
    let (x, y) = synthetic(400, 16, 4, 12);
    let head = fit(&HeadParams::new().l2(1e-3), x.view(), y.view()).unwrap();
    let scores = head.predict(x.view()).unwrap();
    let auc = macro_roc_auc(y.view(), scores.view()).unwrap();
    assert!(auc.macro_auc > 0.95, "{auc:?}");
    assert_eq!(auc.n_scored, 4);
}
