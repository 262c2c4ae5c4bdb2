//! Shared traits and types of the stsg workspace.
//!
//! stsg turns audio into per-species scores in five stages, one crate each: decoding
//! (`stsg-audio`), a Mel frontend ([`Frontend`], `stsg-mel`), a token quantizer ([`Quantizer`],
//! `stsg-quantize`), skip-gram token vectors ([`TokenEmbeddings`], `stsg-skipgram`), window
//! pooling ([`Pooling`], here) and a classifier head ([`Head`], `stsg-head`). Trainable stages
//! are fitted through [`Fit`] on their checked params. This crate holds only what those crates
//! share, and depends on none of their libraries.
//!
//! Conventions used by every stage:
//! - samples are mono `f32` at a stated sample rate;
//! - feature matrices are `frames x features`, C order, and frame `k` is stamped at its centre
//!   (see [`FrameTiming`]);
//! - token ids are `u32` in `0..n_tokens`;
//! - windows are fixed-length (5 s by default, see [`WindowSpec`]) and a window vector is the
//!   mean of its frames' token vectors ([`MeanPooling`]);
//! - scores are `windows x classes`, columns in [`LabelSet`] order.
//!
//! ```
//! use ndarray::{ArrayView1, array, Array2};
//! use stsg_core::{FrameTiming, MeanPooling, Pooling, TokenEmbeddings, WindowSpec};
//!
//! struct Table(Array2<f32>);
//! impl TokenEmbeddings for Table {
//!     fn dim(&self) -> usize { self.0.ncols() }
//!     fn n_tokens(&self) -> usize { self.0.nrows() }
//!     fn vector(&self, token: u32) -> Option<ArrayView1<'_, f32>> {
//!         ((token as usize) < self.0.nrows()).then(|| self.0.row(token as usize))
//!     }
//! }
//!
//! let timing = FrameTiming::new(32_000, 8_000, 4_000)?;
//! let tokens = vec![0u32; timing.n_frames(32_000 * 60)]; // 479 frames of one minute
//! let pooling = MeanPooling::new(WindowSpec::birdclef())?;
//! let windows = pooling.pool(&tokens, &timing, &Table(array![[1.0, -1.0]]))?;
//! assert_eq!(windows.end_times.len(), 12);
//! # Ok::<(), stsg_core::CoreError>(())
//! ```

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))] // a failed unwrap is a clear test failure

pub mod artifact;
mod error;
mod labels;
mod pooling;
mod timing;
mod traits;

pub use error::CoreError;
pub use labels::LabelSet;
pub use pooling::{MeanPooling, Pooling, Windows};
pub use timing::{FrameTiming, WindowSpec};
pub use traits::{
    Features, Fit, Frontend, Head, HeadDataset, Quantizer, TokenCorpus, TokenEmbeddings,
};

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn core_types_are_send_and_sync() {
        assert_send_sync::<FrameTiming>();
        assert_send_sync::<WindowSpec>();
        assert_send_sync::<LabelSet>();
        assert_send_sync::<MeanPooling>();
        assert_send_sync::<Features>();
        assert_send_sync::<CoreError>();
    }
}
