//! The training loop: corpus checks, vocabulary, initial weights, epochs of jobs run by one
//! thread (plain weights, deterministic) or several Hogwild threads (batched lock-free updates), the
//! learning-rate schedule and progress reports.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use ndarray::Array2;
use pulp::{Simd, WithSimd};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use stsg_core::TokenCorpus;

use crate::kernel::{
    Lcg, PairTrainer, PlainWeights, SharedMatrix, SharedWeights, SigmoidTable, WeightStore,
    mix_seed,
};
use crate::vocab::{NO_ROW, Vocabulary, cum_table, keep_thresholds};
use crate::{Embeddings, SkipGramError, SkipGramValidParams};

/// Raw tokens per job, as gensim's default `batch_words`. A longer sequence is one job.
const JOB_TOKENS: u64 = 10_000;

/// A progress report, sent after every job (about 10,000 tokens) and at the end of each epoch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TrainProgress {
    /// Current epoch, counted from 0.
    pub epoch: usize,
    /// Total number of epochs.
    pub epochs: usize,
    /// Corpus tokens of this epoch processed so far, before subsampling.
    pub tokens_done: u64,
    /// Corpus tokens per epoch, before subsampling.
    pub tokens_total: u64,
    /// Tokens of this epoch that survived subsampling so far (gensim's "effective words").
    pub trained_tokens: u64,
    /// `tokens_done` per second of wall time since the epoch started.
    pub tokens_per_second: f64,
    /// Loss of this epoch so far: the sum of `-ln sigmoid(+-v.u)` over every scored
    /// (input, output) vector pair, computed as gensim's `running_training_loss`.
    pub loss: f64,
    /// Learning rate of the most recently started sequence.
    pub alpha: f32,
    /// Whether this is the final report of the epoch.
    pub epoch_finished: bool,
}

/// The corpus mapped to vocabulary rows, tokens below `min_count` removed.
struct RowCorpus {
    rows: Vec<u32>,
    /// Sequence `s` is `rows[starts[s]..starts[s + 1]]`.
    starts: Vec<usize>,
    /// Corpus tokens of each sequence before removal, for the schedule and progress.
    raw_lens: Vec<u64>,
}

/// Consecutive sequences trained with one generator seed; `raw_before` counts the corpus
/// tokens of all earlier jobs.
struct Job {
    first: usize,
    end: usize,
    raw_before: u64,
}

/// Shared inputs of the jobs of one epoch.
struct EpochPlan<'a> {
    corpus: &'a RowCorpus,
    jobs: &'a [Job],
    keep: Option<&'a [u32]>,
    window: usize,
    shrink_windows: bool,
    schedule: Schedule,
    seed: u64,
    epoch: usize,
}

/// Linear learning-rate decay within a chunk of epochs (all epochs unless restarts are set).
#[derive(Debug, Clone, Copy)]
struct Schedule {
    alpha: f32,
    min_alpha: f32,
    epoch_in_chunk: usize,
    chunk_epochs: usize,
    tokens_per_epoch: u64,
}

impl Schedule {
    fn new(params: &SkipGramValidParams, epoch: usize, tokens_per_epoch: u64) -> Self {
        let chunk = params.lr_restart_every().unwrap_or(params.epochs());
        let chunk_start = epoch - epoch % chunk;
        Self {
            alpha: params.alpha(),
            min_alpha: params.min_alpha(),
            epoch_in_chunk: epoch - chunk_start,
            chunk_epochs: chunk.min(params.epochs() - chunk_start),
            tokens_per_epoch,
        }
    }

    /// Learning rate at `tokens_before` corpus tokens into the epoch: gensim's
    /// `_get_next_alpha` with word-based progress.
    fn alpha_at(&self, tokens_before: u64) -> f32 {
        let within = tokens_before as f64 / self.tokens_per_epoch.max(1) as f64;
        let progress = (self.epoch_in_chunk as f64 + within) / self.chunk_epochs as f64;
        let alpha = self.alpha as f64 - (self.alpha - self.min_alpha) as f64 * progress;
        (alpha as f32).max(self.min_alpha)
    }
}

/// Totals of one job.
#[derive(Debug, Default, Clone, Copy)]
struct JobStats {
    raw_tokens: u64,
    trained_tokens: u64,
    loss: f64,
    alpha: f32,
}

