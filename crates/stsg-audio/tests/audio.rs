//! Integration tests of stsg-audio: generated signals, the committed fixtures in `testdata/`,
//! and the real recordings of the shared data folder (skipped with a message when absent).

use std::path::{Path, PathBuf};

use stsg_audio::{
    AudioError, AudioStream, DEFAULT_SAMPLE_RATE, decode_file, decode_file_channels, probe,
    write_wav_i16,
};

/// Finds the shared data folder: `STSG_DATA_DIR`, else `shared/data` beside the workspace.
fn data_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("STSG_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    dir.is_dir().then_some(dir)
}

/// Returns the shared data folder, or prints why the calling test is skipped.
fn shared_data_or_skip() -> Option<PathBuf> {
    let dir = data_dir();
    if dir.is_none() {
        eprintln!("skipped: shared data folder not found (set STSG_DATA_DIR)");
    }
    dir
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(name)
}

fn sine_i16(rate: u32, freq: f64, amplitude: f64, frames: usize) -> Vec<i16> {
    (0..frames)
        .map(|i| {
            let phase = 2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate);
            (amplitude * 32768.0 * phase.sin()).round() as i16
        })
        .collect()
}

fn rms(samples: &[f32]) -> f64 {
    let sum: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum();
    (sum / samples.len() as f64).sqrt()
}

/// Times of the upward zero crossings, linearly interpolated, in samples.
fn upward_crossings(samples: &[f32]) -> Vec<f64> {
    samples
        .windows(2)
        .enumerate()
        .filter(|(_, w)| w[0] < 0.0 && w[1] >= 0.0)
        .map(|(i, w)| i as f64 + f64::from(w[0] / (w[0] - w[1])))
        .collect()
}

mod resampling {
    use super::*;

    #[test]
    fn sine_keeps_frequency_level_and_length() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("sine_44k1.wav");
        let frames = 3 * 44_100 + 17;
        let amplitude = 0.5;
        write_wav_i16(
            &path,
            44_100,
            1,
            &sine_i16(44_100, 1000.0, amplitude, frames),
        )
        .expect("write wav");

        let waveform = decode_file(&path, 32_000).expect("decode");
        let samples = &waveform.samples;

        let expected_len = (frames as f64 * 32_000.0 / 44_100.0).round() as i64;
        assert!(
            (samples.len() as i64 - expected_len).abs() <= 1,
            "length {} expected {expected_len}",
            samples.len()
        );

        // Away from the edges, where the signal starts and stops abruptly.
        let middle = &samples[3200..samples.len() - 3200];
        let level_db = 20.0 * (rms(middle) / (amplitude / 2f64.sqrt())).log10();
        assert!(level_db.abs() < 0.1, "level off by {level_db} dB");

        let crossings = upward_crossings(middle);
        let periods = (crossings.len() - 1) as f64;
        let span = crossings[crossings.len() - 1] - crossings[0];
        let freq = periods * 32_000.0 / span;
        assert!((freq - 1000.0).abs() < 0.01, "frequency {freq} Hz");
    }

    #[test]
    fn target_rate_input_is_not_resampled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("noise_32k.wav");
        let samples: Vec<i16> = (0..10_000i32)
            .map(|i| ((i * 7919) % 65_536 - 32_768) as i16)
            .collect();
        write_wav_i16(&path, 32_000, 1, &samples).expect("write wav");

        let waveform = decode_file(&path, 32_000).expect("decode");
        let expected: Vec<f32> = samples.iter().map(|&s| f32::from(s) / 32768.0).collect();
        assert_eq!(waveform.samples, expected);
    }

    #[test]
    fn stream_chunks_equal_whole_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("stereo_48k.wav");
        let left = sine_i16(48_000, 700.0, 0.3, 48_000 + 123);
        let interleaved: Vec<i16> = left.iter().flat_map(|&l| [l, l / 2]).collect();
        write_wav_i16(&path, 48_000, 2, &interleaved).expect("write wav");

        let whole = decode_file(&path, DEFAULT_SAMPLE_RATE).expect("decode");
        for chunk_len in [1000usize, 32_000, 100_000] {
            let mut stream =
                AudioStream::open(&path, DEFAULT_SAMPLE_RATE, chunk_len).expect("open");
            let mut joined = Vec::new();
            let mut lengths = Vec::new();
            while let Some(chunk) = stream.next_chunk().expect("chunk") {
                lengths.push(chunk.len());
                joined.extend(chunk);
            }
            assert!(stream.next_chunk().expect("after end").is_none());
            let (last, full) = lengths.split_last().expect("at least one chunk");
            assert!(
                full.iter().all(|&n| n == chunk_len),
                "chunk_len {chunk_len}: {lengths:?}"
            );
            assert!(
                *last > 0 && *last <= chunk_len,
                "chunk_len {chunk_len}: last {last}"
            );
            assert_eq!(joined, whole.samples, "chunk_len {chunk_len}");
        }
    }
}

