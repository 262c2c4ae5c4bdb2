//! `cargo xtask embed --model BUNDLE --audio ... --out FILE.npy`: window embeddings for users'
//! own classifiers.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use ndarray::{Axis, concatenate};
use stsg_pipeline::{SkipLog, row_id, with_threads};

use crate::ui::{self, Bars};

/// Arguments of `cargo xtask embed`.
#[derive(Args)]
#[command(after_help = "\
Exit status:
  0  every file was embedded and the .npy and index written
  1  error (printed on stderr)
  2  the .npy and index were written, but some files could not be read and were skipped;
     the summary lists them with the reason, and they have no rows.
     (A command-line usage error also exits with 2, before anything runs.)")]
pub struct EmbedArgs {
    /// Model bundle folder.
    #[arg(long, value_name = "BUNDLE")]
    model: PathBuf,
    /// Audio files, or folders whose audio files are all embedded (not recursive).
    #[arg(long, value_name = "DIR_OR_FILES", num_args = 1.., required = true)]
    audio: Vec<PathBuf>,
    /// Output `.npy` file: `windows x dim` float32. The index goes beside it with the extension
    /// `.csv`: `row, file, row_id, start_s, end_s`.
    #[arg(long, value_name = "FILE.npy")]
    out: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
}

/// Embeds every 5 s window of every file.
pub fn run(args: &EmbedArgs) -> anyhow::Result<ExitCode> {
    let bars = Bars::new();
    ui::init_logging(&bars);
    let (model, files) = ui::load_model_and_audio(&args.model, &args.audio)?;
    let skips = SkipLog::default();
    let embedded = with_threads(args.threads, || {
        model.map_files(&files, "embed", &bars, &skips, |p| model.embed_file(p))
    })?;
    let views: Vec<_> = embedded.iter().map(|f| f.vectors.view()).collect();
    let dim = stsg_pipeline::core::TokenEmbeddings::dim(&model.embeddings);
    let vectors = if views.is_empty() {
        ndarray::Array2::<f32>::zeros((0, dim))
    } else {
        concatenate(Axis(0), &views)?
    };
    ndarray_npy::write_npy(&args.out, &vectors)
        .with_context(|| format!("writing {}", args.out.display()))?;

    let index_path = args.out.with_extension("csv");
    let mut index = std::io::BufWriter::new(
        std::fs::File::create(&index_path)
            .with_context(|| format!("creating {}", index_path.display()))?,
    );
    writeln!(index, "row,file,row_id,start_s,end_s")?;
    let window = model.config.windows.length_s;
    let mut row = 0usize;
    for file in &embedded {
        let stem = file
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        for &end in &file.end_times {
            writeln!(
                index,
                "{row},{},{},{},{}",
                csv_field(&file.path.display().to_string()),
                csv_field(&row_id(&stem, end)),
                end - window,
                end
            )?;
            row += 1;
        }
    }
    index.flush()?;

    let skipped = skips.to_vec();
    println!("embedding finished");
    println!("  files processed:   {}", embedded.len());
    ui::print_skipped(&skipped);
    println!("  windows:           {} x {dim}", vectors.nrows());
    println!("  embeddings:        {}", args.out.display());
    println!("  index:             {}", index_path.display());
    Ok(ui::exit_code(&skipped))
}

/// Quotes a CSV field when it contains a comma, quote or newline.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
