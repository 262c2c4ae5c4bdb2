//! Frontend parameters: [`MelParams`] (unchecked) and [`MelValidParams`] (checked).

use serde::{Deserialize, Serialize};

use crate::{MelFrontend, MelParamsError};

/// Default power floor of the dB and MFCC outputs: -100 dB.
pub const DEFAULT_FLOOR: f32 = 1e-10;

/// Mel scale used to place the band edges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelScale {
    /// Slaney's Auditory Toolbox scale: linear below 1 kHz, logarithmic above (librosa's default).
    Slaney,
    /// The HTK scale, `2595 log10(1 + f / 700)`.
    Htk,
}

/// Normalisation of each triangular filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MelNorm {
    /// Slaney area normalisation: each triangle is scaled by `2 / (upper edge - lower edge)` in
    /// Hz, so its area is about constant (librosa's `norm="slaney"`, the default).
    Slaney,
    /// Triangles peak at 1 (librosa's `norm=None`).
    Peak,
}

/// What the frontend returns for each frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MelOutput {
    /// Linear Mel power, `n_mels` columns.
    Power,
    /// `10 log10(max(power, floor))`, `n_mels` columns. With `top_db`, every value below the
    /// frame's maximum minus `top_db` is raised to that level.
    Db {
        /// Power floor, > 0, so silence maps to `10 log10(floor)` dB instead of -inf.
        floor: f32,
        /// Dynamic range kept below the frame's maximum, in dB (`None` keeps everything).
        top_db: Option<f32>,
    },
    /// MFCC: orthonormal DCT-II of the dB Mel spectrum (floored, no `top_db`), first `n_mfcc`
    /// coefficients, no liftering.
    Mfcc {
        /// Number of coefficients kept, `1..=n_mels`.
        n_mfcc: usize,
        /// Power floor applied before the logarithm, > 0.
        floor: f32,
    },
    /// The STSG v1 reference quirk: orthonormal DCT-II of the *linear* Mel power (no logarithm),
    /// first `n_mfcc` coefficients. Use it only to reproduce v1 features.
    MfccLinearQuirk {
        /// Number of coefficients kept, `1..=n_mels`.
        n_mfcc: usize,
    },
}

impl MelOutput {
    /// dB output with the default floor and no `top_db` clipping.
    pub fn db() -> Self {
        MelOutput::Db {
            floor: DEFAULT_FLOOR,
            top_db: None,
        }
    }

    /// Number of output columns for `n_mels` Mel bands.
    pub fn n_features(&self, n_mels: usize) -> usize {
        match *self {
            MelOutput::Power | MelOutput::Db { .. } => n_mels,
            MelOutput::Mfcc { n_mfcc, .. } | MelOutput::MfccLinearQuirk { n_mfcc } => n_mfcc,
        }
    }
}

/// Unchecked frontend parameters, turned into [`MelValidParams`] by [`MelParams::check`].
///
/// All lengths are in samples at `sample_rate`, all frequencies in Hz.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MelParams {
    sample_rate: u32,
    frame_length: usize,
    hop_length: usize,
    n_fft: usize,
    n_mels: usize,
    fmin: f64,
    fmax: Option<f64>,
    mel_scale: MelScale,
    norm: MelNorm,
    rescale_by_mean_row_sum: bool,
    output: MelOutput,
}

impl MelParams {
    /// Parameters for audio at `sample_rate` Hz with these defaults (the STSG STFT at 32 kHz):
    ///
    /// | field | default |
    /// |---|---|
    /// | `frame_length` | 8000 samples |
    /// | `hop_length` | 4000 samples |
    /// | `n_fft` | 8192 |
    /// | `n_mels` | 128 |
    /// | `fmin` | 0 Hz |
    /// | `fmax` | `None` (`sample_rate / 2`) |
    /// | `mel_scale` | [`MelScale::Slaney`] |
    /// | `norm` | [`MelNorm::Slaney`] |
    /// | `rescale_by_mean_row_sum` | `false` |
    /// | `output` | [`MelOutput::Db`] with floor `1e-10` and no `top_db` |
    pub fn new(sample_rate: u32) -> Self {
        Self {
            sample_rate,
            frame_length: 8000,
            hop_length: 4000,
            n_fft: 8192,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            mel_scale: MelScale::Slaney,
            norm: MelNorm::Slaney,
            rescale_by_mean_row_sum: false,
            output: MelOutput::db(),
        }
    }

    /// The STSG v1 frontend: 32 kHz, 128 Slaney bands rescaled by the mean row sum, and the
    /// reference's 20 "MFCC" taken from linear Mel power ([`MelOutput::MfccLinearQuirk`]).
    pub fn paper_v1() -> Self {
        Self::new(32_000)
            .n_mels(128)
            .rescale_by_mean_row_sum(true)
            .output(MelOutput::MfccLinearQuirk { n_mfcc: 20 })
    }

