//! The skip-gram negative-sampling update and its building blocks: gensim's random number
//! generator, its sigmoid and log-sigmoid tables, and the two weight stores (plain slices for
//! one thread, per-row locks for Hogwild threads).
//!
//! The update for one (centre, context) pair follows `w2v_fast_sentence_sg_neg` in gensim 4.4
//! (`gensim/models/word2vec_inner.pyx`). The context token's input vector `v` is scored against
//! the output vector `u` of the centre token (label 1) and of `negative` drawn tokens (label 0).
//! A drawn token equal to the centre token is skipped. For each scored `u` with `x = v . u`,
//! nothing happens when `|x| >= 6` (no update, no loss). Otherwise
//! `g = (label - sigmoid(x)) * alpha`, `work += g u` and `u += g v`. At the end `v += work`.

use std::sync::{Mutex, MutexGuard};

use crate::vocab::draw_row;

/// Arguments beyond which gensim skips an update (`MAX_EXP`).
const MAX_EXP: f32 = 6.0;
/// Entries of the sigmoid and log-sigmoid tables (`EXP_TABLE_SIZE`).
const TABLE_SIZE: usize = 1000;

/// gensim's 48-bit linear congruential generator (the one of the original word2vec C code):
/// `state = (state * 25214903917 + 11) mod 2^48`, returning the upper 32 bits of the state
/// before the step.
#[derive(Debug, Clone)]
pub(crate) struct Lcg(u64);

impl Lcg {
    const MASK: u64 = (1 << 48) - 1;

    pub fn new(seed: u64) -> Self {
        Self(seed & Self::MASK)
    }

    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        let value = (self.0 >> 16) as u32;
        self.0 = (self.0.wrapping_mul(25_214_903_917).wrapping_add(11)) & Self::MASK;
        value
    }
}

