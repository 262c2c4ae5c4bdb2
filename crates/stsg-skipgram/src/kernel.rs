//! The skip-gram negative-sampling update and its building blocks: gensim's random number
//! generator, its sigmoid and log-sigmoid tables, and the two weight stores (plain slices for
//! one thread, shared atomic rows with per-thread batches for Hogwild threads).
//!
//! The update for one (centre, context) pair follows `w2v_fast_sentence_sg_neg` in gensim 4.4
//! (`gensim/models/word2vec_inner.pyx`). The context token's input vector `v` is scored against
//! the output vector `u` of the centre token (label 1) and of `negative` drawn tokens (label 0).
//! A drawn token equal to the centre token is skipped. For each scored `u` with `x = v . u`,
//! nothing happens when `|x| >= 6` (no update, no loss). Otherwise
//! `g = (label - sigmoid(x)) * alpha`, `work += g u` and `u += g v`. At the end `v += work`.

use std::sync::atomic::{AtomicU64, Ordering};

use pulp::Simd;

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

/// Dot product with four vector accumulators, using fused multiply-add where the CPU has it.
#[inline(always)]
pub(crate) fn dot<S: Simd>(simd: S, a: &[f32], b: &[f32]) -> f32 {
    let (a_head, a_tail) = S::as_simd_f32s(a);
    let (b_head, b_tail) = S::as_simd_f32s(b);
    let zero = simd.splat_f32s(0.0);
    let mut acc = [zero; 4];
    let mut a_chunks = a_head.chunks_exact(4);
    let mut b_chunks = b_head.chunks_exact(4);
    for (x, y) in (&mut a_chunks).zip(&mut b_chunks) {
        for k in 0..4 {
            acc[k] = simd.mul_add_e_f32s(x[k], y[k], acc[k]);
        }
    }
    for (x, y) in a_chunks.remainder().iter().zip(b_chunks.remainder()) {
        acc[0] = simd.mul_add_e_f32s(*x, *y, acc[0]);
    }
    let sum = simd.add_f32s(simd.add_f32s(acc[0], acc[1]), simd.add_f32s(acc[2], acc[3]));
    let tail: f32 = a_tail.iter().zip(b_tail).map(|(x, y)| x * y).sum();
    simd.reduce_sum_f32s(sum) + tail
}

/// `y += a * x`.
#[inline(always)]
pub(crate) fn axpy<S: Simd>(simd: S, y: &mut [f32], a: f32, x: &[f32]) {
    let (y_head, y_tail) = S::as_mut_simd_f32s(y);
    let (x_head, x_tail) = S::as_simd_f32s(x);
    let a_vec = simd.splat_f32s(a);
    for (yv, xv) in y_head.iter_mut().zip(x_head) {
        *yv = simd.mul_add_e_f32s(a_vec, *xv, *yv);
    }
    for (yi, xi) in y_tail.iter_mut().zip(x_tail) {
        *yi += a * xi;
    }
}

/// `work += g * output`, then `output += g * context`, in one pass over `output`.
#[inline(always)]
fn output_update<S: Simd>(simd: S, work: &mut [f32], output: &mut [f32], g: f32, context: &[f32]) {
    let (w_head, w_tail) = S::as_mut_simd_f32s(work);
    let (o_head, o_tail) = S::as_mut_simd_f32s(output);
    let (c_head, c_tail) = S::as_simd_f32s(context);
    let g_vec = simd.splat_f32s(g);
    for ((wv, ov), cv) in w_head.iter_mut().zip(o_head.iter_mut()).zip(c_head) {
        let old = *ov;
        *wv = simd.mul_add_e_f32s(g_vec, old, *wv);
        *ov = simd.mul_add_e_f32s(g_vec, *cv, old);
    }
    for ((wi, oi), ci) in w_tail.iter_mut().zip(o_tail.iter_mut()).zip(c_tail) {
        let old = *oi;
        *wi += g * old;
        *oi = old + g * ci;
    }
}

