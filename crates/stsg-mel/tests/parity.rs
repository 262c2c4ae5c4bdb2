//! Parity with scipy 1.17 and librosa 0.11 on committed fixtures written by
//! `testdata/make_fixtures.py` from generated signals.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

mod common;

use common::{absolute, assert_close, load_f32, load_filterbank, load_pcm, relative};
use ndarray::Array2;
use stsg_mel::{MelNorm, MelOutput, MelParams, MelScale};

/// Weight tolerance of the filterbanks against librosa.
const WEIGHT_TOL: f32 = 1e-6;
/// Relative tolerance of power values.
const POWER_REL_TOL: f32 = 1e-4;
/// Tolerance of dB values.
const DB_TOL: f32 = 1e-3;

fn params_32k() -> MelParams {
    MelParams::new(32_000)
}

fn params_22k() -> MelParams {
    MelParams::new(22_050)
        .frame_length(2048)
        .hop_length(512)
        .n_fft(2048)
}

fn check_filterbank(name: &str, params: MelParams) {
    let frontend = params.check().unwrap().build();
    let fb = frontend.filterbank();
    let want = load_filterbank(name, fb.n_bins());
    let worst = assert_close(
        fb.to_dense().view(),
        want.view(),
        name,
        absolute(WEIGHT_TOL),
    );
    eprintln!("{name}: max weight difference {worst:e}");
}

#[test]
fn filterbank_32k_128_slaney_matches_librosa() {
    check_filterbank("sr32000_nfft8192_mels128_slaney", params_32k().n_mels(128));
}

#[test]
fn filterbank_32k_768_slaney_matches_librosa() {
    check_filterbank("sr32000_nfft8192_mels768_slaney", params_32k().n_mels(768));
}

#[test]
fn filterbank_32k_768_rescaled_matches_reference() {
    check_filterbank(
        "sr32000_nfft8192_mels768_slaney_rescaled",
        params_32k().n_mels(768).rescale_by_mean_row_sum(true),
    );
}

#[test]
fn filterbank_22k_128_slaney_matches_librosa() {
    check_filterbank("sr22050_nfft2048_mels128_slaney", params_22k().n_mels(128));
}

#[test]
fn filterbank_22k_128_htk_matches_librosa() {
    check_filterbank(
        "sr22050_nfft2048_mels128_htk",
        params_22k().n_mels(128).mel_scale(MelScale::Htk),
    );
}

#[test]
fn filterbank_peak_norm_with_band_limits_matches_librosa() {
    let params = MelParams::new(16_000)
        .frame_length(1024)
        .hop_length(256)
        .n_fft(1024)
        .n_mels(40)
        .mel_scale(MelScale::Htk)
        .norm(MelNorm::Peak)
        .fmin(300.0)
        .fmax(Some(6000.0));
    check_filterbank("sr16000_nfft1024_mels40_htk_peak_fmin300_fmax6000", params);
}

/// Per-bin tolerance: 1e-4 relative, plus 1e-10 of the frame's largest bin for the bins far
/// below it, whose few significant bits the f32 FFT rounds away (a float32 scipy run does too).
fn bin_tolerance(want: &Array2<f32>) -> impl Fn(f32, usize) -> f32 {
    let peaks: Vec<f32> = want
        .rows()
        .into_iter()
        .map(|r| r.iter().copied().fold(0.0, f32::max))
        .collect();
    move |w, row| POWER_REL_TOL * w + 1e-10 * peaks[row]
}

/// Number of bins outside the plain relative tolerance, to report how often the floor is used.
fn count_beyond_relative(got: &Array2<f32>, want: &Array2<f32>) -> usize {
    got.iter()
        .zip(want.iter())
        .filter(|(g, w)| (*g - *w).abs() > POWER_REL_TOL * w.abs())
        .count()
}

#[test]
fn power_spectrum_matches_scipy() {
    let samples = load_pcm("sig32_pcm");
    let frontend = params_32k().check().unwrap().build();
    let power = frontend.power_spectrogram(&samples).unwrap();
    assert_eq!(power.dim(), (7, 4097));
    let got = Array2::from_shape_fn((3, 4097), |(i, k)| power[[[0, 3, 6][i], k]]);
    let want = load_f32("sig32_power_bins_frames_0_3_6");
    let beyond = count_beyond_relative(&got, &want);
    assert_close(got.view(), want.view(), "power bins", bin_tolerance(&want));
    eprintln!(
        "power bins: {beyond} of {} beyond 1e-4 relative",
        want.len()
    );
}

#[test]
fn power_spectrum_odd_fft_matches_scipy() {
    let samples = load_pcm("sig16_pcm");
    let params = MelParams::new(16_000)
        .frame_length(1000)
        .hop_length(250)
        .n_fft(1001)
        .n_mels(40);
    let frontend = params.check().unwrap().build();
    let power = frontend.power_spectrogram(&samples).unwrap();
    let want = load_f32("sig16_nfft1001_power_bins");
    let beyond = count_beyond_relative(&power, &want);
    assert_close(
        power.view(),
        want.view(),
        "odd FFT power bins",
        bin_tolerance(&want),
    );
    eprintln!(
        "odd FFT power bins: {beyond} of {} beyond 1e-4 relative",
        want.len()
    );
    let db = frontend.features(&samples).unwrap();
    let want = load_f32("sig16_nfft1001_mels40_db");
    assert_close(db.view(), want.view(), "odd FFT dB", absolute(DB_TOL));
}

