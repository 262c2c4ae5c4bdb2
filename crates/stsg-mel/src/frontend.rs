//! [`MelFrontend`]: frames, power spectra, Mel bands and the chosen output, over whole signals.

use std::sync::Arc;

use ndarray::Array2;
use rayon::prelude::*;
use stsg_core::{Features, FrameTiming, Frontend};

use crate::dct::DctII;
use crate::spectrum::{PowerSpectrum, SpectrumScratch};
use crate::{MelError, MelFilterbank, MelOutput, MelStream, MelValidParams};

/// Signals with fewer frames than this are computed on the calling thread.
const MIN_PARALLEL_FRAMES: usize = 16;
/// Frames handed to one rayon task at a time, so scratch buffers are set up rarely.
const FRAMES_PER_TASK: usize = 8;

/// Everything a frame needs that does not change between frames, shared by clones and streams.
#[derive(Debug)]
pub(crate) struct Engine {
    spectrum: PowerSpectrum,
    filterbank: MelFilterbank,
    dct: Option<DctII>,
    output: MelOutput,
    frame_length: usize,
    hop_length: usize,
    n_features: usize,
}

/// Per-thread buffers of [`Engine::frame`].
pub(crate) struct FrameScratch {
    spectrum: SpectrumScratch,
    mel: Vec<f32>,
}

impl Engine {
    fn new(params: &MelValidParams) -> Self {
        let output = params.output();
        let dct = match output {
            MelOutput::Mfcc { n_mfcc, .. } | MelOutput::MfccLinearQuirk { n_mfcc } => {
                Some(DctII::new(n_mfcc, params.n_mels()))
            }
            MelOutput::Power | MelOutput::Db { .. } => None,
        };
        Self {
            spectrum: PowerSpectrum::new(params.frame_length(), params.n_fft()),
            filterbank: MelFilterbank::new(params),
            dct,
            output,
            frame_length: params.frame_length(),
            hop_length: params.hop_length(),
            n_features: params.n_features(),
        }
    }

    pub(crate) fn frame_length(&self) -> usize {
        self.frame_length
    }

    pub(crate) fn hop_length(&self) -> usize {
        self.hop_length
    }

    pub(crate) fn n_features(&self) -> usize {
        self.n_features
    }

    pub(crate) fn scratch(&self) -> FrameScratch {
        FrameScratch {
            spectrum: self.spectrum.scratch(),
            mel: vec![0.0; self.filterbank.n_mels()],
        }
    }

    /// Computes the output row of one frame of `frame_length` samples into `out`.
    fn frame(&self, frame: &[f32], scratch: &mut FrameScratch, out: &mut [f32]) {
        self.spectrum.compute(frame, &mut scratch.spectrum);
        let power = &scratch.spectrum.power;
        match self.output {
            MelOutput::Power => self.filterbank.apply(power, out),
            MelOutput::Db { floor, top_db } => {
                self.filterbank.apply(power, out);
                power_to_db(out, floor);
                if let Some(top_db) = top_db {
                    clip_below_max(out, top_db);
                }
            }
            MelOutput::Mfcc { floor, .. } => {
                self.filterbank.apply(power, &mut scratch.mel);
                power_to_db(&mut scratch.mel, floor);
                self.dct().apply(&scratch.mel, out);
            }
            MelOutput::MfccLinearQuirk { .. } => {
                self.filterbank.apply(power, &mut scratch.mel);
                self.dct().apply(&scratch.mel, out);
            }
        }
    }

    fn dct(&self) -> &DctII {
        self.dct.as_ref().expect("MFCC outputs build a DCT")
    }

    /// Computes the first `out.nrows()` frames of `signal` into the rows of `out`.
    ///
    /// Uses the rayon pool when `parallel` is set and there are enough frames. Otherwise it runs
    /// on the calling thread with `scratch`. The result does not depend on the thread count.
    ///
    /// # Panics
    /// If `signal` is shorter than the frames need.
    pub(crate) fn frames(
        &self,
        signal: &[f32],
        out: &mut Array2<f32>,
        parallel: bool,
        scratch: &mut FrameScratch,
    ) {
        let n_frames = out.nrows();
        if n_frames == 0 {
            return;
        }
        assert!(
            signal.len() >= (n_frames - 1) * self.hop_length + self.frame_length,
            "signal too short"
        );
        let width = self.n_features;
        let rows = out
            .as_slice_mut()
            .expect("output arrays are created in standard layout");
        let frame_at =
            |k: usize| &signal[k * self.hop_length..k * self.hop_length + self.frame_length];

        if parallel && n_frames >= MIN_PARALLEL_FRAMES && rayon::current_num_threads() > 1 {
            rows.par_chunks_mut(width)
                .enumerate()
                .with_min_len(FRAMES_PER_TASK)
                .for_each_init(
                    || self.scratch(),
                    |scratch, (k, row)| self.frame(frame_at(k), scratch, row),
                );
        } else {
            for (k, row) in rows.chunks_exact_mut(width).enumerate() {
                self.frame(frame_at(k), scratch, row);
            }
        }
    }
}

/// `x = 10 log10(max(x, floor))` in place.
fn power_to_db(values: &mut [f32], floor: f32) {
    for v in values {
        *v = 10.0 * v.max(floor).log10();
    }
}

/// Raises every value below `max - top_db` to that level.
fn clip_below_max(values: &mut [f32], top_db: f32) {
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let lowest = max - top_db;
    for v in values {
        *v = v.max(lowest);
    }
}

