//! `cargo xtask pipeline [--data DIR] [--config FILE] [--out DIR]`: train, infer and evaluate
//! in one run; without `--data`, on a generated synthetic dataset.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use stsg_pipeline::run_pipeline;
use stsg_pipeline::synthetic::{SyntheticParams, generate};

use crate::ui::{self, Bars, ConfigArgs};

/// Arguments of `cargo xtask pipeline`.
#[derive(Args)]
pub struct PipelineArgs {
    /// Data folder in the BirdCLEF 2025 layout. Without it, a synthetic dataset is generated
    /// in `<out>/synthetic_data` and used.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Output folder: `submission.csv`, `model/` and `metrics.json`.
    #[arg(long, value_name = "DIR", default_value = "out/pipeline")]
    out: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Runs the whole pipeline and prints the closing summary.
pub fn run(args: &PipelineArgs) -> anyhow::Result<ExitCode> {
    let bars = Bars::new();
    ui::init_logging(&bars);
    let spec = args.config.spec()?;
    let start = Instant::now();

    let synthetic = args.data.is_none();
    let data_dir = match &args.data {
        Some(dir) => dir.clone(),
        None => {
            let dir = args.out.join("synthetic_data");
            eprintln!("=================================================================");
            eprintln!(
                " No --data given: generating a SYNTHETIC dataset in {}",
                dir.display()
            );
            eprintln!(" (generated call shapes over noise, not real recordings; scores on");
            eprintln!(" it only show that the pipeline runs). Use --data DIR for real data.");
            eprintln!("=================================================================");
            if dir.exists() {
                std::fs::remove_dir_all(&dir)?;
            }
            generate(&dir, &SyntheticParams::new())?;
            dir
        }
    };

    let outcome = run_pipeline(&data_dir, &spec, &args.out, &bars, synthetic)?;
    let m = &outcome.metrics;
    println!();
    println!(
        "pipeline finished in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    if synthetic {
        println!("  DATA ARE SYNTHETIC: the scores below only show that the pipeline runs");
    }
    println!("  data:              {}", data_dir.display());
    println!("  preset:            {}", m.preset);
    for (group, n) in &m.files_processed {
        println!("  files processed:   {n} in {group}");
    }
    ui::print_skipped(&m.skipped_files);
    let times: Vec<(String, f64)> = outcome
        .train
        .times
        .0
        .iter()
        .cloned()
        .chain(
            [
                "save bundle",
                "load bundle",
                "inference",
                "evaluate",
                "holdout",
            ]
            .iter()
            .filter_map(|name| m.stage_seconds.get(*name).map(|s| (name.to_string(), *s))),
        )
        .collect();
    ui::print_times(&times);
    println!("  training:          {:.2} s", m.train_seconds);
    println!(
        "  inference:         {:.1} min of audio in {:.2} s = {:.0}x real time ({} threads)",
        m.infer_audio_seconds / 60.0,
        m.infer_seconds,
        m.infer_realtime_factor,
        m.threads
    );
    println!(
        "  test soundscapes:  macro ROC-AUC {} ({} classes with positives)",
        ui::score(m.test_soundscape_macro_auc),
        m.test_soundscape_scored_classes
            .map_or_else(|| "n/a".to_string(), |n| n.to_string())
    );
    println!(
        "  holdout windows:   macro ROC-AUC {}, top-1 {} ({} windows)",
        ui::score(m.holdout_window_macro_auc),
        ui::score(m.holdout_window_top1),
        m.holdout_windows
    );
    if outcome.filled_rows > 0 {
        println!(
            "  submission rows filled with mean scores (skipped soundscapes): {}",
            outcome.filled_rows
        );
    }
    println!("  submission:        {}", outcome.submission_path.display());
    println!("  model bundle:      {}", outcome.bundle_path.display());
    println!("  metrics:           {}", outcome.metrics_path.display());
    Ok(ExitCode::SUCCESS)
}
