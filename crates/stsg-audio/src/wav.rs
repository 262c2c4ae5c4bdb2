//! A minimal WAV writer for generating test signals and fixtures.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes interleaved 16-bit PCM `samples` with `channels` channels at `sample_rate` Hz to a
/// canonical 44-byte-header WAV file at `path`.
///
/// # Errors
/// An `InvalidInput` error when `channels` is 0, does not divide `samples.len()`, or the data
/// exceeds the 4 GiB limit of RIFF; otherwise the errors of creating and writing the file.
pub fn write_wav_i16(
    path: &Path,
    sample_rate: u32,
    channels: u16,
    samples: &[i16],
) -> std::io::Result<()> {
    let invalid =
        |message: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_string());
    if channels == 0 || !samples.len().is_multiple_of(usize::from(channels)) {
        return Err(invalid(
            "wav: the sample count must be a multiple of a non-zero channel count",
        ));
    }
    let data_len = u32::try_from(samples.len() * 2)
        .ok()
        .filter(|&n| n <= u32::MAX - 36)
        .ok_or_else(|| invalid("wav: more than 4 GiB of samples"))?;
    let block_align = channels * 2;

    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(b"RIFF")?;
    out.write_all(&(36 + data_len).to_le_bytes())?;
    out.write_all(b"WAVEfmt ")?;
    out.write_all(&16u32.to_le_bytes())?;
    out.write_all(&1u16.to_le_bytes())?; // WAVE_FORMAT_PCM
    out.write_all(&channels.to_le_bytes())?;
    out.write_all(&sample_rate.to_le_bytes())?;
    out.write_all(&(sample_rate * u32::from(block_align)).to_le_bytes())?;
    out.write_all(&block_align.to_le_bytes())?;
    out.write_all(&16u16.to_le_bytes())?;
    out.write_all(b"data")?;
    out.write_all(&data_len.to_le_bytes())?;
    for sample in samples {
        out.write_all(&sample.to_le_bytes())?;
    }
    out.flush()
}
