//! Token quantizer: one Lloyd iteration and nearest-centroid assignment at the codebook sizes
//! of the reference tokenizers (d 20 for MFCC frames, d 128 after PCA; K 1024 and 16383).
//!
//! `cargo bench -p stsg-benches --bench quantize -- --warm-up-time 1 --measurement-time 3`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use stsg_pipeline::core::Fit;
use stsg_pipeline::quantize::{Codebook, KMeansParams};

/// Deterministic pseudo-random values in [-1, 1) (a 64-bit LCG), so the benches need no RNG crate.
fn data(rows: usize, dim: usize, seed: u64) -> Array2<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    Array2::from_shape_simple_fn((rows, dim), || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    })
}

/// (dim, k, points): sized so that one iteration takes well under a second on 2 cores.
const CASES: [(usize, usize, usize); 3] = [
    (20, 1024, 200_000),
    (20, 16_383, 32_768),
    (128, 16_383, 16_384),
];

fn assignment(c: &mut Criterion) {
    let mut group = c.benchmark_group("quantize/assign");
    group.sample_size(10);
    for (dim, k, n) in CASES {
        let points = data(n, dim, 1);
        let codebook = Codebook::new(data(k, dim, 2)).expect("finite centroids");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("d{dim}_k{k}_n{n}")),
            &points,
            |b, points| b.iter(|| codebook.assign(points.view()).expect("valid points")),
        );
    }
    group.finish();
}

fn lloyd_iteration(c: &mut Criterion) {
    let mut group = c.benchmark_group("quantize/lloyd_iteration");
    group.sample_size(10);
    for (dim, k, n) in CASES {
        let points = data(n, dim, 3);
        let params = KMeansParams::new(k)
            .n_iter(1)
            .check()
            .expect("valid params");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(format!("d{dim}_k{k}_n{n}")),
            &points,
            |b, points| b.iter(|| params.fit(points.view()).expect("valid points")),
        );
    }
    group.finish();
}

criterion_group!(benches, assignment, lloyd_iteration);
criterion_main!(benches);
