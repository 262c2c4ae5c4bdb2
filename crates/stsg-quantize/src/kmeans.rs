//! Lloyd k-means training of a [`Codebook`], following faiss's `Kmeans` defaults.
//!
//! One iteration assigns every training point to its nearest centroid (the matrix-product
//! kernel of [`crate::Codebook`]), reports the inertia (sum of squared distances) of that
//! assignment, moves each centroid to the mean of its points and then repairs empty clusters
//! by splitting large ones. The centroid update sums each cluster's points in index order, so a
//! run depends only on the data and the seed, not on the thread count.

use ndarray::{Array2, ArrayView2};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use stsg_core::Fit;

use crate::assign::{CentroidsRef, assign_rows, row_sq_norms};
use crate::codebook::Codebook;
use crate::error::QuantizeError;
use crate::params::{KMeansInit, KMeansValidParams};
use crate::threads::Threads;
use crate::{check_finite, contiguous};

/// Relative perturbation that separates the two halves of a split cluster (faiss uses 1/1024).
const SPLIT_EPS: f32 = 1.0 / 1024.0;

/// Progress of one Lloyd iteration, passed to the training callback.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct KMeansProgress {
    /// Iteration number, from 1 to `n_iter`.
    pub iteration: usize,
    /// Number of iterations of the run.
    pub n_iter: usize,
    /// Sum of squared distances of the training points to their nearest centroid at the start
    /// of this iteration (before the centroids move).
    pub inertia: f64,
    /// Number of training points after subsampling.
    pub n_points: usize,
    /// Empty clusters repaired at the end of this iteration.
    pub n_split: usize,
}

impl<'a> Fit<ArrayView2<'a, f32>> for KMeansValidParams {
    type Object = Codebook;
    type Error = QuantizeError;

    fn fit(&self, data: ArrayView2<'a, f32>) -> Result<Codebook, QuantizeError> {
        self.fit_with_progress(data, |_| {})
    }
}

impl KMeansValidParams {
    /// Trains a codebook on `data` (`points x features`), calling `callback` after the
    /// assignment step of every iteration.
    ///
    /// Cost per iteration: O(n k d) multiply-adds for the assignment and O(n d) for the update,
    /// where `n` is at most `max_points_per_centroid * k` after subsampling.
    ///
    /// # Errors
    /// [`QuantizeError::EmptyInput`] for no rows or columns, [`QuantizeError::NonFinite`] naming
    /// the first row with NaN or an infinite value, [`QuantizeError::TooFewPoints`] when `data`
    /// has fewer rows than `k`, and [`QuantizeError::ThreadPool`] when the pool cannot start.
    pub fn fit_with_progress(
        &self,
        data: ArrayView2<'_, f32>,
        callback: impl FnMut(&KMeansProgress),
    ) -> Result<Codebook, QuantizeError> {
        let p = &self.0;
        if data.nrows() == 0 || data.ncols() == 0 {
            return Err(QuantizeError::EmptyInput {
                what: "training points",
                rows: data.nrows(),
                cols: data.ncols(),
            });
        }
        if data.nrows() < p.k {
            return Err(QuantizeError::TooFewPoints {
                k: p.k,
                n_points: data.nrows(),
            });
        }
        let threads = Threads::new(p.n_threads)?;
        threads.run(|| check_finite(data, "training points"))?;
        Ok(self.train(data, &threads, callback))
    }

