//! `cargo xtask train --data DIR --out BUNDLE`: train every stage and save a model bundle.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use stsg_pipeline::{ConfigSpec, Dataset, train, with_threads};

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

/// The configuration `--print-config` prints, after the checks a training run makes before it
/// reads any audio, so an invalid value fails with the run's error message. Without probing
/// the data, `auto` is resolved to `small-data`, and the rule that needs the data (codebook
/// size against the corpus's frame count) is not checked.
fn checked_config_toml(spec: &ConfigSpec) -> anyhow::Result<String> {
    let config = spec.build(spec.preset)?;
    config.check()?;
    Ok(config.to_toml())
}

/// Trains on `--data` and writes the bundle to `--out`.
pub fn run(args: &TrainArgs) -> anyhow::Result<ExitCode> {
    let bars = Bars::new();
    ui::init_logging(&bars);
    let spec = args.config.spec()?;
    if args.print_config {
        print!("{}", checked_config_toml(&spec)?);
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

#[cfg(test)]
mod tests {
    use stsg_pipeline::synthetic::{SyntheticParams, generate};
    use stsg_pipeline::{NoProgress, Preset};

    use super::*;

    /// A valid spec small enough to train in a test, with `key` set to `value`.
    fn tiny_spec(key: &str, value: toml::Value) -> ConfigSpec {
        let mut spec = ConfigSpec::new(Preset::SmallData);
        for (k, v) in [
            ("tokenizer.kmeans.k", toml::Value::Integer(16)),
            ("skipgram.dim", toml::Value::Integer(8)),
            ("skipgram.epochs", toml::Value::Integer(1)),
            ("run.n_threads", toml::Value::Integer(1)),
        ] {
            spec.set(k, v).expect("valid key");
        }
        spec.set(key, value).expect("valid key");
        spec
    }

    #[test]
    fn print_config_prints_a_valid_configuration() {
        let text = checked_config_toml(&tiny_spec("skipgram.epochs", toml::Value::Integer(2)))
            .expect("valid configuration");
        assert!(text.contains("epochs = 2"), "{text}");
    }

    #[test]
    fn print_config_fails_like_the_run_on_an_invalid_value() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let params = SyntheticParams {
            n_species: 2,
            train_files_per_species: 1,
            holdout_files_per_species: 0,
            n_train_soundscapes: 1,
            n_test_soundscapes: 1,
            soundscape_seconds: 5,
            recording_seconds: 3.0,
            ..SyntheticParams::tiny()
        };
        generate(dir.path(), &params).expect("synthetic data");
        let data = Dataset::open(dir.path()).expect("synthetic dataset opens");
        // One rule of a stage's own params and one rule that joins two stages.
        for (key, value) in [
            ("skipgram.dim", toml::Value::Integer(0)),
            ("data.secondary_label_weight", toml::Value::Float(1.5)),
        ] {
            let spec = tiny_spec(key, value);
            let printed = checked_config_toml(&spec).expect_err("invalid value must fail");
            let run = train(&data, &spec, &NoProgress).expect_err("invalid value must fail");
            assert_eq!(
                format!("{printed:#}"),
                format!("{:#}", anyhow::Error::from(run)),
                "{key}"
            );
        }
    }
}