/// Trains embeddings on `corpus`; see [`SkipGramValidParams::fit_with_progress`].
pub(crate) fn train(
    params: &SkipGramValidParams,
    corpus: TokenCorpus<'_>,
    callback: &(dyn Fn(&TrainProgress) + Sync),
) -> Result<Embeddings, SkipGramError> {
    let counts = count_tokens(corpus)?;
    let vocab = Vocabulary::from_counts(&counts, params.min_count());
    if vocab.len() == 0 {
        return Err(SkipGramError::EmptyCorpus {
            min_count: params.min_count(),
            n_sequences: corpus.sequences.len(),
        });
    }
    let dim = params.dim();
    let n_weights = vocab
        .len()
        .checked_mul(dim)
        .filter(|&n| n.checked_mul(8).is_some())
        .ok_or(SkipGramError::TooLarge {
            rows: vocab.len(),
            dim,
        })?;

    let row_corpus = map_to_rows(corpus, &vocab);
    let jobs = plan_jobs(&row_corpus.raw_lens);
    let tokens_per_epoch: u64 = row_corpus.raw_lens.iter().sum();
    let keep_table = keep_thresholds(&vocab, params.sample());
    let keep = (params.sample() > 0.0).then_some(keep_table.as_slice());
    let negatives = cum_table(&vocab.counts, params.ns_exponent());
    let sigmoid = SigmoidTable::new();

    let mut input = initial_input(n_weights, dim, params.seed());
    let mut output = vec![0.0f32; n_weights];
    let threads = params
        .n_threads()
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .min(jobs.len())
        .max(1);
    log::debug!(
        "skipgram: training vocab={} dim={dim} sequences={} tokens_per_epoch={tokens_per_epoch} jobs={} threads={threads}",
        vocab.len(),
        corpus.sequences.len(),
        jobs.len(),
    );

    let shared = (threads > 1).then(|| {
        (
            SharedMatrix::new(&input, dim),
            SharedMatrix::new(&output, dim),
        )
    });
    for epoch in 0..params.epochs() {
        let plan = EpochPlan {
            corpus: &row_corpus,
            jobs: &jobs,
            keep,
            window: params.window(),
            shrink_windows: params.shrink_windows(),
            schedule: Schedule::new(params, epoch, tokens_per_epoch),
            seed: params.seed(),
            epoch,
        };
        let reporter = Reporter::new(epoch, params.epochs(), tokens_per_epoch, callback);
        let next_job = AtomicUsize::new(0);
        let make_trainer =
            || PairTrainer::new(dim, params.negative(), &negatives, &sigmoid, Lcg::new(0));
        match &shared {
            None => {
                let mut weights = PlainWeights {
                    dim,
                    input: &mut input,
                    output: &mut output,
                };
                run_jobs(
                    &plan,
                    &mut weights,
                    &mut make_trainer(),
                    &next_job,
                    &reporter,
                );
            }
            Some((shared_input, shared_output)) => std::thread::scope(|scope| {
                for _ in 0..threads {
                    scope.spawn(|| {
                        let mut weights = SharedWeights::new(shared_input, shared_output);
                        run_jobs(
                            &plan,
                            &mut weights,
                            &mut make_trainer(),
                            &next_job,
                            &reporter,
                        );
                    });
                }
            }),
        }
        let last = reporter.finish();
        log::debug!(
            "skipgram: epoch={epoch} loss={:.1} trained_tokens={} tokens_per_second={:.0}",
            last.loss,
            last.trained_tokens,
            last.tokens_per_second
        );
    }
    if let Some((shared_input, _)) = shared {
        input = shared_input.into_values();
    }

    let vectors = Array2::from_shape_vec((vocab.len(), dim), input)
        .map_err(|e| SkipGramError::InvalidEmbeddings(e.to_string()))?;
    Embeddings::from_parts(corpus.n_tokens, vocab.tokens, vectors, Some(vocab.counts))
}

/// Counts every token, checking that it is below `n_tokens`.
fn count_tokens(corpus: TokenCorpus<'_>) -> Result<Vec<u64>, SkipGramError> {
    let mut counts = vec![0u64; corpus.n_tokens];
    for (sequence, tokens) in corpus.sequences.iter().enumerate() {
        for (position, &token) in tokens.iter().enumerate() {
            match counts.get_mut(token as usize) {
                Some(count) => *count += 1,
                None => {
                    return Err(SkipGramError::TokenOutOfRange {
                        sequence,
                        position,
                        token,
                        n_tokens: corpus.n_tokens,
                    });
                }
            }
        }
    }
    Ok(counts)
}

