//! `cargo xtask train --data DIR --out BUNDLE`: train every stage and save a model bundle.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use stsg_pipeline::{Dataset, train, with_threads};

use crate::ui::{self, Bars, ConfigArgs};

/// Arguments of `cargo xtask train`.
#[derive(Args)]
pub struct TrainArgs {
    /// Data folder in the BirdCLEF 2025 layout (train.csv, taxonomy.csv, train_audio/, ...).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// Model bundle folder to write (replaced if it holds a bundle).
    #[arg(long, value_name = "BUNDLE")]
    out: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
    /// Print the resolved configuration (every key) and exit without training.
    #[arg(long)]
    print_config: bool,
}

/// Trains on `--data` and writes the bundle to `--out`.
pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let bars = Bars::new();
    ui::init_logging(&bars);
    let spec = args.config.spec()?;
    if args.print_config {
        // Without probing the data, `auto` prints the small-data preset.
        print!("{}", spec.build(spec.preset)?.to_toml());
        return Ok(ExitCode::SUCCESS);
    }
    let data = Dataset::open(&args.data)?;
    let n_threads = spec.build(spec.preset)?.run.n_threads;
    let start = Instant::now();
    let (model, report) = with_threads(n_threads, || train(&data, &spec, &bars))??;
    let seconds = start.elapsed().as_secs_f64();
    let info = serde_json::json!({
        "preset": model.config.preset.name(),
        "data": args.data.display().to_string(),
        "train_seconds": seconds,
        "train_audio_seconds": report.audio_seconds,
        "head_windows": report.head_windows,
    });
    model.save(&args.out, info)?;

    println!("training finished in {seconds:.1} s");
    println!("  preset:            {}", model.config.preset.name());
    for (group, n) in &report.files_processed {
        println!("  files processed:   {n} in {group}");
    }
    println!(
        "  audio decoded:     {:.1} min",
        report.audio_seconds / 60.0
    );
    println!("  tokenizer frames:  {}", report.tokenizer_frames);
    println!("  skip-gram tokens:  {}", report.skipgram_tokens);
    println!("  head windows:      {}", report.head_windows);
    ui::print_skipped(&report.skipped);
    ui::print_times(&report.times.0);
    println!("  model bundle:      {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
