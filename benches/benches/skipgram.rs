//! Benchmark of skip-gram training: one epoch at the STSG settings (dim 256, window 80,
//! negative 5, shrinking windows) on a fixed corpus of 20 one-minute files (479 tokens each)
//! over 1024 token ids with Zipf-like frequencies, on 1 and 2 threads.
//!
//! Run with `cargo bench -p stsg-benches --bench skipgram -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stsg_pipeline::core::{Fit, TokenCorpus};
use stsg_pipeline::skipgram::SkipGramParams;

const N_TOKENS: usize = 1024;

/// Token sequences drawn from a Zipf-like distribution (weight `1 / (rank + 1)`) with a
/// fixed 64-bit linear congruential generator.
fn corpus(n_sequences: usize, len: usize) -> Vec<Vec<u32>> {
    let weights: Vec<f64> = (0..N_TOKENS).map(|r| 1.0 / (r + 1) as f64).collect();
    let total: f64 = weights.iter().sum();
    let mut cumulative = Vec::with_capacity(N_TOKENS);
    let mut sum = 0.0;
    for w in &weights {
        sum += w / total;
        cumulative.push(sum);
    }
    let mut state = 0x853c_49e6_748f_ea9bu64;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n_sequences)
        .map(|_| {
            (0..len)
                .map(|_| {
                    cumulative
                        .partition_point(|&c| c < uniform())
                        .min(N_TOKENS - 1) as u32
                })
                .collect()
        })
        .collect()
}

fn bench_epoch(c: &mut Criterion) {
    let sequences = corpus(20, 479);
    let n_tokens: usize = sequences.iter().map(Vec::len).sum();
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens: N_TOKENS,
    };
    let mut group = c.benchmark_group("skipgram_epoch");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n_tokens as u64));
    for threads in [1usize, 2] {
        let params = SkipGramParams::new(256)
            .window(80)
            .negative(5)
            .epochs(1)
            .n_threads(Some(threads))
            .check()
            .expect("valid params");
        group.bench_with_input(
            BenchmarkId::new("dim256_window80_threads", threads),
            &params,
            |b, params| b.iter(|| params.fit(corpus).expect("training succeeds")),
        );
    }
    group.finish();
}

criterion_group!(benches, bench_epoch);
criterion_main!(benches);
