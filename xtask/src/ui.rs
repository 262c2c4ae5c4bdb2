//! What the pipeline commands share: logging, progress bars, configuration flags and the
//! closing summary.

use std::ffi::OsStr;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use stsg_pipeline::{ConfigSpec, Preset, SkippedFile};
use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Configuration flags of `train` and `pipeline`.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// TOML configuration file: `preset = "..."` plus override tables (see the stsg-pipeline
    /// `config` module docs).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Preset to start from: auto, paper-v1, paper-v2 or small-data (overrides the file's).
    #[arg(long)]
    pub preset: Option<String>,
    /// Override one value, as a dotted key and a TOML value, e.g. `--set skipgram.epochs=10`.
    /// Repeatable; applied after the file.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

impl ConfigArgs {
    /// The configuration the flags describe.
    pub fn spec(&self) -> anyhow::Result<ConfigSpec> {
        let mut spec = match &self.config {
            Some(path) => ConfigSpec::from_file(path)?,
            None => ConfigSpec::new(Preset::Auto),
        };
        if let Some(name) = &self.preset {
            spec.preset = Preset::from_name(name)?;
        }
        for item in &self.overrides {
            let (key, value) = item
                .split_once('=')
                .with_context(|| format!("--set {item:?}: expected KEY=VALUE"))?;
            spec.set(key.trim(), parse_value(value.trim()))?;
        }
        if let Some(n) = self.threads {
            spec.set("run.n_threads", toml::Value::Integer(n as i64))?;
        }
        Ok(spec)
    }
}

/// A TOML value from the command line; text that is not valid TOML is taken as a string, so
/// `--set data.tokenizer_corpus=soundscapes` needs no quotes.
fn parse_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

/// Progress bars for the pipeline stages, drawn on stderr when it is a terminal.
#[derive(Clone)]
pub struct Bars {
    multi: MultiProgress,
}

impl Bars {
    /// Bars on stderr; hidden when stderr is not a terminal.
    pub fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
        }
    }
}

struct Bar(ProgressBar);

impl stsg_pipeline::Progress for Bars {
    fn start(&self, stage: &str, total: u64, unit: &str) -> Box<dyn stsg_pipeline::ProgressBar> {
        let bar = self.multi.add(ProgressBar::new(total));
        let template =
            format!("{{prefix:>18}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{elapsed}} {{msg}}");
        bar.set_style(
            ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(stage.to_string());
        Box::new(Bar(bar))
    }
}

impl stsg_pipeline::ProgressBar for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }
    fn set_position(&self, pos: u64) {
        self.0.set_position(pos);
    }
    fn set_message(&self, message: String) {
        self.0.set_message(message);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// Writes log lines above the progress bars instead of through them.
#[derive(Clone)]
struct SuspendingStderr(MultiProgress);

impl Write for SuspendingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stderr().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for SuspendingStderr {
    type Writer = SuspendingStderr;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the tracing subscriber: level from `RUST_LOG` (default `info`, Symphonia at
/// `warn`), records of the libraries' `log` calls included, lines written above the progress
/// bars of `bars`. Lines are coloured only when [`colour_logs`] allows it.
pub fn init_logging(bars: &Bars) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,symphonia=warn"));
    let ansi = colour_logs(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    // `try_init` also routes `log` records into tracing (tracing-subscriber's `tracing-log`
    // feature). A second call in one process fails harmlessly.
    let _ = log_subscriber(filter, ansi, SuspendingStderr(bars.multi.clone())).try_init();
}

/// Returns whether log lines get ANSI colour codes: only on a terminal, and not when
/// `NO_COLOR` is set to a non-empty value (<https://no-color.org>), so that a log redirected to
/// a file is plain text.
fn colour_logs(stderr_is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(OsStr::is_empty)
}

/// Builds the log formatter of [`init_logging`], writing to `writer`.
fn log_subscriber<W>(filter: EnvFilter, ansi: bool, writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer)
        .finish()
}

/// Exit status of `infer` and `embed` when they wrote their output but skipped some files
/// (documented in their `--help`).
pub const EXIT_FILES_SKIPPED: u8 = 2;

/// Success when no file was skipped, else [`EXIT_FILES_SKIPPED`].
pub fn exit_code(skipped: &[SkippedFile]) -> ExitCode {
    if skipped.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FILES_SKIPPED)
    }
}

/// Prints the skipped files grouped with their reasons.
pub fn print_skipped(skipped: &[SkippedFile]) {
    if skipped.is_empty() {
        println!("  files skipped:     none");
        return;
    }
    println!("  files skipped:     {}", skipped.len());
    for file in skipped {
        println!(
            "    - [{}] {}: {}",
            file.stage,
            file.path.display(),
            file.reason
        );
    }
}

/// Prints `name: seconds` rows.
pub fn print_times(times: &[(String, f64)]) {
    println!("  time per stage:");
    for (name, seconds) in times {
        println!("    {name:<16} {seconds:>9.2} s");
    }
}

/// Formats an optional score.
pub fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.4}"))
}

/// Loads the model bundle at `model` and lists the audio files of `audio` (files or folders).
///
/// # Errors
/// The bundle does not load, or `audio` names no audio file.
pub fn load_model_and_audio(
    model: &std::path::Path,
    audio: &[PathBuf],
) -> anyhow::Result<(stsg_pipeline::Model, Vec<PathBuf>)> {
    let model = stsg_pipeline::Model::load(model)?;
    let files = stsg_pipeline::expand_audio_paths(audio)?;
    anyhow::ensure!(!files.is_empty(), "no audio files found in {audio:?}");
    Ok((model, files))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A log writer that keeps what it is given.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .expect("log buffer lock")
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// Formats one `info` line as [`init_logging`] would with `ansi`.
    fn log_line(ansi: bool) -> String {
        let out = Captured::default();
        let subscriber = log_subscriber(EnvFilter::new("info"), ansi, out.clone());
        tracing::subscriber::with_default(subscriber, || tracing::info!("stage done"));
        let bytes = out.0.lock().expect("log buffer lock").clone();
        String::from_utf8(bytes).expect("log lines are UTF-8")
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour_logs(true, None));
        assert!(colour_logs(true, Some(OsStr::new(""))));
        assert!(!colour_logs(false, None));
        assert!(!colour_logs(true, Some(OsStr::new("1"))));
        assert!(!colour_logs(false, Some(OsStr::new("1"))));
    }

    #[test]
    fn redirected_log_has_no_escape_codes() {
        let plain = log_line(colour_logs(false, None));
        assert!(plain.contains("stage done"), "{plain:?}");
        assert!(!plain.contains('\u{1b}'), "{plain:?}");
        let no_color = log_line(colour_logs(true, Some(OsStr::new("1"))));
        assert!(!no_color.contains('\u{1b}'), "{no_color:?}");
        // The terminal case does colour, so the checks above test the switch.
        let coloured = log_line(colour_logs(true, None));
        assert!(coloured.contains('\u{1b}'), "{coloured:?}");
    }
}
