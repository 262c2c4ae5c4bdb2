//! Benchmarks of the Mel frontend on 60 s of generated 32 kHz audio (noise plus two tones): the
//! STSG v1 (128 bands, 20 linear-power "MFCC") and v2 (768 bands in dB) presets, on one thread
//! and on the rayon pool.
//!
//! Throughput is in samples per second, so divide by 32 000 for "x real time".
//! Run with `cargo bench -p stsg-benches --bench mel -- --warm-up-time 1 --measurement-time 3`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stsg_pipeline::mel::MelParams;

/// 60 s at 32 kHz: white noise from a fixed-seed xorshift plus 440 Hz and 3 kHz tones.
fn minute_of_audio() -> Vec<f32> {
    let rate = 32_000.0f32;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..60 * 32_000)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f32 / rate;
            0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 3000.0 * t).sin()
                + 0.05 * noise
        })
        .collect()
}

fn mel(c: &mut Criterion) {
    let samples = minute_of_audio();
    let mut group = c.benchmark_group("mel_60s_32k");
    group.sample_size(20);
    group.throughput(Throughput::Elements(samples.len() as u64));
    for (preset, params) in [("v1", MelParams::paper_v1()), ("v2", MelParams::paper_v2())] {
        let frontend = params.check().expect("preset params are valid").build();
        for (threads, parallel) in [("1_thread", false), ("rayon", true)] {
            let frontend = frontend.clone().with_parallel(parallel);
            group.bench_with_input(BenchmarkId::new(preset, threads), &samples, |b, samples| {
                b.iter(|| frontend.features(samples).expect("finite samples"))
            });
        }
        let frontend = frontend.clone().with_parallel(false);
        group.bench_with_input(
            BenchmarkId::new(preset, "stream_5s_chunks_1_thread"),
            &samples,
            |b, samples| {
                b.iter(|| {
                    let mut stream = frontend.stream();
                    let mut rows = 0;
                    for chunk in samples.chunks(160_000) {
                        rows += stream.push(chunk).expect("finite samples").nrows();
                    }
                    rows + stream.finish().expect("finish").nrows()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, mel);
criterion_main!(benches);
