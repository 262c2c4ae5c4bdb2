//! `cargo xtask eval --submission F --solution F`: the BirdCLEF macro ROC-AUC of a submission.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use stsg_pipeline::{Submission, score_submission};

/// Arguments of `cargo xtask eval`.
#[derive(Args)]
pub struct EvalArgs {
    /// Submission CSV (`row_id` plus one score column per class).
    #[arg(long, value_name = "FILE")]
    submission: PathBuf,
    /// Solution CSV of the same shape with 0/1 targets, e.g. `test_solution.csv`.
    #[arg(long, value_name = "FILE")]
    solution: PathBuf,
    /// Also print the ROC-AUC of every class.
    #[arg(long)]
    per_class: bool,
}

/// Scores the submission and prints the macro ROC-AUC.
pub fn run(args: &EvalArgs) -> anyhow::Result<ExitCode> {
    let submission = Submission::read_csv(&args.submission)?;
    let solution = Submission::read_csv(&args.solution)?;
    let score = score_submission(&submission, &solution)?;
    let mut out = std::io::stdout().lock();
    let printed = print_score(&mut out, &score, args.per_class);
    // A reader that stops early (`| head`) closes the pipe; that is not a failure of the scoring.
    if let Err(e) = printed
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(e.into());
    }
    Ok(ExitCode::SUCCESS)
}

fn print_score(
    out: &mut impl std::io::Write,
    score: &stsg_pipeline::SubmissionScore,
    per_class: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "macro ROC-AUC {:.4} over {} classes with positives ({} rows)",
        score.macro_auc, score.n_scored_classes, score.n_rows
    )?;
    if per_class {
        for (name, auc) in &score.per_class {
            match auc {
                Some(v) => writeln!(out, "  {name:<32} {v:.4}")?,
                None => writeln!(out, "  {name:<32} n/a (no positive or no negative row)")?,
            }
        }
    }
    Ok(())
}
