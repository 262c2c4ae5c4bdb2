//! Pooling of token vectors into one vector per fixed-length window.

use ndarray::Array2;

use crate::{CoreError, FrameTiming, TokenEmbeddings, WindowSpec};

/// Window vectors of one signal.
#[derive(Debug, Clone, PartialEq)]
pub struct Windows {
    /// `windows x dim`, row `g` is window `g`.
    pub vectors: Array2<f32>,
    /// End time in seconds of each window.
    pub end_times: Vec<f64>,
    /// Number of frames pooled into each window.
    pub frame_counts: Vec<usize>,
}

/// Pools one row per frame into one row per window.
pub trait Pooling: Send + Sync {
    /// Pools the vectors of `tokens` (one per frame, timed by `timing`) into windows.
    ///
    /// # Errors
    /// Stage-specific.
    fn pool(
        &self,
        tokens: &[u32],
        timing: &FrameTiming,
        embeddings: &dyn TokenEmbeddings,
    ) -> Result<Windows, CoreError>;
}

/// Unweighted mean of the token vectors of each window, as the STSG reference does.
///
/// Repeated tokens count each time; a token without a vector counts as a zero vector. Windows
/// run from 0 to the window of the last frame, so a short final window is kept; a window with
/// no frames (impossible when the hop is shorter than the window) is a zero row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanPooling {
    /// The window layout.
    pub spec: WindowSpec,
}

impl MeanPooling {
    /// Mean pooling over the given windows.
    ///
    /// # Errors
    /// [`CoreError::InvalidWindowLength`] for a window length that is not finite and positive.
    pub fn new(spec: WindowSpec) -> Result<Self, CoreError> {
        spec.check()?;
        Ok(Self { spec })
    }
}

impl Pooling for MeanPooling {
    fn pool(
        &self,
        tokens: &[u32],
        timing: &FrameTiming,
        embeddings: &dyn TokenEmbeddings,
    ) -> Result<Windows, CoreError> {
        let dim = embeddings.dim();
        let assignments: Vec<Option<usize>> = (0..tokens.len())
            .map(|k| self.spec.window_of(timing.frame_time(k)))
            .collect();
        let n_windows = assignments.iter().flatten().max().map_or(0, |g| g + 1);

        let mut vectors = Array2::<f32>::zeros((n_windows, dim));
        let mut frame_counts = vec![0usize; n_windows];
        for (&token, window) in tokens.iter().zip(&assignments) {
            let Some(g) = *window else { continue };
            frame_counts[g] += 1;
            if let Some(v) = embeddings.vector(token) {
                if v.len() != dim {
                    return Err(CoreError::Mismatch {
                        stage: "pooling",
                        what: "embedding dimension",
                        expected: dim,
                        got: v.len(),
                    });
                }
                let mut row = vectors.row_mut(g);
                row += &v;
            }
        }
        for (g, &count) in frame_counts.iter().enumerate() {
            if count > 0 {
                let mut row = vectors.row_mut(g);
                row /= count as f32;
            }
        }
        let end_times = (0..n_windows).map(|g| self.spec.end_time(g)).collect();
        Ok(Windows {
            vectors,
            end_times,
            frame_counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use ndarray::{Array2, ArrayView1, array};

    use super::*;

    struct Table(Array2<f32>, Vec<bool>);

    impl TokenEmbeddings for Table {
        fn dim(&self) -> usize {
            self.0.ncols()
        }
        fn n_tokens(&self) -> usize {
            self.0.nrows()
        }
        fn vector(&self, token: u32) -> Option<ArrayView1<'_, f32>> {
            let t = token as usize;
            (t < self.0.nrows() && self.1[t]).then(|| self.0.row(t))
        }
    }

    fn stsg_timing() -> FrameTiming {
        FrameTiming::new(32_000, 8_000, 4_000).unwrap()
    }

    #[test]
    fn sixty_seconds_give_39_then_40_frames() {
        let table = Table(array![[1.0, 2.0]], vec![true]);
        let pooling = MeanPooling::new(WindowSpec::birdclef()).unwrap();
        let windows = pooling.pool(&[0; 479], &stsg_timing(), &table).unwrap();
        assert_eq!(windows.frame_counts[0], 39);
        assert!(windows.frame_counts[1..].iter().all(|&c| c == 40));
        assert_eq!(windows.frame_counts.len(), 12);
        assert_eq!(windows.end_times[11], 60.0);
        assert_eq!(windows.vectors.row(5), array![1.0, 2.0]);
    }

    #[test]
    fn mean_counts_repeats_and_zero_for_missing() {
        let table = Table(
            array![[2.0, 0.0], [0.0, 4.0], [9.0, 9.0]],
            vec![true, true, false],
        );
        let pooling = MeanPooling::new(WindowSpec::birdclef()).unwrap();
        // Four frames in window 0: tokens 0, 0, 1 and 2 (2 has no vector).
        let windows = pooling.pool(&[0, 0, 1, 2], &stsg_timing(), &table).unwrap();
        assert_eq!(windows.vectors.nrows(), 1);
        assert_eq!(windows.vectors.row(0), array![1.0, 1.0]);
    }

    #[test]
    fn short_final_window_is_kept() {
        let table = Table(array![[1.0]], vec![true]);
        let pooling = MeanPooling::new(WindowSpec::birdclef()).unwrap();
        // 40 frames: t = 0.125 .. 5.0, so window 1 holds one frame.
        let windows = pooling.pool(&[0; 40], &stsg_timing(), &table).unwrap();
        assert_eq!(windows.frame_counts, vec![39, 1]);
    }

    #[test]
    fn frames_past_max_windows_are_dropped() {
        let table = Table(array![[1.0]], vec![true]);
        let spec = WindowSpec {
            length_s: 5.0,
            max_windows: Some(1),
        };
        let windows = MeanPooling::new(spec)
            .unwrap()
            .pool(&[0; 100], &stsg_timing(), &table)
            .unwrap();
        assert_eq!(windows.frame_counts, vec![39]);
    }
}
