//! Parity on a real recording: the 5 s Ogg Vorbis clip of the shared data, decoded by stsg-audio,
//! against features that `testdata/make_fixtures.py` computed with scipy and librosa from the
//! same decoded samples. Only the derived features are committed, because the recording's
//! licence does not allow committing the audio.
//! Skipped when the shared data is absent.

#![allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure

mod common;

use std::path::PathBuf;

use common::{absolute, assert_close, load_f32};
use stsg_mel::{MelOutput, MelParams};

const CLIP: &str = "formats/ogg_vorbis_32k_mono.ogg";

fn data_dir() -> PathBuf {
    match std::env::var_os("STSG_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

#[test]
fn real_clip_features_match_reference() {
    let path = data_dir().join(CLIP);
    if !path.exists() {
        eprintln!(
            "skipped: {} not found (set STSG_DATA_DIR to the shared data)",
            path.display()
        );
        return;
    }
    let samples = stsg_audio::decode_file(&path, 32_000).unwrap().samples;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    if let Some(out) = std::env::var_os("STSG_MEL_WRITE_SAMPLES") {
        std::fs::write(&out, &bytes).unwrap();
        eprintln!(
            "wrote {} samples to {}",
            samples.len(),
            PathBuf::from(out).display()
        );
    }

    let expected_crc =
        std::fs::read_to_string(common::testdata("real_clip_samples.crc32")).unwrap();
    let crc = format!("{:08x}", crc32fast::hash(&bytes));
    if crc != expected_crc.trim() {
        // A different decoder build may round differently, so the feature checks below decide.
        eprintln!(
            "note: decoded samples have CRC-32 {crc}, the fixtures were made from {}",
            expected_crc.trim()
        );
    }

    let v2 = MelParams::paper_v2().check().unwrap().build();
    let got = v2.features(&samples).unwrap();
    let want = load_f32("real_clip_v2_db");
    let worst = assert_close(got.view(), want.view(), "real clip v2 dB", absolute(1e-3));
    eprintln!(
        "real clip v2 dB: max difference {worst:e} dB over {} values",
        want.len()
    );

    // Some bands of this clip lie near 1e-11, where f32 rounding dominates the difference.
    let power = MelParams::paper_v1()
        .output(MelOutput::Power)
        .check()
        .unwrap()
        .build();
    let got = power.features(&samples).unwrap();
    let want = load_f32("real_clip_v1_mel_power");
    assert_close(got.view(), want.view(), "real clip v1 Mel power", |w, _| {
        1e-4 * w + 1e-14
    });

    let norms: Vec<f32> = want.rows().into_iter().map(|r| r.dot(&r).sqrt()).collect();
    let v1 = MelParams::paper_v1().check().unwrap().build();
    let got = v1.features(&samples).unwrap();
    let want = load_f32("real_clip_v1_mfcc_linear_quirk");
    assert_close(
        got.view(),
        want.view(),
        "real clip v1 MFCC quirk",
        |_, row| 1e-4 * norms[row],
    );
}
