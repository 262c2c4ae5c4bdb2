//! Skip-gram with negative sampling (SGNS) over token sequences, with gensim 4 semantics, and
//! storage of the learned vectors in finalfusion and word2vec text formats.
//!
//! [`SkipGramParams`] contains the hyperparameters; [`SkipGramParams::check`] validates them into
//! [`SkipGramValidParams`], which trains on a [`stsg_core::TokenCorpus`] through
//! [`stsg_core::Fit`] (or [`SkipGramValidParams::fit_with_progress`], which reports
//! [`TrainProgress`]) and returns [`Embeddings`], an implementation of
//! [`stsg_core::TokenEmbeddings`].
//!
//! # What training does
//!
//! It follows gensim 4.4's `Word2Vec(sg=1, hs=0, negative>0)`:
//! - the vocabulary is every token with at least `min_count` occurrences, sorted by descending
//!   count; other tokens are removed from the sequences before training;
//! - each occurrence of a token with count `c` is kept with probability
//!   `min(1, (sqrt(c / t) + 1) t / c)`, `t = sample * total` ([`keep_probability`]), redrawn
//!   every epoch;
//! - negatives are drawn from a cumulative table proportional to `count^ns_exponent`;
//! - each centre token uses a window drawn uniformly from `1..=window` when `shrink_windows`
//!   is set; windows never cross sequence (file) boundaries;
//! - the learning rate falls linearly from `alpha` to `min_alpha` over all epochs, or over each
//!   chunk of `lr_restart_every` epochs;
//! - input vectors start uniform in `[-1/dim, 1/dim)`, output vectors at zero;
//! - the update, its sigmoid table and the skip of scores beyond +-6 are gensim's.
//!
//! The random number streams differ from gensim's, so results match gensim in distribution,
//! not bit for bit. Unlike gensim, sequences longer than 10,000 tokens are not truncated.
//!
//! # Threads
//!
//! With `n_threads = Some(1)` one thread updates plain `f32` slices, and the result depends
//! only on the seed. With more threads, workers take jobs of about 10,000 tokens and update
//! shared weights without waiting for each other (Hogwild, as gensim's workers do). The shared
//! matrices are relaxed atomic words, which safe Rust allows to be read and written by several
//! threads at once. Each worker keeps private copies of the rows it uses and adds its changes
//! to the shared rows every 32 centre positions (about 2,600 pairs at window 80). A frequent
//! row thus crosses between cores once per batch instead of once per update, and a worker's
//! updates reach the other workers up to one batch late. Results with several threads vary from run to run.
//!
//! # Speed
//!
//! The update runs with AVX2 and FMA when the CPU has them, chosen at run time through `pulp`
//! (plain scalar code otherwise), so results on one machine can differ from another's in the
//! last bits.
//!
//! # Conventions
//!
//! Token ids are `u32` in `0..n_tokens`. Vectors are raw, never normalised. A token without a
//! vector (never seen in training, or below `min_count`) gives `None` from
//! [`stsg_core::TokenEmbeddings::vector`] and a zero row in [`Embeddings::to_dense`].
//!
//! ```
//! use stsg_core::{Fit, TokenCorpus, TokenEmbeddings};
//! use stsg_skipgram::SkipGramParams;
//!
//! // Two "files": tokens 0-2 occur together, and so do tokens 3-5. Token 6 never occurs.
//! let sequences: Vec<Vec<u32>> = vec![[0, 1, 2].repeat(50), [3, 4, 5].repeat(50)];
//! let corpus = TokenCorpus { sequences: &sequences, n_tokens: 7 };
//! let params = SkipGramParams::new(16).window(2).epochs(3).n_threads(Some(1)).check()?;
//! let embeddings = params.fit(corpus)?;
//! assert_eq!(embeddings.dim(), 16);
//! assert!(embeddings.vector(0).is_some());
//! assert!(embeddings.vector(6).is_none());
//! # Ok::<(), stsg_skipgram::SkipGramError>(())
//! ```

#![deny(missing_docs)]

mod embeddings;
mod error;
mod io;
mod kernel;
mod params;
mod train;
mod vocab;

pub use embeddings::Embeddings;
pub use error::{SkipGramError, SkipGramParamsError};
pub use io::{EMBEDDINGS_FORMAT_VERSION, EMBEDDINGS_KIND};
pub use params::{SkipGramParams, SkipGramValidParams};
pub use train::TrainProgress;
pub use vocab::keep_probability;

use stsg_core::{Fit, TokenCorpus};

impl SkipGramValidParams {
    /// Trains embeddings on `corpus`, calling `callback` after every job of about 10,000 tokens
    /// and at the end of every epoch. With several threads the callback runs on the worker
    /// threads, one call at a time.
    ///
    /// Cost: about `epochs * tokens * (window + 1) * (negative + 1) * 3 * dim` multiply-adds
    /// with shrinking windows (twice the window term without), and two `rows x dim` `f32`
    /// matrices of memory.
    ///
    /// # Errors
    /// [`SkipGramError::TokenOutOfRange`] when a token is not below `corpus.n_tokens`,
    /// [`SkipGramError::EmptyCorpus`] when no token reaches `min_count`, and
    /// [`SkipGramError::TooLarge`] when the weights cannot be allocated.
    pub fn fit_with_progress(
        &self,
        corpus: TokenCorpus<'_>,
        callback: impl Fn(&TrainProgress) + Sync,
    ) -> Result<Embeddings, SkipGramError> {
        train::train(self, corpus, &callback)
    }
}

impl<'a> Fit<TokenCorpus<'a>> for SkipGramValidParams {
    type Object = Embeddings;
    type Error = SkipGramError;

    fn fit(&self, corpus: TokenCorpus<'a>) -> Result<Embeddings, SkipGramError> {
        self.fit_with_progress(corpus, |_| {})
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        assert_send_sync::<Embeddings>();
        assert_send_sync::<SkipGramValidParams>();
        assert_send_sync::<SkipGramError>();
        assert_send_sync::<TrainProgress>();
    }
}
