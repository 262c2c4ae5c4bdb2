//! Integration tests of the public tokenizer API: PCA against a numpy fixture, the saved format
//! and its failure modes, and input validation.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use stsg_core::artifact::ArtifactWriter;
use stsg_core::{CoreError, Fit, Quantizer};
use stsg_quantize::{
    Codebook, KMeansInit, KMeansParams, Pca, QuantizeError, TOKENIZER_FORMAT_VERSION,
    TOKENIZER_KIND, Tokenizer, TokenizerParams,
};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn frames(n: usize, dim: usize, seed: u64) -> Array2<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<f32> = (0..16 * dim)
        .map(|_| rng.random_range(-20.0..20.0))
        .collect();
    Array2::from_shape_fn((n, dim), |(i, f)| {
        centres[(i % 16) * dim + f] + rng.random_range(-2.0f32..2.0)
    })
}

fn v2_like_tokenizer() -> (Tokenizer, Array2<f32>) {
    let data = frames(1500, 24, 1);
    let params = TokenizerParams::new(KMeansParams::new(40).n_iter(6))
        .pca_components(Some(8))
        .l2_normalize(true)
        .check()
        .unwrap();
    (params.fit(data.view()).unwrap(), data)
}

fn json_matrix(value: &serde_json::Value) -> Array2<f64> {
    let rows: Vec<Vec<f64>> = serde_json::from_value(value.clone()).unwrap();
    let cols = rows[0].len();
    Array2::from_shape_vec((rows.len(), cols), rows.concat()).unwrap()
}

#[test]
fn pca_matches_numpy_svd_up_to_sign() {
    let text = std::fs::read_to_string(testdata("pca_fixture.json")).unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let data = json_matrix(&fixture["data"]).mapv(|v| v as f32);
    let expected = json_matrix(&fixture["components"]);
    let n_components = fixture["n_components"].as_u64().unwrap() as usize;
    let variance: Vec<f64> = serde_json::from_value(fixture["explained_variance"].clone()).unwrap();
    let ratio: Vec<f64> =
        serde_json::from_value(fixture["explained_variance_ratio"].clone()).unwrap();
    let mean: Vec<f64> = serde_json::from_value(fixture["mean"].clone()).unwrap();

    let pca = Pca::fit(data.view(), n_components).unwrap();

    for (f, (&got, &want)) in pca.mean().iter().zip(&mean).enumerate() {
        assert!(
            (f64::from(got) - want).abs() < 1e-5,
            "mean {f}: {got} vs {want}"
        );
    }
    for c in 0..n_components {
        let got = pca.components().row(c);
        let want = expected.row(c);
        let dot: f64 = got.iter().zip(want).map(|(a, b)| f64::from(*a) * b).sum();
        let sign = dot.signum();
        for (f, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                (f64::from(g) - sign * w).abs() < 1e-5,
                "component {c}, feature {f}: {g} vs {}",
                sign * w
            );
        }
        let v = pca.explained_variance()[c];
        assert!(
            (v - variance[c]).abs() < 1e-9 * variance[c].max(1.0),
            "variance {c}: {v} vs {}",
            variance[c]
        );
        let r = pca.explained_variance_ratio()[c];
        assert!(
            (r - ratio[c]).abs() < 1e-9,
            "ratio {c}: {r} vs {}",
            ratio[c]
        );
    }
}

#[test]
fn save_load_round_trip_is_bit_exact() {
    let (tokenizer, data) = v2_like_tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenizer.stsg");
    tokenizer.save(&path).unwrap();
    let loaded = Tokenizer::load(&path).unwrap();

    let bits = |a: ArrayView2<'_, f32>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
    assert_eq!(
        bits(loaded.codebook().centroids()),
        bits(tokenizer.codebook().centroids())
    );
    let (a, b) = (loaded.pca().unwrap(), tokenizer.pca().unwrap());
    assert_eq!(bits(a.components().view()), bits(b.components().view()));
    assert_eq!(a.mean(), b.mean());
    assert_eq!(a.explained_variance(), b.explained_variance());
    assert_eq!(loaded.params(), tokenizer.params());
    assert_eq!(loaded, tokenizer);
    assert_eq!(
        loaded.quantize(data.view()).unwrap(),
        tokenizer.quantize(data.view()).unwrap()
    );
}

#[test]
fn round_trip_without_pca() {
    let data = frames(300, 5, 2);
    let params = TokenizerParams::new(KMeansParams::new(8).n_iter(3))
        .check()
        .unwrap();
    let tokenizer = params.fit(data.view()).unwrap();
    assert!(tokenizer.pca().is_none());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.stsg");
    tokenizer.save(&path).unwrap();
    assert_eq!(Tokenizer::load(&path).unwrap(), tokenizer);
}

