//! A generated dataset in the BirdCLEF 2025 layout, so the whole pipeline runs without a
//! download.
//!
//! Each synthetic species has its own call shape (steady whistle, up-sweep, down-sweep, pulsed
//! trill, harmonic stack, noise buzz, two-note call, warble) in its own frequency band, with
//! random jitter of pitch, length and level per call. Training and holdout recordings hold calls
//! of one species over coloured noise; soundscapes hold 0 to 2 calls of 1.5 to 3 s per 5 s window,
//! each wholly inside its window, over the same kind of noise, and `test_solution.csv` lists the species of every
//! test window. Audio is written as 16-bit PCM WAV at 32 kHz.
//!
//! The data are only a smoke test of the code path: the species are far easier to separate
//! than real birds, so scores on them say nothing about real accuracy.

use std::f32::consts::PI;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};

use crate::PipelineError;

/// Call shapes, one per species, in species order.
const SHAPES: &[(&str, &str)] = &[
    ("synth_whistle", "steady 2.6 kHz whistle"),
    ("synth_upsweep", "1.5 to 4 kHz up-sweep"),
    ("synth_downsweep", "7 to 4.5 kHz down-sweep"),
    ("synth_trill", "5.5 kHz tone pulsed at 22 Hz"),
    ("synth_harmonic", "700 Hz harmonic stack"),
    ("synth_buzz", "noise band at 9 to 10 kHz"),
    ("synth_twonote", "alternating 3.3 and 2.1 kHz notes"),
    ("synth_warble", "4 kHz tone with 8 Hz vibrato"),
];

/// Size and seed of a synthetic dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticParams {
    /// Number of species, 2 to 8.
    pub n_species: usize,
    /// Training recordings per species.
    pub train_files_per_species: usize,
    /// Holdout recordings per species (0 writes no `holdout.csv`).
    pub holdout_files_per_species: usize,
    /// Length of each training or holdout recording in seconds.
    pub recording_seconds: f32,
    /// Unlabelled training soundscapes.
    pub n_train_soundscapes: usize,
    /// Labelled test soundscapes.
    pub n_test_soundscapes: usize,
    /// Length of each soundscape in seconds; a multiple of 5.
    pub soundscape_seconds: u32,
    /// Sample rate of the WAV files in Hz.
    pub sample_rate: u32,
    /// Random seed.
    pub seed: u64,
}

impl SyntheticParams {
    /// The default dataset: 6 species, 4 training and 1 holdout recording of 15 s each per
    /// species, 4 training and 8 test soundscapes of 60 s, 32 kHz, seed 7 (about 14 minutes
    /// of audio, 55 MB of WAV).
    pub fn new() -> Self {
        Self {
            n_species: 6,
            train_files_per_species: 4,
            holdout_files_per_species: 1,
            recording_seconds: 15.0,
            n_train_soundscapes: 4,
            n_test_soundscapes: 8,
            soundscape_seconds: 60,
            sample_rate: 32_000,
            seed: 7,
        }
    }

    /// A smaller dataset for tests: 4 species, 3 training recordings of 10 s each, 2 training
    /// and 3 test soundscapes of 30 s.
    pub fn tiny() -> Self {
        Self {
            n_species: 4,
            train_files_per_species: 3,
            holdout_files_per_species: 1,
            recording_seconds: 10.0,
            n_train_soundscapes: 2,
            n_test_soundscapes: 3,
            soundscape_seconds: 30,
            ..Self::new()
        }
    }

    fn check(&self) -> Result<(), PipelineError> {
        let invalid = |reason: String| {
            Err(PipelineError::NotEnoughData {
                stage: "synthetic",
                reason,
            })
        };
        if !(2..=SHAPES.len()).contains(&self.n_species) {
            return invalid(format!(
                "n_species = {} must be in 2..={}",
                self.n_species,
                SHAPES.len()
            ));
        }
        if self.train_files_per_species == 0 {
            return invalid("train_files_per_species must be > 0".into());
        }
        if !(self.recording_seconds >= 1.0 && self.recording_seconds.is_finite()) {
            return invalid(format!(
                "recording_seconds = {} must be >= 1",
                self.recording_seconds
            ));
        }
        if self.soundscape_seconds == 0 || !self.soundscape_seconds.is_multiple_of(5) {
            return invalid(format!(
                "soundscape_seconds = {} must be a positive multiple of 5",
                self.soundscape_seconds
            ));
        }
        if self.sample_rate < 22_050 {
            return invalid(format!(
                "sample_rate = {} must be at least 22050 Hz for the 10 kHz calls",
                self.sample_rate
            ));
        }
        Ok(())
    }
}

