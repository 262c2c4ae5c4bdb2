//! Mel scales and the sparse triangular filterbank.
//!
//! The construction follows `librosa.filters.mel` (librosa 0.11) step by step in `f64`: band
//! edges equally spaced on the Mel scale (`n_mels + 2` points from `fmin` to `fmax`), triangles
//! evaluated at the FFT bin frequencies `k * sample_rate / n_fft`, rounded to `f32` and then
//! scaled by `2 / (upper edge - lower edge)` for Slaney normalisation. Only the non-zero run of
//! each row is stored.

use ndarray::Array2;

use crate::{MelNorm, MelScale, MelValidParams};

const SLANEY_F_SP: f64 = 200.0 / 3.0;
const SLANEY_MIN_LOG_HZ: f64 = 1000.0;

fn slaney_log_step() -> f64 {
    6.4f64.ln() / 27.0
}

/// Converts a frequency in Hz to Mels on `scale`.
pub fn hz_to_mel(hz: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 2595.0 * (1.0 + hz / 700.0).log10(),
        MelScale::Slaney => {
            let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
            if hz >= SLANEY_MIN_LOG_HZ {
                min_log_mel + (hz / SLANEY_MIN_LOG_HZ).ln() / slaney_log_step()
            } else {
                hz / SLANEY_F_SP
            }
        }
    }
}

/// Converts Mels on `scale` to a frequency in Hz.
pub fn mel_to_hz(mel: f64, scale: MelScale) -> f64 {
    match scale {
        MelScale::Htk => 700.0 * (10f64.powf(mel / 2595.0) - 1.0),
        MelScale::Slaney => {
            let min_log_mel = SLANEY_MIN_LOG_HZ / SLANEY_F_SP;
            if mel >= min_log_mel {
                SLANEY_MIN_LOG_HZ * (slaney_log_step() * (mel - min_log_mel)).exp()
            } else {
                SLANEY_F_SP * mel
            }
        }
    }
}

/// `n` points from `start` to `stop` inclusive, computed as numpy's `linspace` does.
fn linspace(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n == 1 {
        return vec![start];
    }
    let step = (stop - start) / (n - 1) as f64;
    let mut out: Vec<f64> = (0..n).map(|i| i as f64 * step + start).collect();
    out[n - 1] = stop;
    out
}

/// One filter: weights of the bins `start..start + weights.len()`. Every other bin weighs 0.
#[derive(Debug, Clone, PartialEq)]
struct SparseRow {
    start: usize,
    weights: Vec<f32>,
}

/// A Mel filterbank of `n_mels` triangular filters over `n_bins` one-sided FFT bins, stored as
/// one contiguous run of non-zero weights per band.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    rows: Vec<SparseRow>,
    n_bins: usize,
    band_edges_hz: Vec<f64>,
}

impl MelFilterbank {
    /// Builds the filterbank described by `params` (scale, normalisation, band range and the
    /// optional mean-row-sum rescaling).
    pub fn new(params: &MelValidParams) -> Self {
        let n_mels = params.n_mels();
        let n_bins = params.n_bins();
        let scale = params.mel_scale();
        let fft_freqs = fft_frequencies(params.sample_rate(), params.n_fft());
        let mels = linspace(
            hz_to_mel(params.fmin(), scale),
            hz_to_mel(params.fmax(), scale),
            n_mels + 2,
        );
        let edges: Vec<f64> = mels.iter().map(|&m| mel_to_hz(m, scale)).collect();

        let mut dense: Vec<Vec<f32>> = Vec::with_capacity(n_mels);
        for i in 0..n_mels {
            let lower_width = edges[i + 1] - edges[i];
            let upper_width = edges[i + 2] - edges[i + 1];
            let enorm = 2.0 / (edges[i + 2] - edges[i]);
            let row = fft_freqs
                .iter()
                .map(|&f| {
                    let lower = -(edges[i] - f) / lower_width;
                    let upper = (edges[i + 2] - f) / upper_width;
                    // librosa stores the triangle in f32 before the Slaney scaling.
                    let w = 0f64.max(lower.min(upper)) as f32;
                    match params.norm() {
                        MelNorm::Slaney => (f64::from(w) * enorm) as f32,
                        MelNorm::Peak => w,
                    }
                })
                .collect();
            dense.push(row);
        }

        if params.rescale_by_mean_row_sum() {
            let mean_row_sum = dense
                .iter()
                .map(|row| row.iter().map(|&w| f64::from(w)).sum::<f64>())
                .sum::<f64>()
                / n_mels as f64;
            if mean_row_sum > 0.0 {
                for row in &mut dense {
                    for w in row.iter_mut() {
                        *w = (f64::from(*w) / mean_row_sum) as f32;
                    }
                }
            }
        }

        let rows: Vec<SparseRow> = dense.into_iter().map(to_sparse).collect();
        let filterbank = Self {
            rows,
            n_bins,
            band_edges_hz: edges,
        };
        let empty = filterbank.empty_bands();
        if !empty.is_empty() {
            log::warn!(
                "mel: {} of {n_mels} bands cover no FFT bin and always output zero power \
                 (first: band {}); use fewer bands, a larger n_fft or a wider fmin..fmax",
                empty.len(),
                empty[0]
            );
        }
        log::debug!(
            "mel: filterbank n_mels={n_mels} n_bins={n_bins} nonzero={}",
            filterbank.n_nonzero()
        );
        filterbank
    }