#[test]
fn truncated_file_is_an_error() {
    let (tokenizer, _) = v2_like_tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.stsg");
    tokenizer.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for cut in [0, 7, 20, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let err = Tokenizer::load(&path).unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::Artifact(CoreError::InvalidArtifact { .. })
            ),
            "cut at {cut}: {err}"
        );
        assert!(err.to_string().contains("t.stsg"), "{err}");
    }
}

#[test]
fn corrupted_file_is_an_error() {
    let (tokenizer, _) = v2_like_tokenizer();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.stsg");
    tokenizer.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for at in [9, 30, bytes.len() / 2, bytes.len() - 2] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let err = Tokenizer::load(&path).unwrap_err();
        assert!(
            matches!(err, QuantizeError::Artifact(_)),
            "flip at {at}: {err}"
        );
    }
}

#[test]
fn wrong_kind_and_missing_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.stsg");
    let mut w = ArtifactWriter::new("stsg-head/linear", 1);
    w.add_f32("weights", &[1, 2], &[1.0, 2.0]);
    w.write(&path).unwrap();
    let err = Tokenizer::load(&path).unwrap_err();
    assert!(
        matches!(
            err,
            QuantizeError::Artifact(CoreError::WrongArtifactKind { .. })
        ),
        "{err}"
    );
    let err = Tokenizer::load(&dir.path().join("missing.stsg")).unwrap_err();
    assert!(
        matches!(err, QuantizeError::Artifact(CoreError::Io { .. })),
        "{err}"
    );
}

#[test]
fn inconsistent_arrays_are_an_error() {
    // A well-formed container whose PCA output (3) does not match the codebook dimension (2).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.stsg");
    let mut w = ArtifactWriter::new(TOKENIZER_KIND, TOKENIZER_FORMAT_VERSION);
    w.metadata(serde_json::json!({"l2_normalize": false, "params": null}))
        .add_f32("centroids", &[2, 2], &[0.0, 0.0, 1.0, 1.0])
        .add_f32("pca_mean", &[4], &[0.0; 4])
        .add_f32("pca_components", &[3, 4], &[0.0; 12])
        .add_f64("pca_explained_variance", &[3], &[1.0; 3])
        .add_f64("pca_total_variance", &[1], &[3.0]);
    w.write(&path).unwrap();
    let err = Tokenizer::load(&path).unwrap_err();
    assert!(matches!(err, QuantizeError::InvalidModel { .. }), "{err}");

    let mut w = ArtifactWriter::new(TOKENIZER_KIND, TOKENIZER_FORMAT_VERSION);
    w.metadata(serde_json::json!({"l2_normalize": false, "params": null}))
        .add_f32("centroids", &[1, 2], &[0.0, f32::NAN]);
    w.write(&path).unwrap();
    let err = Tokenizer::load(&path).unwrap_err();
    assert!(matches!(err, QuantizeError::InvalidModel { .. }), "{err}");
}

#[test]
fn dimension_mismatch_at_quantize_is_an_error() {
    let (tokenizer, _) = v2_like_tokenizer();
    assert_eq!(tokenizer.n_features(), 24);
    let wrong = Array2::<f32>::zeros((3, 8));
    let err = tokenizer.quantize(wrong.view()).unwrap_err();
    assert!(
        matches!(
            err,
            QuantizeError::DimensionMismatch {
                expected: 24,
                got: 8
            }
        ),
        "{err}"
    );
}