    fn train(
        &self,
        data: ArrayView2<'_, f32>,
        threads: &Threads,
        mut callback: impl FnMut(&KMeansProgress),
    ) -> Codebook {
        let p = &self.0;
        let dim = data.ncols();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(p.seed);

        let points = subsample(data, p.k, p.max_points_per_centroid, &mut rng);
        let points: &[f32] = points.as_slice().unwrap_or(&[]);
        let n = points.len() / dim;

        let mut centroids = match p.init {
            KMeansInit::RandomPoints => init_random_points(points, dim, p.k, &mut rng),
            KMeansInit::KMeansPlusPlus => {
                threads.run(|| init_kmeans_plus_plus(points, dim, p.k, &mut rng))
            }
        };

        let mut labels = vec![0u32; n];
        let mut distances = vec![0f32; n];
        for iteration in 1..=p.n_iter {
            let sq_norms = row_sq_norms(&centroids, dim);
            let view = CentroidsRef {
                data: &centroids,
                sq_norms: &sq_norms,
                dim,
            };
            threads.run(|| assign_rows(points, view, &mut labels, Some(&mut distances)));
            let inertia = distances.iter().map(|&d| f64::from(d)).sum::<f64>();

            let mut counts = threads.run(|| update_centroids(points, dim, &labels, &mut centroids));
            let n_split = split_empty_clusters(&mut centroids, dim, &mut counts, &mut rng);
            if n_split > 0 {
                log::debug!("kmeans: iteration={iteration} split_empty_clusters={n_split}");
            }
            log::debug!("kmeans: iteration={iteration} inertia={inertia}");
            callback(&KMeansProgress {
                iteration,
                n_iter: p.n_iter,
                inertia,
                n_points: n,
                n_split,
            });
        }

        let centroids = Array2::from_shape_vec((p.k, dim), centroids)
            .expect("centroid buffer has k * dim values");
        Codebook::from_trusted(centroids)
    }
}

