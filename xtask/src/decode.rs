//! `cargo xtask decode FILE...`: decode audio files and print one JSON object per file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;
use stsg_pipeline::audio::{DEFAULT_SAMPLE_RATE, decode_file};

/// Arguments of `cargo xtask decode`.
#[derive(Args)]
pub struct DecodeArgs {
    /// Audio files to decode (Ogg Vorbis, FLAC, WAV, MP3, AAC/M4A, ...).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Sample rate in Hz of the mono signal whose peak and RMS are reported.
    #[arg(long, default_value_t = DEFAULT_SAMPLE_RATE)]
    rate: u32,
}

/// Decodes every file to mono at `--rate` and prints one JSON line each to stdout.
///
/// A file that fails prints `{"path": ..., "error": ...}` and the command goes on with the next
/// one; the exit code is 1 when any file failed.
pub fn run(args: &DecodeArgs) -> anyhow::Result<ExitCode> {
    let mut failed = 0usize;
    for path in &args.files {
        let line = match decode_file(path, args.rate) {
            Ok(waveform) => json!({
                "path": path.display().to_string(),
                "codec": waveform.info.codec,
                "sample_rate": waveform.info.sample_rate,
                "channels": waveform.info.channels,
                "frames": waveform.info.frames,
                "duration_s": waveform.duration_s(),
                "output_rate": waveform.sample_rate,
                "output_samples": waveform.samples.len(),
                "peak": waveform.peak(),
                "rms": waveform.rms(),
                "skipped_packets": waveform.issues.skipped_packets,
                "lost_frames": waveform.issues.lost_frames,
                "truncated": waveform.issues.truncated,
            }),
            Err(e) => {
                failed += 1;
                json!({
                    "path": path.display().to_string(),
                    "error": e.to_string(),
                })
            }
        };
        // A reader that stops early (`| head`) closes the pipe: stop quietly instead of panicking.
        if writeln!(std::io::stdout().lock(), "{line}").is_err() {
            break;
        }
    }
    if failed > 0 {
        eprintln!("decode: {failed} of {} files failed", args.files.len());
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}
