//! `cargo xtask features --preset v1|v2 FILE --out FILE.npy`: the frame features of one audio
//! file as a float32 `.npy` array, for inspection in numpy.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use ndarray_npy::WriteNpyExt;
use serde_json::json;
use stsg_pipeline::audio::decode_file;
use stsg_pipeline::core::Frontend;
use stsg_pipeline::core::artifact::write_atomic_with;
use stsg_pipeline::mel::MelParams;

/// Frontend presets of the STSG paper.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Preset {
    /// 128 Slaney Mel bands, 20 DCT coefficients of linear Mel power (the reference's v1).
    V1,
    /// 768 Slaney Mel bands in dB, floored at 1e-10 (the reference's v2).
    V2,
}

/// Arguments of `cargo xtask features`.
#[derive(Args)]
pub struct FeaturesArgs {
    /// Frontend preset.
    #[arg(long, value_enum)]
    preset: Preset,
    /// Audio file to decode, mixed to mono and resampled to 32 kHz.
    file: PathBuf,
    /// Output `.npy` file: frames x features, float32, C order. Frame k is centred at
    /// 0.125 (k + 1) s.
    #[arg(long)]
    out: PathBuf,
}

/// Decodes the file, computes its features, writes them atomically and prints one JSON line
/// with the shape and frame times.
pub fn run(args: &FeaturesArgs) -> anyhow::Result<ExitCode> {
    let params = match args.preset {
        Preset::V1 => MelParams::paper_v1(),
        Preset::V2 => MelParams::paper_v2(),
    };
    let frontend = params.check()?.build();
    let waveform = decode_file(&args.file, frontend.sample_rate())
        .with_context(|| format!("features: cannot decode {}", args.file.display()))?;
    let features = frontend.process(&waveform.samples)?;
    write_atomic_with(&args.out, |file| {
        features.data.write_npy(file).map_err(std::io::Error::other)
    })
    .with_context(|| format!("features: cannot write {}", args.out.display()))?;

    let times = features.times();
    let line = json!({
        "file": args.file.display().to_string(),
        "out": args.out.display().to_string(),
        "preset": format!("{:?}", args.preset).to_lowercase(),
        "samples": waveform.samples.len(),
        "frames": features.n_frames(),
        "features": features.data.ncols(),
        "first_frame_s": times.first(),
        "last_frame_s": times.last(),
    });
    println!("{line}");
    Ok(ExitCode::SUCCESS)
}
