//! Whole-file decoding and probing.

use std::path::Path;

use crate::source::{DecodeIssues, Source};
use crate::{AudioError, AudioStream};

/// Description of a file's audio track from its headers, at the file's own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// Sample rate of the file in Hz.
    pub sample_rate: u32,
    /// Number of channels in the file.
    pub channels: usize,
    /// Number of frames (samples per channel) without encoder delay and padding, when the
    /// container states it.
    pub frames: Option<u64>,
    /// `frames / sample_rate` in seconds, when `frames` is known.
    pub duration_s: Option<f64>,
    /// Short name of the codec, as Symphonia calls it (`"vorbis"`, `"flac"`, `"mp3"`, `"pcm_s16le"`, ...).
    pub codec: String,
}

/// A whole file decoded to mono.
#[derive(Debug, Clone, PartialEq)]
pub struct Waveform {
    /// Mono samples (the mean of the channels), not clipped: lossy codecs can exceed ±1.
    pub samples: Vec<f32>,
    /// Sample rate of `samples` in Hz (the requested target rate).
    pub sample_rate: u32,
    /// The file's own description, before downmix and resampling.
    pub info: AudioInfo,
    /// Problems recovered from while decoding: skipped packets, lost frames, truncation.
    pub issues: DecodeIssues,
}

impl Waveform {
    /// Length in seconds.
    pub fn duration_s(&self) -> f64 {
        self.samples.len() as f64 / f64::from(self.sample_rate)
    }

    /// Largest absolute sample value, 0 for an empty signal.
    pub fn peak(&self) -> f32 {
        self.samples
            .iter()
            .fold(0.0f32, |peak, s| peak.max(s.abs()))
    }

    /// Root mean square of the samples, 0 for an empty signal.
    pub fn rms(&self) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let sum: f64 = self
            .samples
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        (sum / self.samples.len() as f64).sqrt()
    }
}

/// A whole file decoded with its channels kept apart, at the file's own sample rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelWaveform {
    /// One vector of samples per channel, all of the same length.
    pub channels: Vec<Vec<f32>>,
    /// Sample rate in Hz (the file's).
    pub sample_rate: u32,
    /// The file's description.
    pub info: AudioInfo,
    /// Problems recovered from while decoding: skipped packets, lost frames, truncation.
    pub issues: DecodeIssues,
}

/// Reads the headers of `path` and describes its default audio track without decoding any
/// audio.
///
/// # Errors
/// [`AudioError::NotFound`], [`AudioError::IsDirectory`], [`AudioError::EmptyFile`] and
/// [`AudioError::Io`] for the path; [`AudioError::UnsupportedFormat`],
/// [`AudioError::NoAudioTrack`], [`AudioError::UnsupportedCodec`],
/// [`AudioError::InvalidSourceRate`] and [`AudioError::Decode`] for the content.
pub fn probe(path: &Path) -> Result<AudioInfo, AudioError> {
    Source::open(path).map(|source| source.info().clone())
}

/// Decodes the whole of `path` to mono at `target_rate` Hz.
///
/// The channels are averaged; the signal is resampled only when the file's rate differs from
/// `target_rate`, to `round(frames * target_rate / file_rate)` samples. Memory is that of the
/// output plus one packet; use [`AudioStream`] for recordings too long to hold.
///
/// # Errors
/// The errors of [`probe`] and of [`AudioStream::next_chunk`], and
/// [`AudioError::InvalidTargetRate`].
pub fn decode_file(path: &Path, target_rate: u32) -> Result<Waveform, AudioError> {
    let stream = AudioStream::open(path, target_rate, usize::MAX)?;
    let (samples, info, issues) = stream.read_to_end()?;
    if !issues.is_clean() {
        log::warn!(
            "audio: decoded {} with problems: skipped_packets={} truncated={}",
            path.display(),
            issues.skipped_packets,
            issues.truncated
        );
    }
    Ok(Waveform {
        samples,
        sample_rate: target_rate,
        info,
        issues,
    })
}

/// Decodes the whole of `path` at its own sample rate, keeping the channels apart.
///
/// # Errors
/// The errors of [`probe`], and [`AudioError::Decode`] when a packet's channel count differs
/// from the track header's.
pub fn decode_file_channels(path: &Path) -> Result<ChannelWaveform, AudioError> {
    let mut source = Source::open(path)?;
    let n_channels = source.info().channels;
    let mut channels = vec![Vec::new(); n_channels];
    let mut planes = Vec::new();
    while source.next_block(&mut planes)? {
        if planes.len() != n_channels {
            return Err(AudioError::Decode {
                path: path.to_path_buf(),
                reason: format!(
                    "a packet has {} channels, the track header {n_channels}",
                    planes.len()
                ),
            });
        }
        for (channel, plane) in channels.iter_mut().zip(&planes) {
            channel.extend_from_slice(plane);
        }
    }
    Ok(ChannelWaveform {
        channels,
        sample_rate: source.info().sample_rate,
        info: source.info().clone(),
        issues: source.issues(),
    })
}
