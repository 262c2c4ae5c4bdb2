//! [`Embeddings`]: the trained input vectors, keyed by token id.

use ndarray::{Array2, ArrayView1, ArrayView2};
use stsg_core::TokenEmbeddings;

use crate::SkipGramError;
use crate::vocab::NO_ROW;

/// Raw (not normalised) token vectors: one row per token that took part in training.
///
/// Rows are stored in vocabulary order (descending corpus count, as gensim's `sorted_vocab`).
/// A token id below [`TokenEmbeddings::n_tokens`] that was never seen in training (or seen
/// fewer than `min_count` times) has no row: [`TokenEmbeddings::vector`] returns `None` for it
/// and [`Embeddings::to_dense`] gives it a zero vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Embeddings {
    n_tokens: usize,
    tokens: Vec<u32>,
    rows: Vec<u32>,
    vectors: Array2<f32>,
    counts: Option<Vec<u64>>,
}

impl Embeddings {
    /// Builds embeddings over the token ids `0..n_tokens` from the token id of each row of
    /// `vectors` and, optionally, the training count of each row.
    ///
    /// # Errors
    /// [`SkipGramError::InvalidEmbeddings`] when `tokens` and `vectors` (or `counts`) differ in
    /// length, a token id is `>= n_tokens` or appears twice, or a vector is not finite.
    pub fn from_parts(
        n_tokens: usize,
        tokens: Vec<u32>,
        vectors: Array2<f32>,
        counts: Option<Vec<u64>>,
    ) -> Result<Self, SkipGramError> {
        let invalid = SkipGramError::InvalidEmbeddings;
        if tokens.len() != vectors.nrows() {
            return Err(invalid(format!(
                "{} token ids for {} vectors",
                tokens.len(),
                vectors.nrows()
            )));
        }
        if let Some(counts) = &counts
            && counts.len() != tokens.len()
        {
            return Err(invalid(format!(
                "{} counts for {} token ids",
                counts.len(),
                tokens.len()
            )));
        }
        let mut rows = vec![NO_ROW; n_tokens];
        for (row, &token) in tokens.iter().enumerate() {
            let slot = rows.get_mut(token as usize).ok_or_else(|| {
                invalid(format!(
                    "token id {token} is not below n_tokens = {n_tokens}"
                ))
            })?;
            if *slot != NO_ROW {
                return Err(invalid(format!("token id {token} appears twice")));
            }
            *slot = row as u32;
        }
        if let Some(row) = vectors
            .rows()
            .into_iter()
            .position(|r| r.iter().any(|v| !v.is_finite()))
        {
            return Err(invalid(format!(
                "the vector of token {} has a NaN or infinite component",
                tokens[row]
            )));
        }
        Ok(Self {
            n_tokens,
            tokens,
            rows,
            vectors: vectors.as_standard_layout().into_owned(),
            counts,
        })
    }

    /// Token id of each row of [`Embeddings::vectors`].
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Returns the `rows x dim` vector matrix, rows in [`Embeddings::tokens`] order.
    pub fn vectors(&self) -> ArrayView2<'_, f32> {
        self.vectors.view()
    }

    /// Training count of each row, when known (files in word2vec text format carry none).
    pub fn counts(&self) -> Option<&[u64]> {
        self.counts.as_deref()
    }

    /// Training count of `token`, or `None` when it has no vector or counts are unknown.
    pub fn count(&self, token: u32) -> Option<u64> {
        let row = self.row(token)?;
        self.counts.as_ref().map(|c| c[row])
    }

    /// Number of tokens with a vector.
    pub fn vocab_len(&self) -> usize {
        self.tokens.len()
    }

    /// Builds a dense `n_tokens x dim` matrix indexed by token id, with zero rows for tokens
    /// without a vector.
    pub fn to_dense(&self) -> Array2<f32> {
        let mut dense = Array2::zeros((self.n_tokens, self.vectors.ncols()));
        for (row, &token) in self.tokens.iter().enumerate() {
            dense.row_mut(token as usize).assign(&self.vectors.row(row));
        }
        dense
    }

    fn row(&self, token: u32) -> Option<usize> {
        match self.rows.get(token as usize) {
            Some(&row) if row != NO_ROW => Some(row as usize),
            _ => None,
        }
    }
}

impl TokenEmbeddings for Embeddings {
    fn dim(&self) -> usize {
        self.vectors.ncols()
    }

    fn n_tokens(&self) -> usize {
        self.n_tokens
    }

    fn vector(&self, token: u32) -> Option<ArrayView1<'_, f32>> {
        self.row(token).map(|row| self.vectors.row(row))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn unseen_token_has_no_vector() {
        let embeddings =
            Embeddings::from_parts(4, vec![2, 0], array![[1.0, 2.0], [3.0, 4.0]], None).unwrap();
        assert_eq!(embeddings.vector(2).unwrap(), array![1.0, 2.0]);
        assert_eq!(embeddings.vector(0).unwrap(), array![3.0, 4.0]);
        assert!(embeddings.vector(1).is_none());
        assert!(embeddings.vector(3).is_none());
        assert!(embeddings.vector(4).is_none());
        let dense = embeddings.to_dense();
        assert_eq!(dense.row(1), array![0.0, 0.0]);
        assert_eq!(dense.row(2), array![1.0, 2.0]);
    }

    #[test]
    fn inconsistent_parts_are_rejected() {
        let v = array![[1.0], [2.0]];
        assert!(Embeddings::from_parts(4, vec![0], v.clone(), None).is_err());
        assert!(Embeddings::from_parts(4, vec![0, 0], v.clone(), None).is_err());
        assert!(Embeddings::from_parts(1, vec![0, 1], v.clone(), None).is_err());
        assert!(Embeddings::from_parts(4, vec![0, 1], v.clone(), Some(vec![1])).is_err());
        assert!(Embeddings::from_parts(4, vec![0, 1], array![[1.0], [f32::NAN]], None).is_err());
        assert!(Embeddings::from_parts(4, vec![0, 1], v, Some(vec![3, 1])).is_ok());
    }
}