mod errors {
    use super::*;

    #[test]
    fn missing_path_is_not_found() {
        let path = Path::new("/nonexistent/stsg/recording.ogg");
        let err = decode_file(path, 32_000).expect_err("missing file");
        assert!(matches!(err, AudioError::NotFound { .. }), "{err}");
        assert!(
            err.to_string().contains("/nonexistent/stsg/recording.ogg"),
            "{err}"
        );
    }

    #[test]
    fn directory_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = probe(dir.path()).expect_err("directory");
        assert!(matches!(err, AudioError::IsDirectory { .. }), "{err}");
    }

    #[test]
    fn empty_file_is_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("empty.wav");
        std::fs::write(&path, b"").expect("write");
        let err = decode_file(&path, 32_000).expect_err("empty file");
        assert!(matches!(err, AudioError::EmptyFile { .. }), "{err}");
        assert!(err.to_string().contains("empty.wav"), "{err}");
    }

    #[test]
    fn text_file_is_unsupported_format() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("notes.ogg");
        std::fs::write(&path, "this is not audio\n".repeat(100)).expect("write");
        let err = decode_file(&path, 32_000).expect_err("text file");
        assert!(matches!(err, AudioError::UnsupportedFormat { .. }), "{err}");
        assert!(err.to_string().contains("notes.ogg"), "{err}");
    }

    #[test]
    fn video_only_file_has_no_audio_track() {
        let path = testdata("video_only.mkv");
        let err = probe(&path).expect_err("no audio track");
        assert!(matches!(err, AudioError::NoAudioTrack { .. }), "{err}");
        assert!(err.to_string().contains("video_only.mkv"), "{err}");
    }

    #[test]
    fn opus_is_unsupported_codec() {
        let path = testdata("opus_48k_mono.ogg");
        let err = decode_file(&path, 32_000).expect_err("opus");
        assert!(matches!(err, AudioError::UnsupportedCodec { .. }), "{err}");
        assert!(err.to_string().contains("opus_48k_mono.ogg"), "{err}");
    }

    #[test]
    fn wav_header_without_data_is_corrupt() {
        // A RIFF/WAVE header whose `fmt ` chunk is cut short.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cut_header.wav");
        std::fs::write(
            &path,
            b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00",
        )
        .expect("write");
        let err = decode_file(&path, 32_000).expect_err("cut header");
        assert!(matches!(err, AudioError::Decode { .. }), "{err}");
    }

    #[test]
    fn invalid_arguments_are_rejected() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("short.wav");
        write_wav_i16(&path, 32_000, 1, &[0; 100]).expect("write wav");

        let err = decode_file(&path, 0).expect_err("zero rate");
        assert!(
            matches!(err, AudioError::InvalidTargetRate { rate: 0 }),
            "{err}"
        );
        let err = AudioStream::open(&path, 32_000, 0)
            .err()
            .expect("zero chunk");
        assert!(matches!(err, AudioError::InvalidChunkLen), "{err}");
    }
}

mod aac {
    use super::*;

