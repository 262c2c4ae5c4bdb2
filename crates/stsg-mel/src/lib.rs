//! Mel frontend of stsg: mono samples to per-frame Mel power, dB or MFCC features, with the
//! exact STFT of the STSG reference (`scipy.signal.spectrogram` as called by opensoundscape 0.12).
//!
//! [`MelParams`] (unchecked, serde) is checked into [`MelValidParams`], which builds a
//! [`MelFrontend`]. The frontend implements [`stsg_core::Frontend`] for whole signals and hands out
//! [`MelStream`]s for signals that arrive in chunks; both give identical rows. [`MelFilterbank`]
//! is the sparse triangular filterbank, also usable on its own.
//!
//! # Conventions
//!
//! - **Input**: mono `f32` samples at `sample_rate`; NaN or infinite samples are an error.
//! - **Frames**: frame `k` covers samples `k * hop_length .. k * hop_length + frame_length`. There
//!   is no centring or padding: frames lie fully inside the signal, so a signal of `n` samples
//!   gives `(n - frame_length) / hop_length + 1` frames and the trailing samples that do not fill a
//!   frame are ignored. A non-empty signal shorter than one frame is zero-padded at the end to one
//!   frame (scipy would instead shorten the window); an empty signal gives no frames.
//! - **Frame time**: the centre of the frame, `(frame_length / 2 + k * hop_length) / sample_rate`
//!   seconds, which is `0.125 (k + 1)` s at the defaults ([`stsg_core::FrameTiming`]).
//! - **Spectrum**: the frame mean is subtracted (scipy's `detrend="constant"`), the frame is
//!   multiplied by a periodic Hann window, zero-padded to `n_fft` and transformed with a real FFT
//!   (realfft, in `f32`). Power is `|X_k|^2 / (sum of window)^2` (scipy's `scaling="spectrum"`),
//!   doubled for every bin except DC and, for even `n_fft`, Nyquist. Bins are
//!   `k * sample_rate / n_fft` Hz, `k = 0..=n_fft / 2`.
//! - **Mel bands**: triangles as `librosa.filters.mel` builds them: Slaney scale (linear below
//!   1 kHz, logarithmic above) by default or HTK, Slaney area normalisation by default or peak 1,
//!   band edges equally spaced in Mels from `fmin` to `fmax`. Optionally the whole filterbank is
//!   divided by the mean over bands of each band's weight sum (the reference does this). Bands
//!   are applied to **power**, not magnitude, using only their non-zero weights.
//! - **Outputs** ([`MelOutput`]): Mel power; dB = `10 log10(max(power, floor))` with reference
//!   power 1 and a default floor of 1e-10 (-100 dB), optionally clipped per frame to `top_db` below
//!   the frame's maximum; MFCC = orthonormal DCT-II of that dB spectrum (no `top_db`, no
//!   liftering); and the STSG v1 quirk, the same DCT of *linear* Mel power.
//! - **Layout**: `frames x features`, C order, `f32`.
//!
//! Parity with scipy 1.17 and librosa 0.11 is tested against committed fixtures (see
//! `testdata/make_fixtures.py`): filterbank weights within 1e-6, Mel power within 1e-4
//! relative, dB within 1e-3 dB.
//!
//! # Example
//!
//! ```
//! use stsg_core::Frontend;
//! use stsg_mel::MelParams;
//!
//! let frontend = MelParams::paper_v2().check()?.build();
//! // Two seconds of a 440 Hz tone at 32 kHz.
//! let samples: Vec<f32> = (0..64_000)
//!     .map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 32_000.0).sin())
//!     .collect();
//! let features = frontend.process(&samples)?;
//! assert_eq!(features.data.dim(), (15, 768));
//! assert_eq!(features.times()[0], 0.125);
//!
//! // The same rows, computed from chunks.
//! let mut stream = frontend.stream();
//! let mut rows = 0;
//! for chunk in samples.chunks(3_000) {
//!     rows += stream.push(chunk)?.nrows();
//! }
//! rows += stream.finish()?.nrows();
//! assert_eq!(rows, 15);
//! # Ok::<(), stsg_mel::MelError>(())
//! ```

#![deny(missing_docs)]

mod dct;
mod error;
pub mod filterbank;
mod frontend;
mod params;
mod spectrum;
mod stream;

pub use error::{MelError, MelParamsError};
pub use filterbank::MelFilterbank;
pub use frontend::MelFrontend;
pub use params::{DEFAULT_FLOOR, MelNorm, MelOutput, MelParams, MelScale, MelValidParams};
pub use stream::MelStream;

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<MelFrontend>();
        assert_send_sync::<MelStream>();
        assert_send_sync::<MelFilterbank>();
        assert_send_sync::<MelValidParams>();
        assert_send_sync::<MelError>();
    }
}