impl Default for SyntheticParams {
    fn default() -> Self {
        Self::new()
    }
}

/// Writes a synthetic dataset in the BirdCLEF layout into `dir` (created if missing).
///
/// Writes `taxonomy.csv`, `train.csv`, `train_audio/<label>/*.wav`, `holdout.csv`,
/// `holdout_audio/`, `train_soundscapes/`, `test_soundscapes/`, `sample_submission.csv`,
/// `test_solution.csv` and a `SYNTHETIC.txt` note. Logs a warning that the data are synthetic.
///
/// # Errors
/// [`PipelineError::NotEnoughData`] for invalid params, [`PipelineError::Io`] when a file
/// cannot be written.
pub fn generate(dir: &Path, params: &SyntheticParams) -> Result<(), PipelineError> {
    params.check()?;
    log::warn!(
        "synthetic: writing SYNTHETIC data ({} generated species, not real recordings) to {}",
        params.n_species,
        dir.display()
    );
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(params.seed);
    let species = &SHAPES[..params.n_species];
    let sr = params.sample_rate as f32;

    create_dir(dir)?;
    let mut taxonomy =
        String::from("primary_label,inat_taxon_id,scientific_name,common_name,class_name\n");
    for (label, shape) in species {
        taxonomy.push_str(&format!("{label},,{label},{shape},Synthetic\n"));
    }
    write_text(&dir.join("taxonomy.csv"), &taxonomy)?;

    for (csv_name, audio_dir, per_species) in [
        ("train.csv", "train_audio", params.train_files_per_species),
        (
            "holdout.csv",
            "holdout_audio",
            params.holdout_files_per_species,
        ),
    ] {
        if per_species == 0 {
            continue;
        }
        let mut csv = String::from(
            "primary_label,secondary_labels,type,filename,collection,rating,url,latitude,longitude,scientific_name,common_name,author,license\n",
        );
        for (s, (label, shape)) in species.iter().enumerate() {
            create_dir(&dir.join(audio_dir).join(label))?;
            for i in 0..per_species {
                let filename = format!("{label}/{audio_dir}_{i:03}.wav");
                let samples = recording(&mut rng, s, params.recording_seconds, sr);
                write_wav(
                    &dir.join(audio_dir).join(&filename),
                    &samples,
                    params.sample_rate,
                )?;
                csv.push_str(&format!(
                    "{label},[],['call'],{filename},synthetic,5.0,,0,0,{label},{shape},stsg synthetic,CC0\n"
                ));
            }
        }
        write_text(&dir.join(csv_name), &csv)?;
    }

    create_dir(&dir.join("train_soundscapes"))?;
    for i in 0..params.n_train_soundscapes {
        let (samples, _) = soundscape(&mut rng, params.n_species, params.soundscape_seconds, sr);
        let path = dir
            .join("train_soundscapes")
            .join(format!("synth_train_{i:03}.wav"));
        write_wav(&path, &samples, params.sample_rate)?;
    }

    create_dir(&dir.join("test_soundscapes"))?;
    let header: String = std::iter::once("row_id")
        .chain(species.iter().map(|(label, _)| *label))
        .collect::<Vec<_>>()
        .join(",");
    let mut solution = format!("{header}\n");
    let mut sample = format!("{header}\n");
    for i in 0..params.n_test_soundscapes {
        let stem = format!("synth_test_{i:03}");
        let (samples, windows) =
            soundscape(&mut rng, params.n_species, params.soundscape_seconds, sr);
        write_wav(
            &dir.join("test_soundscapes").join(format!("{stem}.wav")),
            &samples,
            params.sample_rate,
        )?;
        for (g, present) in windows.iter().enumerate() {
            let id = crate::submission::row_id(&stem, 5.0 * (g + 1) as f64);
            let truth: Vec<&str> = present.iter().map(|&p| if p { "1" } else { "0" }).collect();
            solution.push_str(&format!("{id},{}\n", truth.join(",")));
            sample.push_str(&format!("{id},{}\n", vec!["0"; params.n_species].join(",")));
        }
    }
    write_text(&dir.join("test_solution.csv"), &solution)?;
    write_text(&dir.join("sample_submission.csv"), &sample)?;
    write_text(
        &dir.join("SYNTHETIC.txt"),
        &format!(
            "SYNTHETIC DATA generated by stsg-pipeline (seed {}). Not real recordings.\n\
             Species are generated call shapes over noise:\n{}",
            params.seed,
            species
                .iter()
                .map(|(l, s)| format!("  {l}: {s}\n"))
                .collect::<String>()
        ),
    )
}

