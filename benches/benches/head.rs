//! Benchmarks of the linear head: inference at the v2 preset's size (1024 features, 206 classes)
//! and a fixed-length training run.
//!
//! Run with `cargo bench -p stsg-benches --bench head -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use stsg_pipeline::core::{Fit, Head, HeadDataset, LabelSet};
use stsg_pipeline::head::{HeadParams, LinearHead};

/// Deterministic pseudo-random values in `[-0.5, 0.5)` (xorshift64*), so the benches need no
/// random-number crate.
fn noise(seed: u64) -> impl FnMut() -> f32 {
    let mut state = seed.max(1);
    move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let bits = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 24) as f32 - 0.5
    }
}

/// Features with a class signal, and one primary class per row.
fn dataset(n: usize, d: usize, c: usize, seed: u64) -> (Array2<f32>, Array2<f32>, LabelSet) {
    let mut next = noise(seed);
    let centres = Array2::from_shape_fn((c, d), |_| next());
    let mut y = Array2::<f32>::zeros((n, c));
    let mut x = Array2::<f32>::zeros((n, d));
    for i in 0..n {
        let k = ((next() + 0.5) * c as f32) as usize % c;
        y[[i, k]] = 1.0;
        for j in 0..d {
            x[[i, j]] = centres[[k, j]] + 2.0 * next();
        }
    }
    let labels = LabelSet::new((0..c).map(|k| format!("class{k}"))).expect("unique labels");
    (x, y, labels)
}

fn train(params: &HeadParams, x: &Array2<f32>, y: &Array2<f32>, labels: &LabelSet) -> LinearHead {
    params
        .check()
        .expect("valid params")
        .fit(HeadDataset {
            features: x.view(),
            targets: y.view(),
            labels,
        })
        .expect("training succeeds")
}

fn inference(c: &mut Criterion) {
    let (d, classes) = (1024, 206);
    let (x, y, labels) = dataset(4096, d, classes, 1);
    let head = train(&HeadParams::new().max_iter(5), &x, &y, &labels);
    let mut group = c.benchmark_group("head/predict");
    for windows in [1024, 16_384] {
        let (input, _, _) = dataset(windows, d, classes, 2);
        group.throughput(Throughput::Elements(windows as u64));
        group.bench_with_input(BenchmarkId::new("1024x206", windows), &input, |b, input| {
            b.iter(|| head.predict(input.view()).expect("valid input"))
        });
    }
    group.finish();
}

fn training(c: &mut Criterion) {
    let (n, d, classes) = (20_000, 256, 50);
    let (x, y, labels) = dataset(n, d, classes, 3);
    // A fixed iteration count (tol far below reach) so every sample does the same work.
    let params = HeadParams::new().max_iter(20).tol(1e-12);
    let mut group = c.benchmark_group("head/train");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function(
        BenchmarkId::new("20_iterations", format!("{n}x{d}x{classes}")),
        |b| b.iter(|| train(&params, &x, &y, &labels)),
    );
    group.finish();
}

criterion_group!(benches, inference, training);
criterion_main!(benches);