/// Per-thread state of the update: constants, generator, buffer and loss.
pub(crate) struct PairTrainer<'t> {
    pub negative: usize,
    pub cum_table: &'t [u32],
    pub table: &'t SigmoidTable,
    pub rng: Lcg,
    /// Sum of `-log sigmoid(+-x)` over every scored output vector (gensim's running loss).
    pub loss: f64,
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
            work: vec![0.0; dim],
        }
    }

    /// Trains the pair where `context_row`'s input vector predicts `centre_row`.
    #[inline(always)]
    pub fn train_pair<S: Simd, W: WeightStore>(
        &mut self,
        simd: S,
        weights: &mut W,
        centre_row: usize,
        context_row: usize,
        alpha: f32,
    ) {
        let Self {
            negative,
            cum_table,
            table,
            rng,
            loss,
            work,
        } = self;
        work.fill(0.0);
        weights.with_input(context_row, |context, outputs| {
            for d in 0..=*negative {
                let (target, label) = if d == 0 {
                    (centre_row, 1.0)
                } else {
                    let target = draw_row(cum_table, rng.next_u32());
                    if target == centre_row {
                        continue;
                    }
                    (target, 0.0)
                };
                let step_loss = outputs.update_output(target, |output| {
                    output_step(simd, table, context, work, output, label, alpha)
                });
                *loss += f64::from(step_loss.unwrap_or(0.0));
            }
        });
        weights.add_input(simd, context_row, work);
    }
}

/// Scores `output` against `context`, applies the gradient to `output` in place and adds the
/// input vector's share to `work`. Returns the loss, or `None` when the score is outside
/// `(-6, 6)` and nothing changes.
#[inline(always)]
fn output_step<S: Simd>(
    simd: S,
    table: &SigmoidTable,
    context: &[f32],
    work: &mut [f32],
    output: &mut [f32],
    label: f32,
    alpha: f32,
) -> Option<f32> {
    let x = dot(simd, context, output);
    if x <= -MAX_EXP || x >= MAX_EXP {
        return None;
    }
    let g = (label - table.sigmoid(x)) * alpha;
    let signed = if label > 0.0 { x } else { -x };
    let loss = -table.log_sigmoid(signed);
    output_update(simd, work, output, g, context);
    Some(loss)
}

/// Access to the output (`syn1neg`) rows while an input row is read.
pub(crate) trait OutputRows {
    /// Runs `f` on the output vector of `row`; `f` returns `None` when it changed nothing.
    fn update_output<R>(
        &mut self,
        row: usize,
        f: impl FnOnce(&mut [f32]) -> Option<R>,
    ) -> Option<R>;
}

/// Access to the input (`syn0`) and output (`syn1neg`) matrices, both `rows x dim`.
pub(crate) trait WeightStore {
    /// The output rows, reachable while an input row is read.
    type Outputs<'s>: OutputRows
    where
        Self: 's;

    /// Runs `f` on the input vector of `row` and the output rows.
    fn with_input<R>(
        &mut self,
        row: usize,
        f: impl FnOnce(&[f32], &mut Self::Outputs<'_>) -> R,
    ) -> R;

    /// Adds `delta` to the input vector of `row`.
    fn add_input<S: Simd>(&mut self, simd: S, row: usize, delta: &[f32]);

    /// Called after the pairs of each centre position; a shared store may publish its
    /// updates here.
    #[inline(always)]
    fn position_done<S: Simd>(&mut self, _simd: S) {}

    /// Publishes every pending update; called at the end of each job.
    #[inline(always)]
    fn flush<S: Simd>(&mut self, _simd: S) {}
}

/// Weights owned by a single thread, row-major.
pub(crate) struct PlainWeights<'w> {
    pub dim: usize,
    pub input: &'w mut [f32],
    pub output: &'w mut [f32],
}

/// The output matrix of [`PlainWeights`].
pub(crate) struct PlainOutputs<'o> {
    dim: usize,
    output: &'o mut [f32],
}

impl OutputRows for PlainOutputs<'_> {
    #[inline(always)]
    fn update_output<R>(
        &mut self,
        row: usize,
        f: impl FnOnce(&mut [f32]) -> Option<R>,
    ) -> Option<R> {
        f(&mut self.output[row * self.dim..(row + 1) * self.dim])
    }
}

impl WeightStore for PlainWeights<'_> {
    type Outputs<'s>
        = PlainOutputs<'s>
    where
        Self: 's;

    #[inline(always)]
    fn with_input<R>(
        &mut self,
        row: usize,
        f: impl FnOnce(&[f32], &mut PlainOutputs<'_>) -> R,
    ) -> R {
        let dim = self.dim;
        let mut outputs = PlainOutputs {
            dim,
            output: self.output,
        };
        f(&self.input[row * dim..(row + 1) * dim], &mut outputs)
    }

    #[inline(always)]
    fn add_input<S: Simd>(&mut self, simd: S, row: usize, delta: &[f32]) {
        let dim = self.dim;
        axpy(
            simd,
            &mut self.input[row * dim..(row + 1) * dim],
            1.0,
            delta,
        );
    }
}