/// SplitMix64 finaliser, used to derive independent generator seeds from (seed, epoch, job).
pub(crate) fn mix_seed(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Sigmoid and log-sigmoid sampled as gensim samples them: entry `i` is the value at
/// `x_i = (2 i / 1000 - 1) * 6`, and `x` in `(-6, 6)` reads entry `floor((x + 6) * 1000 / 12)`.
#[derive(Debug, Clone)]
pub(crate) struct SigmoidTable {
    sigmoid: Vec<f32>,
    log_sigmoid: Vec<f32>,
}

impl SigmoidTable {
    pub fn new() -> Self {
        let mut sigmoid = Vec::with_capacity(TABLE_SIZE);
        let mut log_sigmoid = Vec::with_capacity(TABLE_SIZE);
        for i in 0..TABLE_SIZE {
            let e = ((i as f32 / TABLE_SIZE as f32 * 2.0 - 1.0) * MAX_EXP).exp();
            let s = e / (e + 1.0);
            sigmoid.push(s);
            log_sigmoid.push(s.ln());
        }
        Self {
            sigmoid,
            log_sigmoid,
        }
    }

    /// Table index of `x`, which must lie in `(-MAX_EXP, MAX_EXP)`.
    #[inline]
    fn index(x: f32) -> usize {
        let scale = TABLE_SIZE as f32 / MAX_EXP / 2.0;
        (((x + MAX_EXP) * scale) as usize).min(TABLE_SIZE - 1)
    }

    #[inline]
    pub fn sigmoid(&self, x: f32) -> f32 {
        self.sigmoid[Self::index(x)]
    }

    #[inline]
    pub fn log_sigmoid(&self, x: f32) -> f32 {
        self.log_sigmoid[Self::index(x)]
    }
}

/// Dot product in 8 independent lanes so that the compiler emits SIMD code.
#[inline]
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in chunks_a.zip(chunks_b) {
        for k in 0..8 {
            lanes[k] += ca[k] * cb[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `y += a * x`.
#[inline]
pub(crate) fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Per-thread state of the update: constants, generator, buffers and loss.
pub(crate) struct PairTrainer<'t> {
    pub negative: usize,
    pub cum_table: &'t [u32],
    pub table: &'t SigmoidTable,
    pub rng: Lcg,
    /// Sum of `-log sigmoid(+-x)` over every scored output vector (gensim's running loss).
    pub loss: f64,
    context: Vec<f32>,
    work: Vec<f32>,
}

impl<'t> PairTrainer<'t> {
    pub fn new(
        dim: usize,
        negative: usize,
        cum_table: &'t [u32],
        table: &'t SigmoidTable,
        rng: Lcg,
    ) -> Self {
        Self {
            negative,
            cum_table,
            table,
            rng,
            loss: 0.0,
            context: vec![0.0; dim],
            work: vec![0.0; dim],
        }
    }

    /// Trains the pair where `context_row`'s input vector predicts `centre_row`.
    #[inline]
    pub fn train_pair<W: WeightStore>(
        &mut self,
        weights: &mut W,
        centre_row: usize,
        context_row: usize,
        alpha: f32,
    ) {
        weights.read_input(context_row, &mut self.context);
        self.work.fill(0.0);
        for d in 0..=self.negative {
            let (target, label) = if d == 0 {
                (centre_row, 1.0)
            } else {
                let target = draw_row(self.cum_table, self.rng.next_u32());
                if target == centre_row {
                    continue;
                }
                (target, 0.0)
            };
            let step = OutputStep {
                context: &self.context,
                work: &mut self.work,
                label,
                alpha,
                table: self.table,
            };
            self.loss += weights.update_output(target, step) as f64;
        }
        weights.add_input(context_row, &self.work);
    }
}

/// One output-vector step: score, gradient, loss.
pub(crate) struct OutputStep<'a> {
    context: &'a [f32],
    work: &'a mut [f32],
    label: f32,
    alpha: f32,
    table: &'a SigmoidTable,
}

impl OutputStep<'_> {
    /// Applies the step to `output` in place and returns its loss (0 when skipped).
    #[inline]
    fn apply(self, output: &mut [f32]) -> f32 {
        let x = dot(self.context, output);
        if x <= -MAX_EXP || x >= MAX_EXP {
            return 0.0;
        }
        let g = (self.label - self.table.sigmoid(x)) * self.alpha;
        let signed = if self.label > 0.0 { x } else { -x };
        let loss = -self.table.log_sigmoid(signed);
        axpy(self.work, g, output);
        axpy(output, g, self.context);
        loss
    }
}

/// Access to the input (`syn0`) and output (`syn1neg`) matrices, both `rows x dim`, row-major.
pub(crate) trait WeightStore {
    /// Copies the input vector of `row` into `out`.
    fn read_input(&mut self, row: usize, out: &mut [f32]);
    /// Adds `delta` to the input vector of `row`.
    fn add_input(&mut self, row: usize, delta: &[f32]);
    /// Applies `step` to the output vector of `row` and returns its loss.
    fn update_output(&mut self, row: usize, step: OutputStep<'_>) -> f32;
}

/// Weights owned by a single thread.
pub(crate) struct PlainWeights<'w> {
    pub dim: usize,
    pub input: &'w mut [f32],
    pub output: &'w mut [f32],
}

impl WeightStore for PlainWeights<'_> {
    #[inline]
    fn read_input(&mut self, row: usize, out: &mut [f32]) {
        out.copy_from_slice(&self.input[row * self.dim..(row + 1) * self.dim]);
    }

    #[inline]
    fn add_input(&mut self, row: usize, delta: &[f32]) {
        axpy(
            &mut self.input[row * self.dim..(row + 1) * self.dim],
            1.0,
            delta,
        );
    }

    #[inline]
    fn update_output(&mut self, row: usize, step: OutputStep<'_>) -> f32 {
        step.apply(&mut self.output[row * self.dim..(row + 1) * self.dim])
    }
}

/// Weights shared by Hogwild threads: one mutex per row.
///
/// Threads never wait for each other between updates, as in gensim's Hogwild workers, but each
/// row update is done under its row's lock, so the SIMD loops of the one-thread path apply
/// unchanged and no update is torn. A thread holds at most one row lock at a time, so there is
/// no deadlock. Relaxed `AtomicU32` cells, the other race-tolerant layout safe Rust allows,
/// measured 3x slower per thread on this kernel because atomic loads and stores are not
/// vectorised.
pub(crate) struct LockedWeights<'w> {
    pub input: &'w [Mutex<Vec<f32>>],
    pub output: &'w [Mutex<Vec<f32>>],
}