/// Copies `data` into a contiguous buffer, subsampled to at most `max_per_centroid * k` rows
/// drawn without replacement (in ascending row order).
fn subsample(
    data: ArrayView2<'_, f32>,
    k: usize,
    max_per_centroid: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Array2<f32> {
    let n = data.nrows();
    let cap = k.saturating_mul(max_per_centroid);
    if n <= cap {
        return contiguous(data).into_owned();
    }
    log::info!("kmeans: subsampling {cap} of {n} training points (max_points_per_centroid x k)");
    let mut rows = rand::seq::index::sample(rng, n, cap).into_vec();
    rows.sort_unstable();
    data.select(ndarray::Axis(0), &rows)
}

/// Picks `k` distinct points uniformly at random.
fn init_random_points(
    points: &[f32],
    dim: usize,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<f32> {
    let n = points.len() / dim;
    let rows = rand::seq::index::sample(rng, n, k);
    let mut centroids = Vec::with_capacity(k * dim);
    for row in rows.iter() {
        centroids.extend_from_slice(&points[row * dim..(row + 1) * dim]);
    }
    centroids
}

/// Points per chunk of the k-means++ bookkeeping (distance sums and parallel updates).
const SEED_CHUNK: usize = 4096;

/// k-means++ seeding in O(n k d) at worst.
///
/// Every point keeps the squared distance to its nearest chosen centroid and that centroid's
/// index. When centroid `t` is added, a point whose nearest centroid `j` satisfies
/// `|c_t - c_j|^2 >= 4 D(x)` cannot get closer (triangle inequality), so its distance is not
/// evaluated. Per-chunk sums of `D` make each draw O(n / SEED_CHUNK + SEED_CHUNK).
fn init_kmeans_plus_plus(
    points: &[f32],
    dim: usize,
    k: usize,
    rng: &mut Xoshiro256PlusPlus,
) -> Vec<f32> {
    let n = points.len() / dim;
    let mut centroids = Vec::with_capacity(k * dim);
    let first = rng.random_range(0..n);
    centroids.extend_from_slice(&points[first * dim..(first + 1) * dim]);

    let mut nearest_sq = vec![0f32; n];
    let mut nearest = vec![0u32; n];
    let first_c = &centroids[..dim];
    nearest_sq
        .par_chunks_mut(SEED_CHUNK)
        .zip(points.par_chunks(SEED_CHUNK * dim))
        .for_each(|(d, xs)| {
            for (d, x) in d.iter_mut().zip(xs.chunks_exact(dim)) {
                *d = sq_dist(x, first_c);
            }
        });
    let mut chunk_sums: Vec<f64> = nearest_sq.par_chunks(SEED_CHUNK).map(sum_f64).collect();

    let mut between = Vec::with_capacity(k);
    for t in 1..k {
        let total: f64 = chunk_sums.iter().sum();
        let chosen = if total > 0.0 {
            draw_weighted(&nearest_sq, &chunk_sums, rng.random::<f64>() * total)
        } else {
            // Every point coincides with a centroid; any point will do.
            rng.random_range(0..n)
        };
        centroids.extend_from_slice(&points[chosen * dim..(chosen + 1) * dim]);
        let new_c = &centroids[t * dim..(t + 1) * dim];
        between.clear();
        between.extend(
            centroids[..t * dim]
                .chunks_exact(dim)
                .map(|c| sq_dist(c, new_c)),
        );

        let between = &between;
        nearest_sq
            .par_chunks_mut(SEED_CHUNK)
            .zip(nearest.par_chunks_mut(SEED_CHUNK))
            .zip(points.par_chunks(SEED_CHUNK * dim))
            .zip(chunk_sums.par_iter_mut())
            .for_each(|(((d, near), xs), sum)| {
                let mut changed = false;
                for ((d, near), x) in d.iter_mut().zip(near.iter_mut()).zip(xs.chunks_exact(dim)) {
                    if between[*near as usize] >= 4.0 * *d {
                        continue;
                    }
                    let to_new = sq_dist(x, new_c);
                    if to_new < *d {
                        *d = to_new;
                        *near = t as u32;
                        changed = true;
                    }
                }
                if changed {
                    *sum = sum_f64(d);
                }
            });
    }
    centroids
}

/// Returns the index `i` where the running sum of `weights` first exceeds `target`.
fn draw_weighted(weights: &[f32], chunk_sums: &[f64], target: f64) -> usize {
    let mut acc = 0.0;
    for (c, &s) in chunk_sums.iter().enumerate() {
        if acc + s > target {
            let start = c * SEED_CHUNK;
            let end = (start + SEED_CHUNK).min(weights.len());
            for (i, &w) in weights[start..end].iter().enumerate() {
                acc += f64::from(w);
                if acc > target {
                    return start + i;
                }
            }
            // Rounding left the target just past this chunk; take its last weighted point.
            return (start..end)
                .rev()
                .find(|&i| weights[i] > 0.0)
                .unwrap_or(end - 1);
        }
        acc += s;
    }
    weights.iter().rposition(|&w| w > 0.0).unwrap_or(0)
}

fn sum_f64(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v)).sum()
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Moves each centroid with at least one point to the mean of its points and returns the
/// cluster sizes. Centroids of empty clusters are left unchanged.
fn update_centroids(
    points: &[f32],
    dim: usize,
    labels: &[u32],
    centroids: &mut [f32],
) -> Vec<usize> {
    let k = centroids.len() / dim;
    // Counting sort of the point indices by label: members[starts[j]..starts[j + 1]] are the
    // points of cluster j in ascending order, so the sums below do not depend on threads.
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l as usize] += 1;
    }
    let mut starts = vec![0usize; k + 1];
    for j in 0..k {
        starts[j + 1] = starts[j] + counts[j];
    }
    let mut fill = starts.clone();
    let mut members = vec![0u32; labels.len()];
    for (i, &l) in labels.iter().enumerate() {
        members[fill[l as usize]] = i as u32;
        fill[l as usize] += 1;
    }

    centroids.par_chunks_mut(dim).enumerate().for_each_init(
        || vec![0f64; dim],
        |sum, (j, c)| {
            let mine = &members[starts[j]..starts[j + 1]];
            if mine.is_empty() {
                return;
            }
            sum.fill(0.0);
            for &i in mine {
                let x = &points[i as usize * dim..(i as usize + 1) * dim];
                for (s, v) in sum.iter_mut().zip(x) {
                    *s += f64::from(*v);
                }
            }
            let inv = 1.0 / mine.len() as f64;
            for (c, s) in c.iter_mut().zip(sum.iter()) {
                *c = (s * inv) as f32;
            }
        },
    );
    counts
}