/// A `rows x dim` matrix shared by Hogwild threads, stored as relaxed atomic words of two
/// `f32` each. Each word is read and written whole, so no value is ever torn; relaxed loads
/// and stores are plain moves.
pub(crate) struct SharedMatrix {
    dim: usize,
    /// Words per row: `dim` rounded up to even, halved. An odd `dim` leaves one padding value
    /// per row that stays 0.
    words: usize,
    cells: Vec<AtomicU64>,
}

impl SharedMatrix {
    /// Copies the row-major `rows x dim` matrix `values`.
    pub fn new(values: &[f32], dim: usize) -> Self {
        let words = dim.div_ceil(2);
        let mut cells = Vec::with_capacity(values.len().div_ceil(dim.max(1)) * words);
        let mut padded = vec![0u64; words];
        for row in values.chunks(dim) {
            bytemuck::cast_slice_mut::<u64, f32>(&mut padded)[..dim].copy_from_slice(row);
            cells.extend(padded.iter().map(|&w| AtomicU64::new(w)));
        }
        Self { dim, words, cells }
    }

    /// Returns the matrix as row-major `f32`.
    pub fn into_values(self) -> Vec<f32> {
        let words: Vec<u64> = self.cells.into_iter().map(AtomicU64::into_inner).collect();
        let values: &[f32] = bytemuck::cast_slice(&words);
        values
            .chunks(2 * self.words)
            .flat_map(|row| &row[..self.dim])
            .copied()
            .collect()
    }

    #[inline(always)]
    fn row(&self, row: usize) -> &[AtomicU64] {
        &self.cells[row * self.words..(row + 1) * self.words]
    }

    #[inline(always)]
    fn load(&self, row: usize, buffer: &mut [u64]) {
        for (b, cell) in buffer.iter_mut().zip(self.row(row)) {
            *b = cell.load(Ordering::Relaxed);
        }
    }

    #[inline(always)]
    fn store(&self, row: usize, buffer: &[u64]) {
        for (b, cell) in buffer.iter().zip(self.row(row)) {
            cell.store(*b, Ordering::Relaxed);
        }
    }
}

/// Marks a row without a cache slot.
const NO_SLOT: u32 = u32::MAX;

/// One thread's private copies of the rows of a [`SharedMatrix`] it used since its last flush.
///
/// The first use of a row copies it from the shared matrix twice, as the working copy and as
/// the base. Later uses read and write the working copy only, so a row that the thread updates
/// many times costs the shared memory traffic of one read and one write per flush instead of one
/// per update. A flush adds `working - base` to the current shared row (a relaxed read and
/// write, so an update of the same row by another thread between the two can be lost, as in
/// gensim's lock-free workers) and empties the cache.
struct RowCache {
    words: usize,
    /// Slot of each matrix row, or [`NO_SLOT`].
    slot_of: Vec<u32>,
    /// Matrix row of each slot.
    rows: Vec<u32>,
    working: Vec<u64>,
    base: Vec<u64>,
}

impl RowCache {
    fn new(matrix: &SharedMatrix) -> Self {
        Self {
            words: matrix.words,
            slot_of: vec![NO_SLOT; matrix.cells.len() / matrix.words.max(1)],
            rows: Vec::new(),
            working: Vec::new(),
            base: Vec::new(),
        }
    }

    /// Returns the working copy of `row`, as `words` words, copying it in on first use.
    #[inline(always)]
    fn get(&mut self, matrix: &SharedMatrix, row: usize) -> &mut [u64] {
        let w = self.words;
        let slot = match self.slot_of[row] {
            NO_SLOT => {
                let slot = self.rows.len();
                self.slot_of[row] = slot as u32;
                self.rows.push(row as u32);
                self.working.resize((slot + 1) * w, 0);
                matrix.load(row, &mut self.working[slot * w..]);
                self.base.extend_from_slice(&self.working[slot * w..]);
                slot
            }
            slot => slot as usize,
        };
        &mut self.working[slot * w..(slot + 1) * w]
    }

    /// Adds every cached row's change to the shared matrix and empties the cache.
    #[inline(always)]
    fn flush<S: Simd>(&mut self, simd: S, matrix: &SharedMatrix, scratch: &mut [u64]) {
        let w = self.words;
        for (slot, &row) in self.rows.iter().enumerate() {
            let row = row as usize;
            self.slot_of[row] = NO_SLOT;
            let working = &self.working[slot * w..(slot + 1) * w];
            let base = &self.base[slot * w..(slot + 1) * w];
            if working == base {
                continue;
            }
            matrix.load(row, scratch);
            add_difference(
                simd,
                bytemuck::cast_slice_mut(scratch),
                bytemuck::cast_slice(working),
                bytemuck::cast_slice(base),
            );
            matrix.store(row, scratch);
        }
        self.rows.clear();
        self.working.clear();
        self.base.clear();
    }
}

