//! Streaming gives the same rows as whole-signal processing, for any chunk size.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

use ndarray::{Array2, Axis, concatenate};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use stsg_core::Frontend;
use stsg_mel::{MelError, MelFrontend, MelParams};

/// Noise plus two tones and a gap of digital silence, `seconds` long at 32 kHz.
fn signal(seconds: f32, seed: u64) -> Vec<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let n = (seconds * 32_000.0) as usize;
    (0..n)
        .map(|i| {
            if (40_000..52_000).contains(&i) {
                return 0.0;
            }
            let t = i as f32 / 32_000.0;
            0.2 * (2.0 * std::f32::consts::PI * 1234.0 * t).sin()
                + 0.05 * (2.0 * std::f32::consts::PI * 7000.0 * t).sin()
                + 0.01 * rng.random_range(-1.0f32..1.0)
        })
        .collect()
}

fn streamed(frontend: &MelFrontend, samples: &[f32], chunk: usize) -> Array2<f32> {
    let mut stream = frontend.stream();
    let mut parts = Vec::new();
    for piece in samples.chunks(chunk) {
        parts.push(stream.push(piece).unwrap());
    }
    parts.push(stream.finish().unwrap());
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    concatenate(Axis(0), &views).unwrap()
}

fn check_all_chunk_sizes(frontend: &MelFrontend, samples: &[f32]) {
    let whole = frontend.features(samples).unwrap();
    for chunk in [4000, 1000, 3999, 7, 8000, 8001, 100_000] {
        let rows = streamed(frontend, samples, chunk);
        assert_eq!(rows.dim(), whole.dim(), "chunk {chunk}: shape");
        assert!(
            rows == whole,
            "chunk {chunk}: streamed rows differ from whole-signal rows"
        );
    }
}

#[test]
fn stream_equals_whole_signal_v2() {
    let frontend = MelParams::paper_v2().check().unwrap().build();
    check_all_chunk_sizes(&frontend, &signal(6.3, 1));
}

#[test]
fn stream_equals_whole_signal_v1() {
    let frontend = MelParams::paper_v1().check().unwrap().build();
    check_all_chunk_sizes(&frontend, &signal(4.1, 2));
}

#[test]
fn stream_of_short_signal_pads_one_frame() {
    let frontend = MelParams::paper_v2().check().unwrap().build();
    let samples = signal(0.2, 3);
    let whole = frontend.features(&samples).unwrap();
    assert_eq!(whole.nrows(), 1);
    for chunk in [7, 1000, 6400] {
        assert!(
            streamed(&frontend, &samples, chunk) == whole,
            "chunk {chunk}"
        );
    }
}

#[test]
fn empty_signal_gives_no_frames() {
    let frontend = MelParams::paper_v2().check().unwrap().build();
    let features = frontend.process(&[]).unwrap();
    assert_eq!(features.data.dim(), (0, 768));
    let stream = frontend.stream();
    assert_eq!(stream.finish().unwrap().dim(), (0, 768));
}

#[test]
fn frame_count_and_times_follow_reference() {
    let frontend = MelParams::paper_v1().check().unwrap().build();
    let features = frontend.process(&vec![0.0; 1_920_000]).unwrap();
    assert_eq!(features.n_frames(), 479);
    let times = features.times();
    assert_eq!(times[0], 0.125);
    assert_eq!(times[478], 59.875);
}

#[test]
fn parallel_and_serial_outputs_are_identical() {
    let samples = signal(8.0, 4);
    let params = MelParams::paper_v2().check().unwrap();
    let parallel = params.build().features(&samples).unwrap();
    let serial = params
        .build()
        .with_parallel(false)
        .features(&samples)
        .unwrap();
    assert!(parallel == serial);
}

#[test]
fn silence_maps_to_floor_in_db() {
    let frontend = MelParams::paper_v2().check().unwrap().build();
    let features = frontend.features(&vec![0.0; 16_000]).unwrap();
    assert!(
        features.iter().all(|&v| v == -100.0),
        "silence is not -100 dB"
    );
}

#[test]
fn nan_sample_is_reported_with_its_index() {
    let frontend = MelParams::paper_v2().check().unwrap().build();
    let mut samples = signal(1.0, 5);
    samples[12_345] = f32::NAN;
    let err = frontend.features(&samples).unwrap_err();
    assert!(
        matches!(err, MelError::NonFiniteSample { index: 12_345, .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("mel: sample 12345"), "{err}");
}

#[test]
fn stream_rejects_infinite_sample_and_stays_usable() {
    let frontend = MelParams::paper_v2().check().unwrap().build();
    let samples = signal(2.0, 6);
    let mut stream = frontend.stream();
    let first = stream.push(&samples[..10_000]).unwrap();
    let mut bad = samples[10_000..20_000].to_vec();
    bad[5] = f32::INFINITY;
    let err = stream.push(&bad).unwrap_err();
    assert!(
        matches!(err, MelError::NonFiniteSample { index: 10_005, .. }),
        "{err}"
    );
    assert_eq!(stream.samples_seen(), 10_000);

    let rest = stream.push(&samples[10_000..]).unwrap();
    let tail = stream.finish().unwrap();
    let rows = concatenate(Axis(0), &[first.view(), rest.view(), tail.view()]).unwrap();
    assert!(rows == frontend.features(&samples).unwrap());
}
