//! `cargo xtask bench`: every stage's criterion benches plus an end-to-end inference run, with
//! one summary table.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use clap::Args;
use stsg_pipeline::synthetic::{SyntheticParams, generate};
use stsg_pipeline::{ConfigSpec, Dataset, NoProgress, Preset, SkipLog, train, with_threads};

use crate::ui::{self, Bars};

/// Arguments of `cargo xtask bench`.
#[derive(Args)]
pub struct BenchArgs {
    /// Criterion warm-up time per benchmark, in seconds.
    #[arg(long, default_value_t = 1)]
    warm_up_time: u64,
    /// Criterion measurement time per benchmark, in seconds.
    #[arg(long, default_value_t = 3)]
    measurement_time: u64,
    /// Only run criterion benches whose name contains this text (criterion's filter).
    #[arg(long)]
    filter: Option<String>,
    /// Skip the criterion benches and run only the end-to-end measurement.
    #[arg(long)]
    end_to_end_only: bool,
    /// Data folder for the end-to-end run (default: `birdclef-mini` in the shared data folder
    /// when present, else a generated synthetic dataset).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Worker threads of the end-to-end run (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// One row of the summary table.
struct Row {
    stage: String,
    input: String,
    speed: String,
}

/// Runs the benches and prints the table.
pub fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let bars = Bars::new();
    ui::init_logging(&bars);
    let mut rows = Vec::new();
    if !args.end_to_end_only {
        rows.extend(criterion_rows(args)?);
    }
    rows.extend(end_to_end_rows(args)?);

    let width = rows.iter().map(|r| r.stage.len()).max().unwrap_or(5).max(5);
    let input_width = rows.iter().map(|r| r.input.len()).max().unwrap_or(5).max(5);
    println!();
    println!("{:<width$}  {:<input_width$}  speed", "stage", "input");
    println!("{}", "-".repeat(width + input_width + 24));
    for row in &rows {
        println!(
            "{:<width$}  {:<input_width$}  {}",
            row.stage, row.input, row.speed
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `cargo bench -p stsg-benches` and reads criterion's JSON estimates of this run.
fn criterion_rows(args: &BenchArgs) -> anyhow::Result<Vec<Row>> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let started = SystemTime::now();
    let mut command = Command::new(&cargo);
    command.args(["bench", "-p", "stsg-benches", "--"]);
    if let Some(filter) = &args.filter {
        command.arg(filter);
    }
    command.args([
        "--warm-up-time",
        &args.warm_up_time.to_string(),
        "--measurement-time",
        &args.measurement_time.to_string(),
    ]);
    tracing::info!("running {command:?}");
    let status = command.status().context("cannot run cargo bench")?;
    anyhow::ensure!(
        status.success(),
        "cargo bench -p stsg-benches failed ({status})"
    );

    let criterion_dir = target_dir(&cargo)?.join("criterion");
    let mut rows = Vec::new();
    for estimates in find_files(&criterion_dir, "estimates.json") {
        // Only `<bench>/new/estimates.json` written by this run.
        if estimates.parent().and_then(Path::file_name) != Some("new".as_ref()) {
            continue;
        }
        let fresh = std::fs::metadata(&estimates)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t >= started);
        if !fresh {
            continue;
        }
        if let Some(row) = criterion_row(&estimates)? {
            rows.push(row);
        }
    }
    rows.sort_by(|a, b| a.stage.cmp(&b.stage));
    Ok(rows)
}

fn criterion_row(estimates: &Path) -> anyhow::Result<Option<Row>> {
    let dir = estimates.parent().context("estimates.json has a folder")?;
    let read = |path: &Path| -> anyhow::Result<serde_json::Value> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_slice(&bytes)?)
    };
    let benchmark = read(&dir.join("benchmark.json"))?;
    let estimates = read(estimates)?;
    let Some(mean_ns) = estimates["mean"]["point_estimate"].as_f64() else {
        return Ok(None);
    };
    let id = benchmark["full_id"].as_str().unwrap_or("?").to_string();
    let (stage, input) = match id.split_once('/') {
        Some((group, rest)) => (group.to_string(), rest.to_string()),
        None => (id.clone(), String::new()),
    };
    let per_second = |n: f64| n / (mean_ns * 1e-9);
    let speed = match &benchmark["throughput"] {
        serde_json::Value::Object(t) if t.contains_key("Elements") => format!(
            "{} elements/s ({})",
            si(per_second(t["Elements"].as_f64().unwrap_or(0.0))),
            time(mean_ns)
        ),
        serde_json::Value::Object(t) if t.contains_key("Bytes") => format!(
            "{}B/s ({})",
            si(per_second(t["Bytes"].as_f64().unwrap_or(0.0))),
            time(mean_ns)
        ),
        _ => time(mean_ns),
    };
    Ok(Some(Row {
        stage,
        input,
        speed,
    }))
}