/// Maps tokens to vocabulary rows and drops those without a row: like gensim, this shortens
/// the sequence, so the tokens around a dropped one become closer.
fn map_to_rows(corpus: TokenCorpus<'_>, vocab: &Vocabulary) -> RowCorpus {
    let mut rows = Vec::new();
    let mut starts = Vec::with_capacity(corpus.sequences.len() + 1);
    let mut raw_lens = Vec::with_capacity(corpus.sequences.len());
    starts.push(0);
    for tokens in corpus.sequences {
        rows.extend(
            tokens
                .iter()
                .map(|&t| vocab.rows[t as usize])
                .filter(|&r| r != NO_ROW),
        );
        starts.push(rows.len());
        raw_lens.push(tokens.len() as u64);
    }
    RowCorpus {
        rows,
        starts,
        raw_lens,
    }
}

/// Groups consecutive sequences into jobs of at most [`JOB_TOKENS`] corpus tokens.
fn plan_jobs(raw_lens: &[u64]) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut first = 0;
    let mut in_job = 0;
    let mut before = 0;
    for (s, &len) in raw_lens.iter().enumerate() {
        if s > first && in_job + len > JOB_TOKENS {
            jobs.push(Job {
                first,
                end: s,
                raw_before: before,
            });
            before += in_job;
            first = s;
            in_job = 0;
        }
        in_job += len;
    }
    if first < raw_lens.len() {
        jobs.push(Job {
            first,
            end: raw_lens.len(),
            raw_before: before,
        });
    }
    jobs
}

/// Input vectors uniform in `[-1/dim, 1/dim)`, as gensim 4's `prep_vectors`.
fn initial_input(n: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let scale = 1.0 / dim as f32;
    (0..n)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

/// Takes jobs from `next_job` until none is left.
fn run_jobs<W: WeightStore>(
    plan: &EpochPlan<'_>,
    weights: &mut W,
    trainer: &mut PairTrainer<'_>,
    next_job: &AtomicUsize,
    reporter: &Reporter<'_>,
) {
    let arch = pulp::Arch::new();
    let mut kept = Vec::new();
    loop {
        let index = next_job.fetch_add(1, Ordering::Relaxed);
        let Some(job) = plan.jobs.get(index) else {
            break;
        };
        let stats = arch.dispatch(JobTask {
            plan,
            index,
            job,
            weights: &mut *weights,
            trainer: &mut *trainer,
            kept: &mut kept,
        });
        reporter.add(stats);
    }
}

/// One job, run under the widest SIMD instruction set the CPU has.
struct JobTask<'a, 'p, 't, W> {
    plan: &'a EpochPlan<'p>,
    index: usize,
    job: &'a Job,
    weights: &'a mut W,
    trainer: &'a mut PairTrainer<'t>,
    kept: &'a mut Vec<u32>,
}

impl<W: WeightStore> WithSimd for JobTask<'_, '_, '_, W> {
    type Output = JobStats;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> JobStats {
        run_job(
            simd,
            self.plan,
            self.index,
            self.job,
            self.weights,
            self.trainer,
            self.kept,
        )
    }
}

/// Trains the sequences of one job with a generator seeded from (seed, epoch, job), so the
/// draws do not depend on which thread runs the job.
#[inline(always)]
fn run_job<S: Simd, W: WeightStore>(
    simd: S,
    plan: &EpochPlan<'_>,
    index: usize,
    job: &Job,
    weights: &mut W,
    trainer: &mut PairTrainer<'_>,
    kept: &mut Vec<u32>,
) -> JobStats {
    let job_key = ((plan.epoch as u64) << 32) ^ index as u64;
    trainer.rng = Lcg::new(mix_seed(mix_seed(plan.seed) ^ job_key));
    trainer.loss = 0.0;
    let mut stats = JobStats::default();
    let mut raw_before = job.raw_before;
    for s in job.first..job.end {
        let alpha = plan.schedule.alpha_at(raw_before);
        stats.alpha = alpha;
        raw_before += plan.corpus.raw_lens[s];
        stats.raw_tokens += plan.corpus.raw_lens[s];

        let rows = &plan.corpus.rows[plan.corpus.starts[s]..plan.corpus.starts[s + 1]];
        kept.clear();
        match plan.keep {
            // gensim draws for every token, so a token with keep probability 1 still uses a draw.
            Some(keep) => kept.extend(
                rows.iter()
                    .copied()
                    .filter(|&r| keep[r as usize] >= trainer.rng.next_u32()),
            ),
            None => kept.extend_from_slice(rows),
        }
        stats.trained_tokens += kept.len() as u64;
        train_sequence(simd, plan, kept, weights, trainer, alpha);
    }
    weights.flush(simd);
    stats.loss = trainer.loss;
    stats
}

