//! Token counts, the subsampling keep probabilities and the negative-sampling table, computed
//! as gensim 4.4 computes them (`Word2Vec.prepare_vocab` and `Word2Vec.make_cum_table` in
//! `gensim/models/word2vec.py`).

/// Upper end of the cumulative negative-sampling table (gensim's `domain`, 2^31 - 1).
pub(crate) const CUM_TABLE_DOMAIN: u32 = (1 << 31) - 1;

/// Marks a token id without a row in the weight matrices.
pub(crate) const NO_ROW: u32 = u32::MAX;

/// The training vocabulary: tokens that occur at least `min_count` times, sorted by descending
/// count (ties by ascending token id), with their counts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Vocabulary {
    /// Token id of each row.
    pub tokens: Vec<u32>,
    /// Count of each row's token in the corpus.
    pub counts: Vec<u64>,
    /// Row of each token id, or [`NO_ROW`].
    pub rows: Vec<u32>,
}

impl Vocabulary {
    /// Builds the vocabulary from per-token counts (`counts[token]`).
    pub fn from_counts(counts: &[u64], min_count: u64) -> Self {
        let mut tokens: Vec<u32> = (0..counts.len() as u32)
            .filter(|&t| counts[t as usize] >= min_count && counts[t as usize] > 0)
            .collect();
        tokens.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
        let mut rows = vec![NO_ROW; counts.len()];
        for (row, &token) in tokens.iter().enumerate() {
            rows[token as usize] = row as u32;
        }
        let counts = tokens.iter().map(|&t| counts[t as usize]).collect();
        Self {
            tokens,
            counts,
            rows,
        }
    }