/// `y += a - b`.
#[inline(always)]
fn add_difference<S: Simd>(simd: S, y: &mut [f32], a: &[f32], b: &[f32]) {
    let (y_head, y_tail) = S::as_mut_simd_f32s(y);
    let (a_head, a_tail) = S::as_simd_f32s(a);
    let (b_head, b_tail) = S::as_simd_f32s(b);
    for ((yv, av), bv) in y_head.iter_mut().zip(a_head).zip(b_head) {
        *yv = simd.add_f32s(*yv, simd.sub_f32s(*av, *bv));
    }
    for ((yi, ai), bi) in y_tail.iter_mut().zip(a_tail).zip(b_tail) {
        *yi += ai - bi;
    }
}

/// Centre positions between two flushes of a [`SharedWeights`] cache. Each position trains
/// up to `2 * window` pairs of `negative + 2` rows, so at window 80 with shrinking windows
/// (about 81 pairs per position) an update reaches the other threads within about 2,600 pairs.
/// A frequent row is written to the shared matrix once per flush instead of once per pair.
const FLUSH_POSITIONS: usize = 32;

/// One thread's view of the shared input and output matrices: lock-free Hogwild updates, with
/// each thread's updates published in batches (see [`RowCache`]).
///
/// Writing every update straight to the shared rows made two threads slower together than one
/// alone: a frequent row is updated thousands of times per second by both threads, and every
/// update moved its cache lines from one core to the other. Per-row locks were no better, as
/// each lock acquisition also waits for those lines.
pub(crate) struct SharedWeights<'w> {
    dim: usize,
    input: &'w SharedMatrix,
    output: &'w SharedMatrix,
    input_cache: RowCache,
    output_cache: RowCache,
    scratch: Vec<u64>,
    positions: usize,
}

impl<'w> SharedWeights<'w> {
    pub fn new(input: &'w SharedMatrix, output: &'w SharedMatrix) -> Self {
        Self {
            dim: input.dim,
            input,
            output,
            input_cache: RowCache::new(input),
            output_cache: RowCache::new(output),
            scratch: vec![0; input.words],
            positions: 0,
        }
    }
}

/// The output matrix of [`SharedWeights`] and its cache.
pub(crate) struct SharedOutputs<'o> {
    dim: usize,
    output: &'o SharedMatrix,
    cache: &'o mut RowCache,
}

impl OutputRows for SharedOutputs<'_> {
    #[inline(always)]
    fn update_output<R>(
        &mut self,
        row: usize,
        f: impl FnOnce(&mut [f32]) -> Option<R>,
    ) -> Option<R> {
        let words = self.cache.get(self.output, row);
        f(&mut bytemuck::cast_slice_mut::<u64, f32>(words)[..self.dim])
    }
}

