//! [`MelStream`]: the frontend over a signal that arrives in chunks.

use std::sync::Arc;

use ndarray::Array2;

use crate::MelError;
use crate::frontend::{Engine, FrameScratch, check_finite};

/// Computes frames from consecutive chunks of one signal, keeping the samples that later frames
/// still need across chunk borders.
///
/// Concatenating the rows returned by every [`MelStream::push`] and by [`MelStream::finish`]
/// gives exactly (bit for bit) what [`MelFrontend::features`](crate::MelFrontend::features)
/// returns for the whole signal, whatever the chunk sizes. Memory stays below one frame plus one
/// chunk.
pub struct MelStream {
    engine: Arc<Engine>,
    parallel: bool,
    scratch: FrameScratch,
    /// Samples from the start of the next frame onwards.
    pending: Vec<f32>,
    samples_seen: u64,
    frames_emitted: u64,
}

impl std::fmt::Debug for MelStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelStream")
            .field("pending", &self.pending.len())
            .field("samples_seen", &self.samples_seen)
            .field("frames_emitted", &self.frames_emitted)
            .finish()
    }
}

impl MelStream {
    pub(crate) fn new(engine: Arc<Engine>, parallel: bool) -> Self {
        let scratch = engine.scratch();
        Self {
            engine,
            parallel,
            scratch,
            pending: Vec::new(),
            samples_seen: 0,
            frames_emitted: 0,
        }
    }

    /// Adds the next chunk and returns the frames it completes (`0..` rows of `n_features`).
    ///
    /// # Errors
    /// [`MelError::NonFiniteSample`] with the sample's index from the start of the stream. The
    /// chunk is then not consumed and the stream stays usable.
    pub fn push(&mut self, chunk: &[f32]) -> Result<Array2<f32>, MelError> {
        check_finite(chunk, self.samples_seen)?;
        self.samples_seen += chunk.len() as u64;
        self.pending.extend_from_slice(chunk);

        let frame_length = self.engine.frame_length();
        let hop = self.engine.hop_length();
        let n_frames = if self.pending.len() >= frame_length {
            (self.pending.len() - frame_length) / hop + 1
        } else {
            0
        };
        let mut out = Array2::zeros((n_frames, self.engine.n_features()));
        if n_frames > 0 {
            self.engine
                .frames(&self.pending, &mut out, self.parallel, &mut self.scratch);
            self.pending.drain(..n_frames * hop);
            self.frames_emitted += n_frames as u64;
        }
        Ok(out)
    }

    /// Ends the signal and returns the remaining frames: the single zero-padded frame when the
    /// whole signal was shorter than one frame, otherwise none (trailing samples that do not fill
    /// a frame are dropped, as in the whole-signal case).
    ///
    /// # Errors
    /// None at present. The `Result` keeps room for checks at the end of a stream.
    pub fn finish(mut self) -> Result<Array2<f32>, MelError> {
        let n_features = self.engine.n_features();
        if self.frames_emitted > 0 || self.samples_seen == 0 {
            return Ok(Array2::zeros((0, n_features)));
        }
        self.pending.resize(self.engine.frame_length(), 0.0);
        let mut out = Array2::zeros((1, n_features));
        self.engine
            .frames(&self.pending, &mut out, false, &mut self.scratch);
        Ok(out)
    }

    /// Number of samples pushed so far.
    pub fn samples_seen(&self) -> u64 {
        self.samples_seen
    }

    /// Number of frames returned so far.
    pub fn frames_emitted(&self) -> u64 {
        self.frames_emitted
    }
}