    /// Number of bands (rows).
    pub fn n_mels(&self) -> usize {
        self.rows.len()
    }

    /// Number of one-sided FFT bins (columns).
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Number of stored (non-zero run) weights in all bands.
    pub fn n_nonzero(&self) -> usize {
        self.rows.iter().map(|r| r.weights.len()).sum()
    }

    /// Band `m` as `(first bin, weights)`. Bins outside the run weigh 0.
    ///
    /// # Panics
    /// If `m >= n_mels()`.
    pub fn band(&self, m: usize) -> (usize, &[f32]) {
        let row = &self.rows[m];
        (row.start, &row.weights)
    }

    /// The `n_mels + 2` band edges in Hz: band `m` rises from edge `m`, peaks at edge `m + 1`
    /// and falls to zero at edge `m + 2`.
    pub fn band_edges_hz(&self) -> &[f64] {
        &self.band_edges_hz
    }

    /// Indices of bands whose weights are all zero.
    pub fn empty_bands(&self) -> Vec<usize> {
        (0..self.rows.len())
            .filter(|&m| self.rows[m].weights.is_empty())
            .collect()
    }

    /// The dense `n_mels x n_bins` weight matrix (as `librosa.filters.mel` returns it).
    pub fn to_dense(&self) -> Array2<f32> {
        let mut dense = Array2::zeros((self.n_mels(), self.n_bins));
        for (m, row) in self.rows.iter().enumerate() {
            for (j, &w) in row.weights.iter().enumerate() {
                dense[[m, row.start + j]] = w;
            }
        }
        dense
    }

    /// Writes the band energies of one power spectrum into `out`: `out[m] = sum_k W[m, k] power[k]`.
    ///
    /// Costs one multiply-add per stored weight.
    ///
    /// # Panics
    /// If `power.len() != n_bins()` or `out.len() != n_mels()`.
    pub fn apply(&self, power: &[f32], out: &mut [f32]) {
        assert_eq!(power.len(), self.n_bins, "power spectrum length");
        assert_eq!(out.len(), self.rows.len(), "output length");
        for (row, o) in self.rows.iter().zip(out.iter_mut()) {
            let end = row.start + row.weights.len();
            *o = dot(&row.weights, &power[row.start..end]);
        }
    }
}

/// Frequencies of the one-sided FFT bins as numpy's `rfftfreq(n_fft, 1 / sample_rate)`.
fn fft_frequencies(sample_rate: u32, n_fft: usize) -> Vec<f64> {
    let d = 1.0 / f64::from(sample_rate);
    let step = 1.0 / (n_fft as f64 * d);
    (0..n_fft / 2 + 1).map(|k| k as f64 * step).collect()
}

