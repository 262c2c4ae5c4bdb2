//! Decoding audio files into mono `f32` samples at a target sample rate.
//!
//! The first stage of stsg: [`decode_file`] turns a whole file into a [`Waveform`],
//! [`AudioStream`] yields fixed-length chunks of the same signal in bounded memory, and [`probe`]
//! reads a file's [`AudioInfo`] (rate, channels, length, codec) without decoding it. Decoding is
//! done by Symphonia 0.6 and resampling by rubato's FFT resampler.
//!
//! Conventions:
//! - samples are `f32` at full scale ±1 for integer PCM; lossy codecs (Vorbis, MP3) can overshoot
//!   ±1 and are never clipped;
//! - mono is the mean of all channels;
//! - a file at the target rate is not resampled: its samples are exactly the decoder's output
//!   (averaged over channels);
//! - otherwise `n` frames become `round(n * target_rate / file_rate)` samples, aligned in time
//!   with the input (the resampler's latency is removed);
//! - [`DEFAULT_SAMPLE_RATE`] is 32 kHz, the rate of BirdCLEF recordings.
//!
//! Input formats are those of Symphonia 0.6.1 with its `all` feature, which is pure Rust and
//! builds on stable Rust. The tests here cover Ogg Vorbis, FLAC, WAV (16/24-bit integer, 32-bit
//! float, WAVE_FORMAT_EXTENSIBLE, chunks before and after `data`), MP3 and AAC-LC in ADTS and
//! M4A. Symphonia also reads AIFF, CAF, MKV/WebM, MP1/MP2, ALAC and ADPCM, untested here. Opus is
//! not supported ([`AudioError::UnsupportedCodec`]).
//!
//! Gapless decoding: MP3 encoder delay and padding are trimmed when the file has a LAME tag with a
//! valid CRC, so the frame count equals the encoder's input. Symphonia ignores a LAME tag whose
//! CRC does not match (for example after a cut by stream copy) and then keeps 576 + 529 leading
//! delay frames. AAC is not gapless in Symphonia 0.6.1: an M4A keeps the 1024 priming frames
//! at its start, which FFmpeg drops.
//!
//! Damaged input (see [`AudioError`]) is handled as follows:
//! - a packet the codec rejects is skipped with a `log::warn!` and counted in
//!   [`DecodeIssues::skipped_packets`];
//! - data that the demuxer drops (an Ogg page with a bad checksum, a damaged FLAC frame) is
//!   counted in [`DecodeIssues::lost_frames`] with a warning, and the output closes the gap;
//! - a file that ends in the middle of a packet, or before the length its header states, returns
//!   the audio decoded so far, with a warning and [`DecodeIssues::truncated`] set;
//! - other demuxing failures, and a file none of whose packets decode, are an
//!   [`AudioError::Decode`].
//!
//! No input has made this crate panic in the tests, which feed random bytes and real files cut or
//! overwritten at many offsets.
//!
//! ```
//! use stsg_audio::{decode_file, probe, write_wav_i16, DEFAULT_SAMPLE_RATE};
//!
//! // One second of a 1 kHz tone at 44.1 kHz, stereo.
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("tone.wav");
//! let tone: Vec<i16> = (0..44_100)
//!     .flat_map(|i| {
//!         let s = (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 44_100.0).sin();
//!         [(s * 16_000.0) as i16; 2]
//!     })
//!     .collect();
//! write_wav_i16(&path, 44_100, 2, &tone)?;
//!
//! let info = probe(&path)?;
//! assert_eq!((info.sample_rate, info.channels, info.frames), (44_100, 2, Some(44_100)));
//!
//! let waveform = decode_file(&path, DEFAULT_SAMPLE_RATE)?;
//! assert_eq!(waveform.samples.len(), 32_000);
//! assert!((waveform.peak() - 16_000.0 / 32_768.0).abs() < 0.01);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod decode;
mod error;
mod resample;
mod source;
mod stream;
mod wav;

pub use decode::{AudioInfo, ChannelWaveform, Waveform, decode_file, decode_file_channels, probe};
pub use error::AudioError;
pub use source::DecodeIssues;
pub use stream::AudioStream;
pub use wav::write_wav_i16;

/// The sample rate of BirdCLEF recordings and the default target of decoding, in Hz.
pub const DEFAULT_SAMPLE_RATE: u32 = 32_000;

/// The highest file or target sample rate accepted, in Hz (768 kHz, the top rate of current
/// recorders and converters). The bound also caps the resampler's FFT length.
pub const MAX_SAMPLE_RATE: u32 = 768_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send() {
        assert_send::<AudioStream>();
        assert_send_sync::<Waveform>();
        assert_send_sync::<AudioInfo>();
        assert_send_sync::<AudioError>();
    }
}