    /// The STSG v2 frontend: 32 kHz, 768 Slaney bands rescaled by the mean row sum, in dB with
    /// the default floor of 1e-10 and no clipping.
    pub fn paper_v2() -> Self {
        Self::new(32_000)
            .n_mels(768)
            .rescale_by_mean_row_sum(true)
            .output(MelOutput::db())
    }

    /// Sets the sample rate in Hz the input must have.
    pub fn sample_rate(mut self, sample_rate: u32) -> Self {
        self.sample_rate = sample_rate;
        self
    }

    /// Sets the frame (analysis window) length in samples. Default 8000.
    pub fn frame_length(mut self, frame_length: usize) -> Self {
        self.frame_length = frame_length;
        self
    }

    /// Sets the distance between frame starts in samples. Default 4000.
    pub fn hop_length(mut self, hop_length: usize) -> Self {
        self.hop_length = hop_length;
        self
    }

    /// Sets the FFT size that frames are zero-padded to. Default 8192.
    pub fn n_fft(mut self, n_fft: usize) -> Self {
        self.n_fft = n_fft;
        self
    }

    /// Sets the number of Mel bands. Default 128.
    pub fn n_mels(mut self, n_mels: usize) -> Self {
        self.n_mels = n_mels;
        self
    }

    /// Sets the lower edge of the lowest band in Hz. Default 0.
    pub fn fmin(mut self, fmin: f64) -> Self {
        self.fmin = fmin;
        self
    }

    /// Sets the upper edge of the highest band in Hz, where `None` means `sample_rate / 2`.
    /// Default `None`.
    pub fn fmax(mut self, fmax: Option<f64>) -> Self {
        self.fmax = fmax;
        self
    }

    /// Sets the Mel scale. Default [`MelScale::Slaney`].
    pub fn mel_scale(mut self, mel_scale: MelScale) -> Self {
        self.mel_scale = mel_scale;
        self
    }

    /// Sets the filter normalisation. Default [`MelNorm::Slaney`].
    pub fn norm(mut self, norm: MelNorm) -> Self {
        self.norm = norm;
        self
    }

    /// Sets whether the whole filterbank is divided by the mean over bands of each band's
    /// weight sum, as the STSG reference (opensoundscape 0.12) does. Default `false`.
    pub fn rescale_by_mean_row_sum(mut self, rescale: bool) -> Self {
        self.rescale_by_mean_row_sum = rescale;
        self
    }

    /// Sets the output. Default [`MelOutput::Db`] with floor `1e-10` and no `top_db`.
    pub fn output(mut self, output: MelOutput) -> Self {
        self.output = output;
        self
    }

    /// Checks every rule and returns the checked parameters.
    ///
    /// # Errors
    /// A [`MelParamsError`] naming the first broken rule.
    pub fn check(&self) -> Result<MelValidParams, MelParamsError> {
        self.check_lengths()?;
        self.check_bands()?;
        self.check_output()?;
        Ok(MelValidParams(self.clone()))
    }

    fn check_lengths(&self) -> Result<(), MelParamsError> {
        if self.sample_rate == 0 {
            return Err(MelParamsError::ZeroSampleRate);
        }
        if self.frame_length == 0 {
            return Err(MelParamsError::ZeroFrameLength);
        }
        if self.hop_length == 0 {
            return Err(MelParamsError::ZeroHopLength);
        }
        if self.hop_length > self.frame_length {
            return Err(MelParamsError::HopExceedsFrame {
                hop_length: self.hop_length,
                frame_length: self.frame_length,
            });
        }
        if self.frame_length > self.n_fft {
            return Err(MelParamsError::FrameExceedsFft {
                frame_length: self.frame_length,
                n_fft: self.n_fft,
            });
        }
        Ok(())
    }

    fn check_bands(&self) -> Result<(), MelParamsError> {
        if self.n_mels == 0 {
            return Err(MelParamsError::ZeroMels);
        }
        if !(self.fmin.is_finite() && self.fmin >= 0.0) {
            return Err(MelParamsError::InvalidFmin(self.fmin));
        }
        let nyquist = f64::from(self.sample_rate) / 2.0;
        let fmax = self.fmax.unwrap_or(nyquist);
        if fmax.is_nan() || fmax > nyquist {
            return Err(MelParamsError::FmaxAboveNyquist { fmax, nyquist });
        }
        // fmin is finite and fmax is a number here, so >= is the exact negation of <.
        if self.fmin >= fmax {
            return Err(MelParamsError::FminNotBelowFmax {
                fmin: self.fmin,
                fmax,
            });
        }
        Ok(())
    }