    /// FFmpeg's decoding of a fixture, from `testdata/aac_reference.csv`.
    fn reference(file: &str) -> (usize, f32) {
        let text = std::fs::read_to_string(testdata("aac_reference.csv")).expect("read reference");
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{file},")))
            .unwrap_or_else(|| panic!("{file} missing from aac_reference.csv"));
        let fields: Vec<&str> = line.split(',').collect();
        (
            fields[1].parse().expect("frames"),
            fields[2].parse().expect("peak"),
        )
    }

    fn peak(channels: &[Vec<f32>]) -> f32 {
        channels
            .iter()
            .flatten()
            .fold(0.0f32, |p, s| p.max(s.abs()))
    }

    #[test]
    fn m4a_decodes_with_priming_frames() {
        let (ffmpeg_frames, ffmpeg_peak) = reference("aac_44k1_stereo.m4a");
        let decoded = decode_file_channels(&testdata("aac_44k1_stereo.m4a")).expect("decode");
        assert_eq!(decoded.sample_rate, 44_100);
        assert_eq!(decoded.channels.len(), 2);
        // FFmpeg drops the 1024 priming frames at the start. Symphonia 0.6.1 lists no gapless
        // support for ISO/MP4 in its format table and keeps them.
        assert_eq!(decoded.channels[0].len(), ffmpeg_frames + 1024);
        let peak = peak(&decoded.channels);
        assert!(
            (peak - ffmpeg_peak).abs() < 1e-4,
            "peak {peak}, ffmpeg {ffmpeg_peak}"
        );

        let [left, right] = &decoded.channels[..] else {
            unreachable!("two channels checked above")
        };
        // The encoder (64 kbit/s) moves the ratio a little away from the 0.6 it was given.
        let ratio = dot(left, right) / dot(left, left);
        assert!((ratio - 0.6).abs() < 0.05, "right/left {ratio}");
    }

    #[test]
    fn adts_matches_ffmpeg() {
        let (ffmpeg_frames, ffmpeg_peak) = reference("aac_44k1_mono.aac");
        let decoded = decode_file_channels(&testdata("aac_44k1_mono.aac")).expect("decode");
        assert_eq!(decoded.sample_rate, 44_100);
        assert_eq!(decoded.channels[0].len(), ffmpeg_frames);
        let peak = peak(&decoded.channels);
        assert!(
            (peak - ffmpeg_peak).abs() < 1e-4,
            "peak {peak}, ffmpeg {ffmpeg_peak}"
        );

        let waveform = decode_file(&testdata("aac_44k1_mono.aac"), 32_000).expect("decode");
        let expected = (ffmpeg_frames as f64 * 32_000.0 / 44_100.0).round() as usize;
        assert_eq!(waveform.samples.len(), expected);
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

mod shared_data {
    use super::*;

    struct ManifestRow {
        file: String,
        codec: String,
        sample_rate: u32,
        channels: usize,
        frames: u64,
        peak: f64,
    }

    /// Splits one CSV line, honouring double quotes (the manifest quotes fields with commas).
    fn split_csv_line(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(String::new()),
                _ => fields.last_mut().expect("one field").push(c),
            }
        }
        fields
    }

