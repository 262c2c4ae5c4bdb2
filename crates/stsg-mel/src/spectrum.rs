//! One-sided power spectrum of a frame, as `scipy.signal.spectrogram` computes it with
//! `window="hann"`, `detrend="constant"`, `scaling="spectrum"` and `mode="psd"` (scipy 1.17).
//!
//! Per frame: subtract the frame mean, multiply by a periodic Hann window, zero-pad to `n_fft`,
//! take the real FFT, and return `|X_k|^2 / (sum of window)^2`, doubled for every bin that has a
//! negative-frequency twin (all but DC, and all but Nyquist when `n_fft` is even).

use std::sync::Arc;

use realfft::num_complex::Complex;
use realfft::{RealFftPlanner, RealToComplex};

/// The planned FFT and the window, shared by all frames and threads.
#[derive(Clone)]
pub(crate) struct PowerSpectrum {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f64>,
    scale: f32,
    n_fft: usize,
}

impl std::fmt::Debug for PowerSpectrum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PowerSpectrum")
            .field("frame_length", &self.window.len())
            .field("n_fft", &self.n_fft)
            .finish()
    }
}

/// Buffers one thread needs to compute frames, reused across frames.
pub(crate) struct SpectrumScratch {
    input: Vec<f32>,
    output: Vec<Complex<f32>>,
    fft_scratch: Vec<Complex<f32>>,
    pub(crate) power: Vec<f32>,
}

/// Periodic Hann window of `n` samples, `0.5 - 0.5 cos(2 pi i / n)`, and `[1]` for `n = 1` as in
/// scipy.
pub(crate) fn periodic_hann(n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![1.0];
    }
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos())
        .collect()
}

/// Sum in `f64` with eight independent partial sums, so the loop vectorises.
fn sum_f64(values: &[f32]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0f64; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail: f64 = chunks.remainder().iter().map(|&x| f64::from(x)).sum();
    for chunk in chunks {
        for (a, &x) in acc.iter_mut().zip(chunk) {
            *a += f64::from(x);
        }
    }
    acc.iter().sum::<f64>() + tail
}

impl PowerSpectrum {
    /// Plans an `n_fft`-point real FFT for frames of `frame_length` samples.
    ///
    /// # Panics
    /// If `frame_length` is 0 or exceeds `n_fft` (ruled out by the params check).
    pub(crate) fn new(frame_length: usize, n_fft: usize) -> Self {
        assert!(
            frame_length > 0 && frame_length <= n_fft,
            "frame_length {frame_length}, n_fft {n_fft}"
        );
        let window64 = periodic_hann(frame_length);
        let window_sum: f64 = window64.iter().sum();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(n_fft);
        Self {
            fft,
            window: window64,
            scale: (1.0 / (window_sum * window_sum)) as f32,
            n_fft,
        }
    }

    pub(crate) fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    pub(crate) fn scratch(&self) -> SpectrumScratch {
        SpectrumScratch {
            input: self.fft.make_input_vec(),
            output: self.fft.make_output_vec(),
            fft_scratch: self.fft.make_scratch_vec(),
            power: vec![0.0; self.n_bins()],
        }
    }

    /// Computes the power spectrum of `frame` into `scratch.power`.
    ///
    /// # Panics
    /// If `frame.len()` differs from the frame length.
    pub(crate) fn compute(&self, frame: &[f32], scratch: &mut SpectrumScratch) {
        let n = self.window.len();
        assert_eq!(frame.len(), n, "frame length");
        // Mean removal and windowing run in f64, so the DC bin keeps its few significant bits.
        let mean = sum_f64(frame) / n as f64;
        for ((dst, &x), &w) in scratch.input[..n].iter_mut().zip(frame).zip(&self.window) {
            *dst = ((f64::from(x) - mean) * w) as f32;
        }
        scratch.input[n..].fill(0.0);
        self.fft
            .process_with_scratch(
                &mut scratch.input,
                &mut scratch.output,
                &mut scratch.fft_scratch,
            )
            .expect("buffers come from the same FFT plan");

        let doubled = 2.0 * self.scale;
        for (p, x) in scratch.power.iter_mut().zip(&scratch.output) {
            *p = (x.re * x.re + x.im * x.im) * doubled;
        }
        // DC, and Nyquist for an even n_fft, have no negative-frequency twin.
        scratch.power[0] *= 0.5;
        if self.n_fft.is_multiple_of(2) {
            let last = self.n_bins() - 1;
            scratch.power[last] *= 0.5;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    /// Reference power spectrum from a naive O(n^2) DFT in f64.
    fn naive_power(frame: &[f32], n_fft: usize) -> Vec<f64> {
        let n = frame.len();
        let window = periodic_hann(n);
        let mean = frame.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let x: Vec<f64> = frame
            .iter()
            .zip(&window)
            .map(|(&s, w)| (f64::from(s) - mean) * w)
            .collect();
        let sum_w: f64 = window.iter().sum();
        (0..n_fft / 2 + 1)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (i, &v) in x.iter().enumerate() {
                    let phase = -2.0 * std::f64::consts::PI * (k * i % n_fft) as f64 / n_fft as f64;
                    re += v * phase.cos();
                    im += v * phase.sin();
                }
                let twin = k > 0 && !(n_fft.is_multiple_of(2) && k == n_fft / 2);
                (re * re + im * im) / (sum_w * sum_w) * if twin { 2.0 } else { 1.0 }
            })
            .collect()
    }

    #[test]
    fn power_matches_naive_dft() {
        for (n, n_fft) in [(100, 128), (101, 101), (64, 64), (250, 257)] {
            let frame: Vec<f32> = (0..n)
                .map(|i| (0.3 * i as f32).sin() + 0.2 * (1.7 * i as f32).cos() + 0.05)
                .collect();
            let spectrum = PowerSpectrum::new(n, n_fft);
            let mut scratch = spectrum.scratch();
            spectrum.compute(&frame, &mut scratch);
            let expected = naive_power(&frame, n_fft);
            let peak = expected.iter().cloned().fold(0.0, f64::max);
            for (k, (&got, &want)) in scratch.power.iter().zip(&expected).enumerate() {
                let err = (f64::from(got) - want).abs();
                assert!(
                    err <= 1e-5 * want + 1e-6 * peak,
                    "n {n} n_fft {n_fft} bin {k}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn tone_peaks_in_its_bin() {
        // 1 kHz at 32 kHz with an 8192-point FFT lies exactly on bin 256.
        let frame: Vec<f32> = (0..8000)
            .map(|i| (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 32_000.0).sin() as f32)
            .collect();
        let spectrum = PowerSpectrum::new(8000, 8192);
        let mut scratch = spectrum.scratch();
        spectrum.compute(&frame, &mut scratch);
        let peak = (0..scratch.power.len())
            .max_by(|&a, &b| scratch.power[a].total_cmp(&scratch.power[b]))
            .unwrap();
        assert_eq!(peak, 256);
        // A unit sine has mean power 0.5, and 'spectrum' scaling puts all of it in the bin of
        // a tone that lies exactly on that bin.
        assert!(
            (scratch.power[256] - 0.5).abs() < 0.01,
            "peak power {}",
            scratch.power[256]
        );
    }

    #[test]
    fn constant_frame_has_zero_power() {
        let spectrum = PowerSpectrum::new(400, 512);
        let mut scratch = spectrum.scratch();
        spectrum.compute(&[0.25; 400], &mut scratch);
        assert!(scratch.power.iter().all(|&p| p == 0.0));
    }
}