/// One call of `species`, `len` samples at `sr` Hz, peak about 1.
fn call(rng: &mut Xoshiro256PlusPlus, species: usize, len: usize, sr: f32) -> Vec<f32> {
    let jitter = 1.0 + rng.random_range(-0.04f32..0.04);
    let duration = len as f32 / sr;
    let mut phase = 0.0f32;
    let mut noise_state = 0.0f32;
    let mut out = Vec::with_capacity(len);
    for n in 0..len {
        let t = n as f32 / sr;
        let u = t / duration;
        // Instantaneous frequency in Hz and amplitude envelope of each shape.
        let (freq, gate) = match species {
            0 => (2600.0, 1.0),
            1 => (1500.0 + 2500.0 * u, 1.0),
            2 => (7000.0 - 2500.0 * u, 1.0),
            3 => (5500.0, if (t * 22.0).fract() < 0.5 { 1.0 } else { 0.0 }),
            4 => (700.0, 1.0),
            5 => (0.0, 1.0),
            6 => (
                if (t * 4.0).fract() < 0.5 {
                    3300.0
                } else {
                    2100.0
                },
                1.0,
            ),
            _ => (4000.0 + 400.0 * (2.0 * PI * 8.0 * t).sin(), 1.0),
        };
        phase += 2.0 * PI * freq * jitter / sr;
        phase %= 2.0 * PI;
        let tone = match species {
            4 => {
                (1..=5)
                    .map(|h| (h as f32 * phase).sin() / h as f32)
                    .sum::<f32>()
                    * 0.6
            }
            5 => {
                // Narrow noise band: white noise ring-modulated to 9.5 kHz.
                noise_state = 0.7 * noise_state + 0.3 * rng.random_range(-1.0f32..1.0);
                let carrier = (2.0 * PI * 9500.0 * jitter * t).sin();
                3.0 * noise_state * carrier
            }
            _ => phase.sin(),
        };
        // 10 ms raised-cosine fades keep the call edges from clicking.
        let fade = (t.min(duration - t) / 0.01).clamp(0.0, 1.0);
        out.push(tone * gate * (0.5 - 0.5 * (PI * fade).cos()));
    }
    out
}

/// Coloured background noise: white noise through a one-pole low-pass, at `level` RMS.
fn background(rng: &mut Xoshiro256PlusPlus, len: usize, level: f32) -> Vec<f32> {
    let pole = rng.random_range(0.5f32..0.95);
    let mut state = 0.0f32;
    let raw: Vec<f32> = (0..len)
        .map(|_| {
            state = pole * state + (1.0 - pole) * rng.random_range(-1.0f32..1.0);
            state
        })
        .collect();
    let rms = (raw.iter().map(|v| v * v).sum::<f32>() / len.max(1) as f32).sqrt();
    let scale = if rms > 0.0 { level / rms } else { 0.0 };
    raw.into_iter().map(|v| v * scale).collect()
}

/// Adds `call` to `signal` starting at sample `start`, scaled by `gain`.
fn mix(signal: &mut [f32], call: &[f32], start: usize, gain: f32) {
    for (dst, src) in signal[start..].iter_mut().zip(call) {
        *dst += gain * src;
    }
}

/// A focal recording of one species: calls separated by gaps over quiet noise.
fn recording(rng: &mut Xoshiro256PlusPlus, species: usize, seconds: f32, sr: f32) -> Vec<f32> {
    let len = (seconds * sr) as usize;
    let level = rng.random_range(0.01f32..0.04);
    let mut signal = background(rng, len, level);
    let mut pos = (rng.random_range(0.1f32..0.8) * sr) as usize;
    loop {
        let call_len = (rng.random_range(0.4f32..1.2) * sr) as usize;
        if pos + call_len >= len {
            break;
        }
        let c = call(rng, species, call_len, sr);
        mix(&mut signal, &c, pos, rng.random_range(0.2f32..0.6));
        pos += call_len + (rng.random_range(0.3f32..1.5) * sr) as usize;
    }
    signal
}

/// A soundscape and, per 5 s window, which species call in it.
fn soundscape(
    rng: &mut Xoshiro256PlusPlus,
    n_species: usize,
    seconds: u32,
    sr: f32,
) -> (Vec<f32>, Vec<Vec<bool>>) {
    let window = (5.0 * sr) as usize;
    let n_windows = (seconds / 5) as usize;
    let level = rng.random_range(0.01f32..0.04);
    let mut signal = background(rng, window * n_windows, level);
    let mut labels = vec![vec![false; n_species]; n_windows];
    for (g, present) in labels.iter_mut().enumerate() {
        let n_calls = match rng.random_range(0..10) {
            0..=2 => 0,
            3..=7 => 1,
            _ => 2,
        };
        for _ in 0..n_calls {
            let species = rng.random_range(0..n_species);
            let call_len = (rng.random_range(1.5f32..3.0) * sr) as usize;
            let start = g * window + rng.random_range(0..window - call_len);
            let c = call(rng, species, call_len, sr);
            mix(&mut signal, &c, start, rng.random_range(0.15f32..0.5));
            present[species] = true;
        }
    }
    (signal, labels)
}