    fn read_manifest(dir: &Path) -> Vec<ManifestRow> {
        let text = std::fs::read_to_string(dir.join("manifest.csv")).expect("read manifest");
        let mut lines = text.lines();
        let header = split_csv_line(lines.next().expect("header"));
        let column = |name: &str| header.iter().position(|h| h == name).expect(name);
        let (file, codec, rate, channels, frames, peak) = (
            column("file"),
            column("codec"),
            column("sample_rate"),
            column("channels"),
            column("ffmpeg_decoded_frames"),
            column("ffmpeg_peak"),
        );
        lines
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let f = split_csv_line(line);
                ManifestRow {
                    file: f[file].clone(),
                    codec: f[codec].clone(),
                    sample_rate: f[rate].parse().expect("rate"),
                    channels: f[channels].parse().expect("channels"),
                    frames: f[frames].parse().expect("frames"),
                    peak: f[peak].parse().expect("peak"),
                }
            })
            .collect()
    }

    #[test]
    fn formats_match_manifest() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let dir = data.join("formats");
        let rows = read_manifest(&dir);
        assert_eq!(rows.len(), 8, "manifest rows");
        for row in rows {
            let path = dir.join(&row.file);
            let decoded = decode_file_channels(&path).unwrap_or_else(|e| panic!("{e}"));
            let name = &row.file;
            assert_eq!(decoded.sample_rate, row.sample_rate, "{name}: sample rate");
            assert_eq!(decoded.channels.len(), row.channels, "{name}: channels");
            assert!(decoded.issues.is_clean(), "{name}: {:?}", decoded.issues);

            // Symphonia 0.6 trims the MP3 encoder delay and padding given by the LAME tag, but
            // only when the tag's CRC is valid. The CBR file was cut by stream copy, which
            // rewrote its Info frame count and left a stale CRC, so Symphonia ignores the tag
            // and keeps the 576 + 529 delay frames that FFmpeg drops.
            let extra_frames = match name.as_str() {
                "mp3_48k_mono_cbr320_xc563936.mp3" => 576 + 529,
                _ => 0,
            };
            let frames = decoded.channels[0].len() as u64;
            assert_eq!(
                frames,
                row.frames + extra_frames,
                "{name} ({}): decoded frames",
                row.codec
            );

            let info = probe(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(info.sample_rate, row.sample_rate, "{name}: probed rate");
            assert_eq!(info.channels, row.channels, "{name}: probed channels");
            assert_eq!(info.frames, Some(frames), "{name}: probed frames");

            let peak = decoded
                .channels
                .iter()
                .flatten()
                .fold(0.0f32, |p, s| p.max(s.abs()));
            let lossy = row.codec.contains("MP3") || row.codec.contains("Vorbis");
            let tolerance = if lossy { 0.01 } else { 1e-4 };
            assert!(
                (f64::from(peak) - row.peak).abs() < tolerance,
                "{name}: peak {peak}, ffmpeg {}",
                row.peak
            );
        }
    }

    #[test]
    fn stereo_right_is_0_6_left() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let dir = data.join("formats");
        let files = [
            ("flac_96k_stereo_s24.flac", 1e-3),
            ("wav_s24_stereo_48k.wav", 1e-3),
            ("wav_s16_stereo_22k05.wav", 1e-3),
            ("mp3_44k1_stereo_vbr.mp3", 0.1),
        ];
        for (name, max_residual) in files {
            let decoded = decode_file_channels(&dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
            let [left, right] = &decoded.channels[..] else {
                panic!("{name}: {} channels", decoded.channels.len())
            };
            let ratio = dot(left, right) / dot(left, left);
            assert!((ratio - 0.6).abs() < 0.002, "{name}: right/left {ratio}");

            let residual: Vec<f32> = left.iter().zip(right).map(|(l, r)| r - 0.6 * l).collect();
            let relative = rms(&residual) / rms(right);
            assert!(
                relative < max_residual,
                "{name}: residual {relative} of the right channel"
            );
        }
    }

    #[test]
    fn vorbis_at_32k_passes_through() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let path = data.join("formats/ogg_vorbis_32k_mono.ogg");
        let mono = decode_file(&path, DEFAULT_SAMPLE_RATE).unwrap_or_else(|e| panic!("{e}"));
        let channels = decode_file_channels(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mono.samples, channels.channels[0]);
        // Vorbis overshoots full scale in this file; the samples are kept as decoded.
        assert!(mono.peak() > 1.0, "peak {}", mono.peak());
    }

    #[test]
    fn resampled_formats_have_expected_length() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let dir = data.join("formats");
        for row in read_manifest(&dir) {
            let waveform = decode_file(&dir.join(&row.file), DEFAULT_SAMPLE_RATE)
                .unwrap_or_else(|e| panic!("{e}"));
            let frames = waveform.info.frames.expect("frames in header");
            let expected = (frames as f64 * 32_000.0 / f64::from(row.sample_rate)).round();
            assert_eq!(waveform.samples.len() as f64, expected, "{}", row.file);
        }
    }

    #[test]
    fn all_birdclef_mini_recordings_decode() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let root = data.join("birdclef-mini");
        let mut files = Vec::new();
        for split in ["train_audio", "holdout_audio"] {
            for species in std::fs::read_dir(root.join(split)).expect("read split") {
                let species = species.expect("entry").path();
                for file in std::fs::read_dir(&species).expect("read species") {
                    files.push(file.expect("entry").path());
                }
            }
        }
        files.sort();
        assert_eq!(
            files.len(),
            225,
            "recordings found under {}",
            root.display()
        );

        // Two threads, one per core of the reference machine.
        let (first, second) = files.split_at(files.len() / 2);
        std::thread::scope(|scope| {
            for part in [first, second] {
                scope.spawn(move || {
                    for path in part {
                        let waveform = decode_file(path, DEFAULT_SAMPLE_RATE)
                            .unwrap_or_else(|e| panic!("{e}"));
                        let name = path.display();
                        assert_eq!(waveform.info.sample_rate, 32_000, "{name}");
                        assert!(waveform.issues.is_clean(), "{name}: {:?}", waveform.issues);
                        assert_eq!(
                            Some(waveform.samples.len() as u64),
                            waveform.info.frames,
                            "{name}: decoded vs header frames"
                        );
                        assert!(
                            waveform.duration_s() > 3.0,
                            "{name}: {} s",
                            waveform.duration_s()
                        );
                        assert!(waveform.rms() > 0.0, "{name}: silent");
                    }
                });
            }
        });
    }
}

