//! Helpers shared by the integration tests: fixture loading and tolerance checks.

#![allow(dead_code)]

use std::path::PathBuf;

use ndarray::{Array1, Array2, ArrayView2};
use ndarray_npy::read_npy;

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

pub fn load_f32(name: &str) -> Array2<f32> {
    read_npy(testdata(&format!("{name}.npy"))).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Samples of a generated test signal, stored as int16.
pub fn load_pcm(name: &str) -> Vec<f32> {
    let pcm: Array1<i16> = read_npy(testdata(&format!("{name}.npy")))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    pcm.iter().map(|&v| f32::from(v) / 32768.0).collect()
}

/// A dense filterbank rebuilt from its sparse fixture (runs of first bin and length, values).
pub fn load_filterbank(name: &str, n_bins: usize) -> Array2<f32> {
    let runs: Array2<i32> =
        read_npy(testdata(&format!("fb_{name}_runs.npy"))).expect("runs fixture");
    let values: Array1<f32> =
        read_npy(testdata(&format!("fb_{name}_values.npy"))).expect("values fixture");
    let mut dense = Array2::zeros((runs.nrows(), n_bins));
    let mut next = 0;
    for (m, run) in runs.rows().into_iter().enumerate() {
        let (start, len) = (run[0] as usize, run[1] as usize);
        for j in 0..len {
            dense[[m, start + j]] = values[next + j];
        }
        next += len;
    }
    assert_eq!(
        next,
        values.len(),
        "fixture {name}: runs do not cover the values"
    );
    dense
}

/// Asserts equal shapes and `|got - want| <= tolerance(want, row)` everywhere; returns the
/// largest absolute difference.
pub fn assert_close(
    got: ArrayView2<f32>,
    want: ArrayView2<f32>,
    what: &str,
    tolerance: impl Fn(f32, usize) -> f32,
) -> f32 {
    assert_eq!(got.dim(), want.dim(), "{what}: shape");
    let mut worst = 0f32;
    for ((r, c), &w) in want.indexed_iter() {
        let g = got[[r, c]];
        let diff = (g - w).abs();
        worst = worst.max(diff);
        assert!(
            diff <= tolerance(w, r),
            "{what}: row {r} column {c}: got {g}, expected {w} (difference {diff}, tolerance {})",
            tolerance(w, r)
        );
    }
    worst
}

/// Relative tolerance on power.
pub fn relative(rel: f32) -> impl Fn(f32, usize) -> f32 {
    move |w, _| rel * w.abs()
}

/// Absolute tolerance.
pub fn absolute(abs: f32) -> impl Fn(f32, usize) -> f32 {
    move |_, _| abs
}