    /// Number of tokens with a row.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Sum of the counts of every retained token.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// Probability that one occurrence of a token with `count` occurrences survives subsampling,
/// out of `total` retained occurrences, with threshold `sample` (a fraction, `0` keeps all).
///
/// With `t = sample * total`, this is `min(1, (sqrt(count / t) + 1) * t / count)` (gensim 4.4,
/// `prepare_vocab`); with `sample = 0` gensim sets `t = total`, which keeps every token.
pub fn keep_probability(count: u64, total: u64, sample: f64) -> f64 {
    let threshold = if sample == 0.0 {
        total as f64
    } else {
        sample * total as f64
    };
    let count = count as f64;
    ((count / threshold).sqrt() + 1.0) * (threshold / count)
}

/// Keep probabilities scaled to `u32` as gensim stores them (`p * (2^32 - 1)`, truncated): an
/// occurrence is kept when a uniform 32-bit draw is at most this value.
pub(crate) fn keep_thresholds(vocab: &Vocabulary, sample: f64) -> Vec<u32> {
    let total = vocab.total();
    vocab
        .counts
        .iter()
        .map(|&c| {
            let p = keep_probability(c, total, sample).min(1.0);
            (p * u32::MAX as f64) as u32
        })
        .collect()
}

/// Cumulative negative-sampling table over the vocabulary rows: entry `i` is
/// `round(sum_{k <= i} count_k^e / sum_k count_k^e * (2^31 - 1))` (gensim 4.4
/// `make_cum_table`), so the last entry is `2^31 - 1`.
pub(crate) fn cum_table(counts: &[u64], ns_exponent: f64) -> Vec<u32> {
    let powers: Vec<f64> = counts
        .iter()
        .map(|&c| (c as f64).powf(ns_exponent))
        .collect();
    let total: f64 = powers.iter().sum();
    let mut cumulative = 0.0;
    powers
        .iter()
        .map(|p| {
            cumulative += p;
            (cumulative / total * CUM_TABLE_DOMAIN as f64).round() as u32
        })
        .collect()
}

/// Row drawn for the uniform 32-bit value `draw`: the first index whose cumulative value is at
/// least `draw % last`, found by binary search (gensim's `bisect_left`).
#[inline]
pub(crate) fn draw_row(cum_table: &[u32], draw: u32) -> usize {
    let last = cum_table[cum_table.len() - 1];
    let x = draw % last;
    cum_table.partition_point(|&c| c < x)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn vocabulary_sorts_by_count_and_drops_rare() {
        let vocab = Vocabulary::from_counts(&[3, 0, 7, 1, 3], 2);
        assert_eq!(vocab.tokens, vec![2, 0, 4]);
        assert_eq!(vocab.counts, vec![7, 3, 3]);
        assert_eq!(vocab.rows, vec![1, NO_ROW, 0, NO_ROW, 2]);
        assert_eq!(vocab.total(), 13);
    }

    #[test]
    fn keep_probability_matches_gensim_formula() {
        // Hand-computed: t = 1e-3 * 1e6 = 1000; count 10_000 -> (sqrt(10) + 1) * 0.1.
        let p = keep_probability(10_000, 1_000_000, 1e-3);
        assert!((p - (10f64.sqrt() + 1.0) * 0.1).abs() < 1e-12, "p = {p}");
        // A token at the threshold count t is kept with (1 + 1) * 1 = 2, i.e. always.
        assert!(keep_probability(1_000, 1_000_000, 1e-3) >= 1.0);
        // sample = 0 keeps every token, even the most frequent.
        assert!(keep_probability(999_999, 1_000_000, 0.0) >= 1.0);
        // The probability falls as the count grows.
        assert!(keep_probability(100_000, 1_000_000, 1e-3) < p);
    }

    #[test]
    fn keep_thresholds_scale_to_u32() {
        let vocab = Vocabulary::from_counts(&[900_000, 100_000], 1);
        let thresholds = keep_thresholds(&vocab, 1e-3);
        let p0 = keep_probability(900_000, 1_000_000, 1e-3);
        assert_eq!(thresholds[0], (p0 * u32::MAX as f64) as u32);
        assert_eq!(keep_thresholds(&vocab, 0.0), vec![u32::MAX, u32::MAX]);
    }

    #[test]
    fn cum_table_ends_at_domain() {
        for exponent in [-0.75, 0.0, 0.75, 1.5] {
            let table = cum_table(&[50, 20, 20, 5, 1], exponent);
            assert_eq!(
                *table.last().unwrap(),
                CUM_TABLE_DOMAIN,
                "exponent {exponent}"
            );
            assert!(table.windows(2).all(|w| w[0] <= w[1]));
        }
        // Exponent 0 gives equal steps.
        let uniform = cum_table(&[50, 20, 20, 5, 1], 0.0);
        let step = CUM_TABLE_DOMAIN as f64 / 5.0;
        for (i, &c) in uniform.iter().enumerate() {
            assert_eq!(c, (step * (i + 1) as f64).round() as u32);
        }
    }

    #[test]
    fn negative_draws_follow_count_power() {
        // Chi-square goodness of fit of 200k draws against count^0.75 / Z.
        let counts = [1000u64, 400, 150, 60, 20, 5, 1];
        let table = cum_table(&counts, 0.75);
        let mut rng = crate::kernel::Lcg::new(12345);
        let n = 200_000;
        let mut observed = vec![0u64; counts.len()];
        for _ in 0..n {
            observed[draw_row(&table, rng.next_u32())] += 1;
        }
        let powers: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(0.75)).collect();
        let z: f64 = powers.iter().sum();
        let chi2: f64 = powers
            .iter()
            .zip(&observed)
            .map(|(p, &o)| {
                let expected = p / z * n as f64;
                (o as f64 - expected).powi(2) / expected
            })
            .sum();
        // 6 degrees of freedom: the 99.9th percentile is 22.46.
        assert!(chi2 < 22.46, "chi2 = {chi2}, observed {observed:?}");
    }

    #[test]
    fn negative_exponent_favours_rare_tokens() {
        let table = cum_table(&[1000, 1], -0.75);
        let mut rng = crate::kernel::Lcg::new(7);
        let rare = (0..10_000)
            .filter(|_| draw_row(&table, rng.next_u32()) == 1)
            .count();
        // count^-0.75: 1000^-0.75 = 0.0056 vs 1, so the rare token takes about 99.4 %.
        assert!(rare > 9_800, "rare drawn {rare} times");
    }
}