fn create_dir(path: &Path) -> Result<(), PipelineError> {
    fs::create_dir_all(path).map_err(|e| PipelineError::io(path, e))
}

fn write_text(path: &Path, text: &str) -> Result<(), PipelineError> {
    fs::write(path, text).map_err(|e| PipelineError::io(path, e))
}

/// Writes mono samples as a 16-bit PCM WAV file, clipping to [-1, 1].
///
/// # Errors
/// [`PipelineError::Io`] naming the file.
pub fn write_wav(path: &Path, samples: &[f32], sample_rate: u32) -> Result<(), PipelineError> {
    let data_len = (samples.len() * 2) as u32;
    let mut bytes = Vec::with_capacity(44 + samples.len() * 2);
    bytes.extend_from_slice(b"RIFF");
    bytes.extend_from_slice(&(36 + data_len).to_le_bytes());
    bytes.extend_from_slice(b"WAVEfmt ");
    bytes.extend_from_slice(&16u32.to_le_bytes());
    bytes.extend_from_slice(&1u16.to_le_bytes()); // PCM
    bytes.extend_from_slice(&1u16.to_le_bytes()); // mono
    bytes.extend_from_slice(&sample_rate.to_le_bytes());
    bytes.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&16u16.to_le_bytes());
    bytes.extend_from_slice(b"data");
    bytes.extend_from_slice(&data_len.to_le_bytes());
    for &s in samples {
        let v = (s.clamp(-1.0, 1.0) * 32767.0).round() as i16;
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    let mut file = fs::File::create(path).map_err(|e| PipelineError::io(path, e))?;
    file.write_all(&bytes)
        .map_err(|e| PipelineError::io(path, e))
}

/// The audio files a generated dataset holds below `dir`, for tests.
pub fn wav_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "wav") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Dataset;

    #[test]
    fn tiny_dataset_opens_as_birdclef_layout() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), &SyntheticParams::tiny()).unwrap();
        let data = Dataset::open(dir.path()).unwrap();
        assert_eq!(data.labels.len(), 4);
        assert_eq!(data.train.len(), 12);
        assert_eq!(data.holdout.len(), 4);
        assert_eq!(data.train_soundscapes.len(), 2);
        assert_eq!(data.test_soundscapes.len(), 3);
        assert!(data.sample_submission.is_some());
        let solution =
            crate::submission::Submission::read_csv(data.test_solution.as_ref().unwrap()).unwrap();
        assert_eq!(solution.len(), 3 * 6);
        assert_eq!(solution.row_ids[0], "synth_test_000_5");
        assert!(
            solution.scores.sum() > 0.0,
            "no labelled call in any window"
        );
    }

    #[test]
    fn wav_header_and_length_are_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.wav");
        write_wav(&path, &[0.0, 0.5, -1.5], 32_000).unwrap();
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), 44 + 6);
        assert_eq!(&bytes[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes(bytes[24..28].try_into().unwrap()),
            32_000
        );
        assert_eq!(i16::from_le_bytes(bytes[46..48].try_into().unwrap()), 16384);
        assert_eq!(
            i16::from_le_bytes(bytes[48..50].try_into().unwrap()),
            -32767
        );
    }

    #[test]
    fn same_seed_writes_same_audio() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let params = SyntheticParams {
            n_train_soundscapes: 1,
            n_test_soundscapes: 1,
            ..SyntheticParams::tiny()
        };
        generate(a.path(), &params).unwrap();
        generate(b.path(), &params).unwrap();
        let files = wav_files(a.path());
        assert!(!files.is_empty());
        for file in files {
            let rel = file.strip_prefix(a.path()).unwrap();
            assert_eq!(
                fs::read(&file).unwrap(),
                fs::read(b.path().join(rel)).unwrap(),
                "{rel:?}"
            );
        }
    }

    #[test]
    fn species_count_out_of_range_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        for n in [1, 9] {
            let params = SyntheticParams {
                n_species: n,
                ..SyntheticParams::tiny()
            };
            assert!(
                generate(dir.path(), &params).is_err(),
                "n_species {n} accepted"
            );
        }
    }
}