    fn check_output(&self) -> Result<(), MelParamsError> {
        let check_floor = |floor: f32| {
            if floor.is_finite() && floor > 0.0 {
                Ok(())
            } else {
                Err(MelParamsError::InvalidFloor(floor))
            }
        };
        let check_n_mfcc = |n_mfcc: usize| {
            if n_mfcc == 0 {
                Err(MelParamsError::ZeroMfcc)
            } else if n_mfcc > self.n_mels {
                Err(MelParamsError::MfccExceedsMels {
                    n_mfcc,
                    n_mels: self.n_mels,
                })
            } else {
                Ok(())
            }
        };
        match self.output {
            MelOutput::Power => Ok(()),
            MelOutput::Db { floor, top_db } => {
                check_floor(floor)?;
                match top_db {
                    Some(t) if !(t.is_finite() && t > 0.0) => Err(MelParamsError::InvalidTopDb(t)),
                    _ => Ok(()),
                }
            }
            MelOutput::Mfcc { n_mfcc, floor } => {
                check_floor(floor)?;
                check_n_mfcc(n_mfcc)
            }
            MelOutput::MfccLinearQuirk { n_mfcc } => check_n_mfcc(n_mfcc),
        }
    }
}

/// Checked frontend parameters, from which [`MelValidParams::build`] builds a frontend.
///
/// Deserialising checks the values again, so a config file cannot smuggle in invalid ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "MelParams", into = "MelParams")]
pub struct MelValidParams(MelParams);

impl TryFrom<MelParams> for MelValidParams {
    type Error = MelParamsError;

    fn try_from(params: MelParams) -> Result<Self, Self::Error> {
        params.check()
    }
}

impl From<MelValidParams> for MelParams {
    fn from(valid: MelValidParams) -> Self {
        valid.0
    }
}

impl MelValidParams {
    /// Builds the frontend: plans the FFT and computes the window, filterbank and DCT.
    pub fn build(&self) -> MelFrontend {
        MelFrontend::new(self)
    }

    /// Sample rate in Hz.
    pub fn sample_rate(&self) -> u32 {
        self.0.sample_rate
    }

    /// Frame length in samples.
    pub fn frame_length(&self) -> usize {
        self.0.frame_length
    }

    /// Hop in samples.
    pub fn hop_length(&self) -> usize {
        self.0.hop_length
    }

    /// FFT size.
    pub fn n_fft(&self) -> usize {
        self.0.n_fft
    }