/// Returns an error naming the first NaN or infinite sample. `offset` is the index of
/// `samples[0]` in the whole signal.
pub(crate) fn check_finite(samples: &[f32], offset: u64) -> Result<(), MelError> {
    // Scanning whole blocks without an early exit lets the compiler vectorise the test.
    const BLOCK: usize = 4096;
    let has_non_finite = |block: &[f32]| block.iter().fold(false, |acc, x| acc | !x.is_finite());
    let Some(b) = samples.chunks(BLOCK).position(has_non_finite) else {
        return Ok(());
    };
    let start = b * BLOCK;
    let i = start
        + samples[start..]
            .iter()
            .position(|x| !x.is_finite())
            .expect("the block contains a non-finite sample");
    Err(MelError::NonFiniteSample {
        index: offset + i as u64,
        value: samples[i],
    })
}

/// The Mel frontend: turns mono samples into `frames x features` (see the crate docs for the
/// exact conventions).
///
/// Cloning is cheap: clones share the FFT plan, window, filterbank and DCT.
#[derive(Debug, Clone)]
pub struct MelFrontend {
    params: MelValidParams,
    timing: FrameTiming,
    engine: Arc<Engine>,
    parallel: bool,
}

impl MelFrontend {
    /// Plans the FFT and computes the window, the filterbank and, for MFCC outputs, the DCT.
    ///
    /// Logs a warning when some Mel bands cover no FFT bin (they always output zero power).
    pub fn new(params: &MelValidParams) -> Self {
        let timing = FrameTiming::new(
            params.sample_rate(),
            params.frame_length(),
            params.hop_length(),
        )
        .expect("checked params have a positive sample rate, frame length and hop");
        Self {
            params: params.clone(),
            timing,
            engine: Arc::new(Engine::new(params)),
            parallel: true,
        }
    }

    /// Sets whether long signals are split over the rayon thread pool (default `true`). The
    /// output is identical either way. Turn it off when the caller already runs one frontend per
    /// thread.
    pub fn with_parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// The parameters this frontend was built from.
    pub fn params(&self) -> &MelValidParams {
        &self.params
    }

    /// The Mel filterbank, including the mean-row-sum rescaling when it is enabled.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.engine.filterbank
    }

    /// Starts a stream that takes the signal in chunks of any size.
    pub fn stream(&self) -> MelStream {
        MelStream::new(self.engine.clone(), self.parallel)
    }

    /// Computes the features of a whole signal as a `frames x n_features` array.
    ///
    /// Frames lie fully inside the signal, so the last `(len - frame_length) % hop_length`
    /// samples are ignored. A non-empty signal shorter than one frame is zero-padded to one frame;
    /// an empty signal gives 0 rows. Runs in O(frames x n_fft log n_fft).
    ///
    /// # Errors
    /// [`MelError::NonFiniteSample`] for a NaN or infinite sample.
    pub fn features(&self, samples: &[f32]) -> Result<Array2<f32>, MelError> {
        check_finite(samples, 0)?;
        let engine = &self.engine;
        let n_frames = self.timing.n_frames(samples.len());
        let mut out = Array2::zeros((n_frames, engine.n_features()));
        let mut scratch = engine.scratch();
        if n_frames == 1 && samples.len() < engine.frame_length() {
            let mut padded = samples.to_vec();
            padded.resize(engine.frame_length(), 0.0);
            engine.frames(&padded, &mut out, false, &mut scratch);
        } else {
            engine.frames(samples, &mut out, self.parallel, &mut scratch);
        }
        Ok(out)
    }

    /// Computes the one-sided power spectrogram, `frames x (n_fft / 2 + 1)`, before the Mel
    /// filterbank, with frames laid out as in [`MelFrontend::features`].
    ///
    /// # Errors
    /// [`MelError::NonFiniteSample`] for a NaN or infinite sample.
    pub fn power_spectrogram(&self, samples: &[f32]) -> Result<Array2<f32>, MelError> {
        check_finite(samples, 0)?;
        let engine = &self.engine;
        let n_frames = self.timing.n_frames(samples.len());
        let mut padded = samples.to_vec();
        if padded.len() < engine.frame_length() {
            padded.resize(engine.frame_length(), 0.0);
        }
        let n_bins = engine.spectrum.n_bins();
        let mut out = Array2::zeros((n_frames, n_bins));
        let mut scratch = engine.spectrum.scratch();
        for (k, mut row) in out.rows_mut().into_iter().enumerate() {
            let start = k * engine.hop_length();
            engine
                .spectrum
                .compute(&padded[start..start + engine.frame_length()], &mut scratch);
            row.assign(&ndarray::ArrayView1::from(&scratch.power[..]));
        }
        Ok(out)
    }
}

impl From<&MelValidParams> for MelFrontend {
    fn from(params: &MelValidParams) -> Self {
        MelFrontend::new(params)
    }
}

impl Frontend for MelFrontend {
    type Error = MelError;

    fn sample_rate(&self) -> u32 {
        self.params.sample_rate()
    }

    fn n_features(&self) -> usize {
        self.engine.n_features()
    }

    fn timing(&self) -> FrameTiming {
        self.timing
    }

    fn process(&self, samples: &[f32]) -> Result<Features, MelError> {
        Ok(Features {
            data: self.features(samples)?,
            timing: self.timing,
        })
    }
}
