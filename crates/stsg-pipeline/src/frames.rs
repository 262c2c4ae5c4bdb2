//! Streaming one file through the decoder and the Mel frontend in bounded memory.

use std::path::Path;

use ndarray::Array2;
use stsg_audio::AudioStream;
use stsg_mel::MelFrontend;

use crate::PipelineError;

/// What streaming one file produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamStats {
    /// Samples decoded at the frontend's sample rate.
    pub samples: u64,
    /// Frames computed.
    pub frames: u64,
}

/// Decodes `path` in chunks of `chunk_len` samples at the frontend's rate and hands each block
/// of completed frames (`frames x features`) to `on_frames`, so that at most one chunk of samples
/// and one block of frames are held at a time.
///
/// With `skip_damaged`, a file whose decoder reports truncation, skipped packets or lost frames
/// is rejected after decoding, with [`PipelineError::DamagedAudio`].
///
/// # Errors
/// [`PipelineError::Audio`] when the file cannot be decoded, [`PipelineError::Mel`] for
/// non-finite samples, [`PipelineError::DamagedAudio`] as above, [`PipelineError::EmptyAudio`]
/// when the file holds no samples, and whatever `on_frames` returns.
pub(crate) fn stream_frames(
    path: &Path,
    frontend: &MelFrontend,
    chunk_len: usize,
    skip_damaged: bool,
    mut on_frames: impl FnMut(Array2<f32>) -> Result<(), PipelineError>,
) -> Result<StreamStats, PipelineError> {
    let rate = frontend.params().sample_rate();
    let mut audio = AudioStream::open(path, rate, chunk_len)?;
    let mut mel = frontend.stream();
    let mut frames = 0u64;
    while let Some(chunk) = audio.next_chunk()? {
        let block = mel.push(&chunk)?;
        if block.nrows() > 0 {
            frames += block.nrows() as u64;
            on_frames(block)?;
        }
    }
    let samples = mel.samples_seen();
    let tail = mel.finish()?;
    if tail.nrows() > 0 {
        frames += tail.nrows() as u64;
        on_frames(tail)?;
    }
    let issues = audio.issues();
    if skip_damaged && !issues.is_clean() {
        return Err(PipelineError::DamagedAudio {
            path: path.to_path_buf(),
            reason: describe_issues(&issues, samples, rate),
        });
    }
    if samples == 0 {
        return Err(PipelineError::EmptyAudio {
            path: path.to_path_buf(),
        });
    }
    Ok(StreamStats { samples, frames })
}

fn describe_issues(issues: &stsg_audio::DecodeIssues, samples: u64, rate: u32) -> String {
    let mut parts = Vec::new();
    if issues.truncated {
        parts.push(format!(
            "the file ends early (truncated after {:.1} s)",
            samples as f64 / f64::from(rate)
        ));
    }
    if issues.skipped_packets > 0 {
        parts.push(format!("{} corrupt packets", issues.skipped_packets));
    }
    if issues.lost_frames > 0 {
        parts.push(format!(
            "{} frames lost to damaged pages",
            issues.lost_frames
        ));
    }
    parts.join(", ")
}
