//! Benchmarks of decoding plus resampling to mono 32 kHz: a real 32 kHz Ogg Vorbis soundscape
//! from the shared data (no resampling, skipped when the data is absent) and a generated 60 s
//! 44.1 kHz stereo 16-bit WAV (downmix and 44.1 -> 32 kHz resampling), whole-file and streamed.
//!
//! Throughput is in source frames per second; divide by the file's sample rate for "x real time".
//! Run with `cargo bench -p stsg-benches --bench audio -- --warm-up-time 1 --measurement-time 3`.

use std::path::{Path, PathBuf};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use stsg_benches::data_dir;
use stsg_pipeline::audio::{AudioStream, DEFAULT_SAMPLE_RATE, decode_file, probe, write_wav_i16};

/// Writes 60 s of a 1 kHz tone plus a slow chirp, 44.1 kHz stereo 16-bit, to a temporary file.
fn generated_wav() -> PathBuf {
    let rate = 44_100u32;
    let frames = 60 * rate as usize;
    let mut samples = Vec::with_capacity(2 * frames);
    for i in 0..frames {
        let t = i as f32 / rate as f32;
        let tone = (2.0 * std::f32::consts::PI * 1000.0 * t).sin();
        let chirp = (2.0 * std::f32::consts::PI * (200.0 + 50.0 * t) * t).sin();
        let left = 0.3 * tone + 0.2 * chirp;
        samples.push((left * 32767.0) as i16);
        samples.push((0.6 * left * 32767.0) as i16);
    }
    let path = std::env::temp_dir().join(format!("stsg-bench-audio-{}.wav", std::process::id()));
    write_wav_i16(&path, rate, 2, &samples).expect("write the generated WAV");
    path
}

fn bench_file(c: &mut Criterion, group_name: &str, label: &str, path: &Path) {
    let info = probe(path).expect("probe bench input");
    let frames = info.frames.expect("bench input states its length");
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(frames));
    group.bench_with_input(BenchmarkId::new("decode_file", label), path, |b, path| {
        b.iter(|| decode_file(path, DEFAULT_SAMPLE_RATE).expect("decode"))
    });
    group.bench_with_input(
        BenchmarkId::new("stream_5s_chunks", label),
        path,
        |b, path| {
            b.iter(|| {
                let mut stream =
                    AudioStream::open(path, DEFAULT_SAMPLE_RATE, 160_000).expect("open");
                let mut samples = 0usize;
                while let Some(chunk) = stream.next_chunk().expect("chunk") {
                    samples += chunk.len();
                }
                samples
            })
        },
    );
    group.finish();
}

fn audio(c: &mut Criterion) {
    match data_dir() {
        Some(data) => {
            let path = data.join("birdclef-mini/train_soundscapes/audiomoth_dawn_chorus_1min.ogg");
            bench_file(c, "audio_vorbis_32k_mono", "dawn_chorus_60s", &path);
        }
        None => eprintln!("audio: shared data folder not found, skipping the Vorbis benchmark"),
    }

    let wav = generated_wav();
    bench_file(c, "audio_wav_44k1_stereo_s16", "generated_60s", &wav);
    let _ = std::fs::remove_file(&wav);
}

criterion_group!(benches, audio);
criterion_main!(benches);