mod no_panic {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;

    /// Decodes `path` through every entry point and fails the test, naming `case`, on a panic.
    fn assert_no_panic(path: &Path, case: &str) {
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let _ = probe(path);
            let _ = decode_file_channels(path);
            if let Ok(mut stream) = AudioStream::open(path, 16_000, 4096) {
                while let Ok(Some(_)) = stream.next_chunk() {}
            }
        }));
        assert!(outcome.is_ok(), "decoding panicked on {case}");
    }

    #[test]
    fn random_bytes_do_not_panic() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(20_260_104);
        let sizes = [
            1usize, 2, 3, 4, 8, 12, 16, 44, 45, 64, 100, 512, 1000, 4096, 10_000, 65_536,
        ];
        for extension in ["wav", "ogg", "mp3", "flac", "m4a", "bin"] {
            for &size in &sizes {
                let mut bytes = vec![0u8; size];
                rng.fill(&mut bytes[..]);
                let path = dir.path().join(format!("random_{size}.{extension}"));
                std::fs::write(&path, &bytes).expect("write");
                assert_no_panic(&path, &format!("{size} random bytes named .{extension}"));
            }
        }
    }

    #[test]
    fn random_bytes_after_real_headers_do_not_panic() {
        // Valid magic numbers followed by noise reach deeper into each reader.
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let magics: [&[u8]; 6] = [
            b"RIFF\xff\xff\x00\x00WAVEfmt ",
            b"OggS\x00\x02",
            b"fLaC",
            b"ID3\x03\x00",
            b"\xff\xfb\x90\x64",
            b"\x00\x00\x00\x20ftypM4A ",
        ];
        for (index, magic) in magics.iter().enumerate() {
            for size in [16usize, 100, 1000, 20_000] {
                let mut bytes = magic.to_vec();
                let start = bytes.len();
                bytes.resize(start + size, 0);
                rng.fill(&mut bytes[start..]);
                let path = dir.path().join(format!("magic_{index}_{size}.bin"));
                std::fs::write(&path, &bytes).expect("write");
                assert_no_panic(&path, &format!("magic {index} + {size} random bytes"));
            }
        }
    }

    /// Cuts `source` at 40 offsets spread over the file (denser near the start, where the
    /// headers are) and flips bytes at 20 offsets, decoding every variant.
    fn cut_and_corrupt(source: &Path) {
        let bytes = std::fs::read(source).expect("read source");
        let name = source
            .file_name()
            .expect("file name")
            .to_string_lossy()
            .to_string();
        let extension = source.extension().and_then(|e| e.to_str()).unwrap_or("bin");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(format!("variant.{extension}"));

        let len = bytes.len();
        let mut offsets: Vec<usize> = (0..20).map(|i| i * i * 4).collect();
        offsets.extend((1..=20).map(|i| i * len / 21));
        for offset in offsets.into_iter().filter(|&o| o < len) {
            std::fs::write(&path, &bytes[..offset]).expect("write");
            assert_no_panic(&path, &format!("{name} cut at byte {offset}"));
        }

        let mut rng = Xoshiro256PlusPlus::seed_from_u64(len as u64);
        for _ in 0..20 {
            let mut damaged = bytes.clone();
            let at = rng.random_range(0..len);
            let span = rng.random_range(1..64).min(len - at);
            rng.fill(&mut damaged[at..at + span]);
            std::fs::write(&path, &damaged).expect("write");
            assert_no_panic(&path, &format!("{name} with {span} random bytes at {at}"));
        }
    }

    #[test]
    fn cut_and_damaged_files_do_not_panic() {
        let mut sources = vec![
            testdata("aac_44k1_stereo.m4a"),
            testdata("aac_44k1_mono.aac"),
        ];
        match data_dir() {
            Some(data) => sources.extend(
                [
                    "ogg_vorbis_32k_mono.ogg",
                    "flac_96k_stereo_s24.flac",
                    "wav_s24_stereo_48k.wav",
                    "wav_s16_mono_32k_audiomoth.wav",
                    "mp3_44k1_stereo_vbr.mp3",
                    "mp3_48k_mono_cbr320_xc563936.mp3",
                ]
                .map(|name| data.join("formats").join(name)),
            ),
            None => eprintln!("shared data folder not found: cutting the committed fixtures only"),
        }
        for source in sources {
            cut_and_corrupt(&source);
        }
    }

    #[test]
    fn damaged_pages_are_counted_as_lost() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        for name in ["ogg_vorbis_32k_mono.ogg", "flac_96k_stereo_s24.flac"] {
            let original = data.join("formats").join(name);
            let frames = probe(&original).expect("probe").frames.expect("frames");
            let mut bytes = std::fs::read(&original).expect("read");
            let middle = bytes.len() / 2;
            for byte in &mut bytes[middle..middle + 200] {
                *byte = byte.wrapping_mul(31).wrapping_add(7);
            }
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");

            let decoded = decode_file_channels(&path).unwrap_or_else(|e| panic!("{e}"));
            let issues = decoded.issues;
            assert!(issues.lost_frames >= 1000, "{name}: {issues:?}");
            assert_eq!(
                decoded.channels[0].len() as u64 + issues.lost_frames,
                frames,
                "{name}: decoded plus lost frames"
            );
        }
    }

    #[test]
    fn truncated_flac_is_flagged() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let bytes = std::fs::read(data.join("formats/flac_96k_stereo_s24.flac")).expect("read");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("half.flac");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");

        let waveform = decode_file(&path, DEFAULT_SAMPLE_RATE).expect("decodable prefix");
        assert!(waveform.issues.truncated, "{:?}", waveform.issues);
        let seconds = waveform.duration_s();
        assert!(
            (2.0..3.0).contains(&seconds),
            "{seconds} s of a 5 s file cut in half"
        );
    }

    #[test]
    fn truncated_vorbis_keeps_prefix() {
        let Some(data) = shared_data_or_skip() else {
            return;
        };
        let bytes = std::fs::read(data.join("formats/ogg_vorbis_32k_mono.ogg")).expect("read");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("half.ogg");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("write");

        let waveform = decode_file(&path, DEFAULT_SAMPLE_RATE).expect("decodable prefix");
        assert!(waveform.issues.truncated, "{:?}", waveform.issues);
        let seconds = waveform.duration_s();
        assert!(
            (1.5..2.5).contains(&seconds),
            "{seconds} s of a 5 s file cut in half"
        );
    }
}