/// Trains every (centre, context) pair of one subsampled sequence.
#[inline(always)]
fn train_sequence<S: Simd, W: WeightStore>(
    simd: S,
    plan: &EpochPlan<'_>,
    kept: &[u32],
    weights: &mut W,
    trainer: &mut PairTrainer<'_>,
    alpha: f32,
) {
    let n = kept.len();
    for i in 0..n {
        let reduced = if plan.shrink_windows {
            trainer.rng.next_u32() as usize % plan.window
        } else {
            0
        };
        let reach = plan.window - reduced;
        let lo = i.saturating_sub(reach);
        let hi = (i + reach + 1).min(n);
        let centre = kept[i] as usize;
        for (j, &context) in kept.iter().enumerate().take(hi).skip(lo) {
            if j != i {
                trainer.train_pair(simd, weights, centre, context as usize, alpha);
            }
        }
        weights.position_done(simd);
    }
}

/// Sums job totals and forwards them to the caller's callback, one call at a time.
struct Reporter<'c> {
    state: Mutex<TrainProgress>,
    started: Instant,
    callback: &'c (dyn Fn(&TrainProgress) + Sync),
}

impl<'c> Reporter<'c> {
    fn new(
        epoch: usize,
        epochs: usize,
        tokens_total: u64,
        callback: &'c (dyn Fn(&TrainProgress) + Sync),
    ) -> Self {
        Self {
            state: Mutex::new(TrainProgress {
                epoch,
                epochs,
                tokens_done: 0,
                tokens_total,
                trained_tokens: 0,
                tokens_per_second: 0.0,
                loss: 0.0,
                alpha: 0.0,
                epoch_finished: false,
            }),
            started: Instant::now(),
            callback,
        }
    }

    fn add(&self, stats: JobStats) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.tokens_done += stats.raw_tokens;
        state.trained_tokens += stats.trained_tokens;
        state.loss += stats.loss;
        state.alpha = stats.alpha;
        state.tokens_per_second = state.tokens_done as f64 / self.elapsed();
        (self.callback)(&state);
    }

    fn finish(self) -> TrainProgress {
        let elapsed = self.elapsed();
        let mut state = self
            .state
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        state.tokens_per_second = state.tokens_done as f64 / elapsed;
        state.epoch_finished = true;
        (self.callback)(&state);
        state
    }

    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64().max(1e-9)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn jobs_cover_every_sequence_once() {
        let lens = [4000, 4000, 4000, 12_000, 10, 0, 5000];
        let jobs = plan_jobs(&lens);
        let spans: Vec<(usize, usize, u64)> = jobs
            .iter()
            .map(|j| (j.first, j.end, j.raw_before))
            .collect();
        assert_eq!(
            spans,
            vec![(0, 2, 0), (2, 3, 8000), (3, 4, 12_000), (4, 7, 24_000)]
        );
    }

    #[test]
    fn schedule_decays_linearly_over_all_epochs() {
        let params = crate::SkipGramParams::new(4)
            .alpha(0.025)
            .min_alpha(0.0001)
            .epochs(5)
            .check()
            .unwrap();
        let start = Schedule::new(&params, 0, 1000);
        assert_eq!(start.alpha_at(0), 0.025);
        let mid = Schedule::new(&params, 2, 1000).alpha_at(500);
        assert!((mid - (0.025 - 0.0249 * 0.5)).abs() < 1e-7, "mid = {mid}");
        let last = Schedule::new(&params, 4, 1000).alpha_at(1000);
        assert!((last - 0.0001).abs() < 1e-7, "last = {last}");
    }

    #[test]
    fn schedule_restarts_every_chunk() {
        let params = crate::SkipGramParams::new(4)
            .epochs(25)
            .lr_restart_every(Some(10))
            .check()
            .unwrap();
        assert_eq!(Schedule::new(&params, 10, 100).alpha_at(0), 0.025);
        assert_eq!(Schedule::new(&params, 20, 100).alpha_at(0), 0.025);
        // The last chunk has 5 epochs, so epoch 22 starts 2/5 of the way down.
        let a = Schedule::new(&params, 22, 100).alpha_at(0);
        assert!((a - (0.025 - 0.0249 * 0.4)).abs() < 1e-7, "a = {a}");
        let before_restart = Schedule::new(&params, 9, 100).alpha_at(100);
        assert!((before_restart - 0.0001).abs() < 1e-7);
    }

    #[test]
    fn initial_vectors_lie_in_gensim_range() {
        let dim = 16;
        let values = initial_input(dim * 100, dim, 1);
        let bound = 1.0 / dim as f32;
        assert!(values.iter().all(|v| (-bound..bound).contains(v)));
        let mean = values.iter().sum::<f32>() / values.len() as f32;
        assert!(mean.abs() < 0.05 * bound, "mean {mean}");
        assert!(
            values.iter().any(|&v| v < -0.9 * bound) && values.iter().any(|&v| v > 0.9 * bound)
        );
    }
}