/// Gives every empty cluster half of a large cluster, in the manner of faiss's `split_clusters`.
/// A donor cluster is drawn with probability proportional to its size minus one. Its centroid
/// is copied, and the two copies are pushed apart by a relative `SPLIT_EPS` in alternating
/// directions. Returns the number of clusters repaired.
fn split_empty_clusters(
    centroids: &mut [f32],
    dim: usize,
    counts: &mut [usize],
    rng: &mut Xoshiro256PlusPlus,
) -> usize {
    let k = counts.len();
    let mut n_split = 0;
    for empty in 0..k {
        if counts[empty] != 0 {
            continue;
        }
        let total: usize = counts.iter().map(|&c| c.saturating_sub(1)).sum();
        if total == 0 {
            // No cluster has two points left to share.
            break;
        }
        let mut target = rng.random_range(0..total);
        let mut donor = 0;
        for (j, &c) in counts.iter().enumerate() {
            let w = c.saturating_sub(1);
            if target < w {
                donor = j;
                break;
            }
            target -= w;
        }
        for f in 0..dim {
            let v = centroids[donor * dim + f];
            let delta = if v == 0.0 {
                SPLIT_EPS
            } else {
                SPLIT_EPS * v.abs()
            };
            let sign = if f % 2 == 0 { 1.0 } else { -1.0 };
            centroids[empty * dim + f] = v + sign * delta;
            centroids[donor * dim + f] = v - sign * delta;
        }
        counts[empty] = counts[donor] / 2;
        counts[donor] -= counts[empty];
        n_split += 1;
    }
    n_split
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a clear test failure
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::params::KMeansParams;

    /// Points around `centers` well-separated blobs, fixed seed.
    pub(crate) fn blobs(n: usize, dim: usize, centers: usize, seed: u64) -> Array2<f32> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let means: Vec<f32> = (0..centers * dim)
            .map(|_| rng.random_range(-10.0f32..10.0))
            .collect();
        Array2::from_shape_fn((n, dim), |(i, f)| {
            let c = i % centers;
            means[c * dim + f] + rng.random_range(-1.0f32..1.0)
        })
    }

    fn inertia_history(params: &KMeansValidParams, data: ArrayView2<'_, f32>) -> Vec<f64> {
        let mut history = Vec::new();
        params
            .fit_with_progress(data, |p| history.push(p.inertia))
            .unwrap();
        history
    }

    #[test]
    fn inertia_never_increases() {
        let data = blobs(5000, 6, 40, 3);
        for init in [KMeansInit::RandomPoints, KMeansInit::KMeansPlusPlus] {
            let params = KMeansParams::new(64).n_iter(15).init(init).check().unwrap();
            let history = inertia_history(&params, data.view());
            assert_eq!(history.len(), 15);
            for (i, w) in history.windows(2).enumerate() {
                assert!(
                    w[1] <= w[0] * (1.0 + 1e-6),
                    "{init:?}: inertia rose from {} to {} at iteration {}",
                    w[0],
                    w[1],
                    i + 2
                );
            }
            assert!(
                history[14] < history[0],
                "{init:?}: no progress: {history:?}"
            );
        }
    }

    #[test]
    fn same_seed_gives_same_codebook() {
        let data = blobs(3000, 5, 20, 4);
        let params = KMeansParams::new(32).n_iter(5).check().unwrap();
        let a = params.fit(data.view()).unwrap();
        let b = params.fit(data.view()).unwrap();
        assert_eq!(a.centroids(), b.centroids());
        let other = KMeansParams::new(32).n_iter(5).seed(99).check().unwrap();
        let c = other.fit(data.view()).unwrap();
        assert_ne!(a.centroids(), c.centroids());
    }

    #[test]
    fn thread_count_does_not_change_result() {
        let data = blobs(4000, 7, 30, 5);
        for init in [KMeansInit::RandomPoints, KMeansInit::KMeansPlusPlus] {
            let fit = |threads| {
                KMeansParams::new(48)
                    .n_iter(4)
                    .init(init)
                    .n_threads(Some(threads))
                    .check()
                    .unwrap()
                    .fit(data.view())
                    .unwrap()
            };
            assert_eq!(fit(1).centroids(), fit(2).centroids(), "{init:?}");
        }
    }

    #[test]
    fn kmeans_plus_plus_finds_separated_blobs() {
        // With one centroid per blob, k-means++ seeding should leave no blob without a centroid.
        let data = blobs(2000, 4, 10, 6);
        let params = KMeansParams::new(10)
            .n_iter(10)
            .init(KMeansInit::KMeansPlusPlus)
            .check()
            .unwrap();
        let history = inertia_history(&params, data.view());
        // Uniform noise in [-1, 1) has variance 1/3 per feature: 2000 * 4 / 3 at the optimum.
        let optimum = 2000.0 * 4.0 / 3.0;
        let last = *history.last().unwrap();
        assert!(
            last < optimum * 1.1,
            "final inertia {last} vs about {optimum}"
        );
    }

    #[test]
    fn subsampling_caps_training_points() {
        let data = blobs(3000, 3, 10, 7);
        let params = KMeansParams::new(10)
            .n_iter(2)
            .max_points_per_centroid(50)
            .check()
            .unwrap();
        let mut seen = Vec::new();
        params
            .fit_with_progress(data.view(), |p| seen.push(p.n_points))
            .unwrap();
        assert_eq!(seen, vec![500, 500]);
    }

    #[test]
    fn empty_clusters_are_split() {
        // 4 distinct locations but 6 clusters: after the first update some clusters must be
        // empty, and every cluster must be non-empty again afterwards.
        let mut counts = vec![10, 0, 5, 0, 1];
        let mut centroids = vec![1.0, 2.0, 0.0, 0.0, 3.0, 3.0, 0.0, 0.0, 5.0, 5.0];
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let n = split_empty_clusters(&mut centroids, 2, &mut counts, &mut rng);
        assert_eq!(n, 2);
        assert!(counts.iter().all(|&c| c > 0), "{counts:?}");
        assert_eq!(counts.iter().sum::<usize>(), 16);
        // Every centroid differs from every other one.
        for a in 0..5 {
            for b in a + 1..5 {
                assert_ne!(centroids[a * 2..a * 2 + 2], centroids[b * 2..b * 2 + 2]);
            }
        }
    }

    #[test]
    fn duplicate_points_do_not_break_training() {
        // 100 copies of 3 points with k = 8 forces empty clusters every iteration.
        let data = Array2::from_shape_fn((300, 2), |(i, f)| ((i % 3) * 10 + f) as f32);
        for init in [KMeansInit::RandomPoints, KMeansInit::KMeansPlusPlus] {
            let params = KMeansParams::new(8).n_iter(5).init(init).check().unwrap();
            let history = inertia_history(&params, data.view());
            assert!(history.iter().all(|v| v.is_finite()), "{history:?}");
        }
    }

    #[test]
    fn more_clusters_than_points_is_an_error() {
        let data = blobs(5, 2, 1, 8);
        let err = KMeansParams::new(6)
            .check()
            .unwrap()
            .fit(data.view())
            .unwrap_err();
        assert!(
            matches!(err, QuantizeError::TooFewPoints { k: 6, n_points: 5 }),
            "{err}"
        );
        assert!(
            KMeansParams::new(5)
                .check()
                .unwrap()
                .fit(data.view())
                .is_ok()
        );
    }

    #[test]
    fn nan_training_row_is_named() {
        let mut data = blobs(50, 3, 2, 9);
        data[[17, 2]] = f32::NAN;
        let err = KMeansParams::new(4)
            .check()
            .unwrap()
            .fit(data.view())
            .unwrap_err();
        assert!(
            matches!(
                err,
                QuantizeError::NonFinite {
                    row: 17,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("row 17"), "{err}");
    }

    #[test]
    fn empty_training_data_is_an_error() {
        let data = Array2::<f32>::zeros((0, 3));
        let err = KMeansParams::new(1)
            .check()
            .unwrap()
            .fit(data.view())
            .unwrap_err();
        assert!(matches!(err, QuantizeError::EmptyInput { .. }), "{err}");
    }

    #[test]
    fn weighted_draw_respects_weights() {
        let weights = vec![0.0f32; 2 * SEED_CHUNK + 5];
        let mut w = weights.clone();
        w[SEED_CHUNK + 3] = 2.0;
        w[2 * SEED_CHUNK + 1] = 1.0;
        let sums: Vec<f64> = w.chunks(SEED_CHUNK).map(sum_f64).collect();
        assert_eq!(draw_weighted(&w, &sums, 0.0), SEED_CHUNK + 3);
        assert_eq!(draw_weighted(&w, &sums, 1.99), SEED_CHUNK + 3);
        assert_eq!(draw_weighted(&w, &sums, 2.5), 2 * SEED_CHUNK + 1);
        // A target at the total (rounding) still lands on a weighted point.
        assert_eq!(draw_weighted(&w, &sums, 3.0), 2 * SEED_CHUNK + 1);
    }
}
