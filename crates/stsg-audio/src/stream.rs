//! Chunked decoding: [`AudioStream`] yields mono samples at the target rate in bounded memory.

use std::path::Path;

use crate::resample::RateConverter;
use crate::source::{DecodeIssues, Source};
use crate::{AudioError, AudioInfo, MAX_SAMPLE_RATE};

/// A file decoded piece by piece into mono chunks of a fixed length at a target sample rate.
///
/// Memory stays bounded by the chunk length plus one codec packet and one resampler block, so a
/// 24-hour recording streams as cheaply as a 5-second one. Chunks concatenated equal
/// [`crate::decode_file`] of the same file sample for sample.
///
/// ```no_run
/// use stsg_audio::{AudioStream, DEFAULT_SAMPLE_RATE};
///
/// let mut stream = AudioStream::open("dawn.ogg".as_ref(), DEFAULT_SAMPLE_RATE, 160_000)?;
/// while let Some(chunk) = stream.next_chunk()? {
///     println!("{} samples", chunk.len()); // 160000, ..., then the rest
/// }
/// # Ok::<(), stsg_audio::AudioError>(())
/// ```
pub struct AudioStream {
    source: Source,
    converter: Option<RateConverter>,
    target_rate: u32,
    chunk_len: usize,
    planes: Vec<Vec<f32>>,
    mono: Vec<f32>,
    /// Target-rate samples decoded but not yet returned.
    ready: Vec<f32>,
    /// Whether the source is exhausted and the resampler flushed.
    finished: bool,
}

impl AudioStream {
    /// Opens `path` for decoding into mono chunks of `chunk_len` samples at `target_rate` Hz.
    ///
    /// Reads only the file's headers; decoding happens in [`AudioStream::next_chunk`]. When the
    /// file's rate equals `target_rate` no resampling is done and the samples are the decoder's
    /// own (averaged over channels).
    ///
    /// # Errors
    /// [`AudioError::InvalidTargetRate`] and [`AudioError::InvalidChunkLen`] for bad arguments;
    /// for the file, the errors of [`crate::probe`].
    pub fn open(path: &Path, target_rate: u32, chunk_len: usize) -> Result<Self, AudioError> {
        if !(1..=MAX_SAMPLE_RATE).contains(&target_rate) {
            return Err(AudioError::InvalidTargetRate { rate: target_rate });
        }
        if chunk_len == 0 {
            return Err(AudioError::InvalidChunkLen);
        }
        let source = Source::open(path)?;
        let from = source.info().sample_rate;
        let converter = if from == target_rate {
            None
        } else {
            let converter =
                RateConverter::new(from, target_rate).map_err(|reason| AudioError::Resample {
                    path: path.to_path_buf(),
                    from,
                    to: target_rate,
                    reason,
                })?;
            Some(converter)
        };
        log::debug!(
            "audio: opened {} codec={} rate={} channels={} target_rate={target_rate}",
            path.display(),
            source.info().codec,
            from,
            source.info().channels,
        );
        Ok(AudioStream {
            source,
            converter,
            target_rate,
            chunk_len,
            planes: Vec::new(),
            mono: Vec::new(),
            ready: Vec::new(),
            finished: false,
        })
    }

    /// Decodes until one chunk is ready and returns it: exactly `chunk_len` samples, except the
    /// last chunk, which may be shorter. Returns `Ok(None)` after the last chunk.
    ///
    /// # Errors
    /// [`AudioError::Decode`] when the data is corrupt beyond recovery (see the crate docs for
    /// what is recovered), [`AudioError::Io`] when reading fails.
    pub fn next_chunk(&mut self) -> Result<Option<Vec<f32>>, AudioError> {
        self.fill(self.chunk_len)?;
        if self.ready.is_empty() {
            return Ok(None);
        }
        let take = self.chunk_len.min(self.ready.len());
        if take == self.ready.len() {
            return Ok(Some(std::mem::take(&mut self.ready)));
        }
        Ok(Some(self.ready.drain(..take).collect()))
    }

    /// Returns the file's description from its headers (at its own rate, before downmix and
    /// resampling).
    pub fn info(&self) -> &AudioInfo {
        self.source.info()
    }

    /// Returns the sample rate of the chunks in Hz.
    pub fn target_rate(&self) -> u32 {
        self.target_rate
    }

    /// Returns the problems recovered from so far: skipped packets, lost frames, truncation.
    pub fn issues(&self) -> DecodeIssues {
        self.source.issues()
    }

