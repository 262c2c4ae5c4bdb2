//! Times k-means training and assignment on the data written by `bench/faiss_kmeans.py`, so the
//! figures sit next to faiss's on identical input.
//!
//! ```text
//! /work/venv/bin/python crates/stsg-quantize/bench/faiss_kmeans.py --data-dir /tmp/stsg-quantize-bench
//! cargo run --release -p stsg-quantize --example kmeans_vs_faiss -- /tmp/stsg-quantize-bench [kmeans|assign|hand] [threads]
//! ```
//!
//! `hand` times a hand-blocked scalar kernel (4 points x 8 centroids, auto-vectorised by the
//! compiler for the default target) against the faer-based assignment, on the first 20,000
//! assign points.

use std::path::Path;
use std::time::Instant;

use ndarray::{Array2, ArrayView2};
use ndarray_npy::read_npy;
use stsg_quantize::{Codebook, KMeansParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("/tmp/stsg-quantize-bench"),
    );
    let only = args.get(2).map(String::as_str).unwrap_or("all");
    let threads: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(2);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()?;

    if only == "all" || only == "kmeans" {
        let x: Array2<f32> = read_npy(dir.join("kmeans_train.npy"))?;
        let (k, iters) = (1024, 20);
        let params = KMeansParams::new(k).n_iter(iters).check()?;
        let mut last = 0.0;
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        let codebook = params.fit_with_progress(x.view(), |p| last = p.inertia)?;
        let (seconds, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu_start);
        let final_inertia: f64 = codebook
            .assign(x.view())?
            .distances
            .iter()
            .map(|&d| f64::from(d))
            .sum();
        println!(
            "{{\"tool\": \"stsg-quantize\", \"task\": \"kmeans\", \"n\": {}, \"d\": {}, \"k\": {k}, \"iters\": {iters}, \"threads\": {threads}, \"seconds\": {seconds:.3}, \"cpu_seconds\": {cpu:.3}, \"last_iteration_inertia\": {last}, \"final_inertia\": {final_inertia}}}",
            x.nrows(),
            x.ncols()
        );
    }

    if only == "all" || only == "assign" {
        let points: Array2<f32> = read_npy(dir.join("assign_points.npy"))?;
        let centroids: Array2<f32> = read_npy(dir.join("assign_centroids.npy"))?;
        let codebook = Codebook::new(centroids.clone())?;
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        let result = codebook.assign(points.view())?;
        let (seconds, cpu) = (start.elapsed().as_secs_f64(), cpu_seconds() - cpu_start);
        let sum: f64 = result.distances.iter().map(|&d| f64::from(d)).sum();
        let agree = match read_npy::<_, ndarray::Array1<i64>>(dir.join("faiss_assign_labels.npy")) {
            Ok(faiss) => {
                let same = faiss
                    .iter()
                    .zip(&result.tokens)
                    .filter(|(a, b)| **a == i64::from(**b))
                    .count();
                format!("{same}")
            }
            Err(_) => "null".to_string(),
        };
        println!(
            "{{\"tool\": \"stsg-quantize\", \"task\": \"assign\", \"n\": {}, \"d\": {}, \"k\": {}, \"threads\": {threads}, \"seconds\": {seconds:.3}, \"cpu_seconds\": {cpu:.3}, \"points_per_second\": {:.0}, \"distance_sum\": {sum}, \"labels_equal_to_faiss\": {agree}}}",
            points.nrows(),
            points.ncols(),
            codebook.k(),
            points.nrows() as f64 / seconds
        );
    }
    if only == "hand" {
        let points: Array2<f32> = read_npy(dir.join("assign_points.npy"))?;
        let centroids: Array2<f32> = read_npy(dir.join("assign_centroids.npy"))?;
        let n = points.nrows().min(20_000);
        let sub = points.slice_axis(ndarray::Axis(0), ndarray::Slice::from(..n));
        let codebook = Codebook::new(centroids.clone())?;
        let start = Instant::now();
        let tokens = codebook.assign_tokens(sub)?;
        let faer_seconds = start.elapsed().as_secs_f64();
        let start = Instant::now();
        let labels = hand_assign(sub, centroids.view());
        let hand_seconds = start.elapsed().as_secs_f64();
        let same = labels.iter().zip(&tokens).filter(|(a, b)| a == b).count();
        println!(
            "{{\"task\": \"assign kernels\", \"n\": {n}, \"faer_seconds\": {faer_seconds:.3}, \"hand_blocked_seconds\": {hand_seconds:.3}, \"labels_equal\": {same}}}"
        );
    }
    Ok(())
}

/// Process CPU time (user + system, all threads) in seconds, from `/proc/self/stat` (Linux;
/// 0 elsewhere). Clock ticks are assumed to be 100 per second, the Linux default.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Nearest centroid with a register-blocked scalar kernel: 4 points x 8 centroids at a time
/// over a transposed (`dim x k`) centroid copy, rows in parallel.
fn hand_assign(points: ArrayView2<'_, f32>, centroids: ArrayView2<'_, f32>) -> Vec<u32> {
    use rayon::prelude::*;
    const PR: usize = 4;
    const CR: usize = 8;
    let (k, dim) = centroids.dim();
    let kp = k.div_ceil(CR) * CR;
    // Transposed and padded; padded centroids get an infinite norm so they never win.
    let mut ct = vec![0f32; dim * kp];
    let mut norms = vec![f32::INFINITY; kp];
    for (j, c) in centroids.rows().into_iter().enumerate() {
        for (f, v) in c.iter().enumerate() {
            ct[f * kp + j] = *v;
        }
        norms[j] = c.dot(&c);
    }
    let points = points.as_standard_layout();
    let x = points.as_slice().expect("C order");
    let mut labels = vec![0u32; points.nrows()];
    labels
        .par_chunks_mut(PR)
        .zip(x.par_chunks(PR * dim))
        .for_each(|(lab, xs)| {
            let rows = lab.len();
            let mut best = [f32::INFINITY; PR];
            let mut best_j = [0u32; PR];
            for j0 in (0..kp).step_by(CR) {
                let mut acc = [[0f32; CR]; PR];
                for f in 0..dim {
                    let c: &[f32; CR] = ct[f * kp + j0..f * kp + j0 + CR].try_into().expect("CR");
                    for r in 0..rows {
                        let xv = xs[r * dim + f];
                        for t in 0..CR {
                            acc[r][t] += xv * c[t];
                        }
                    }
                }
                for r in 0..rows {
                    for t in 0..CR {
                        let v = norms[j0 + t] - 2.0 * acc[r][t];
                        if v < best[r] {
                            best[r] = v;
                            best_j[r] = (j0 + t) as u32;
                        }
                    }
                }
            }
            lab.copy_from_slice(&best_j[..rows]);
        });
    labels
}