fn to_sparse(dense: Vec<f32>) -> SparseRow {
    let Some(first) = dense.iter().position(|&w| w != 0.0) else {
        return SparseRow {
            start: 0,
            weights: Vec::new(),
        };
    };
    let last = dense.iter().rposition(|&w| w != 0.0).unwrap_or(first);
    SparseRow {
        start: first,
        weights: dense[first..=last].to_vec(),
    }
}

/// Dot product with eight independent partial sums, so the compiler can vectorise it.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0f32; LANES];
    let chunks = a.len() / LANES * LANES;
    for (ca, cb) in a[..chunks]
        .chunks_exact(LANES)
        .zip(b[..chunks].chunks_exact(LANES))
    {
        for l in 0..LANES {
            acc[l] += ca[l] * cb[l];
        }
    }
    let tail: f32 = a[chunks..]
        .iter()
        .zip(&b[chunks..])
        .map(|(x, y)| x * y)
        .sum();
    acc.iter().sum::<f32>() + tail
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;
    use crate::MelParams;

    #[test]
    fn slaney_scale_is_linear_below_1khz() {
        assert!((hz_to_mel(600.0, MelScale::Slaney) - 9.0).abs() < 1e-12);
        assert!((hz_to_mel(1000.0, MelScale::Slaney) - 15.0).abs() < 1e-12);
        // 6.4 times 1 kHz is 27 Mels above 1 kHz on the log part.
        assert!((hz_to_mel(6400.0, MelScale::Slaney) - 42.0).abs() < 1e-12);
    }

    #[test]
    fn htk_scale_maps_700hz_to_2595_log10_2() {
        let expected = 2595.0 * 2f64.log10();
        assert!((hz_to_mel(700.0, MelScale::Htk) - expected).abs() < 1e-9);
    }

    #[test]
    fn mel_to_hz_inverts_hz_to_mel() {
        for scale in [MelScale::Slaney, MelScale::Htk] {
            for hz in [0.0, 10.0, 999.0, 1000.0, 1001.0, 8000.0, 16_000.0] {
                let back = mel_to_hz(hz_to_mel(hz, scale), scale);
                assert!(
                    (back - hz).abs() < 1e-9 * hz.max(1.0),
                    "{scale:?} {hz} -> {back}"
                );
            }
        }
    }

    #[test]
    fn linspace_ends_exactly_at_stop() {
        let v = linspace(0.0, 0.3, 4);
        assert_eq!(v.len(), 4);
        assert_eq!(v[3], 0.3);
        assert!((v[1] - 0.1).abs() < 1e-15);
    }

    #[test]
    fn sparse_apply_equals_dense_product() {
        let params = MelParams::new(22_050)
            .n_fft(2048)
            .frame_length(2048)
            .hop_length(512)
            .n_mels(40)
            .check()
            .unwrap();
        let fb = MelFilterbank::new(&params);
        let dense = fb.to_dense();
        let power: Vec<f32> = (0..fb.n_bins()).map(|k| 1.0 + (k % 17) as f32).collect();
        let mut out = vec![0f32; fb.n_mels()];
        fb.apply(&power, &mut out);
        for m in 0..fb.n_mels() {
            let expected: f32 = (0..fb.n_bins()).map(|k| dense[[m, k]] * power[k]).sum();
            assert!(
                (out[m] - expected).abs() <= 1e-5 * expected.abs(),
                "band {m}: {} vs {expected}",
                out[m]
            );
        }
    }

    #[test]
    fn rescaled_filterbank_has_unit_mean_row_sum() {
        let params = MelParams::paper_v2().check().unwrap();
        let fb = MelFilterbank::new(&params);
        let mean: f64 = (0..fb.n_mels())
            .map(|m| fb.band(m).1.iter().map(|&w| f64::from(w)).sum::<f64>())
            .sum::<f64>()
            / fb.n_mels() as f64;
        assert!((mean - 1.0).abs() < 1e-6, "mean row sum {mean}");
        assert!(fb.empty_bands().is_empty());
    }

    #[test]
    fn too_many_bands_leave_empty_ones() {
        let params = MelParams::new(8000)
            .frame_length(64)
            .hop_length(32)
            .n_fft(64)
            .n_mels(64)
            .check()
            .unwrap();
        let fb = MelFilterbank::new(&params);
        assert!(!fb.empty_bands().is_empty());
    }
}