    /// Decodes the rest of the file and returns all its samples.
    pub(crate) fn read_to_end(mut self) -> Result<(Vec<f32>, AudioInfo, DecodeIssues), AudioError> {
        if let Some(frames) = self.info().frames {
            let from = self.info().sample_rate;
            let expected = crate::resample::expected_len(frames, from, self.target_rate);
            // The header's length is untrusted, so cap the up-front reservation (10 min at
            // 32 kHz); a longer file grows the vector as it decodes.
            let reserve = usize::try_from(expected).unwrap_or(usize::MAX).min(1 << 24);
            self.ready.reserve(reserve + 1);
        }
        self.fill(usize::MAX)?;
        let issues = self.source.issues();
        Ok((self.ready, self.source.info().clone(), issues))
    }

    /// Decodes packets until `ready` contains at least `want` samples or the file ends.
    fn fill(&mut self, want: usize) -> Result<(), AudioError> {
        while self.ready.len() < want && !self.finished {
            if self.source.next_block(&mut self.planes)? {
                self.take_block()?;
            } else {
                if let Some(converter) = &mut self.converter {
                    converter
                        .finish(&mut self.ready)
                        .map_err(|reason| self.resample_error(reason))?;
                }
                self.finished = true;
            }
        }
        Ok(())
    }

    /// Downmixes the decoded block and moves it, resampled if needed, to `ready`.
    fn take_block(&mut self) -> Result<(), AudioError> {
        match &mut self.converter {
            None => downmix(&self.planes, &mut self.ready),
            Some(converter) => {
                let result = if self.planes.len() == 1 {
                    converter.push(&self.planes[0], &mut self.ready)
                } else {
                    self.mono.clear();
                    downmix(&self.planes, &mut self.mono);
                    converter.push(&self.mono, &mut self.ready)
                };
                result.map_err(|reason| self.resample_error(reason))?;
            }
        }
        Ok(())
    }

    fn resample_error(&self, reason: String) -> AudioError {
        AudioError::Resample {
            path: self.source.path().to_path_buf(),
            from: self.source.info().sample_rate,
            to: self.target_rate,
            reason,
        }
    }
}

/// Appends the mean of the channels in `planes` to `out`.
pub(crate) fn downmix(planes: &[Vec<f32>], out: &mut Vec<f32>) {
    match planes {
        [] => {}
        [mono] => out.extend_from_slice(mono),
        [left, right] => out.extend(left.iter().zip(right).map(|(l, r)| (l + r) * 0.5)),
        [first, rest @ ..] => {
            let start = out.len();
            out.extend_from_slice(first);
            let added = &mut out[start..];
            for plane in rest {
                for (sum, sample) in added.iter_mut().zip(plane) {
                    *sum += sample;
                }
            }
            let scale = 1.0 / planes.len() as f32;
            added.iter_mut().for_each(|s| *s *= scale);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        let mut out = vec![9.0];
        downmix(&[vec![1.0, 2.0], vec![3.0, -2.0]], &mut out);
        assert_eq!(out, vec![9.0, 2.0, 0.0]);

        let mut out = Vec::new();
        downmix(&[vec![3.0], vec![6.0], vec![-3.0]], &mut out);
        assert_eq!(out, vec![2.0]);
    }

    #[test]
    fn stream_memory_stays_bounded() {
        // Two minutes of 44.1 kHz stereo: the buffered samples must stay near one chunk.
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("long.wav");
        let frames = 120 * 44_100;
        let samples: Vec<i16> = (0..2 * frames).map(|i| (i % 2000) as i16 - 1000).collect();
        crate::write_wav_i16(&path, 44_100, 2, &samples).expect("write wav");

        let chunk_len = 16_000;
        let mut stream = AudioStream::open(&path, 32_000, chunk_len).expect("open");
        let mut total = 0;
        while let Some(chunk) = stream.next_chunk().expect("chunk") {
            total += chunk.len();
            assert!(
                stream.ready.capacity() <= chunk_len + 65_536,
                "buffer capacity {} after {total} samples",
                stream.ready.capacity()
            );
        }
        assert_eq!(total, 120 * 32_000);
    }

    #[test]
    fn downmix_does_not_clip() {
        let mut out = Vec::new();
        downmix(&[vec![1.5], vec![1.25]], &mut out);
        assert_eq!(out, vec![1.375]);
    }
}