impl WeightStore for SharedWeights<'_> {
    type Outputs<'s>
        = SharedOutputs<'s>
    where
        Self: 's;

    #[inline(always)]
    fn with_input<R>(
        &mut self,
        row: usize,
        f: impl FnOnce(&[f32], &mut SharedOutputs<'_>) -> R,
    ) -> R {
        let context = self.input_cache.get(self.input, row);
        let mut outputs = SharedOutputs {
            dim: self.dim,
            output: self.output,
            cache: &mut self.output_cache,
        };
        f(
            &bytemuck::cast_slice::<u64, f32>(context)[..self.dim],
            &mut outputs,
        )
    }

    #[inline(always)]
    fn add_input<S: Simd>(&mut self, simd: S, row: usize, delta: &[f32]) {
        let words = self.input_cache.get(self.input, row);
        axpy(
            simd,
            &mut bytemuck::cast_slice_mut::<u64, f32>(words)[..self.dim],
            1.0,
            delta,
        );
    }

    #[inline(always)]
    fn position_done<S: Simd>(&mut self, simd: S) {
        self.positions += 1;
        if self.positions >= FLUSH_POSITIONS {
            self.flush(simd);
        }
    }

    #[inline(always)]
    fn flush<S: Simd>(&mut self, simd: S) {
        self.positions = 0;
        self.input_cache.flush(simd, self.input, &mut self.scratch);
        self.output_cache
            .flush(simd, self.output, &mut self.scratch);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use super::*;
    use pulp::WithSimd;

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
        /// Checks the kernels at every length from 0 to 70 (all tails of 8- and 16-lane
        /// vectors and of the 4-vector unrolling) with the SIMD type it is given.
        struct Check;
        impl pulp::WithSimd for Check {
            type Output = ();
            fn with_simd<S: Simd>(self, simd: S) {
                for n in 0..=70 {
                    let a: Vec<f32> = (0..n).map(|i| (i % 7) as f32 - 3.0).collect();
                    let b: Vec<f32> = (0..n).map(|i| (i % 5) as f32 * 0.5).collect();
                    let expected: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
                    // Small integers and halves: every partial sum is exact in f32.
                    assert_eq!(dot(simd, &a, &b), expected, "dot, length {n}");
                    let mut y = b.clone();
                    axpy(simd, &mut y, 0.5, &a);
                    for i in 0..n {
                        assert_eq!(y[i], b[i] + 0.5 * a[i], "axpy, length {n}, index {i}");
                    }
                    let (mut work, mut output) = (vec![1.0f32; n], b.clone());
                    output_update(simd, &mut work, &mut output, 0.5, &a);
                    for i in 0..n {
                        assert_eq!(work[i], 1.0 + 0.5 * b[i], "work, length {n}");
                        assert_eq!(output[i], b[i] + 0.5 * a[i], "output, length {n}");
                    }
                }
            }
        }
        pulp::Arch::new().dispatch(Check);
        Check.with_simd(pulp::Scalar::new());
    }

    #[test]
    fn plain_and_shared_stores_agree() {
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
            trainer.train_pair(pulp::Scalar::new(), &mut plain, centre, context, 0.025);
        }
        let loss_plain = trainer.loss;

        let (in_b, out_b) = (
            SharedMatrix::new(&input, dim),
            SharedMatrix::new(&output, dim),
        );
        let mut shared = SharedWeights::new(&in_b, &out_b);
        let mut trainer = PairTrainer::new(dim, 5, &cum, &table, Lcg::new(99));
        for (centre, context) in pairs {
            trainer.train_pair(pulp::Scalar::new(), &mut shared, centre, context, 0.025);
        }
        assert!(loss_plain > 0.0);
        // The cache has the same values as the plain store, pair by pair.
        assert_eq!(trainer.loss, loss_plain);
        shared.flush(pulp::Scalar::new());
        // Published as `base + (working - base)`, equal to the working copy up to rounding.
        let close = |a: Vec<f32>, b: &[f32]| {
            assert_eq!(a.len(), b.len());
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert!((x - y).abs() <= 1e-7, "index {i}: {x} against {y}");
            }
        };
        close(in_b.into_values(), &in_a);
        close(out_b.into_values(), &out_a);
    }

    #[test]
    fn shared_matrix_round_trips_odd_and_even_widths() {
        for dim in [1, 2, 5, 8] {
            let values: Vec<f32> = (0..3 * dim).map(|i| i as f32 * 0.5 - 1.0).collect();
            assert_eq!(
                SharedMatrix::new(&values, dim).into_values(),
                values,
                "dim {dim}"
            );
        }
    }

    /// Returns zero input and output matrices of `rows x dim`.
    fn zero_matrices(rows: usize, dim: usize) -> (SharedMatrix, SharedMatrix) {
        let zeros = vec![0.0; rows * dim];
        (
            SharedMatrix::new(&zeros, dim),
            SharedMatrix::new(&zeros, dim),
        )
    }

    #[test]
    fn flushes_add_the_updates_of_every_thread() {
        // Two views change the same row between their reads and their flushes, as two
        // threads may: both changes reach the shared row.
        let (input, output) = zero_matrices(2, 5);
        let simd = pulp::Scalar::new();
        let mut a = SharedWeights::new(&input, &output);
        let mut b = SharedWeights::new(&input, &output);
        a.add_input(simd, 1, &[1.0; 5]);
        b.add_input(simd, 1, &[2.0; 5]);
        b.add_input(simd, 0, &[0.5; 5]);
        a.flush(simd);
        b.flush(simd);
        let values = input.into_values();
        assert_eq!(values[..5], [0.5; 5]);
        assert_eq!(values[5..], [3.0; 5]);
    }

    #[test]
    fn positions_trigger_a_flush() {
        let (input, output) = zero_matrices(1, 4);
        let simd = pulp::Scalar::new();
        let mut view = SharedWeights::new(&input, &output);
        view.add_input(simd, 0, &[1.0; 4]);
        for _ in 0..FLUSH_POSITIONS - 1 {
            view.position_done(simd);
        }
        let shared_row = |matrix: &SharedMatrix| {
            let mut words = [0u64; 2];
            matrix.load(0, &mut words);
            bytemuck::cast::<[u64; 2], [f32; 4]>(words)
        };
        assert_eq!(shared_row(&input), [0.0; 4]);
        view.position_done(simd);
        assert_eq!(shared_row(&input), [1.0; 4]);
    }
}