/// Locks `row`, tolerating a poisoned lock (a panicked worker leaves valid floats behind).
#[inline]
fn lock(row: &Mutex<Vec<f32>>) -> MutexGuard<'_, Vec<f32>> {
    row.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl WeightStore for LockedWeights<'_> {
    #[inline]
    fn read_input(&mut self, row: usize, out: &mut [f32]) {
        out.copy_from_slice(&lock(&self.input[row]));
    }

    #[inline]
    fn add_input(&mut self, row: usize, delta: &[f32]) {
        axpy(&mut lock(&self.input[row]), 1.0, delta);
    }

    #[inline]
    fn update_output(&mut self, row: usize, step: OutputStep<'_>) -> f32 {
        step.apply(&mut lock(&self.output[row]))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;

    #[test]
    fn lcg_matches_word2vec_recurrence() {
        let mut rng = Lcg::new(1);
        assert_eq!(rng.next_u32(), 0);
        // state 1 -> 25214903917 + 11 = 25214903928; its upper 32 bits of 48 are 0x5DEE.
        assert_eq!(rng.next_u32(), (25_214_903_928u64 >> 16) as u32);
    }

    #[test]
    fn sigmoid_table_matches_gensim_grid() {
        let table = SigmoidTable::new();
        // x = 0 reads entry 500, the value at x_500 = 0.
        assert!((table.sigmoid(0.0) - 0.5).abs() < 1e-6);
        // x = 3 reads entry 750, sigmoid(3).
        let s3 = 1.0 / (1.0 + (-3.0f32).exp());
        assert!((table.sigmoid(3.0) - s3).abs() < 1e-6);
        assert!((table.log_sigmoid(3.0) - s3.ln()).abs() < 1e-6);
        // Just below 6 reads the last entry.
        assert!(table.sigmoid(5.9999) > 0.997);
    }

    #[test]
    fn dot_and_axpy_handle_tails() {
        let a: Vec<f32> = (0..13).map(|i| i as f32).collect();
        let b = vec![2.0f32; 13];
        assert_eq!(dot(&a, &b), 156.0);
        let mut y = vec![1.0f32; 13];
        axpy(&mut y, 0.5, &a);
        assert_eq!(y[12], 7.0);
    }

    #[test]
    fn plain_and_locked_stores_agree() {
        let dim = 12;
        let rows = 5;
        let input: Vec<f32> = (0..rows * dim)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.05)
            .collect();
        let output: Vec<f32> = (0..rows * dim)
            .map(|i| ((i * 3 % 13) as f32 - 6.0) * 0.04)
            .collect();
        let cum = crate::vocab::cum_table(&[5, 4, 3, 2, 1], 0.75);
        let table = SigmoidTable::new();
        let pairs = [(0, 1), (2, 3), (4, 0), (1, 1)];

        let (mut in_a, mut out_a) = (input.clone(), output.clone());
        let mut plain = PlainWeights {
            dim,
            input: &mut in_a,
            output: &mut out_a,
        };
        let mut trainer = PairTrainer::new(dim, 5, &cum, &table, Lcg::new(99));
        for (centre, context) in pairs {
            trainer.train_pair(&mut plain, centre, context, 0.025);
        }
        let loss_plain = trainer.loss;

        let to_rows = |m: &[f32]| -> Vec<Mutex<Vec<f32>>> {
            m.chunks(dim).map(|r| Mutex::new(r.to_vec())).collect()
        };
        let (in_b, out_b) = (to_rows(&input), to_rows(&output));
        let mut locked = LockedWeights {
            input: &in_b,
            output: &out_b,
        };
        let mut trainer = PairTrainer::new(dim, 5, &cum, &table, Lcg::new(99));
        for (centre, context) in pairs {
            trainer.train_pair(&mut locked, centre, context, 0.025);
        }
        assert!(loss_plain > 0.0);
        assert_eq!(trainer.loss, loss_plain);
        let flat = |m: Vec<Mutex<Vec<f32>>>| -> Vec<f32> {
            m.into_iter()
                .flat_map(|r| r.into_inner().unwrap())
                .collect()
        };
        assert_eq!(flat(in_b), in_a);
        assert_eq!(flat(out_b), out_a);
    }
}
