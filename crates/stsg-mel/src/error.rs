//! Error types: [`MelParamsError`] for invalid parameters, [`MelError`] for everything else.

/// A rule of [`MelParams::check`](crate::MelParams::check) that the parameters break.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MelParamsError {
    /// The sample rate is zero.
    #[error("mel: sample_rate must be > 0, got 0")]
    ZeroSampleRate,
    /// The frame length is zero.
    #[error("mel: frame_length must be > 0 samples, got 0")]
    ZeroFrameLength,
    /// The hop is zero.
    #[error("mel: hop_length must be > 0 samples, got 0")]
    ZeroHopLength,
    /// The hop is longer than a frame, so samples between frames would be skipped.
    #[error(
        "mel: hop_length must be <= frame_length, got hop_length {hop_length} > frame_length {frame_length}"
    )]
    HopExceedsFrame {
        /// Hop in samples.
        hop_length: usize,
        /// Frame length in samples.
        frame_length: usize,
    },
    /// The frame is longer than the FFT, so it cannot be zero-padded to `n_fft`.
    #[error("mel: frame_length must be <= n_fft, got frame_length {frame_length} > n_fft {n_fft}")]
    FrameExceedsFft {
        /// Frame length in samples.
        frame_length: usize,
        /// FFT size in samples.
        n_fft: usize,
    },
    /// No Mel bands were requested.
    #[error("mel: n_mels must be >= 1, got 0")]
    ZeroMels,
    /// The lowest frequency is negative, NaN or infinite.
    #[error("mel: fmin must be finite and >= 0 Hz, got {0}")]
    InvalidFmin(f64),
    /// The lowest frequency is not below the highest.
    #[error("mel: fmin must be < fmax, got fmin {fmin} Hz >= fmax {fmax} Hz")]
    FminNotBelowFmax {
        /// Lowest frequency in Hz.
        fmin: f64,
        /// Highest frequency in Hz.
        fmax: f64,
    },
    /// The highest frequency is above the Nyquist frequency (or NaN).
    #[error("mel: fmax must be <= sample_rate / 2 = {nyquist} Hz, got {fmax} Hz")]
    FmaxAboveNyquist {
        /// Highest frequency in Hz.
        fmax: f64,
        /// Half the sample rate in Hz.
        nyquist: f64,
    },
    /// The power floor of a dB or MFCC output is not a finite positive number.
    #[error("mel: floor must be finite and > 0, got {0}; the default is 1e-10")]
    InvalidFloor(f32),
    /// The `top_db` range of a dB output is not a finite positive number.
    #[error("mel: top_db must be finite and > 0 dB when set, got {0}")]
    InvalidTopDb(f32),
    /// No MFCC coefficients were requested.
    #[error("mel: n_mfcc must be >= 1, got 0")]
    ZeroMfcc,
    /// More MFCC coefficients were requested than there are Mel bands.
    #[error("mel: n_mfcc must be <= n_mels, got n_mfcc {n_mfcc} > n_mels {n_mels}")]
    MfccExceedsMels {
        /// Requested number of coefficients.
        n_mfcc: usize,
        /// Number of Mel bands.
        n_mels: usize,
    },
}

/// Errors of the Mel frontend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MelError {
    /// The parameters are invalid.
    #[error(transparent)]
    Params(#[from] MelParamsError),
    /// An input sample is NaN or infinite, which points to a decoder fault or to uninitialised
    /// data from the caller.
    #[error(
        "mel: sample {index} is {value}; every sample must be finite (check the decoder output)"
    )]
    NonFiniteSample {
        /// Index of the sample from the start of the signal (or of the stream).
        index: u64,
        /// The offending value.
        value: f32,
    },
}