/// Trains the default configuration and times inference over the test soundscapes.
fn end_to_end_rows(args: &BenchArgs) -> anyhow::Result<Vec<Row>> {
    let scratch = tempfile_dir()?;
    let data_dir = match &args.data {
        Some(dir) => dir.clone(),
        None => match shared_birdclef_mini() {
            Some(dir) => dir,
            None => {
                let dir = scratch.join("synthetic_data");
                tracing::warn!("bench: shared data not found; timing on SYNTHETIC data");
                generate(&dir, &SyntheticParams::new())?;
                dir
            }
        },
    };
    let data = Dataset::open(&data_dir)?;
    anyhow::ensure!(
        !data.test_soundscapes.is_empty(),
        "{} has no test soundscapes to time",
        data_dir.display()
    );
    let spec = ConfigSpec::new(Preset::Auto);
    let train_start = Instant::now();
    let (model, _) = with_threads(args.threads, || train(&data, &spec, &NoProgress))??;
    let train_seconds = train_start.elapsed().as_secs_f64();

    // The median of three runs, so that one disturbed run does not decide.
    let mut runs = Vec::new();
    for _ in 0..3 {
        let skips = SkipLog::default();
        let inference = with_threads(args.threads, || {
            model.infer(&data.test_soundscapes, &NoProgress, &skips)
        })??;
        runs.push((
            inference.realtime_factor(),
            inference.audio_seconds,
            inference.seconds,
        ));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (factor, audio, seconds) = runs[1];
    let _ = std::fs::remove_dir_all(&scratch);
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    Ok(vec![
        Row {
            stage: "end-to-end train".to_string(),
            input: format!("{} ({})", data_dir.display(), model.config.preset.name()),
            speed: format!("{train_seconds:.1} s"),
        },
        Row {
            stage: "end-to-end inference".to_string(),
            input: format!(
                "{} test soundscapes, {:.1} min",
                data.test_soundscapes.len(),
                audio / 60.0
            ),
            speed: format!("{factor:.0}x real time ({seconds:.2} s, {threads} threads)"),
        },
    ])
}

/// `birdclef-mini` in `STSG_DATA_DIR`, else in `../shared/data` beside the workspace.
fn shared_birdclef_mini() -> Option<PathBuf> {
    let base = match std::env::var_os("STSG_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
    };
    let dir = base.join("birdclef-mini");
    dir.is_dir().then_some(dir)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("stsg-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn target_dir(cargo: &std::ffi::OsStr) -> anyhow::Result<PathBuf> {
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .context("cannot run cargo metadata")?;
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("cargo metadata has no target_directory")
}

fn find_files(dir: &Path, name: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == name) {
                out.push(path);
            }
        }
    }
    out
}

/// `1.23 M` style formatting.
fn si(value: f64) -> String {
    let (scaled, prefix) = if value >= 1e9 {
        (value / 1e9, "G")
    } else if value >= 1e6 {
        (value / 1e6, "M")
    } else if value >= 1e3 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    format!("{scaled:.2} {prefix}")
}

fn time(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}
