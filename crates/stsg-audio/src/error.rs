//! The error type of the audio stage.

use std::path::PathBuf;

/// Everything that can go wrong while opening, probing or decoding an audio file.
///
/// Every variant about a file carries its `path`. The variants tell the caller what to do: a
/// missing or unreadable file is an input mistake, an unsupported format or codec needs another
/// decoder, and [`AudioError::Decode`] means the bytes themselves are damaged.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The path does not exist.
    #[error("audio: file not found: {path}")]
    NotFound {
        /// The requested path.
        path: PathBuf,
    },
    /// The path is a directory, not a file.
    #[error("audio: {path} is a directory, expected an audio file")]
    IsDirectory {
        /// The requested path.
        path: PathBuf,
    },
    /// The file has zero bytes.
    #[error("audio: {path} is empty (0 bytes)")]
    EmptyFile {
        /// The requested path.
        path: PathBuf,
    },
    /// Opening or reading the file failed for a reason other than its content.
    #[error("audio: failed to read {path}: {source}")]
    Io {
        /// The file being read.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// No container format reader recognised the file.
    #[error("audio: unsupported or unrecognised format in {path}: {reason}")]
    UnsupportedFormat {
        /// The file being probed.
        path: PathBuf,
        /// Symphonia's message.
        reason: String,
    },
    /// The container contains no audio track.
    #[error("audio: no audio track in {path}")]
    NoAudioTrack {
        /// The file being probed.
        path: PathBuf,
    },
    /// The audio track uses a codec (or a codec feature) that no enabled decoder supports.
    #[error("audio: unsupported codec {codec} in {path}: {reason}")]
    UnsupportedCodec {
        /// The file being decoded.
        path: PathBuf,
        /// The codec's name or identifier.
        codec: String,
        /// Symphonia's message.
        reason: String,
    },
    /// The file is corrupt or truncated so that no usable audio can be read from it.
    #[error("audio: corrupt or truncated data in {path}: {reason}")]
    Decode {
        /// The file being decoded.
        path: PathBuf,
        /// The problem found.
        reason: String,
    },
    /// The stream's sample rate is missing, zero or above [`crate::MAX_SAMPLE_RATE`].
    #[error(
        "audio: invalid sample rate {rate:?} Hz in {path}, expected 1..={max}",
        max = crate::MAX_SAMPLE_RATE
    )]
    InvalidSourceRate {
        /// The file being decoded.
        path: PathBuf,
        /// The rate found in the stream header, `None` when it has none.
        rate: Option<u32>,
    },
    /// The requested output sample rate is zero or above [`crate::MAX_SAMPLE_RATE`].
    #[error(
        "audio: invalid target sample rate {rate} Hz, expected 1..={max}",
        max = crate::MAX_SAMPLE_RATE
    )]
    InvalidTargetRate {
        /// The requested rate.
        rate: u32,
    },
    /// The requested chunk length of a stream is zero.
    #[error("audio: invalid chunk length 0, expected at least 1 sample")]
    InvalidChunkLen,
    /// The resampler rejected its input; this points to a bug in this crate.
    #[error("audio: resampling {path} from {from} Hz to {to} Hz failed: {reason}")]
    Resample {
        /// The file being decoded.
        path: PathBuf,
        /// The source rate in Hz.
        from: u32,
        /// The target rate in Hz.
        to: u32,
        /// Rubato's message.
        reason: String,
    },
}