#[test]
fn v1_mel_power_matches_reference() {
    let samples = load_pcm("sig32_pcm");
    let params = MelParams::paper_v1().output(MelOutput::Power);
    let got = params.check().unwrap().build().features(&samples).unwrap();
    let want = load_f32("sig32_v1_mel_power");
    assert_close(
        got.view(),
        want.view(),
        "v1 Mel power",
        relative(POWER_REL_TOL),
    );
}

#[test]
fn v1_linear_quirk_mfcc_matches_librosa() {
    let samples = load_pcm("sig32_pcm");
    let got = MelParams::paper_v1()
        .check()
        .unwrap()
        .build()
        .features(&samples)
        .unwrap();
    let want = load_f32("sig32_v1_mfcc_linear_quirk");
    // The DCT mixes all bands, so the tolerance is relative to the frame's Mel power norm.
    let mel = load_f32("sig32_v1_mel_power");
    let norms: Vec<f32> = mel.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
    assert_close(got.view(), want.view(), "v1 MFCC quirk", |_, row| {
        POWER_REL_TOL * norms[row]
    });
}

#[test]
fn v2_mel_power_matches_reference() {
    let samples = load_pcm("sig32_pcm");
    let params = MelParams::paper_v2().output(MelOutput::Power);
    let got = params.check().unwrap().build().features(&samples).unwrap();
    let want = load_f32("sig32_v2_mel_power");
    assert_close(
        got.view(),
        want.view(),
        "v2 Mel power",
        relative(POWER_REL_TOL),
    );
}

#[test]
fn v2_db_matches_reference() {
    let samples = load_pcm("sig32_pcm");
    let got = MelParams::paper_v2()
        .check()
        .unwrap()
        .build()
        .features(&samples)
        .unwrap();
    let want = load_f32("sig32_v2_db");
    let worst = assert_close(got.view(), want.view(), "v2 dB", absolute(DB_TOL));
    eprintln!("v2 dB: max difference {worst:e} dB");
}

#[test]
fn short_signal_is_zero_padded_to_one_frame() {
    let samples = load_pcm("sig32_pcm");
    let frontend = MelParams::paper_v2().check().unwrap().build();
    let got = frontend.features(&samples[..5000]).unwrap();
    let want = load_f32("sig32_short5000_v2_db");
    assert_close(
        got.view(),
        want.view(),
        "short signal v2 dB",
        absolute(DB_TOL),
    );
}

#[test]
fn top_db_clips_each_frame() {
    let samples = load_pcm("sig32_pcm");
    let output = MelOutput::Db {
        floor: 1e-10,
        top_db: Some(40.0),
    };
    let got = params_32k()
        .output(output)
        .check()
        .unwrap()
        .build()
        .features(&samples)
        .unwrap();
    let want = load_f32("sig32_mels128_db_top40");
    assert_close(
        got.view(),
        want.view(),
        "dB with top_db 40",
        absolute(DB_TOL),
    );
    for (k, row) in got.rows().into_iter().enumerate() {
        let max = row.iter().copied().fold(f32::MIN, f32::max);
        let min = row.iter().copied().fold(f32::MAX, f32::min);
        assert!(
            max - min <= 40.0 + 1e-4,
            "frame {k}: range {} dB",
            max - min
        );
    }
}

#[test]
fn log_mfcc_matches_librosa() {
    let samples = load_pcm("sig32_pcm");
    let output = MelOutput::Mfcc {
        n_mfcc: 20,
        floor: 1e-10,
    };
    let got = params_32k()
        .output(output)
        .check()
        .unwrap()
        .build()
        .features(&samples)
        .unwrap();
    let want = load_f32("sig32_mels128_mfcc20");
    let worst = assert_close(
        got.view(),
        want.view(),
        "MFCC 20 of 128 bands",
        absolute(DB_TOL),
    );
    eprintln!("MFCC: max difference {worst:e}");
}

#[test]
fn htk_22k_power_and_mfcc_match_librosa() {
    let samples = load_pcm("sig22_pcm");
    let params = params_22k()
        .n_mels(64)
        .mel_scale(MelScale::Htk)
        .fmin(50.0)
        .fmax(Some(8000.0));
    let power = params
        .clone()
        .output(MelOutput::Power)
        .check()
        .unwrap()
        .build();
    let got = power.features(&samples).unwrap();
    let want = load_f32("sig22_htk64_mel_power");
    assert_close(
        got.view(),
        want.view(),
        "22 kHz HTK Mel power",
        relative(POWER_REL_TOL),
    );

    let mfcc = params
        .output(MelOutput::Mfcc {
            n_mfcc: 13,
            floor: 1e-10,
        })
        .check()
        .unwrap()
        .build();
    let got = mfcc.features(&samples).unwrap();
    let want = load_f32("sig22_htk64_mfcc13");
    assert_close(
        got.view(),
        want.view(),
        "22 kHz HTK MFCC 13",
        absolute(DB_TOL),
    );
    assert_eq!(got.nrows(), 14);
}