#[test]
fn nan_row_is_an_error_naming_the_row() {
    let (tokenizer, mut data) = v2_like_tokenizer();
    data[[1234, 5]] = f32::NAN;
    let err = tokenizer.quantize(data.view()).unwrap_err();
    assert!(
        matches!(
            err,
            QuantizeError::NonFinite {
                row: 1234,
                column: 5,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("row 1234"), "{err}");
    data[[1234, 5]] = 0.0;
    data[[7, 0]] = f32::NEG_INFINITY;
    let err = tokenizer.quantize(data.view()).unwrap_err();
    assert!(
        matches!(err, QuantizeError::NonFinite { row: 7, .. }),
        "{err}"
    );
}

#[test]
fn nan_training_frame_is_an_error() {
    let mut data = frames(200, 6, 3);
    data[[150, 0]] = f32::INFINITY;
    let params = TokenizerParams::new(KMeansParams::new(4))
        .pca_components(Some(3))
        .check()
        .unwrap();
    let err = params.fit(data.view()).unwrap_err();
    assert!(
        matches!(err, QuantizeError::NonFinite { row: 150, .. }),
        "{err}"
    );
}

#[test]
fn k_above_frame_count_is_an_error() {
    let data = frames(30, 4, 4);
    let params = TokenizerParams::new(KMeansParams::new(31)).check().unwrap();
    let err = params.fit(data.view()).unwrap_err();
    assert!(
        matches!(
            err,
            QuantizeError::TooFewPoints {
                k: 31,
                n_points: 30
            }
        ),
        "{err}"
    );
}

#[test]
fn too_many_pca_components_is_an_error() {
    let data = frames(30, 4, 5);
    let params = TokenizerParams::new(KMeansParams::new(3))
        .pca_components(Some(5))
        .check()
        .unwrap();
    let err = params.fit(data.view()).unwrap_err();
    assert!(
        matches!(
            err,
            QuantizeError::TooManyComponents {
                components: 5,
                features: 4
            }
        ),
        "{err}"
    );
}

#[test]
fn same_seed_gives_same_tokenizer() {
    let data = frames(2000, 10, 6);
    for init in [KMeansInit::RandomPoints, KMeansInit::KMeansPlusPlus] {
        let params = TokenizerParams::new(KMeansParams::new(50).n_iter(5).init(init))
            .pca_components(Some(6))
            .l2_normalize(true)
            .check()
            .unwrap();
        let a = params.fit(data.view()).unwrap();
        let b = params.fit(data.view()).unwrap();
        assert_eq!(a, b, "{init:?}");
    }
}

#[test]
fn tokens_are_nearest_centroids_after_transform() {
    let (tokenizer, data) = v2_like_tokenizer();
    let x = tokenizer.transform(data.view()).unwrap();
    let norms: Vec<f32> = x.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
    assert!(
        norms.iter().all(|n| (n - 1.0).abs() < 1e-5),
        "rows are not unit length"
    );
    let result = tokenizer.quantize_with_distances(data.view()).unwrap();
    let c = tokenizer.codebook().centroids();
    for (i, row) in x.rows().into_iter().enumerate() {
        let exact: Vec<f64> = c
            .rows()
            .into_iter()
            .map(|cr| {
                row.iter()
                    .zip(cr)
                    .map(|(a, b)| f64::from(a - b).powi(2))
                    .sum()
            })
            .collect();
        let best = exact.iter().cloned().fold(f64::INFINITY, f64::min);
        let got = exact[result.tokens[i] as usize];
        assert!(
            got - best <= 1e-6,
            "row {i}: token {} at {got}, best {best}",
            result.tokens[i]
        );
        assert!(
            (f64::from(result.distances[i]) - got).abs() < 1e-5,
            "row {i} distance"
        );
    }
}

#[test]
fn codebook_quantizer_matches_tokenizer_without_steps() {
    let data = frames(500, 3, 7);
    let codebook = Codebook::new(frames(20, 3, 8)).unwrap();
    let tokenizer = Tokenizer::new(None, false, codebook.clone()).unwrap();
    assert_eq!(
        codebook.quantize(data.view()).unwrap(),
        tokenizer.quantize(data.view()).unwrap()
    );
}

/// A tokenizer file written by format version 1, committed so that a format change that
/// breaks reading old files fails here. Regenerate with `STSG_WRITE_GOLDEN=1 cargo test`.
#[test]
fn golden_v1_file_still_loads() {
    let path = testdata("tokenizer_v1.stsg");
    let data = Array2::from_shape_fn((64, 4), |(i, f)| ((i * 7 + f * 3) % 11) as f32 - 5.0);
    if std::env::var_os("STSG_WRITE_GOLDEN").is_some() {
        let params = TokenizerParams::new(KMeansParams::new(3).n_iter(4))
            .pca_components(Some(2))
            .l2_normalize(true)
            .check()
            .unwrap();
        params.fit(data.view()).unwrap().save(&path).unwrap();
    }
    let tokenizer = Tokenizer::load(&path).unwrap();
    assert_eq!(tokenizer.n_features(), 4);
    assert_eq!(tokenizer.n_tokens(), 3);
    assert!(tokenizer.l2_normalize());
    assert_eq!(tokenizer.pca().unwrap().n_components(), 2);
    let params = tokenizer.params().unwrap();
    assert_eq!(params.kmeans.k, 3);
    assert_eq!(params.pca_components, Some(2));
    let tokens = tokenizer.quantize(data.view()).unwrap();
    assert_eq!(tokens.len(), 64);
    assert!(tokens.iter().all(|&t| t < 3), "{tokens:?}");
    for t in 0..3 {
        assert!(tokens.contains(&t), "token {t} is never used: {tokens:?}");
    }
}
