//! Frame timing and 5 s window layout.

use serde::{Deserialize, Serialize};

use crate::CoreError;

/// How frames are laid over a signal: frame length and hop in samples at a sample rate.
///
/// Frame `k` covers samples `k * hop .. k * hop + frame_length` and is stamped with its centre,
/// `(frame_length / 2 + k * hop) / sample_rate` seconds. At the STSG defaults (32 kHz, 8000-sample
/// frames, 4000 hop) that is `0.125 * (k + 1)` s, 8 frames per second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameTiming {
    /// Sample rate of the signal in Hz.
    pub sample_rate: u32,
    /// Frame (analysis window) length in samples.
    pub frame_length: usize,
    /// Distance between frame starts in samples.
    pub hop_length: usize,
}

impl FrameTiming {
    /// Creates a timing, checking that every value is positive.
    ///
    /// # Errors
    /// [`CoreError::InvalidTiming`] when the sample rate, frame length or hop is zero.
    pub fn new(
        sample_rate: u32,
        frame_length: usize,
        hop_length: usize,
    ) -> Result<Self, CoreError> {
        if sample_rate == 0 || frame_length == 0 || hop_length == 0 {
            return Err(CoreError::InvalidTiming(format!(
                "sample_rate {sample_rate}, frame_length {frame_length}, hop_length {hop_length}"
            )));
        }
        Ok(Self {
            sample_rate,
            frame_length,
            hop_length,
        })
    }

    /// Time in seconds of the centre of frame `k`.
    pub fn frame_time(&self, k: usize) -> f64 {
        (self.frame_length as f64 / 2.0 + (k * self.hop_length) as f64) / self.sample_rate as f64
    }

    /// Frames per second (`sample_rate / hop_length`).
    pub fn frames_per_second(&self) -> f64 {
        self.sample_rate as f64 / self.hop_length as f64
    }

    /// Number of frames for a signal of `n_samples` samples.
    ///
    /// Frames lie fully inside the signal: `floor((n - frame_length) / hop) + 1`. A non-empty
    /// signal shorter than one frame gives one (zero-padded) frame; an empty signal gives none.
    pub fn n_frames(&self, n_samples: usize) -> usize {
        if n_samples == 0 {
            0
        } else if n_samples < self.frame_length {
            1
        } else {
            (n_samples - self.frame_length) / self.hop_length + 1
        }
    }
}

/// Fixed-length windows over which frame vectors are pooled (5 s in BirdCLEF).
///
/// A frame stamped at `t` seconds belongs to window `floor(t / length_s)`. Window `g` ends at
/// `length_s * (g + 1)` seconds, which is the end second of a BirdCLEF `row_id`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Window length in seconds.
    pub length_s: f64,
    /// Frames in windows at or beyond this index are dropped (`None` keeps every window).
    /// The reference implementation keeps 200 windows, the first 1000 s.
    pub max_windows: Option<usize>,
}

impl WindowSpec {
    /// 5 s windows with no limit on their number.
    pub fn birdclef() -> Self {
        Self {
            length_s: 5.0,
            max_windows: None,
        }
    }

    /// Checks that the window length is finite and positive.
    ///
    /// # Errors
    /// [`CoreError::InvalidWindowLength`] otherwise.
    pub fn check(&self) -> Result<(), CoreError> {
        if self.length_s.is_finite() && self.length_s > 0.0 {
            Ok(())
        } else {
            Err(CoreError::InvalidWindowLength(self.length_s))
        }
    }

    /// Window index of a frame stamped at `t` seconds, or `None` past `max_windows`.
    pub fn window_of(&self, t: f64) -> Option<usize> {
        let g = (t / self.length_s).floor().max(0.0) as usize;
        match self.max_windows {
            Some(max) if g >= max => None,
            _ => Some(g),
        }
    }

    /// End time in seconds of window `g`.
    pub fn end_time(&self, g: usize) -> f64 {
        self.length_s * (g + 1) as f64
    }
}

impl Default for WindowSpec {
    fn default() -> Self {
        Self::birdclef()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stsg_frame_times_are_eighths() {
        let timing = FrameTiming::new(32_000, 8_000, 4_000).unwrap();
        assert_eq!(timing.frame_time(0), 0.125);
        assert_eq!(timing.frame_time(478), 59.875);
        assert_eq!(timing.frames_per_second(), 8.0);
    }

    #[test]
    fn sixty_seconds_give_479_frames() {
        let timing = FrameTiming::new(32_000, 8_000, 4_000).unwrap();
        assert_eq!(timing.n_frames(1_920_000), 479);
        assert_eq!(timing.n_frames(8_000), 1);
        assert_eq!(timing.n_frames(7_999), 1);
        assert_eq!(timing.n_frames(11_999), 1);
        assert_eq!(timing.n_frames(12_000), 2);
        assert_eq!(timing.n_frames(0), 0);
    }

    #[test]
    fn zero_hop_is_rejected() {
        assert!(matches!(
            FrameTiming::new(32_000, 8_000, 0),
            Err(CoreError::InvalidTiming(_))
        ));
    }

    #[test]
    fn windows_follow_birdclef_layout() {
        let spec = WindowSpec::birdclef();
        assert_eq!(spec.window_of(4.875), Some(0));
        assert_eq!(spec.window_of(5.0), Some(1));
        assert_eq!(spec.end_time(11), 60.0);
        let capped = WindowSpec {
            max_windows: Some(200),
            ..spec
        };
        assert_eq!(capped.window_of(999.875), Some(199));
        assert_eq!(capped.window_of(1000.0), None);
    }

    #[test]
    fn nonpositive_window_length_is_rejected() {
        for bad in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let spec = WindowSpec {
                length_s: bad,
                max_windows: None,
            };
            assert!(spec.check().is_err(), "length {bad} accepted");
        }
    }
}
