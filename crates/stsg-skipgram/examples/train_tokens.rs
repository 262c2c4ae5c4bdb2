//! Trains skip-gram vectors on a token file and writes them in word2vec text format.
//!
//! The token file has one sequence per line, token ids separated by spaces. This is the Rust
//! side of `bench/gensim_compare.py`, which feeds gensim the same file.
//!
//! ```text
//! cargo run --release -p stsg-skipgram --example train_tokens -- \
//!     TOKENS OUT.txt [--dim 256] [--window 80] [--negative 5] [--ns-exponent 0.75]
//!     [--sample 1e-3] [--epochs 5] [--threads 1] [--seed 1] [--no-shrink]
//! ```
//!
//! It prints one JSON line with the training time, corpus size and throughput.

use std::path::PathBuf;
use std::time::Instant;

use stsg_core::TokenCorpus;
use stsg_skipgram::SkipGramParams;

fn value<T: std::str::FromStr>(args: &[String], i: usize, name: &str) -> T {
    args.get(i + 1)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} expects a value"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 {
        eprintln!(
            "usage: train_tokens TOKENS OUT.txt [--dim N] [--window N] [--negative N] [--ns-exponent X] [--sample X] [--epochs N] [--threads N] [--seed N] [--no-shrink]"
        );
        std::process::exit(2);
    }
    let tokens_path = PathBuf::from(&args[0]);
    let out_path = PathBuf::from(&args[1]);
    let mut params = SkipGramParams::new(256);
    let mut i = 2;
    while i < args.len() {
        let step = match args[i].as_str() {
            "--dim" => {
                params = params.dim(value(&args, i, "--dim"));
                2
            }
            "--window" => {
                params = params.window(value(&args, i, "--window"));
                2
            }
            "--negative" => {
                params = params.negative(value(&args, i, "--negative"));
                2
            }
            "--ns-exponent" => {
                params = params.ns_exponent(value(&args, i, "--ns-exponent"));
                2
            }
            "--sample" => {
                params = params.sample(value(&args, i, "--sample"));
                2
            }
            "--epochs" => {
                params = params.epochs(value(&args, i, "--epochs"));
                2
            }
            "--threads" => {
                params = params.n_threads(Some(value(&args, i, "--threads")));
                2
            }
            "--seed" => {
                params = params.seed(value(&args, i, "--seed"));
                2
            }
            "--no-shrink" => {
                params = params.shrink_windows(false);
                1
            }
            other => return Err(format!("unknown option {other}").into()),
        };
        i += step;
    }
    let params = params.check()?;

    let text = std::fs::read_to_string(&tokens_path)
        .map_err(|e| format!("{}: {e}", tokens_path.display()))?;
    let sequences = text
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(str::parse::<u32>)
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: invalid token id: {e}", tokens_path.display()))?;
    let n_tokens = sequences
        .iter()
        .flatten()
        .max()
        .map_or(0, |&t| t as usize + 1);
    let total: usize = sequences.iter().map(Vec::len).sum();
    let corpus = TokenCorpus {
        sequences: &sequences,
        n_tokens,
    };

    let start = Instant::now();
    let losses = std::sync::Mutex::new(Vec::new());
    let embeddings = params.fit_with_progress(corpus, |p| {
        if p.epoch_finished {
            eprintln!(
                "epoch {}/{}: loss {:.4e}, {:.0} tokens/s, alpha {:.5}",
                p.epoch + 1,
                p.epochs,
                p.loss,
                p.tokens_per_second,
                p.alpha
            );
            losses.lock().expect("losses lock").push(p.loss);
        }
    })?;
    let seconds = start.elapsed().as_secs_f64();
    embeddings.save_word2vec_text(&out_path)?;

    let threads = params.n_threads().unwrap_or(1);
    let tokens_per_second = (total * params.epochs()) as f64 / seconds;
    println!(
        "{{\"seconds\": {seconds:.3}, \"tokens\": {total}, \"epochs\": {}, \"threads\": {threads}, \"tokens_per_second\": {tokens_per_second:.1}, \"tokens_per_second_per_thread\": {:.1}, \"epoch_losses\": {:?}}}",
        params.epochs(),
        tokens_per_second / threads as f64,
        losses.into_inner().expect("losses lock"),
    );
    Ok(())
}
