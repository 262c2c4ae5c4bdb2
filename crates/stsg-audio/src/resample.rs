//! Streaming sample-rate conversion of a mono signal with rubato's FFT resampler.
//!
//! [`RateConverter`] wraps `rubato::FftFixedIn` (rubato 0.16) so that a caller can push blocks of
//! any length. It removes the resampler's latency, so output sample `k` is the input evaluated at
//! time `k / to`. A signal of `n` input samples yields `round(n * to / from)` output samples.

use rubato::{FftFixedIn, Resampler};

/// The smallest FFT input length the converter aims for. rubato designs its anti-aliasing filter
/// with as many taps as the FFT input, so this sets both the filter's sharpness and the block
/// size. The real length is the next multiple of `2 * from / gcd(from, to)`.
const MIN_FFT_LEN: usize = 2048;

/// A fixed-ratio converter from `from` Hz to `to` Hz that keeps only one block of state, so its
/// memory does not grow with the length of the signal.
pub(crate) struct RateConverter {
    inner: FftFixedIn<f32>,
    from: u32,
    to: u32,
    /// Input length of one resampler call.
    block_len: usize,
    /// Input samples that do not yet fill a block.
    pending: Vec<f32>,
    /// One-channel output buffer of the resampler.
    output: Vec<Vec<f32>>,
    /// Leading output samples still to drop: the resampler's latency.
    delay_left: usize,
    input_frames: u64,
    output_frames: u64,
}

impl RateConverter {
    /// Plans a converter. `from` and `to` must be in `1..=MAX_SAMPLE_RATE`.
    ///
    /// NOTE: the block spans `2 * from / gcd(from, to)` samples at least, so rates with a small
    /// common divisor cost more: 44.1 kHz to 32 kHz uses 2646-sample blocks, but a prime rate
    /// near `MAX_SAMPLE_RATE` needs blocks of about 1.5 M samples and some hundred MB of buffers.
    pub(crate) fn new(from: u32, to: u32) -> Result<Self, String> {
        let gcd = gcd(from, to);
        let min_block = (from / gcd) as usize;
        // rubato centres its filter on input sample `block_len / 2` and reports a latency of
        // `fft_len_out / 2` output samples. Both describe the same instant only when the block
        // holds an even number of the smallest blocks, so round that count up to even; an odd
        // count leaves a fractional-sample offset (0.36 samples for 44.1 -> 32 kHz).
        let blocks = MIN_FFT_LEN.div_ceil(min_block).next_multiple_of(2);
        let block_len = blocks * min_block;
        let inner = FftFixedIn::new(from as usize, to as usize, block_len, 1, 1)
            .map_err(|e| e.to_string())?;
        let delay_left = inner.output_delay();
        let output = inner.output_buffer_allocate(true);
        Ok(RateConverter {
            inner,
            from,
            to,
            block_len,
            pending: Vec::with_capacity(block_len),
            output,
            delay_left,
            input_frames: 0,
            output_frames: 0,
        })
    }

    /// Resamples `input` and appends the samples that are ready to `out`.
    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        self.input_frames += input.len() as u64;
        let mut rest = input;
        while !rest.is_empty() {
            let take = (self.block_len - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.block_len {
                self.process_pending(out, u64::MAX)?;
            }
        }
        Ok(())
    }

    /// Flushes the latency with zeros and appends the last samples, so that the whole output has
    /// `round(n * to / from)` samples for `n` pushed samples.
    pub(crate) fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), String> {
        let expected = expected_len(self.input_frames, self.from, self.to);
        while self.output_frames < expected {
            self.pending.resize(self.block_len, 0.0);
            self.process_pending(out, expected)?;
        }
        Ok(())
    }

    /// Runs the resampler on the full `pending` block and appends its output, minus the latency
    /// still to drop, up to a total of `limit` samples.
    fn process_pending(&mut self, out: &mut Vec<f32>, limit: u64) -> Result<(), String> {
        let (_, written) = self
            .inner
            .process_into_buffer(&[&self.pending[..]], &mut self.output, None)
            .map_err(|e| e.to_string())?;
        self.pending.clear();

        let produced = &self.output[0][..written];
        let skip = self.delay_left.min(produced.len());
        self.delay_left -= skip;
        let ready = &produced[skip..];
        let room = limit.saturating_sub(self.output_frames);
        let keep = ready.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        out.extend_from_slice(&ready[..keep]);
        self.output_frames += keep as u64;
        Ok(())
    }
}

/// Computes the output length of `n` samples resampled from `from` Hz to `to` Hz:
/// `round(n * to / from)`, halves rounded up.
pub(crate) fn expected_len(n: u64, from: u32, to: u32) -> u64 {
    let scaled = u128::from(n) * u128::from(to) + u128::from(from / 2);
    u64::try_from(scaled / u128::from(from)).unwrap_or(u64::MAX)
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resample_all(input: &[f32], from: u32, to: u32, piece: usize) -> Vec<f32> {
        let mut converter = RateConverter::new(from, to).expect("valid rates");
        let mut out = Vec::new();
        for block in input.chunks(piece) {
            converter.push(block, &mut out).expect("push");
        }
        converter.finish(&mut out).expect("finish");
        out
    }

    fn sine(rate: u32, freq: f64, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin() as f32)
            .collect()
    }

    #[test]
    fn expected_len_rounds_to_nearest() {
        assert_eq!(expected_len(44_100, 44_100, 32_000), 32_000);
        assert_eq!(expected_len(1, 44_100, 32_000), 1);
        assert_eq!(expected_len(0, 44_100, 32_000), 0);
        // 100 * 32000 / 44100 = 72.56
        assert_eq!(expected_len(100, 44_100, 32_000), 73);
    }

    #[test]
    fn output_length_matches_ratio() {
        for &(from, to) in &[
            (44_100, 32_000),
            (48_000, 32_000),
            (22_050, 32_000),
            (96_000, 32_000),
        ] {
            for &n in &[0usize, 1, 7, 1000, 4410, 123_457] {
                let out = resample_all(&vec![0.25; n], from, to, 999);
                assert_eq!(
                    out.len() as u64,
                    expected_len(n as u64, from, to),
                    "{from} -> {to} Hz, n = {n}"
                );
            }
        }
    }

    #[test]
    fn output_is_aligned_with_input() {
        // A 440 Hz sine resampled must match the same sine sampled at the target rate. A
        // latency left in, even a fraction of a sample, gives errors above 0.01.
        for &(from, to) in &[
            (44_100, 32_000),
            (48_000, 32_000),
            (22_050, 32_000),
            (32_000, 44_100),
        ] {
            let input = sine(from, 440.0, from as usize);
            let out = resample_all(&input, from, to, 4096);
            let reference = sine(to, 440.0, out.len());
            let edge = 4000;
            let max_error = out[edge..out.len() - edge]
                .iter()
                .zip(&reference[edge..reference.len() - edge])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(max_error < 1e-3, "{from} -> {to} Hz: max error {max_error}");
        }
    }

    #[test]
    fn block_size_does_not_change_output() {
        let input = sine(48_000, 1000.0, 20_000);
        let whole = resample_all(&input, 48_000, 32_000, input.len());
        let pieces = resample_all(&input, 48_000, 32_000, 37);
        assert_eq!(whole, pieces);
    }
}
