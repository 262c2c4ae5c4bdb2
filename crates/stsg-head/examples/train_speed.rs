//! Times one training run at the size of BirdCLEF 2025 `train_audio` with the v2 preset:
//! 190 000 windows x 1024 features x 206 classes, synthetic data, default params.
//!
//! Run with `cargo run --release -p stsg-head --example train_speed [rows features classes
//! [max_iter]]`; without arguments it uses the size above and the default `max_iter` of 100.
//! The data: each window has a primary class drawn with Zipf-like frequencies (so some classes
//! are rare), a secondary class with probability 0.1, and features made of the class centres,
//! correlated noise of rank 16 and independent noise.

use std::time::Instant;

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use stsg_core::{Fit, Head, HeadDataset, LabelSet};
use stsg_head::{HeadParams, metrics};

fn synthetic(n: usize, d: usize, c: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    // Centres this small against unit-scale noise keep the classes overlapping, so the
    // training-set macro ROC-AUC stays below 1 and the fit is not a separable problem.
    let centres = Array2::from_shape_fn((c, d), |_| 0.08 * (rng.random::<f32>() - 0.5));
    let mixing = Array2::from_shape_fn((16, d), |_| rng.random::<f32>() - 0.5);
    // Zipf-like class frequencies: class k has weight 1 / (k + 1).
    let weights: Vec<f64> = (0..c).map(|k| 1.0 / (k as f64 + 1.0)).collect();
    let total: f64 = weights.iter().sum();
    let cumulative: Vec<f64> = weights
        .iter()
        .scan(0.0, |acc, w| {
            *acc += w / total;
            Some(*acc)
        })
        .collect();
    let draw = |u: f64| cumulative.partition_point(|&p| p < u).min(c - 1);

    let mut x = Array2::<f32>::zeros((n, d));
    let mut y = Array2::<f32>::zeros((n, c));
    x.axis_chunks_iter_mut(Axis(0), 4096)
        .into_par_iter()
        .zip(y.axis_chunks_iter_mut(Axis(0), 4096))
        .enumerate()
        .for_each(|(chunk, (mut xs, mut ys))| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed.wrapping_add(chunk as u64 + 1));
            for (mut row, mut target) in xs.rows_mut().into_iter().zip(ys.rows_mut()) {
                let primary = draw(rng.random());
                target[primary] = 1.0;
                let mut classes = vec![primary];
                if rng.random::<f32>() < 0.1 {
                    let secondary = draw(rng.random());
                    target[secondary] = 1.0;
                    classes.push(secondary);
                }
                let latent: Vec<f32> = (0..16).map(|_| rng.random::<f32>() - 0.5).collect();
                for (j, v) in row.iter_mut().enumerate() {
                    let signal: f32 = classes.iter().map(|&k| centres[[k, j]]).sum();
                    let correlated: f32 = (0..16).map(|r| latent[r] * mixing[[r, j]]).sum();
                    *v = signal + correlated + 2.0 * (rng.random::<f32>() - 0.5);
                }
            }
        });
    (x, y)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let (n, d, c, max_iter) = match args[..] {
        [n, d, c, max_iter] => (n, d, c, max_iter),
        [n, d, c] => (n, d, c, 100),
        [] => (190_000, 1024, 206, 100),
        _ => return Err("usage: train_speed [rows features classes [max_iter]]".into()),
    };
    println!("threads: {}", rayon::current_num_threads());

    let start = Instant::now();
    let (x, y) = synthetic(n, d, c, 2025);
    println!(
        "synthetic data {n} x {d}, {c} classes: {:.1} s",
        start.elapsed().as_secs_f64()
    );

    let labels = LabelSet::new((0..c).map(|k| format!("species{k:03}")))?;
    let params = HeadParams::new().max_iter(max_iter);
    println!("params: {params:?}");
    let start = Instant::now();
    let head = params.check()?.fit(HeadDataset {
        features: x.view(),
        targets: y.view(),
        labels: &labels,
    })?;
    let train_s = start.elapsed().as_secs_f64();
    let summary = head.training_summary();
    println!(
        "training: {train_s:.1} s, {} iterations, converged {}, objective {:.6}, max |gradient| {:.2e}",
        summary.iterations, summary.converged, summary.objective, summary.max_gradient
    );

    let start = Instant::now();
    let scores = head.predict(x.view())?;
    let predict_s = start.elapsed().as_secs_f64();
    println!(
        "prediction of the {n} training windows: {predict_s:.2} s ({:.0} windows/s)",
        n as f64 / predict_s
    );
    let auc = metrics::macro_roc_auc(y.view(), scores.view())?;
    println!(
        "training-set macro ROC-AUC {:.4} over {} classes",
        auc.macro_auc, auc.n_scored
    );
    Ok(())
}
