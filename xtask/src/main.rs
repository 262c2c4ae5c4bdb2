//! `cargo xtask`: the stsg task runner. Each command lives in its own module and calls into
//! `stsg-pipeline`; run `cargo xtask help` for the list.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod decode;
mod embed;
mod eval;
mod features;
mod infer;
mod pipeline;
mod train;
mod ui;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "stsg tasks: decode, features, train, infer, eval, embed, pipeline, bench"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Decode audio files to mono and print one JSON line per file (rate, length, peak, RMS).
    Decode(decode::DecodeArgs),
    /// Write the frame features (v1 or v2 preset) of an audio file as a float32 .npy array.
    Features(features::FeaturesArgs),
    /// Train every stage on a BirdCLEF-layout folder and save a model bundle.
    Train(train::TrainArgs),
    /// Score audio files in 5 s windows with a model bundle and write a submission CSV.
    Infer(infer::InferArgs),
    /// Compute the BirdCLEF macro ROC-AUC of a submission against a solution file.
    Eval(eval::EvalArgs),
    /// Write the 5 s window embeddings of audio files as .npy plus a CSV index.
    Embed(embed::EmbedArgs),
    /// Train, infer and evaluate in one run (on synthetic data without --data).
    Pipeline(pipeline::PipelineArgs),
    /// Run every stage's criterion benches and an end-to-end throughput run.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<ExitCode> = match cli.command {
        Command::Decode(args) => decode::run(&args),
        Command::Features(args) => features::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Infer(args) => infer::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Embed(args) => embed::run(&args),
        Command::Pipeline(args) => pipeline::run(&args),
        Command::Bench(args) => bench::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// The `--help` text of a subcommand.
    fn long_help(name: &str) -> String {
        let mut cli = Cli::command();
        let sub = cli
            .find_subcommand_mut(name)
            .unwrap_or_else(|| panic!("no subcommand {name}"));
        sub.render_long_help().to_string()
    }

    #[test]
    fn partial_success_exit_status_is_in_help() {
        let code = format!("  {}  ", ui::EXIT_FILES_SKIPPED);
        for name in ["infer", "embed"] {
            let help = long_help(name);
            assert!(help.contains("Exit status:"), "{name}:\n{help}");
            assert!(help.contains(&code), "{name}:\n{help}");
            assert!(help.contains("skipped"), "{name}:\n{help}");
        }
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
