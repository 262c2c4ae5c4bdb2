//! `cargo xtask infer --model BUNDLE --audio DIR_OR_FILES --out submission.csv`: score audio
//! files in 5 s windows and write a submission.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use stsg_pipeline::{SkipLog, with_threads};

use crate::ui::{self, Bars};

/// Arguments of `cargo xtask infer`.
#[derive(Args)]
#[command(after_help = "\
Exit status:
  0  every file was scored and the submission written
  1  error (printed on stderr)
  2  the submission was written, but some files could not be read and were skipped; the
     summary lists them with the reason. Their rows are missing from the submission, or
     filled with each class's mean score when --sample-submission names them.
     (A command-line usage error also exits with 2, before anything runs.)")]
pub struct InferArgs {
    /// Model bundle folder written by `cargo xtask train` or `pipeline`.
    #[arg(long, value_name = "BUNDLE")]
    model: PathBuf,
    /// Audio files, or folders whose audio files are all scored (not recursive).
    #[arg(long, value_name = "DIR_OR_FILES", num_args = 1.., required = true)]
    audio: Vec<PathBuf>,
    /// Submission CSV to write: `row_id` = `<file stem>_<end second>`, one column per class.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// `sample_submission.csv` whose row order the output follows; its rows without a scored
    /// file get each class's mean score.
    #[arg(long, value_name = "FILE")]
    sample_submission: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Scores every file and writes the submission.
pub fn run(args: &InferArgs) -> anyhow::Result<ExitCode> {
    let bars = Bars::new();
    ui::init_logging(&bars);
    let (model, files) = ui::load_model_and_audio(&args.model, &args.audio)?;
    let skips = SkipLog::default();
    let inference = with_threads(args.threads, || model.infer(&files, &bars, &skips))??;
    let mut submission = inference.submission.clone();
    if let Some(sample) = &args.sample_submission {
        let fill = submission
            .scores
            .mean_axis(ndarray::Axis(0))
            .unwrap_or_else(|| ndarray::Array1::zeros(submission.labels.len()));
        let (filled, appended) = submission.order_like(sample, fill.view())?;
        if filled + appended > 0 {
            println!("  sample order:      {filled} rows filled, {appended} rows appended");
        }
    }
    submission.write_csv(&args.out)?;

    let skipped = skips.to_vec();
    println!("inference finished in {:.2} s", inference.seconds);
    println!("  files processed:   {}", inference.files.len());
    ui::print_skipped(&skipped);
    println!(
        "  audio scored:      {:.1} min",
        inference.audio_seconds / 60.0
    );
    // `--threads 0` gives rayon's default pool, one thread per core.
    let threads = args.threads.filter(|&n| n > 0).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    println!(
        "  speed:             {:.0}x real time on {threads} thread{}",
        inference.realtime_factor(),
        if threads == 1 { "" } else { "s" }
    );
    println!(
        "  submission:        {} ({} rows)",
        args.out.display(),
        submission.len()
    );
    Ok(ui::exit_code(&skipped))
}