    /// Number of one-sided FFT bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.0.n_fft / 2 + 1
    }

    /// Number of Mel bands.
    pub fn n_mels(&self) -> usize {
        self.0.n_mels
    }

    /// Lower edge of the lowest band in Hz.
    pub fn fmin(&self) -> f64 {
        self.0.fmin
    }

    /// Upper edge of the highest band in Hz (`sample_rate / 2` when not set).
    pub fn fmax(&self) -> f64 {
        self.0.fmax.unwrap_or(f64::from(self.0.sample_rate) / 2.0)
    }

    /// Mel scale.
    pub fn mel_scale(&self) -> MelScale {
        self.0.mel_scale
    }

    /// Filter normalisation.
    pub fn norm(&self) -> MelNorm {
        self.0.norm
    }

    /// Whether the filterbank is divided by its mean row sum.
    pub fn rescale_by_mean_row_sum(&self) -> bool {
        self.0.rescale_by_mean_row_sum
    }

    /// Output kind.
    pub fn output(&self) -> MelOutput {
        self.0.output
    }

    /// Number of output columns.
    pub fn n_features(&self) -> usize {
        self.0.output.n_features(self.0.n_mels)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn err(params: MelParams) -> MelParamsError {
        params.check().expect_err("invalid params were accepted")
    }

    #[test]
    fn presets_are_valid() {
        let v1 = MelParams::paper_v1().check().unwrap();
        assert_eq!(v1.n_features(), 20);
        assert_eq!(v1.n_bins(), 4097);
        let v2 = MelParams::paper_v2().check().unwrap();
        assert_eq!(v2.n_features(), 768);
        assert_eq!(v2.fmax(), 16_000.0);
    }

    #[test]
    fn zero_sample_rate_is_rejected() {
        assert_eq!(err(MelParams::new(0)), MelParamsError::ZeroSampleRate);
    }

    #[test]
    fn zero_frame_length_is_rejected() {
        let e = err(MelParams::new(32_000).frame_length(0));
        assert_eq!(e, MelParamsError::ZeroFrameLength);
    }

    #[test]
    fn zero_hop_is_rejected() {
        assert_eq!(
            err(MelParams::new(32_000).hop_length(0)),
            MelParamsError::ZeroHopLength
        );
    }

    #[test]
    fn hop_longer_than_frame_is_rejected() {
        let e = err(MelParams::new(32_000).hop_length(8001));
        assert!(
            matches!(
                e,
                MelParamsError::HopExceedsFrame {
                    hop_length: 8001,
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn frame_longer_than_fft_is_rejected() {
        let e = err(MelParams::new(32_000).n_fft(4096));
        assert!(
            matches!(
                e,
                MelParamsError::FrameExceedsFft {
                    frame_length: 8000,
                    n_fft: 4096
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn zero_mels_is_rejected() {
        assert_eq!(
            err(MelParams::new(32_000).n_mels(0)),
            MelParamsError::ZeroMels
        );
    }

    #[test]
    fn negative_or_nan_fmin_is_rejected() {
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let e = err(MelParams::new(32_000).fmin(bad));
            assert!(
                matches!(e, MelParamsError::InvalidFmin(_)),
                "fmin {bad}: {e}"
            );
        }
    }

    #[test]
    fn fmin_not_below_fmax_is_rejected() {
        let e = err(MelParams::new(32_000).fmin(5000.0).fmax(Some(5000.0)));
        assert!(matches!(e, MelParamsError::FminNotBelowFmax { .. }), "{e}");
        let e = err(MelParams::new(32_000).fmin(20_000.0));
        assert!(matches!(e, MelParamsError::FminNotBelowFmax { .. }), "{e}");
    }

    #[test]
    fn fmax_above_nyquist_is_rejected() {
        for bad in [16_000.5, f64::NAN] {
            let e = err(MelParams::new(32_000).fmax(Some(bad)));
            assert!(
                matches!(e, MelParamsError::FmaxAboveNyquist { .. }),
                "fmax {bad}: {e}"
            );
        }
    }

    #[test]
    fn nonpositive_floor_is_rejected() {
        for bad in [0.0, -1e-10, f32::NAN, f32::INFINITY] {
            let db = MelOutput::Db {
                floor: bad,
                top_db: None,
            };
            let e = err(MelParams::new(32_000).output(db));
            assert!(
                matches!(e, MelParamsError::InvalidFloor(_)),
                "floor {bad}: {e}"
            );
            let mfcc = MelOutput::Mfcc {
                n_mfcc: 13,
                floor: bad,
            };
            assert!(matches!(
                err(MelParams::new(32_000).output(mfcc)),
                MelParamsError::InvalidFloor(_)
            ));
        }
    }

    #[test]
    fn nonpositive_top_db_is_rejected() {
        for bad in [0.0, -80.0, f32::NAN] {
            let db = MelOutput::Db {
                floor: DEFAULT_FLOOR,
                top_db: Some(bad),
            };
            let e = err(MelParams::new(32_000).output(db));
            assert!(
                matches!(e, MelParamsError::InvalidTopDb(_)),
                "top_db {bad}: {e}"
            );
        }
    }

    #[test]
    fn zero_mfcc_is_rejected() {
        let quirk = MelOutput::MfccLinearQuirk { n_mfcc: 0 };
        assert_eq!(
            err(MelParams::new(32_000).output(quirk)),
            MelParamsError::ZeroMfcc
        );
        let mfcc = MelOutput::Mfcc {
            n_mfcc: 0,
            floor: DEFAULT_FLOOR,
        };
        assert_eq!(
            err(MelParams::new(32_000).output(mfcc)),
            MelParamsError::ZeroMfcc
        );
    }

    #[test]
    fn more_mfcc_than_mels_is_rejected() {
        let quirk = MelOutput::MfccLinearQuirk { n_mfcc: 21 };
        let e = err(MelParams::new(32_000).n_mels(20).output(quirk));
        assert_eq!(
            e,
            MelParamsError::MfccExceedsMels {
                n_mfcc: 21,
                n_mels: 20
            }
        );
    }

    #[test]
    fn params_round_trip_through_toml_style_json() {
        let params = MelParams::paper_v2().output(MelOutput::Db {
            floor: 1e-8,
            top_db: Some(80.0),
        });
        let json = serde_json::to_string(&params).unwrap();
        let back: MelParams = serde_json::from_str(&json).unwrap();
        assert_eq!(back, params);
        let valid: MelValidParams = serde_json::from_str(&json).unwrap();
        assert_eq!(MelParams::from(valid), params);
    }

    #[test]
    fn invalid_params_do_not_deserialise_as_valid() {
        let json = serde_json::to_string(&MelParams::new(32_000).n_mels(0)).unwrap();
        let e = serde_json::from_str::<MelValidParams>(&json).unwrap_err();
        assert!(e.to_string().contains("n_mels"), "{e}");
    }
}
